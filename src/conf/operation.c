/* operation.c: operation records. */
#include "operation.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#include <string.h>

static const char *const nc_op_status_names[NC_OP_STATUS_MAX] = {
    [NC_OP_PENDING] = "pending",
    [NC_OP_RUNNING] = "running",
    [NC_OP_SUCCEEDED] = "succeeded",
    [NC_OP_FAILED] = "failed",
};

const char *
nc_op_status_name(NcOpStatus s)
{
    g_assert((unsigned)s < NC_OP_STATUS_MAX);
    return nc_op_status_names[s];
}

NcOpStatus
nc_op_status_from_name(const char *name)
{
    for (int i = 0; name && i < NC_OP_STATUS_MAX; i++) {
        if (strcmp(name, nc_op_status_names[i]) == 0)
            return (NcOpStatus)i;
    }
    return NC_OP_STATUS_MAX;
}

bool
nc_op_status_is_final(NcOpStatus s)
{
    return s == NC_OP_SUCCEEDED || s == NC_OP_FAILED;
}

NcOperation *
nc_op_new(void)
{
    NcOperation *op = g_new0(NcOperation, 1);
    op->request = json_object();
    return op;
}

void
nc_op_free(NcOperation *op)
{
    if (!op)
        return;
    g_free(op->id);
    g_free(op->project);
    g_free(op->kind);
    g_free(op->target_kind);
    g_free(op->target_id);
    g_free(op->target_name);
    g_free(op->host);
    json_decref(op->request);
    g_free(op->error_code);
    g_free(op->error);
    g_free(op);
}

json_t *
nc_op_to_api_json(const NcOperation *op)
{
    g_autofree char *created = nc_time_format(op->created_at);
    g_autofree char *updated = nc_time_format(op->updated_at);
    json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:o}, s:o, s:s, s:s}",
                          "id", op->id, "kind", op->kind,
                          "status", nc_op_status_name(op->status),
                          "target", "kind", op->target_kind, "id", op->target_id,
                          "name", nc_json_string_or_null(op->target_name),
                          "host", nc_json_string_or_null(op->host),
                          "created_at", created, "updated_at", updated);
    if (op->status == NC_OP_FAILED)
        json_object_set_new(o, "error", json_pack("{s:s, s:s}",
                                                  "code", op->error_code ? op->error_code : "internal",
                                                  "message", op->error ? op->error : "failed"));
    return o;
}
