/* image_store.h: images in the store. */
#pragma once

#include "store.h"
#include "conf/image_conf.h"

/* NC_ERR_CONFLICT when the project already has the name. */
int nc_store_image_insert(NcStore *st, const NcImage *img, GError **err);

/* Finds an image by id or name visible to @project (its own or public;
 * NULL = any).  A project's own image wins over a public one of the same
 * name.  NC_ERR_NOT_FOUND when absent. */
NcImage *nc_store_image_get(NcStore *st, const char *project, const char *key,
                            GError **err);

/* Returns: (element-type NcImage): images visible to @project. */
GPtrArray *nc_store_image_list(NcStore *st, const char *project, GError **err);

int nc_store_image_delete(NcStore *st, const char *id, GError **err);

/* Marks an image available, with its size on disk and the time its file
 * became whole (the scheduler trusts only image lists taken after it). */
int nc_store_image_set_ready(NcStore *st, const char *id, int64_t size_bytes, int64_t ready_at,
                             GError **err);
