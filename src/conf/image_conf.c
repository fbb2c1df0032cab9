/* image_conf.c: image file acceptance. */
#include "image_conf.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#include <string.h>

void
nc_image_info_free(NcImageInfo *info)
{
    if (!info)
        return;
    g_free(info->format);
    g_free(info->backing);
    g_free(info);
}

int
nc_image_info_parse(const char *json_text, const char *file_dir,
                    const char *pool_dir, const char *declared_format,
                    NcImageInfo **ret_info, GError **err)
{
    json_error_t jerr;
    g_autoptr(json_t) info = json_loads(json_text, 0, &jerr);

    if (!json_is_object(info)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "cannot read the image's description");
        return -1;
    }
    const char *format = nc_json_str(info, "format");
    if (!format || (strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "image format '%s' is not supported; use qcow2 or raw",
                     format ? format : "unknown");
        return -1;
    }
    if (declared_format && strcmp(declared_format, format) != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the file was declared %s but its content is %s",
                     declared_format, format);
        return -1;
    }
    json_t *specific = json_object_get(json_object_get(info, "format-specific"), "data");
    if (nc_json_str(specific, "data-file")) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "qcow2 images with an external data file are refused");
        return -1;
    }
    g_autofree char *backing = NULL;
    const char *bf = nc_json_str(info, "backing-filename");
    if (bf) {
        backing = g_path_is_absolute(bf) ? g_strdup(bf)
                                         : g_build_filename(file_dir, bf, NULL);
        if (!nc_fs_is_within(pool_dir, backing)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "the image names a backing file outside the image pool; refused");
            return -1;
        }
    }
    json_int_t vsize = nc_json_int(info, "virtual-size", -1);
    if (vsize <= 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "the image has no size");
        return -1;
    }
    NcImageInfo *r = g_new0(NcImageInfo, 1);
    r->format = g_strdup(format);
    r->virtual_size = (uint64_t)vsize;
    r->actual_size = (uint64_t)MAX(0, nc_json_int(info, "actual-size", 0));
    r->backing = g_steal_pointer(&backing);
    *ret_info = r;
    return 0;
}

NcImage *
nc_image_new(void)
{
    return g_new0(NcImage, 1);
}

void
nc_image_free(NcImage *img)
{
    if (!img)
        return;
    g_free(img->id);
    g_free(img->project);
    g_free(img->name);
    g_free(img->format);
    g_free(img->file);
    g_free(img->kernel);
    g_free(img->initrd);
    g_free(img->cmdline);
    g_free(img->state);
    g_free(img);
}

json_t *
nc_image_to_api_json(const NcImage *img)
{
    g_autofree char *created = nc_time_format(img->created_at);
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:s, s:s}",
                     "id", img->id, "name", img->name, "project", img->project,
                     "public", img->is_public, "format", img->format,
                     "size_bytes", (json_int_t)img->size_bytes,
                     "virtual_size_bytes", (json_int_t)img->virtual_size_bytes,
                     "min_disk_gib",
                     (json_int_t)((img->virtual_size_bytes + (1ULL << 30) - 1) >> 30),
                     "boot", img->kernel ? "kernel" : "bios",
                     "state", img->state, "created_at", created);
}
