/* central_priv.h: what the services share inside the central node. */
#pragma once

#include "central.h"
#include "conf/image_conf.h"
#include "conf/operation.h"
#include "conf/vm_conf.h"

struct NcCentral {
    NcCentralConfig cfg;       /* strings owned */
    NcStore *store;
    NcBus *bus;
    char *cloud_id;
    char *new_admin_token;

    GMutex auth_lock;
    GHashTable *auth_cache;    /* token hash -> NcCaller */

    GMutex ev_lock;
    GCond ev_cond;
    uint64_t ev_gen;

    gint stopping;
    GThread *engine;
    int64_t started_at;
};

/* Wakes event streams: call after committing events. */
void nc__central_notify(NcCentral *c);

/* Appends an event in the current transaction; steals @data. */
int nc__central_event(NcCentral *c, const char *project, const char *type,
                      const char *object_kind, const char *object_id, json_t *data,
                      GError **err);

/* A new operation record (caller frees), not yet stored. */
NcOperation *nc__op_new(const char *project, const char *kind, const char *target_kind,
                        const char *target_id, const char *target_name, const char *host);

/* Stores @op, its event, and (when @command is set) the command for
 * @host in the outbox.  Inside the caller's transaction. */
int nc__op_submit(NcCentral *c, NcOperation *op, const char *host, json_t *command,
                  GError **err);

/* Builds a VM command body. */
json_t *nc__vm_command(const char *kind, const char *op_id, const NcVmSpec *spec,
                       const NcImage *image, json_t *args);

/* The image JSON a command carries. */
json_t *nc__image_command_json(const NcImage *img);

/* Engine handlers (vm_service.c, host_service.c); each runs inside the
 * engine's transaction. */
int nc__vm_apply_started(NcCentral *c, json_t *msg, GError **err);
int nc__vm_apply_result(NcCentral *c, json_t *msg, GError **err);
int nc__vm_apply_state(NcCentral *c, json_t *msg, GError **err);
int nc__host_apply_heartbeat(NcCentral *c, json_t *msg, GError **err);

/* Registers the build's test image as public image "test" when missing. */
int nc__image_register_test(NcCentral *c, GError **err);
