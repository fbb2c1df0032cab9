/* volume_store.h: volumes and snapshots in the store. */
#pragma once

#include "store.h"
#include "conf/volume_conf.h"

/* NC_ERR_CONFLICT when the project already has the name. */
int nc_store_volume_insert(NcStore *st, const NcVolume *v, GError **err);
/* By id or name within @project (NULL: any).  NC_ERR_NOT_FOUND when absent. */
NcVolume *nc_store_volume_get(NcStore *st, const char *project, const char *key, GError **err);
/* (element-type NcVolume): of @project (NULL: all) attached to @vm (NULL: any). */
GPtrArray *nc_store_volume_list(NcStore *st, const char *project, const char *vm, GError **err);
/* Writes size, state, vm, device, host, op and error. */
int nc_store_volume_update(NcStore *st, NcVolume *v, GError **err);
int nc_store_volume_delete(NcStore *st, const char *id, GError **err);
/* How many volumes and GiB @project has. */
int nc_store_volume_usage(NcStore *st, const char *project, int64_t *ret_count,
                          int64_t *ret_gib, GError **err);

int nc_store_snapshot_insert(NcStore *st, const NcSnapshot *s, GError **err);
NcSnapshot *nc_store_snapshot_get(NcStore *st, const char *project, const char *key,
                                  GError **err);
/* (element-type NcSnapshot): of @project (NULL: all) taken from @vm (NULL: any). */
GPtrArray *nc_store_snapshot_list(NcStore *st, const char *project, const char *vm,
                                  GError **err);
int nc_store_snapshot_update(NcStore *st, NcSnapshot *s, GError **err);
int nc_store_snapshot_delete(NcStore *st, const char *id, GError **err);

/* A project's volume quota: its own values, or the defaults when unset. */
int nc_store_project_quota_get(NcStore *st, const char *project, int64_t *ret_volumes,
                               int64_t *ret_gib, GError **err);
/* Sets them; -1 leaves a value alone. */
int nc_store_project_quota_set(NcStore *st, const char *project, int64_t volumes, int64_t gib,
                               GError **err);
