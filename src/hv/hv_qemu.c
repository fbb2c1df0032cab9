/* hv_qemu.c: the QEMU hypervisor driver: libvirt qemu:///system, qcow2
 * overlays on images in the pool, NoCloud seeds, a NAT network.
 *
 * Files of a VM live in INSTANCES/<vm-id>/: root.qcow2 (overlay on the
 * image, so launch copies nothing), seed.iso, console.log.  Deleting a VM
 * removes that directory.
 */
#include "hv_priv.h"
#include "conf/domain.h"
#include "conf/limits.h"
#include "conf/seed.h"
#include "util/nc_fault.h"
#include "util/nc_fs.h"
#include "util/nc_iso9660.h"
#include "util/nc_qcow2.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define NC_NETWORK_NAME "nestcloud"
#define NC_NETWORK_BRIDGE "ncbr0"
#define NC_PROBE_TIMEOUT_US (8 * G_USEC_PER_SEC)
/* the accelerator decided on this machine, for every state directory */
#define NC_HV_ACCEL_CACHE "/var/cache/nestcloud/accel.json"

/* ---- accelerator: decided by trying a guest, remembered per host ---- */

static char *
nc_hv_accel_key(NcHv *hv)
{
    struct utsname u;
    unsigned long qemu_ver = 0;
    virConnectPtr conn = nc__hv_conn(hv, NULL);
    if (conn) {
        virConnectGetVersion(conn, &qemu_ver);
        nc__hv_conn_done(conn);
    }
    uname(&u);
    /* /dev/kvm's owner and mode: who may open it decides as much */
    struct stat kvm = { 0 };
    stat("/dev/kvm", &kvm);
    return g_strdup_printf("%s/%s/%lu/%s/kvm:%u:%u:%o", u.release, u.machine, qemu_ver,
                           hv->uri, (unsigned)kvm.st_uid, (unsigned)kvm.st_gid,
                           (unsigned)(kvm.st_mode & 07777));
}

/* The accelerator @key decided, from @file; NULL if it holds another key's. */
static char *
nc_hv_accel_read(const char *file, const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(file, &text, NULL, NULL))
        return NULL;
    json_error_t jerr;
    g_autoptr(json_t) j = json_loads(text, 0, &jerr);
    const char *accel = nc_json_str(j, "accel");
    if (g_strcmp0(nc_json_str(j, "key"), key) != 0 ||
        (g_strcmp0(accel, "kvm") != 0 && g_strcmp0(accel, "tcg") != 0))
        return NULL;
    return g_strdup(accel);
}

/* Boots the probe kernel as a KVM guest and watches its serial output. */
static bool
nc_hv_try_kvm(NcHv *hv)
{
    if (access("/dev/kvm", R_OK | W_OK) < 0 || !hv->probe_kernel ||
        access(hv->probe_kernel, R_OK) < 0)
        return false;
    virConnectPtr conn = nc__hv_conn(hv, NULL);
    if (!conn)
        return false;
    g_autofree char *log = g_build_filename(hv->state_dir, "kvm-probe.log", NULL);
    g_autofree char *name = g_strdup_printf("nc-kvm-probe-%d", (int)getpid());
    unlink(log);
    g_autoptr(GString) x = g_string_new(NULL);
    nc_xml_printf(x, "<domain type='kvm'><name>%s</name>"
                     "<memory unit='MiB'>256</memory><vcpu>1</vcpu>"
                     "<os><type arch='x86_64'>hvm</type><kernel>%s</kernel>",
                  name, hv->probe_kernel);
    if (hv->probe_initrd)
        nc_xml_printf(x, "<initrd>%s</initrd>", hv->probe_initrd);
    nc_xml_printf(x, "<cmdline>console=ttyS0 panic=-1</cmdline></os>"
                     "<features><acpi/><apic/></features><cpu mode='host-passthrough'/>"
                     "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
                     "<devices><serial type='file'><source path='%s'/></serial>"
                     "<memballoon model='none'/></devices></domain>", log);
    virDomainPtr dom = virDomainCreateXML(conn, x->str, VIR_DOMAIN_START_AUTODESTROY);
    bool ok = false;
    if (dom) {
        int64_t deadline = nc_mono_us() + NC_PROBE_TIMEOUT_US;
        while (!ok && nc_mono_us() < deadline) {
            g_autofree char *text = NULL;
            if (g_file_get_contents(log, &text, NULL, NULL) && strstr(text, "Linux version"))
                ok = true;
            else
                g_usleep(100 * 1000);
        }
        virDomainDestroy(dom);
        virDomainFree(dom);
    }
    nc__hv_conn_done(conn);
    unlink(log);
    return ok;
}

static void
nc_hv_decide_accel(NcHv *hv)
{
    if (g_strcmp0(hv->accel_setting, "kvm") == 0 || g_strcmp0(hv->accel_setting, "tcg") == 0) {
        hv->accel = g_strdup(hv->accel_setting);
        return;
    }
    /* the host's answer, kept in the state directory and, for every
     * state directory on the machine, in NC_HV_ACCEL_CACHE (a probe that
     * times out costs NC_PROBE_TIMEOUT_US each time a new one starts) */
    g_autofree char *key = nc_hv_accel_key(hv);
    g_autofree char *cache = g_build_filename(hv->state_dir, "accel.json", NULL);
    hv->accel = nc_hv_accel_read(cache, key);
    if (hv->accel)
        return;
    hv->accel = nc_hv_accel_read(NC_HV_ACCEL_CACHE, key);
    bool probed = !hv->accel;
    if (probed)
        hv->accel = g_strdup(nc_hv_try_kvm(hv) ? "kvm" : "tcg");
    g_autoptr(json_t) j = json_pack("{s:s, s:s}", "key", key, "accel", hv->accel);
    g_autofree char *out = nc_json_dumps(j);
    g_autofree char *dir = g_path_get_dirname(NC_HV_ACCEL_CACHE);
    /* the machine's copy only where we may write it (root) */
    if (probed && nc_fs_mkdir_p(dir, 0755, NULL) == 0)
        nc_fs_write_atomic(NC_HV_ACCEL_CACHE, out, strlen(out), 0644, NULL);
    nc_fs_write_atomic(cache, out, strlen(out), 0644, NULL);
}

/* ---- network: one NAT network per libvirt daemon, on a free subnet ---- */

static bool
nc_hv_subnet_in_use(uint32_t net, uint32_t mask)
{
    g_autofree char *routes = NULL;
    if (!g_file_get_contents("/proc/net/route", &routes, NULL, NULL))
        return false;
    g_auto(GStrv) lines = g_strsplit(routes, "\n", -1);
    for (char **l = lines; *l; l++) {
        char iface[64];
        unsigned dest, gw, flags, refcnt, use, metric, rmask;
        if (sscanf(*l, "%63s %x %x %x %u %u %u %x", iface, &dest, &gw, &flags, &refcnt,
                   &use, &metric, &rmask) != 8)
            continue;
        uint32_t d = ntohl(dest), m = ntohl(rmask);
        if (m == 0)
            continue;   /* the default route overlaps everything; ignore it */
        uint32_t common = m & mask;
        if ((d & common) == (net & common))
            return true;
    }
    return false;
}

/* Whether @net's IPv4 subnet (a /24) overlaps a route of this host. */
static bool
nc_hv_network_collides(virNetworkPtr net)
{
    g_autofree char *xml = virNetworkGetXMLDesc(net, 0);
    const char *ip = xml ? strstr(xml, "<ip address='") : NULL;
    unsigned a, b, c, d;
    if (!ip || sscanf(ip, "<ip address='%u.%u.%u.%u'", &a, &b, &c, &d) != 4 ||
        a > 255 || b > 255 || c > 255)
        return false;
    return nc_hv_subnet_in_use((a << 24) | (b << 16) | (c << 8), 0xffffff00u);
}

static int
nc_hv_ensure_network(NcHv *hv, GError **err)
{
    if (g_strcmp0(hv->network_setting, "none") == 0) {
        hv->network_note = g_strdup("user-mode networking was chosen");
        return 0;
    }
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    virNetworkPtr net = virNetworkLookupByName(conn, NC_NETWORK_NAME);
    g_autofree char *define_failed = NULL;
    if (net && virNetworkIsActive(net) == 0 && nc_hv_network_collides(net)) {
        /* defined earlier (a Nested Cloud image ships one) on a subnet that
         * this host's own network now uses: define it again on a free one */
        virNetworkUndefine(net);
        virNetworkFree(net);
        net = NULL;
    }
    if (!net) {
        int third = -1;
        for (int i = 0; i < 256 && third < 0; i++) {
            uint32_t cand = (10u << 24) | (213u << 16) | ((uint32_t)i << 8);
            if (!nc_hv_subnet_in_use(cand, 0xffffff00u))
                third = i;
        }
        if (third < 0) {
            hv->network_note = g_strdup("no free 10.213.x.0/24 subnet");
            nc__hv_conn_done(conn);
            return 0;
        }
        g_autofree char *xml = g_strdup_printf(
            "<network><name>" NC_NETWORK_NAME "</name><forward mode='nat'/>"
            "<bridge name='" NC_NETWORK_BRIDGE "' stp='off'/>"
            "<ip address='10.213.%d.1' netmask='255.255.255.0'>"
            "<dhcp><range start='10.213.%d.10' end='10.213.%d.250'/></dhcp></ip></network>",
            third, third, third);
        net = virNetworkDefineXML(conn, xml);
        if (net) {
            virNetworkSetAutostart(net, 1);
        } else {
            /* another worker on this libvirt, starting too, defined it first */
            define_failed = g_strdup(virGetLastErrorMessage());
            net = virNetworkLookupByName(conn, NC_NETWORK_NAME);
        }
    }
    g_autofree char *start_failed = NULL;
    if (net && virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0) {
        /* or started it first */
        start_failed = g_strdup(virGetLastErrorMessage());
        if (virNetworkIsActive(net) == 1)
            g_clear_pointer(&start_failed, g_free);
    }
    if (start_failed) {
        hv->network_note = g_strdup_printf("cannot start the NAT network: %s", start_failed);
        virNetworkFree(net);
        net = NULL;
    } else if (!net) {
        hv->network_note = g_strdup_printf("cannot define the NAT network: %s",
                                           define_failed ? define_failed
                                                         : virGetLastErrorMessage());
    }
    if (net) {
        hv->network = g_strdup(NC_NETWORK_NAME);
        g_autofree char *xml = virNetworkGetXMLDesc(net, 0);
        const char *ip = xml ? strstr(xml, "<ip address='") : NULL;
        if (ip) {
            unsigned a, b, c, d;
            if (sscanf(ip, "<ip address='%u.%u.%u.%u'", &a, &b, &c, &d) == 4)
                hv->subnet = g_strdup_printf("%u.%u.%u.0/24", a, b, c);
        }
        virNetworkFree(net);
    }
    nc__hv_conn_done(conn);
    return 0;
}

static int
nc_hv_qemu_open(NcHv *hv, GError **err)
{
    if (nc_fs_mkdir_p(hv->instances_dir, 0755, err) < 0)
        return -1;
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    nc__hv_conn_done(conn);
    nc_hv_decide_accel(hv);
    if (nc__hv_storage_open(hv, err) < 0)
        return -1;
    return nc_hv_ensure_network(hv, err);
}

static void
nc_hv_qemu_close(NcHv *hv)
{
}

static bool
nc_hv_is_nested(void)
{
    g_autofree char *cpuinfo = NULL;
    if (g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL) &&
        strstr(cpuinfo, " hypervisor"))
        return true;
    return false;
}

/* Which libvirt daemon @conn talks to, the same from every worker that
 * uses it: its driver, its URI's path ("/system", "/session") and the name
 * of the machine it runs on, as the daemon says it.  "qemu:///system" and
 * "qemu+ssh://node1/system" name one daemon when both end up on node1.
 * Workers that share a daemon see each other's domains.  NULL when
 * libvirt cannot tell. */
static char *
nc_hv_qemu_instance(NcHv *hv, virConnectPtr conn)
{
    g_autoptr(GUri) uri = g_uri_parse(hv->uri, G_URI_FLAGS_NON_DNS, NULL);
    g_autofree char *machine = virConnectGetHostname(conn);
    const char *type = virConnectGetType(conn);
    if (!uri || !machine || !type)
        return NULL;
    const char *path = g_uri_get_path(uri);
    return g_strdup_printf("%s %s on %s", type, path && *path ? path : "/", machine);
}

static int
nc_hv_qemu_host_info(NcHv *hv, NcHost *h, GError **err)
{
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    virNodeInfo info;
    unsigned long libvirt_ver = 0, qemu_ver = 0;
    if (virNodeGetInfo(conn, &info) < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot read the host's capacity");
        nc__hv_conn_done(conn);
        return -1;
    }
    virConnectGetLibVersion(conn, &libvirt_ver);
    virConnectGetVersion(conn, &qemu_ver);
    g_autofree char *instance = nc_hv_qemu_instance(hv, conn);
    nc__hv_conn_done(conn);

    struct statvfs vfs;
    int64_t disk_gib = 0;
    if (statvfs(hv->instances_dir, &vfs) == 0)
        disk_gib = (int64_t)((uint64_t)vfs.f_blocks * vfs.f_frsize >> 30);

    h->vcpus = info.cpus;
    h->memory_mib = (int64_t)(info.memory / 1024);
    /* libvirt counts NUMA nodes' memory; memory added to a host outside
     * its nodes (seen on VMs with hotplugged memory) shows only in
     * /proc/meminfo, which is right for a local hypervisor */
    g_autofree char *meminfo = NULL;
    if (g_str_has_prefix(hv->uri, "qemu:///") &&
        g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL)) {
        unsigned long long kib = 0;
        if (sscanf(meminfo, "MemTotal: %llu kB", &kib) == 1)
            h->memory_mib = MAX(h->memory_mib, (int64_t)(kib / 1024));
    }
    h->disk_gib = disk_gib;
    g_free(h->accel);
    h->accel = g_strdup(hv->accel);
    h->nested = nc_hv_is_nested();
    g_autofree char *lv = g_strdup_printf("%lu.%lu.%lu", libvirt_ver / 1000000,
                                          libvirt_ver / 1000 % 1000, libvirt_ver % 1000);
    g_autofree char *qv = g_strdup_printf("%lu.%lu.%lu", qemu_ver / 1000000,
                                          qemu_ver / 1000 % 1000, qemu_ver % 1000);
    json_decref(h->info);
    h->info = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:s}",
                        "hypervisor", "qemu", "uri", hv->uri,
                        "libvirt", nc_json_string_or_null(instance), "cpu_model", info.model,
                        "libvirt_version", lv, "qemu_version", qv,
                        "network", nc_json_string_or_null(hv->network),
                        "network_note", nc_json_string_or_null(hv->network_note),
                        "subnet", nc_json_string_or_null(hv->subnet),
                        "image_dir", hv->image_dir);
    return 0;
}

/* ---- VM files ---- */

/* The two files a VM needs before it is defined: its root disk, an overlay
 * on the image, and its NoCloud seed.  Both are written in-process (a
 * helper program per file cost more than the rest of launch added to
 * QEMU's own start), under temporary names renamed into place. */
static int
nc_hv_make_files(const char *dir, const NcVmSpec *spec, const char *base,
                 const char *format, GError **err)
{
    g_autofree char *disk = g_build_filename(dir, "root.qcow2", NULL);
    g_autofree char *disk_tmp = g_build_filename(dir, "root.qcow2.tmp", NULL);
    g_autofree char *iso = g_build_filename(dir, "seed.iso", NULL);
    g_autofree char *iso_tmp = g_build_filename(dir, "seed.iso.tmp", NULL);
    g_autofree char *meta = nc_seed_meta_data(spec);
    g_autofree char *user = nc_seed_user_data(spec);
    const NcIsoFile files[] = {
        { "meta-data", meta, strlen(meta) },
        { "user-data", user, strlen(user) },
    };

    /* leftovers of a crashed earlier attempt */
    unlink(disk_tmp);
    unlink(iso_tmp);
    /* an overlay made by an earlier delivery of this command is kept: the
     * guest may already have written to it */
    if (access(disk, F_OK) < 0 &&
        (nc_qcow2_create_overlay(disk_tmp, base, format, (uint64_t)spec->disk_gib << 30, err) < 0 ||
         rename(disk_tmp, disk) < 0))
        goto fail;
    if (nc_iso9660_write(iso_tmp, "cidata", files, G_N_ELEMENTS(files), err) < 0 ||
        rename(iso_tmp, iso) < 0)
        goto fail;
    return 0;

fail:
    if (!err || !*err)
        nc_error_set(err, NC_ERR_INTERNAL, "%s", g_strerror(errno));
    nc_error_prefix(err, "cannot make the VM's disk and seed: ");
    unlink(disk_tmp);
    unlink(iso_tmp);
    return -1;
}

static int
nc_hv_remove_tree(const char *dir, GError **err)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (!d)
        return 0;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) {
            if (nc_hv_remove_tree(p, err) < 0)
                return -1;
        } else if (nc_fs_remove(p, err) < 0) {
            return -1;
        }
    }
    if (rmdir(dir) < 0 && errno != ENOENT) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot remove %s: %s", dir, g_strerror(errno));
        return -1;
    }
    return 0;
}

/* Resolves an image file of the pool; NULL name gives NULL without error. */
static char *
nc_hv_pool_file(NcHv *hv, const char *name, GError **err)
{
    char *path = NULL;
    if (!name)
        return NULL;
    if (nc_fs_resolve_within(hv->image_dir, name, &path, err) < 0) {
        nc_error_prefix(err, "image file: ");
        return NULL;
    }
    return path;
}

static char *
nc_hv_domain_xml(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *dir,
                 GError **err)
{
    GError *local = NULL;
    g_autofree char *kernel = nc_hv_pool_file(hv, image->kernel, &local);
    g_autofree char *initrd = local ? NULL : nc_hv_pool_file(hv, image->initrd, &local);
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    g_autofree char *disk = g_build_filename(dir, "root.qcow2", NULL);
    g_autofree char *seed = g_build_filename(dir, "seed.iso", NULL);
    g_autofree char *console = g_build_filename(dir, "console.log", NULL);
    NcDomainEnv env = {
        .cloud_id = hv->cloud_id,
        .host = hv->host_name,
        .domain_type = g_strcmp0(hv->accel, "kvm") == 0 ? "kvm" : "qemu",
        .disk_path = disk,
        .seed_path = seed,
        .console_path = console,
        .kernel = kernel,
        .initrd = initrd,
        .cmdline = image->kernel ? image->cmdline : NULL,
        .network = hv->network,
    };
    return nc_domain_xml_format(spec, &env);
}

/* Makes @dom persistent (the definition survives a stop) if it is not. */
static int
nc_hv_persist(NcHv *hv, virDomainPtr dom, const char *xml, GError **err)
{
    if (virDomainIsPersistent(dom) == 1)
        return 0;
    return nc__hv_define(hv, xml, "define the VM", err);
}

/* Defines the VM and, with @start, boots it.  A new VM is booted with
 * virDomainCreateXML and defined right after: libvirt starts a transient
 * domain measurably faster than a defined one.  A crash in between leaves
 * a running transient domain, which the next delivery makes persistent. */
static int
nc_hv_qemu_prepare(NcHv *hv, const NcVmSpec *spec, const NcImage *image, bool start,
                   GError **err)
{
    GError *local = NULL;
    g_autofree char *dir = nc_hv_vm_dir(hv, spec->id);
    g_autoptr(virDomain) existing = nc__hv_lookup(hv, spec->id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (existing) {
        if (virDomainIsPersistent(existing) != 1) {
            g_autofree char *xml = nc_hv_domain_xml(hv, spec, image, dir, err);
            if (!xml || nc_hv_persist(hv, existing, xml, err) < 0)
                return -1;
        }
        return start ? nc__hv_generic_start(hv, spec->id, err) : 0;
    }

    bool made_dir = access(dir, F_OK) < 0;
    g_autofree char *base = nc_hv_pool_file(hv, image->file, err);
    if (!base)
        return -1;
    g_autofree char *xml = NULL;
    virDomainPtr dom = NULL;

    if (nc_fs_mkdir_p(dir, 0755, err) < 0)
        return -1;
    if (nc_hv_make_files(dir, spec, base, image->format, err) < 0 ||
        !(xml = nc_hv_domain_xml(hv, spec, image, dir, err)))
        goto undo;

    nc_fault_point("worker-before-define");
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        goto undo;
    dom = start ? virDomainCreateXML(conn, xml, 0) : virDomainDefineXML(conn, xml);
    nc__hv_conn_done(conn);
    if (!dom) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, start ? "cannot start the VM" : "cannot define the VM");
        goto undo;
    }
    nc_fault_point("worker-before-persist");
    if (nc_hv_persist(hv, dom, xml, err) < 0) {
        virDomainDestroy(dom);
        goto undo;
    }
    virDomainFree(dom);
    nc_fault_point("worker-after-define");
    return 0;

undo:
    /* leave nothing half-made: the files go with the failed attempt */
    if (dom)
        virDomainFree(dom);
    if (made_dir)
        nc_hv_remove_tree(dir, NULL);
    return -1;
}

static int
nc_hv_qemu_vm_ensure(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err)
{
    return nc_hv_qemu_prepare(hv, spec, image, false, err);
}

static int
nc_hv_qemu_vm_launch(NcHv *hv, const NcVmSpec *spec, const NcImage *image, char **ret_state,
                     GError **err)
{
    /* a guest's start has more steps than one call: its state is read after */
    return nc_hv_qemu_prepare(hv, spec, image, true, err);
}

static int
nc_hv_qemu_vm_delete(NcHv *hv, const char *id, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (dom && nc__hv_undefine(dom, err) < 0)
        return -1;
    g_autofree char *dir = nc_hv_vm_dir(hv, id);
    return nc_hv_remove_tree(dir, err);
}

static int
nc_hv_qemu_vm_resize(NcHv *hv, const NcVmSpec *spec, const NcImage *image, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, spec->id, &local);
    if (!dom) {
        if (!local)
            nc_error_set(&local, NC_ERR_NOT_FOUND, "the VM is not defined on this host");
        g_propagate_error(err, local);
        return -1;
    }
    if (virDomainIsActive(dom) == 1)
        return nc__hv_generic_resize(hv, dom, spec, err);

    /* stopped: the new shape becomes the definition, without hotplugged
     * DIMMs, so the next boot starts with exactly what was asked */
    g_autofree char *dir = nc_hv_vm_dir(hv, spec->id);
    g_autofree char *xml = nc_hv_domain_xml(hv, spec, image, dir, err);
    if (!xml)
        return -1;
    return nc__hv_define(hv, xml, "change the VM's definition", err);
}

static json_t *
nc_hv_qemu_vm_addresses(NcHv *hv, const char *id, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, id, &local);
    json_t *out = json_object();
    if (!dom) {
        if (local)
            g_propagate_error(err, local);
        return out;
    }
    if (virDomainIsActive(dom) != 1)
        return out;
    virDomainInterfacePtr *ifaces = NULL;
    int n = virDomainInterfaceAddresses(dom, &ifaces,
                                        VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0);
    for (int i = 0; i < n; i++) {
        for (unsigned j = 0; j < ifaces[i]->naddrs; j++) {
            if (ifaces[i]->addrs[j].type == VIR_IP_ADDR_TYPE_IPV4 && ifaces[i]->hwaddr) {
                json_object_set_new(out, ifaces[i]->hwaddr,
                                    json_string(ifaces[i]->addrs[j].addr));
                break;
            }
        }
        virDomainInterfaceFree(ifaces[i]);
    }
    free(ifaces);
    return out;
}

const NcHvDriver nc_hv_qemu_driver = {
    .name = "qemu",
    .open = nc_hv_qemu_open,
    .close = nc_hv_qemu_close,
    .host_info = nc_hv_qemu_host_info,
    .vm_ensure = nc_hv_qemu_vm_ensure,
    .vm_launch = nc_hv_qemu_vm_launch,
    .vm_start = nc__hv_generic_start,
    .vm_stop = nc__hv_generic_stop,
    .vm_force_stop = nc__hv_generic_force_stop,
    .vm_reboot = nc__hv_generic_reboot,
    .vm_delete = nc_hv_qemu_vm_delete,
    .vm_resize = nc_hv_qemu_vm_resize,
    .vm_state = nc__hv_generic_state,
    .vm_list = nc__hv_generic_list,
    .vm_addresses = nc_hv_qemu_vm_addresses,
    .volume_create = nc__hv_qemu_volume_create,
    .volume_resize = nc__hv_qemu_volume_resize,
    .volume_delete = nc__hv_qemu_volume_delete,
    .vm_attach = nc__hv_qemu_vm_attach,
    .vm_detach = nc__hv_qemu_vm_detach,
    .vm_snapshot = nc__hv_qemu_vm_snapshot,
    .vm_restore = nc__hv_qemu_vm_restore,
    .snapshot_export = nc__hv_qemu_snapshot_export,
    .snapshot_publish = nc__hv_qemu_snapshot_publish,
    .snapshot_delete = nc__hv_qemu_snapshot_delete,
};
