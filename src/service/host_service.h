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

/* POST /v1/hosts/{id}/evacuate (admin): makes the VMs of a host that is
 * down again on other hosts, from their images (their disks stay with the
 * host).  Its operations in flight are settled first, and it is disabled
 * ("evacuated") unless it was already.  A VM that cannot move (a volume
 * attached, launched from a snapshot, its image gone, no room) stays, and
 * the answer says why: {"id", "name", "operations": [...], "left": [{"id",
 * "name", "reason"}]}.  NC_ERR_CONFLICT while the host is up. */
json_t *nc_host_service_evacuate(NcCentral *c, const NcCaller *caller, const char *key,
                                 GError **err);
