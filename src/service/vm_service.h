/* vm_service.h: VMs as the API offers them.
 *
 * Each call validates completely before it writes anything; slow work
 * returns an operation (202), the rest returns the object.  Lookups take
 * an id or a name within the caller's reach.
 *
 * Actions and the states they are accepted in (anything else is 409):
 *   start       stopped, error
 *   stop        running, building, error
 *   reboot      running
 *   force-stop  any but stopped and deleting
 * start, stop, reboot and resize also need the VM to have no operation in
 * flight; force-stop and delete are accepted at any time (they queue).
 *
 * Live resize: vCPUs grow by hotplug up to max_vcpus; memory grows by DIMM
 * hotplug (128 MiB blocks) and the balloon trims it to the exact size, and
 * shrinks by the balloon; CPU priority changes the cgroup weight.  vCPUs
 * cannot shrink while the VM runs (422): QEMU cannot complete the unplug.
 */
#pragma once

#include "central.h"

json_t *nc_vm_service_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err);
json_t *nc_vm_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err);
json_t *nc_vm_service_list(NcCentral *c, const NcCaller *caller, GError **err);
/* PATCH: live resize of vcpus, memory_mib and cpu_priority. */
json_t *nc_vm_service_update(NcCentral *c, const NcCaller *caller, const char *key,
                             json_t *req, GError **err);
/* POST .../actions {"action": "start"|"stop"|"reboot"|"force-stop", "timeout": s} */
json_t *nc_vm_service_action(NcCentral *c, const NcCaller *caller, const char *key,
                             json_t *req, GError **err);
json_t *nc_vm_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                             GError **err);

/**
 * nc_vm_service_console:
 * @tail_bytes: return at most the last this many bytes
 *
 * Returns: {"vm": id, "console": text, "size": bytes, "truncated": bool}.
 */
json_t *nc_vm_service_console(NcCentral *c, const NcCaller *caller, const char *key,
                              int64_t tail_bytes, GError **err);

/* Operations */
json_t *nc_op_service_get(NcCentral *c, const NcCaller *caller, const char *id, GError **err);
json_t *nc_op_service_list(NcCentral *c, const NcCaller *caller, const char *target,
                           int limit, GError **err);
