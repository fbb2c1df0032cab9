/* op_store.h: operations in the store. */
#pragma once

#include "store.h"
#include "conf/operation.h"

int nc_store_op_insert(NcStore *st, const NcOperation *op, GError **err);

/* @project NULL = any.  NC_ERR_NOT_FOUND when absent. */
NcOperation *nc_store_op_get(NcStore *st, const char *project, const char *id,
                             GError **err);

/* Newest first, at most @limit; @target_id NULL = any. */
GPtrArray *nc_store_op_list(NcStore *st, const char *project, const char *target_id,
                            int limit, GError **err);

/**
 * nc_store_op_finish:
 * @status: the new status
 * @error_code, @error: the failure, for NC_OP_FAILED
 *
 * Moves a non-final operation to @status.  A final operation is left alone.
 *
 * Returns: 1 when the operation changed, 0 when it was already final or
 * absent, -1 on failure.
 */
int nc_store_op_set_status(NcStore *st, const char *id, NcOpStatus status,
                           const char *error_code, const char *error, GError **err);

/* Returns: (element-type NcOperation): every operation not yet final. */
GPtrArray *nc_store_op_list_open(NcStore *st, GError **err);

/* Deletes final operations older than @before_ms; returns how many or -1. */
int64_t nc_store_op_prune(NcStore *st, int64_t before_ms, GError **err);
