/* central.h: the central node: services over the store, the scheduler and
 * the bus, and the engine that applies what workers report.
 *
 * The HTTP API calls the services (vm_service.h, image_service.h, ...),
 * each of which validates a request completely, then makes its decision in
 * one store transaction that also writes the operation, the event and the
 * command (outbox).  The engine thread consumes the central topic and
 * applies results and heartbeats, and every few seconds reconciles desired
 * and observed state.
 */
#pragma once

#include "conf/nested_conf.h"

#include "bus/bus.h"
#include "sched/sched.h"
#include "store/store.h"

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct NcCentral NcCentral;

typedef struct {
    const char *state_dir;        /* admin.token, cloud id */
    const char *image_dir;        /* the image pool */
    const char *instances_dir;    /* VM files of hosts sharing this machine */
    const char *test_image_dir;   /* the build's test image, or NULL */
    NcSchedPolicy policy;
    int host_timeout_ms;          /* silent longer than this: host down */
    int reconcile_ms;             /* reconciler period */
    int64_t cpu_ratio;            /* defaults for new hosts, thousandths */
    int64_t ram_ratio;
    int64_t disk_ratio;
    int64_t reserved_memory_mib;
    int64_t max_vms_per_project;  /* 0: NC_LIMIT_VMS_PER_PROJECT */
} NcCentralConfig;

/* Who is calling: resolved from the bearer token. */
typedef struct {
    char *project;      /* project id */
    char *project_name;
    char *token_id;
    bool admin;         /* sees and touches every project */
} NcCaller;

void nc_caller_free(NcCaller *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcCaller, nc_caller_free)

/* The project a caller acts in for lookups: NULL (everything) for admins. */
#define NC_SCOPE(caller) ((caller)->admin ? NULL : (caller)->project)

/**
 * nc_central_open:
 * @cfg: configuration (copied)
 * @store: the store (not owned)
 * @bus: the bus (not owned)
 * @err: set on failure
 *
 * Prepares the central node: cloud id, admin project and token (created on
 * first start and written to STATE_DIR/admin.token), the test image.
 *
 * Returns: (transfer full): the central node, or NULL.
 */
NcCentral *nc_central_open(const NcCentralConfig *cfg, NcStore *store, NcBus *bus,
                           GError **err);

/* Starts the engine thread. */
int nc_central_start(NcCentral *c, GError **err);

/* Stops the engine and frees. */
void nc_central_free(NcCentral *c);

NcStore *nc_central_store(NcCentral *c);
NcBus *nc_central_bus(NcCentral *c);
const char *nc_central_cloud_id(NcCentral *c);
const NcCentralConfig *nc_central_config(NcCentral *c);

/* Returns: the admin token when this start created it (to print once),
 * else NULL. */
const char *nc_central_new_admin_token(NcCentral *c);

/**
 * nc_central_authenticate:
 * @token: the bearer token
 * @err: NC_ERR_UNAUTHENTICATED when it is not valid
 *
 * Returns: (transfer full): the caller, or NULL.
 */
NcCaller *nc_central_authenticate(NcCentral *c, const char *token, GError **err);

/* Status for GET /v1/status. */
json_t *nc_central_status(NcCentral *c, GError **err);

/* Prometheus text for GET /metrics (caller frees). */
char *nc_central_metrics(NcCentral *c, GError **err);

/**
 * nc_central_wait_event:
 * @seen: the event generation the caller has seen
 * @timeout_ms: how long to wait
 *
 * Returns: the current event generation; it differs from @seen when new
 * events were committed.
 */
uint64_t nc_central_wait_event(NcCentral *c, uint64_t seen, int timeout_ms);

/* Returns: the current event generation. */
uint64_t nc_central_event_generation(NcCentral *c);

/* Events for GET /v1/events: JSON objects after @after_seq visible to the
 * caller, at most @limit. */
json_t *nc_central_events(NcCentral *c, const NcCaller *caller, int64_t after_seq,
                          int limit, GError **err);

/* Projects and their tokens (admin only). */
json_t *nc_central_project_create(NcCentral *c, const NcCaller *caller, json_t *req,
                                  GError **err);
json_t *nc_central_project_list(NcCentral *c, const NcCaller *caller, GError **err);

/* The way up to the cloud this one runs in (a Nested Cloud VM's parent):
 * port forwards asked of this cloud are asked of the parent too, for the
 * VM this cloud runs in.  Filled by the daemon (over HTTP); every slot may
 * be called from API threads. */
typedef struct {
    /* Forwards @public_port of the parent's host to @guest_port of this
     * cloud's VM there; waits until the parent's forward is settled.
     * Returns: (transfer full): the parent's port JSON, or NULL. */
    json_t *(*expose)(void *opaque, int guest_port, int public_port, GError **err);
    /* Removes it; a forward already gone is no error. */
    int (*unexpose)(void *opaque, int public_port, GError **err);
} NcUplink;

/**
 * nc_central_set_nesting:
 * @nested: (transfer full) (nullable): where this cloud sits (depth, parent)
 * @uplink: (nullable): how to reach the parent; static, not copied
 * @opaque: passed to @uplink's slots; must outlive @c
 *
 * Call before nc_central_start().
 */
void nc_central_set_nesting(NcCentral *c, NcNestedConf *nested, const NcUplink *uplink,
                            void *opaque);

/* Runs one reconciler pass now (tests, and the engine's timer). */
int nc_central_reconcile(NcCentral *c, GError **err);
