/* op_store.c: operations in the store. */
#include "op_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#define NC_OP_COLUMNS \
    "id, project, kind, status, target_kind, target_id, target_name, host, request," \
    " error_code, error, created_at, updated_at"

static NcOperation *
nc_op_from_row(NcRows *r)
{
    NcOperation *op = nc_op_new();
    json_error_t jerr;

    op->id = nc_rows_dup(r, 0);
    op->project = nc_rows_dup(r, 1);
    op->kind = nc_rows_dup(r, 2);
    op->status = nc_op_status_from_name(nc_rows_text(r, 3));
    if (op->status == NC_OP_STATUS_MAX)
        op->status = NC_OP_FAILED;
    op->target_kind = nc_rows_dup(r, 4);
    op->target_id = nc_rows_dup(r, 5);
    op->target_name = nc_rows_dup(r, 6);
    op->host = nc_rows_dup(r, 7);
    json_t *req = json_loads(nc_rows_text(r, 8), 0, &jerr);
    if (req) {
        json_decref(op->request);
        op->request = req;
    }
    op->error_code = nc_rows_dup(r, 9);
    op->error = nc_rows_dup(r, 10);
    op->created_at = nc_rows_int(r, 11);
    op->updated_at = nc_rows_int(r, 12);
    return op;
}

int
nc_store_op_insert(NcStore *st, const NcOperation *op, GError **err)
{
    g_autofree char *req = nc_json_dumps(op->request);
    return nc_store_exec(st, err,
                         "INSERT INTO operations (" NC_OP_COLUMNS ")"
                         " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                         NC_TEXT(op->id), NC_TEXT(op->project), NC_TEXT(op->kind),
                         NC_TEXT(nc_op_status_name(op->status)), NC_TEXT(op->target_kind),
                         NC_TEXT(op->target_id), NC_TEXT(op->target_name), NC_TEXT(op->host),
                         NC_TEXT(req), NC_TEXT(op->error_code), NC_TEXT(op->error),
                         NC_INT(op->created_at), NC_INT(op->updated_at), NC_END) < 0 ? -1 : 0;
}

static GPtrArray *
nc_op_collect(NcRows *r, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_op_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        g_ptr_array_add(out, nc_op_from_row(r));
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

NcOperation *
nc_store_op_get(NcStore *st, const char *project, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_OP_COLUMNS " FROM operations"
                                         " WHERE id = $1"
                                         " AND (CAST($2 AS TEXT) IS NULL OR project = $2)",
                                         NC_TEXT(id), NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) found = nc_op_collect(r, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no operation '%.64s'", id);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_op_list(NcStore *st, const char *project, const char *target_id, int limit,
                 GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_OP_COLUMNS " FROM operations"
                                         " WHERE (CAST($1 AS TEXT) IS NULL OR project = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR target_id = $2)"
                                         " ORDER BY created_at DESC, id LIMIT CAST($3 AS BIGINT)",
                                         NC_TEXT(project), NC_TEXT(target_id),
                                         NC_INT(limit), NC_END);
    if (!r)
        return NULL;
    return nc_op_collect(r, err);
}

int
nc_store_op_set_status(NcStore *st, const char *id, NcOpStatus status,
                       const char *error_code, const char *error, GError **err)
{
    int64_t n = nc_store_exec(st, err,
                              "UPDATE operations SET status = $2, error_code = $3, error = $4,"
                              " updated_at = $5"
                              " WHERE id = $1 AND status IN ('pending', 'running')",
                              NC_TEXT(id), NC_TEXT(nc_op_status_name(status)),
                              NC_TEXT(error_code), NC_TEXT(error), NC_INT(nc_now_ms()),
                              NC_END);
    if (n < 0)
        return -1;
    return n > 0 ? 1 : 0;
}

GPtrArray *
nc_store_op_list_open(NcStore *st, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_OP_COLUMNS " FROM operations"
                                         " WHERE status IN ('pending', 'running')"
                                         " ORDER BY created_at",
                                         NC_END);
    if (!r)
        return NULL;
    return nc_op_collect(r, err);
}

int64_t
nc_store_op_prune(NcStore *st, int64_t before_ms, GError **err)
{
    return nc_store_exec(st, err,
                         "DELETE FROM operations WHERE updated_at < $1"
                         " AND status IN ('succeeded', 'failed')",
                         NC_INT(before_ms), NC_END);
}
