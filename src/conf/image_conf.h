/* image_conf.h: what an image file is, from `qemu-img info` output.
 *
 * An image is accepted only as raw or qcow2, only when its content matches
 * the format it claims, and only when nothing in it points outside the
 * image pool (a qcow2 backing file or external data file).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char *format;            /* "raw" or "qcow2" */
    uint64_t virtual_size;   /* bytes the guest sees */
    uint64_t actual_size;    /* bytes on disk */
    char *backing;           /* absolute backing path, or NULL */
} NcImageInfo;

void nc_image_info_free(NcImageInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcImageInfo, nc_image_info_free)

/**
 * nc_image_info_parse:
 * @json_text: output of `qemu-img info --output=json FILE` (probed format)
 * @file_dir: the directory the file lives in (backing paths resolve there)
 * @pool_dir: the image pool; backing files must lie inside it
 * @declared_format: the format the user named, or NULL to take the probed one
 * @ret_info: (transfer full): what the file is
 * @err: NC_ERR_INVALID_ARGUMENT when the file is refused, with the reason
 *
 * Returns: 0 when the image is acceptable, -1 otherwise.
 */
int nc_image_info_parse(const char *json_text, const char *file_dir,
                        const char *pool_dir, const char *declared_format,
                        NcImageInfo **ret_info, GError **err);

/* An image as the store keeps it.  Files are names inside the image pool. */
typedef struct {
    char *id;
    char *project;
    char *name;
    bool is_public;
    char *format;
    char *file;         /* relative to the image pool */
    char *kernel;       /* direct kernel boot files, or NULL for BIOS boot */
    char *initrd;
    char *cmdline;
    char *state;        /* "available" */
    uint64_t size_bytes;
    uint64_t virtual_size_bytes;
    int64_t created_at;
    int64_t ready_at;   /* when its file was whole in the pool; 0 while creating */
} NcImage;

NcImage *nc_image_new(void);
void nc_image_free(NcImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcImage, nc_image_free)

#include <jansson.h>
/* Returns: the API's JSON for @img. */
json_t *nc_image_to_api_json(const NcImage *img);
