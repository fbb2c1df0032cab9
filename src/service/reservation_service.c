/* reservation_service.c: reservations, capacity over time, expiring VMs. */
#include "reservation_service.h"
#include "central_priv.h"
#include "sched/timeline.h"
#include "store/host_store.h"
#include "store/reservation_store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"
#include "vm_service.h"

#include <string.h>

/* The timeline of one host: its allocation now, what expires, what is
 * reserved ahead (leaving out reservation @skip). */
static int
nc_host_timeline(NcCentral *c, const NcHost *h, const char *skip, NcSchedSlot *slot,
                 GArray *expiring, GArray *reserved, GError **err)
{
    *slot = (NcSchedSlot){
        nc_host_limit_vcpus(h), nc_host_limit_memory_mib(h), nc_host_limit_disk_gib(h),
        h->alloc_vcpus, h->alloc_memory_mib, h->alloc_disk_gib, g_strcmp0(h->state, "up") == 0,
    };
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, h->id, err);
    if (!vms)
        return -1;
    for (guint i = 0; i < vms->len; i++) {
        const NcVmSpec *s = ((NcVm *)g_ptr_array_index(vms, i))->spec;
        if (s->expires_at) {
            NcSchedInterval e = { 0, s->expires_at, s->vcpus, s->memory_mib, s->disk_gib };
            g_array_append_val(expiring, e);
        }
    }
    g_autoptr(GPtrArray) res = nc_store_reservation_scheduled(c->store, h->id, err);
    if (!res)
        return -1;
    for (guint i = 0; i < res->len; i++) {
        NcReservation *r = g_ptr_array_index(res, i);
        if (skip && strcmp(r->id, skip) == 0)
            continue;
        NcSchedInterval iv = { r->start_at, nc_reservation_capacity_end(r), r->spec->vcpus,
                               r->spec->memory_mib, r->spec->disk_gib };
        g_array_append_val(reserved, iv);
    }
    return 0;
}

bool
nc__vm_fits_ahead(NcCentral *c, const char *host_id, const NcVmSpec *spec, GError **err)
{
    /* most hosts have nothing reserved ahead: then there is no timeline to
     * build (it reads every VM of the host) */
    g_autoptr(GPtrArray) ahead = nc_store_reservation_scheduled(c->store, host_id, err);
    if (!ahead)
        return false;
    if (ahead->len == 0)
        return true;
    g_autoptr(NcHost) h = nc_store_host_get(c->store, host_id, err);
    if (!h)
        return false;
    g_autoptr(GArray) expiring = g_array_new(FALSE, FALSE, sizeof(NcSchedInterval));
    g_autoptr(GArray) reserved = g_array_new(FALSE, FALSE, sizeof(NcSchedInterval));
    NcSchedSlot slot;
    if (nc_host_timeline(c, h, NULL, &slot, expiring, reserved, err) < 0)
        return false;
    if (reserved->len == 0)
        return true;
    /* the claim is already in the counters: look at the VM apart from them */
    slot.used_vcpus -= spec->vcpus;
    slot.used_memory_mib -= spec->memory_mib;
    slot.used_disk_gib -= spec->disk_gib;
    int64_t now = nc_now_ms();
    NcSchedInterval want = { now, spec->expires_at ? spec->expires_at : NC_TIME_FOREVER,
                             spec->vcpus, spec->memory_mib, spec->disk_gib };
    return nc_sched_timeline_fits(now, &slot, (NcSchedInterval *)expiring->data, expiring->len,
                                  (NcSchedInterval *)reserved->data, reserved->len, &want, NULL);
}

/* ---- the API ---- */

/* Gives @r (no host yet) the first host of @hosts, in the policy's order
 * as if it were now, whose timeline holds its window.
 * Returns: 1 (r->host set), 0 when none has room (NC_ERR_NO_CAPACITY set,
 * naming the nearest), or -1. */
static int
nc_reservation_pick_host(NcCentral *c, NcReservation *r, GPtrArray *hosts, int64_t now,
                         GError **err)
{
    NcSchedRequest sreq = { r->spec->vcpus, r->spec->memory_mib, r->spec->disk_gib };
    /* order by the policy as if it were now, then take the first host whose
     * timeline holds the window */
    g_auto(NcSchedResult) ranked = { 0 };
    NcSchedRequest nothing = { 0, 0, 0 };
    nc_sched_rank(hosts, &nothing, c->cfg.policy, &ranked);
    NcSchedInterval want = { r->start_at, nc_reservation_capacity_end(r), sreq.vcpus,
                             sreq.memory_mib, sreq.disk_gib };
    int64_t first_clash = 0;
    const char *clash_host = NULL;
    for (guint i = 0; i < ranked.candidates->len && !r->host; i++) {
        NcHost *h = g_ptr_array_index(ranked.candidates, i);
        g_autoptr(GArray) expiring = g_array_new(FALSE, FALSE, sizeof(NcSchedInterval));
        g_autoptr(GArray) reserved = g_array_new(FALSE, FALSE, sizeof(NcSchedInterval));
        NcSchedSlot slot;
        if (nc_host_timeline(c, h, NULL, &slot, expiring, reserved, err) < 0)
            return -1;
        int64_t when = 0;
        if (nc_sched_timeline_fits(now, &slot, (NcSchedInterval *)expiring->data, expiring->len,
                                   (NcSchedInterval *)reserved->data, reserved->len, &want,
                                   &when)) {
            r->host = g_strdup(h->id);
            r->host_name = g_strdup(h->name);
        } else if (!clash_host || when < first_clash) {
            first_clash = when;
            clash_host = h->name;
        }
    }
    if (!r->host && ranked.candidates->len == 0) {
        nc_error_set(err, NC_ERR_NO_CAPACITY, "no host can hold the reservation: %s",
                     ranked.nearest_miss);
        return 0;
    }
    if (!r->host) {
        g_autofree char *at = clash_host ? nc_time_format(first_clash) : NULL;
        nc_error_set(err, NC_ERR_NO_CAPACITY,
                     "no host has room for %d vCPUs and %" G_GINT64_FORMAT " MiB for the whole "
                     "window%s%s%s%s", r->spec->vcpus, r->spec->memory_mib,
                     clash_host ? ": the nearest, host '" : "", clash_host ? clash_host : "",
                     clash_host ? "', is full at " : "", at ? at : "");
        return 0;
    }
    return 1;
}

json_t *
nc_reservation_service_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err)
{
    int64_t now = nc_now_ms();
    g_autoptr(json_t) shape = json_copy(req);
    GError *local = NULL;
    g_autofree char *host_wanted = nc__host_key_from_request(caller, shape, &local);
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    g_autoptr(NcReservation) r = NULL;
    if (nc_reservation_from_request(shape, now, &r, err) < 0)
        return NULL;
    r->id = nc_uuid_new();
    r->project = g_strdup(caller->project);
    r->spec->project = g_strdup(caller->project);
    r->spec->id = g_strdup(r->id);   /* the VM gets its own id when it is made */
    r->created_at = r->updated_at = now;

    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcImage) img = nc__vm_resolve_image(c, caller->project, r->spec, err);
    if (!img)
        return NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    if (host_wanted) {
        /* an admin's choice: the one candidate */
        NcHost *target = nc__host_named(c, host_wanted, err);
        if (!target)
            return NULL;
        if (!nc_host_schedulable(target)) {
            nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' cannot hold the reservation: "
                         "it is %s", target->name, target->disabled ? "disabled" : target->state);
            nc_host_free(target);
            return NULL;
        }
        hosts = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
        g_ptr_array_add(hosts, target);
    } else {
        hosts = nc_store_host_list(c->store, err);
        if (!hosts)
            return NULL;
    }
    if (nc_reservation_pick_host(c, r, hosts, now, err) <= 0)
        return NULL;
    g_autoptr(json_t) out = nc_reservation_to_api_json(r);
    if (nc_store_reservation_insert(c->store, r, err) < 0 ||
        nc__central_event(c, r->project, "reservation.created", "reservation", r->id,
                          json_incref(out), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    nc__central_notify(c);
    return g_steal_pointer(&out);
}

json_t *
nc_reservation_service_list(NcCentral *c, const NcCaller *caller, GError **err)
{
    g_autoptr(GPtrArray) list = nc_store_reservation_list(c->store, NC_SCOPE(caller), err);
    if (!list)
        return NULL;
    json_t *arr = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(arr, nc_reservation_to_api_json(g_ptr_array_index(list, i)));
    return json_pack("{s:o}", "reservations", arr);
}

json_t *
nc_reservation_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcReservation) r = nc_store_reservation_get(c->store, NC_SCOPE(caller), key, err);
    return r ? nc_reservation_to_api_json(r) : NULL;
}

/* Ends an active reservation: its VM is deleted, or stopped when kept. */
static int
nc_reservation_end(NcCentral *c, NcReservation *r, GError **err)
{
    if (r->vm) {
        GError *local = NULL;
        g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NULL, r->vm, &local);
        g_clear_error(&local);
        if (vm) {
            NcCaller owner = { .project = r->project, .admin = true };
            g_autoptr(json_t) op = NULL;
            g_autoptr(json_t) stop = json_pack("{s:s}", "action", "stop");
            if (!r->keep)
                op = nc_vm_service_delete(c, &owner, vm->spec->id, &local);
            else if (vm->state == NC_VM_RUNNING)
                op = nc_vm_service_action(c, &owner, vm->spec->id, stop, &local);
            if (local) {
                /* an operation in flight: try again at the next tick */
                if (nc_error_code(local) == NC_ERR_CONFLICT) {
                    g_error_free(local);
                    return 1;
                }
                g_propagate_error(err, local);
                return -1;
            }
        }
    }
    g_free(r->state);
    r->state = g_strdup("ended");
    return nc_store_reservation_update(c->store, r, err);
}

json_t *
nc_reservation_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                              GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcReservation) r = nc_store_reservation_get(c->store, NC_SCOPE(caller), key, err);
    if (!r)
        return NULL;
    if (strcmp(r->state, "scheduled") == 0) {
        g_free(r->state);
        r->state = g_strdup("cancelled");
        if (nc_store_reservation_update(c->store, r, err) < 0)
            return NULL;
    } else if (strcmp(r->state, "active") == 0) {
        int rc = nc_reservation_end(c, r, err);
        if (rc < 0)
            return NULL;
        if (rc > 0) {
            nc_error_set(err, NC_ERR_CONFLICT, "the reservation's VM has an operation in "
                         "progress; try again when it is done");
            return NULL;
        }
    } else {
        nc_error_set(err, NC_ERR_CONFLICT, "reservation '%s' is already %s", r->name, r->state);
        return NULL;
    }
    g_autoptr(json_t) out = nc_reservation_to_api_json(r);
    if (nc__central_event(c, r->project, "reservation.state", "reservation", r->id,
                          json_incref(out), err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return NULL;
    nc__central_sync_hosts(c);
    nc__central_notify(c);
    nc__central_kick(c);
    return g_steal_pointer(&out);
}

/* ---- the clock ---- */

static int
nc_reservation_start(NcCentral *c, NcReservation *r, GError **err)
{
    g_autoptr(json_t) copy = nc_vm_spec_to_json(r->spec);
    NcVmSpec *spec = nc_vm_spec_from_json(copy, err);
    if (!spec)
        return -1;
    g_free(spec->id);
    spec->id = nc_uuid_new();
    g_free(spec->project);
    spec->project = g_strdup(r->project);
    spec->expires_at = r->keep ? 0 : r->end_at;
    g_autofree char *vm_id = g_strdup(spec->id);
    GError *local = NULL;
    g_autoptr(json_t) op = nc__vm_create(c, spec, true, r->host, &local);
    g_free(r->state);
    if (!op) {
        r->state = g_strdup("failed");
        r->error = g_strdup(local->message);
        nc_log_warn("reservation %s could not start: %s", r->name, local->message);
        g_error_free(local);
    } else {
        r->state = g_strdup("active");
        r->vm = g_steal_pointer(&vm_id);
    }
    return nc_store_reservation_update(c->store, r, err);
}

int
nc__reservation_fail_on_host(NcCentral *c, const char *host_id, const char *why, GError **err)
{
    g_autoptr(GPtrArray) all = nc_store_reservation_list(c->store, NULL, err);
    if (!all)
        return -1;
    for (guint i = 0; i < all->len; i++) {
        NcReservation *r = g_ptr_array_index(all, i);
        if (g_strcmp0(r->host, host_id) != 0 ||
            (g_strcmp0(r->state, "scheduled") != 0 && g_strcmp0(r->state, "active") != 0))
            continue;
        g_free(r->state);
        r->state = g_strdup("failed");
        g_free(r->error);
        r->error = g_strdup(why);
        g_clear_pointer(&r->vm, g_free);
        if (nc_store_reservation_update(c->store, r, err) < 0 ||
            nc__central_event(c, r->project, "reservation.state", "reservation", r->id,
                              nc_reservation_to_api_json(r), err) < 0)
            return -1;
    }
    return 0;
}

int
nc__reservation_move_off_host(NcCentral *c, const NcHost *from, json_t *moved, json_t *left,
                              GError **err)
{
    g_autoptr(GPtrArray) all = nc_store_reservation_list(c->store, NULL, err);
    if (!all)
        return -1;
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return -1;
    for (guint i = hosts->len; i-- > 0;) {
        if (g_strcmp0(((NcHost *)g_ptr_array_index(hosts, i))->id, from->id) == 0)
            g_ptr_array_remove_index(hosts, i);
    }
    int64_t now = nc_now_ms();
    for (guint i = 0; i < all->len; i++) {
        NcReservation *r = g_ptr_array_index(all, i);
        if (g_strcmp0(r->host, from->id) != 0)
            continue;
        GError *local = NULL;
        if (g_strcmp0(r->state, "active") == 0 && r->vm) {
            /* its room is its VM's: it goes where the VM went */
            g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NULL, r->vm, &local);
            g_clear_error(&local);
            if (!vm || !vm->host || strcmp(vm->host, from->id) == 0)
                continue;
            g_free(r->host);
            r->host = g_strdup(vm->host);
            g_free(r->host_name);
            r->host_name = g_strdup(vm->host_name);
        } else if (g_strcmp0(r->state, "scheduled") == 0) {
            g_autofree char *was = g_steal_pointer(&r->host);
            g_autofree char *was_name = g_steal_pointer(&r->host_name);
            int rc = nc_reservation_pick_host(c, r, hosts, now, &local);
            if (rc < 0) {
                g_propagate_error(err, local);
                return -1;
            }
            if (rc == 0) {
                json_array_append_new(left, json_pack("{s:s, s:s, s:s}", "id", r->id,
                                                      "name", r->name, "reason",
                                                      local->message));
                g_clear_error(&local);
                continue;
            }
            json_array_append_new(moved, json_pack("{s:s, s:s, s:s}", "id", r->id, "name",
                                                   r->name, "host", r->host_name));
        } else {
            continue;
        }
        if (nc_store_reservation_update(c->store, r, err) < 0 ||
            nc__central_event(c, r->project, "reservation.updated", "reservation", r->id,
                              nc_reservation_to_api_json(r), err) < 0)
            return -1;
    }
    return 0;
}

int
nc__reservation_tick(NcCentral *c, GError **err)
{
    int64_t now = nc_now_ms();
    g_autoptr(GPtrArray) due = nc_store_reservation_due(c->store, now, err);
    if (!due)
        return -1;
    bool changed = false;
    for (guint i = 0; i < due->len; i++) {
        NcReservation *r = g_ptr_array_index(due, i);
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, c->store, err) < 0)
            return -1;
        /* re-read inside the transaction: an API call may have moved it */
        g_autoptr(NcReservation) cur = nc_store_reservation_get(c->store, NULL, r->id, err);
        if (!cur)
            return -1;
        int rc = 0;
        if (strcmp(cur->state, "scheduled") == 0 && cur->start_at <= now)
            rc = nc_reservation_start(c, cur, err);
        else if (strcmp(cur->state, "active") == 0 && cur->end_at <= now)
            rc = nc_reservation_end(c, cur, err);
        else
            continue;
        if (rc < 0)
            return -1;
        g_autoptr(json_t) ev = nc_reservation_to_api_json(cur);
        if (nc__central_event(c, cur->project, "reservation.state", "reservation", cur->id,
                              g_steal_pointer(&ev), err) < 0 ||
            nc_store_txn_commit(&txn, err) < 0)
            return -1;
        changed = true;
    }
    /* VMs created with an expiry (only those: this runs every second) */
    g_autoptr(GPtrArray) vms = nc_store_vm_list_expiring(c->store, now, err);
    if (!vms)
        return -1;
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        if (!vm->spec->expires_at || vm->spec->expires_at > now || vm->state == NC_VM_DELETING)
            continue;
        NcCaller owner = { .project = vm->spec->project, .admin = true };
        g_autoptr(GError) local = NULL;
        g_autoptr(json_t) op = nc_vm_service_delete(c, &owner, vm->spec->id, &local);
        if (op) {
            nc_log_info("VM %s expired; deleting it", vm->spec->name);
            changed = true;
        }
    }
    if (changed) {
        nc__central_sync_hosts(c);
        nc__central_notify(c);
        nc__central_kick(c);
    }
    return 0;
}
