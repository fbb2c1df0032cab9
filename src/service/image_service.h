/* image_service.h: images as the API offers them.
 *
 * An image is a file in the image pool (a directory, possibly an NFS
 * mount shared by every host).  It gets there two ways: uploaded through
 * the API, or, for admins, adopted from a file already placed in the pool
 * ("path", relative to the pool).  Either way `qemu-img info` decides what
 * the file is, and nc_image_info_parse() whether it is acceptable.
 */
#pragma once

#include "central.h"

/* POST /v1/images {"name", "path", "format"?, "public"?} (admin). */
json_t *nc_image_service_import(NcCentral *c, const NcCaller *caller, json_t *req,
                                GError **err);

/**
 * nc_image_service_upload_path:
 *
 * Returns: a fresh temporary path in the pool for an upload's bytes
 * (caller frees; the caller removes it if the upload fails).
 */
char *nc_image_service_upload_path(NcCentral *c);

/**
 * nc_image_service_adopt_upload:
 * @name: the new image's name (validated here)
 * @format: "qcow2", "raw" or NULL to take what the content says
 * @tmp_path: from nc_image_service_upload_path(), holding the bytes;
 *            removed on failure
 *
 * Returns: the image JSON, or NULL.
 */
json_t *nc_image_service_adopt_upload(NcCentral *c, const NcCaller *caller, const char *name,
                                      const char *format, bool is_public,
                                      const char *tmp_path, GError **err);

json_t *nc_image_service_list(NcCentral *c, const NcCaller *caller, GError **err);
json_t *nc_image_service_get(NcCentral *c, const NcCaller *caller, const char *key,
                             GError **err);
/* Refused (409) while a VM uses the image. */
json_t *nc_image_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                                GError **err);
