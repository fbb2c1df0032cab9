/* reservation_store.h: reservations in the store. */
#pragma once

#include "store.h"
#include "conf/reservation_conf.h"

/* NC_ERR_CONFLICT when the project already has the name. */
int nc_store_reservation_insert(NcStore *st, const NcReservation *r, GError **err);

/* By id or name within @project (NULL: any).  NC_ERR_NOT_FOUND when absent. */
NcReservation *nc_store_reservation_get(NcStore *st, const char *project, const char *key,
                                        GError **err);

/* (element-type NcReservation): of @project (NULL: all), by start. */
GPtrArray *nc_store_reservation_list(NcStore *st, const char *project, GError **err);

/* (element-type NcReservation): not yet started, on @host (NULL: any). */
GPtrArray *nc_store_reservation_scheduled(NcStore *st, const char *host, GError **err);

/* (element-type NcReservation): scheduled ones whose start came, and
 * active ones whose end came, by @now_ms. */
GPtrArray *nc_store_reservation_due(NcStore *st, int64_t now_ms, GError **err);

/* Writes state, host, vm and error, and bumps updated_at. */
int nc_store_reservation_update(NcStore *st, NcReservation *r, GError **err);
