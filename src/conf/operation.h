/* operation.h: slow work, tracked.
 *
 * Every call that cannot finish within the request answers 202 with an
 * operation.  Operation states:
 *
 *   pending --(worker started it; nc_op_service_apply)--> running
 *   pending|running --(worker reported success)--> succeeded
 *   pending|running --(worker or central reported failure)--> failed
 *
 * succeeded and failed are final; a second report for a final operation is
 * ignored (commands may be delivered twice).
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    NC_OP_PENDING = 0,
    NC_OP_RUNNING,
    NC_OP_SUCCEEDED,
    NC_OP_FAILED,
    NC_OP_STATUS_MAX
} NcOpStatus;

const char *nc_op_status_name(NcOpStatus s);
NcOpStatus nc_op_status_from_name(const char *name);
bool nc_op_status_is_final(NcOpStatus s);

typedef struct {
    char *id;
    char *project;
    char *kind;          /* "vm.create", "vm.stop", ... */
    NcOpStatus status;
    char *target_kind;   /* "vm", "volume", ... */
    char *target_id;
    char *target_name;
    char *host;
    json_t *request;
    char *error_code;
    char *error;
    int64_t created_at;
    int64_t updated_at;
} NcOperation;

NcOperation *nc_op_new(void);
void nc_op_free(NcOperation *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcOperation, nc_op_free)

json_t *nc_op_to_api_json(const NcOperation *op);
