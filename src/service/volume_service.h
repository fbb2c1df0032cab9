/* volume_service.h: block volumes, attachments and snapshots.
 *
 * Volumes live in the block pool, snapshots in the image pool; both pools
 * may be shared by every host (NFS).  A command that makes or changes a
 * file goes to a worker: the VM's host for anything touching a VM, any
 * real (not simulated) host that is up otherwise.
 *
 * Rules that keep data safe (each refusal is 409 and changes nothing):
 *   - a volume is attached to at most one VM, and only while available;
 *   - an attached volume cannot be deleted, nor shrunk;
 *   - a VM has one storage operation at a time;
 *   - a snapshot is restored only into its own VM, and only when stopped;
 *   - a snapshot VMs were launched from cannot be deleted.
 * Per project, volume count and total size are limited (quota_exceeded,
 * 403, says what is left).
 */
#pragma once

#include "central.h"

json_t *nc_volume_service_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err);
json_t *nc_volume_service_list(NcCentral *c, const NcCaller *caller, const char *vm,
                               GError **err);
json_t *nc_volume_service_get(NcCentral *c, const NcCaller *caller, const char *key,
                              GError **err);
/* PATCH {"size_gib", "shrink"}: grow (live when attached to a running VM),
 * or with "shrink": true, shrink a detached ext4 volume whose data fits. */
json_t *nc_volume_service_update(NcCentral *c, const NcCaller *caller, const char *key,
                                 json_t *req, GError **err);
json_t *nc_volume_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                                 GError **err);
/* POST /v1/vms/{vm}/volumes {"volume": key} */
json_t *nc_volume_service_attach(NcCentral *c, const NcCaller *caller, const char *vm_key,
                                 json_t *req, GError **err);
json_t *nc_volume_service_detach(NcCentral *c, const NcCaller *caller, const char *vm_key,
                                 const char *vol_key, GError **err);

/* POST /v1/vms/{vm}/snapshots {"name"} */
json_t *nc_snapshot_service_create(NcCentral *c, const NcCaller *caller, const char *vm_key,
                                   json_t *req, GError **err);
json_t *nc_snapshot_service_list(NcCentral *c, const NcCaller *caller, const char *vm_key,
                                 GError **err);
json_t *nc_snapshot_service_get(NcCentral *c, const NcCaller *caller, const char *key,
                                GError **err);
json_t *nc_snapshot_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                                   GError **err);
/* POST /v1/snapshots/{id}/actions {"action": "restore"} |
 * {"action": "export", "volume": NAME} | {"action": "publish", "image": NAME} */
json_t *nc_snapshot_service_action(NcCentral *c, const NcCaller *caller, const char *key,
                                   json_t *req, GError **err);

/* PATCH /v1/projects/{id} {"quota_volumes", "quota_volume_gib"} (admin). */
json_t *nc_project_service_update(NcCentral *c, const NcCaller *caller, const char *key,
                                  json_t *req, GError **err);
