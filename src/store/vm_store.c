/* vm_store.c: VMs in the store. */
#include "vm_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#define NC_VM_COLUMNS \
    "v.id, v.project, v.state, v.desired, v.host, v.spec, v.addresses, v.placement," \
    " v.error, v.op, v.created_at, v.updated_at, h.name"
#define NC_VM_FROM " FROM vms v LEFT JOIN hosts h ON h.id = v.host "

static NcVm *
nc_vm_from_row(NcRows *r, GError **err)
{
    json_error_t jerr;
    g_autoptr(json_t) spec = json_loads(nc_rows_text(r, 5), 0, &jerr);
    g_autoptr(NcVm) vm = nc_vm_new();

    vm->spec = nc_vm_spec_from_json(spec, err);
    if (!vm->spec)
        return NULL;
    vm->state = nc_vm_state_from_name(nc_rows_text(r, 2));
    if (vm->state == NC_VM_STATE_MAX)
        vm->state = NC_VM_ERROR;
    vm->desired = nc_rows_dup(r, 3);
    vm->host = nc_rows_dup(r, 4);
    json_t *addrs = json_loads(nc_rows_text(r, 6), 0, &jerr);
    if (json_is_array(addrs)) {
        json_decref(vm->addresses);
        vm->addresses = addrs;
    } else {
        json_decref(addrs);
    }
    vm->placement = nc_rows_dup(r, 7);
    vm->error = nc_rows_dup(r, 8);
    vm->op = nc_rows_dup(r, 9);
    vm->created_at = nc_rows_int(r, 10);
    vm->updated_at = nc_rows_int(r, 11);
    vm->host_name = nc_rows_dup(r, 12);
    return g_steal_pointer(&vm);
}

int
nc_store_vm_insert(NcStore *st, const NcVm *vm, const char *spec_text, GError **err)
{
    const NcVmSpec *s = vm->spec;
    g_autofree char *own_text = NULL;
    if (!spec_text) {
        g_autoptr(json_t) spec = nc_vm_spec_to_json(s);
        spec_text = own_text = nc_json_dumps(spec);
    }
    g_autofree char *addrs = nc_json_dumps(vm->addresses);

    if (nc_store_exec(st, err,
                      "INSERT INTO vms (id, project, name, state, desired, host, image,"
                      " vcpus, memory_mib, disk_gib, spec, addresses, placement, error, op,"
                      " created_at, updated_at, expires_at)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
                      NC_TEXT(s->id), NC_TEXT(s->project), NC_TEXT(s->name),
                      NC_TEXT(nc_vm_state_name(vm->state)), NC_TEXT(vm->desired),
                      NC_TEXT(vm->host), NC_TEXT(s->image), NC_INT(s->vcpus),
                      NC_INT(s->memory_mib), NC_INT(s->disk_gib), NC_TEXT(spec_text),
                      NC_TEXT(addrs), NC_TEXT(vm->placement), NC_TEXT(vm->error),
                      NC_TEXT(vm->op), NC_INT(vm->created_at), NC_INT(vm->updated_at),
                      NC_INT(s->expires_at), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "a VM named '%s' already exists", s->name);
        }
        return -1;
    }
    return nc_store_exec(st, err, "UPDATE projects SET vm_count = vm_count + 1 WHERE id = $1",
                         NC_TEXT(s->project), NC_END) < 0 ? -1 : 0;
}

static GPtrArray *
nc_vm_rows_collect(NcRows *r, GError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)nc_vm_free);
    GError *local = NULL;

    while (nc_rows_next(r, &local)) {
        NcVm *vm = nc_vm_from_row(r, &local);
        if (!vm)
            break;
        g_ptr_array_add(out, vm);
    }
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

NcVm *
nc_store_vm_get(NcStore *st, const char *project, const char *key, GError **err)
{
    g_autoptr(NcRows) r = NULL;

    if (nc_uuid_is_valid(key))
        r = nc_store_query(st, err, "SELECT " NC_VM_COLUMNS NC_VM_FROM
                           "WHERE v.id = $1 AND (CAST($2 AS TEXT) IS NULL OR v.project = $2)",
                           NC_TEXT(key), NC_TEXT(project), NC_END);
    else
        r = nc_store_query(st, err, "SELECT " NC_VM_COLUMNS NC_VM_FROM
                           "WHERE v.name = $1 AND (CAST($2 AS TEXT) IS NULL OR v.project = $2)"
                           " LIMIT 2",
                           NC_TEXT(key), NC_TEXT(project), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GPtrArray) found = nc_vm_rows_collect(r, err);
    if (!found)
        return NULL;
    if (found->len == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no VM '%.64s'", key);
        return NULL;
    }
    if (found->len > 1) {
        nc_error_set(err, NC_ERR_CONFLICT,
                     "VM name '%.64s' is used in several projects; use the id", key);
        return NULL;
    }
    return g_ptr_array_steal_index(found, 0);
}

GPtrArray *
nc_store_vm_list(NcStore *st, const char *project, const char *host, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT " NC_VM_COLUMNS NC_VM_FROM
                                         "WHERE (CAST($1 AS TEXT) IS NULL OR v.project = $1)"
                                         " AND (CAST($2 AS TEXT) IS NULL OR v.host = $2)"
                                         " ORDER BY v.created_at, v.id",
                                         NC_TEXT(project), NC_TEXT(host), NC_END);
    if (!r)
        return NULL;
    return nc_vm_rows_collect(r, err);
}

GPtrArray *
nc_store_vm_list_expiring(NcStore *st, int64_t now, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT " NC_VM_COLUMNS NC_VM_FROM
                                         "WHERE v.expires_at > 0 AND v.expires_at <= $1"
                                         " ORDER BY v.created_at, v.id", NC_INT(now), NC_END);
    if (!r)
        return NULL;
    return nc_vm_rows_collect(r, err);
}

int
nc_store_vm_backfill_expiry(NcStore *st, GError **err)
{
    /* once: later writes keep the column in step */
    GError *local = NULL;
    g_autofree char *done = nc_store_meta_get(st, "vms_expiry_column", &local);
    if (local) {
        g_propagate_error(err, local);
        return -1;
    }
    if (done)
        return 0;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, st, err) < 0)
        return -1;
    /* the spec holds the key only when an expiry is set; a user's text that
     * happens to contain it is a harmless false positive */
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT " NC_VM_COLUMNS NC_VM_FROM
                                         "WHERE v.expires_at = 0"
                                         " AND v.spec LIKE '%expires_at%'", NC_END);
    if (!r)
        return -1;
    g_autoptr(GPtrArray) vms = nc_vm_rows_collect(r, err);
    if (!vms)
        return -1;
    g_clear_pointer(&r, nc_rows_free);
    for (guint i = 0; i < vms->len; i++) {
        const NcVmSpec *s = ((NcVm *)g_ptr_array_index(vms, i))->spec;
        if (s->expires_at > 0 &&
            nc_store_exec(st, err, "UPDATE vms SET expires_at = $2 WHERE id = $1",
                          NC_TEXT(s->id), NC_INT(s->expires_at), NC_END) < 0)
            return -1;
    }
    if (nc_store_meta_set(st, "vms_expiry_column", "filled", err) < 0)
        return -1;
    return nc_store_txn_commit(&txn, err);
}

void
nc_vm_brief_free(NcVmBrief *b)
{
    if (!b)
        return;
    g_free(b->id);
    g_free(b);
}

static bool
nc_addresses_none(const char *text)
{
    g_autoptr(json_t) a = text ? json_loads(text, 0, NULL) : NULL;
    size_t i;
    json_t *v;
    if (a && !json_is_array(a))
        return false;
    json_array_foreach(a, i, v) {
        if (!json_is_null(v))
            return false;
    }
    return true;
}

GHashTable *
nc_store_vm_briefs(NcStore *st, const char *host, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT id, state, op, updated_at, addresses FROM vms"
                                         " WHERE host = $1", NC_TEXT(host), NC_END);
    if (!r)
        return NULL;
    g_autoptr(GHashTable) out = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                      (GDestroyNotify)nc_vm_brief_free);
    GError *local = NULL;
    while (nc_rows_next(r, &local)) {
        NcVmBrief *b = g_new0(NcVmBrief, 1);
        b->id = nc_rows_dup(r, 0);
        b->state = nc_vm_state_from_name(nc_rows_text(r, 1));
        if (b->state == NC_VM_STATE_MAX)
            b->state = NC_VM_ERROR;
        b->busy = nc_rows_text(r, 2) != NULL;
        b->updated_at = nc_rows_int(r, 3);
        b->no_addresses = nc_addresses_none(nc_rows_text(r, 4));
        g_hash_table_insert(out, b->id, b);
    }
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    return g_steal_pointer(&out);
}

json_t *
nc_store_vm_count_by_state(NcStore *st, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT state, COUNT(*) FROM vms GROUP BY state",
                                         NC_END);
    if (!r)
        return NULL;
    json_t *out = json_object();
    GError *local = NULL;
    while (nc_rows_next(r, &local))
        json_object_set_new(out, nc_rows_text(r, 0), json_integer(nc_rows_int(r, 1)));
    if (local) {
        json_decref(out);
        g_propagate_error(err, local);
        return NULL;
    }
    return out;
}

int
nc_store_vm_update(NcStore *st, NcVm *vm, GError **err)
{
    const NcVmSpec *s = vm->spec;
    g_autoptr(json_t) spec = nc_vm_spec_to_json(s);
    g_autofree char *spec_text = nc_json_dumps(spec);
    g_autofree char *addrs = nc_json_dumps(vm->addresses);

    vm->updated_at = nc_now_ms();
    int64_t n = nc_store_exec(st, err,
                              "UPDATE vms SET state = $2, desired = $3, host = $4,"
                              " vcpus = $5, memory_mib = $6, disk_gib = $7, spec = $8,"
                              " addresses = $9, placement = $10, error = $11, op = $12,"
                              " updated_at = $13, expires_at = $14 WHERE id = $1",
                              NC_TEXT(s->id), NC_TEXT(nc_vm_state_name(vm->state)),
                              NC_TEXT(vm->desired), NC_TEXT(vm->host), NC_INT(s->vcpus),
                              NC_INT(s->memory_mib), NC_INT(s->disk_gib), NC_TEXT(spec_text),
                              NC_TEXT(addrs), NC_TEXT(vm->placement), NC_TEXT(vm->error),
                              NC_TEXT(vm->op), NC_INT(vm->updated_at), NC_INT(s->expires_at),
                              NC_END);
    return nc_store_found(n, err, "no VM '%s'", s->id);
}

int
nc_store_vm_set_evacuated_from(NcStore *st, const char *id, const char *host_id, GError **err)
{
    int64_t n = nc_store_exec(st, err, "UPDATE vms SET evacuated_from = $2 WHERE id = $1",
                              NC_TEXT(id), NC_TEXT(host_id), NC_END);
    return nc_store_found(n, err, "no VM '%s'", id);
}

char *
nc_store_vm_evacuated_from(NcStore *st, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT evacuated_from FROM vms WHERE id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r)
        return NULL;
    GError *local = NULL;
    char *out = nc_rows_next(r, &local) ? nc_rows_dup(r, 0) : NULL;
    if (local)
        g_propagate_error(err, local);
    return out;
}

void
nc_vm_status_free(NcVmStatus *s)
{
    if (!s)
        return;
    g_free(s->id);
    g_free(s->project);
    g_free(s->name);
    g_free(s->desired);
    g_free(s->host);
    g_free(s->host_name);
    g_free(s->error);
    g_free(s->op);
    g_free(s);
}

NcVmStatus *
nc_store_vm_status_get(NcStore *st, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT v.id, v.project, v.name, v.state, v.desired,"
                                         " v.host, h.name, v.error, v.op" NC_VM_FROM
                                         "WHERE v.id = $1", NC_TEXT(id), NC_END);
    if (!r)
        return NULL;
    GError *local = NULL;
    if (!nc_rows_next(r, &local)) {
        if (!local)
            nc_error_set(&local, NC_ERR_NOT_FOUND, "no VM '%.64s'", id);
        g_propagate_error(err, local);
        return NULL;
    }
    NcVmStatus *s = g_new0(NcVmStatus, 1);
    s->id = nc_rows_dup(r, 0);
    s->project = nc_rows_dup(r, 1);
    s->name = nc_rows_dup(r, 2);
    s->state = nc_vm_state_from_name(nc_rows_text(r, 3));
    if (s->state == NC_VM_STATE_MAX)
        s->state = NC_VM_ERROR;
    s->desired = nc_rows_dup(r, 4);
    s->host = nc_rows_dup(r, 5);
    s->host_name = nc_rows_dup(r, 6);
    s->error = nc_rows_dup(r, 7);
    s->op = nc_rows_dup(r, 8);
    return s;
}

int
nc_store_vm_status_update(NcStore *st, const NcVmStatus *s, GError **err)
{
    int64_t n = nc_store_exec(st, err,
                              "UPDATE vms SET state = $2, desired = $3, error = $4, op = $5,"
                              " updated_at = $6 WHERE id = $1",
                              NC_TEXT(s->id), NC_TEXT(nc_vm_state_name(s->state)),
                              NC_TEXT(s->desired), NC_TEXT(s->error), NC_TEXT(s->op),
                              NC_INT(nc_now_ms()), NC_END);
    return nc_store_found(n, err, "no VM '%s'", s->id);
}

int
nc_store_vm_delete(NcStore *st, const char *id, GError **err)
{
    /* the project's count first: the row is still there to name it */
    if (nc_store_exec(st, err, "UPDATE projects SET vm_count = vm_count - 1"
                      " WHERE id = (SELECT project FROM vms WHERE id = $1)",
                      NC_TEXT(id), NC_END) < 0)
        return -1;
    return nc_store_exec(st, err, "DELETE FROM vms WHERE id = $1", NC_TEXT(id), NC_END) < 0
               ? -1 : 0;
}

static int64_t
nc_store_count(NcStore *st, const char *sql, const char *arg, GError **err)
{
    g_autoptr(NcRows) r = nc__store_query(st, sql, (const NcVal[]){ NC_TEXT(arg), NC_END }, err);
    if (!r || !nc_rows_next(r, err))
        return -1;
    return nc_rows_int(r, 0);
}

int64_t
nc_store_vm_count(NcStore *st, const char *project, GError **err)
{
    /* kept by nc_store_vm_insert and nc_store_vm_delete (schema 6) */
    return nc_store_count(st, "SELECT COALESCE((SELECT vm_count FROM projects WHERE id = $1), 0)",
                          project, err);
}

int64_t
nc_store_vm_count_image(NcStore *st, const char *image_id, GError **err)
{
    return nc_store_count(st, "SELECT COUNT(*) FROM vms WHERE image = $1", image_id, err);
}
