/* host_service.h: hosts as the API offers them, and their heartbeats. */
#pragma once

#include "central.h"

json_t *nc_host_service_list(NcCentral *c, const NcCaller *caller, GError **err);
json_t *nc_host_service_get(NcCentral *c, const NcCaller *caller, const char *key,
                            GError **err);
/* PATCH /v1/hosts/{id} (admin): {"cpu_ratio", "ram_ratio", "disk_ratio",
 * "reserved_memory_mib", "enabled", "disabled_reason"}, ratios as decimals. */
json_t *nc_host_service_update(NcCentral *c, const NcCaller *caller, const char *key,
                               json_t *req, GError **err);
/* DELETE /v1/hosts/{id} (admin): forgets a host that is down and holds no
 * VM, no scheduled or active reservation and no operation in flight
 * (NC_ERR_CONFLICT otherwise).  With @force, a host that is down and gone
 * for good: what it holds is settled first (its VMs are lost). */
json_t *nc_host_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                               bool force, GError **err);
