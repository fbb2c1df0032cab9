/* port_service.c: port forwards, here and up through the parent clouds. */
#include "port_service.h"
#include "central_priv.h"
#include "conf/port_conf.h"
#include "store/op_store.h"
#include "store/port_store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <stdlib.h>
#include <string.h>

static json_t *
nc_port_command(const char *kind, const char *op_id, const NcPort *p)
{
    return json_pack("{s:s, s:o, s:{s:s}, s:{s:i, s:i}}", "kind", kind,
                     "op", nc_json_string_or_null(op_id), "vm", "id", p->vm,
                     "args", "host_port", p->host_port, "guest_port", p->guest_port);
}

static bool
nc_port_has_parent(NcCentral *c)
{
    return c->uplink && c->nested->parent_url;
}

/* Finishes a transaction that queued commands: commit, wake streams and
 * the outbox relay. */
static int
nc_port_finish(NcCentral *c, NcStoreTxn *txn, GError **err)
{
    if (nc_store_txn_commit(txn, err) < 0)
        return -1;
    nc__central_notify(c);
    nc__central_kick(c);
    return 0;
}

json_t *
nc_port_service_create(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                       GError **err)
{
    int guest_port = 0, host_port = 0;
    if (nc_port_from_request(req, &guest_port, &host_port, err) < 0)
        return NULL;

    /* checks before anything happens here or above */
    {
        g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
        if (!vm)
            return NULL;
        if (!vm->host || vm->state == NC_VM_DELETING || vm->state == NC_VM_PENDING) {
            nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is %s: no host to forward a port on",
                         vm->spec->name, nc_vm_state_name(vm->state));
            return NULL;
        }
        g_autoptr(GPtrArray) on_host = nc_store_port_list(c->store, NULL, vm->host, err);
        if (!on_host)
            return NULL;
        guint mine = 0;
        for (guint i = 0; i < on_host->len; i++) {
            NcPort *p = g_ptr_array_index(on_host, i);
            if (p->host_port == host_port) {
                nc_error_set(err, NC_ERR_CONFLICT, "port %d of host '%s' already forwards to"
                             " VM '%s' port %d", host_port, p->host_name ? p->host_name : p->host,
                             p->vm_name ? p->vm_name : p->vm, p->guest_port);
                return NULL;
            }
            mine += g_strcmp0(p->vm, vm->spec->id) == 0;
        }
        if (mine >= NC_LIMIT_PORTS_PER_VM) {
            nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' already has %d port forwards, its limit",
                         vm->spec->name, NC_LIMIT_PORTS_PER_VM);
            return NULL;
        }
    }

    /* up first: when the parent refuses, nothing was changed here */
    g_autoptr(json_t) parent = NULL;
    if (nc_port_has_parent(c)) {
        parent = c->uplink->expose(c->uplink_opaque, host_port, host_port, err);
        if (!parent)
            return NULL;
    }

    g_auto(NcStoreTxn) txn = { 0 };
    g_autoptr(NcPort) p = nc_port_new();
    g_autoptr(NcOperation) op = NULL;
    g_autoptr(NcVm) vm = NULL;
    g_autofree char *target = NULL;
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        goto undo;
    vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        goto undo;
    p->id = nc_uuid_new();
    p->project = g_strdup(vm->spec->project);
    p->vm = g_strdup(vm->spec->id);
    p->vm_name = g_strdup(vm->spec->name);
    p->host = g_strdup(vm->host);
    p->host_name = g_strdup(vm->host_name);
    p->host_port = host_port;
    p->guest_port = guest_port;
    p->state = g_strdup("pending");
    p->parent = json_incref(parent);
    p->created_at = nc_now_ms();
    target = g_strdup_printf("%s:%d", vm->spec->name, host_port);
    op = nc__op_new(p->project, "port.add", "port", p->id, target, p->host);
    if (nc_store_port_insert(c->store, p, err) < 0 ||
        nc__op_submit(c, op, p->host, nc_port_command("port.add", op->id, p), err) < 0 ||
        nc__central_event(c, p->project, "port.created", "port", p->id, nc_port_to_api_json(p),
                          err) < 0 ||
        nc_port_finish(c, &txn, err) < 0)
        goto undo;
    json_t *out = nc_op_to_api_json(op);
    json_object_set_new(out, "port", nc_port_to_api_json(p));
    return out;

undo:
    if (parent) {
        g_autoptr(GError) uerr = NULL;
        if (c->uplink->unexpose(c->uplink_opaque, host_port, &uerr) < 0)
            nc_log_warn("cannot undo the parent's forward of port %d: %s", host_port,
                        uerr->message);
    }
    return NULL;
}

json_t *
nc_port_service_list(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return NULL;
    g_autoptr(GPtrArray) ports = nc_store_port_list(c->store, vm->spec->id, NULL, err);
    if (!ports)
        return NULL;
    json_t *list = json_array();
    for (guint i = 0; i < ports->len; i++)
        json_array_append_new(list, nc_port_to_api_json(g_ptr_array_index(ports, i)));
    return json_pack("{s:o}", "ports", list);
}

json_t *
nc_port_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                       const char *host_port, GError **err)
{
    char *end = NULL;
    long hp = strtol(host_port, &end, 10);
    if (!*host_port || *end || hp < NC_PORT_MIN_HOST || hp > NC_PORT_MAX) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "the host port must be %d..%d",
                     NC_PORT_MIN_HOST, NC_PORT_MAX);
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return NULL;
    g_autoptr(NcPort) p = nc_store_port_get(c->store, vm->spec->id, (int)hp, err);
    if (!p)
        return NULL;
    g_autofree char *target = g_strdup_printf("%s:%d", vm->spec->name, p->host_port);
    g_autoptr(NcOperation) op = nc__op_new(p->project, "port.remove", "port", p->id, target,
                                           p->host);
    g_free(p->state);
    p->state = g_strdup("deleting");
    if (nc_store_port_update(c->store, p, err) < 0 ||
        nc__op_submit(c, op, p->host, nc_port_command("port.remove", op->id, p), err) < 0 ||
        nc_port_finish(c, &txn, err) < 0)
        return NULL;
    if (p->parent && nc_port_has_parent(c)) {
        g_autoptr(GError) uerr = NULL;
        if (c->uplink->unexpose(c->uplink_opaque, p->host_port, &uerr) < 0)
            nc_log_warn("cannot remove the parent's forward of port %d: %s", p->host_port,
                        uerr->message);
    }
    return nc_op_to_api_json(op);
}

void
nc__port_release_vm(NcCentral *c, const char *vm_id)
{
    if (!nc_port_has_parent(c))
        return;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) ports = nc_store_port_list(c->store, vm_id, NULL, &err);
    for (guint i = 0; ports && i < ports->len; i++) {
        NcPort *p = g_ptr_array_index(ports, i);
        g_autoptr(GError) uerr = NULL;
        if (p->parent && c->uplink->unexpose(c->uplink_opaque, p->host_port, &uerr) < 0)
            nc_log_warn("cannot remove the parent's forward of port %d: %s", p->host_port,
                        uerr->message);
    }
}

int
nc__port_apply_result(NcCentral *c, const NcOperation *op, bool ok, const char *emsg,
                      GError **err)
{
    GError *local = NULL;
    g_autoptr(NcPort) p = nc_store_port_get_id(c->store, op->target_id, &local);
    if (!p) {
        g_clear_error(&local);
        return 0;   /* deleted with its VM meanwhile */
    }
    if (ok && strcmp(op->kind, "port.remove") == 0) {
        if (nc_store_port_delete(c->store, p->id, err) < 0)
            return -1;
        return nc__central_event(c, p->project, "port.deleted", "port", p->id,
                                 nc_port_to_api_json(p), err);
    }
    g_free(p->state);
    g_free(p->error);
    p->state = g_strdup(ok ? "active" : "error");
    p->error = ok ? NULL : g_strdup(emsg ? emsg : "unknown error");
    if (nc_store_port_update(c->store, p, err) < 0)
        return -1;
    return nc__central_event(c, p->project, "port.state", "port", p->id,
                             nc_port_to_api_json(p), err);
}

int
nc__port_apply_heartbeat(NcCentral *c, const char *host_id, json_t *ports, GError **err)
{
    if (!json_is_array(ports))
        return 0;   /* a worker that does not report its forwards */
    g_autoptr(GPtrArray) mine = nc_store_port_list(c->store, NULL, host_id, err);
    if (!mine)
        return -1;
    for (guint i = 0; i < mine->len; i++) {
        NcPort *p = g_ptr_array_index(mine, i);
        if (strcmp(p->state, "active") != 0)
            continue;
        bool seen = false;
        size_t k;
        json_t *v;
        json_array_foreach(ports, k, v) {
            seen = seen || json_integer_value(v) == p->host_port;
        }
        if (seen)
            continue;
        /* the worker restarted and lost its listeners: ask again (no
         * operation; adding is idempotent) */
        g_autoptr(json_t) cmd = nc_port_command("port.add", NULL, p);
        g_autofree char *topic = nc_bus_host_topic(host_id);
        g_autofree char *body = nc_json_dumps(cmd);
        if (nc_outbox_put(c->store, topic, body, err) < 0)
            return -1;
    }
    return 0;
}
