/* host_store.c: hosts and their allocations. */
#include "host_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#define NC_HOST_COLUMNS_BUT(info) \
    "id, name, state, accel, nested, vcpus, memory_mib, disk_gib, reserved_memory_mib," \
    " cpu_ratio, ram_ratio, disk_ratio, alloc_vcpus, alloc_memory_mib, alloc_disk_gib, " \
    info ", last_seen, created_at, disabled, disabled_reason"
#define NC_HOST_COLUMNS NC_HOST_COLUMNS_BUT("info")

static NcHost *
nc_host_from_row(NcRows *r)
{
    NcHost *h = nc_host_new();
    json_error_t jerr;

    h->id = nc_rows_dup(r, 0);
    h->name = nc_rows_dup(r, 1);
    h->state = nc_rows_dup(r, 2);
    h->accel = nc_rows_dup(r, 3);
    h->nested = nc_rows_int(r, 4) != 0;
    h->vcpus = nc_rows_int(r, 5);
    h->memory_mib = nc_rows_int(r, 6);
    h->disk_gib = nc_rows_int(r, 7);
    h->reserved_memory_mib = nc_rows_int(r, 8);
    h->cpu_ratio = nc_rows_int(r, 9);
    h->ram_ratio = nc_rows_int(r, 10);
    h->disk_ratio = nc_rows_int(r, 11);
    h->alloc_vcpus = nc_rows_int(r, 12);
    h->alloc_memory_mib = nc_rows_int(r, 13);
    h->alloc_disk_gib = nc_rows_int(r, 14);
    const char *text = nc_rows_text(r, 15);
    json_t *info = text ? json_loads(text, 0, &jerr) : NULL;
    if (json_is_object(info)) {
        json_decref(h->info);
        h->info = info;
    } else {
        json_decref(info);
    }
    h->last_seen = nc_rows_int(r, 16);
    h->created_at = nc_rows_int(r, 17);
    h->disabled = nc_rows_int(r, 18) != 0;
    h->disabled_reason = nc_rows_dup(r, 19);
    return h;
}

int
nc_store_host_register(NcStore *st, const NcHost *h, GError **err)
{
    g_autofree char *info = nc_json_dumps(h->info);
    int64_t now = nc_now_ms();

    return nc_store_exec(st, err,
                         "INSERT INTO hosts (id, name, state, accel, nested, vcpus, memory_mib,"
                         " disk_gib, reserved_memory_mib, cpu_ratio, ram_ratio, disk_ratio,"
                         " info, last_seen, created_at)"
                         " VALUES ($1,$2,'up',$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13)"
                         " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                         " state = 'up', accel = excluded.accel, nested = excluded.nested,"
                         " vcpus = excluded.vcpus, memory_mib = excluded.memory_mib,"
                         " disk_gib = excluded.disk_gib, info = excluded.info,"
                         " last_seen = excluded.last_seen",
                         NC_TEXT(h->id), NC_TEXT(h->name), NC_TEXT(h->accel),
                         NC_INT(h->nested), NC_INT(h->vcpus), NC_INT(h->memory_mib),
                         NC_INT(h->disk_gib), NC_INT(h->reserved_memory_mib),
                         NC_INT(h->cpu_ratio), NC_INT(h->ram_ratio), NC_INT(h->disk_ratio),
                         NC_TEXT(info), NC_INT(now), NC_END) < 0 ? -1 : 0;
}

NcHost *
nc_store_host_get(NcStore *st, const char *key, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_HOST_COLUMNS " FROM hosts"
                                         " WHERE id = $1 OR name = $1 LIMIT 1",
                                         NC_TEXT(key), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no host '%.64s'", key))
        return NULL;
    return nc_host_from_row(r);
}

GPtrArray *
nc_store_host_list(NcStore *st, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_HOST_COLUMNS " FROM hosts ORDER BY name",
                                         NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        g_ptr_array_add(out, nc_host_from_row(r));
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_host_claim(NcStore *st, NcHostClaim kind, const char *host_id, int64_t vcpus,
                    int64_t memory_mib, int64_t disk_gib, NcHost **ret_host, GError **err)
{
#define NC_HOST_CLAIM(cond) \
    "UPDATE hosts SET alloc_vcpus = alloc_vcpus + $2," \
    " alloc_memory_mib = alloc_memory_mib + $3," \
    " alloc_disk_gib = alloc_disk_gib + $4" \
    " WHERE id = $1 AND state = 'up'" cond \
    " AND alloc_vcpus + $2 <= vcpus * cpu_ratio / 1000" \
    " AND alloc_memory_mib + $3 <=" \
    "     (memory_mib - reserved_memory_mib) * ram_ratio / 1000" \
    " AND alloc_disk_gib + $4 <= disk_gib * disk_ratio / 1000"
    g_assert(vcpus >= 0 && memory_mib >= 0 && disk_gib >= 0);
    const char *sql = kind == NC_HOST_CLAIM_PLACE ? NC_HOST_CLAIM(" AND disabled = 0")
                                                  : NC_HOST_CLAIM("");
    int64_t n = nc_store_exec(st, err, sql, NC_TEXT(host_id), NC_INT(vcpus),
                              NC_INT(memory_mib), NC_INT(disk_gib), NC_END);
#undef NC_HOST_CLAIM
    if (n <= 0)
        return n < 0 ? -1 : 0;
    if (!ret_host)
        return 1;
    /* not UPDATE ... RETURNING: SQLite buffers its rows in a temporary
     * table, which costs more than this second statement */
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT " NC_HOST_COLUMNS_BUT("NULL") " FROM hosts"
                                         " WHERE id = $1",
                                         NC_TEXT(host_id), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_first(r, err, "host '%.64s' vanished after its claim", host_id))
        return -1;
    *ret_host = nc_host_from_row(r);
    return 1;
}

int
nc_store_host_release(NcStore *st, const char *host_id, int64_t vcpus,
                      int64_t memory_mib, int64_t disk_gib, GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE hosts SET"
                         " alloc_vcpus = CASE WHEN alloc_vcpus < $2 THEN 0 ELSE alloc_vcpus - $2 END,"
                         " alloc_memory_mib = CASE WHEN alloc_memory_mib < $3 THEN 0 ELSE alloc_memory_mib - $3 END,"
                         " alloc_disk_gib = CASE WHEN alloc_disk_gib < $4 THEN 0 ELSE alloc_disk_gib - $4 END"
                         " WHERE id = $1",
                         NC_TEXT(host_id), NC_INT(vcpus), NC_INT(memory_mib),
                         NC_INT(disk_gib), NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_set_state(NcStore *st, const char *host_id, const char *state,
                        GError **err)
{
    return nc_store_exec(st, err, "UPDATE hosts SET state = $2 WHERE id = $1",
                         NC_TEXT(host_id), NC_TEXT(state), NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_seen(NcStore *st, const char *host_id, int64_t now_ms, GError **err)
{
    int64_t was_down = nc_store_exec(st, err,
                                     "UPDATE hosts SET state = 'up', last_seen = $2"
                                     " WHERE id = $1 AND state <> 'up'",
                                     NC_TEXT(host_id), NC_INT(now_ms), NC_END);
    if (was_down < 0)
        return -1;
    if (was_down > 0)
        return 1;
    return nc_store_exec(st, err, "UPDATE hosts SET last_seen = $2 WHERE id = $1",
                         NC_TEXT(host_id), NC_INT(now_ms), NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_set_enabled(NcStore *st, const char *host_id, bool enabled, const char *reason,
                          GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE hosts SET disabled = $2, disabled_reason = $3 WHERE id = $1",
                         NC_TEXT(host_id), NC_INT(!enabled), NC_TEXT(enabled ? NULL : reason),
                         NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_set_policy(NcStore *st, const char *host_id, int64_t cpu_ratio,
                         int64_t ram_ratio, int64_t disk_ratio,
                         int64_t reserved_memory_mib, GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE hosts SET"
                         " cpu_ratio = CASE WHEN CAST($2 AS BIGINT) < 0 THEN cpu_ratio"
                         "   ELSE CAST($2 AS BIGINT) END,"
                         " ram_ratio = CASE WHEN CAST($3 AS BIGINT) < 0 THEN ram_ratio"
                         "   ELSE CAST($3 AS BIGINT) END,"
                         " disk_ratio = CASE WHEN CAST($4 AS BIGINT) < 0 THEN disk_ratio"
                         "   ELSE CAST($4 AS BIGINT) END,"
                         " reserved_memory_mib = CASE WHEN CAST($5 AS BIGINT) < 0"
                         "   THEN reserved_memory_mib ELSE CAST($5 AS BIGINT) END"
                         " WHERE id = $1",
                         NC_TEXT(host_id), NC_INT(cpu_ratio), NC_INT(ram_ratio),
                         NC_INT(disk_ratio), NC_INT(reserved_memory_mib), NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_holdings(NcStore *st, const char *host_id, NcHostHoldings *ret, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT (SELECT COUNT(*) FROM vms WHERE host = $1),"
                                         " (SELECT COUNT(*) FROM reservations WHERE host = $1"
                                         "  AND state IN ('scheduled', 'active')),"
                                         " (SELECT COUNT(*) FROM operations WHERE host = $1"
                                         "  AND status IN ('pending', 'running'))",
                                         NC_TEXT(host_id), NC_END);
    if (!r || !nc_rows_first(r, err, "no answer counting what host '%.64s' holds", host_id))
        return -1;
    ret->vms = nc_rows_int(r, 0);
    ret->reservations = nc_rows_int(r, 1);
    ret->operations = nc_rows_int(r, 2);
    return 0;
}

int
nc_store_host_delete(NcStore *st, const char *host_id, GError **err)
{
    if (nc_store_exec(st, err, "UPDATE reservations SET host = NULL WHERE host = $1",
                      NC_TEXT(host_id), NC_END) < 0)
        return -1;
    return nc_store_exec(st, err, "DELETE FROM hosts WHERE id = $1", NC_TEXT(host_id),
                         NC_END) < 0 ? -1 : 0;
}

int
nc_store_host_recount(NcStore *st, GError **err)
{
    return nc_store_exec(st, err,
                         "UPDATE hosts SET"
                         " alloc_vcpus = (SELECT COALESCE(SUM(vcpus), 0) FROM vms"
                         "   WHERE vms.host = hosts.id),"
                         " alloc_memory_mib = (SELECT COALESCE(SUM(memory_mib), 0) FROM vms"
                         "   WHERE vms.host = hosts.id),"
                         " alloc_disk_gib = (SELECT COALESCE(SUM(disk_gib), 0) FROM vms"
                         "   WHERE vms.host = hosts.id)",
                         NC_END) < 0 ? -1 : 0;
}
