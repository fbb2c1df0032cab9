/* hv_sim.c: the simulated hypervisor driver, on libvirt's test:/// driver.
 *
 * One machine can hold thousands of simulated hosts for scale tests and
 * benchmarks.  Capacity comes from a libvirt node definition file
 * (test:///PATH/node.xml: <cpu> and <memory>); domains are defined, started
 * and stopped in libvirt's in-process test driver, but there are no disks,
 * seeds or guests.  Their domain XML comes from the same code as real
 * guests', bare: identity, metadata, memory and vCPUs, no devices.  The
 * test driver parses a definition at define and copies it (format and
 * parse again) at start; with a real guest's devices that was three
 * quarters of a simulated host's work.
 *
 * So a launch creates its domain running and transient, one parse: half
 * of libvirt's cost (bench/sim_launch.c).  A stop, which would make a
 * transient domain vanish, first gives it its lasting definition, from
 * its own XML; from there on it is defined like any other.
 */
#include "hv_priv.h"
#include "conf/domain.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"

#include <string.h>

static int
nc_hv_sim_open(NcHv *hv, GError **err)
{
    if (!g_str_has_prefix(hv->uri, "test://")) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the simulated driver needs a test:///PATH/node.xml URI");
        return -1;
    }
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    nc__hv_conn_done(conn);
    hv->accel = g_strdup("sim");
    return 0;
}

static void
nc_hv_sim_close(NcHv *hv)
{
}

static int
nc_hv_sim_host_info(NcHv *hv, NcHost *h, GError **err)
{
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    virNodeInfo info;
    int rc = virNodeGetInfo(conn, &info);
    nc__hv_conn_done(conn);
    if (rc < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot read the simulated host's capacity");
        return -1;
    }
    h->vcpus = info.cpus;
    h->memory_mib = (int64_t)(info.memory / 1024);
    h->disk_gib = hv->capacity_disk_gib > 0 ? hv->capacity_disk_gib : 1024;
    g_free(h->accel);
    h->accel = g_strdup("sim");
    h->nested = false;
    json_decref(h->info);
    h->info = json_pack("{s:s, s:s}", "hypervisor", "sim", "uri", hv->uri);
    return 0;
}

static char *
nc_hv_sim_xml(NcHv *hv, const NcVmSpec *spec)
{
    NcDomainEnv env = {
        .cloud_id = hv->cloud_id,
        .host = hv->host_name,
        .domain_type = "test",
        .disk_path = "/sim/root.qcow2",
        .console_path = "/sim/console.log",
        .network = NULL,
        .bare = true,
    };
    return nc_domain_xml_format(spec, &env);
}

/* @ret_state: NULL, or where the state of a domain created goes */
static int
nc_hv_sim_prepare(NcHv *hv, const NcVmSpec *spec, bool start, char **ret_state, GError **err)
{
    GError *local = NULL;
    if (start) {
        /* the create first: a lookup that misses costs the test driver an
         * error message, and most launches find no domain.  The test driver
         * also starts a stopped domain of the same name and UUID this way
         * (a vm.start, or a create delivered again after a stop), keeping
         * its lasting definition */
        g_autofree char *xml = nc_hv_sim_xml(hv, spec);
        if (nc__hv_create_transient(hv, xml, "start the simulated VM", ret_state, &local) == 0)
            return 0;
        /* a running domain of ours is started already; another cloud's
         * domain is refused as the lookup says */
        g_autoptr(virDomain) there = NULL;
        GError *found_err = NULL;
        int found = nc__hv_find(hv, spec->id, &there, &found_err);
        if (found < 0) {
            g_clear_error(&local);
            g_propagate_error(err, found_err);
            return -1;
        }
        if (found == 0) {
            g_propagate_error(err, local);
            return -1;
        }
        g_clear_error(&local);
        return nc__hv_generic_start(hv, spec->id, err);
    }
    g_autoptr(virDomain) existing = nc__hv_lookup(hv, spec->id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (!existing) {
        g_autofree char *xml = nc_hv_sim_xml(hv, spec);
        return nc__hv_define(hv, xml, "define the simulated VM", err);
    }
    return 0;
}

/* Gives a domain launched transient its lasting definition, so that it
 * stays defined when it stops. */
static int
nc_hv_sim_persist(NcHv *hv, const char *id, GError **err)
{
    g_autoptr(virDomain) dom = NULL;
    int found = nc__hv_find(hv, id, &dom, err);
    if (found <= 0)
        return found;   /* an error, or a domain that is not there */
    if (virDomainIsPersistent(dom) != 0)
        return 0;
    g_autofree char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (!xml) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot read the simulated VM's definition");
        return -1;
    }
    return nc__hv_define(hv, xml, "define the simulated VM", err);
}

static int
nc_hv_sim_stop(NcHv *hv, const char *id, int timeout_s, GError **err)
{
    if (nc_hv_sim_persist(hv, id, err) < 0)
        return -1;
    return nc__hv_generic_stop(hv, id, timeout_s, err);
}

static int
nc_hv_sim_force_stop(NcHv *hv, const char *id, GError **err)
{
    if (nc_hv_sim_persist(hv, id, err) < 0)
        return -1;
    return nc__hv_generic_force_stop(hv, id, err);
}

static int
nc_hv_sim_reboot(NcHv *hv, const char *id, int timeout_s, GError **err)
{
    if (nc_hv_sim_persist(hv, id, err) < 0)
        return -1;
    return nc__hv_generic_reboot(hv, id, timeout_s, err);
}

static int
nc_hv_sim_ensure(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err)
{
    return nc_hv_sim_prepare(hv, spec, false, NULL, err);
}

static int
nc_hv_sim_launch(NcHv *hv, const NcVmSpec *spec, const NcImage *image, char **ret_state,
                 GError **err)
{
    return nc_hv_sim_prepare(hv, spec, true, ret_state, err);
}

static int
nc_hv_sim_delete(NcHv *hv, const char *id, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    return dom ? nc__hv_undefine(dom, err) : 0;
}

static int
nc_hv_sim_resize(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, spec->id, &local);
    if (!dom) {
        if (!local)
            nc_error_set(&local, NC_ERR_NOT_FOUND, "the VM is not defined on this host");
        g_propagate_error(err, local);
        return -1;
    }
    /* the test driver keeps no guest to hotplug into: the new shape is
     * recorded in the definition, which is all a simulation can show */
    g_autofree char *xml = nc_hv_sim_xml(hv, spec);
    return nc__hv_define(hv, xml, "change the simulated VM", err);
}

static json_t *
nc_hv_sim_addresses(NcHv *hv, const char *id, GError **err)
{
    return json_object();
}

/* A simulated host keeps no data: storage calls succeed and change nothing
 * but the records the central node keeps. */
static int
nc_hv_sim_volume(NcHv *hv, const NcVolume *vol, GError **err)
{
    return 0;
}

static int
nc_hv_sim_volume_resize(NcHv *hv, const NcVolume *vol, int64_t new_gib, bool shrink,
                        const char *vm_id, GError **err)
{
    return 0;
}

static int
nc_hv_sim_attach(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err)
{
    return 0;
}

static int
nc_hv_sim_snapshot(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                   int64_t *ret_size, GError **err)
{
    *ret_size = 0;
    return 0;
}

static int
nc_hv_sim_restore(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                  GError **err)
{
    return 0;
}

static int
nc_hv_sim_export(NcHv *hv, const char *file, const NcVolume *vol, GError **err)
{
    return 0;
}

static int
nc_hv_sim_publish(NcHv *hv, const char *file, const char *image_file, int64_t *ret_size,
                  GError **err)
{
    nc_error_set(err, NC_ERR_UNSUPPORTED, "a simulated host holds no disk to publish");
    return -1;
}

static int
nc_hv_sim_snapshot_delete(NcHv *hv, const char *file, GError **err)
{
    return 0;
}

const NcHvDriver nc_hv_sim_driver = {
    .name = "sim",
    .changes_only_through_us = true,
    .open = nc_hv_sim_open,
    .close = nc_hv_sim_close,
    .host_info = nc_hv_sim_host_info,
    .vm_ensure = nc_hv_sim_ensure,
    .vm_launch = nc_hv_sim_launch,
    .vm_start = nc__hv_generic_start,
    .vm_stop = nc_hv_sim_stop,
    .vm_force_stop = nc_hv_sim_force_stop,
    .vm_reboot = nc_hv_sim_reboot,
    .vm_delete = nc_hv_sim_delete,
    .vm_resize = nc_hv_sim_resize,
    .vm_state = nc__hv_generic_state,
    .vm_list = nc__hv_generic_list,
    .vm_addresses = nc_hv_sim_addresses,
    .volume_create = nc_hv_sim_volume,
    .volume_resize = nc_hv_sim_volume_resize,
    .volume_delete = nc_hv_sim_volume,
    .vm_attach = nc_hv_sim_attach,
    .vm_detach = nc_hv_sim_attach,
    .vm_snapshot = nc_hv_sim_snapshot,
    .vm_restore = nc_hv_sim_restore,
    .snapshot_export = nc_hv_sim_export,
    .snapshot_publish = nc_hv_sim_publish,
    .snapshot_delete = nc_hv_sim_snapshot_delete,
};
