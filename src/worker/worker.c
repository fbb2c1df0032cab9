/* worker.c: command dispatch, lanes, heartbeats. */
#include "worker.h"
#include "portfwd.h"
#include "reporter.h"
#include "conf/limits.h"
#include "conf/port_conf.h"
#include "util/nc_error.h"
#include "util/nc_fault.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_time.h"

#include <string.h>

struct NcWorker {
    char *host_id;
    char *host_name;
    char *topic;
    char *domains_file;
    int heartbeat_ms;
    NcBus *bus;
    NcHv *hv;
    gint stopping;
    GThread *dispatcher;
    GThread *heartbeat;
    int nlanes;
    GThread **lanes;
    GAsyncQueue **queues;
    GMutex hb_lock;
    GCond hb_cond;
    NcPortFwd *ports;
    NcReporter *reporter;
    bool own_reporter;
    GMutex told_lock;
    GHashTable *told;       /* VM id -> the state last reported for it */
    char *domains_text;     /* what domains_file holds */
    /* the heartbeat's domain list, kept while no command ran and no
     * lifecycle event came (drivers whose domains change only through us) */
    gint domains_gen;       /* bumped after each command and event */
    int list_gen;           /* the generation list_cache was read at */
    json_t *list_cache;
    int beats_unlisted;     /* heartbeats since the list last went along */
};

/* A kept domain list goes along with every this many heartbeats; the ones
 * between leave it out, and the central node checks for drift only when a
 * list comes.  A changed list goes along at once. */
#define NC_WORKER_LIST_EVERY 6

/* A message of several commands ({"kind": "batch", "commands": [...]}, from
 * the central node's relay).  Its commands run in their VMs' lanes like
 * single ones; their results go back together, and the message is
 * acknowledged (or retried as a whole: every command is idempotent) once
 * the last of them is done. */
typedef struct {
    NcMessage *msg;
    GMutex lock;
    int pending;            /* commands not yet done */
    bool retry;             /* one of them failed for a passing reason */
    json_t *results;        /* op.result reports so far */
    /* the start reports of its commands done so far: their results go
     * only with the last one, so they stay due until then */
    GPtrArray *started;     /* NcReporterLater */
} NcWorkerBatch;

/* What a lane runs: one command, alone in its message or part of a batch. */
typedef struct {
    json_t *cmd;
    NcMessage *msg;         /* when alone */
    NcWorkerBatch *batch;   /* when part of a batch */
    NcReporterLater *started;  /* its start report, unless it is done first */
} NcWorkerJob;

/* A command still running this long after its lane began it has its
 * start reported (op.started: the operation is running, a new VM is
 * building); one done before says so in its result alone. */
#define NC_WORKER_STARTED_AFTER_MS 200

/* A poison pill for lanes. */
static NcWorkerJob nc_worker_stop_job;

/* Sends @msg (consumed) to the central node, batched with what the
 * process's other workers report at the same time (reporter.h).  A state
 * report or heartbeat that cannot go is recovered by the next heartbeat;
 * a command's result (@must) is what allows the command's
 * acknowledgement.  Returns 0 once the bus holds it, or -1. */
static int
nc_worker_publish_full(NcWorker *w, json_t *msg, bool must)
{
    return nc_reporter_send(w->reporter, msg, must);
}

static void
nc_worker_publish(NcWorker *w, json_t *msg)
{
    nc_worker_publish_full(w, msg, false);
}

/* Records that the central node was told @state (NULL: the VM is gone)
 * for @vm_id.  Returns whether that is news. */
static bool
nc_worker_tell(NcWorker *w, const char *vm_id, const char *state)
{
    g_mutex_lock(&w->told_lock);
    bool news = g_strcmp0(g_hash_table_lookup(w->told, vm_id), state) != 0;
    if (!state)
        g_hash_table_remove(w->told, vm_id);
    else if (news)
        g_hash_table_insert(w->told, g_strdup(vm_id), g_strdup(state));
    g_mutex_unlock(&w->told_lock);
    return news;
}

static void
nc_worker_on_domain_state(const char *vm_id, const char *state, void *opaque)
{
    NcWorker *w = opaque;
    if (!w || g_atomic_int_get(&w->stopping))
        return;
    g_atomic_int_inc(&w->domains_gen);
    /* a start or stop this worker made was told in its command's result */
    if (!nc_worker_tell(w, vm_id, state))
        return;
    nc_worker_publish(w, json_pack("{s:s, s:s, s:s, s:s}", "type", "vm.state", "vm", vm_id,
                                   "state", state, "host", w->host_id));
}

/* ---- command handling ---- */

static NcImage *
nc_worker_image_from_json(json_t *j)
{
    NcImage *img = nc_image_new();
    img->id = g_strdup(nc_json_str(j, "id"));
    img->name = g_strdup(nc_json_str(j, "name"));
    img->format = g_strdup(nc_json_str(j, "format"));
    img->file = g_strdup(nc_json_str(j, "file"));
    img->kernel = g_strdup(nc_json_str(j, "kernel"));
    img->initrd = g_strdup(nc_json_str(j, "initrd"));
    img->cmdline = g_strdup(nc_json_str(j, "cmdline"));
    return img;
}

/* Storage commands: volumes, attachments, snapshots.  Fills *ret_data
 * with what the central node records (sizes). */
static int
nc_worker_storage(NcWorker *w, const char *kind, json_t *cmd, json_t **ret_data, GError **err)
{
    const NcHvDriver *d = nc_hv_driver(w->hv);
    json_t *args = json_object_get(cmd, "args");
    g_autoptr(NcVolume) vol = nc_volume_from_command_json(json_object_get(cmd, "volume"));
    const char *vm_id = nc_json_str(json_object_get(cmd, "vm"), "id");
    const char *file = nc_json_str(json_object_get(cmd, "snapshot"), "file");
    bool needs_vol = g_str_has_prefix(kind, "volume.") || !strcmp(kind, "vm.attach") ||
                     !strcmp(kind, "vm.detach") || !strcmp(kind, "snapshot.export");
    bool needs_file = g_str_has_prefix(kind, "snapshot.") || !strcmp(kind, "vm.snapshot") ||
                      !strcmp(kind, "vm.restore");
    /* snapshot files are names under the pool's snapshots/ directory only */
    if ((needs_vol && !vol) ||
        (needs_file && (!file || !g_str_has_prefix(file, "snapshots/") || strstr(file, "..")))) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "damaged %s command", kind);
        return -1;
    }
    int64_t size = 0;
    int rc;
    if (!strcmp(kind, "volume.create"))
        rc = d->volume_create(w->hv, vol, err);
    else if (!strcmp(kind, "volume.delete"))
        rc = d->volume_delete(w->hv, vol, err);
    else if (!strcmp(kind, "volume.resize"))
        rc = d->volume_resize(w->hv, vol, nc_json_int(args, "size_gib", vol->size_gib),
                              json_is_true(json_object_get(args, "shrink")),
                              nc_json_str(args, "vm"), err);
    else if (!strcmp(kind, "vm.attach"))
        rc = d->vm_attach(w->hv, vm_id, vol, err);
    else if (!strcmp(kind, "vm.detach"))
        rc = d->vm_detach(w->hv, vm_id, vol, err);
    else if (!strcmp(kind, "snapshot.export"))
        rc = d->snapshot_export(w->hv, file, vol, err);
    else if (!strcmp(kind, "snapshot.delete"))
        rc = d->snapshot_delete(w->hv, file, err);
    else if (!strcmp(kind, "snapshot.publish")) {
        const char *image_file = nc_json_str(args, "image_file");
        if (!image_file || strchr(image_file, '/') || image_file[0] == '.') {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "damaged %s command", kind);
            return -1;
        }
        rc = d->snapshot_publish(w->hv, file, image_file, &size, err);
    } else {
        g_autoptr(NcVmSpec) spec = nc_vm_spec_from_json(json_object_get(cmd, "vm"), err);
        g_autoptr(NcImage) img = nc_worker_image_from_json(json_object_get(cmd, "image"));
        if (!spec)
            return -1;
        if (!strcmp(kind, "vm.snapshot"))
            rc = d->vm_snapshot(w->hv, spec, img, file, &size, err);
        else
            rc = d->vm_restore(w->hv, spec, img, file, err);
    }
    if (rc == 0)
        *ret_data = json_pack("{s:I}", "size_bytes", (json_int_t)size);
    return rc;
}

static bool
nc_worker_is_storage(const char *kind)
{
    static const char *const kinds[] = {
        "volume.create", "volume.delete", "volume.resize", "vm.attach", "vm.detach",
        "vm.snapshot", "vm.restore", "snapshot.export", "snapshot.publish", "snapshot.delete",
    };
    for (size_t i = 0; kind && i < G_N_ELEMENTS(kinds); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

/* The first IPv4 address the hypervisor knows for a VM (DHCP lease). */
static char *
nc_worker_resolve_vm(const char *vm_id, void *opaque)
{
    NcWorker *w = opaque;
    g_autoptr(json_t) addrs = nc_hv_driver(w->hv)->vm_addresses(w->hv, vm_id, NULL);
    const char *mac;
    json_t *v;
    json_object_foreach(addrs, mac, v) {
        if (json_is_string(v))
            return g_strdup(json_string_value(v));
    }
    return NULL;
}

/* port.add / port.remove: {"vm": {"id"}, "args": {"host_port", "guest_port"}} */
static int
nc_worker_port(NcWorker *w, const char *kind, json_t *cmd, GError **err)
{
    json_t *args = json_object_get(cmd, "args");
    const char *vm_id = nc_json_str(json_object_get(cmd, "vm"), "id");
    int64_t host_port = nc_json_int(args, "host_port", 0);
    int64_t guest_port = nc_json_int(args, "guest_port", 0);
    if (!vm_id || host_port < NC_PORT_MIN_HOST || host_port > NC_PORT_MAX ||
        (strcmp(kind, "port.add") == 0 && (guest_port < 1 || guest_port > NC_PORT_MAX))) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "damaged %s command", kind);
        return -1;
    }
    if (strcmp(kind, "port.remove") == 0) {
        nc_portfwd_remove(w->ports, (int)host_port);
        return 0;
    }
    return nc_portfwd_add(w->ports, (int)host_port, vm_id, (int)guest_port, err);
}

/* Runs one command.  Returns 0 when done (success or definite failure,
 * with *ret_err set for the latter), -1 with a transient error to retry.
 * *ret_state: the VM's state after it, when the driver read it on the way
 * (a launch can), or NULL. */
static int
nc_worker_execute(NcWorker *w, json_t *cmd, json_t **ret_data, char **ret_state,
                  GError **ret_err)
{
    const NcHvDriver *d = nc_hv_driver(w->hv);
    const char *kind = nc_json_str(cmd, "kind");
    json_t *args = json_object_get(cmd, "args");
    int timeout = (int)CLAMP(nc_json_int(args, "timeout", NC_DEFAULT_STOP_TIMEOUT_S), 0,
                             NC_LIMIT_STOP_TIMEOUT_S);
    GError *err = NULL;
    if (kind && g_str_has_prefix(kind, "port.")) {
        nc_worker_port(w, kind, cmd, &err);
        if (err)
            g_propagate_error(ret_err, err);
        return 0;
    }
    if (nc_worker_is_storage(kind)) {
        int src = nc_worker_storage(w, kind, cmd, ret_data, &err);
        if (src < 0 && nc_error_code(err) == NC_ERR_UNAVAILABLE) {
            g_propagate_error(ret_err, err);
            return -1;
        }
        if (err)
            g_propagate_error(ret_err, err);
        return 0;
    }
    g_autoptr(NcVmSpec) spec = nc_vm_spec_from_json(json_object_get(cmd, "vm"), &err);
    g_autoptr(NcImage) img = nc_worker_image_from_json(json_object_get(cmd, "image"));
    int rc = 0;

    if (!spec) {
        g_propagate_error(ret_err, err);
        return 0;
    }
    bool start = !json_is_false(json_object_get(args, "start"));
    if ((g_strcmp0(kind, "vm.create") == 0 && start) || g_strcmp0(kind, "vm.start") == 0)
        rc = d->vm_launch(w->hv, spec, img, ret_state, &err);
    else if (g_strcmp0(kind, "vm.create") == 0)
        rc = d->vm_ensure(w->hv, spec, img, &err);
    else if (g_strcmp0(kind, "vm.define") == 0)
        rc = d->vm_ensure(w->hv, spec, img, &err);
    else if (g_strcmp0(kind, "vm.stop") == 0)
        rc = d->vm_stop(w->hv, spec->id, timeout, &err);
    else if (g_strcmp0(kind, "vm.force-stop") == 0)
        rc = d->vm_force_stop(w->hv, spec->id, &err);
    else if (g_strcmp0(kind, "vm.reboot") == 0) {
        rc = d->vm_ensure(w->hv, spec, img, &err);
        if (rc == 0)
            rc = d->vm_reboot(w->hv, spec->id, timeout, &err);
    } else if (g_strcmp0(kind, "vm.delete") == 0) {
        rc = d->vm_delete(w->hv, spec->id, &err);
        if (rc == 0)
            nc_portfwd_remove_vm(w->ports, spec->id);
    }
    else if (g_strcmp0(kind, "vm.resize") == 0) {
        rc = d->vm_ensure(w->hv, spec, img, &err);
        if (rc == 0)
            rc = d->vm_resize(w->hv, spec, img, &err);
    } else
        nc_error_set(&err, NC_ERR_INVALID_ARGUMENT, "unknown command '%s'", kind ? kind : "");

    if (rc < 0 && nc_error_code(err) == NC_ERR_UNAVAILABLE) {
        g_propagate_error(ret_err, err);
        return -1;
    }
    if (err)
        g_propagate_error(ret_err, err);
    return 0;
}

/* Returns: (transfer full): the op.result report of @cmd.  @known_state:
 * the VM's state as the command left it, when the driver said, or NULL:
 * read now. */
static json_t *
nc_worker_result(NcWorker *w, json_t *cmd, json_t *data, const char *known_state,
                 const GError *err)
{
    const char *op = nc_json_str(cmd, "op");
    const char *vm_id = nc_json_str(json_object_get(cmd, "vm"), "id");
    g_autofree char *state = g_strdup(known_state);
    if (vm_id) {
        if (!state)
            nc_hv_driver(w->hv)->vm_state(w->hv, vm_id, &state, NULL);
        nc_worker_tell(w, vm_id, state);
    }
    json_t *msg = json_pack("{s:s, s:o, s:o, s:o, s:b, s:s, s:o}",
                            "type", "op.result", "op", nc_json_string_or_null(op),
                            "vm", nc_json_string_or_null(vm_id),
                            "kind", nc_json_string_or_null(nc_json_str(cmd, "kind")),
                            "ok", err == NULL, "host", w->host_id,
                            "state", nc_json_string_or_null(state));
    if (data)
        json_object_set_new(msg, "data", json_incref(data));
    if (err)
        json_object_set_new(msg, "error",
                            json_pack("{s:s, s:s}", "code",
                                      nc_error_code_name(nc_error_code(err)),
                                      "message", err->message));
    return msg;
}

static json_t *
nc_worker_started(NcWorker *w, json_t *cmd)
{
    const char *op = nc_json_str(cmd, "op");
    const char *vm_id = nc_json_str(json_object_get(cmd, "vm"), "id");
    if (!op)
        return NULL;
    return json_pack("{s:s, s:s, s:o, s:s}", "type", "op.started", "op", op,
                     "vm", nc_json_string_or_null(vm_id), "host", w->host_id);
}

static void
nc_worker_settle(NcWorker *w, NcMessage *msg, bool retry)
{
    g_autoptr(GError) err = NULL;
    if (retry) {
        nc_bus_retry(w->bus, msg, 1000 << MIN(msg->attempts, 5), NULL);
        return;
    }
    nc_fault_point("worker-before-ack");
    if (nc_bus_ack(w->bus, msg, &err) < 0)
        nc_log_warn("cannot acknowledge a command: %s", err->message);
}

static void
nc_worker_batch_free(NcWorkerBatch *b)
{
    nc_message_free(b->msg);
    json_decref(b->results);
    g_ptr_array_unref(b->started);
    g_mutex_clear(&b->lock);
    g_free(b);
}

/* One command of @b is done, with its result (NULL: to be retried, or the
 * worker is stopping: @settle false).  The last one sends the results and
 * settles the message. */
static void
nc_worker_batch_done(NcWorker *w, NcWorkerBatch *b, json_t *result, bool settle)
{
    g_mutex_lock(&b->lock);
    if (result)
        json_array_append_new(b->results, result);
    else if (settle)
        b->retry = true;
    bool last = --b->pending == 0;
    g_mutex_unlock(&b->lock);
    if (!last)
        return;
    if (settle && !g_atomic_int_get(&w->stopping)) {
        nc_fault_point("worker-before-report");
        /* the acknowledgement waits until the results are safe with the bus */
        bool sent = json_array_size(b->results) == 0 ||
                    nc_worker_publish_full(w, json_pack("{s:s, s:O}", "type", "batch",
                                                        "reports", b->results), true) == 0;
        if (sent)
            nc_worker_settle(w, b->msg, b->retry);
    }
    for (guint i = 0; i < b->started->len; i++)
        nc_reporter_withdraw(w->reporter, g_ptr_array_index(b->started, i));
    nc_worker_batch_free(b);
}

static void
nc_worker_handle(NcWorker *w, NcWorkerJob *job)
{
    json_t *cmd = job->cmd;
    NcMessage *msg = job->batch ? job->batch->msg : job->msg;
    g_autoptr(GError) err = NULL;
    const char *vm_id = nc_json_str(json_object_get(cmd, "vm"), "id");

    /* its start is news only if it is not done soon */
    json_t *started = nc_worker_started(w, cmd);
    if (started)
        job->started = nc_reporter_send_later(w->reporter, started, NC_WORKER_STARTED_AFTER_MS);
    int64_t t0 = nc_mono_us();
    g_autoptr(json_t) data = NULL;
    g_autofree char *state = NULL;
    int rc = nc_worker_execute(w, cmd, &data, &state, &err);
    g_atomic_int_inc(&w->domains_gen);
    /* done: a start report still waiting would tell nothing new */
    if (job->batch) {
        g_mutex_lock(&job->batch->lock);
        if (job->started)
            g_ptr_array_add(job->batch->started, g_steal_pointer(&job->started));
        g_mutex_unlock(&job->batch->lock);
    } else {
        nc_reporter_withdraw(w->reporter, g_steal_pointer(&job->started));
    }
    nc_log_debug("%s %s (op %s, delivery %d): %.1f ms", nc_json_str(cmd, "kind"), vm_id,
                 nc_json_str(cmd, "op"), msg->attempts,
                 (double)(nc_mono_us() - t0) / 1000.0);
    if (rc < 0 && msg->attempts < NC_BUS_MAX_ATTEMPTS) {
        nc_log_warn("%s of %s will be retried: %s", nc_json_str(cmd, "kind"), vm_id,
                    err->message);
        if (job->batch)
            nc_worker_batch_done(w, job->batch, NULL, true);
        else
            nc_worker_settle(w, msg, true);
        return;
    }
    if (err)
        nc_log_info("%s of %s failed: %s", nc_json_str(cmd, "kind"), vm_id, err->message);
    json_t *result = nc_worker_result(w, cmd, data, state, err);
    if (job->batch) {
        nc_worker_batch_done(w, job->batch, result, true);
        return;
    }
    nc_fault_point("worker-before-report");
    /* the acknowledgement waits until the result is safe with the bus: a
     * worker stopped before that leaves the command to come again */
    if (nc_worker_publish_full(w, result, true) < 0)
        return;
    nc_worker_settle(w, msg, false);
}

/* Frees @job; a job that never ran leaves its message unsettled, so the
 * broker gives it again to the next consumer. */
static void
nc_worker_job_free(NcWorker *w, NcWorkerJob *job, bool ran)
{
    if (!ran) {
        if (job->batch)
            nc_worker_batch_done(w, job->batch, NULL, false);
        else
            nc_message_free(job->msg);
    } else if (!job->batch) {
        nc_message_free(job->msg);
    }
    nc_reporter_withdraw(w->reporter, job->started);
    json_decref(job->cmd);
    g_free(job);
}

static gpointer
nc_worker_lane(gpointer data)
{
    GAsyncQueue *q = data;
    NcWorker *w = g_async_queue_pop(q);   /* the first item is the worker */
    for (;;) {
        NcWorkerJob *job = g_async_queue_pop(q);
        if (job == &nc_worker_stop_job)
            break;
        nc_worker_handle(w, job);
        nc_worker_job_free(w, job, true);
    }
    return NULL;
}

/* One lane per VM (or per volume without a VM): its commands in order. */
static guint
nc_worker_lane_of(NcWorker *w, json_t *cmd)
{
    const char *key = nc_json_str(json_object_get(cmd, "vm"), "id");
    if (!key)
        key = nc_json_str(json_object_get(cmd, "volume"), "id");
    return key ? g_str_hash(key) % (guint)w->nlanes : 0;
}

static void
nc_worker_push(NcWorker *w, json_t *cmd, NcMessage *msg, NcWorkerBatch *batch)
{
    NcWorkerJob *job = g_new0(NcWorkerJob, 1);
    job->cmd = cmd;
    job->msg = msg;
    job->batch = batch;
    g_async_queue_push(w->queues[nc_worker_lane_of(w, cmd)], job);
}

/* Hands the commands of one message to their lanes. */
static void
nc_worker_dispatch_one(NcWorker *w, NcMessage *msg)
{
    json_error_t jerr;
    json_t *cmd = json_loads(msg->body, 0, &jerr);
    json_t *cmds = json_object_get(cmd, "commands");
    bool is_batch = g_strcmp0(nc_json_str(cmd, "kind"), "batch") == 0;
    size_t i;
    json_t *one;

    if (!json_is_object(cmd) || (is_batch && (!json_is_array(cmds) ||
                                              json_array_size(cmds) == 0))) {
        nc_log_warn("dropping a command that is not JSON: %s",
                    json_is_object(cmd) ? "a batch without commands" : jerr.text);
        json_decref(cmd);
        nc_bus_ack(w->bus, msg, NULL);
        nc_message_free(msg);
        return;
    }
    if (!is_batch) {
        nc_worker_push(w, cmd, msg, NULL);
        return;
    }
    NcWorkerBatch *b = g_new0(NcWorkerBatch, 1);
    b->msg = msg;
    g_mutex_init(&b->lock);
    b->pending = (int)json_array_size(cmds);
    b->results = json_array();
    b->started = g_ptr_array_new();
    json_array_foreach(cmds, i, one)
        nc_worker_push(w, json_is_object(one) ? json_incref(one) : json_object(), NULL, b);
    json_decref(cmd);
}

static gpointer
nc_worker_dispatch(gpointer data)
{
    NcWorker *w = data;
    while (!g_atomic_int_get(&w->stopping)) {
        NcMessage *msg = NULL;
        g_autoptr(GError) err = NULL;
        int rc = nc_bus_receive(w->bus, w->topic, 500, &msg, &err);
        if (rc < 0) {
            nc_log_warn("cannot receive commands: %s", err->message);
            g_usleep(500 * 1000);
            continue;
        }
        if (rc == 0)
            continue;
        nc_worker_dispatch_one(w, msg);
    }
    return NULL;
}

/* ---- heartbeats ---- */

static json_t *
nc_worker_host_json(NcWorker *w, GError **err)
{
    g_autoptr(NcHost) h = nc_host_new();
    if (nc_hv_driver(w->hv)->host_info(w->hv, h, err) < 0)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:O, s:o}",
                     "id", w->host_id, "name", w->host_name, "accel", h->accel,
                     "nested", h->nested, "vcpus", (json_int_t)h->vcpus,
                     "memory_mib", (json_int_t)h->memory_mib,
                     "disk_gib", (json_int_t)h->disk_gib, "info", h->info,
                     "images", nc_hv_image_files(w->hv));
}

/* One domain of a heartbeat's list.  Sizes the driver does not know (0)
 * and empty addresses are left out: a simulated host's list is its
 * domains' ids and states alone, a third of what it was to write, carry
 * and read. */
static json_t *
nc_worker_domain_json(NcWorker *w, const NcDomainStatus *s)
{
    json_t *dom = json_pack("{s:s, s:s}", "id", s->id, "state", s->state);
    if (s->vcpus > 0)
        json_object_set_new(dom, "vcpus", json_integer(s->vcpus));
    if (s->memory_mib > 0)
        json_object_set_new(dom, "memory_mib", json_integer(s->memory_mib));
    if (strcmp(s->state, "running") == 0) {
        json_t *addrs = nc_hv_driver(w->hv)->vm_addresses(w->hv, s->id, NULL);
        if (json_object_size(addrs) > 0)
            json_object_set_new(dom, "addresses", addrs);
        else if (addrs)
            json_decref(addrs);
    }
    return dom;
}

/* The host's heartbeat: its capacity and the real state of every domain.
 * Returns: (transfer full): the report, or NULL (logged). */
static json_t *
nc_worker_heartbeat_json(NcWorker *w)
{
    g_autoptr(GError) err = NULL;
    const NcHvDriver *d = nc_hv_driver(w->hv);
    /* the time the lists were taken, read before them: the central node
     * trusts an image's absence only in a list begun after it was whole */
    int64_t now = nc_now_ms();
    json_t *host = nc_worker_host_json(w, &err);
    if (!host) {
        nc_log_warn("cannot read the host's state: %s", err->message);
        return NULL;
    }
    g_autoptr(GArray) ports = nc_portfwd_ports(w->ports);
    json_t *plist = json_array();
    for (guint i = 0; i < ports->len; i++)
        json_array_append_new(plist, json_integer(g_array_index(ports, int, i)));
    json_object_set_new(host, "ports", plist);
    /* read before the listing: a command done during it bumps it again */
    int gen = g_atomic_int_get(&w->domains_gen);
    if (w->list_cache && d->changes_only_through_us && gen == w->list_gen) {
        json_t *hb = json_pack("{s:s, s:o, s:I}", "type", "heartbeat", "host", host,
                               "time", (json_int_t)now);
        if (++w->beats_unlisted >= NC_WORKER_LIST_EVERY) {
            w->beats_unlisted = 0;
            json_object_set(hb, "domains", w->list_cache);
        }
        return hb;
    }
    g_autoptr(GPtrArray) doms = d->vm_list(w->hv, &err);
    if (!doms) {
        json_decref(host);
        nc_log_warn("cannot list domains: %s", err->message);
        return NULL;
    }
    json_t *list = json_array();
    for (guint i = 0; i < doms->len; i++)
        json_array_append_new(list, nc_worker_domain_json(w, g_ptr_array_index(doms, i)));
    if (w->domains_file) {
        g_autofree char *text = nc_json_dumps(list);
        g_autoptr(GError) ferr = NULL;
        /* written only when it changed: a thousand simulated hosts would
         * otherwise write 200 files a second */
        if (g_strcmp0(text, w->domains_text) == 0)
            ;
        else if (nc_fs_write_mirror(w->domains_file, text, strlen(text), 0644, &ferr) < 0)
            nc_log_warn("cannot write %s: %s", w->domains_file, ferr->message);
        else {
            g_free(w->domains_text);
            w->domains_text = g_steal_pointer(&text);
        }
    }
    json_decref(w->list_cache);
    w->list_cache = json_incref(list);
    w->list_gen = gen;
    w->beats_unlisted = 0;
    return json_pack("{s:s, s:o, s:o, s:I}", "type", "heartbeat", "host", host,
                     "domains", list, "time", (json_int_t)now);
}

static void
nc_worker_send_heartbeat(NcWorker *w)
{
    json_t *hb = nc_worker_heartbeat_json(w);
    if (hb)
        nc_worker_publish(w, hb);
}

static gpointer
nc_worker_heartbeat(gpointer data)
{
    NcWorker *w = data;
    while (!g_atomic_int_get(&w->stopping)) {
        nc_worker_send_heartbeat(w);
        g_mutex_lock(&w->hb_lock);
        int64_t until = g_get_monotonic_time() + (int64_t)w->heartbeat_ms * 1000;
        while (!g_atomic_int_get(&w->stopping))
            if (!g_cond_wait_until(&w->hb_cond, &w->hb_lock, until))
                break;
        g_mutex_unlock(&w->hb_lock);
    }
    return NULL;
}

NcWorker *
nc_worker_start(const NcWorkerConfig *cfg, NcBus *bus, NcHv *hv, GError **err)
{
    NcWorker *w = g_new0(NcWorker, 1);
    w->host_id = g_strdup(cfg->host_id);
    w->host_name = g_strdup(cfg->host_name);
    w->topic = nc_bus_host_topic(cfg->host_id);
    w->domains_file = g_strdup(cfg->domains_file);
    w->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 5000;
    w->bus = bus;
    w->hv = hv;
    w->nlanes = MAX(1, cfg->lanes);
    g_mutex_init(&w->hb_lock);
    g_cond_init(&w->hb_cond);
    w->ports = nc_portfwd_new(cfg->port_bind_addr, nc_worker_resolve_vm, w);
    g_mutex_init(&w->told_lock);
    w->told = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    w->reporter = cfg->reporter;
    if (!w->reporter) {
        w->reporter = nc_reporter_new(bus);
        w->own_reporter = true;
    }

    if (nc_bus_declare(bus, w->topic, true, err) < 0 ||
        nc_bus_declare(bus, NC_TOPIC_CENTRAL, false, err) < 0) {
        w->nlanes = 0;
        nc_worker_stop(w);
        return NULL;
    }
    nc_hv_watch(hv, nc_worker_on_domain_state, w);
    nc_worker_send_heartbeat(w);
    w->lanes = g_new0(GThread *, w->nlanes);
    w->queues = g_new0(GAsyncQueue *, w->nlanes);
    for (int i = 0; i < w->nlanes; i++) {
        w->queues[i] = g_async_queue_new();
        g_async_queue_push(w->queues[i], w);
        w->lanes[i] = g_thread_new("nc-lane", nc_worker_lane, w->queues[i]);
    }
    w->dispatcher = g_thread_new("nc-dispatch", nc_worker_dispatch, w);
    if (!cfg->pulsed)
        w->heartbeat = g_thread_new("nc-heartbeat", nc_worker_heartbeat, w);
    return w;
}

void
nc_worker_request_stop(NcWorker *w)
{
    if (!w)
        return;
    g_atomic_int_set(&w->stopping, 1);
    if (w->own_reporter)
        nc_reporter_stop(w->reporter);
    g_mutex_lock(&w->hb_lock);
    g_cond_broadcast(&w->hb_cond);
    g_mutex_unlock(&w->hb_lock);
}

void
nc_worker_stop(NcWorker *w)
{
    if (!w)
        return;
    nc_worker_request_stop(w);
    nc_hv_watch(w->hv, NULL, NULL);
    if (w->dispatcher)
        g_thread_join(w->dispatcher);
    if (w->heartbeat)
        g_thread_join(w->heartbeat);
    for (int i = 0; i < w->nlanes; i++) {
        g_async_queue_push(w->queues[i], &nc_worker_stop_job);
        g_thread_join(w->lanes[i]);
        /* commands still queued were not acknowledged: they come back */
        NcWorkerJob *left;
        while ((left = g_async_queue_try_pop(w->queues[i])))
            nc_worker_job_free(w, left, false);
        g_async_queue_unref(w->queues[i]);
    }
    g_free(w->lanes);
    g_free(w->queues);
    nc_portfwd_free(w->ports);
    nc_hv_close(w->hv);
    if (w->own_reporter)
        nc_reporter_free(w->reporter);
    g_mutex_clear(&w->hb_lock);
    g_cond_clear(&w->hb_cond);
    g_free(w->host_id);
    g_free(w->host_name);
    g_free(w->topic);
    g_free(w->domains_file);
    g_free(w->domains_text);
    json_decref(w->list_cache);
    g_hash_table_unref(w->told);
    g_mutex_clear(&w->told_lock);
    g_free(w);
}

NcHv *
nc_worker_hv(NcWorker *w)
{
    return w->hv;
}

/* ---- one pulse for the workers of a process ---- */

struct NcWorkerPulse {
    GPtrArray *workers;     /* NcWorker, not owned (nor the array) */
    NcReporter *reporter;
    int interval_ms;
    GThread *thread;
    GMutex lock;
    GCond cond;
    gint stopping;
};

/* Sends the heartbeats of all the pulse's workers, as few messages of at
 * most half the reporter's size cap (a heartbeat bigger than that goes
 * alone). */
static void
nc_worker_pulse_beat(NcWorkerPulse *p)
{
    g_autoptr(json_t) reports = json_array();
    size_t size = 0;
    for (guint i = 0; i <= p->workers->len; i++) {
        json_t *hb = NULL;
        size_t len = 0;
        if (g_atomic_int_get(&p->stopping))
            return;
        if (i < p->workers->len) {
            NcWorker *w = g_ptr_array_index(p->workers, i);
            if (g_atomic_int_get(&w->stopping) || !(hb = nc_worker_heartbeat_json(w)))
                continue;
            g_autofree char *text = nc_json_dumps(hb);
            len = text ? strlen(text) : 0;
        }
        /* the last heartbeat, or one that would pass the cap: send what waits */
        if (json_array_size(reports) > 0 &&
            (!hb || size + len > NC_REPORTER_MAX_BYTES / 2 ||
             json_array_size(reports) >= NC_REPORTER_MAX_BATCH)) {
            json_t *batch = json_pack("{s:s, s:O}", "type", "batch", "reports", reports);
            nc_reporter_send(p->reporter, batch, false);
            json_array_clear(reports);
            size = 0;
        }
        if (hb) {
            json_array_append_new(reports, hb);
            size += len;
        }
    }
}

static gpointer
nc_worker_pulse_run(gpointer data)
{
    NcWorkerPulse *p = data;
    /* at once: the workers' first heartbeats were sent while the process
     * was still starting */
    nc_worker_pulse_beat(p);
    g_mutex_lock(&p->lock);
    while (!g_atomic_int_get(&p->stopping)) {
        int64_t until = g_get_monotonic_time() + (int64_t)p->interval_ms * 1000;
        while (!g_atomic_int_get(&p->stopping) && g_cond_wait_until(&p->cond, &p->lock, until))
            ;
        if (g_atomic_int_get(&p->stopping))
            break;
        g_mutex_unlock(&p->lock);
        nc_worker_pulse_beat(p);
        g_mutex_lock(&p->lock);
    }
    g_mutex_unlock(&p->lock);
    return NULL;
}

NcWorkerPulse *
nc_worker_pulse_start(GPtrArray *workers, NcReporter *reporter, int interval_ms)
{
    NcWorkerPulse *p = g_new0(NcWorkerPulse, 1);
    p->workers = workers;
    p->reporter = reporter;
    p->interval_ms = interval_ms > 0 ? interval_ms : 5000;
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->thread = g_thread_new("nc-pulse", nc_worker_pulse_run, p);
    return p;
}

void
nc_worker_pulse_stop(NcWorkerPulse *p)
{
    if (!p)
        return;
    g_mutex_lock(&p->lock);
    g_atomic_int_set(&p->stopping, 1);
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
    g_thread_join(p->thread);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p);
}
