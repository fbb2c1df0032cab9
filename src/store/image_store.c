/* image_store.c: images in the store. */
#include "image_store.h"
#include "util/nc_error.h"
#include "util/nc_valid.h"

#define NC_IMAGE_COLUMNS \
    "id, project, name, public, format, file, size_bytes, virtual_size_bytes," \
    " kernel, initrd, cmdline, state, created_at, ready_at"

static NcImage *
nc_image_from_row(NcRows *r)
{
    NcImage *img = nc_image_new();
    img->id = nc_rows_dup(r, 0);
    img->project = nc_rows_dup(r, 1);
    img->name = nc_rows_dup(r, 2);
    img->is_public = nc_rows_int(r, 3) != 0;
    img->format = nc_rows_dup(r, 4);
    img->file = nc_rows_dup(r, 5);
    img->size_bytes = (uint64_t)nc_rows_int(r, 6);
    img->virtual_size_bytes = (uint64_t)nc_rows_int(r, 7);
    img->kernel = nc_rows_dup(r, 8);
    img->initrd = nc_rows_dup(r, 9);
    img->cmdline = nc_rows_dup(r, 10);
    img->state = nc_rows_dup(r, 11);
    img->created_at = nc_rows_int(r, 12);
    img->ready_at = nc_rows_int(r, 13);
    return img;
}

int
nc_store_image_insert(NcStore *st, const NcImage *img, GError **err)
{
    if (nc_store_exec(st, err,
                      "INSERT INTO images (" NC_IMAGE_COLUMNS ")"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
                      NC_TEXT(img->id), NC_TEXT(img->project), NC_TEXT(img->name),
                      NC_INT(img->is_public), NC_TEXT(img->format), NC_TEXT(img->file),
                      NC_INT(img->size_bytes), NC_INT(img->virtual_size_bytes),
                      NC_TEXT(img->kernel), NC_TEXT(img->initrd), NC_TEXT(img->cmdline),
                      NC_TEXT(img->state), NC_INT(img->created_at),
                      NC_INT(img->ready_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "an image named '%s' already exists", img->name);
        }
        return -1;
    }
    return 0;
}

NcImage *
nc_store_image_get(NcStore *st, const char *project, const char *key, GError **err)
{
    g_autoptr(NcRows) r = NULL;
    if (nc_uuid_is_valid(key))
        r = nc_store_query(st, err, "SELECT " NC_IMAGE_COLUMNS " FROM images WHERE id = $1"
                           " AND (CAST($2 AS TEXT) IS NULL OR project = $2 OR public = 1)",
                           NC_TEXT(key), NC_TEXT(project), NC_END);
    else
        r = nc_store_query(st, err, "SELECT " NC_IMAGE_COLUMNS " FROM images WHERE name = $1"
                           " AND (CAST($2 AS TEXT) IS NULL OR project = $2 OR public = 1)"
                           " ORDER BY CASE WHEN project = $2 THEN 0 ELSE 1 END, created_at"
                           " LIMIT 1",
                           NC_TEXT(key), NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no image '%.64s'", key))
        return NULL;
    return nc_image_from_row(r);
}

GPtrArray *
nc_store_image_list(NcStore *st, const char *project, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_IMAGE_COLUMNS " FROM images"
                                         " WHERE CAST($1 AS TEXT) IS NULL OR project = $1"
                                         " OR public = 1"
                                         " ORDER BY name, created_at",
                                         NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_image_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        g_ptr_array_add(out, nc_image_from_row(r));
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_image_delete(NcStore *st, const char *id, GError **err)
{
    return nc_store_exec(st, err, "DELETE FROM images WHERE id = $1", NC_TEXT(id), NC_END) < 0
               ? -1 : 0;
}

int
nc_store_image_set_ready(NcStore *st, const char *id, int64_t size_bytes, int64_t ready_at,
                         GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE images SET state = 'available', size_bytes = $2, ready_at = $3"
                         " WHERE id = $1",
                         NC_TEXT(id), NC_INT(size_bytes), NC_INT(ready_at), NC_END) < 0 ? -1 : 0;
}
