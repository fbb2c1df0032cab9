/* central_priv.h: what the services share inside the central node. */
#pragma once

#include "central.h"
#include "conf/image_conf.h"
#include "conf/operation.h"
#include "conf/vm_conf.h"
#include "sched/sched_index.h"

/* The image files a host reported seeing, and when. */
typedef struct {
    GHashTable *files;
    int64_t at;                /* heartbeat time, ms */
} NcHostImages;

void nc__host_images_free(NcHostImages *hi);

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

    /* the scheduler's in-memory view of host capacity: a fast first guess,
     * corrected from the store (the authority) after every change */
    GMutex sched_lock;
    NcSchedIndex *index;
    GHashTable *dirty_hosts;   /* host ids changed since the last sync */
    GHashTable *host_images;   /* host id -> NcHostImages */

    NcNestedConf *nested;      /* never NULL: depth 0 when not nested */
    const NcUplink *uplink;    /* NULL: no parent to ask */
    void *uplink_opaque;

    gint stopping;
    GThread *engine;
    /* on a broker's bus, the outbox goes out from a thread of its own: the
     * broker's confirms take milliseconds, and the engine applies reports
     * meanwhile */
    GThread *relayer;
    GMutex relay_lock;
    GCond relay_cond;
    bool relay_due;            /* kicked since the relayer last looked */
    int64_t started_at;
};

/* Wakes event streams: call after committing events. */
void nc__central_notify(NcCentral *c);

/* Wakes what sends the outbox's commands: call after committing some. */
void nc__central_kick(NcCentral *c);

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
/* nc__op_submit() with the command as JSON text, made before the
 * transaction (or NULL).  @ret_json: NULL, or where the operation's API
 * JSON goes (the one its event carries; NULL on failure). */
int nc__op_submit_text(NcCentral *c, NcOperation *op, const char *host, const char *command,
                       json_t **ret_json, GError **err);

/* Builds a VM command body. */
json_t *nc__vm_command(const char *kind, const char *op_id, const NcVmSpec *spec,
                       const NcImage *image, json_t *args);

/* The text nc_json_dumps() writes for nc__vm_command(), put together from
 * the texts of its parts (@spec_text: the VM's spec; @image_text: the
 * image part; @args_text: the arguments), so that the VMs of one request
 * write their image once.  Returns: (transfer full): the text, or NULL. */
char *nc__vm_command_text(const char *kind, const char *op_id, const char *spec_text,
                          const char *image_text, const char *args_text);

/* The image JSON a command carries. */
json_t *nc__image_command_json(const NcImage *img);

/* Engine handlers (vm_service.c, host_service.c); each runs inside the
 * engine's transaction. */
int nc__vm_apply_started(NcCentral *c, json_t *msg, GError **err);
int nc__vm_apply_result(NcCentral *c, json_t *msg, GError **err);
/* Forgets a VM whose host is gone for good, as a delete that succeeded
 * does: its volumes are free, its port forwards and its row go. */
int nc__vm_forget(NcCentral *c, const char *vm_id, GError **err);
/* Makes @vm, whose host @from is down for good, again on another host from
 * its image (what its disk held is lost with @from): placed as a new VM,
 * never on @from, with the claim on @from given back, its port forwards
 * gone, and the operation "vm.evacuate" sending the new host a vm.create.
 * Returns: 1 with *ret_op (the operation's API JSON); 0 with *ret_why when
 * it cannot move (nothing changed); -1 on failure (roll back). */
int nc__vm_evacuate(NcCentral *c, NcVm *vm, const NcHost *from, json_t **ret_op,
                    char **ret_why, GError **err);
int nc__vm_apply_state(NcCentral *c, json_t *msg, GError **err);
int nc__host_apply_heartbeat(NcCentral *c, json_t *msg, GError **err);

/* An admin's choice of host in a request: takes "host" out of @req.
 * Returns: (transfer full): the host's name or id as given; NULL when
 * there is none (no error), or with NC_ERR_FORBIDDEN for a tenant or
 * NC_ERR_INVALID_ARGUMENT for a value that is no name or id. */
char *nc__host_key_from_request(const NcCaller *caller, json_t *req, GError **err);
/* The host @key names; NC_ERR_UNPROCESSABLE when there is none (a fault
 * of the request that named it). */
NcHost *nc__host_named(NcCentral *c, const char *key, GError **err);

/* Notes that a host row changed in the current transaction. */
void nc__central_touch_host(NcCentral *c, const char *host_id);

/* Re-reads the touched hosts from the store into the scheduler's index;
 * call after a commit or a rollback. */
void nc__central_sync_hosts(NcCentral *c);

/* Puts @h, just read in the current transaction, into the scheduler's
 * index (instead of touching it, which reads it again at the next sync);
 * a rollback must still touch it. */
void nc__central_index_host(NcCentral *c, const NcHost *h);

/* VMs (vm_service.c): the image of a spec in reach of @project, with the
 * disk size filled in; and a create inside the caller's transaction, on
 * @forced_host when a reservation held the room there.  Steals @spec. */
NcImage *nc__vm_resolve_image(NcCentral *c, const char *project, NcVmSpec *spec, GError **err);
json_t *nc__vm_create(NcCentral *c, NcVmSpec *spec, bool start, const char *forced_host,
                      GError **err);

/* Reservations (reservation_service.c): whether @spec, already claimed on
 * @host_id now, also fits there for its whole life given the reservations
 * ahead.  False with *err unset when it does not fit. */
bool nc__vm_fits_ahead(NcCentral *c, const char *host_id, const NcVmSpec *spec, GError **err);

/* Storage (volume_service.c): a finished operation on a volume or a
 * snapshot, inside the engine's transaction. */
int nc__volume_apply_result(NcCentral *c, const NcOperation *op, bool ok, const char *emsg,
                            GError **err);
int nc__snapshot_apply_result(NcCentral *c, const NcOperation *op, json_t *msg, bool ok,
                              const char *emsg, GError **err);

/* Ports (port_service.c): a finished port operation, and the forwards a
 * host reported (a worker that restarted lost its listeners: ask again);
 * both inside the engine's transaction. */
int nc__port_apply_result(NcCentral *c, const NcOperation *op, bool ok, const char *emsg,
                          GError **err);
int nc__port_apply_heartbeat(NcCentral *c, const char *host_id, json_t *ports, GError **err);
/* Asks the parent to drop the forwards of VM @vm_id (before it is deleted). */
void nc__port_release_vm(NcCentral *c, const char *vm_id);

/* Starts and ends the reservations and expiring VMs whose time came. */
int nc__reservation_tick(NcCentral *c, GError **err);
/* Fails the scheduled and active reservations on @host_id (a host given
 * up), saying @why. */
/* For an evacuation of @from: its scheduled reservations go to other hosts
 * that hold their windows ({"id", "name", "host"} appended to @moved), or
 * stay, with the reason ({"id", "name", "reason"} to @left); an active
 * one follows its VM, if the VM moved.  Returns: 0 or -1. */
int nc__reservation_move_off_host(NcCentral *c, const NcHost *from, json_t *moved, json_t *left,
                                  GError **err);
int nc__reservation_fail_on_host(NcCentral *c, const char *host_id, const char *why,
                                 GError **err);

/* Registers the build's test image as public image "test" when missing. */
int nc__image_register_test(NcCentral *c, GError **err);
