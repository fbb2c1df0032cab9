/* reservation_store.c: reservations in the store. */
#include "reservation_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#define NC_RES_COLUMNS \
    "r.id, r.project, r.name, r.state, r.host, r.spec, r.start_at, r.end_at, r.keep, r.vm," \
    " r.error, r.created_at, r.updated_at, h.name"
#define NC_RES_FROM " FROM reservations r LEFT JOIN hosts h ON h.id = r.host "

static NcReservation *
nc_reservation_from_row(NcRows *rows, GError **err)
{
    json_error_t jerr;
    g_autoptr(json_t) spec = json_loads(nc_rows_text(rows, 5), 0, &jerr);
    g_autoptr(NcReservation) r = nc_reservation_new();
    r->spec = nc_vm_spec_from_json(spec, err);
    if (!r->spec)
        return NULL;
    r->id = nc_rows_dup(rows, 0);
    r->project = nc_rows_dup(rows, 1);
    r->name = nc_rows_dup(rows, 2);
    r->state = nc_rows_dup(rows, 3);
    r->host = nc_rows_dup(rows, 4);
    r->start_at = nc_rows_int(rows, 6);
    r->end_at = nc_rows_int(rows, 7);
    r->keep = nc_rows_int(rows, 8) != 0;
    r->vm = nc_rows_dup(rows, 9);
    r->error = nc_rows_dup(rows, 10);
    r->created_at = nc_rows_int(rows, 11);
    r->updated_at = nc_rows_int(rows, 12);
    r->host_name = nc_rows_dup(rows, 13);
    return g_steal_pointer(&r);
}

static GPtrArray *
nc_reservation_collect(NcRows *rows, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_reservation_free);
    GError *local = NULL;
    while (nc_rows_next(rows, &local)) {
        NcReservation *r = nc_reservation_from_row(rows, &local);
        if (!r)
            break;
        g_ptr_array_add(out, r);
    }
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_reservation_insert(NcStore *st, const NcReservation *r, GError **err)
{
    g_autoptr(json_t) spec = nc_vm_spec_to_json(r->spec);
    g_autofree char *text = nc_json_dumps(spec);
    if (nc_store_exec(st, err,
                      "INSERT INTO reservations (id, project, name, state, host, spec, vcpus,"
                      " memory_mib, disk_gib, start_at, end_at, keep, vm, error, created_at,"
                      " updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)",
                      NC_TEXT(r->id), NC_TEXT(r->project), NC_TEXT(r->name), NC_TEXT(r->state),
                      NC_TEXT(r->host), NC_TEXT(text), NC_INT(r->spec->vcpus),
                      NC_INT(r->spec->memory_mib), NC_INT(r->spec->disk_gib),
                      NC_INT(r->start_at), NC_INT(r->end_at), NC_INT(r->keep), NC_TEXT(r->vm),
                      NC_TEXT(r->error), NC_INT(r->created_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "a reservation named '%s' already exists",
                         r->name);
        }
        return -1;
    }
    return 0;
}

NcReservation *
nc_store_reservation_get(NcStore *st, const char *project, const char *key, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_RES_COLUMNS NC_RES_FROM
                                            "WHERE (r.id = $1 OR r.name = $1)"
                                            " AND (CAST($2 AS TEXT) IS NULL OR r.project = $2)"
                                            " ORDER BY CASE WHEN r.id = $1 THEN 0 ELSE 1 END"
                                            " LIMIT 2",
                                            NC_TEXT(key), NC_TEXT(project), NC_END);
    if (!rows)
        return NULL;
    g_autoptr(GPtrArray) found = nc_reservation_collect(rows, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no reservation '%.64s'", key);
        return NULL;
    }
    if (found->len > 1 && g_strcmp0(((NcReservation *)g_ptr_array_index(found, 0))->id, key) != 0) {
        nc_error_set(err, NC_ERR_CONFLICT,
                     "reservation name '%.64s' is used in several projects; use the id", key);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_reservation_list(NcStore *st, const char *project, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_RES_COLUMNS NC_RES_FROM
                                            "WHERE CAST($1 AS TEXT) IS NULL OR r.project = $1"
                                            " ORDER BY r.start_at, r.id",
                                            NC_TEXT(project), NC_END);
    return rows ? nc_reservation_collect(rows, err) : NULL;
}

GPtrArray *
nc_store_reservation_scheduled(NcStore *st, const char *host, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_RES_COLUMNS NC_RES_FROM
                                            "WHERE r.state = 'scheduled'"
                                            " AND (CAST($1 AS TEXT) IS NULL OR r.host = $1)"
                                            " ORDER BY r.start_at",
                                            NC_TEXT(host), NC_END);
    return rows ? nc_reservation_collect(rows, err) : NULL;
}

GPtrArray *
nc_store_reservation_due(NcStore *st, int64_t now_ms, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_RES_COLUMNS NC_RES_FROM
                                            "WHERE (r.state = 'scheduled' AND r.start_at <= $1)"
                                            " OR (r.state = 'active' AND r.end_at <= $1)"
                                            " ORDER BY r.start_at",
                                            NC_INT(now_ms), NC_END);
    return rows ? nc_reservation_collect(rows, err) : NULL;
}

int
nc_store_reservation_update(NcStore *st, NcReservation *r, GError **err)
{
    r->updated_at = nc_now_ms();
    return nc_store_exec(st, err,
                         "UPDATE reservations SET state = $2, host = $3, vm = $4, error = $5,"
                         " updated_at = $6 WHERE id = $1",
                         NC_TEXT(r->id), NC_TEXT(r->state), NC_TEXT(r->host), NC_TEXT(r->vm),
                         NC_TEXT(r->error), NC_INT(r->updated_at), NC_END) < 0 ? -1 : 0;
}
