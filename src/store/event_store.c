/* event_store.c: the event log. */
#include "event_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

void
nc_event_free(NcEvent *ev)
{
    if (!ev)
        return;
    g_free(ev->project);
    g_free(ev->type);
    g_free(ev->object_kind);
    g_free(ev->object_id);
    json_decref(ev->data);
    g_free(ev);
}

int
nc_store_event_append(NcStore *st, const char *project, const char *type,
                      const char *object_kind, const char *object_id, json_t *data,
                      GError **err)
{
    g_autoptr(json_t) owned = data ? data : json_object();
    g_autofree char *text = nc_json_dumps(owned);
    return nc_store_exec(st, err,
                         "INSERT INTO events (time, project, type, object_kind,"
                         " object_id, data) VALUES ($1,$2,$3,$4,$5,$6)",
                         NC_INT(nc_now_ms()), NC_TEXT(project), NC_TEXT(type),
                         NC_TEXT(object_kind), NC_TEXT(object_id), NC_TEXT(text),
                         NC_END) < 0 ? -1 : 0;
}

GPtrArray *
nc_store_event_list(NcStore *st, const char *project, int64_t after_seq, int limit,
                    GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT seq, time, project, type, object_kind,"
                                         " object_id, data FROM events"
                                         " WHERE seq > $1"
                                         " AND (CAST($2 AS TEXT) IS NULL OR project = $2)"
                                         " ORDER BY seq LIMIT CAST($3 AS BIGINT)",
                                         NC_INT(after_seq), NC_TEXT(project), NC_INT(limit),
                                         NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_event_free);
    GError *local = NULL;
    json_error_t jerr;
    while (nc_rows_next(r, &local)) {
        NcEvent *ev = g_new0(NcEvent, 1);
        ev->seq = nc_rows_int(r, 0);
        ev->time = nc_rows_int(r, 1);
        ev->project = nc_rows_dup(r, 2);
        ev->type = nc_rows_dup(r, 3);
        ev->object_kind = nc_rows_dup(r, 4);
        ev->object_id = nc_rows_dup(r, 5);
        ev->data = json_loads(nc_rows_text(r, 6), 0, &jerr);
        if (!ev->data)
            ev->data = json_object();
        g_ptr_array_add(out, ev);
    }
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int64_t
nc_store_event_last(NcStore *st, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT COALESCE(MAX(seq), 0) FROM events",
                                         NC_END);
    if (!r || !nc_rows_next(r, err))
        return -1;
    return nc_rows_int(r, 0);
}

int64_t
nc_store_event_prune(NcStore *st, int64_t keep, GError **err)
{
    return nc_store_exec(st, err,
                         "DELETE FROM events WHERE seq <= (SELECT COALESCE(MAX(seq), 0)"
                         " FROM events) - $1",
                         NC_INT(keep), NC_END);
}
