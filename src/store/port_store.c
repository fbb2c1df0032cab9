/* port_store.c: port forwards in the store. */
#include "port_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#define NC_PORT_COLUMNS \
    "p.id, p.project, p.vm, p.host, p.host_port, p.guest_port, p.state, p.error, p.parent," \
    " p.created_at, v.name, h.name"
#define NC_PORT_FROM \
    " FROM ports p LEFT JOIN vms v ON v.id = p.vm LEFT JOIN hosts h ON h.id = p.host "

static GPtrArray *
nc_port_collect(NcRows *rows, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_port_free);
    GError *local = NULL;
    while (nc_rows_next(rows, &local)) {
        NcPort *p = nc_port_new();
        p->id = nc_rows_dup(rows, 0);
        p->project = nc_rows_dup(rows, 1);
        p->vm = nc_rows_dup(rows, 2);
        p->host = nc_rows_dup(rows, 3);
        p->host_port = (int)nc_rows_int(rows, 4);
        p->guest_port = (int)nc_rows_int(rows, 5);
        p->state = nc_rows_dup(rows, 6);
        p->error = nc_rows_dup(rows, 7);
        const char *parent = nc_rows_text(rows, 8);
        if (parent) {
            json_error_t jerr;
            p->parent = json_loads(parent, 0, &jerr);
        }
        p->created_at = nc_rows_int(rows, 9);
        p->vm_name = nc_rows_dup(rows, 10);
        p->host_name = nc_rows_dup(rows, 11);
        g_ptr_array_add(out, p);
    }
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

int
nc_store_port_insert(NcStore *st, const NcPort *p, GError **err)
{
    g_autofree char *parent = p->parent ? nc_json_dumps(p->parent) : NULL;
    if (nc_store_exec(st, err,
                      "INSERT INTO ports (id, project, vm, host, host_port, guest_port, state,"
                      " error, parent, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                      NC_TEXT(p->id), NC_TEXT(p->project), NC_TEXT(p->vm), NC_TEXT(p->host),
                      NC_INT(p->host_port), NC_INT(p->guest_port), NC_TEXT(p->state),
                      NC_TEXT(p->error), NC_TEXT(parent), NC_INT(p->created_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "port %d of the VM's host is already forwarded",
                         p->host_port);
        }
        return -1;
    }
    return 0;
}

NcPort *
nc_store_port_get(NcStore *st, const char *vm, int host_port, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_PORT_COLUMNS NC_PORT_FROM
                                            "WHERE p.vm = $1 AND p.host_port = $2",
                                            NC_TEXT(vm), NC_INT(host_port), NC_END);
    if (!rows)
        return NULL;
    g_autoptr(GPtrArray) found = nc_port_collect(rows, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "the VM has no forward on port %d", host_port);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_port_list(NcStore *st, const char *vm, const char *host, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_PORT_COLUMNS NC_PORT_FROM
                                            "WHERE (CAST($1 AS TEXT) IS NULL OR p.vm = $1)"
                                            " AND (CAST($2 AS TEXT) IS NULL OR p.host = $2)"
                                            " ORDER BY p.host_port",
                                            NC_TEXT(vm), NC_TEXT(host), NC_END);
    return rows ? nc_port_collect(rows, err) : NULL;
}

int
nc_store_port_update(NcStore *st, const NcPort *p, GError **err)
{
    g_autofree char *parent = p->parent ? nc_json_dumps(p->parent) : NULL;
    return nc_store_exec(st, err,
                         "UPDATE ports SET state = $2, error = $3, parent = $4 WHERE id = $1",
                         NC_TEXT(p->id), NC_TEXT(p->state), NC_TEXT(p->error), NC_TEXT(parent),
                         NC_END) < 0 ? -1 : 0;
}

int
nc_store_port_delete(NcStore *st, const char *id, GError **err)
{
    return nc_store_exec(st, err, "DELETE FROM ports WHERE id = $1", NC_TEXT(id), NC_END) < 0
               ? -1 : 0;
}

int
nc_store_port_delete_vm(NcStore *st, const char *vm, GError **err)
{
    return nc_store_exec(st, err, "DELETE FROM ports WHERE vm = $1", NC_TEXT(vm), NC_END) < 0
               ? -1 : 0;
}

NcPort *
nc_store_port_get_id(NcStore *st, const char *id, GError **err)
{
    g_autoptr(NcRows) rows = nc_store_query(st, err,
                                            "SELECT " NC_PORT_COLUMNS NC_PORT_FROM "WHERE p.id = $1",
                                            NC_TEXT(id), NC_END);
    if (!rows)
        return NULL;
    g_autoptr(GPtrArray) found = nc_port_collect(rows, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no port forward '%.64s'", id);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}
