/* host_service.c: hosts, heartbeats, and the drift they reveal. */
#include "host_service.h"
#include "central_priv.h"
#include "conf/limits.h"
#include "store/host_store.h"
#include "store/image_store.h"
#include "store/op_store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <math.h>
#include <string.h>

/* VMs changed this recently are left alone by drift checks: the heartbeat
 * may predate the change. */
#define NC_DRIFT_GRACE_MS 2000

static json_t *
nc_host_json(NcCentral *c, const NcCaller *caller, const NcHost *h, GError **err)
{
    json_t *o = nc_host_to_api_json(h);
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NC_SCOPE(caller), h->id, err);
    if (!vms) {
        json_decref(o);
        return NULL;
    }
    json_t *list = json_array();
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:I}", "id", vm->spec->id,
                                              "name", vm->spec->name,
                                              "state", nc_vm_state_name(vm->state),
                                              "vcpus", vm->spec->vcpus,
                                              "memory_mib", (json_int_t)vm->spec->memory_mib));
    }
    json_object_set_new(o, "vms", list);
    return o;
}

void
nc__host_images_free(NcHostImages *hi)
{
    g_hash_table_unref(hi->files);
    g_free(hi);
}

json_t *
nc_host_service_list(NcCentral *c, const NcCaller *caller, GError **err)
{
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return NULL;
    json_t *list = json_array();
    for (guint i = 0; i < hosts->len; i++) {
        json_t *h = nc_host_json(c, caller, g_ptr_array_index(hosts, i), err);
        if (!h) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, h);
    }
    return json_pack("{s:o}", "hosts", list);
}

json_t *
nc_host_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcHost) h = nc_store_host_get(c->store, key, err);
    return h ? nc_host_json(c, caller, h, err) : NULL;
}

static int
nc_host_ratio(json_t *req, const char *key, int64_t *ret, GError **err)
{
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || json_number_value(v) < 0.1 || json_number_value(v) > 64.0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "field '%s' must be a number between 0.1 and 64", key);
        return -1;
    }
    *ret = (int64_t)llround(json_number_value(v) * 1000.0);
    return 0;
}

json_t *
nc_host_service_update(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                       GError **err)
{
    static const char *const keys[] = { "cpu_ratio", "ram_ratio", "disk_ratio",
                                        "reserved_memory_mib", "enabled", "disabled_reason",
                                        NULL };
    int64_t cpu = -1, ram = -1, disk = -1, reserved = -1;
    bool enabled = true;
    const char *reason = NULL;
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can change hosts");
        return NULL;
    }
    if (nc_json_check_keys(req, "a host change", keys, err) < 0 ||
        nc_host_ratio(req, "cpu_ratio", &cpu, err) < 0 ||
        nc_host_ratio(req, "ram_ratio", &ram, err) < 0 ||
        nc_host_ratio(req, "disk_ratio", &disk, err) < 0 ||
        nc_json_get_int(req, "reserved_memory_mib", false, 0, NC_LIMIT_MEMORY_MIB, &reserved,
                        err) < 0 ||
        nc_json_get_bool(req, "enabled", false, &enabled, err) < 0 ||
        nc_json_get_string(req, "disabled_reason", false, NC_LIMIT_REASON_BYTES, &reason,
                           err) < 0 ||
        nc_text_check("disabled_reason", reason, NC_LIMIT_REASON_BYTES, false, err) < 0)
        return NULL;
    bool set_enabled = nc_json_has(req, "enabled");
    if (reason && (!set_enabled || enabled)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "field 'disabled_reason' goes only with \"enabled\": false");
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcHost) h = nc_store_host_get(c->store, key, err);
    if (!h || nc_store_host_set_policy(c->store, h->id, cpu, ram, disk, reserved, err) < 0 ||
        (set_enabled && nc_store_host_set_enabled(c->store, h->id, enabled, reason, err) < 0) ||
        nc__central_event(c, NULL, "host.updated", "host", h->id, json_incref(req), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    nc__central_touch_host(c, h->id);
    nc__central_sync_hosts(c);
    nc__central_notify(c);
    return nc_host_service_get(c, caller, h->id, err);
}

/* Settles the operations in flight on @h, a host that will not answer
 * them, as if it had: a VM's delete succeeds (the VM went with the host),
 * the others fail with @code and @why. */
static int
nc_host_settle_ops(NcCentral *c, const NcHost *h, const char *code, const char *why,
                   GError **err)
{
    g_autoptr(GPtrArray) ops = nc_store_op_list_open(c->store, err);
    if (!ops)
        return -1;
    for (guint i = 0; i < ops->len; i++) {
        NcOperation *op = g_ptr_array_index(ops, i);
        if (g_strcmp0(op->host, h->id) != 0)
            continue;
        bool gone = g_strcmp0(op->kind, "vm.delete") == 0;
        g_autoptr(json_t) msg = json_pack("{s:s, s:b}", "op", op->id, "ok", gone);
        if (!gone)
            json_object_set_new(msg, "error", json_pack("{s:s, s:s}", "code", code,
                                                        "message", why));
        if (nc__vm_apply_result(c, msg, err) < 0)
            return -1;
    }
    return 0;
}

/* Settles what a host gone for good still holds, as if it had answered:
 * its operations in flight fail (a VM's delete succeeds: the VM went with
 * the host), its VMs are forgotten, and its reservations fail. */
static int
nc_host_give_up(NcCentral *c, const NcHost *h, int64_t *ret_vms, GError **err)
{
    static const char why[] = "its host was removed";
    if (nc_host_settle_ops(c, h, "host_removed", why, err) < 0)
        return -1;
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, h->id, err);
    if (!vms)
        return -1;
    for (guint i = 0; i < vms->len; i++) {
        if (nc__vm_forget(c, ((NcVm *)g_ptr_array_index(vms, i))->spec->id, err) < 0)
            return -1;
    }
    *ret_vms = vms->len;
    return nc__reservation_fail_on_host(c, h->id, why, err);
}

/* Host @key, read in the caller's transaction, if it is down; while it is
 * up, NC_ERR_CONFLICT: "host 'NAME' is up; @why_not_up". */
static NcHost *
nc_host_get_down(NcCentral *c, const char *key, const char *why_not_up, GError **err)
{
    NcHost *h = nc_store_host_get(c->store, key, err);
    if (h && g_strcmp0(h->state, "up") == 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "host '%s' is up; %s", h->name, why_not_up);
        nc_host_free(h);
        return NULL;
    }
    return h;
}

json_t *
nc_host_service_delete(NcCentral *c, const NcCaller *caller, const char *key, bool force,
                       GError **err)
{
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can remove hosts");
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    /* up, its next heartbeat would register it again */
    g_autoptr(NcHost) h = nc_host_get_down(c, key, "stop its worker first (to keep it from new "
                                           "VMs meanwhile, disable it)", err);
    if (!h)
        return NULL;
    NcHostHoldings held;
    int64_t lost = 0;
    if (force && nc_host_give_up(c, h, &lost, err) < 0)
        return NULL;
    if (nc_store_host_holdings(c->store, h->id, &held, err) < 0)
        return NULL;
    if (held.vms > 0 || held.reservations > 0 || held.operations > 0) {
        /* a VM's delete, like any operation, waits for its host: one that
         * died holding VMs stays until it returns, is evacuated, or is
         * given up (force) */
        nc_error_set(err, NC_ERR_CONFLICT, "host '%s' still holds %" G_GINT64_FORMAT " VM%s, "
                     "%" G_GINT64_FORMAT " scheduled or active reservation%s and %"
                     G_GINT64_FORMAT " operation%s in flight; delete or cancel them first, and "
                     "let the operations finish (or, if it is gone for good, force its "
                     "removal)", h->name,
                     held.vms, held.vms == 1 ? "" : "s", held.reservations,
                     held.reservations == 1 ? "" : "s", held.operations,
                     held.operations == 1 ? "" : "s");
        return NULL;
    }
    g_autofree char *topic = nc_bus_host_topic(h->id);
    if (nc_outbox_forget(c->store, topic, err) < 0 ||
        nc_store_host_delete(c->store, h->id, err) < 0 ||
        nc__central_event(c, NULL, "host.deleted", "host", h->id,
                          json_pack("{s:s}", "name", h->name), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    /* after the commit: a broker out of reach leaves the queues behind
     * (they can be deleted by hand, docs/OPERATIONS.md), not the host */
    g_autoptr(GError) berr = NULL;
    if (nc_bus_remove(c->bus, topic, &berr) < 0)
        nc_log_warn("host '%s' removed, but not its queues on the bus: %s", h->name,
                    berr->message);
    g_mutex_lock(&c->sched_lock);
    g_hash_table_remove(c->host_images, h->id);
    g_mutex_unlock(&c->sched_lock);
    nc__central_touch_host(c, h->id);
    nc__central_sync_hosts(c);
    nc__central_notify(c);
    return json_pack("{s:s, s:s, s:I}", "id", h->id, "name", h->name, "vms_lost",
                     (json_int_t)lost);
}

/* Another host that is up and shares @h's libvirt daemon (workers on one
 * machine: they see each other's domains), into *@ret_twin, or NULL.
 * Returns: 0, or -1 on a store error. */
static int
nc_host_live_twin(NcCentral *c, const NcHost *h, NcHost **ret_twin, GError **err)
{
    *ret_twin = NULL;
    const char *daemon = nc_json_str(h->info, "libvirt");
    if (!daemon)
        return 0;
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return -1;
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *o = g_ptr_array_index(hosts, i);
        if (strcmp(o->id, h->id) != 0 && g_strcmp0(o->state, "up") == 0 &&
            g_strcmp0(nc_json_str(o->info, "libvirt"), daemon) == 0) {
            *ret_twin = g_ptr_array_steal_index(hosts, i);
            return 0;
        }
    }
    return 0;
}

json_t *
nc_host_service_evacuate(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can evacuate hosts");
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcHost) h = nc_host_get_down(c, key, "only a host that is down can be evacuated "
                                           "(its VMs would otherwise run twice)", err);
    if (!h)
        return NULL;
    /* its worker is gone, not its machine: the VMs run on, and their
     * copies would be made on the same daemon */
    g_autoptr(NcHost) twin = NULL;
    if (nc_host_live_twin(c, h, &twin, err) < 0)
        return NULL;
    if (twin) {
        nc_error_set(err, NC_ERR_CONFLICT, "host '%s' shares its libvirt (%s) with host '%s', "
                     "which is up: the machine is alive and the VMs still run there; restart "
                     "the worker of '%s' instead", h->name, nc_json_str(h->info, "libvirt"),
                     twin->name, h->name);
        return NULL;
    }
    /* its operations are settled, so the commands still waiting for it are
     * moot (those a hung host took already settle nothing when it wakes:
     * their operations are final, and what they made there is removed) */
    g_autofree char *topic = nc_bus_host_topic(h->id);
    if (nc_host_settle_ops(c, h, "host_evacuated", "its host was evacuated", err) < 0 ||
        nc_outbox_forget(c->store, topic, err) < 0)
        return NULL;
    /* should it come back, it takes no new VMs until an admin says so */
    if (!h->disabled && nc_store_host_set_enabled(c->store, h->id, false, "evacuated", err) < 0)
        return NULL;
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, h->id, err);
    if (!vms)
        return NULL;
    g_autoptr(json_t) moved = json_array();
    g_autoptr(json_t) stayed = json_array();
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        json_t *op = NULL;
        g_autofree char *why = NULL;
        int rc = nc__vm_evacuate(c, vm, h, &op, &why, err);
        if (rc < 0)
            return NULL;
        if (rc == 1)
            json_array_append_new(moved, op);
        else
            json_array_append_new(stayed, json_pack("{s:s, s:s, s:s}", "id", vm->spec->id,
                                                    "name", vm->spec->name, "reason", why));
    }
    g_autoptr(json_t) res_moved = json_array();
    g_autoptr(json_t) res_stayed = json_array();
    if (nc__reservation_move_off_host(c, h, res_moved, res_stayed, err) < 0)
        return NULL;
    if (nc__central_event(c, NULL, "host.evacuated", "host", h->id,
                          json_pack("{s:s, s:I, s:I}", "name", h->name,
                                    "vms_moved", (json_int_t)json_array_size(moved),
                                    "vms_left", (json_int_t)json_array_size(stayed)), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    nc__central_touch_host(c, h->id);
    nc__central_sync_hosts(c);
    nc__central_notify(c);
    return json_pack("{s:s, s:s, s:O, s:O, s:O, s:O}", "id", h->id, "name", h->name,
                     "operations", moved, "left", stayed, "reservations", res_moved,
                     "reservations_left", res_stayed);
}

char *
nc__host_key_from_request(const NcCaller *caller, json_t *req, GError **err)
{
    if (nc_json_has(req, "host") && !caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can choose the host");
        return NULL;
    }
    const char *key = NULL;
    if (nc_json_get_string(req, "host", false, NC_NAME_MAX, &key, err) < 0)
        return NULL;
    if (key && !nc_uuid_is_valid(key) && nc_name_check("host", key, NULL) < 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'host' must be a host's name or id");
        return NULL;
    }
    char *out = g_strdup(key);
    json_object_del(req, "host");
    return out;
}

NcHost *
nc__host_named(NcCentral *c, const char *key, GError **err)
{
    GError *local = NULL;
    NcHost *h = nc_store_host_get(c->store, key, &local);
    if (!h && nc_error_code(local) == NC_ERR_NOT_FOUND) {
        g_clear_error(&local);
        nc_error_set(&local, NC_ERR_UNPROCESSABLE, "host '%s' does not exist", key);
    }
    if (local)
        g_propagate_error(err, local);
    return h;
}

/* ---- heartbeats ---- */

/* Maps {"mac": "ip"} onto the VM's NICs, in order. */
static json_t *
nc_host_addresses(const NcVmSpec *spec, json_t *by_mac)
{
    json_t *out = json_array();
    for (guint i = 0; i < spec->nics->len; i++) {
        NcNic *nic = g_ptr_array_index(spec->nics, i);
        const char *ip = nc_json_str(by_mac, nic->mac);
        json_array_append_new(out, nc_json_string_or_null(ip));
    }
    return out;
}

/* Whether domain @d, as a heartbeat reports it, leaves its VM as the store
 * has it: the cases below that change nothing, told from the brief.  Keep
 * it in step with the comparison in nc__host_apply_heartbeat: a case this
 * calls settled is never looked at there. */
static bool
nc_host_domain_settled(const NcVmBrief *b, json_t *d, int64_t hb_time)
{
    const char *obs = nc_json_str(d, "state");
    bool running = g_strcmp0(obs, "running") == 0, stopped = g_strcmp0(obs, "stopped") == 0;
    if (running && (json_object_size(json_object_get(d, "addresses")) > 0 || !b->no_addresses))
        return false;   /* addresses to compare */
    if (b->state == NC_VM_UNKNOWN && !b->busy && (running || stopped))
        return false;
    if (!b->busy && b->state != NC_VM_DELETING && b->updated_at < hb_time - NC_DRIFT_GRACE_MS &&
        ((running && b->state == NC_VM_STOPPED) || (stopped && b->state == NC_VM_RUNNING)))
        return false;
    return true;
}

static int
nc_host_repair(NcCentral *c, NcVm *vm, GError **err)
{
    /* the domain vanished: define it again, and start it if it should run */
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NULL, vm->spec->image, err);
    if (!img)
        return -1;
    bool run = g_strcmp0(vm->desired, "running") == 0;
    const char *kind = run ? "vm.create" : "vm.define";
    g_autoptr(NcOperation) op = nc__op_new(vm->spec->project, run ? "vm.repair" : "vm.define",
                                           "vm", vm->spec->id, vm->spec->name, vm->host);
    g_free(vm->op);
    vm->op = g_strdup(op->id);
    vm->state = run ? NC_VM_BUILDING : vm->state;
    if (nc_store_vm_update(c->store, vm, err) < 0)
        return -1;
    return nc__op_submit(c, op, vm->host, nc__vm_command(kind, op->id, vm->spec, img, NULL),
                         err);
}

int
nc__host_apply_heartbeat(NcCentral *c, json_t *msg, GError **err)
{
    json_t *hj = json_object_get(msg, "host");
    const char *id = nc_json_str(hj, "id"), *name = nc_json_str(hj, "name");
    if (!id || !name || !nc_uuid_is_valid(id) || nc_name_check("host", name, NULL) < 0) {
        nc_log_warn("ignoring a heartbeat without a valid host id and name");
        return 0;
    }
    int64_t hb_time = nc_json_int(msg, "time", nc_now_ms());
    g_autoptr(NcHost) h = nc_host_new();
    h->id = g_strdup(id);
    h->name = g_strdup(name);
    h->accel = g_strdup(nc_json_str(hj, "accel") ? nc_json_str(hj, "accel") : "tcg");
    h->nested = json_is_true(json_object_get(hj, "nested"));
    h->vcpus = nc_json_int(hj, "vcpus", 0);
    h->memory_mib = nc_json_int(hj, "memory_mib", 0);
    h->disk_gib = nc_json_int(hj, "disk_gib", 0);
    h->cpu_ratio = c->cfg.cpu_ratio;
    h->ram_ratio = c->cfg.ram_ratio;
    h->disk_ratio = c->cfg.disk_ratio;
    h->reserved_memory_mib = c->cfg.reserved_memory_mib;
    json_t *info = json_object_get(hj, "info");
    if (json_is_object(info)) {
        json_decref(h->info);
        h->info = json_incref(info);
    }
    GError *local = NULL;
    g_autoptr(NcHost) before = nc_store_host_get(c->store, id, &local);
    g_clear_error(&local);
    if (nc_store_host_register(c->store, h, err) < 0)
        return -1;
    nc__central_touch_host(c, id);
    if (nc__port_apply_heartbeat(c, id, json_object_get(hj, "ports"), err) < 0)
        return -1;
    json_t *imgs = json_object_get(hj, "images");
    if (json_is_array(imgs)) {
        NcHostImages *hi = g_new0(NcHostImages, 1);
        hi->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        hi->at = hb_time;
        size_t k;
        json_t *f;
        json_array_foreach(imgs, k, f) {
            if (json_is_string(f))
                g_hash_table_add(hi->files, g_strdup(json_string_value(f)));
        }
        g_mutex_lock(&c->sched_lock);
        g_hash_table_replace(c->host_images, g_strdup(id), hi);
        g_mutex_unlock(&c->sched_lock);
    }
    if (!before || g_strcmp0(before->state, "up") != 0) {
        if (nc__central_event(c, NULL, "host.state", "host", id,
                              json_pack("{s:s, s:s}", "name", name, "state", "up"), err) < 0)
            return -1;
    }

    /* what the host runs, against what the store says: in brief first,
     * reading a whole VM only where something is to change.  A heartbeat
     * without a list (a simulated host whose list has not changed since the
     * last one it sent) says nothing about drift. */
    json_t *doms = json_object_get(msg, "domains");
    if (!json_is_array(doms))
        return 0;
    g_autoptr(GHashTable) briefs = nc_store_vm_briefs(c->store, id, err);
    if (!briefs)
        return -1;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    size_t i;
    json_t *d;
    json_array_foreach(doms, i, d) {
        const char *vm_id = nc_json_str(d, "id");
        if (!vm_id || !nc_uuid_is_valid(vm_id))
            continue;
        g_hash_table_add(seen, (gpointer)vm_id);
        const NcVmBrief *brief = g_hash_table_lookup(briefs, vm_id);
        if (brief && nc_host_domain_settled(brief, d, hb_time))
            continue;
        g_autoptr(NcVm) vm = brief ? nc_store_vm_get(c->store, NULL, vm_id, err) : NULL;
        if (brief && !vm)
            return -1;
        if (!vm) {
            g_autoptr(NcVm) elsewhere = nc_store_vm_get(c->store, NULL, vm_id, &local);
            g_clear_error(&local);
            if (elsewhere) {
                /* the store places it on another host.  Not ours to judge
                 * (hosts that share one libvirt see each other's domains),
                 * unless the VM was evacuated from this host: this is the
                 * copy it left, and the VM runs on its new host */
                g_autofree char *from = nc_store_vm_evacuated_from(c->store, vm_id, err);
                if (!from && err && *err)
                    return -1;
                if (g_strcmp0(from, id) != 0)
                    continue;
                nc_log_info("host %s runs domain %s, a copy left when VM %s was evacuated "
                            "from it; removing it", name, vm_id, elsewhere->spec->name);
            } else {
                nc_log_info("host %s runs domain %s that no VM owns; removing it", name, vm_id);
            }
            /* a domain of ours the store does not know here: a leftover of a
             * deleted or evacuated VM; remove it (the command carries only
             * the id) */
            g_autoptr(NcVmSpec) ghost = nc_vm_spec_new();
            ghost->id = g_strdup(vm_id);
            ghost->name = g_strdup("orphan");
            g_autoptr(json_t) cmd = nc__vm_command("vm.delete", NULL, ghost, NULL, NULL);
            g_autofree char *topic = nc_bus_host_topic(id);
            g_autofree char *body = nc_json_dumps(cmd);
            if (nc_outbox_put(c->store, topic, body, err) < 0)
                return -1;
            continue;
        }
        bool dirty = false;
        g_autoptr(json_t) addrs = nc_host_addresses(vm->spec, json_object_get(d, "addresses"));
        if (!json_equal(addrs, vm->addresses) && g_strcmp0(nc_json_str(d, "state"), "running") == 0) {
            json_decref(vm->addresses);
            vm->addresses = json_incref(addrs);
            dirty = true;
        }
        const char *obs = nc_json_str(d, "state");
        if (vm->state == NC_VM_UNKNOWN && !vm->op &&
            (g_strcmp0(obs, "running") == 0 || g_strcmp0(obs, "stopped") == 0)) {
            /* the host is back: what it runs is what there is */
            vm->state = g_strcmp0(obs, "running") == 0 ? NC_VM_RUNNING : NC_VM_STOPPED;
            dirty = true;
        }
        if (!vm->op && vm->state != NC_VM_DELETING && vm->updated_at < hb_time - NC_DRIFT_GRACE_MS) {
            if (g_strcmp0(obs, "running") == 0 && vm->state == NC_VM_STOPPED) {
                vm->state = NC_VM_RUNNING;
                dirty = true;
            } else if (g_strcmp0(obs, "stopped") == 0 && vm->state == NC_VM_RUNNING) {
                vm->state = NC_VM_STOPPED;
                g_free(vm->desired);
                vm->desired = g_strdup("stopped");
                dirty = true;
            }
        }
        if (dirty && (nc_store_vm_update(c->store, vm, err) < 0 ||
                      nc__central_event(c, vm->spec->project, "vm.state", "vm", vm->spec->id,
                                        json_pack("{s:s, s:s, s:O}", "name", vm->spec->name,
                                                  "state", nc_vm_state_name(vm->state),
                                                  "addresses", vm->addresses), err) < 0))
            return -1;
    }

    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, briefs);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const NcVmBrief *b = value;
        if (g_hash_table_contains(seen, b->id) || b->busy ||
            b->updated_at >= hb_time - NC_DRIFT_GRACE_MS)
            continue;
        if (b->state != NC_VM_RUNNING && b->state != NC_VM_STOPPED &&
            b->state != NC_VM_UNKNOWN)
            continue;
        g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NULL, b->id, err);
        if (!vm)
            return -1;
        nc_log_info("VM %s (%s) has no domain on host %s; defining it again",
                    vm->spec->name, vm->spec->id, name);
        if (nc_host_repair(c, vm, err) < 0)
            return -1;
    }
    return 0;
}
