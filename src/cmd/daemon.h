/* daemon.h: what `up`, `serve` and `worker` share: options, start-up in
 * order, and an orderly stop on SIGINT or SIGTERM. */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct {
    char *state_dir;
    char *listen;
    char *store;
    char *bus;
    char *image_dir;
    char *volume_dir;
    char *instances_dir;
    char *libvirt_uri;
    char *accel;
    char *network;
    char *host_name;
    char *policy;
    double cpu_ratio, ram_ratio, disk_ratio;
    int reserved_memory_mib;
    int max_vms_per_project;
    int lanes;
    int heartbeat_ms;
    int host_timeout_s;
    char *cloud_id;
    int sim_hosts, sim_vcpus, sim_memory_mib, sim_disk_gib;
} NcDaemonOptions;

/* Option entries for the parts a daemon runs; they fill @o. */
GOptionGroup *nc_daemon_common_options(NcDaemonOptions *o);
GOptionGroup *nc_daemon_central_options(NcDaemonOptions *o);
GOptionGroup *nc_daemon_worker_options(NcDaemonOptions *o);

/* Sets defaults for what the options left unset. */
void nc_daemon_options_defaults(NcDaemonOptions *o);

/**
 * nc_daemon_run:
 * @o: the options
 * @central: run the central node (store, scheduler, engine, API)
 * @worker: run a worker for this host
 *
 * Runs until SIGINT or SIGTERM.
 *
 * Returns: the process exit status.
 */
int nc_daemon_run(NcDaemonOptions *o, bool central, bool worker);

/* Parses @argc/@argv with the groups; prints the error and returns -1. */
int nc_daemon_parse(const char *summary, int *argc, char ***argv, GOptionGroup **groups,
                    int ngroups);
