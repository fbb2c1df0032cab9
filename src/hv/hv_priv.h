/* hv_priv.h: what hypervisor drivers share with hv.c. */
#pragma once

#include "hv.h"
#include "util/nc_error.h"

#include <libvirt/libvirt.h>

struct NcHv {
    const NcHvDriver *drv;
    char *uri, *cloud_id, *host_name, *state_dir, *instances_dir, *image_dir;
    char *accel_setting, *probe_kernel, *probe_initrd, *network_setting;
    char *volume_dir;
    char *volume_pool;       /* libvirt pool over volume_dir */
    int64_t capacity_vcpus, capacity_memory_mib, capacity_disk_gib;

    GMutex lock;             /* guards conn and the callback registration */
    virConnectPtr conn;
    int lifecycle_cb;        /* libvirt callback id, -1 when none */
    NcHvStateFn on_state;
    void *opaque;
    GHashTable *ours;        /* domain UUID -> GINT_TO_POINTER(1 ours, 2 not) */

    char *accel;             /* "kvm" or "tcg", decided at open */
    char *network;           /* libvirt network in use, or NULL */
    char *network_note;      /* why there is none */
    char *subnet;            /* "10.213.4.0/24" */
};

/* libvirt helpers shared by the qemu and sim drivers (hv_libvirt.c) */
void nc__hv_libvirt_init(void);
virConnectPtr nc__hv_conn(NcHv *hv, GError **err);
/* Gives back a connection from nc__hv_conn(), keeping the last libvirt
 * error for nc__hv_error(). */
void nc__hv_conn_done(virConnectPtr conn);
void nc__hv_error(GError **err, NcErrorCode code, const char *what);
/* Looks a domain up by VM id.  NULL with no error set when it is missing. */
virDomainPtr nc__hv_lookup(NcHv *hv, const char *id, GError **err);
/* nc__hv_lookup() for callers to whom a missing domain is no error.
 * Returns: 1 with *@ret_dom set, 0 when there is no such domain, -1. */
int nc__hv_find(NcHv *hv, const char *id, virDomainPtr *ret_dom, GError **err);
const char *nc__hv_state_name(int state);
bool nc__hv_is_ours(NcHv *hv, virDomainPtr dom);
int nc__hv_generic_start(NcHv *hv, const char *id, GError **err);
int nc__hv_generic_stop(NcHv *hv, const char *id, int timeout_s, GError **err);
int nc__hv_generic_force_stop(NcHv *hv, const char *id, GError **err);
int nc__hv_generic_reboot(NcHv *hv, const char *id, int timeout_s, GError **err);
int nc__hv_generic_state(NcHv *hv, const char *id, char **ret_state, GError **err);
GPtrArray *nc__hv_generic_list(NcHv *hv, GError **err);
/* live/config vCPU, memory and priority changes on a defined domain */
int nc__hv_generic_resize(NcHv *hv, virDomainPtr dom, const NcVmSpec *spec, GError **err);
int nc__hv_undefine(virDomainPtr dom, GError **err);
/* Defines (or redefines) a domain from @xml; on failure @err says
 * "cannot @what" with libvirt's reason. */
int nc__hv_define(NcHv *hv, const char *xml, const char *what, GError **err);
/* Creates and starts a domain from @xml with no lasting definition: it
 * is gone once it stops, unless defined before.  @ret_state: NULL, or
 * where the new domain's state goes (read on its handle: no lookup). */
int nc__hv_create_transient(NcHv *hv, const char *xml, const char *what, char **ret_state,
                            GError **err);

/* block storage and snapshots on QEMU hosts (hv_storage.c) */
int nc__hv_storage_open(NcHv *hv, GError **err);
int nc__hv_qemu_volume_create(NcHv *hv, const NcVolume *vol, GError **err);
int nc__hv_qemu_volume_resize(NcHv *hv, const NcVolume *vol, int64_t new_gib, bool shrink,
                              const char *vm_id, GError **err);
int nc__hv_qemu_volume_delete(NcHv *hv, const NcVolume *vol, GError **err);
int nc__hv_qemu_vm_attach(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err);
int nc__hv_qemu_vm_detach(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err);
int nc__hv_qemu_vm_snapshot(NcHv *hv, const NcVmSpec *spec, const NcImage *image,
                            const char *file, int64_t *ret_size, GError **err);
int nc__hv_qemu_vm_restore(NcHv *hv, const NcVmSpec *spec, const NcImage *image,
                           const char *file, GError **err);
int nc__hv_qemu_snapshot_export(NcHv *hv, const char *file, const NcVolume *vol, GError **err);
int nc__hv_qemu_snapshot_publish(NcHv *hv, const char *file, const char *image_file,
                                 int64_t *ret_size, GError **err);
int nc__hv_qemu_snapshot_delete(NcHv *hv, const char *file, GError **err);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
