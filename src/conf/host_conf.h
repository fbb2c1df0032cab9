/* host_conf.h: a hypervisor host and its capacity.
 *
 * Capacity is physical; what the scheduler may hand out is capacity times
 * the overcommit ratio (in thousandths: 4000 = 4.0), minus, for memory,
 * what is reserved for the host itself.
 *
 * Host states:  up --(silent past the timeout; reconciler)--> down
 *               down --(heartbeat; nc_host_service_heartbeat)--> up
 *
 * Apart from its state, an admin may disable a host (maintenance): it
 * keeps its VMs, which start, stop and rescale as before, and the room
 * reservations already hold on it, but the scheduler places nothing new
 * there.  Only a host that is up and enabled is schedulable.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char *id;
    char *name;
    char *state;                /* "up" or "down" */
    bool disabled;              /* by an admin: takes no new VMs */
    char *disabled_reason;      /* NULL, or why (the admin's words) */
    char *accel;                /* "kvm" or "tcg" */
    bool nested;                /* this host is itself a VM */
    int64_t vcpus, memory_mib, disk_gib;
    int64_t reserved_memory_mib;
    int64_t cpu_ratio, ram_ratio, disk_ratio;   /* thousandths */
    int64_t alloc_vcpus, alloc_memory_mib, alloc_disk_gib;
    json_t *info;               /* versions, CPU model, pools, network */
    int64_t last_seen;          /* ms since the epoch */
    int64_t created_at;
} NcHost;

NcHost *nc_host_new(void);
void nc_host_free(NcHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcHost, nc_host_free)

/* Whether new VMs and reservations may be placed on @h: up and enabled. */
bool nc_host_schedulable(const NcHost *h);

/* What the scheduler may allocate in each dimension. */
int64_t nc_host_limit_vcpus(const NcHost *h);
int64_t nc_host_limit_memory_mib(const NcHost *h);
int64_t nc_host_limit_disk_gib(const NcHost *h);

/* Returns: the API's JSON for @host. */
json_t *nc_host_to_api_json(const NcHost *host);
