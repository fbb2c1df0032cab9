/* image_service.c: image import, upload, listing and deletion. */
#include "image_service.h"
#include "central_priv.h"
#include "conf/limits.h"
#include "store/image_store.h"
#include "store/project_store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_proc.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Probes @path with qemu-img and checks it may serve as an image. */
static NcImageInfo *
nc_image_probe(NcCentral *c, const char *path, const char *format, GError **err)
{
    const char *argv[] = { "qemu-img", "info", "--output=json", "-U", path, NULL };
    g_autofree char *out = NULL;
    if (nc_proc_run(argv, &out, err) < 0) {
        nc_error_prefix(err, "cannot read the image: ");
        /* what qemu-img cannot read is the user's file, not our failure */
        if (err && *err)
            (*err)->code = NC_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    g_autofree char *dir = g_path_get_dirname(path);
    NcImageInfo *info = NULL;
    if (nc_image_info_parse(out, dir, c->cfg.image_dir, format, &info, err) < 0)
        return NULL;
    return info;
}

static int
nc_image_check_format(const char *format, GError **err)
{
    if (format && strcmp(format, "qcow2") != 0 && strcmp(format, "raw") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "format must be qcow2 or raw");
        return -1;
    }
    return 0;
}

/* Moves @src into the pool as the image's file and stores the record. */
/* Direct kernel boot files of an import: pool paths, moved with the disk. */
typedef struct {
    const char *kernel;    /* full paths inside the pool, or NULL */
    const char *initrd;
    const char *cmdline;
} NcImageBoot;

static json_t *
nc_image_adopt(NcCentral *c, const NcCaller *caller, const char *name, bool is_public,
               const char *src, NcImageInfo *info, const NcImageBoot *boot, GError **err)
{
    g_autoptr(NcImage) img = nc_image_new();
    img->id = nc_uuid_new();
    img->project = g_strdup(caller->project);
    img->name = g_strdup(name);
    img->is_public = is_public;
    img->format = g_strdup(info->format);
    img->file = g_strdup_printf("%s.%s", img->id, info->format);
    img->state = g_strdup("available");
    img->size_bytes = info->actual_size;
    img->virtual_size_bytes = info->virtual_size;
    img->created_at = nc_now_ms();
    g_autofree char *dst = g_build_filename(c->cfg.image_dir, img->file, NULL);
    g_autofree char *kdst = NULL, *idst = NULL;
    if (boot && boot->kernel) {
        img->kernel = g_strdup_printf("%s.vmlinuz", img->id);
        img->initrd = g_strdup_printf("%s.initrd", img->id);
        img->cmdline = g_strdup(boot->cmdline ? boot->cmdline : "console=ttyS0 root=/dev/vda");
        kdst = g_build_filename(c->cfg.image_dir, img->kernel, NULL);
        idst = g_build_filename(c->cfg.image_dir, img->initrd, NULL);
    }

    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    int64_t n = 0;
    {
        g_autoptr(GPtrArray) mine = nc_store_image_list(c->store, caller->project, err);
        if (!mine)
            return NULL;
        n = mine->len;
    }
    if (n >= NC_LIMIT_IMAGES_PER_PROJECT) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the project already has %" G_GINT64_FORMAT
                     " images, its limit", n);
        return NULL;
    }
    if (nc_store_image_insert(c->store, img, err) < 0)
        return NULL;
    if (kdst && (nc_fs_copy(boot->kernel, kdst, err) < 0 ||
                 nc_fs_copy(boot->initrd, idst, err) < 0)) {
        nc_fs_remove(kdst, NULL);
        return NULL;
    }
    if (rename(src, dst) < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot move the image into the pool: %s",
                     g_strerror(errno));
        if (kdst) {
            nc_fs_remove(kdst, NULL);
            nc_fs_remove(idst, NULL);
        }
        return NULL;
    }
    chmod(dst, 0644);
    img->ready_at = nc_now_ms();
    if (nc_store_image_set_ready(c->store, img->id, (int64_t)img->size_bytes, img->ready_at,
                                 err) < 0 ||
        nc__central_event(c, caller->project, "image.created", "image", img->id,
                          json_pack("{s:s}", "name", name), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0) {
        rename(dst, src);
        if (kdst) {
            nc_fs_remove(kdst, NULL);
            nc_fs_remove(idst, NULL);
        }
        return NULL;
    }
    nc__central_notify(c);
    return nc_image_to_api_json(img);
}

json_t *
nc_image_service_import(NcCentral *c, const NcCaller *caller, json_t *req, GError **err)
{
    static const char *const keys[] = { "name", "path", "format", "public", "kernel", "initrd",
                                        "cmdline", NULL };
    const char *name = NULL, *path = NULL, *format = NULL;
    const char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
    bool is_public = false;

    if (nc_json_check_keys(req, "an image", keys, err) < 0 ||
        nc_json_get_string(req, "name", true, 256, &name, err) < 0 ||
        nc_name_check("image", name, err) < 0 ||
        nc_json_get_string(req, "path", true, 256, &path, err) < 0 ||
        nc_json_get_string(req, "format", false, 16, &format, err) < 0 ||
        nc_image_check_format(format, err) < 0 ||
        nc_json_get_bool(req, "public", false, &is_public, err) < 0 ||
        nc_json_get_string(req, "kernel", false, 256, &kernel, err) < 0 ||
        nc_json_get_string(req, "initrd", false, 256, &initrd, err) < 0 ||
        nc_json_get_string(req, "cmdline", false, 1024, &cmdline, err) < 0)
        return NULL;
    if (!kernel != !initrd || (cmdline && !kernel)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "kernel and initrd go together, and cmdline needs them");
        return NULL;
    }
    for (const char *p = cmdline; p && *p; p++) {
        /* it lands in domain XML (escaped) and on QEMU's command line */
        if (*p < ' ' || *p > '~') {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "cmdline must be printable ASCII");
            return NULL;
        }
    }
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN,
                     "only an admin can import from the pool; upload the file instead");
        return NULL;
    }
    g_autofree char *full = NULL;
    if (nc_fs_resolve_within(c->cfg.image_dir, path, &full, err) < 0)
        return NULL;
    if (!g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "'%s' is not a regular file", path);
        return NULL;
    }
    g_autofree char *kfull = NULL, *ifull = NULL;
    if (kernel) {
        if (nc_fs_resolve_within(c->cfg.image_dir, kernel, &kfull, err) < 0 ||
            nc_fs_resolve_within(c->cfg.image_dir, initrd, &ifull, err) < 0)
            return NULL;
        if (!g_file_test(kfull, G_FILE_TEST_IS_REGULAR) ||
            !g_file_test(ifull, G_FILE_TEST_IS_REGULAR)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "kernel and initrd must be regular files"
                         " in the image pool");
            return NULL;
        }
    }
    g_autoptr(NcImageInfo) info = nc_image_probe(c, full, format, err);
    if (!info)
        return NULL;
    NcImageBoot boot = { kfull, ifull, cmdline };
    return nc_image_adopt(c, caller, name, is_public, full, info, &boot, err);
}

char *
nc_image_service_upload_path(NcCentral *c)
{
    g_autofree char *id = nc_uuid_new();
    g_autofree char *name = g_strdup_printf(".upload-%s", id);
    return g_build_filename(c->cfg.image_dir, name, NULL);
}

json_t *
nc_image_service_adopt_upload(NcCentral *c, const NcCaller *caller, const char *name,
                              const char *format, bool is_public, const char *tmp_path,
                              GError **err)
{
    json_t *out = NULL;
    if (nc_name_check("image", name, err) == 0 && nc_image_check_format(format, err) == 0) {
        if (is_public && !caller->admin) {
            nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can publish public images");
        } else {
            g_autoptr(NcImageInfo) info = nc_image_probe(c, tmp_path, format, err);
            if (info)
                out = nc_image_adopt(c, caller, name, is_public, tmp_path, info, NULL, err);
        }
    }
    if (!out)
        unlink(tmp_path);
    return out;
}

json_t *
nc_image_service_list(NcCentral *c, const NcCaller *caller, GError **err)
{
    g_autoptr(GPtrArray) imgs = nc_store_image_list(c->store, NC_SCOPE(caller), err);
    if (!imgs)
        return NULL;
    json_t *list = json_array();
    for (guint i = 0; i < imgs->len; i++)
        json_array_append_new(list, nc_image_to_api_json(g_ptr_array_index(imgs, i)));
    return json_pack("{s:o}", "images", list);
}

json_t *
nc_image_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NC_SCOPE(caller), key, err);
    return img ? nc_image_to_api_json(img) : NULL;
}

json_t *
nc_image_service_delete(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NC_SCOPE(caller), key, err);
    if (!img)
        return NULL;
    if (!caller->admin && g_strcmp0(img->project, caller->project) != 0) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "image '%s' belongs to another project", img->name);
        return NULL;
    }
    int64_t users = nc_store_vm_count_image(c->store, img->id, err);
    if (users < 0)
        return NULL;
    if (users > 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "image '%s' is used by %" G_GINT64_FORMAT
                     " VM%s; delete them first", img->name, users, users == 1 ? "" : "s");
        return NULL;
    }
    if (nc_store_image_delete(c->store, img->id, err) < 0 ||
        nc__central_event(c, img->project, "image.deleted", "image", img->id,
                          json_pack("{s:s}", "name", img->name), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    const char *files[] = { img->file, img->kernel, img->initrd };
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        if (!files[i])
            continue;
        g_autofree char *p = g_build_filename(c->cfg.image_dir, files[i], NULL);
        nc_fs_remove(p, NULL);
    }
    nc__central_notify(c);
    return json_pack("{s:s, s:s}", "id", img->id, "name", img->name);
}

/* Puts a file of the test image into the pool.  NESTCLOUD_TEST_IMAGE_LINK
 * (set by the Nested Cloud image, whose test image is installed read-only
 * on the same file system) hard-links it instead of copying: under TCG the
 * copy of its 35 MB and three fsyncs cost seconds of the VM's boot. */
static int
nc_image_place_test_file(const char *src, const char *dst, GError **err)
{
    const char *link_env = g_getenv("NESTCLOUD_TEST_IMAGE_LINK");
    if (link_env && strcmp(link_env, "1") == 0 && link(src, dst) == 0)
        return 0;
    return nc_fs_copy(src, dst, err);
}

int
nc__image_register_test(NcCentral *c, GError **err)
{
    if (!c->cfg.test_image_dir)
        return 0;
    GError *local = NULL;
    g_autoptr(NcImage) have = nc_store_image_get(c->store, NC_ADMIN_PROJECT, "test", &local);
    if (have)
        return 0;
    g_clear_error(&local);
    g_autofree char *disk = g_build_filename(c->cfg.test_image_dir, "test.qcow2", NULL);
    /* the uncompressed kernel boots ~5 s sooner under TCG (PVH entry, no
     * decompression); a test image built before it existed has only the
     * bzImage */
    g_autofree char *kernel = g_build_filename(c->cfg.test_image_dir, "test-vmlinux", NULL);
    if (access(kernel, R_OK) < 0) {
        g_free(kernel);
        kernel = g_build_filename(c->cfg.test_image_dir, "test-vmlinuz", NULL);
    }
    g_autofree char *initrd = g_build_filename(c->cfg.test_image_dir, "test-initrd.img", NULL);
    g_autofree char *cmdline_path = g_build_filename(c->cfg.test_image_dir, "test.cmdline", NULL);
    if (access(disk, R_OK) < 0)
        return 0;   /* no test image was built; nothing to register */

    g_autoptr(NcImage) img = nc_image_new();
    img->id = nc_uuid_new();
    img->project = g_strdup(NC_ADMIN_PROJECT);
    img->name = g_strdup("test");
    img->is_public = true;
    img->format = g_strdup("qcow2");
    img->file = g_strdup_printf("%s.qcow2", img->id);
    img->state = g_strdup("available");
    img->created_at = nc_now_ms();
    g_autofree char *dst = g_build_filename(c->cfg.image_dir, img->file, NULL);
    if (nc_image_place_test_file(disk, dst, err) < 0)
        return -1;
    if (access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0) {
        img->kernel = g_strdup_printf("%s.vmlinuz", img->id);
        img->initrd = g_strdup_printf("%s.initrd", img->id);
        g_autofree char *kd = g_build_filename(c->cfg.image_dir, img->kernel, NULL);
        g_autofree char *id = g_build_filename(c->cfg.image_dir, img->initrd, NULL);
        if (nc_image_place_test_file(kernel, kd, err) < 0 ||
            nc_image_place_test_file(initrd, id, err) < 0)
            return -1;
        g_autofree char *cmdline = NULL;
        if (g_file_get_contents(cmdline_path, &cmdline, NULL, NULL))
            img->cmdline = g_strdup(g_strstrip(cmdline));
        else
            img->cmdline = g_strdup("console=ttyS0 root=/dev/vda2");
    }
    g_autoptr(NcImageInfo) info = nc_image_probe(c, dst, "qcow2", err);
    if (!info)
        return -1;
    img->size_bytes = info->actual_size;
    img->virtual_size_bytes = info->virtual_size;
    img->ready_at = nc_now_ms();
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0 ||
        nc_store_image_insert(c->store, img, err) < 0 ||
        nc__central_event(c, NC_ADMIN_PROJECT, "image.created", "image", img->id,
                          json_pack("{s:s}", "name", "test"), err) < 0)
        return -1;
    return nc_store_txn_commit(&txn, err);
}
