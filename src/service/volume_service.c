/* volume_service.c: volumes, attachments, snapshots, and what workers
 * report about them. */
#include "volume_service.h"
#include "central_priv.h"
#include "store/host_store.h"
#include "store/image_store.h"
#include "store/op_store.h"
#include "store/project_store.h"
#include "store/vm_store.h"
#include "store/volume_store.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

/* ---- shared ---- */

/* Where a pool command runs: @prefer (a VM's host) or a real host that is
 * up (simulated hosts hold no files). */
static char *
nc_storage_host(NcCentral *c, const char *prefer, GError **err)
{
    if (prefer)
        return g_strdup(prefer);
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return NULL;
    const char *any = NULL;
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        if (g_strcmp0(h->state, "up") != 0)
            continue;
        if (g_strcmp0(h->accel, "sim") != 0)
            return g_strdup(h->id);
        any = any ? any : h->id;
    }
    if (any)
        return g_strdup(any);
    nc_error_set(err, NC_ERR_UNAVAILABLE, "no host is up to act on the storage pools");
    return NULL;
}

static json_t *
nc_storage_command(const char *kind, const char *op, const NcVolume *vol, const NcVmSpec *spec,
                   const NcImage *img, const char *snapshot_file, json_t *args)
{
    json_t *cmd = json_pack("{s:s, s:o, s:o}", "kind", kind, "op", nc_json_string_or_null(op),
                            "args", args ? args : json_object());
    if (vol)
        json_object_set_new(cmd, "volume", nc_volume_to_command_json(vol));
    if (spec)
        json_object_set_new(cmd, "vm", nc_vm_spec_to_json(spec));
    if (img)
        json_object_set_new(cmd, "image", nc__image_command_json(img));
    if (snapshot_file)
        json_object_set_new(cmd, "snapshot", json_pack("{s:s}", "file", snapshot_file));
    return cmd;
}

static int
nc_storage_finish(NcCentral *c, NcStoreTxn *txn, GError **err)
{
    if (nc_store_txn_commit(txn, err) < 0)
        return -1;
    nc__central_notify(c);
    nc__central_kick(c);
    return 0;
}

static int
nc_volume_event(NcCentral *c, const NcVolume *v, const char *type, GError **err)
{
    return nc__central_event(c, v->project, type, "volume", v->id, nc_volume_to_api_json(v), err);
}

static int
nc_volume_check_idle(const NcVolume *v, GError **err)
{
    if (v->op) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume '%s' has operation %s in progress",
                     v->name, v->op);
        return -1;
    }
    return 0;
}

/* ---- volumes ---- */

json_t *
nc_volume_service_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err)
{
    g_autoptr(NcVolume) v = NULL;
    if (nc_volume_from_request(req, &v, err) < 0)
        return NULL;
    v->id = nc_uuid_new();
    v->project = g_strdup(caller->project);
    v->created_at = v->updated_at = nc_now_ms();

    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    int64_t count = 0, gib = 0, max_count = 0, max_gib = 0;
    if (nc_store_volume_usage(c->store, caller->project, &count, &gib, err) < 0 ||
        nc_store_project_quota_get(c->store, caller->project, &max_count, &max_gib, err) < 0)
        return NULL;
    if (count + 1 > max_count || gib + v->size_gib > max_gib) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED,
                     "the project's volume quota is %" G_GINT64_FORMAT " volumes and %"
                     G_GINT64_FORMAT " GiB; %" G_GINT64_FORMAT " volumes and %" G_GINT64_FORMAT
                     " GiB are left", max_count, max_gib, MAX(0, max_count - count),
                     MAX(0, max_gib - gib));
        return NULL;
    }
    /* a volume is a file on one host, and attaches only to VMs there */
    const char *near = NULL;
    g_autoptr(NcVm) vm = NULL;
    if (nc_json_get_string(req, "vm", false, 256, &near, err) < 0)
        return NULL;
    if (near) {
        vm = nc_store_vm_get(c->store, NC_SCOPE(caller), near, err);
        if (!vm)
            return NULL;
        if (!vm->host) {
            nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' has no host yet", vm->spec->name);
            return NULL;
        }
    }
    g_autofree char *host = nc_storage_host(c, vm ? vm->host : NULL, err);
    if (!host)
        return NULL;
    v->host = g_strdup(host);
    g_autoptr(NcOperation) op = nc__op_new(v->project, "volume.create", "volume", v->id, v->name,
                                           host);
    v->op = g_strdup(op->id);
    if (nc_store_volume_insert(c->store, v, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("volume.create", op->id, v, NULL, NULL, NULL,
                                                      NULL), err) < 0 ||
        nc_volume_event(c, v, "volume.created", err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

/* The id of the caller's VM @key (NULL when @key is), for the listings
 * that may be narrowed to one VM.  -1 when there is no such VM. */
static int
nc_storage_vm_filter(NcCentral *c, const NcCaller *caller, const char *key, char **ret_id,
                     GError **err)
{
    *ret_id = NULL;
    if (!key)
        return 0;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return -1;
    *ret_id = g_strdup(vm->spec->id);
    return 0;
}

json_t *
nc_volume_service_list(NcCentral *c, const NcCaller *caller, const char *vm, GError **err)
{
    g_autofree char *vm_id = NULL;
    if (nc_storage_vm_filter(c, caller, vm, &vm_id, err) < 0)
        return NULL;
    g_autoptr(GPtrArray) list = nc_store_volume_list(c->store, NC_SCOPE(caller), vm_id, err);
    if (!list)
        return NULL;
    json_t *arr = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(arr, nc_volume_to_api_json(g_ptr_array_index(list, i)));
    return json_pack("{s:o}", "volumes", arr);
}

json_t *
nc_volume_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NC_SCOPE(caller), key, err);
    return v ? nc_volume_to_api_json(v) : NULL;
}

json_t *
nc_volume_service_update(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                         GError **err)
{
    static const char *const keys[] = { "size_gib", "shrink", NULL };
    int64_t size = 0;
    bool shrink = false;
    if (nc_json_check_keys(req, "a volume change (size_gib, shrink)", keys, err) < 0 ||
        nc_json_get_int(req, "size_gib", true, 1, NC_LIMIT_VOLUME_GIB, &size, err) < 0 ||
        nc_json_get_bool(req, "shrink", false, &shrink, err) < 0)
        return NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NC_SCOPE(caller), key, err);
    if (!v || nc_volume_check_idle(v, err) < 0)
        return NULL;
    if (strcmp(v->state, "available") != 0 && strcmp(v->state, "in-use") != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume '%s' is %s", v->name, v->state);
        return NULL;
    }
    if (size == v->size_gib) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "volume '%s' is already %" G_GINT64_FORMAT " GiB",
                     v->name, size);
        return NULL;
    }
    if (size < v->size_gib) {
        if (!shrink) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "%" G_GINT64_FORMAT " GiB is smaller than the volume (%" G_GINT64_FORMAT
                         " GiB); shrinking needs \"shrink\": true", size, v->size_gib);
            return NULL;
        }
        if (v->vm) {
            nc_error_set(err, NC_ERR_CONFLICT, "detach volume '%s' before shrinking it", v->name);
            return NULL;
        }
        if (strcmp(v->filesystem, "xfs") == 0) {
            nc_error_set(err, NC_ERR_UNSUPPORTED, "an xfs filesystem cannot shrink");
            return NULL;
        }
    } else {
        int64_t count = 0, gib = 0, max_count = 0, max_gib = 0;
        if (nc_store_volume_usage(c->store, v->project, &count, &gib, err) < 0 ||
            nc_store_project_quota_get(c->store, v->project, &max_count, &max_gib, err) < 0)
            return NULL;
        if (gib - v->size_gib + size > max_gib) {
            nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the project's volume quota is %"
                         G_GINT64_FORMAT " GiB; %" G_GINT64_FORMAT " GiB are left", max_gib,
                         MAX(0, max_gib - gib));
            return NULL;
        }
    }
    g_autoptr(NcVm) vm = v->vm ? nc_store_vm_get(c->store, NULL, v->vm, NULL) : NULL;
    g_autofree char *host = nc_storage_host(c, vm ? vm->host : NULL, err);
    if (!host)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(v->project, "volume.resize", "volume", v->id, v->name,
                                           host);
    json_decref(op->request);
    op->request = json_pack("{s:I, s:I}", "from", (json_int_t)v->size_gib, "to", (json_int_t)size);
    g_free(v->op);
    v->op = g_strdup(op->id);
    json_t *args = json_pack("{s:I, s:b, s:o}", "size_gib", (json_int_t)size, "shrink", shrink,
                             "vm", nc_json_string_or_null(v->vm));
    if (nc_store_volume_update(c->store, v, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("volume.resize", op->id, v, NULL, NULL, NULL,
                                                      args), err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_volume_service_delete(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NC_SCOPE(caller), key, err);
    if (!v || nc_volume_check_idle(v, err) < 0)
        return NULL;
    if (v->vm) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume '%s' is attached to VM '%s'; detach it first",
                     v->name, v->vm_name ? v->vm_name : v->vm);
        return NULL;
    }
    g_autofree char *host = nc_storage_host(c, NULL, err);
    if (!host)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(v->project, "volume.delete", "volume", v->id, v->name,
                                           host);
    g_free(v->state);
    v->state = g_strdup("deleting");
    g_free(v->op);
    v->op = g_strdup(op->id);
    if (nc_store_volume_update(c->store, v, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("volume.delete", op->id, v, NULL, NULL, NULL,
                                                      NULL), err) < 0 ||
        nc_volume_event(c, v, "volume.state", err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

/* The first free vdX of @vm. */
static char *
nc_volume_free_device(NcCentral *c, const char *vm_id, GError **err)
{
    g_autoptr(GPtrArray) attached = nc_store_volume_list(c->store, NULL, vm_id, err);
    if (!attached)
        return NULL;
    for (char d = 'b'; d < 'b' + NC_LIMIT_VOLUMES_PER_VM; d++) {
        g_autofree char *name = g_strdup_printf("vd%c", d);
        bool used = false;
        for (guint i = 0; i < attached->len && !used; i++)
            used = g_strcmp0(((NcVolume *)g_ptr_array_index(attached, i))->device, name) == 0;
        if (!used)
            return g_steal_pointer(&name);
    }
    nc_error_set(err, NC_ERR_CONFLICT, "the VM already has %d volumes, the limit",
                 NC_LIMIT_VOLUMES_PER_VM);
    return NULL;
}

json_t *
nc_volume_service_attach(NcCentral *c, const NcCaller *caller, const char *vm_key, json_t *req,
                         GError **err)
{
    static const char *const keys[] = { "volume", NULL };
    const char *vol_key = NULL;
    if (nc_json_check_keys(req, "an attachment", keys, err) < 0 ||
        nc_json_get_string(req, "volume", true, 256, &vol_key, err) < 0)
        return NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), vm_key, err);
    if (!vm)
        return NULL;
    if (vm->state == NC_VM_DELETING || vm->state == NC_VM_UNKNOWN || !vm->host) {
        nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is %s", vm->spec->name,
                     nc_vm_state_name(vm->state));
        return NULL;
    }
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NC_SCOPE(caller), vol_key, err);
    if (!v || nc_volume_check_idle(v, err) < 0)
        return NULL;
    if (g_strcmp0(v->project, vm->spec->project) != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume and VM belong to different projects");
        return NULL;
    }
    if (v->vm || strcmp(v->state, "available") != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume '%s' is %s%s%s", v->name, v->state,
                     v->vm ? ", attached to " : "", v->vm ? (v->vm_name ? v->vm_name : v->vm) : "");
        return NULL;
    }
    if (v->host && strcmp(v->host, vm->host) != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "volume '%s' is a file on host '%s' and VM '%s' runs "
                     "on host '%s': a volume attaches only to VMs of its host (make one there "
                     "with \"vm\": \"%s\")", v->name, v->host_name ? v->host_name : v->host,
                     vm->spec->name, vm->host_name ? vm->host_name : vm->host, vm->spec->name);
        return NULL;
    }
    v->device = nc_volume_free_device(c, vm->spec->id, err);
    if (!v->device)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(v->project, "vm.attach", "volume", v->id, v->name,
                                           vm->host);
    json_object_set_new(op->request, "vm", json_string(vm->spec->id));
    v->vm = g_strdup(vm->spec->id);
    g_free(v->state);
    v->state = g_strdup("in-use");
    g_free(v->op);
    v->op = g_strdup(op->id);
    if (nc_store_volume_update(c->store, v, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc_storage_command("vm.attach", op->id, v, vm->spec, NULL,
                                                          NULL, NULL), err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_volume_service_detach(NcCentral *c, const NcCaller *caller, const char *vm_key,
                         const char *vol_key, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), vm_key, err);
    if (!vm)
        return NULL;
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NC_SCOPE(caller), vol_key, err);
    if (!v || nc_volume_check_idle(v, err) < 0)
        return NULL;
    if (g_strcmp0(v->vm, vm->spec->id) != 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "volume '%s' is not attached to VM '%s'", v->name,
                     vm->spec->name);
        return NULL;
    }
    g_autoptr(NcOperation) op = nc__op_new(v->project, "vm.detach", "volume", v->id, v->name,
                                           vm->host);
    g_free(v->op);
    v->op = g_strdup(op->id);
    if (nc_store_volume_update(c->store, v, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc_storage_command("vm.detach", op->id, v, vm->spec, NULL,
                                                          NULL, NULL), err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

/* ---- snapshots ---- */

json_t *
nc_snapshot_service_create(NcCentral *c, const NcCaller *caller, const char *vm_key, json_t *req,
                           GError **err)
{
    static const char *const keys[] = { "name", NULL };
    const char *name = NULL;
    if (nc_json_check_keys(req, "a snapshot", keys, err) < 0 ||
        nc_json_get_string(req, "name", true, 256, &name, err) < 0 ||
        nc_name_check("snapshot", name, err) < 0)
        return NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), vm_key, err);
    if (!vm)
        return NULL;
    if (vm->state != NC_VM_RUNNING && vm->state != NC_VM_STOPPED) {
        nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is %s; snapshots are taken of running or "
                     "stopped VMs", vm->spec->name, nc_vm_state_name(vm->state));
        return NULL;
    }
    if (vm->op) {
        nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' has operation %s in progress", vm->spec->name,
                     vm->op);
        return NULL;
    }
    g_autoptr(GPtrArray) mine = nc_store_snapshot_list(c->store, vm->spec->project, NULL, err);
    if (!mine)
        return NULL;
    if (mine->len >= NC_LIMIT_SNAPSHOTS_PER_PROJECT) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the project already has %u snapshots, its limit",
                     mine->len);
        return NULL;
    }
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NULL, vm->spec->image, err);
    if (!img)
        return NULL;
    g_autoptr(NcSnapshot) s = nc_snapshot_new();
    s->id = nc_uuid_new();
    s->project = g_strdup(vm->spec->project);
    s->name = g_strdup(name);
    s->vm = g_strdup(vm->spec->id);
    s->image = g_strdup(img->id);
    s->file = g_strdup_printf("snapshots/%s.qcow2", s->id);
    s->state = g_strdup("creating");
    s->disk_gib = vm->spec->disk_gib;
    s->created_at = nc_now_ms();
    g_autoptr(NcOperation) op = nc__op_new(s->project, "vm.snapshot", "snapshot", s->id, s->name,
                                           vm->host);
    s->op = g_strdup(op->id);
    if (nc_store_snapshot_insert(c->store, s, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc_storage_command("vm.snapshot", op->id, NULL, vm->spec,
                                                          img, s->file, NULL), err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_snapshot_service_list(NcCentral *c, const NcCaller *caller, const char *vm_key, GError **err)
{
    g_autofree char *vm_id = NULL;
    if (nc_storage_vm_filter(c, caller, vm_key, &vm_id, err) < 0)
        return NULL;
    g_autoptr(GPtrArray) list = nc_store_snapshot_list(c->store, NC_SCOPE(caller), vm_id, err);
    if (!list)
        return NULL;
    json_t *arr = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(arr, nc_snapshot_to_api_json(g_ptr_array_index(list, i)));
    return json_pack("{s:o}", "snapshots", arr);
}

json_t *
nc_snapshot_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcSnapshot) s = nc_store_snapshot_get(c->store, NC_SCOPE(caller), key, err);
    return s ? nc_snapshot_to_api_json(s) : NULL;
}

static int
nc_snapshot_check_ready(const NcSnapshot *s, GError **err)
{
    if (s->op) {
        nc_error_set(err, NC_ERR_CONFLICT, "snapshot '%s' has operation %s in progress", s->name,
                     s->op);
        return -1;
    }
    if (strcmp(s->state, "available") != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "snapshot '%s' is %s", s->name, s->state);
        return -1;
    }
    return 0;
}

json_t *
nc_snapshot_service_delete(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcSnapshot) s = nc_store_snapshot_get(c->store, NC_SCOPE(caller), key, err);
    if (!s)
        return NULL;
    if (s->op) {
        nc_error_set(err, NC_ERR_CONFLICT, "snapshot '%s' has operation %s in progress", s->name,
                     s->op);
        return NULL;
    }
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NULL, NULL, err);
    if (!vms)
        return NULL;
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        if (g_strcmp0(vm->spec->snapshot, s->id) == 0) {
            nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' was launched from snapshot '%s' and "
                         "stands on it; delete the VM first", vm->spec->name, s->name);
            return NULL;
        }
    }
    g_autofree char *host = nc_storage_host(c, NULL, err);
    if (!host)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(s->project, "snapshot.delete", "snapshot", s->id,
                                           s->name, host);
    s->op = g_strdup(op->id);
    g_free(s->state);
    s->state = g_strdup("deleting");
    if (nc_store_snapshot_update(c->store, s, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("snapshot.delete", op->id, NULL, NULL, NULL,
                                                      s->file, NULL), err) < 0 ||
        nc_storage_finish(c, &txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

static json_t *
nc_snapshot_restore(NcCentral *c, NcSnapshot *s, NcStoreTxn *txn, GError **err)
{
    GError *local = NULL;
    g_autoptr(NcVm) vm = s->vm ? nc_store_vm_get(c->store, NULL, s->vm, &local) : NULL;
    if (!vm) {
        g_clear_error(&local);
        nc_error_set(err, NC_ERR_CONFLICT, "the VM of snapshot '%s' is gone; launch a new VM "
                     "from the snapshot instead", s->name);
        return NULL;
    }
    if (vm->state != NC_VM_STOPPED || vm->op) {
        nc_error_set(err, NC_ERR_CONFLICT, "stop VM '%s' before restoring a snapshot (it is %s)",
                     vm->spec->name, nc_vm_state_name(vm->state));
        return NULL;
    }
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NULL, vm->spec->image, err);
    if (!img)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(s->project, "vm.restore", "snapshot", s->id, s->name,
                                           vm->host);
    json_object_set_new(op->request, "vm", json_string(vm->spec->id));
    s->op = g_strdup(op->id);
    if (nc_store_snapshot_update(c->store, s, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc_storage_command("vm.restore", op->id, NULL, vm->spec,
                                                          img, s->file, NULL), err) < 0 ||
        nc_storage_finish(c, txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

static json_t *
nc_snapshot_export(NcCentral *c, NcSnapshot *s, const char *name, NcStoreTxn *txn, GError **err)
{
    g_autoptr(json_t) vreq = json_pack("{s:s, s:I, s:s}", "name", name,
                                       "size_gib", (json_int_t)s->disk_gib, "filesystem", "none");
    g_autoptr(NcVolume) v = NULL;
    if (nc_volume_from_request(vreq, &v, err) < 0)
        return NULL;
    v->id = nc_uuid_new();
    v->project = g_strdup(s->project);
    v->created_at = v->updated_at = nc_now_ms();
    int64_t count = 0, gib = 0, max_count = 0, max_gib = 0;
    if (nc_store_volume_usage(c->store, s->project, &count, &gib, err) < 0 ||
        nc_store_project_quota_get(c->store, s->project, &max_count, &max_gib, err) < 0)
        return NULL;
    if (count + 1 > max_count || gib + v->size_gib > max_gib) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the volume quota leaves %" G_GINT64_FORMAT
                     " volumes and %" G_GINT64_FORMAT " GiB", MAX(0, max_count - count),
                     MAX(0, max_gib - gib));
        return NULL;
    }
    g_autofree char *host = nc_storage_host(c, NULL, err);
    if (!host)
        return NULL;
    v->host = g_strdup(host);
    g_autoptr(NcOperation) op = nc__op_new(s->project, "snapshot.export", "volume", v->id, v->name,
                                           host);
    v->op = g_strdup(op->id);
    if (nc_store_volume_insert(c->store, v, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("snapshot.export", op->id, v, NULL, NULL,
                                                      s->file, NULL), err) < 0 ||
        nc_volume_event(c, v, "volume.created", err) < 0 ||
        nc_storage_finish(c, txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

static json_t *
nc_snapshot_publish(NcCentral *c, NcSnapshot *s, const char *name, NcStoreTxn *txn, GError **err)
{
    if (nc_name_check("image", name, err) < 0)
        return NULL;
    g_autoptr(NcImage) base = nc_store_image_get(c->store, NULL, s->image, err);
    if (!base)
        return NULL;
    g_autoptr(NcImage) img = nc_image_new();
    img->id = nc_uuid_new();
    img->project = g_strdup(s->project);
    img->name = g_strdup(name);
    img->format = g_strdup("qcow2");
    img->file = g_strdup_printf("%s.qcow2", img->id);
    img->state = g_strdup("creating");
    img->virtual_size_bytes = (uint64_t)s->disk_gib << 30;
    img->created_at = nc_now_ms();
    if (base->kernel) {
        /* a kernel-boot image keeps booting the same way; its files are
         * copied so that deleting either image leaves the other whole */
        img->kernel = g_strdup_printf("%s.vmlinuz", img->id);
        img->initrd = base->initrd ? g_strdup_printf("%s.initrd", img->id) : NULL;
        img->cmdline = g_strdup(base->cmdline);
        const char *pairs[][2] = { { base->kernel, img->kernel }, { base->initrd, img->initrd } };
        for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
            if (!pairs[i][0] || !pairs[i][1])
                continue;
            g_autofree char *src = g_build_filename(c->cfg.image_dir, pairs[i][0], NULL);
            g_autofree char *dst = g_build_filename(c->cfg.image_dir, pairs[i][1], NULL);
            if (nc_fs_copy(src, dst, err) < 0)
                return NULL;
        }
    }
    g_autofree char *host = nc_storage_host(c, NULL, err);
    if (!host)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(s->project, "snapshot.publish", "snapshot", s->id,
                                           s->name, host);
    json_object_set_new(op->request, "image", json_string(img->id));
    s->op = g_strdup(op->id);
    if (nc_store_image_insert(c->store, img, err) < 0 ||
        nc_store_snapshot_update(c->store, s, err) < 0 ||
        nc__op_submit(c, op, host, nc_storage_command("snapshot.publish", op->id, NULL, NULL, NULL,
                                                      s->file,
                                                      json_pack("{s:s}", "image_file", img->file)),
                      err) < 0 ||
        nc_storage_finish(c, txn, err) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_snapshot_service_action(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                           GError **err)
{
    static const char *const keys[] = { "action", "volume", "image", NULL };
    const char *action = NULL, *volume = NULL, *image = NULL;
    if (nc_json_check_keys(req, "a snapshot action", keys, err) < 0 ||
        nc_json_get_string(req, "action", true, 32, &action, err) < 0 ||
        nc_json_get_string(req, "volume", false, 256, &volume, err) < 0 ||
        nc_json_get_string(req, "image", false, 256, &image, err) < 0)
        return NULL;
    bool restore = !strcmp(action, "restore"), exp = !strcmp(action, "export");
    bool pub = !strcmp(action, "publish");
    if (!restore && !exp && !pub) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "action must be restore, export or publish");
        return NULL;
    }
    if ((exp && !volume) || (pub && !image)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "%s needs the name of the new %s", action,
                     exp ? "volume (\"volume\")" : "image (\"image\")");
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcSnapshot) s = nc_store_snapshot_get(c->store, NC_SCOPE(caller), key, err);
    if (!s || nc_snapshot_check_ready(s, err) < 0)
        return NULL;
    if (restore)
        return nc_snapshot_restore(c, s, &txn, err);
    if (exp)
        return nc_snapshot_export(c, s, volume, &txn, err);
    return nc_snapshot_publish(c, s, image, &txn, err);
}

json_t *
nc_project_service_update(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                          GError **err)
{
    static const char *const keys[] = { "quota_volumes", "quota_volume_gib", NULL };
    int64_t volumes = -1, gib = -1;
    if (!caller->admin) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only an admin can change quotas");
        return NULL;
    }
    if (nc_json_check_keys(req, "a project change", keys, err) < 0 ||
        nc_json_get_int(req, "quota_volumes", false, 0, 1000000, &volumes, err) < 0 ||
        nc_json_get_int(req, "quota_volume_gib", false, 0, 1LL << 30, &gib, err) < 0)
        return NULL;
    g_autofree char *id = nc_store_project_resolve(c->store, key, err);
    if (!id || nc_store_project_quota_set(c->store, id, volumes, gib, err) < 0 ||
        nc_store_project_quota_get(c->store, id, &volumes, &gib, err) < 0)
        return NULL;
    return json_pack("{s:s, s:I, s:I}", "id", id, "quota_volumes", (json_int_t)volumes,
                     "quota_volume_gib", (json_int_t)gib);
}

/* ---- applying worker reports ---- */

int
nc__volume_apply_result(NcCentral *c, const NcOperation *op, bool ok, const char *emsg,
                        GError **err)
{
    GError *local = NULL;
    g_autoptr(NcVolume) v = nc_store_volume_get(c->store, NULL, op->target_id, &local);
    if (!v) {
        g_clear_error(&local);
        return 0;
    }
    const char *kind = op->kind;
    g_clear_pointer(&v->op, g_free);
    g_clear_pointer(&v->error, g_free);
    if (!ok)
        v->error = g_strdup_printf("%s failed: %s", kind, emsg ? emsg : "unknown error");
    const char *next = NULL;
    if (!strcmp(kind, "volume.create") || !strcmp(kind, "snapshot.export")) {
        next = ok ? "available" : "error";
    } else if (!strcmp(kind, "volume.delete")) {
        if (ok) {
            if (nc_store_volume_delete(c->store, v->id, err) < 0)
                return -1;
            return nc_volume_event(c, v, "volume.deleted", err);
        }
        next = "error";
    } else if (!strcmp(kind, "volume.resize")) {
        if (ok)
            v->size_gib = nc_json_int(op->request, "to", v->size_gib);
        next = v->vm ? "in-use" : "available";
    } else if (!strcmp(kind, "vm.attach")) {
        if (!ok) {
            g_clear_pointer(&v->vm, g_free);
            g_clear_pointer(&v->device, g_free);
        }
        next = ok ? "in-use" : "available";
    } else if (!strcmp(kind, "vm.detach")) {
        if (ok) {
            g_clear_pointer(&v->vm, g_free);
            g_clear_pointer(&v->device, g_free);
        }
        next = ok ? "available" : "in-use";
    }
    if (next) {
        g_free(v->state);
        v->state = g_strdup(next);
    }
    if (nc_store_volume_update(c->store, v, err) < 0)
        return -1;
    return nc_volume_event(c, v, "volume.state", err);
}

int
nc__snapshot_apply_result(NcCentral *c, const NcOperation *op, json_t *msg, bool ok,
                          const char *emsg, GError **err)
{
    GError *local = NULL;
    g_autoptr(NcSnapshot) s = nc_store_snapshot_get(c->store, NULL, op->target_id, &local);
    if (!s) {
        g_clear_error(&local);
        return 0;
    }
    const char *kind = op->kind;
    json_t *data = json_object_get(msg, "data");
    g_clear_pointer(&s->op, g_free);
    g_clear_pointer(&s->error, g_free);
    if (!ok)
        s->error = g_strdup_printf("%s failed: %s", kind, emsg ? emsg : "unknown error");
    if (!strcmp(kind, "vm.snapshot")) {
        g_free(s->state);
        s->state = g_strdup(ok ? "available" : "error");
        s->size_bytes = nc_json_int(data, "size_bytes", 0);
    } else if (!strcmp(kind, "snapshot.delete")) {
        if (ok) {
            if (nc_store_snapshot_delete(c->store, s->id, err) < 0)
                return -1;
            return nc__central_event(c, s->project, "snapshot.deleted", "snapshot", s->id,
                                     nc_snapshot_to_api_json(s), err);
        }
        g_free(s->state);
        s->state = g_strdup("error");
    } else if (!strcmp(kind, "snapshot.publish")) {
        const char *image_id = nc_json_str(op->request, "image");
        g_autoptr(NcImage) img = image_id ? nc_store_image_get(c->store, NULL, image_id, &local)
                                          : NULL;
        g_clear_error(&local);
        if (img && ok) {
            if (nc_store_image_set_ready(c->store, img->id, nc_json_int(data, "size_bytes", 0),
                                         nc_now_ms(), err) < 0)
                return -1;
        } else if (img && nc_store_image_delete(c->store, img->id, err) < 0) {
            return -1;
        }
    }
    if (nc_store_snapshot_update(c->store, s, err) < 0)
        return -1;
    return nc__central_event(c, s->project, "snapshot.state", "snapshot", s->id,
                             nc_snapshot_to_api_json(s), err);
}
