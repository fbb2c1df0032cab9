/* volume_store.c: volumes and snapshots in the store. */
#include "volume_store.h"
#include "util/nc_error.h"
#include "util/nc_time.h"

#define NC_VOL_COLUMNS \
    "v.id, v.project, v.name, v.size_gib, v.filesystem, v.state, v.vm, v.device, v.host," \
    " v.op, v.error, v.created_at, v.updated_at, m.name, h.name"
#define NC_VOL_FROM " FROM volumes v LEFT JOIN vms m ON m.id = v.vm" \
    " LEFT JOIN hosts h ON h.id = v.host "

static NcVolume *
nc_volume_from_row(NcRows *r)
{
    NcVolume *v = nc_volume_new();
    v->id = nc_rows_dup(r, 0);
    v->project = nc_rows_dup(r, 1);
    v->name = nc_rows_dup(r, 2);
    v->size_gib = nc_rows_int(r, 3);
    v->filesystem = nc_rows_dup(r, 4);
    v->state = nc_rows_dup(r, 5);
    v->vm = nc_rows_dup(r, 6);
    v->device = nc_rows_dup(r, 7);
    v->host = nc_rows_dup(r, 8);
    v->op = nc_rows_dup(r, 9);
    v->error = nc_rows_dup(r, 10);
    v->created_at = nc_rows_int(r, 11);
    v->updated_at = nc_rows_int(r, 12);
    v->vm_name = nc_rows_dup(r, 13);
    v->host_name = nc_rows_dup(r, 14);
    return v;
}

static GPtrArray *
nc_volume_collect(NcRows *r, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_volume_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        g_ptr_array_add(out, nc_volume_from_row(r));
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_volume_insert(NcStore *st, const NcVolume *v, GError **err)
{
    if (nc_store_exec(st, err,
                      "INSERT INTO volumes (id, project, name, size_gib, filesystem, state, vm,"
                      " device, host, op, error, created_at, updated_at)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)",
                      NC_TEXT(v->id), NC_TEXT(v->project), NC_TEXT(v->name), NC_INT(v->size_gib),
                      NC_TEXT(v->filesystem), NC_TEXT(v->state), NC_TEXT(v->vm),
                      NC_TEXT(v->device), NC_TEXT(v->host), NC_TEXT(v->op), NC_TEXT(v->error),
                      NC_INT(v->created_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "a volume named '%s' already exists", v->name);
        }
        return -1;
    }
    return 0;
}

NcVolume *
nc_store_volume_get(NcStore *st, const char *project, const char *key, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_VOL_COLUMNS NC_VOL_FROM
                                         "WHERE (v.id = $1 OR v.name = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR v.project = $2)"
                                         " ORDER BY CASE WHEN v.id = $1 THEN 0 ELSE 1 END LIMIT 2",
                                         NC_TEXT(key), NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) found = nc_volume_collect(r, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no volume '%.64s'", key);
        return NULL;
    }
    if (found->len > 1 && g_strcmp0(((NcVolume *)g_ptr_array_index(found, 0))->id, key) != 0) {
        nc_error_set(err, NC_ERR_CONFLICT,
                     "volume name '%.64s' is used in several projects; use the id", key);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_volume_list(NcStore *st, const char *project, const char *vm, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_VOL_COLUMNS NC_VOL_FROM
                                         "WHERE (CAST($1 AS TEXT) IS NULL OR v.project = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR v.vm = $2)"
                                         " ORDER BY v.name, v.id",
                                         NC_TEXT(project), NC_TEXT(vm), NC_END);
    return r ? nc_volume_collect(r, err) : NULL;
}

int
nc_store_volume_update(NcStore *st, NcVolume *v, GError **err)
{
    v->updated_at = nc_now_ms();
    return nc_store_exec(st, err,
                         "UPDATE volumes SET size_gib = $2, state = $3, vm = $4, device = $5,"
                         " host = $6, op = $7, error = $8, updated_at = $9 WHERE id = $1",
                         NC_TEXT(v->id), NC_INT(v->size_gib), NC_TEXT(v->state), NC_TEXT(v->vm),
                         NC_TEXT(v->device), NC_TEXT(v->host), NC_TEXT(v->op), NC_TEXT(v->error),
                         NC_INT(v->updated_at), NC_END) < 0 ? -1 : 0;
}

int
nc_store_volume_delete(NcStore *st, const char *id, GError **err)
{
    return nc_store_exec(st, err, "DELETE FROM volumes WHERE id = $1", NC_TEXT(id), NC_END) < 0
               ? -1 : 0;
}

int
nc_store_volume_usage(NcStore *st, const char *project, int64_t *ret_count, int64_t *ret_gib,
                      GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT COUNT(*), COALESCE(SUM(size_gib), 0) FROM volumes"
                                         " WHERE project = $1", NC_TEXT(project), NC_END);
    if (!r || !nc_rows_next(r, err))
        return -1;
    *ret_count = nc_rows_int(r, 0);
    *ret_gib = nc_rows_int(r, 1);
    return 0;
}

/* ---- snapshots ---- */

#define NC_SNAP_COLUMNS \
    "s.id, s.project, s.name, s.vm, s.image, s.file, s.state, s.op, s.error, s.size_bytes," \
    " s.disk_gib, s.created_at, m.name"
#define NC_SNAP_FROM " FROM snapshots s LEFT JOIN vms m ON m.id = s.vm "

static NcSnapshot *
nc_snapshot_from_row(NcRows *r)
{
    NcSnapshot *s = nc_snapshot_new();
    s->id = nc_rows_dup(r, 0);
    s->project = nc_rows_dup(r, 1);
    s->name = nc_rows_dup(r, 2);
    s->vm = nc_rows_dup(r, 3);
    s->image = nc_rows_dup(r, 4);
    s->file = nc_rows_dup(r, 5);
    s->state = nc_rows_dup(r, 6);
    s->op = nc_rows_dup(r, 7);
    s->error = nc_rows_dup(r, 8);
    s->size_bytes = nc_rows_int(r, 9);
    s->disk_gib = nc_rows_int(r, 10);
    s->created_at = nc_rows_int(r, 11);
    s->vm_name = nc_rows_dup(r, 12);
    return s;
}

static GPtrArray *
nc_snapshot_collect(NcRows *r, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_snapshot_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        g_ptr_array_add(out, nc_snapshot_from_row(r));
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_snapshot_insert(NcStore *st, const NcSnapshot *s, GError **err)
{
    if (nc_store_exec(st, err,
                      "INSERT INTO snapshots (id, project, name, vm, image, file, state, op,"
                      " error, size_bytes, disk_gib, created_at)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                      NC_TEXT(s->id), NC_TEXT(s->project), NC_TEXT(s->name), NC_TEXT(s->vm),
                      NC_TEXT(s->image), NC_TEXT(s->file), NC_TEXT(s->state), NC_TEXT(s->op),
                      NC_TEXT(s->error), NC_INT(s->size_bytes), NC_INT(s->disk_gib),
                      NC_INT(s->created_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "a snapshot named '%s' already exists", s->name);
        }
        return -1;
    }
    return 0;
}

NcSnapshot *
nc_store_snapshot_get(NcStore *st, const char *project, const char *key, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_SNAP_COLUMNS NC_SNAP_FROM
                                         "WHERE (s.id = $1 OR s.name = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR s.project = $2)"
                                         " ORDER BY CASE WHEN s.id = $1 THEN 0 ELSE 1 END LIMIT 2",
                                         NC_TEXT(key), NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) found = nc_snapshot_collect(r, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no snapshot '%.64s'", key);
        return NULL;
    }
    if (found->len > 1 && g_strcmp0(((NcSnapshot *)g_ptr_array_index(found, 0))->id, key) != 0) {
        nc_error_set(err, NC_ERR_CONFLICT,
                     "snapshot name '%.64s' is used in several projects; use the id", key);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_snapshot_list(NcStore *st, const char *project, const char *vm, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_SNAP_COLUMNS NC_SNAP_FROM
                                         "WHERE (CAST($1 AS TEXT) IS NULL OR s.project = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR s.vm = $2)"
                                         " ORDER BY s.created_at, s.id",
                                         NC_TEXT(project), NC_TEXT(vm), NC_END);
    return r ? nc_snapshot_collect(r, err) : NULL;
}

int
nc_store_snapshot_update(NcStore *st, NcSnapshot *s, GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE snapshots SET state = $2, op = $3, error = $4, size_bytes = $5"
                         " WHERE id = $1",
                         NC_TEXT(s->id), NC_TEXT(s->state), NC_TEXT(s->op), NC_TEXT(s->error),
                         NC_INT(s->size_bytes), NC_END) < 0 ? -1 : 0;
}

int
nc_store_snapshot_delete(NcStore *st, const char *id, GError **err)
{
    return nc_store_exec(st, err, "DELETE FROM snapshots WHERE id = $1", NC_TEXT(id), NC_END) < 0
               ? -1 : 0;
}

int
nc_store_project_quota_get(NcStore *st, const char *project, int64_t *ret_volumes,
                           int64_t *ret_gib, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT quota_volumes, quota_volume_gib FROM projects"
                                         " WHERE id = $1", NC_TEXT(project), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_first(r, err, "no project '%.64s'", project))
        return -1;
    *ret_volumes = nc_rows_is_null(r, 0) ? NC_DEFAULT_QUOTA_VOLUMES : nc_rows_int(r, 0);
    *ret_gib = nc_rows_is_null(r, 1) ? NC_DEFAULT_QUOTA_VOLUME_GIB : nc_rows_int(r, 1);
    return 0;
}

int
nc_store_project_quota_set(NcStore *st, const char *project, int64_t volumes, int64_t gib,
                           GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE projects SET"
                         " quota_volumes = CASE WHEN CAST($2 AS BIGINT) < 0 THEN quota_volumes"
                         "   ELSE CAST($2 AS BIGINT) END,"
                         " quota_volume_gib = CASE WHEN CAST($3 AS BIGINT) < 0 THEN quota_volume_gib"
                         "   ELSE CAST($3 AS BIGINT) END"
                         " WHERE id = $1",
                         NC_TEXT(project), NC_INT(volumes), NC_INT(gib), NC_END) < 0 ? -1 : 0;
}
