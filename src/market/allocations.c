/* allocations.c: allocations on backends, reconciliation, the proxy. */
#include "allocations.h"
#include "backends.h"
#include "contracts.h"
#include "metering.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

#define NC_ALLOC_COLS \
    "a.id, a.contract, a.backend, a.kind, a.desired, a.state, a.remote_id, a.remote_name," \
    " a.remote_state, a.op, a.op_kind, a.vcpus, a.memory_mib, a.disk_gib, a.storage_gib," \
    " a.units, a.address, a.note, a.error, a.created_at, a.updated_at, b.name, a.consumer"

typedef struct {
    char *id, *contract, *backend, *kind, *desired, *state, *remote_id, *remote_name;
    char *remote_state, *op, *op_kind, *consumer;
} NcAlloc;

static void
nc_alloc_clear(NcAlloc *a)
{
    g_free(a->id);
    g_free(a->contract);
    g_free(a->backend);
    g_free(a->kind);
    g_free(a->desired);
    g_free(a->state);
    g_free(a->remote_id);
    g_free(a->remote_name);
    g_free(a->remote_state);
    g_free(a->op);
    g_free(a->op_kind);
    g_free(a->consumer);
    memset(a, 0, sizeof(*a));
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NcAlloc, nc_alloc_clear)

static json_t *
nc_alloc_row_json(NcRows *r)
{
    json_t *op = nc_rows_is_null(r, 9) ? json_null()
                                        : json_pack("{s:s, s:o}", "id", nc_rows_text(r, 9), "kind",
                                                    nc_market_col_json(r, 10));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:{s:s, s:s}, s:I, s:I, s:I, s:I,"
                     " s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", nc_rows_text(r, 0), "contract", nc_rows_text(r, 1),
                     "kind", nc_rows_text(r, 3), "desired", nc_rows_text(r, 4),
                     "state", nc_rows_text(r, 5), "remote_state", nc_market_col_json(r, 8),
                     "name", nc_rows_text(r, 7),
                     "backend", "id", nc_rows_text(r, 2), "name", nc_rows_text(r, 21),
                     "vcpus", (json_int_t)nc_rows_int(r, 11),
                     "memory_mib", (json_int_t)nc_rows_int(r, 12),
                     "disk_gib", (json_int_t)nc_rows_int(r, 13),
                     "storage_gib", (json_int_t)nc_rows_int(r, 14),
                     "units", (json_int_t)nc_rows_int(r, 15),
                     "address", nc_market_col_json(r, 16), "note", nc_market_col_json(r, 17),
                     "error", nc_market_col_json(r, 18), "operation", op,
                     "created_at", nc_market_time_json(nc_rows_int(r, 19)),
                     "updated_at", nc_market_time_json(nc_rows_int(r, 20)));
}

json_t *
nc_market_allocation_of_contract(NcMarket *m, const char *contract)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                         "SELECT " NC_ALLOC_COLS " FROM allocations a JOIN"
                                         " backends b ON b.id = a.backend WHERE a.contract = $1",
                                         NC_TEXT(contract), NC_END);
    if (!r || !nc_rows_next(r, NULL))
        return json_null();
    return nc_alloc_row_json(r);
}

int
nc_market_allocation_create_row(NcMarket *m, const char *contract, GError **err)
{
    g_autofree char *id = nc_uuid_new();
    GString *n = g_string_new("m-");
    for (const char *p = contract; *p && n->len < 14; p++)
        if (*p != '-')
            g_string_append_c(n, *p);
    g_autofree char *name = g_string_free(n, FALSE);
    int64_t now = nc_now_ms();
    return nc_store_exec(m->store, err,
                         "INSERT INTO allocations (id, contract, consumer, provider, backend, kind,"
                         " desired, state, remote_name, vcpus, memory_mib, disk_gib, storage_gib,"
                         " units, created_at, updated_at)"
                         " SELECT $1, c.id, c.consumer, c.provider, o.backend, o.kind, 'present',"
                         " 'creating', $2, o.vcpus * c.units, o.memory_mib * c.units, o.disk_gib,"
                         " o.storage_gib * c.units, c.units, $3, $3 FROM contracts c"
                         " JOIN offers o ON o.id = c.offer WHERE c.id = $4",
                         NC_TEXT(id), NC_TEXT(name), NC_INT(now), NC_TEXT(contract), NC_END) < 0
           ? -1 : 0;
}

int
nc_market_allocation_release(NcMarket *m, const char *contract, GError **err)
{
    return nc_store_exec(m->store, err,
                         "UPDATE allocations SET desired = 'absent', updated_at = $2,"
                         " state = CASE WHEN state IN ('failed', 'unsupported', 'lost')"
                         "  AND remote_id IS NULL THEN 'deleted'"
                         "  WHEN state IN ('unsupported', 'lost') THEN 'deleted'"
                         "  ELSE 'deleting' END WHERE contract = $1 AND desired = 'present'",
                         NC_TEXT(contract), NC_INT(nc_now_ms()), NC_END) < 0 ? -1 : 0;
}

static int
nc_alloc_load(NcMarket *m, const char *id, NcAlloc *a, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT id, contract, backend, kind, desired, state,"
                                         " remote_id, remote_name, remote_state, op, op_kind,"
                                         " consumer FROM allocations WHERE id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_next(r, err)) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no such allocation");
        return -1;
    }
    a->id = nc_rows_dup(r, 0);
    a->contract = nc_rows_dup(r, 1);
    a->backend = nc_rows_dup(r, 2);
    a->kind = nc_rows_dup(r, 3);
    a->desired = nc_rows_dup(r, 4);
    a->state = nc_rows_dup(r, 5);
    a->remote_id = nc_rows_dup(r, 6);
    a->remote_name = nc_rows_dup(r, 7);
    a->remote_state = nc_rows_dup(r, 8);
    a->op = nc_rows_dup(r, 9);
    a->op_kind = nc_rows_dup(r, 10);
    a->consumer = nc_rows_dup(r, 11);
    return 0;
}

static void
nc_alloc_publish(NcMarket *m, const char *id)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                         "SELECT " NC_ALLOC_COLS ", a.provider FROM allocations a"
                                         " JOIN backends b ON b.id = a.backend WHERE a.id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r || !nc_rows_next(r, NULL))
        return;
    json_t *j = nc_alloc_row_json(r);
    g_autofree char *consumer = nc_rows_dup(r, 22);
    g_autofree char *provider = nc_rows_dup(r, 23);
    g_clear_pointer(&r, nc_rows_free);
    /* the provider learns the state, not the details */
    nc_market_events_publish(m->events, "allocation", provider, NULL, NULL,
                             json_pack("{s:O, s:O, s:O}", "id", json_object_get(j, "id"),
                                       "contract", json_object_get(j, "contract"),
                                       "state", json_object_get(j, "state")));
    nc_market_events_publish(m->events, "allocation", consumer, NULL, NULL, j);
}

/* Sets columns of an allocation; NULL keeps a text column, except @clear_op. */
static void
nc_alloc_set(NcMarket *m, const char *id, const char *state, const char *remote_id,
             const char *remote_state, const char *address, const char *note, const char *error,
             bool clear_error)
{
    nc_store_exec(m->store, NULL,
                  "UPDATE allocations SET state = COALESCE($2, state),"
                  " remote_id = COALESCE($3, remote_id),"
                  " remote_state = COALESCE($4, remote_state),"
                  " address = COALESCE($5, address), note = COALESCE($6, note),"
                  " error = CASE WHEN $8 = 1 THEN NULL ELSE COALESCE($7, error) END,"
                  " updated_at = $9 WHERE id = $1",
                  NC_TEXT(id), NC_TEXT(state), NC_TEXT(remote_id), NC_TEXT(remote_state),
                  NC_TEXT(address), NC_TEXT(note), NC_TEXT(error), NC_INT(clear_error),
                  NC_INT(nc_now_ms()), NC_END);
}

static void
nc_alloc_set_op(NcMarket *m, const char *id, const char *op, const char *kind)
{
    nc_store_exec(m->store, NULL,
                  "UPDATE allocations SET op = $2, op_kind = $3, updated_at = $4 WHERE id = $1",
                  NC_TEXT(id), NC_TEXT(op), NC_TEXT(kind), NC_INT(nc_now_ms()), NC_END);
}

/* Ends the contract of an allocation for a reason the market found. */
static void
nc_alloc_end_contract(NcMarket *m, const char *contract, const char *reason)
{
    g_autoptr(GError) err = NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, m->store, &err) < 0)
        return;
    if (nc_market_contract_end_internal(m, contract, reason, &err) < 0 ||
        nc_store_txn_commit(&txn, &err) < 0) {
        nc_market_contracts_drop_events();
        nc_log_warn("market: cannot end contract %s: %s", contract, err->message);
        return;
    }
    nc_market_contracts_flush_events(m);
    nc_market_poke(m);
}

static bool
nc_is_missing_endpoint(const GError *e)
{
    return nc_error_code(e) == NC_ERR_NOT_FOUND && e->message &&
           g_str_has_prefix(e->message, "no such endpoint");
}

/* Maps VM states of a backend to the allocation's. */
static const char *
nc_alloc_state_from_remote(const char *rs)
{
    static const char *const same[] = { "running", "stopped", "error", "deleting" };
    for (size_t i = 0; rs && i < G_N_ELEMENTS(same); i++)
        if (strcmp(rs, same[i]) == 0)
            return same[i];
    return "building";
}

static void
nc_alloc_create(NcMarket *m, NcAlloc *a, NcClient *cl)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) res = NULL;
    bool start = false;
    if (strcmp(a->kind, "storage") == 0) {
        int64_t gib = 0;
        {
            g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                                 "SELECT storage_gib FROM allocations WHERE"
                                                 " id = $1", NC_TEXT(a->id), NC_END);
            if (r && nc_rows_next(r, NULL))
                gib = nc_rows_int(r, 0);
        }
        g_autoptr(json_t) body = json_pack("{s:s, s:I}", "name", a->remote_name,
                                           "size_gib", (json_int_t)gib);
        res = nc_client_call(cl, "POST", "/v1/volumes", body, NULL, &err);
        if (!res && nc_is_missing_endpoint(err)) {
            nc_alloc_set(m, a->id, "unsupported", NULL, NULL, NULL,
                         "this backend has no volume API (/v1/volumes) yet: nothing was created "
                         "on it, and nothing is charged", NULL, true);
            nc_alloc_publish(m, a->id);
            return;
        }
    } else {
        g_autoptr(json_t) body = NULL;
        {
            g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                                 "SELECT a.vcpus, a.memory_mib, a.disk_gib,"
                                                 " o.vcpus, o.memory_mib, o.slots, o.image,"
                                                 " c.config FROM allocations a JOIN contracts c ON"
                                                 " c.id = a.contract JOIN offers o ON o.id ="
                                                 " c.offer WHERE a.id = $1", NC_TEXT(a->id), NC_END);
            if (!r || !nc_rows_next(r, NULL))
                return;
            int64_t max_units = MIN(nc_rows_int(r, 5), NC_MARKET_UNITS_MAX);
            body = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", a->remote_name,
                             "image", nc_rows_text(r, 6) ? nc_rows_text(r, 6) : "test",
                             "vcpus", (json_int_t)nc_rows_int(r, 0),
                             "memory_mib", (json_int_t)nc_rows_int(r, 1),
                             "max_vcpus", (json_int_t)MIN(256, nc_rows_int(r, 3) * max_units),
                             "max_memory_mib", (json_int_t)(nc_rows_int(r, 4) * max_units));
            if (nc_rows_int(r, 2) > 0)
                json_object_set_new(body, "disk_gib", json_integer(nc_rows_int(r, 2)));
            json_error_t jerr;
            g_autoptr(json_t) config = json_loads(nc_rows_text(r, 7), 0, &jerr);
            start = json_is_true(json_object_get(config, "start"));
            json_object_set_new(body, "start", json_boolean(start));
            static const char *const pass[] = { "ssh_keys", "user_data", "hostname" };
            for (size_t i = 0; i < G_N_ELEMENTS(pass); i++)
                if (json_object_get(config, pass[i]))
                    json_object_set(body, pass[i], json_object_get(config, pass[i]));
        }
        res = nc_client_call(cl, "POST", "/v1/vms", body, NULL, &err);
        if (!res && nc_error_code(err) == NC_ERR_CONFLICT) {
            /* made by an earlier attempt that did not live to record it */
            g_clear_error(&err);
            g_autofree char *path = g_strconcat("/v1/vms/", a->remote_name, NULL);
            g_autoptr(json_t) vm = nc_client_call(cl, "GET", path, NULL, NULL, &err);
            if (vm) {
                nc_alloc_set(m, a->id, nc_alloc_state_from_remote(nc_json_str(vm, "state")),
                             nc_json_str(vm, "id"), nc_json_str(vm, "state"), NULL, NULL, NULL,
                             true);
                nc_market_meter_start(m, a->contract, nc_now_ms() / 1000, NULL);
                nc_alloc_publish(m, a->id);
                return;
            }
        }
    }
    if (!res) {
        NcErrorCode code = nc_error_code(err);
        if (code == NC_ERR_UNAVAILABLE || code == NC_ERR_INTERNAL) {
            nc_alloc_set(m, a->id, NULL, NULL, NULL, NULL, NULL, err->message, false);
            return;   /* try again at the next tick */
        }
        g_autofree char *why = g_strdup_printf("the backend refused the allocation: %s",
                                               err->message);
        nc_alloc_set(m, a->id, "failed", NULL, NULL, NULL, NULL, why, false);
        nc_market_backend_record_interruption(m, a->backend, why);
        nc_alloc_publish(m, a->id);
        nc_alloc_end_contract(m, a->contract, why);
        return;
    }
    json_t *target = json_object_get(res, "target");
    const char *remote = target ? nc_json_str(target, "id") : nc_json_str(res, "id");
    nc_alloc_set(m, a->id, "building", remote, NULL, NULL, NULL, NULL, true);
    if (target && nc_json_str(res, "id"))
        nc_alloc_set_op(m, a->id, nc_json_str(res, "id"), start ? "create-start" : "create");
    nc_market_meter_start(m, a->contract, nc_now_ms() / 1000, NULL);
    nc_alloc_publish(m, a->id);
}

/* Follows the operation in flight; records launch times. */
static void
nc_alloc_follow_op(NcMarket *m, NcAlloc *a, NcClient *cl)
{
    g_autofree char *path = g_strconcat("/v1/operations/", a->op, NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "GET", path, NULL, NULL, &err);
    if (!op) {
        if (nc_error_code(err) == NC_ERR_NOT_FOUND)
            nc_alloc_set_op(m, a->id, NULL, NULL);
        return;
    }
    const char *status = nc_json_str(op, "status");
    if (g_strcmp0(status, "succeeded") != 0 && g_strcmp0(status, "failed") != 0)
        return;
    if (strcmp(status, "succeeded") == 0 &&
        (g_strcmp0(a->op_kind, "start") == 0 || g_strcmp0(a->op_kind, "create-start") == 0)) {
        int64_t t0 = 0, t1 = 0;
        if (nc_time_parse(nc_json_str(op, "created_at"), &t0, NULL) == 0 &&
            nc_time_parse(nc_json_str(op, "updated_at"), &t1, NULL) == 0 && t1 >= t0)
            nc_market_backend_record_launch(m, a->backend, t1 - t0);
    }
    if (strcmp(status, "failed") == 0) {
        json_t *e = json_object_get(op, "error");
        g_autofree char *msg = g_strdup_printf("%s failed on the backend: %s",
                                               a->op_kind ? a->op_kind : "operation",
                                               nc_json_str(e, "message") ? nc_json_str(e, "message")
                                                                         : "no reason given");
        nc_alloc_set(m, a->id, NULL, NULL, NULL, NULL, NULL, msg, false);
    } else {
        nc_alloc_set(m, a->id, NULL, NULL, NULL, NULL, NULL, NULL, true);
    }
    nc_alloc_set_op(m, a->id, NULL, NULL);
    g_free(a->op);
    a->op = NULL;
}

static void
nc_alloc_refresh(NcMarket *m, NcAlloc *a, NcClient *cl)
{
    bool storage = strcmp(a->kind, "storage") == 0;
    g_autofree char *path = g_strconcat(storage ? "/v1/volumes/" : "/v1/vms/", a->remote_id, NULL);
    g_autoptr(GError) err = NULL;
    if (a->op)
        nc_alloc_follow_op(m, a, cl);
    g_autoptr(json_t) obj = nc_client_call(cl, "GET", path, NULL, NULL, &err);
    if (!obj) {
        if (nc_error_code(err) == NC_ERR_NOT_FOUND) {
            const char *why = "the backend lost the allocation: it no longer exists there";
            nc_alloc_set(m, a->id, "lost", NULL, NULL, NULL, NULL, why, false);
            nc_market_backend_record_interruption(m, a->backend, why);
            nc_alloc_publish(m, a->id);
            nc_alloc_end_contract(m, a->contract, why);
        }
        return;
    }
    const char *rs = nc_json_str(obj, "state");
    const char *st = storage ? rs : nc_alloc_state_from_remote(rs);
    bool changed = g_strcmp0(rs, a->remote_state) != 0;
    if (changed && !a->op && g_strcmp0(a->remote_state, "running") == 0 &&
        (g_strcmp0(rs, "stopped") == 0 || g_strcmp0(rs, "error") == 0)) {
        g_autofree char *why = g_strdup_printf("the VM went from running to %s without the "
                                               "consumer asking", rs);
        nc_market_backend_record_interruption(m, a->backend, why);
    }
    nc_alloc_set(m, a->id, st, NULL, rs, nc_json_str(obj, "address"), NULL, NULL, false);
    if (changed)
        nc_alloc_publish(m, a->id);
}

static void
nc_alloc_remove(NcMarket *m, NcAlloc *a, NcClient *cl)
{
    bool storage = strcmp(a->kind, "storage") == 0;
    g_autoptr(GError) err = NULL;
    if (!a->remote_id) {
        /* a create may have reached the backend before a crash: look by name */
        g_autofree char *p = g_strconcat(storage ? "/v1/volumes/" : "/v1/vms/", a->remote_name,
                                         NULL);
        g_autoptr(json_t) obj = nc_client_call(cl, "GET", p, NULL, NULL, &err);
        if (!obj) {
            if (nc_error_code(err) == NC_ERR_NOT_FOUND) {
                nc_alloc_set(m, a->id, "deleted", NULL, NULL, NULL, NULL, NULL, true);
                nc_alloc_publish(m, a->id);
            }
            return;
        }
        a->remote_id = g_strdup(nc_json_str(obj, "id"));
        nc_alloc_set(m, a->id, NULL, a->remote_id, NULL, NULL, NULL, NULL, false);
    }
    g_autofree char *path = g_strconcat(storage ? "/v1/volumes/" : "/v1/vms/", a->remote_id, NULL);
    if (g_strcmp0(a->op_kind, "delete") != 0) {
        g_autoptr(json_t) op = nc_client_call(cl, "DELETE", path, NULL, NULL, &err);
        if (op) {
            nc_alloc_set_op(m, a->id, nc_json_str(op, "id"), "delete");
            nc_alloc_set(m, a->id, "deleting", NULL, NULL, NULL, NULL, NULL, true);
            nc_alloc_publish(m, a->id);
            return;
        }
        if (nc_error_code(err) != NC_ERR_NOT_FOUND)
            return;   /* try again at the next tick */
    } else {
        g_autoptr(json_t) obj = nc_client_call(cl, "GET", path, NULL, NULL, &err);
        if (obj || nc_error_code(err) != NC_ERR_NOT_FOUND)
            return;
    }
    nc_alloc_set(m, a->id, "deleted", NULL, NULL, NULL, NULL, NULL, true);
    nc_alloc_set_op(m, a->id, NULL, NULL);
    nc_alloc_publish(m, a->id);
}

void
nc_market_allocation_job(NcMarket *m, const char *id)
{
    g_autoptr(GError) err = NULL;
    g_auto(NcAlloc) a = { 0 };
    if (nc_alloc_load(m, id, &a, &err) < 0)
        return;
    if (strcmp(a.state, "deleted") == 0)
        return;
    g_autoptr(NcClient) cl = nc_market_backend_client(m, a.backend, &err);
    if (!cl)
        return;
    if (strcmp(a.desired, "absent") == 0) {
        nc_alloc_remove(m, &a, cl);
    } else if (!a.remote_id && strcmp(a.state, "creating") == 0) {
        nc_alloc_create(m, &a, cl);
    } else if (a.remote_id && strcmp(a.state, "failed") != 0 && strcmp(a.state, "lost") != 0) {
        nc_market_meter_start(m, a.contract, nc_now_ms() / 1000, NULL);
        nc_alloc_refresh(m, &a, cl);
    }
}

void
nc_market_allocations_tick(NcMarket *m, bool all)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                             "SELECT id FROM allocations WHERE (desired = 'absent'"
                                             " AND state <> 'deleted') OR (desired = 'present' AND"
                                             " (state IN ('creating', 'building') OR op IS NOT NULL"
                                             " OR ($1 = 1 AND state NOT IN ('failed', 'lost',"
                                             " 'unsupported'))))", NC_INT(all), NC_END);
        while (r && nc_rows_next(r, NULL))
            g_ptr_array_add(ids, nc_rows_dup(r, 0));
    }
    for (guint i = 0; i < ids->len; i++) {
        g_autofree char *key = g_strconcat("alloc:", (char *)g_ptr_array_index(ids, i), NULL);
        nc_market_job_submit(m, key, nc_market_allocation_job, g_ptr_array_index(ids, i));
    }
}

/* ---- the consumer's side ---- */

json_t *
nc_market_allocation_list(NcMarket *m, const NcMarketCaller *caller, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT " NC_ALLOC_COLS " FROM allocations a JOIN"
                                         " backends b ON b.id = a.backend WHERE a.consumer = $1"
                                         " ORDER BY a.created_at DESC LIMIT 1000",
                                         NC_TEXT(caller->user_id), NC_END);
    if (!r)
        return NULL;
    json_t *list = json_array();
    while (nc_rows_next(r, err))
        json_array_append_new(list, nc_alloc_row_json(r));
    if (*err) {
        json_decref(list);
        return NULL;
    }
    return json_pack("{s:o}", "allocations", list);
}

json_t *
nc_market_allocation_get(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT " NC_ALLOC_COLS " FROM allocations a JOIN"
                                         " backends b ON b.id = a.backend WHERE a.id = $1 AND"
                                         " a.consumer = $2", NC_TEXT(id), NC_TEXT(caller->user_id),
                                         NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_next(r, err)) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "you have no allocation %.40s", id);
        return NULL;
    }
    return nc_alloc_row_json(r);
}

/* Loads the caller's live compute allocation for a proxied call. */
static int
nc_alloc_for_proxy(NcMarket *m, const NcMarketCaller *caller, const char *id, NcAlloc *a,
                   GError **err)
{
    if (nc_alloc_load(m, id, a, err) < 0 || strcmp(a->consumer, caller->user_id) != 0) {
        g_clear_error(err);
        nc_error_set(err, NC_ERR_NOT_FOUND, "you have no allocation %.40s", id);
        return -1;
    }
    if (strcmp(a->desired, "present") != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "the allocation's contract has ended");
        return -1;
    }
    if (strcmp(a->kind, "compute") != 0) {
        nc_error_set(err, NC_ERR_UNSUPPORTED, "a storage allocation has no VM to control");
        return -1;
    }
    if (!a->remote_id) {
        nc_error_set(err, NC_ERR_CONFLICT, "the VM is still being created on the backend; "
                     "try again in a moment");
        return -1;
    }
    return 0;
}

/* Loads the caller's allocation for a proxied call, as nc_alloc_for_proxy(),
 * and makes the client of its backend.  A route that must refuse on its own
 * grounds first (the offer's ports, a rescale) calls the two itself, so that
 * its refusal is not hidden by a backend whose token does not unseal. */
static NcClient *
nc_alloc_proxy_client(NcMarket *m, const NcMarketCaller *caller, const char *id, NcAlloc *a,
                      GError **err)
{
    if (nc_alloc_for_proxy(m, caller, id, a, err) < 0)
        return NULL;
    return nc_market_backend_client(m, a->backend, err);
}

/* Passes a backend's refusal to the consumer, without letting the market's
 * own credentials problems look like the consumer's. */
static void
nc_alloc_backend_error(GError **err, GError *backend_err)
{
    NcErrorCode code = nc_error_code(backend_err);
    switch (code) {
    case NC_ERR_UNAUTHENTICATED:
    case NC_ERR_FORBIDDEN:
    case NC_ERR_INTERNAL:
    case NC_ERR_HYPERVISOR:
        code = NC_ERR_UNAVAILABLE;
        break;
    case NC_ERR_NOT_FOUND:
        code = NC_ERR_CONFLICT;
        break;
    case NC_ERR_INVALID_ARGUMENT:
    case NC_ERR_QUOTA_EXCEEDED:
    case NC_ERR_METHOD_NOT_ALLOWED:
    case NC_ERR_CONFLICT:
    case NC_ERR_TOO_LARGE:
    case NC_ERR_UNPROCESSABLE:
    case NC_ERR_NO_CAPACITY:
    case NC_ERR_RATE_LIMITED:
    case NC_ERR_UNAVAILABLE:
    case NC_ERR_UNSUPPORTED:
    case NC_ERR_MAX:
    default:
        break;
    }
    nc_error_set(err, code, "the backend says: %s", backend_err->message);
}

json_t *
nc_market_allocation_action(NcMarket *m, const NcMarketCaller *caller, const char *id,
                            json_t *body, GError **err)
{
    static const char *const keys[] = { "action", "timeout", NULL };
    static const char *const actions[] = { "start", "stop", "reboot", "force-stop" };
    g_auto(NcAlloc) a = { 0 };
    const char *action = NULL;
    int64_t timeout = -1;
    if (nc_json_check_keys(body, "an action", keys, err) < 0 ||
        nc_json_get_string(body, "action", true, 16, &action, err) < 0 ||
        nc_json_get_int(body, "timeout", false, 0, 600, &timeout, err) < 0)
        return NULL;
    bool known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(actions); i++)
        known = known || strcmp(action, actions[i]) == 0;
    if (!known) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "action must be start, stop, reboot or "
                     "force-stop");
        return NULL;
    }
    g_autoptr(NcClient) cl = nc_alloc_proxy_client(m, caller, id, &a, err);
    if (!cl)
        return NULL;
    g_autoptr(json_t) req = json_pack("{s:s}", "action", action);
    if (timeout >= 0)
        json_object_set_new(req, "timeout", json_integer(timeout));
    g_autofree char *path = g_strconcat("/v1/vms/", a.remote_id, "/actions", NULL);
    g_autoptr(GError) berr = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "POST", path, req, NULL, &berr);
    if (!op) {
        nc_alloc_backend_error(err, berr);
        return NULL;
    }
    nc_alloc_set_op(m, a.id, nc_json_str(op, "id"), action);
    g_autofree char *key = g_strconcat("alloc:", a.id, NULL);
    nc_market_job_submit(m, key, nc_market_allocation_job, a.id);
    json_t *alloc = nc_market_allocation_get(m, caller, id, err);
    if (!alloc)
        return NULL;
    return json_pack("{s:o, s:{s:O, s:s, s:O}}", "allocation", alloc, "operation",
                     "id", json_object_get(op, "id"), "kind", action,
                     "status", json_object_get(op, "status"));
}

json_t *
nc_market_allocation_update(NcMarket *m, const NcMarketCaller *caller, const char *id,
                            json_t *body, GError **err)
{
    static const char *const keys[] = { "units", "cpu_priority", NULL };
    g_auto(NcAlloc) a = { 0 };
    int64_t units = -1, prio = -1;
    if (nc_json_check_keys(body, "an allocation update", keys, err) < 0 ||
        nc_json_get_int(body, "units", false, 1, NC_MARKET_UNITS_MAX, &units, err) < 0 ||
        nc_json_get_int(body, "cpu_priority", false, 0, 10, &prio, err) < 0)
        return NULL;
    if (units < 0 && prio < 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "give units, cpu_priority or both");
        return NULL;
    }
    if (nc_alloc_for_proxy(m, caller, id, &a, err) < 0)
        return NULL;
    int64_t vcpus = 0, memory = 0, slots = 0, others = 0, cur_units = 0, price = 0;
    g_autofree char *state = NULL;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT o.vcpus, o.memory_mib, o.slots, c.state,"
                                             " c.units, COALESCE(c.price, 0), (SELECT COALESCE("
                                             "SUM(x.units), 0) FROM contracts x WHERE x.offer ="
                                             " o.id AND x.id <> c.id AND x.state IN ('active',"
                                             " 'notice')) FROM contracts c JOIN offers o ON"
                                             " o.id = c.offer WHERE c.id = $1",
                                             NC_TEXT(a.contract), NC_END);
        if (!r || !nc_rows_next(r, err))
            return NULL;
        vcpus = nc_rows_int(r, 0);
        memory = nc_rows_int(r, 1);
        slots = nc_rows_int(r, 2);
        state = nc_rows_dup(r, 3);
        cur_units = nc_rows_int(r, 4);
        price = nc_rows_int(r, 5);
        others = nc_rows_int(r, 6);
    }
    if (units >= 0 && units != cur_units) {
        if (strcmp(state, "active") != 0) {
            nc_error_set(err, NC_ERR_CONFLICT, "a contract under notice cannot be rescaled");
            return NULL;
        }
        if (units > MIN(slots, NC_MARKET_UNITS_MAX) || others + units > slots) {
            nc_error_set(err, NC_ERR_NO_CAPACITY, "the offer has %" G_GINT64_FORMAT " free "
                         "slots besides yours; you asked for %" G_GINT64_FORMAT " in all",
                         MAX(slots - others, 0), units);
            return NULL;
        }
    } else {
        units = -1;
    }
    g_autoptr(json_t) patch = json_object();
    if (units > 0) {
        json_object_set_new(patch, "vcpus", json_integer(vcpus * units));
        json_object_set_new(patch, "memory_mib", json_integer(memory * units));
    }
    if (prio >= 0)
        json_object_set_new(patch, "cpu_priority", json_integer(prio));
    g_autoptr(NcClient) cl = nc_market_backend_client(m, a.backend, err);
    if (!cl)
        return NULL;
    g_autofree char *path = g_strconcat("/v1/vms/", a.remote_id, NULL);
    g_autoptr(GError) berr = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "PATCH", path, patch, NULL, &berr);
    if (!op) {
        nc_alloc_backend_error(err, berr);
        return NULL;
    }
    if (units > 0) {
        int64_t now = nc_now_ms();
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0 ||
            nc_store_exec(m->store, err,
                          "UPDATE contracts SET units = $2, updated_at = $3 WHERE id = $1",
                          NC_TEXT(a.contract), NC_INT(units), NC_INT(now), NC_END) < 0 ||
            nc_store_exec(m->store, err,
                          "UPDATE allocations SET units = $2, vcpus = $3, memory_mib = $4,"
                          " updated_at = $5 WHERE id = $1",
                          NC_TEXT(a.id), NC_INT(units), NC_INT(vcpus * units),
                          NC_INT(memory * units), NC_INT(now), NC_END) < 0 ||
            nc_market_meter_reprice(m, a.contract, price, units, now / 1000, err) < 0 ||
            nc_store_exec(m->store, err,
                          "INSERT INTO contract_log (contract, time, from_state, to_state, reason)"
                          " VALUES ($1,$2,'active','active',$3)",
                          NC_TEXT(a.contract), NC_INT(now),
                          NC_TEXT(units > cur_units ? "rescaled up; metered at the new size"
                                                    : "rescaled down; metered at the new size"),
                          NC_END) < 0 ||
            nc_store_txn_commit(&txn, err) < 0)
            return NULL;
    }
    nc_alloc_set_op(m, a.id, nc_json_str(op, "id"), "resize");
    nc_alloc_publish(m, a.id);
    json_t *alloc = nc_market_allocation_get(m, caller, id, err);
    if (!alloc)
        return NULL;
    return json_pack("{s:o, s:{s:O, s:s, s:O}}", "allocation", alloc, "operation",
                     "id", json_object_get(op, "id"), "kind", "resize",
                     "status", json_object_get(op, "status"));
}

json_t *
nc_market_allocation_console(NcMarket *m, const NcMarketCaller *caller, const char *id,
                             GError **err)
{
    g_auto(NcAlloc) a = { 0 };
    g_autoptr(NcClient) cl = nc_alloc_proxy_client(m, caller, id, &a, err);
    if (!cl)
        return NULL;
    g_autofree char *path = g_strconcat("/v1/vms/", a.remote_id, "/console?tail=65536", NULL);
    g_autoptr(GError) berr = NULL;
    json_t *c = nc_client_call(cl, "GET", path, NULL, NULL, &berr);
    if (!c) {
        nc_alloc_backend_error(err, berr);
        return NULL;
    }
    json_object_del(c, "vm");
    json_object_set_new(c, "allocation", json_string(a.id));
    return c;
}

/* ---- port forwards: the backend's host port to the allocation's VM ---- */

/* Serialises count-then-add, so two requests cannot pass one limit together. */
static GMutex nc_alloc_ports_lock;

/* The number of forwards the allocation's offer allows, or -1. */
static int64_t
nc_alloc_ports_allowed(NcMarket *m, const char *contract, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT o.ports FROM contracts c JOIN offers o ON"
                                         " o.id = c.offer WHERE c.id = $1",
                                         NC_TEXT(contract), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_next(r, err)) {
        if (!*err)
            nc_error_set(err, NC_ERR_NOT_FOUND, "the allocation's offer is gone");
        return -1;
    }
    return nc_rows_int(r, 0);
}

/* The host of the backend's URL: where the market reaches it, and so where a
 * forwarded port of a first-level backend is open.  NULL when unknown. */
static char *
nc_alloc_backend_host(NcMarket *m, const char *backend)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                         "SELECT url FROM backends WHERE id = $1",
                                         NC_TEXT(backend), NC_END);
    if (!r || !nc_rows_next(r, NULL))
        return NULL;
    g_autoptr(GUri) uri = g_uri_parse(nc_rows_text(r, 0), G_URI_FLAGS_NONE, NULL);
    return uri && g_uri_get_host(uri) ? g_strdup(g_uri_get_host(uri)) : NULL;
}

/* A backend's forward as the consumer sees it: no ids of the backend's hosts. */
static json_t *
nc_alloc_port_json(json_t *p, const char *host)
{
    json_t *o = json_object();
    static const char *const keep[] = { "guest_port", "host_port", "public_port", "state",
                                        "error", "created_at" };
    for (size_t i = 0; i < G_N_ELEMENTS(keep); i++) {
        json_t *v = json_object_get(p, keep[i]);
        json_object_set(o, keep[i], v ? v : json_null());
    }
    json_object_set_new(o, "host", host ? json_string(host) : json_null());
    return o;
}

/* The backend's forwards of the allocation's VM, as a list the caller owns. */
static json_t *
nc_alloc_port_list_remote(NcClient *cl, const NcAlloc *a, GError **err)
{
    g_autofree char *path = g_strconcat("/v1/vms/", a->remote_id, "/ports", NULL);
    g_autoptr(GError) berr = NULL;
    g_autoptr(json_t) res = nc_client_call(cl, "GET", path, NULL, NULL, &berr);
    json_t *list = res ? json_object_get(res, "ports") : NULL;
    if (!res || !json_is_array(list)) {
        if (berr)
            nc_alloc_backend_error(err, berr);
        else
            nc_error_set(err, NC_ERR_UNAVAILABLE, "the backend answered no list of ports");
        return NULL;
    }
    return json_incref(list);
}

json_t *
nc_market_allocation_ports(NcMarket *m, const NcMarketCaller *caller, const char *id,
                           GError **err)
{
    g_auto(NcAlloc) a = { 0 };
    if (nc_alloc_for_proxy(m, caller, id, &a, err) < 0)
        return NULL;
    int64_t allowed = nc_alloc_ports_allowed(m, a.contract, err);
    if (allowed < 0)
        return NULL;
    g_autoptr(NcClient) cl = nc_market_backend_client(m, a.backend, err);
    if (!cl)
        return NULL;
    g_autoptr(json_t) remote = nc_alloc_port_list_remote(cl, &a, err);
    if (!remote)
        return NULL;
    g_autofree char *host = nc_alloc_backend_host(m, a.backend);
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(remote, i, p)
        json_array_append_new(out, nc_alloc_port_json(p, host));
    return json_pack("{s:s, s:I, s:o}", "allocation", a.id, "allowed", (json_int_t)allowed,
                     "ports", out);
}

json_t *
nc_market_allocation_port_add(NcMarket *m, const NcMarketCaller *caller, const char *id,
                              json_t *body, GError **err)
{
    static const char *const keys[] = { "guest_port", "host_port", NULL };
    g_auto(NcAlloc) a = { 0 };
    int64_t guest = 0, host_port = -1;
    if (nc_json_check_keys(body, "a port forward", keys, err) < 0 ||
        nc_json_get_int(body, "guest_port", true, 1, 65535, &guest, err) < 0 ||
        nc_json_get_int(body, "host_port", false, 1024, 65535, &host_port, err) < 0)
        return NULL;
    if (host_port < 0) {
        if (guest < 1024) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "give host_port (1024-65535) for a "
                         "guest port below 1024");
            return NULL;
        }
        host_port = guest;
    }
    if (nc_alloc_for_proxy(m, caller, id, &a, err) < 0)
        return NULL;
    int64_t allowed = nc_alloc_ports_allowed(m, a.contract, err);
    if (allowed < 0)
        return NULL;
    if (allowed == 0) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "the offer of this allocation allows no forwarded "
                     "ports");
        return NULL;
    }
    g_autoptr(NcClient) cl = nc_market_backend_client(m, a.backend, err);
    if (!cl)
        return NULL;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&nc_alloc_ports_lock);
    g_autoptr(json_t) remote = nc_alloc_port_list_remote(cl, &a, err);
    if (!remote)
        return NULL;
    if ((int64_t)json_array_size(remote) >= allowed) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the offer allows %" G_GINT64_FORMAT
                     " forwarded port%s per allocation, and this one has %zu", allowed,
                     allowed == 1 ? "" : "s", json_array_size(remote));
        return NULL;
    }
    g_autoptr(json_t) req = json_pack("{s:I, s:I}", "guest_port", (json_int_t)guest,
                                      "host_port", (json_int_t)host_port);
    g_autofree char *path = g_strconcat("/v1/vms/", a.remote_id, "/ports", NULL);
    g_autoptr(GError) berr = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "POST", path, req, NULL, &berr);
    if (!op) {
        nc_alloc_backend_error(err, berr);
        return NULL;
    }
    g_clear_pointer(&locker, g_mutex_locker_free);
    g_autofree char *host = nc_alloc_backend_host(m, a.backend);
    json_t *port = json_object_get(op, "port");
    return json_pack("{s:s, s:o, s:{s:O, s:s, s:O}}", "allocation", a.id,
                     "port", port ? nc_alloc_port_json(port, host) : json_null(),
                     "operation", "id", json_object_get(op, "id"), "kind", "port.add",
                     "status", json_object_get(op, "status"));
}

json_t *
nc_market_allocation_port_remove(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                 const char *port_text, GError **err)
{
    g_auto(NcAlloc) a = { 0 };
    guint64 port = 0;
    if (!g_ascii_string_to_unsigned(port_text, 10, 1024, 65535, &port, NULL)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "a forwarded port is a host port number "
                     "from 1024 to 65535");
        return NULL;
    }
    g_autoptr(NcClient) cl = nc_alloc_proxy_client(m, caller, id, &a, err);
    if (!cl)
        return NULL;
    g_autofree char *path = g_strdup_printf("/v1/vms/%s/ports/%" G_GUINT64_FORMAT, a.remote_id,
                                            port);
    g_autoptr(GError) berr = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "DELETE", path, NULL, NULL, &berr);
    if (!op) {
        if (nc_error_code(berr) == NC_ERR_NOT_FOUND)
            nc_error_set(err, NC_ERR_NOT_FOUND, "the allocation has no forwarded port %"
                         G_GUINT64_FORMAT, port);
        else
            nc_alloc_backend_error(err, berr);
        return NULL;
    }
    return json_pack("{s:s, s:I, s:{s:O, s:s, s:O}}", "allocation", a.id,
                     "host_port", (json_int_t)port,
                     "operation", "id", json_object_get(op, "id"), "kind", "port.remove",
                     "status", json_object_get(op, "status"));
}
