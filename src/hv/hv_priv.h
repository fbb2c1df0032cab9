/* hv_priv.h: what hypervisor drivers share with hv.c. */
#pragma once

#include "hv.h"
#include "util/nc_error.h"

#include <libvirt/libvirt.h>

struct NcHv {
    const NcHvDriver *drv;
    char *uri, *cloud_id, *host_name, *state_dir, *instances_dir, *image_dir;
    char *accel_setting, *probe_kernel, *probe_initrd, *network_setting;
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
void nc__hv_error(GError **err, NcErrorCode code, const char *what);
/* Looks a domain up by VM id.  NULL with no error set when it is missing. */
virDomainPtr nc__hv_lookup(NcHv *hv, const char *id, GError **err);
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
