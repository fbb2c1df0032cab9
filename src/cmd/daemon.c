/* daemon.c: start-up and shutdown of the daemons. */
#include "nc_config.h"
#include "daemon.h"
#include "conf/limits.h"
#include "cmd.h"
#include "api/api.h"
#include "bus/bus.h"
#include "http/http_server.h"
#include "hv/hv.h"
#include "service/central.h"
#include "uplink.h"
#include "store/store.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_log.h"
#include "util/nc_valid.h"
#include "worker/worker.h"

#include <errno.h>
#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

GOptionGroup *
nc_daemon_common_options(NcDaemonOptions *o)
{
    GOptionEntry entries[] = {
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir,
          "Directory for the store, tokens and VM files (default /var/lib/nestcloud)", "DIR" },
        { "store", 0, 0, G_OPTION_ARG_STRING, &o->store,
          "SQLite path or postgresql:// URL (default STATE_DIR/nestcloud.db)", "TARGET" },
        { "bus", 0, 0, G_OPTION_ARG_STRING, &o->bus,
          "'local' (the embedded queue in the store) or amqp://... (default local)", "BUS" },
        { "image-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->image_dir,
          "The image pool, may be an NFS mount (default STATE_DIR/images)", "DIR" },
        { "volume-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->volume_dir,
          "The block pool, may be an NFS mount (default STATE_DIR/volumes)", "DIR" },
        { NULL }
    };
    GOptionGroup *g = g_option_group_new("common", "Common options", "Common", NULL, NULL);
    g_option_group_add_entries(g, entries);
    return g;
}

/* The market under `nestcloud up` (cmd_market.c); kept here because only
 * `up` runs it. */
static gboolean nc_daemon_no_market;
static char *nc_daemon_market_listen;

GOptionGroup *
nc_daemon_central_options(NcDaemonOptions *o)
{
    GOptionEntry entries[] = {
        { "no-market", 0, 0, G_OPTION_ARG_NONE, &nc_daemon_no_market,
          "up: do not start the market on the port after the API's", NULL },
        { "market-listen", 0, 0, G_OPTION_ARG_STRING, &nc_daemon_market_listen,
          "up: the market's address (default: the API's address, next port)", "ADDR:PORT" },
        { "listen", 0, 0, G_OPTION_ARG_STRING, &o->listen,
          "API address (default 127.0.0.1:7400)", "ADDR:PORT" },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &o->policy,
          "Placement policy: spread or pack (default spread)", "POLICY" },
        { "cpu-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o->cpu_ratio,
          "vCPU overcommit for new hosts (default 4.0)", "R" },
        { "ram-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o->ram_ratio,
          "Memory overcommit for new hosts (default 1.0)", "R" },
        { "disk-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o->disk_ratio,
          "Disk overcommit for new hosts (default 1.0)", "R" },
        { "reserved-memory", 0, 0, G_OPTION_ARG_INT, &o->reserved_memory_mib,
          "MiB of each new host kept for the host itself (default 512)", "MIB" },
        { "host-timeout", 0, 0, G_OPTION_ARG_INT, &o->host_timeout_s,
          "Seconds of silence before a host counts as down (default 30)", "S" },
        { "max-vms-per-project", 0, 0, G_OPTION_ARG_INT, &o->max_vms_per_project,
          "VMs a project may have (default 10000)", "N" },
        { NULL }
    };
    GOptionGroup *g = g_option_group_new("central", "Central node options", "Central", NULL, NULL);
    g_option_group_add_entries(g, entries);
    return g;
}

GOptionGroup *
nc_daemon_worker_options(NcDaemonOptions *o)
{
    GOptionEntry entries[] = {
        { "name", 0, 0, G_OPTION_ARG_STRING, &o->host_name,
          "This host's name (default: the system host name)", "NAME" },
        { "libvirt", 0, 0, G_OPTION_ARG_STRING, &o->libvirt_uri,
          "libvirt URI (default qemu:///system)", "URI" },
        { "accel", 0, 0, G_OPTION_ARG_STRING, &o->accel,
          "auto, kvm or tcg (default auto: try a KVM guest, else TCG)", "ACCEL" },
        { "network", 0, 0, G_OPTION_ARG_STRING, &o->network,
          "auto (a libvirt NAT network) or none (user-mode networking)", "MODE" },
        { "lanes", 0, 0, G_OPTION_ARG_INT, &o->lanes,
          "Commands run in parallel, one VM per lane (default 4)", "N" },
        { "heartbeat", 0, 0, G_OPTION_ARG_INT, &o->heartbeat_ms,
          "Milliseconds between heartbeats (default 5000)", "MS" },
        { "cloud-id", 0, 0, G_OPTION_ARG_STRING, &o->cloud_id,
          "The cloud this worker serves (default: read from the store)", "ID" },
        { "sim-hosts", 0, 0, G_OPTION_ARG_INT, &o->sim_hosts,
          "Run N simulated hosts (libvirt test driver) instead of this machine", "N" },
        { "sim-vcpus", 0, 0, G_OPTION_ARG_INT, &o->sim_vcpus,
          "vCPUs of each simulated host (default 64)", "N" },
        { "sim-memory", 0, 0, G_OPTION_ARG_INT, &o->sim_memory_mib,
          "MiB of memory of each simulated host (default 262144)", "MIB" },
        { "sim-disk", 0, 0, G_OPTION_ARG_INT, &o->sim_disk_gib,
          "GiB of disk of each simulated host (default 4096)", "GIB" },
        { NULL }
    };
    GOptionGroup *g = g_option_group_new("worker", "Worker options", "Worker", NULL, NULL);
    g_option_group_add_entries(g, entries);
    return g;
}

int
nc_daemon_parse(const char *summary, int *argc, char ***argv, GOptionGroup **groups,
                int ngroups)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_option_context_set_summary(ctx, summary);
    for (int i = 0; i < ngroups; i++) {
        if (i == 0)
            g_option_context_set_main_group(ctx, groups[i]);
        else
            g_option_context_add_group(ctx, groups[i]);
    }
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        fprintf(stderr, "nestcloud: %s\n", err->message);
        return -1;
    }
    if (*argc > 1) {
        fprintf(stderr, "nestcloud: unexpected argument '%s'\n", (*argv)[1]);
        return -1;
    }
    return 0;
}

/* A host name that passes the name rule, from the system's. */
static char *
nc_daemon_host_name(void)
{
    g_autofree char *raw = g_ascii_strdown(g_get_host_name(), -1);
    GString *s = g_string_new(NULL);
    for (const char *p = raw; *p && s->len < 63; p++) {
        if (*p == '.')
            break;
        g_string_append_c(s, g_ascii_isalnum(*p) ? *p : '-');
    }
    while (s->len && s->str[s->len - 1] == '-')
        g_string_truncate(s, s->len - 1);
    if (!s->len || s->str[0] == '-')
        g_string_assign(s, "local");
    return g_string_free(s, FALSE);
}

void
nc_daemon_options_defaults(NcDaemonOptions *o)
{
    if (!o->state_dir)
        o->state_dir = nc_cmd_default_state_dir();
    if (!g_path_is_absolute(o->state_dir)) {
        g_autofree char *cwd = g_get_current_dir();
        char *abs = g_build_filename(cwd, o->state_dir, NULL);
        g_free(o->state_dir);
        o->state_dir = abs;
    }
    if (!o->listen)
        o->listen = g_strdup("127.0.0.1:7400");
    if (!o->store)
        o->store = g_build_filename(o->state_dir, "nestcloud.db", NULL);
    if (!o->bus)
        o->bus = g_strdup("local");
    if (!o->image_dir)
        o->image_dir = g_build_filename(o->state_dir, "images", NULL);
    if (!o->volume_dir)
        o->volume_dir = g_build_filename(o->state_dir, "volumes", NULL);
    if (!o->instances_dir)
        o->instances_dir = g_build_filename(o->state_dir, "instances", NULL);
    if (!o->libvirt_uri)
        o->libvirt_uri = g_strdup("qemu:///system");
    if (!o->accel)
        o->accel = g_strdup("auto");
    if (!o->network)
        o->network = g_strdup("auto");
    if (!o->host_name)
        o->host_name = nc_daemon_host_name();
    if (!o->policy)
        o->policy = g_strdup("spread");
    if (o->cpu_ratio <= 0)
        o->cpu_ratio = 4.0;
    if (o->ram_ratio <= 0)
        o->ram_ratio = 1.0;
    if (o->disk_ratio <= 0)
        o->disk_ratio = 1.0;
    if (o->reserved_memory_mib <= 0)
        o->reserved_memory_mib = 512;
    if (o->lanes <= 0)
        o->lanes = 4;
    if (o->heartbeat_ms <= 0)
        o->heartbeat_ms = 5000;
    if (o->host_timeout_s <= 0)
        o->host_timeout_s = 30;
    if (o->sim_vcpus <= 0)
        o->sim_vcpus = 64;
    if (o->sim_memory_mib <= 0)
        o->sim_memory_mib = 262144;
    if (o->sim_disk_gib <= 0)
        o->sim_disk_gib = 4096;
}

/* The test image the build made, or the installed one. */
static char *
nc_daemon_test_image_dir(void)
{
    const char *env = g_getenv("NESTCLOUD_TEST_IMAGE_DIR");
    const char *dirs[] = { env, NC_BUILD_IMAGE_DIR, NC_DATA_DIR "/images" };
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (!dirs[i])
            continue;
        g_autofree char *disk = g_build_filename(dirs[i], "test.qcow2", NULL);
        if (access(disk, R_OK) == 0)
            return g_strdup(dirs[i]);
    }
    return NULL;
}

/* This host's id kept in @dir/@name.id (the real host: STATE_DIR/host.id). */
static char *
nc_daemon_named_host_id(const char *dir, const char *name, GError **err)
{
    g_autofree char *file = g_strconcat(name, ".id", NULL);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *text = NULL;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        g_strstrip(text);
        if (nc_uuid_is_valid(text))
            return g_steal_pointer(&text);
    }
    char *id = nc_uuid_new();
    g_autofree char *line = g_strconcat(id, "\n", NULL);
    if (nc_fs_mkdir_p(dir, 0755, err) < 0 ||
        nc_fs_write_atomic(path, line, strlen(line), 0644, err) < 0) {
        g_free(id);
        return NULL;
    }
    return id;
}

static NcWorker *
nc_daemon_start_worker(NcDaemonOptions *o, NcBus *bus, NcReporter *reporter, const char *cloud_id,
                       const char *test_dir, const char *name, const char *host_id,
                       const char *uri, const NcHvDriver *drv, GError **err)
{
    g_autofree char *kernel = test_dir ? g_build_filename(test_dir, "test-vmlinuz", NULL) : NULL;
    g_autofree char *initrd = test_dir ? g_build_filename(test_dir, "test-initrd.img", NULL) : NULL;
    NcHvConfig hc = {
        .uri = uri,
        .cloud_id = cloud_id,
        .host_name = name,
        .state_dir = o->state_dir,
        .instances_dir = o->instances_dir,
        .image_dir = o->image_dir,
        .volume_dir = o->volume_dir,
        .accel = o->accel,
        .probe_kernel = kernel,
        .probe_initrd = initrd,
        .network = o->network,
        .capacity_disk_gib = o->sim_disk_gib,
    };
    NcHv *hv = nc_hv_open(drv, &hc, err);
    if (!hv)
        return NULL;
    g_autofree char *domains_file = NULL;
    if (drv == &nc_hv_sim_driver) {
        g_autofree char *base = g_strconcat(name, ".domains.json", NULL);
        domains_file = o->sim_hosts > 0 ? g_build_filename(o->state_dir, "sim", base, NULL)
                                         : g_build_filename(o->state_dir, base, NULL);
    }
    NcWorkerConfig wc = {
        .domains_file = domains_file,
        .host_id = host_id,
        .host_name = name,
        .lanes = drv == &nc_hv_sim_driver ? 1 : o->lanes,
        .heartbeat_ms = o->heartbeat_ms,
        .port_bind_addr = g_getenv("NESTCLOUD_PORT_BIND"),
        .reporter = reporter,
        /* the simulated hosts of a process beat together (worker.h) */
        .pulsed = o->sim_hosts > 0,
    };
    if (drv != &nc_hv_sim_driver) {
        const char *net = nc_hv_network(hv);
        nc_log_info("worker '%s' on %s: accelerator %s, network %s", name, uri,
                    nc_hv_accel(hv), net ? net : "user-mode");
    }
    return nc_worker_start(&wc, bus, hv, err);
}

/* Starts this machine's worker, or with --sim-hosts N, N simulated hosts
 * (libvirt's test driver, each with its own node file) in this process. */
static int
nc_daemon_start_workers(NcDaemonOptions *o, NcBus *bus, NcReporter *reporter, const char *cloud_id,
                        const char *test_dir, GPtrArray *workers, GError **err)
{
    if (o->sim_hosts <= 0) {
        bool sim = g_str_has_prefix(o->libvirt_uri, "test://");
        g_autofree char *host_id = nc_daemon_named_host_id(o->state_dir, "host", err);
        if (!host_id)
            return -1;
        NcWorker *w = nc_daemon_start_worker(o, bus, reporter, cloud_id, test_dir, o->host_name, host_id,
                                             o->libvirt_uri,
                                             sim ? &nc_hv_sim_driver : &nc_hv_qemu_driver, err);
        if (!w)
            return -1;
        g_ptr_array_add(workers, w);
        return 0;
    }
    g_autofree char *dir = g_build_filename(o->state_dir, "sim", NULL);
    if (nc_fs_mkdir_p(dir, 0755, err) < 0)
        return -1;
    for (int i = 0; i < o->sim_hosts; i++) {
        g_autofree char *name = g_strdup_printf("%s-%04d", o->host_name, i);
        g_autofree char *node = g_strdup_printf("%s/%s.xml", dir, name);
        g_autofree char *xml = g_strdup_printf(
            "<node>\n  <cpu><mhz>2000</mhz><model>sim</model><active>%d</active><nodes>1</nodes>"
            "<sockets>1</sockets><cores>%d</cores><threads>1</threads></cpu>\n"
            "  <memory>%" G_GINT64_FORMAT "</memory>\n</node>\n",
            o->sim_vcpus, o->sim_vcpus, (int64_t)o->sim_memory_mib * 1024);
        if (nc_fs_write_atomic(node, xml, strlen(xml), 0644, err) < 0)
            return -1;
        g_autofree char *host_id = nc_daemon_named_host_id(dir, name, err);
        if (!host_id)
            return -1;
        g_autofree char *uri = g_strconcat("test://", node, NULL);
        NcWorker *w = nc_daemon_start_worker(o, bus, reporter, cloud_id, test_dir, name, host_id, uri,
                                             &nc_hv_sim_driver, err);
        if (!w)
            return -1;
        g_ptr_array_add(workers, w);
    }
    nc_log_info("%d simulated hosts (%s-0000...) with %d vCPUs and %d MiB each", o->sim_hosts,
                o->host_name, o->sim_vcpus, o->sim_memory_mib);
    return 0;
}

static gboolean
nc_daemon_on_signal(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static int
nc_daemon_fail(GError *err)
{
    nc_log_error("%s", err->message);
    return 1;
}

int
nc_daemon_run(NcDaemonOptions *o, bool run_central, bool run_worker)
{
    g_autoptr(GError) err = NULL;
    nc_daemon_options_defaults(o);
    signal(SIGPIPE, SIG_IGN);

    if (o->max_vms_per_project < 0 || o->max_vms_per_project > NC_LIMIT_VMS_PER_PROJECT_MAX) {
        fprintf(stderr, "nestcloud: --max-vms-per-project must be 1 to %d\n",
                NC_LIMIT_VMS_PER_PROJECT_MAX);
        return 2;
    }
    NcSchedPolicy policy = nc_sched_policy_from_name(o->policy);
    if (policy == NC_SCHED_POLICY_MAX) {
        fprintf(stderr, "nestcloud: --policy must be spread or pack\n");
        return 2;
    }
    if (nc_name_check("host", o->host_name, &err) < 0) {
        fprintf(stderr, "nestcloud: --name: %s\n", err->message);
        return 2;
    }
    if (nc_fs_mkdir_p(o->state_dir, 0755, &err) < 0)
        return nc_daemon_fail(err);
    /* QEMU runs as another user and must reach the VM files below */
    chmod(o->state_dir, 0755);

    bool local_bus = strcmp(o->bus, "local") == 0;
    g_autoptr(NcStore) store = NULL;
    if (run_central || local_bus) {
        store = nc_store_open(o->store, &err);
        if (!store)
            return nc_daemon_fail(err);
    }
    g_autoptr(NcBus) bus = nc_bus_open(o->bus, store, &err);
    if (!bus)
        return nc_daemon_fail(err);

    NcCentral *central = NULL;
    NcApi *api = NULL;
    struct NcMarket *market = NULL;
    /* the workers' reports leave in shared batches (reporter.h); declared
     * first, it is freed after them */
    g_autoptr(NcReporter) reporter = run_worker ? nc_reporter_new(bus) : NULL;
    g_autoptr(GPtrArray) workers = g_ptr_array_new_with_free_func((GDestroyNotify)nc_worker_stop);
    g_autofree char *test_dir = nc_daemon_test_image_dir();

    if (run_central) {
        NcCentralConfig cc = {
            .state_dir = o->state_dir,
            .image_dir = o->image_dir,
            .instances_dir = o->instances_dir,
            .test_image_dir = test_dir,
            .policy = policy,
            .host_timeout_ms = o->host_timeout_s * 1000,
            .cpu_ratio = llround(o->cpu_ratio * 1000),
            .ram_ratio = llround(o->ram_ratio * 1000),
            .disk_ratio = llround(o->disk_ratio * 1000),
            .reserved_memory_mib = o->reserved_memory_mib,
            .max_vms_per_project = o->max_vms_per_project,
        };
        central = nc_central_open(&cc, store, bus, &err);
        if (!central)
            return nc_daemon_fail(err);
        /* inside a Nested Cloud VM: its seed said where the parent is */
        NcNestedConf *nested = NULL;
        if (nc_nested_conf_load(g_getenv("NESTCLOUD_NESTED_CONF"), &nested, &err) < 0) {
            nc_central_free(central);
            return nc_daemon_fail(err);
        }
        const NcNestedConf *kept = nested;
        nc_central_set_nesting(central, nested, kept->parent_url ? &nc_uplink_http : NULL,
                               (void *)kept);
        if (kept->depth > 0)
            nc_log_info("nested cloud: depth %d, parent %s", kept->depth,
                        kept->parent_url ? kept->parent_url : "none");
        const char *token = nc_central_new_admin_token(central);
        if (token)
            nc_log_info("created the admin token, kept in %s/admin.token: %s", o->state_dir,
                        token);
    }
    if (run_worker) {
        g_autofree char *cloud_id = g_strdup(o->cloud_id);
        if (!cloud_id && central)
            cloud_id = g_strdup(nc_central_cloud_id(central));
        else if (!cloud_id && store)
            cloud_id = nc_store_meta_get(store, "cloud_id", NULL);
        if (!cloud_id) {
            nc_log_error("cannot learn the cloud id: start the central node first, or give "
                         "--cloud-id");
            nc_central_free(central);
            return 1;
        }
        if (nc_daemon_start_workers(o, bus, reporter, cloud_id, test_dir, workers, &err) < 0) {
            g_ptr_array_set_size(workers, 0);
            nc_central_free(central);
            return nc_daemon_fail(err);
        }
    }
    if (central) {
        if (nc_central_start(central, &err) < 0 ||
            !(api = nc_api_start(central, o->listen, &err))) {
            g_ptr_array_set_size(workers, 0);
            nc_central_free(central);
            return nc_daemon_fail(err);
        }
        g_autofree char *host = NULL;
        uint16_t port = 0;
        nc_http_listen_parse(o->listen, NULL, &host, &port, NULL);
        g_autofree char *url = nc_http_url(host, nc_api_port(api));
        g_autofree char *url_path = g_build_filename(o->state_dir, "api.url", NULL);
        g_autofree char *line = g_strconcat(url, "\n", NULL);
        nc_fs_write_atomic(url_path, line, strlen(line), 0644, NULL);
        nc_log_info("nestcloud %s is up: API %s, store %s, bus %s", NC_VERSION, url,
                    nc_store_driver_name(store), nc_bus_driver_name(bus));
        if (run_worker && !nc_daemon_no_market) {
            /* a busy next port must not keep the cloud from starting */
            market = nc_cmd_market_embedded(o->state_dir, host, nc_api_port(api),
                                            nc_daemon_market_listen, &err);
            if (!market && nc_daemon_market_listen) {
                nc_api_stop(api);
                g_ptr_array_set_size(workers, 0);
                nc_central_free(central);
                return nc_daemon_fail(err);
            }
            if (!market) {
                nc_log_warn("the market did not start (%s); the cloud runs without it",
                            err->message);
                g_clear_error(&err);
            } else {
                g_autofree char *murl = NULL;
                g_autofree char *mpath = g_build_filename(o->state_dir, "market.url", NULL);
                if (g_file_get_contents(mpath, &murl, NULL, NULL))
                    nc_log_info("market: %s", g_strstrip(murl));
            }
        }
    }

    NcWorkerPulse *pulse = o->sim_hosts > 0 && workers->len > 0
                               ? nc_worker_pulse_start(workers, reporter, o->heartbeat_ms)
                               : NULL;
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, nc_daemon_on_signal, loop);
    g_unix_signal_add(SIGTERM, nc_daemon_on_signal, loop);
    g_main_loop_run(loop);

    nc_log_info("stopping");
    nc_cmd_market_embedded_stop(market);
    nc_api_stop(api);
    nc_reporter_stop(reporter);
    nc_worker_pulse_stop(pulse);
    for (guint i = 0; i < workers->len; i++)
        nc_worker_request_stop(g_ptr_array_index(workers, i));
    g_ptr_array_set_size(workers, 0);
    nc_central_free(central);
    return 0;
}
