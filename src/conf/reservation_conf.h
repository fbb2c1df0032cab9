/* reservation_conf.h: an allocation scheduled for later.
 *
 * A reservation is a VM spec with a window [start_at, end_at).  Its
 * capacity is held on one host from the moment it is accepted; at start_at
 * the VM is created there, at end_at it is deleted, or with keep only
 * stopped (a kept VM keeps its capacity after end_at).
 *
 *   scheduled --start_at (nc_reservation_tick)--> active --end_at--> ended
 *   scheduled --DELETE--> cancelled          active --DELETE--> ended
 *   scheduled --the VM cannot be made--> failed
 */
#pragma once

#include "vm_conf.h"

typedef struct {
    char *id;
    char *project;
    char *name;
    char *state;        /* scheduled, active, ended, cancelled, failed */
    char *host;         /* host id holding the capacity */
    char *host_name;
    NcVmSpec *spec;     /* the VM to make; its name is the reservation's */
    int64_t start_at;   /* ms since the epoch */
    int64_t end_at;
    bool keep;
    char *vm;           /* the VM once made */
    char *error;
    int64_t created_at;
    int64_t updated_at;
} NcReservation;

NcReservation *nc_reservation_new(void);
void nc_reservation_free(NcReservation *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcReservation, nc_reservation_free)

/**
 * nc_reservation_from_request:
 * @req: POST /v1/reservations: the VM fields, "start_at", "end_at", "keep"
 * @now_ms: the present
 * @ret: (transfer full): the reservation (id, project, host unset)
 * @err: NC_ERR_INVALID_ARGUMENT
 *
 * start_at must not lie in the past (a minute of slack), end_at must follow
 * it, and the window may not exceed a year.
 *
 * Returns: 0 or -1.
 */
int nc_reservation_from_request(json_t *req, int64_t now_ms, NcReservation **ret, GError **err);

/* Capacity end of a reservation: end_at, or for ever when kept. */
int64_t nc_reservation_capacity_end(const NcReservation *r);

json_t *nc_reservation_to_api_json(const NcReservation *r);
