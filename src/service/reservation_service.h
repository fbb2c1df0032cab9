/* reservation_service.h: allocations scheduled for later (the paper's
 * "allocation of resources scheduled at a future time").
 *
 * Creating a reservation finds a host whose capacity, seen as a timeline
 * (timeline.h), holds the VM for the whole window, and records it there;
 * overlapping windows that do not fit are refused then and there.  The
 * engine starts due reservations (the VM is created on the reserved host)
 * and ends them (the VM is deleted, or stopped when kept).  Everything is
 * in the store, so a restart in between changes nothing.
 */
#pragma once

#include "central.h"

json_t *nc_reservation_service_create(NcCentral *c, const NcCaller *caller, json_t *req,
                                      GError **err);
json_t *nc_reservation_service_list(NcCentral *c, const NcCaller *caller, GError **err);
json_t *nc_reservation_service_get(NcCentral *c, const NcCaller *caller, const char *key,
                                   GError **err);
/* Cancels a scheduled reservation, or ends an active one now. */
json_t *nc_reservation_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                                      GError **err);
