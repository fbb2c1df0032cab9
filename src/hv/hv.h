/* hv.h: what a worker asks of its hypervisor.
 *
 * The worker speaks in VMs; a hypervisor driver turns that into libvirt
 * calls, disks and seeds.  Every call is idempotent: ensuring a VM that is
 * already defined, starting a running one, deleting a missing one all
 * succeed without doing harm, because commands can arrive twice.
 *
 * Drivers are const tables (NcHvDriver): "qemu" is libvirt QEMU/KVM with
 * qcow2 overlays and NoCloud seeds; "sim" is libvirt's test:/// driver, for
 * thousands of simulated hosts in one process (no disks, no guests).
 */
#pragma once

#include "conf/host_conf.h"
#include "conf/image_conf.h"
#include "conf/vm_conf.h"
#include "conf/volume_conf.h"

#include <glib.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>

typedef struct NcHv NcHv;

typedef struct {
    const char *uri;           /* libvirt URI: qemu:///system, test:///... */
    const char *cloud_id;      /* marks our domains */
    const char *host_name;
    const char *state_dir;     /* the worker's own files */
    const char *instances_dir; /* per-VM disks, seeds, console logs */
    const char *image_dir;     /* the image pool (may be an NFS mount); snapshots
                                * live in its snapshots/ directory */
    const char *volume_dir;    /* the block pool (may be an NFS mount) */
    const char *accel;         /* "auto", "kvm" or "tcg" */
    const char *probe_kernel;  /* a kernel (and initrd) to try KVM with */
    const char *probe_initrd;
    const char *network;       /* "auto": create/use ours; "none": user mode */
    int64_t capacity_vcpus;    /* simulated hosts: capacity to report */
    int64_t capacity_memory_mib;
    int64_t capacity_disk_gib;
} NcHvConfig;

/* A domain as the hypervisor sees it. */
typedef struct {
    char *id;        /* the VM id (domain UUID) */
    char *state;     /* "running", "stopped", "paused", "crashed" */
    int vcpus;
    int64_t memory_mib;
} NcDomainStatus;

void nc_domain_status_free(NcDomainStatus *s);

/* Called from the hypervisor's event thread when a domain of ours changes
 * state on its own (the guest powered off, crashed, was destroyed). */
typedef void (*NcHvStateFn)(const char *vm_id, const char *state, void *opaque);

typedef struct {
    const char *name;
    /* true when the domains change only through this process's own calls
     * (libvirt's test driver): a listing then stays true until the next
     * call that acts on a domain, and need not be read again before; and
     * libvirt's lifecycle events, which would only echo those calls, are
     * not watched (nc_hv_watch() callbacks never come) */
    bool changes_only_through_us;
    int (*open)(NcHv *hv, GError **err);
    void (*close)(NcHv *hv);
    /* capacity, accelerator, versions */
    int (*host_info)(NcHv *hv, NcHost *ret_host, GError **err);
    /* defines the VM (disk, seed, domain) if it is not defined yet */
    int (*vm_ensure)(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err);
    /* vm_ensure, then runs it: the fast path of a create.  @ret_state:
     * NULL, or where the domain's state just after the launch goes when the
     * driver read it on the way (left NULL otherwise: ask vm_state) */
    int (*vm_launch)(NcHv *hv, const NcVmSpec *spec, const NcImage *image, char **ret_state,
                     GError **err);
    int (*vm_start)(NcHv *hv, const char *id, GError **err);
    /* ACPI shutdown; forced off after @timeout_s */
    int (*vm_stop)(NcHv *hv, const char *id, int timeout_s, GError **err);
    int (*vm_force_stop)(NcHv *hv, const char *id, GError **err);
    /* clean stop (forced after @timeout_s), then start */
    int (*vm_reboot)(NcHv *hv, const char *id, int timeout_s, GError **err);
    /* domain, disk, seed and console gone */
    int (*vm_delete)(NcHv *hv, const char *id, GError **err);
    /* brings vCPUs, memory and CPU priority to @spec: live when running */
    int (*vm_resize)(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err);
    /* "running", "stopped", ... or "missing" */
    int (*vm_state)(NcHv *hv, const char *id, char **ret_state, GError **err);
    /* (element-type NcDomainStatus): every domain of this cloud */
    GPtrArray *(*vm_list)(NcHv *hv, GError **err);
    /* the guest's IP addresses, one per NIC (null when unknown) */
    json_t *(*vm_addresses)(NcHv *hv, const char *id, GError **err);

    /* block storage: a volume is made, formatted, grown or shrunk (with
     * @shrink, only when its data fits), and removed in the block pool; a
     * running VM using it sees a growth at once */
    int (*volume_create)(NcHv *hv, const NcVolume *vol, GError **err);
    int (*volume_resize)(NcHv *hv, const NcVolume *vol, int64_t new_gib, bool shrink,
                         const char *vm_id, GError **err);
    int (*volume_delete)(NcHv *hv, const NcVolume *vol, GError **err);
    /* attach as vol->device / detach; live when the VM runs */
    int (*vm_attach)(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err);
    int (*vm_detach)(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err);

    /* snapshots: @file is relative to the image pool (snapshots/<id>.qcow2);
     * a running VM is paused for the copy, so the snapshot is consistent */
    int (*vm_snapshot)(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                       int64_t *ret_size, GError **err);
    /* the VM (stopped) gets the snapshot's disk back */
    int (*vm_restore)(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                      GError **err);
    /* a full copy of the snapshot as a raw volume, or as a new image file */
    int (*snapshot_export)(NcHv *hv, const char *file, const NcVolume *vol, GError **err);
    int (*snapshot_publish)(NcHv *hv, const char *file, const char *image_file,
                            int64_t *ret_size, GError **err);
    int (*snapshot_delete)(NcHv *hv, const char *file, GError **err);
} NcHvDriver;

extern const NcHvDriver nc_hv_qemu_driver;
extern const NcHvDriver nc_hv_sim_driver;

/**
 * nc_hv_open:
 * @drv: the driver
 * @cfg: configuration; strings are copied
 * @err: set on failure
 *
 * Returns: (transfer full): the hypervisor, or NULL.
 */
NcHv *nc_hv_open(const NcHvDriver *drv, const NcHvConfig *cfg, GError **err);

/* Sets (or, with NULL, clears) the function called from libvirt's event
 * thread when one of our domains changes state on its own. */
void nc_hv_watch(NcHv *hv, NcHvStateFn on_state, void *opaque);
void nc_hv_close(NcHv *hv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcHv, nc_hv_close)

const NcHvDriver *nc_hv_driver(NcHv *hv);
/* The accelerator in use: "kvm" or "tcg". */
const char *nc_hv_accel(NcHv *hv);
/* The libvirt network NICs join, or NULL when guests use user-mode networking. */
const char *nc_hv_network(NcHv *hv);

/* Returns: the image files this host can see in its image pool, as a JSON
 * array of names (the scheduler places a VM only where its image is). */
json_t *nc_hv_image_files(NcHv *hv);

/* Paths of a VM's files in the instances directory (caller frees). */
char *nc_hv_vm_dir(NcHv *hv, const char *id);
char *nc_hv_console_path(const char *instances_dir, const char *id);

/**
 * nc_hv_storage_purge:
 * @what: "images" or "volumes"
 * @dir: the directory the pool is over
 *
 * Stops and undefines the storage pool that a QEMU worker of cloud
 * @cloud_id made over @dir (nestcloud purge), leaving the files.  Pools of
 * the same name over another directory are another cloud's or worker's.
 *
 * Returns: how many pools it removed.
 */
int nc_hv_storage_purge(virConnectPtr conn, const char *cloud_id, const char *what,
                        const char *dir);
