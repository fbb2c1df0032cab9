/* volume_conf.h: block volumes and VM snapshots.
 *
 * A volume is a raw file in the block pool (a libvirt dir pool, possibly on
 * NFS), formatted with a filesystem when it is made.  It is attached to at
 * most one VM at a time, as a virtio disk.
 *
 * Volume states:
 *   creating --formatted (worker)--> available --attach--> in-use --detach--> available
 *   a resize keeps the state; the operation in flight is in `op`
 *   available --delete--> deleting --(gone)
 *   any step failing --> error
 *
 * A snapshot is a qcow2 file under the image pool's snapshots/ directory,
 * an overlay on the VM's image holding the VM's root disk as it was.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define NC_LIMIT_VOLUME_GIB 16384
#define NC_DEFAULT_QUOTA_VOLUMES 100
#define NC_DEFAULT_QUOTA_VOLUME_GIB 2048
#define NC_LIMIT_VOLUMES_PER_VM 8   /* one spare PCIe root port each (domain.c) */
#define NC_LIMIT_SNAPSHOTS_PER_PROJECT 1000

typedef struct {
    char *id;
    char *project;
    char *name;
    int64_t size_gib;
    char *filesystem;     /* "ext4", "xfs" or "none" */
    char *state;
    char *vm;             /* attached to, or NULL */
    char *vm_name;
    char *device;         /* "vdb" ... while attached */
    char *host;           /* the host whose file it is: it attaches only to VMs there */
    char *host_name;      /* filled by readers that join hosts */
    char *op;             /* operation in flight */
    char *error;
    int64_t created_at, updated_at;
} NcVolume;

NcVolume *nc_volume_new(void);
void nc_volume_free(NcVolume *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcVolume, nc_volume_free)

/* POST /v1/volumes {"name", "size_gib", "filesystem"}: validated. */
int nc_volume_from_request(json_t *req, NcVolume **ret, GError **err);

/* The file of a volume in the block pool: "<id>.raw" (caller frees). */
char *nc_volume_file(const char *id);

json_t *nc_volume_to_api_json(const NcVolume *v);
/* What a worker needs to act on a volume. */
json_t *nc_volume_to_command_json(const NcVolume *v);
NcVolume *nc_volume_from_command_json(json_t *j);

typedef struct {
    char *id;
    char *project;
    char *name;
    char *vm;             /* the VM it was taken from (may be gone) */
    char *vm_name;
    char *image;          /* the image the VM's disk is an overlay on */
    char *file;           /* relative to the image pool: snapshots/<id>.qcow2 */
    char *state;          /* creating, available, error */
    char *op;
    char *error;
    int64_t size_bytes;
    int64_t disk_gib;
    int64_t created_at;
} NcSnapshot;

NcSnapshot *nc_snapshot_new(void);
void nc_snapshot_free(NcSnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcSnapshot, nc_snapshot_free)

json_t *nc_snapshot_to_api_json(const NcSnapshot *s);
