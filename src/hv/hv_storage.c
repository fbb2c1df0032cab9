/* hv_storage.c: block volumes and snapshots on a QEMU host.
 *
 * The image pool and the block pool are directories (possibly NFS mounts)
 * that libvirt manages as dir storage pools, "nc-<cloud>-images" and
 * "nc-<cloud>-volumes".  A volume is a sparse raw file made through the
 * pool and formatted in place (mkfs works on a plain file).  A snapshot
 * is a qcow2 overlay on the VM's image holding what the VM wrote, copied
 * with qemu-img while the VM is paused.
 */
#include "hv_priv.h"
#include "conf/domain.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_proc.h"
#include "util/nc_time.h"
#include "util/nc_xml.h"
#include "util/nc_valid.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NC_DETACH_WAIT_US (60 * G_USEC_PER_SEC)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)

/* Whether @pool is a directory pool over @dir. */
static bool
nc_hv_pool_over(virStoragePoolPtr pool, const char *dir)
{
    g_autofree char *xml = virStoragePoolGetXMLDesc(pool, 0);
    g_autofree char *escaped = g_markup_escape_text(dir, -1);
    g_autofree char *path = g_strdup_printf("<path>%s</path>", escaped);
    return xml && strstr(xml, path);
}

/* The names a pool of cloud @cloud_id over @dir may have: "nc-CLOUD8-@what"
 * (@k 0), and "nc-CLOUD8-@what-DIR8" (@k 1, DIR8 a hash of @dir), which a
 * worker takes when the first is a pool over another directory: another
 * worker of the cloud on this libvirt, with its own. */
static char *
nc_hv_pool_name(const char *cloud_id, const char *what, const char *dir, int k)
{
    if (k == 0)
        return g_strdup_printf("nc-%.8s-%s", nc_uuid_short(cloud_id), what);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, dir, -1);
    return g_strdup_printf("nc-%.8s-%s-%.8s", nc_uuid_short(cloud_id), what, sum);
}

/* Makes sure a dir pool over @dir exists and runs, and says its name
 * into *@ret_name (unless NULL).  Workers on one libvirt may start at once: each takes the other's
 * definition or start for its own. */
static int
nc_hv_ensure_pool(NcHv *hv, const char *what, const char *dir, char **ret_name, GError **err)
{
    if (nc_fs_mkdir_p(dir, 0755, err) < 0)
        return -1;
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return -1;
    g_autofree char *name = NULL;
    g_autofree char *why = NULL;
    g_autoptr(virStoragePool) pool = NULL;
    /* a second round when another worker defined the first free name,
     * over its own directory, between our lookup and our define */
    for (int round = 0; round < 2 && !pool; round++) {
        for (int k = 0; k < 2; k++) {
            g_free(name);
            name = nc_hv_pool_name(hv->cloud_id, what, dir, k);
            pool = virStoragePoolLookupByName(conn, name);
            if (!pool || nc_hv_pool_over(pool, dir))
                break;
            g_clear_pointer(&pool, virStoragePoolFree);
        }
        if (pool)
            break;
        g_autoptr(GString) x = g_string_new(NULL);
        nc_xml_printf(x, "<pool type='dir'><name>%s</name><target><path>%s</path></target>"
                         "</pool>", name, dir);
        pool = virStoragePoolDefineXML(conn, x->str, 0);
        if (pool) {
            virStoragePoolSetAutostart(pool, 1);
            break;
        }
        /* another worker on this libvirt defined it first: over our
         * directory (a worker of ours, starting twice) or over its own */
        g_free(why);
        why = g_strdup(virGetLastErrorMessage());
        pool = virStoragePoolLookupByName(conn, name);
        if (pool && !nc_hv_pool_over(pool, dir))
            g_clear_pointer(&pool, virStoragePoolFree);
    }
    if (pool) {
        g_clear_pointer(&why, g_free);
        if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0) {
            why = g_strdup(virGetLastErrorMessage());
            if (virStoragePoolIsActive(pool) == 1)   /* or started it first */
                g_clear_pointer(&why, g_free);
        }
    }
    nc__hv_conn_done(conn);
    if (why || !pool) {
        nc_error_set(err, NC_ERR_HYPERVISOR, "cannot set up storage pool %s over %s: %s", name,
                     dir, why ? why : "its name is taken by a pool over another directory");
        return -1;
    }
    if (ret_name)
        *ret_name = g_steal_pointer(&name);
    return 0;
}

int
nc__hv_storage_open(NcHv *hv, GError **err)
{
    g_autofree char *snaps = g_build_filename(hv->image_dir, "snapshots", NULL);
    g_clear_pointer(&hv->volume_pool, g_free);
    if (nc_hv_ensure_pool(hv, "images", hv->image_dir, NULL, err) < 0 ||
        nc_hv_ensure_pool(hv, "volumes", hv->volume_dir, &hv->volume_pool, err) < 0 ||
        nc_fs_mkdir_p(snaps, 0755, err) < 0)
        return -1;
    return 0;
}

int
nc_hv_storage_purge(virConnectPtr conn, const char *cloud_id, const char *what,
                    const char *dir)
{
    int n = 0;
    for (int k = 0; k < 2; k++) {
        g_autofree char *name = nc_hv_pool_name(cloud_id, what, dir, k);
        g_autoptr(virStoragePool) pool = virStoragePoolLookupByName(conn, name);
        if (!pool || !nc_hv_pool_over(pool, dir))
            continue;
        if (virStoragePoolIsActive(pool) == 1)
            virStoragePoolDestroy(pool);
        n += virStoragePoolUndefine(pool) == 0;
    }
    return n;
}

static virStoragePoolPtr
nc_hv_volume_pool(NcHv *hv, GError **err)
{
    virConnectPtr conn = nc__hv_conn(hv, err);
    if (!conn)
        return NULL;
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, hv->volume_pool);
    nc__hv_conn_done(conn);
    if (!pool)
        nc__hv_error(err, NC_ERR_HYPERVISOR, "the block pool is gone");
    return pool;
}

static char *
nc_hv_volume_path(NcHv *hv, const NcVolume *vol)
{
    g_autofree char *file = nc_volume_file(vol->id);
    return g_build_filename(hv->volume_dir, file, NULL);
}

static int
nc_hv_mkfs(const char *path, const char *fs, GError **err)
{
    if (g_strcmp0(fs, "ext4") == 0) {
        const char *argv[] = { "mkfs.ext4", "-q", "-F", "-E",
                               "lazy_itable_init=1,lazy_journal_init=1", "-L", "ncvol", path, NULL };
        return nc_proc_run(argv, NULL, err);
    }
    if (g_strcmp0(fs, "xfs") == 0) {
        const char *argv[] = { "mkfs.xfs", "-q", "-f", "-L", "ncvol", path, NULL };
        return nc_proc_run(argv, NULL, err);
    }
    return 0;
}

int
nc__hv_qemu_volume_create(NcHv *hv, const NcVolume *vol, GError **err)
{
    g_autoptr(virStoragePool) pool = nc_hv_volume_pool(hv, err);
    if (!pool)
        return -1;
    g_autofree char *file = nc_volume_file(vol->id);
    g_autofree char *path = nc_hv_volume_path(hv, vol);
    /* a file of an earlier, interrupted delivery is made again */
    virStoragePoolRefresh(pool, 0);
    g_autoptr(virStorageVol) old = virStorageVolLookupByName(pool, file);
    if (old)
        virStorageVolDelete(old, 0);
    g_autoptr(GString) x = g_string_new(NULL);
    nc_xml_printf(x, "<volume><name>%s</name><capacity unit='G'>%lld</capacity>"
                     "<allocation>0</allocation><target><format type='raw'/>"
                     "<permissions><mode>0644</mode></permissions></target></volume>",
                  file, (long long)vol->size_gib);
    g_autoptr(virStorageVol) made = virStorageVolCreateXML(pool, x->str, 0);
    if (!made) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot make the volume");
        return -1;
    }
    if (nc_hv_mkfs(path, vol->filesystem, err) < 0) {
        nc_error_prefix(err, "cannot format the volume: ");
        virStorageVolDelete(made, 0);
        return -1;
    }
    return 0;
}

int
nc__hv_qemu_volume_delete(NcHv *hv, const NcVolume *vol, GError **err)
{
    g_autofree char *path = nc_hv_volume_path(hv, vol);
    g_autoptr(virStoragePool) pool = nc_hv_volume_pool(hv, err);
    if (!pool)
        return -1;
    virStoragePoolRefresh(pool, 0);
    g_autofree char *file = nc_volume_file(vol->id);
    g_autoptr(virStorageVol) v = virStorageVolLookupByName(pool, file);
    if (v && virStorageVolDelete(v, 0) < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot remove the volume");
        return -1;
    }
    return nc_fs_remove(path, err);
}

/* The target device a volume has in a running domain, or NULL. */
static char *
nc_hv_volume_target(virDomainPtr dom, const NcVolume *vol, unsigned flags)
{
    g_autofree char *xml = virDomainGetXMLDesc(dom, flags);
    if (!xml)
        return NULL;
    g_autofree char *file = nc_volume_file(vol->id);
    g_autofree char *needle = g_strdup_printf("volume='%s'", file);
    const char *at = strstr(xml, needle);
    if (!at)
        return NULL;
    const char *tgt = strstr(at, "<target dev='");
    if (!tgt)
        return NULL;
    tgt += strlen("<target dev='");
    const char *end = strchr(tgt, '\'');
    return end ? g_strndup(tgt, (gsize)(end - tgt)) : NULL;
}

int
nc__hv_qemu_volume_resize(NcHv *hv, const NcVolume *vol, int64_t new_gib, bool shrink,
                          const char *vm_id, GError **err)
{
    g_autofree char *path = nc_hv_volume_path(hv, vol);
    uint64_t bytes = (uint64_t)new_gib << 30;
    GError *local = NULL;
    g_autoptr(virDomain) dom = vm_id ? nc__hv_lookup(hv, vm_id, &local) : NULL;
    g_clear_error(&local);

    if (dom && virDomainIsActive(dom) == 1) {
        /* live: the guest sees the bigger disk at once and grows its
         * filesystem itself (resize2fs, xfs_growfs) */
        g_autofree char *target = nc_hv_volume_target(dom, vol, 0);
        if (!target) {
            nc_error_set(err, NC_ERR_CONFLICT, "the volume is not attached to the running VM");
            return -1;
        }
        if (virDomainBlockResize(dom, target, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0) {
            nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot grow the volume live");
            return -1;
        }
        return 0;
    }
    bool ext4 = g_strcmp0(vol->filesystem, "ext4") == 0;
    if (ext4) {
        /* resize2fs wants a freshly checked filesystem */
        const char *fsck[] = { "e2fsck", "-f", "-p", path, NULL };
        g_autoptr(GError) fsck_err = NULL;
        nc_proc_run(fsck, NULL, &fsck_err);
    }
    if (shrink) {
        if (ext4) {
            g_autofree char *size = g_strdup_printf("%" G_GINT64_FORMAT "G", new_gib);
            const char *argv[] = { "resize2fs", path, size, NULL };
            if (nc_proc_run(argv, NULL, err) < 0) {
                nc_error_prefix(err, "the data does not fit in %" G_GINT64_FORMAT " GiB: ",
                                new_gib);
                (*err)->code = NC_ERR_UNPROCESSABLE;
                return -1;
            }
        }
        if (truncate(path, (off_t)bytes) < 0) {
            nc_error_set(err, NC_ERR_INTERNAL, "cannot shrink the volume: %s", g_strerror(errno));
            return -1;
        }
        return 0;
    }
    if (truncate(path, (off_t)bytes) < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot grow the volume: %s", g_strerror(errno));
        return -1;
    }
    if (ext4) {
        const char *argv[] = { "resize2fs", path, NULL };
        if (nc_proc_run(argv, NULL, err) < 0) {
            nc_error_prefix(err, "cannot grow the filesystem: ");
            return -1;
        }
    }
    /* xfs grows only mounted: the guest runs xfs_growfs */
    return 0;
}

static char *
nc_hv_volume_disk_xml(NcHv *hv, const NcVolume *vol)
{
    g_autofree char *file = nc_volume_file(vol->id);
    g_autofree char *serial = g_strdup_printf("nc-%.8s", nc_uuid_short(vol->id));
    g_autoptr(GString) x = g_string_new(NULL);
    nc_xml_printf(x, "<disk type='volume' device='disk'>"
                     "<driver name='qemu' type='raw' discard='unmap'/>"
                     "<source pool='%s' volume='%s'/>"
                     "<target dev='%s' bus='virtio'/>"
                     "<serial>%s</serial></disk>",
                  hv->volume_pool, file, vol->device, serial);
    return g_string_free(g_steal_pointer(&x), FALSE);
}

static bool
nc_hv_has_volume(virDomainPtr dom, const NcVolume *vol, unsigned flags)
{
    g_autofree char *xml = virDomainGetXMLDesc(dom, flags);
    g_autofree char *file = nc_volume_file(vol->id);
    g_autofree char *needle = g_strdup_printf("volume='%s'", file);
    return xml && strstr(xml, needle);
}

int
nc__hv_qemu_vm_attach(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, vm_id, &local);
    if (!dom) {
        if (!local)
            nc_error_set(&local, NC_ERR_NOT_FOUND, "the VM is not defined on this host");
        g_propagate_error(err, local);
        return -1;
    }
    bool live = virDomainIsActive(dom) == 1;
    g_autofree char *xml = nc_hv_volume_disk_xml(hv, vol);
    /* idempotent: an earlier delivery may have attached it already */
    if (!nc_hv_has_volume(dom, vol, VIR_DOMAIN_XML_INACTIVE) &&
        virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot attach the volume");
        return -1;
    }
    if (live && !nc_hv_has_volume(dom, vol, 0) &&
        virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot attach the volume to the running VM");
        virDomainDetachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_CONFIG);
        return -1;
    }
    return 0;
}

int
nc__hv_qemu_vm_detach(NcHv *hv, const char *vm_id, const NcVolume *vol, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, vm_id, &local);
    if (!dom) {
        if (local) {
            g_propagate_error(err, local);
            return -1;
        }
        return 0;   /* the VM is gone, and the volume with it from its definition */
    }
    g_autofree char *xml = nc_hv_volume_disk_xml(hv, vol);
    if (virDomainIsActive(dom) == 1 && nc_hv_has_volume(dom, vol, 0)) {
        if (virDomainDetachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
            nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot detach the volume from the running VM");
            return -1;
        }
        /* the guest releases the disk in its own time (PCIe hot-unplug):
         * report done only when it has */
        int64_t deadline = nc_mono_us() + NC_DETACH_WAIT_US;
        while (nc_hv_has_volume(dom, vol, 0)) {
            if (nc_mono_us() > deadline) {
                nc_error_set(err, NC_ERR_HYPERVISOR,
                             "the guest did not release the volume within 60 s");
                return -1;
            }
            g_usleep(200 * 1000);
        }
    }
    if (nc_hv_has_volume(dom, vol, VIR_DOMAIN_XML_INACTIVE) &&
        virDomainDetachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot detach the volume");
        return -1;
    }
    return 0;
}

/* ---- snapshots ---- */

static char *
nc_hv_pool_path(NcHv *hv, const char *rel)
{
    return g_build_filename(hv->image_dir, rel, NULL);
}

/* qemu-img convert @src into @dst (via a temporary name), as qcow2 over
 * @backing (or flat when NULL). */
static int
nc_hv_convert(const char *src, const char *dst, const char *backing, const char *backing_fmt,
              const char *out_fmt, GError **err)
{
    g_autofree char *tmp = g_strconcat(dst, ".tmp", NULL);
    unlink(tmp);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *fixed[] = { "qemu-img", "convert", "-U", "-O", out_fmt };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, (gpointer)fixed[i]);
    if (backing) {
        g_ptr_array_add(argv, "-F");
        g_ptr_array_add(argv, (gpointer)backing_fmt);
        g_ptr_array_add(argv, "-B");
        g_ptr_array_add(argv, (gpointer)backing);
    }
    g_ptr_array_add(argv, (gpointer)src);
    g_ptr_array_add(argv, tmp);
    g_ptr_array_add(argv, NULL);
    if (nc_proc_run((const char *const *)argv->pdata, NULL, err) < 0 || rename(tmp, dst) < 0) {
        if (err && !*err)
            nc_error_set(err, NC_ERR_INTERNAL, "%s", g_strerror(errno));
        unlink(tmp);
        return -1;
    }
    chmod(dst, 0644);
    return 0;
}

static int64_t
nc_hv_file_size(const char *path)
{
    GStatBuf st;
    return g_stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int
nc__hv_qemu_vm_snapshot(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                        int64_t *ret_size, GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, spec->id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    g_autofree char *root = g_build_filename(hv->instances_dir, spec->id, "root.qcow2", NULL);
    g_autofree char *base = g_build_filename(hv->image_dir, image->file, NULL);
    g_autofree char *dst = nc_hv_pool_path(hv, file);
    bool paused = false;
    if (dom && virDomainIsActive(dom) == 1) {
        /* consistent: nothing is written while the disk is copied */
        if (virDomainSuspend(dom) < 0) {
            nc__hv_error(err, NC_ERR_HYPERVISOR, "cannot pause the VM for the snapshot");
            return -1;
        }
        paused = true;
    }
    int rc = nc_hv_convert(root, dst, base, image->format, "qcow2", err);
    if (paused && virDomainResume(dom) < 0 && rc == 0) {
        nc__hv_error(err, NC_ERR_HYPERVISOR, "the snapshot is made but the VM did not resume");
        rc = -1;
    }
    if (rc == 0 && ret_size)
        *ret_size = nc_hv_file_size(dst);
    return rc;
}

int
nc__hv_qemu_vm_restore(NcHv *hv, const NcVmSpec *spec, const NcImage *image, const char *file,
                       GError **err)
{
    GError *local = NULL;
    g_autoptr(virDomain) dom = nc__hv_lookup(hv, spec->id, &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (dom && virDomainIsActive(dom) == 1) {
        nc_error_set(err, NC_ERR_CONFLICT, "stop the VM before restoring a snapshot");
        return -1;
    }
    g_autofree char *root = g_build_filename(hv->instances_dir, spec->id, "root.qcow2", NULL);
    g_autofree char *base = g_build_filename(hv->image_dir, image->file, NULL);
    g_autofree char *src = nc_hv_pool_path(hv, file);
    /* a copy, not an overlay on the snapshot: the snapshot stays deletable */
    return nc_hv_convert(src, root, base, image->format, "qcow2", err);
}

int
nc__hv_qemu_snapshot_export(NcHv *hv, const char *file, const NcVolume *vol, GError **err)
{
    g_autofree char *src = nc_hv_pool_path(hv, file);
    g_autofree char *dst = nc_hv_volume_path(hv, vol);
    if (nc_hv_convert(src, dst, NULL, NULL, "raw", err) < 0)
        return -1;
    /* the volume is at least as big as the disk it holds */
    uint64_t bytes = (uint64_t)vol->size_gib << 30;
    if ((uint64_t)nc_hv_file_size(dst) < bytes && truncate(dst, (off_t)bytes) < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot size the volume: %s", g_strerror(errno));
        return -1;
    }
    g_autoptr(virStoragePool) pool = nc_hv_volume_pool(hv, NULL);
    if (pool)
        virStoragePoolRefresh(pool, 0);
    return 0;
}

int
nc__hv_qemu_snapshot_publish(NcHv *hv, const char *file, const char *image_file,
                             int64_t *ret_size, GError **err)
{
    g_autofree char *src = nc_hv_pool_path(hv, file);
    g_autofree char *dst = nc_hv_pool_path(hv, image_file);
    /* flattened: the new image stands on its own */
    if (nc_hv_convert(src, dst, NULL, NULL, "qcow2", err) < 0)
        return -1;
    if (ret_size)
        *ret_size = nc_hv_file_size(dst);
    return 0;
}

int
nc__hv_qemu_snapshot_delete(NcHv *hv, const char *file, GError **err)
{
    g_autofree char *path = nc_hv_pool_path(hv, file);
    return nc_fs_remove(path, err);
}
