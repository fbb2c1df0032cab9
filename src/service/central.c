/* central.c: the central node's life: start-up, authentication, the event
 * stream, the engine thread and the reconciler. */
#include "nc_config.h"
#include "central_priv.h"
#include "conf/limits.h"
#include "store/event_store.h"
#include "store/host_store.h"
#include "store/op_store.h"
#include "store/project_store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_secret.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

#define NC_EVENTS_KEEP 100000
#define NC_OPS_KEEP_MS (7LL * 24 * 3600 * 1000)
/* reports applied in one transaction, at most (a broker's bus) */
#define NC_CENTRAL_BATCH 256
/* outbox rows relayed per turn of the relayer, and how long it sleeps
 * when not kicked */
#define NC_CENTRAL_RELAY 4096
#define NC_CENTRAL_RELAY_IDLE_MS 500
#define NC_CENTRAL_RELAY_GATHER_MS 20

void
nc_caller_free(NcCaller *c)
{
    if (!c)
        return;
    g_free(c->project);
    g_free(c->project_name);
    g_free(c->token_id);
    g_free(c);
}

static NcCaller *
nc_caller_copy(const NcCaller *c)
{
    NcCaller *n = g_new0(NcCaller, 1);
    n->project = g_strdup(c->project);
    n->project_name = g_strdup(c->project_name);
    n->token_id = g_strdup(c->token_id);
    n->admin = c->admin;
    return n;
}

/* ---- start-up ---- */

static int
nc_central_init_identity(NcCentral *c, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return -1;
    GError *local = NULL;
    c->cloud_id = nc_store_meta_get(c->store, "cloud_id", &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (!c->cloud_id) {
        c->cloud_id = nc_uuid_new();
        if (nc_store_meta_set(c->store, "cloud_id", c->cloud_id, err) < 0)
            return -1;
    }
    g_autofree char *admin = nc_store_project_resolve(c->store, NC_ADMIN_PROJECT, &local);
    if (!admin) {
        if (nc_error_code(local) != NC_ERR_NOT_FOUND) {
            g_propagate_error(err, local);
            return -1;
        }
        g_clear_error(&local);
        g_autofree char *made = nc_store_project_create(c->store, NC_ADMIN_PROJECT,
                                                        NC_ADMIN_PROJECT, err);
        if (!made)
            return -1;
    }
    g_autofree char *token_path = g_build_filename(c->cfg.state_dir, "admin.token", NULL);
    g_autofree char *token = NULL;
    if (g_file_get_contents(token_path, &token, NULL, NULL))
        g_strstrip(token);
    g_autofree char *hash = token && *token ? nc_secret_token_hash(token) : NULL;
    g_autoptr(NcToken) known = hash ? nc_store_token_lookup(c->store, hash, NULL) : NULL;
    g_autofree char *had_admin = nc_store_meta_get(c->store, "admin_token_made", NULL);
    if (!known && !had_admin && token && g_str_has_prefix(token, "nc_") && strlen(token) >= 24 &&
        nc_text_check("admin token", token, 256, false, NULL) == 0) {
        /* a fresh store with a token already in place (a Nested Cloud VM
         * given its token through its seed): adopt it */
        g_autofree char *tid = nc_uuid_new();
        if (nc_store_token_insert(c->store, tid, hash, NC_ADMIN_PROJECT, "admin", "admin",
                                  err) < 0 ||
            nc_store_meta_set(c->store, "admin_token_made", "adopted", err) < 0)
            return -1;
        known = g_new0(NcToken, 1);
    }
    if (!known) {
        /* first start (or a lost token file): a new admin token */
        g_free(token);
        token = nc_secret_token_new();
        g_free(hash);
        hash = nc_secret_token_hash(token);
        if (nc_store_meta_set(c->store, "admin_token_made", "generated", err) < 0)
            return -1;
        g_autofree char *tid = nc_uuid_new();
        if (nc_store_token_insert(c->store, tid, hash, NC_ADMIN_PROJECT, "admin", "admin",
                                  err) < 0)
            return -1;
        g_autofree char *line = g_strconcat(token, "\n", NULL);
        if (nc_fs_write_atomic(token_path, line, strlen(line), 0600, err) < 0)
            return -1;
        c->new_admin_token = g_strdup(token);
    }
    return nc_store_txn_commit(&txn, err);
}

NcCentral *
nc_central_open(const NcCentralConfig *cfg, NcStore *store, NcBus *bus, GError **err)
{
    NcCentral *c = g_new0(NcCentral, 1);
    c->nested = g_new0(NcNestedConf, 1);
    c->cfg = *cfg;
    c->cfg.state_dir = g_strdup(cfg->state_dir);
    c->cfg.image_dir = g_strdup(cfg->image_dir);
    c->cfg.instances_dir = g_strdup(cfg->instances_dir);
    c->cfg.test_image_dir = g_strdup(cfg->test_image_dir);
    if (c->cfg.host_timeout_ms <= 0)
        c->cfg.host_timeout_ms = 30000;
    if (c->cfg.reconcile_ms <= 0)
        c->cfg.reconcile_ms = 5000;
    c->store = store;
    c->bus = bus;
    c->started_at = nc_now_ms();
    g_mutex_init(&c->auth_lock);
    g_mutex_init(&c->ev_lock);
    g_cond_init(&c->ev_cond);
    g_mutex_init(&c->relay_lock);
    g_cond_init(&c->relay_cond);
    c->auth_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)nc_caller_free);
    g_mutex_init(&c->sched_lock);
    c->index = nc_sched_index_new(c->cfg.policy, 64);
    c->dirty_hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->host_images = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)nc__host_images_free);
    if (nc_fs_mkdir_p(c->cfg.image_dir, 0755, err) < 0 ||
        nc_central_init_identity(c, err) < 0 ||
        nc__image_register_test(c, err) < 0) {
        nc_central_free(c);
        return NULL;
    }
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts) {
        nc_central_free(c);
        return NULL;
    }
    for (guint i = 0; i < hosts->len; i++)
        nc__central_touch_host(c, ((NcHost *)g_ptr_array_index(hosts, i))->id);
    nc__central_sync_hosts(c);
    return c;
}

NcStore *
nc_central_store(NcCentral *c)
{
    return c->store;
}

NcBus *
nc_central_bus(NcCentral *c)
{
    return c->bus;
}

const char *
nc_central_cloud_id(NcCentral *c)
{
    return c->cloud_id;
}

void
nc_central_set_nesting(NcCentral *c, NcNestedConf *nested, const NcUplink *uplink,
                       void *opaque)
{
    if (nested) {
        nc_nested_conf_free(c->nested);
        c->nested = nested;
    }
    c->uplink = uplink;
    c->uplink_opaque = opaque;
}

const NcCentralConfig *
nc_central_config(NcCentral *c)
{
    return &c->cfg;
}

const char *
nc_central_new_admin_token(NcCentral *c)
{
    return c->new_admin_token;
}

/* ---- authentication ---- */

NcCaller *
nc_central_authenticate(NcCentral *c, const char *token, GError **err)
{
    if (!token || !*token || strlen(token) > 256) {
        nc_error_set(err, NC_ERR_UNAUTHENTICATED,
                     "a valid token is required: send 'Authorization: Bearer TOKEN'");
        return NULL;
    }
    g_autofree char *hash = nc_secret_token_hash(token);
    g_mutex_lock(&c->auth_lock);
    NcCaller *cached = g_hash_table_lookup(c->auth_cache, hash);
    NcCaller *out = cached ? nc_caller_copy(cached) : NULL;
    g_mutex_unlock(&c->auth_lock);
    if (out)
        return out;

    GError *local = NULL;
    g_autoptr(NcToken) tok = nc_store_token_lookup(c->store, hash, &local);
    if (!tok) {
        if (nc_error_code(local) == NC_ERR_UNAUTHENTICATED) {
            g_clear_error(&local);
            nc_error_set(err, NC_ERR_UNAUTHENTICATED, "the token is not valid");
        } else {
            g_propagate_error(err, local);
        }
        return NULL;
    }
    NcCaller *caller = g_new0(NcCaller, 1);
    caller->project = g_strdup(tok->project);
    caller->project_name = g_strdup(tok->project_name);
    caller->token_id = g_strdup(tok->id);
    caller->admin = g_strcmp0(tok->role, "admin") == 0;
    g_mutex_lock(&c->auth_lock);
    if (g_hash_table_size(c->auth_cache) > 10000)
        g_hash_table_remove_all(c->auth_cache);
    g_hash_table_replace(c->auth_cache, g_steal_pointer(&hash), nc_caller_copy(caller));
    g_mutex_unlock(&c->auth_lock);
    return caller;
}

json_t *
nc_central_project_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err)
{
    static const char *const keys[] = { "name", NULL };
    const char *name = NULL;

    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can create projects");
        return NULL;
    }
    if (nc_json_check_keys(req, "a project", keys, err) < 0 ||
        nc_json_get_string(req, "name", true, 256, &name, err) < 0 ||
        nc_name_check("project", name, err) < 0)
        return NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autofree char *id = nc_uuid_new();
    g_autofree char *made = nc_store_project_create(c->store, id, name, err);
    if (!made)
        return NULL;
    g_autofree char *token = nc_secret_token_new();
    g_autofree char *hash = nc_secret_token_hash(token);
    g_autofree char *tid = nc_uuid_new();
    if (nc_store_token_insert(c->store, tid, hash, id, "member", name, err) < 0 ||
        nc__central_event(c, NULL, "project.created", "project", id,
                          json_pack("{s:s}", "name", name), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    nc__central_notify(c);
    return json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "token", token);
}

json_t *
nc_central_project_list(NcCentral *c, const NcCaller *caller, GError **err)
{
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can list projects");
        return NULL;
    }
    json_t *list = nc_store_project_list(c->store, err);
    return list ? json_pack("{s:o}", "projects", list) : NULL;
}

/* ---- the scheduler's index ---- */

void
nc__central_touch_host(NcCentral *c, const char *host_id)
{
    if (!host_id)
        return;
    g_mutex_lock(&c->sched_lock);
    g_hash_table_add(c->dirty_hosts, g_strdup(host_id));
    g_mutex_unlock(&c->sched_lock);
}

/* Call with sched_lock held. */
static void
nc_central_index_set(NcCentral *c, const NcHost *h)
{
    NcSchedSlot s = {
        nc_host_limit_vcpus(h), nc_host_limit_memory_mib(h), nc_host_limit_disk_gib(h),
        h->alloc_vcpus, h->alloc_memory_mib, h->alloc_disk_gib,
        nc_host_schedulable(h),
    };
    nc_sched_index_set(c->index, h->id, &s);
}

void
nc__central_index_host(NcCentral *c, const NcHost *h)
{
    g_mutex_lock(&c->sched_lock);
    nc_central_index_set(c, h);
    g_mutex_unlock(&c->sched_lock);
}

void
nc__central_sync_hosts(NcCentral *c)
{
    g_mutex_lock(&c->sched_lock);
    g_autoptr(GHashTable) dirty = c->dirty_hosts;
    c->dirty_hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_mutex_unlock(&c->sched_lock);

    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, dirty);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        GError *local = NULL;
        g_autoptr(NcHost) h = nc_store_host_get(c->store, key, &local);
        g_mutex_lock(&c->sched_lock);
        if (h) {
            nc_central_index_set(c, h);
        } else if (nc_error_code(local) == NC_ERR_NOT_FOUND) {
            nc_sched_index_remove(c->index, key);
        } else {
            /* the store did not answer: try again at the next sync */
            g_hash_table_add(c->dirty_hosts, g_strdup(key));
        }
        g_mutex_unlock(&c->sched_lock);
        g_clear_error(&local);
    }
}

/* ---- events ---- */

void
nc__central_notify(NcCentral *c)
{
    g_mutex_lock(&c->ev_lock);
    c->ev_gen++;
    g_cond_broadcast(&c->ev_cond);
    g_mutex_unlock(&c->ev_lock);
}

int
nc__central_event(NcCentral *c, const char *project, const char *type,
                  const char *object_kind, const char *object_id, json_t *data, GError **err)
{
    return nc_store_event_append(c->store, project, type, object_kind, object_id, data, err);
}

uint64_t
nc_central_wait_event(NcCentral *c, uint64_t seen, int timeout_ms)
{
    int64_t until = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    g_mutex_lock(&c->ev_lock);
    while (c->ev_gen == seen && !g_atomic_int_get(&c->stopping)) {
        if (!g_cond_wait_until(&c->ev_cond, &c->ev_lock, until))
            break;
    }
    uint64_t gen = c->ev_gen;
    g_mutex_unlock(&c->ev_lock);
    return gen;
}

uint64_t
nc_central_event_generation(NcCentral *c)
{
    g_mutex_lock(&c->ev_lock);
    uint64_t gen = c->ev_gen;
    g_mutex_unlock(&c->ev_lock);
    return gen;
}

json_t *
nc_central_events(NcCentral *c, const NcCaller *caller, int64_t after_seq, int limit,
                  GError **err)
{
    g_autoptr(GPtrArray) evs = nc_store_event_list(c->store, NC_SCOPE(caller), after_seq,
                                                   limit, err);
    if (!evs)
        return NULL;
    json_t *out = json_array();
    for (guint i = 0; i < evs->len; i++) {
        NcEvent *ev = g_ptr_array_index(evs, i);
        g_autofree char *time = nc_time_format(ev->time);
        json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:{s:s, s:s}, s:O}",
                                             "seq", (json_int_t)ev->seq, "time", time,
                                             "type", ev->type,
                                             "object", "kind", ev->object_kind,
                                             "id", ev->object_id, "data", ev->data));
    }
    return out;
}

/* ---- the engine: applying what workers report ---- */

static int
nc_central_apply(NcCentral *c, json_t *msg, GError **err)
{
    const char *type = nc_json_str(msg, "type");
    if (g_strcmp0(type, "batch") == 0) {
        /* the reports of a worker process, sent together (reporter.h) */
        size_t i;
        json_t *one;
        json_array_foreach(json_object_get(msg, "reports"), i, one) {
            if (!json_is_object(one) || g_strcmp0(nc_json_str(one, "type"), "batch") == 0) {
                nc_log_warn("ignoring a damaged report in a batch");
                continue;
            }
            if (nc_central_apply(c, one, err) < 0)
                return -1;
        }
        return 0;
    }
    if (g_strcmp0(type, "heartbeat") == 0)
        return nc__host_apply_heartbeat(c, msg, err);
    if (g_strcmp0(type, "op.started") == 0)
        return nc__vm_apply_started(c, msg, err);
    if (g_strcmp0(type, "op.result") == 0)
        return nc__vm_apply_result(c, msg, err);
    if (g_strcmp0(type, "vm.state") == 0)
        return nc__vm_apply_state(c, msg, err);
    nc_log_warn("ignoring a report of unknown type '%s'", type ? type : "");
    return 0;
}

static void
nc_central_handle(NcCentral *c, NcMessage *msg)
{
    json_error_t jerr;
    g_autoptr(json_t) body = json_loads(msg->body, 0, &jerr);
    g_autoptr(GError) err = NULL;
    bool local_bus = strcmp(nc_bus_driver_name(c->bus), "local") == 0;

    if (!json_is_object(body)) {
        nc_log_warn("dropping a report that is not JSON: %s", jerr.text);
        nc_bus_ack(c->bus, msg, NULL);
        return;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, &err) < 0 ||
        nc_central_apply(c, body, &err) < 0 ||
        /* on the local bus the ack is a row of this very store: apply and
         * ack commit together, so a report is applied exactly once */
        (local_bus && nc_bus_ack(c->bus, msg, &err) < 0) ||
        nc_store_txn_commit(&txn, &err) < 0) {
        nc_store_txn_end(&txn);
        nc__central_sync_hosts(c);
        nc_log_warn("cannot apply a %s report: %s", nc_json_str(body, "type"),
                    err ? err->message : "unknown error");
        nc_bus_retry(c->bus, msg, 1000, NULL);
        return;
    }
    nc__central_sync_hosts(c);
    if (!local_bus)
        nc_bus_ack(c->bus, msg, NULL);
    nc__central_notify(c);
    nc__central_kick(c);
}

/* Applies a batch of reports from a broker (not the local bus, whose acks
 * are rows of the store) in one transaction, then acknowledges them: one
 * commit for many reports.  When the batch fails as a whole, each report is
 * applied on its own, so one bad report cannot hold back the others.  A
 * crash between the commit and the acks redelivers reports that were
 * applied: applying one twice changes nothing. */
static void
nc_central_handle_batch(NcCentral *c, GPtrArray *msgs)
{
    g_autoptr(GError) err = NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    bool ok = nc_store_txn_begin(&txn, c->store, &err) == 0;
    for (guint i = 0; ok && i < msgs->len; i++) {
        NcMessage *msg = g_ptr_array_index(msgs, i);
        g_autoptr(json_t) body = json_loads(msg->body, 0, NULL);
        if (!json_is_object(body))
            nc_log_warn("dropping a report that is not JSON");
        else if (nc_central_apply(c, body, &err) < 0)
            ok = false;
    }
    if (ok && nc_store_txn_commit(&txn, &err) < 0)
        ok = false;
    nc_store_txn_end(&txn);
    nc__central_sync_hosts(c);
    if (!ok) {
        nc_log_debug("a batch of %u reports failed (%s); applying them one by one",
                     msgs->len, err ? err->message : "unknown error");
        for (guint i = 0; i < msgs->len; i++)
            nc_central_handle(c, g_ptr_array_index(msgs, i));
        return;
    }
    for (guint i = 0; i < msgs->len; i++)
        nc_bus_ack(c->bus, g_ptr_array_index(msgs, i), NULL);
    nc__central_notify(c);
    nc__central_kick(c);
}

static gpointer
nc_central_engine(gpointer data)
{
    NcCentral *c = data;
    int64_t next_reconcile = 0, next_tick = 0;
    bool local_bus = strcmp(nc_bus_driver_name(c->bus), "local") == 0;
    /* a broker's results and heartbeats go ahead of new requests; on the
     * local bus receiving polls the store itself, and an urgent poller
     * would keep the store from the worker's lanes */
    nc_store_set_urgent(!local_bus);
    while (!g_atomic_int_get(&c->stopping)) {
        int64_t now = nc_mono_us();
        if (now >= next_tick) {
            g_autoptr(GError) err = NULL;
            if (nc__reservation_tick(c, &err) < 0)
                nc_log_warn("reservations: %s", err->message);
            next_tick = now + G_USEC_PER_SEC;
        }
        if (now >= next_reconcile) {
            g_autoptr(GError) err = NULL;
            if (nc_central_reconcile(c, &err) < 0)
                nc_log_warn("reconciler: %s", err->message);
            next_reconcile = now + (int64_t)c->cfg.reconcile_ms * 1000;
        }
        g_autoptr(GError) err = NULL;
        g_autoptr(NcMessage) msg = NULL;
        int rc = nc_bus_receive(c->bus, NC_TOPIC_CENTRAL, 500, &msg, &err);
        if (rc < 0) {
            nc_log_warn("cannot receive reports: %s", err->message);
            g_usleep(500 * 1000);
        } else if (rc > 0 && local_bus) {
            nc_central_handle(c, msg);
        } else if (rc > 0) {
            /* what else has arrived, without waiting */
            g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func(
                (GDestroyNotify)nc_message_free);
            g_ptr_array_add(batch, g_steal_pointer(&msg));
            NcMessage *more = NULL;
            while (batch->len < NC_CENTRAL_BATCH &&
                   nc_bus_receive(c->bus, NC_TOPIC_CENTRAL, 0, &more, NULL) > 0)
                g_ptr_array_add(batch, g_steal_pointer(&more));
            nc_central_handle_batch(c, batch);
        }
    }
    return NULL;
}

void
nc__central_kick(NcCentral *c)
{
    nc_bus_kick(c->bus);
    g_mutex_lock(&c->relay_lock);
    c->relay_due = true;
    g_cond_signal(&c->relay_cond);
    g_mutex_unlock(&c->relay_lock);
}

/* Sends the outbox's commands to the broker: when kicked, and every
 * NC_CENTRAL_RELAY_IDLE_MS (rows a failed send left, or another process
 * wrote). */
static gpointer
nc_central_relayer(gpointer data)
{
    NcCentral *c = data;
    /* commands leave before more come in */
    nc_store_set_urgent(true);
    g_autoptr(NcOutboxRelay) relay = nc_outbox_relay_new(c->bus, c->store);
    while (!g_atomic_int_get(&c->stopping)) {
        g_mutex_lock(&c->relay_lock);
        int64_t until = g_get_monotonic_time() + NC_CENTRAL_RELAY_IDLE_MS * 1000;
        while (!c->relay_due && !g_atomic_int_get(&c->stopping))
            if (!g_cond_wait_until(&c->relay_cond, &c->relay_lock, until))
                break;
        bool kicked = c->relay_due;
        c->relay_due = false;
        g_mutex_unlock(&c->relay_lock);
        /* let the commits of a burst gather: one message per host for
         * them all, not one per commit */
        if (kicked)
            g_usleep(NC_CENTRAL_RELAY_GATHER_MS * 1000);
        int n;
        do {
            g_autoptr(GError) err = NULL;
            n = nc_outbox_relay_step(relay, NC_CENTRAL_RELAY, &err);
            if (n < 0) {
                nc_log_warn("cannot relay commands: %s", err->message);
                g_usleep(500 * 1000);
            }
        } while (n == NC_CENTRAL_RELAY && !g_atomic_int_get(&c->stopping));
    }
    /* rows the broker holds need not go again */
    g_autoptr(GError) err = NULL;
    if (nc_outbox_relay_flush(relay, &err) < 0)
        nc_log_warn("cannot clear relayed commands: %s", err->message);
    return NULL;
}

int
nc_central_start(NcCentral *c, GError **err)
{
    if (nc_bus_declare(c->bus, NC_TOPIC_CENTRAL, true, err) < 0)
        return -1;
    c->engine = g_thread_new("nc-engine", nc_central_engine, c);
    /* the local bus is the store's own queue: nothing to relay */
    if (strcmp(nc_bus_driver_name(c->bus), "local") != 0)
        c->relayer = g_thread_new("nc-relay", nc_central_relayer, c);
    return 0;
}

void
nc_central_free(NcCentral *c)
{
    if (!c)
        return;
    g_atomic_int_set(&c->stopping, 1);
    nc__central_notify(c);
    nc__central_kick(c);
    if (c->engine)
        g_thread_join(c->engine);
    if (c->relayer)
        g_thread_join(c->relayer);
    g_hash_table_destroy(c->auth_cache);
    nc_nested_conf_free(c->nested);
    nc_sched_index_free(c->index);
    g_hash_table_destroy(c->dirty_hosts);
    g_hash_table_destroy(c->host_images);
    g_mutex_clear(&c->sched_lock);
    g_mutex_clear(&c->auth_lock);
    g_mutex_clear(&c->ev_lock);
    g_cond_clear(&c->ev_cond);
    g_mutex_clear(&c->relay_lock);
    g_cond_clear(&c->relay_cond);
    g_free((char *)c->cfg.state_dir);
    g_free((char *)c->cfg.image_dir);
    g_free((char *)c->cfg.instances_dir);
    g_free((char *)c->cfg.test_image_dir);
    g_free(c->cloud_id);
    g_free(c->new_admin_token);
    g_free(c);
}

/* ---- the reconciler ---- */

/* A silent host's VMs: nobody can say what they are doing. */
static int
nc_central_mark_unknown(NcCentral *c, const NcHost *h, GError **err)
{
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, h->id, err);
    if (!vms)
        return -1;
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        if (vm->state != NC_VM_RUNNING && vm->state != NC_VM_STOPPED &&
            vm->state != NC_VM_BUILDING)
            continue;
        vm->state = NC_VM_UNKNOWN;
        if (nc_store_vm_update(c->store, vm, err) < 0 ||
            nc__central_event(c, vm->spec->project, "vm.state", "vm", vm->spec->id,
                              json_pack("{s:s, s:s, s:s}", "name", vm->spec->name,
                                        "state", "unknown", "host", h->name), err) < 0)
            return -1;
    }
    return 0;
}

int
nc_central_reconcile(NcCentral *c, GError **err)
{
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return -1;
    int64_t now = nc_now_ms();
    bool changed = false;
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        if (g_strcmp0(h->state, "up") != 0 || now - h->last_seen <= c->cfg.host_timeout_ms)
            continue;
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, c->store, err) < 0 ||
            nc_central_mark_unknown(c, h, err) < 0 ||
            nc_store_host_set_state(c->store, h->id, "down", err) < 0 ||
            nc__central_event(c, NULL, "host.state", "host", h->id,
                              json_pack("{s:s, s:s, s:I}", "name", h->name, "state", "down",
                                        "silent_ms", (json_int_t)(now - h->last_seen)),
                              err) < 0 ||
            nc_store_txn_commit(&txn, err) < 0)
            return -1;
        nc__central_touch_host(c, h->id);
        changed = true;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0 ||
        nc_store_event_prune(c->store, NC_EVENTS_KEEP, err) < 0 ||
        nc_store_op_prune(c->store, now - NC_OPS_KEEP_MS, err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return -1;
    if (changed) {
        nc__central_sync_hosts(c);
        nc__central_notify(c);
    }
    return 0;
}

/* ---- status and metrics ---- */

json_t *
nc_central_status(NcCentral *c, GError **err)
{
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return NULL;
    /* counted by the store: a status read must not load every VM */
    json_t *by_state = nc_store_vm_count_by_state(c->store, err);
    if (!by_state)
        return NULL;
    int64_t total_vms = 0;
    const char *state_name;
    json_t *count;
    json_object_foreach(by_state, state_name, count)
        total_vms += json_integer_value(count);
    int64_t up = 0, disabled = 0, vcpus = 0, alloc_vcpus = 0, mem = 0, alloc_mem = 0;
    json_t *accels = json_object();
    /* a cloud told by its seed that it runs in a VM, or on a virtual CPU */
    bool nested = c->nested->depth > 0;
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        if (g_strcmp0(h->state, "up") == 0)
            up++;
        disabled += h->disabled;
        vcpus += h->vcpus;
        alloc_vcpus += h->alloc_vcpus;
        mem += h->memory_mib;
        alloc_mem += h->alloc_memory_mib;
        json_object_set_new(accels, h->name, json_string(h->accel));
        nested = nested || h->nested;
    }
    /* the cloud's accelerator: the best any real host has (simulated hosts
     * only when there is nothing else) */
    const char *accel = NULL;
    static const char *const rank[] = { "kvm", "tcg", "sim" };
    for (size_t r = 0; r < G_N_ELEMENTS(rank) && !accel; r++)
        for (guint i = 0; i < hosts->len && !accel; i++)
            if (g_strcmp0(((NcHost *)g_ptr_array_index(hosts, i))->accel, rank[r]) == 0)
                accel = rank[r];
    g_autofree char *started = nc_time_format(c->started_at);
    json_t *status = json_pack("{s:s, s:s, s:s, s:o, s:b, s:o, s:s, s:s, s:s,"
                     " s:{s:I, s:I, s:I}, s:{s:I, s:o},"
                     " s:{s:I, s:I, s:I, s:I}}",
                     "version", NC_VERSION, "cloud_id", c->cloud_id,
                     "started_at", started,
                     "accelerator", nc_json_string_or_null(accel), "nested", nested,
                     "accelerators", accels,
                     "store", nc_store_driver_name(c->store),
                     "bus", nc_bus_driver_name(c->bus),
                     "scheduler", nc_sched_policy_name(c->cfg.policy),
                     "hosts", "total", (json_int_t)hosts->len, "up", (json_int_t)up,
                     "disabled", (json_int_t)disabled,
                     "vms", "total", (json_int_t)total_vms, "by_state", by_state,
                     "capacity", "vcpus", (json_int_t)vcpus,
                     "allocated_vcpus", (json_int_t)alloc_vcpus,
                     "memory_mib", (json_int_t)mem, "allocated_memory_mib", (json_int_t)alloc_mem);
    if (status) {
        json_object_set_new(status, "depth", json_integer(c->nested->depth));
        json_object_set_new(status, "nesting", nc_nested_conf_to_api_json(c->nested));
    }
    return status;
}

char *
nc_central_metrics(NcCentral *c, GError **err)
{
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return NULL;
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, NULL, err);
    if (!vms)
        return NULL;
    GString *m = g_string_new(NULL);
    g_string_append(m, "# HELP nestcloud_up Whether the central node is serving.\n"
                       "# TYPE nestcloud_up gauge\nnestcloud_up 1\n");
    g_string_append_printf(m, "# HELP nestcloud_uptime_seconds Seconds since start.\n"
                              "# TYPE nestcloud_uptime_seconds gauge\n"
                              "nestcloud_uptime_seconds %" G_GINT64_FORMAT "\n",
                           (nc_now_ms() - c->started_at) / 1000);
    int counts[NC_VM_STATE_MAX] = { 0 };
    for (guint i = 0; i < vms->len; i++)
        counts[((NcVm *)g_ptr_array_index(vms, i))->state]++;
    g_string_append(m, "# HELP nestcloud_vms VMs by state.\n# TYPE nestcloud_vms gauge\n");
    for (int s = 0; s < NC_VM_STATE_MAX; s++)
        g_string_append_printf(m, "nestcloud_vms{state=\"%s\"} %d\n",
                               nc_vm_state_name((NcVmState)s), counts[s]);
    static const char *const dims[][2] = {
        { "vcpus", "vCPUs" }, { "memory_mib", "memory in MiB" }, { "disk_gib", "disk in GiB" },
    };
    for (size_t d = 0; d < G_N_ELEMENTS(dims); d++) {
        g_string_append_printf(m, "# HELP nestcloud_host_capacity_%s Host capacity, %s.\n"
                                  "# TYPE nestcloud_host_capacity_%s gauge\n",
                               dims[d][0], dims[d][1], dims[d][0]);
        for (guint i = 0; i < hosts->len; i++) {
            NcHost *h = g_ptr_array_index(hosts, i);
            int64_t v = d == 0 ? h->vcpus : d == 1 ? h->memory_mib : h->disk_gib;
            g_string_append_printf(m, "nestcloud_host_capacity_%s{host=\"%s\"} %" G_GINT64_FORMAT "\n",
                                   dims[d][0], h->name, v);
        }
        g_string_append_printf(m, "# HELP nestcloud_host_allocated_%s Allocated, %s.\n"
                                  "# TYPE nestcloud_host_allocated_%s gauge\n",
                               dims[d][0], dims[d][1], dims[d][0]);
        for (guint i = 0; i < hosts->len; i++) {
            NcHost *h = g_ptr_array_index(hosts, i);
            int64_t v = d == 0 ? h->alloc_vcpus : d == 1 ? h->alloc_memory_mib : h->alloc_disk_gib;
            g_string_append_printf(m, "nestcloud_host_allocated_%s{host=\"%s\"} %" G_GINT64_FORMAT "\n",
                                   dims[d][0], h->name, v);
        }
    }
    g_string_append(m, "# HELP nestcloud_host_up Whether a host is up.\n"
                       "# TYPE nestcloud_host_up gauge\n");
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        g_string_append_printf(m, "nestcloud_host_up{host=\"%s\",accel=\"%s\"} %d\n", h->name,
                               h->accel, g_strcmp0(h->state, "up") == 0);
    }
    g_string_append(m, "# HELP nestcloud_host_enabled Whether a host takes new VMs (not "
                       "disabled for maintenance).\n# TYPE nestcloud_host_enabled gauge\n");
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        g_string_append_printf(m, "nestcloud_host_enabled{host=\"%s\"} %d\n", h->name,
                               !h->disabled);
    }
    return g_string_free(m, FALSE);
}
