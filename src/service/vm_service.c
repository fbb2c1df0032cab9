/* vm_service.c: VM requests, and applying what workers report about VMs. */
#include "vm_service.h"
#include "central_priv.h"
#include "conf/limits.h"
#include "sched/sched.h"
#include "store/port_store.h"
#include "store/host_store.h"
#include "store/image_store.h"
#include "store/op_store.h"
#include "store/vm_store.h"
#include "store/volume_store.h"
#include "util/nc_error.h"
#include "util/nc_fault.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared helpers ---- */

NcOperation *
nc__op_new(const char *project, const char *kind, const char *target_kind,
           const char *target_id, const char *target_name, const char *host)
{
    NcOperation *op = nc_op_new();
    op->id = nc_uuid_new();
    op->project = g_strdup(project);
    op->kind = g_strdup(kind);
    op->status = NC_OP_PENDING;
    op->target_kind = g_strdup(target_kind);
    op->target_id = g_strdup(target_id);
    op->target_name = g_strdup(target_name);
    op->host = g_strdup(host);
    op->created_at = op->updated_at = nc_now_ms();
    return op;
}

int
nc__op_submit_text(NcCentral *c, NcOperation *op, const char *host, const char *command,
                   json_t **ret_json, GError **err)
{
    json_t *json = nc_op_to_api_json(op);
    if (ret_json)
        *ret_json = json_incref(json);
    if (nc_store_op_insert(c->store, op, err) < 0 ||
        nc__central_event(c, op->project, "operation", "operation", op->id, json, err) < 0) {
        if (ret_json)
            g_clear_pointer(ret_json, json_decref);
        return -1;
    }
    if (command) {
        g_autofree char *topic = nc_bus_host_topic(host);
        if (nc_outbox_put(c->store, topic, command, err) < 0)
            return -1;
    }
    return 0;
}

int
nc__op_submit(NcCentral *c, NcOperation *op, const char *host, json_t *command,
              GError **err)
{
    g_autoptr(json_t) cmd = command;
    g_autofree char *body = cmd ? nc_json_dumps(cmd) : NULL;
    return nc__op_submit_text(c, op, host, body, NULL, err);
}

json_t *
nc__image_command_json(const NcImage *img)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
                     "id", img->id, "name", img->name, "format", img->format,
                     "file", img->file, "kernel", nc_json_string_or_null(img->kernel),
                     "initrd", nc_json_string_or_null(img->initrd),
                     "cmdline", nc_json_string_or_null(img->cmdline));
}

/* The image part of @spec's commands. */
static json_t *
nc_vm_command_image(const NcVmSpec *spec, const NcImage *image)
{
    json_t *img = image ? nc__image_command_json(image) : json_object();
    if (spec && spec->base_file) {
        /* launched from a snapshot: the overlay stands on the snapshot */
        json_object_set_new(img, "file", json_string(spec->base_file));
        json_object_set_new(img, "format", json_string("qcow2"));
    }
    return img;
}

json_t *
nc__vm_command(const char *kind, const char *op_id, const NcVmSpec *spec,
               const NcImage *image, json_t *args)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "kind", kind,
                     "op", nc_json_string_or_null(op_id),
                     "vm", spec ? nc_vm_spec_to_json(spec) : json_object(),
                     "image", nc_vm_command_image(spec, image),
                     "args", args ? args : json_object());
}

char *
nc__vm_command_text(const char *kind, const char *op_id, const char *spec_text,
                    const char *image_text, const char *args_text)
{
    g_autoptr(json_t) k = json_string(kind);
    g_autoptr(json_t) o = nc_json_string_or_null(op_id);
    g_autofree char *kind_text = nc_json_dumps(k);
    g_autofree char *op_text = nc_json_dumps(o);
    /* a part that could not be written leaves no command, not a cut one */
    if (!kind_text || !op_text || !spec_text || !image_text || !args_text)
        return NULL;
    return g_strconcat("{\"kind\":", kind_text, ",\"op\":", op_text, ",\"vm\":", spec_text,
                       ",\"image\":", image_text, ",\"args\":", args_text, "}", NULL);
}

static json_t *
nc_vm_json(NcCentral *c, const NcVm *vm)
{
    g_autoptr(NcImage) img = nc_store_image_get(c->store, NULL, vm->spec->image, NULL);
    return nc_vm_to_api_json(vm, img ? img->name : NULL);
}

static int
nc_vm_event_of(NcCentral *c, const char *type, const char *project, const char *id,
               const char *name, NcVmState state, const char *host, const char *error,
               GError **err)
{
    return nc__central_event(c, project, type, "vm", id,
                             json_pack("{s:s, s:s, s:o, s:o}", "name", name,
                                       "state", nc_vm_state_name(state),
                                       "host", nc_json_string_or_null(host),
                                       "error", nc_json_string_or_null(error)),
                             err);
}

static int
nc_vm_event(NcCentral *c, const NcVm *vm, const char *type, GError **err)
{
    return nc_vm_event_of(c, type, vm->spec->project, vm->spec->id, vm->spec->name, vm->state,
                          vm->host_name ? vm->host_name : vm->host, vm->error, err);
}

static int
nc_vm_status_event(NcCentral *c, const NcVmStatus *s, GError **err)
{
    return nc_vm_event_of(c, "vm.state", s->project, s->id, s->name, s->state,
                          s->host_name ? s->host_name : s->host, s->error, err);
}

static int
nc_vm_finish(NcCentral *c, GError **err, NcStoreTxn *txn)
{
    int rc = nc_store_txn_commit(txn, err);
    nc__central_sync_hosts(c);
    if (rc < 0)
        return -1;
    nc__central_notify(c);
    nc__central_kick(c);
    return 0;
}

/* ---- create ---- */

/* Hosts that must not take @vm: those running a VM of its anti-affinity
 * group, and those that cannot see its image file. */
static GHashTable *
nc_vm_excluded_hosts(NcCentral *c, const NcVm *vm, const NcImage *img, GError **err)
{
    GHashTable *ex = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const NcVmSpec *s = vm->spec;
    if (s->group) {
        g_autoptr(GPtrArray) peers = nc_store_vm_list(c->store, s->project, NULL, err);
        if (!peers) {
            g_hash_table_unref(ex);
            return NULL;
        }
        for (guint i = 0; i < peers->len; i++) {
            NcVm *p = g_ptr_array_index(peers, i);
            if (p->host && g_strcmp0(p->spec->group, s->group) == 0)
                g_hash_table_add(ex, g_strdup(p->host));
        }
    }
    g_mutex_lock(&c->sched_lock);
    GHashTableIter it;
    gpointer host, value;
    g_hash_table_iter_init(&it, c->host_images);
    while (g_hash_table_iter_next(&it, &host, &value)) {
        NcHostImages *hi = value;
        /* a list taken before the image's file was whole proves nothing */
        if (img->ready_at && hi->at > img->ready_at &&
            !g_hash_table_contains(hi->files, img->file))
            g_hash_table_add(ex, g_strdup(host));
    }
    g_mutex_unlock(&c->sched_lock);
    return ex;
}

/* A copy of the host set @ex. */
static GHashTable *
nc_host_set_copy(GHashTable *ex)
{
    GHashTable *copy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, ex);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_hash_table_add(copy, g_strdup(key));
    return copy;
}

/* Puts @vm on @h, which it has claimed: @why is how @h was chosen. */
static void
nc_vm_placed(NcVm *vm, const NcHost *h, const char *why)
{
    vm->host = g_strdup(h->id);
    vm->host_name = g_strdup(h->name);
    vm->placement = g_strdup_printf(
        "host '%s' (%s), %s; with this VM it has %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
        " vCPUs, %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " MiB and %" G_GINT64_FORMAT
        "/%" G_GINT64_FORMAT " GiB allocated",
        h->name, h->accel, why, h->alloc_vcpus, nc_host_limit_vcpus(h), h->alloc_memory_mib,
        nc_host_limit_memory_mib(h), h->alloc_disk_gib, nc_host_limit_disk_gib(h));
}

/* Places @vm on @target, the host an admin named, or fails saying why it
 * cannot: the same filters and claim as a choice, with one candidate. */
static int
nc_vm_place_on(NcCentral *c, NcVm *vm, const NcHost *target, GHashTable *ex, GError **err)
{
    const NcVmSpec *s = vm->spec;
    if (g_hash_table_contains(ex, target->id)) {
        nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' cannot take this VM: it runs a VM of "
                     "its anti-affinity group, or lacks its image", target->name);
        return -1;
    }
    g_autoptr(NcHost) h = NULL;
    int rc = nc_store_host_claim(c->store, NC_HOST_CLAIM_PLACE, target->id, s->vcpus,
                                 s->memory_mib, s->disk_gib, &h, err);
    if (rc < 0)
        return -1;
    nc__central_touch_host(c, target->id);   /* the index learns the claim, or its undoing */
    if (rc == 1 && !nc__vm_fits_ahead(c, target->id, s, err)) {
        if (err && *err)
            return -1;
        /* the request fails: its rollback undoes the claim */
        nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' cannot take this VM: a reservation "
                     "needs its room during the VM's life", target->name);
        return -1;
    }
    if (rc == 0) {
        g_autoptr(NcHost) now = nc_store_host_get(c->store, target->id, err);
        if (!now)
            return -1;
        if (!nc_host_schedulable(now)) {
            nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' cannot take this VM: it is %s",
                         now->name, now->disabled ? "disabled" : now->state);
            return -1;
        }
        g_autoptr(GPtrArray) one = g_ptr_array_new();
        g_ptr_array_add(one, now);
        NcSchedRequest req = { s->vcpus, s->memory_mib, s->disk_gib };
        g_auto(NcSchedResult) res = { 0 };
        nc_sched_rank(one, &req, c->cfg.policy, &res);
        nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' cannot take this VM: %s", now->name,
                     res.nearest_miss ? res.nearest_miss : "it is full");
        return -1;
    }
    nc_vm_placed(vm, h, "named by an admin");
    return 0;
}

/* Filter, weigh, claim: the index proposes the policy's best host that is
 * not in @shared_ex, the store's conditional update claims it; a host whose
 * claim fails (a racing request, a stale view) is refreshed and passed over
 * for this VM only (a racing request may yet roll back). */
static int
nc_vm_place(NcCentral *c, NcVm *vm, GHashTable *shared_ex, GError **err)
{
    const NcVmSpec *s = vm->spec;
    NcSchedRequest req = { s->vcpus, s->memory_mib, s->disk_gib };
    GHashTable *ex = shared_ex;
    g_autoptr(GHashTable) mine = NULL;   /* @shared_ex and the hosts passed over */
    guint filtered = g_hash_table_size(ex);
    nc__central_sync_hosts(c);
    for (int attempt = 0; attempt < 16; attempt++) {
        g_autofree char *key = NULL;
        g_mutex_lock(&c->sched_lock);
        const char *picked = NULL;
        size_t nhosts = nc_sched_index_size(c->index);
        if (nc_sched_index_pick(c->index, &req, ex, false, &picked))
            key = g_strdup(picked);
        g_mutex_unlock(&c->sched_lock);
        if (!key)
            break;
        g_autoptr(NcHost) h = NULL;
        int rc = nc_store_host_claim(c->store, NC_HOST_CLAIM_PLACE, key, req.vcpus,
                                     req.memory_mib, req.disk_gib, &h, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            nc__central_touch_host(c, key);
        if (rc == 1 && !nc__vm_fits_ahead(c, key, s, err)) {
            nc__central_touch_host(c, key);
            /* room now, but a reservation needs it during the VM's life */
            if (err && *err)
                return -1;
            if (nc_store_host_release(c->store, key, req.vcpus, req.memory_mib, req.disk_gib,
                                      err) < 0)
                return -1;
            rc = 0;
            filtered++;
        }
        if (rc == 0) {
            nc__central_sync_hosts(c);
            if (!mine)
                ex = mine = nc_host_set_copy(shared_ex);
            g_hash_table_add(ex, g_steal_pointer(&key));
            continue;
        }
        /* the index learns the claim from the claim's row; a rollback of the
         * request touches the VMs' hosts again */
        nc__central_index_host(c, h);
        g_autofree char *why = g_strdup_printf(
            "the %s choice of %zu hosts (%u passed over for anti-affinity, a missing image or "
            "a reservation ahead)", nc_sched_policy_name(c->cfg.policy), nhosts, filtered);
        nc_vm_placed(vm, h, why);
        return 0;
    }
    /* nothing fits: say what came nearest */
    g_autoptr(GPtrArray) hosts = nc_store_host_list(c->store, err);
    if (!hosts)
        return -1;
    g_autoptr(GPtrArray) eligible = g_ptr_array_new();
    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        if (!g_hash_table_contains(ex, h->id))
            g_ptr_array_add(eligible, h);
    }
    g_auto(NcSchedResult) res = { 0 };
    nc_sched_rank(eligible, &req, c->cfg.policy, &res);
    nc_error_set(err, NC_ERR_NO_CAPACITY, "no host can take this VM: %s%s",
                 res.nearest_miss ? res.nearest_miss : "every host is full",
                 filtered ? " (hosts running its anti-affinity group, missing its image or "
                            "reserved during its lifetime were not considered)" : "");
    return -1;
}

/* Fills in @spec's disk size from @img, or checks it against it, and points
 * the spec at the image's id. */
static int
nc_vm_spec_fit_image(NcVmSpec *spec, const NcImage *img, GError **err)
{
    int64_t min_disk = MAX(1, (int64_t)((img->virtual_size_bytes + (1ULL << 30) - 1) >> 30));
    if (spec->disk_gib == 0) {
        spec->disk_gib = min_disk;
    } else if (spec->disk_gib < min_disk) {
        nc_error_set(err, NC_ERR_UNPROCESSABLE,
                     "disk_gib %" G_GINT64_FORMAT " is smaller than image '%s' (%"
                     G_GINT64_FORMAT " GiB)", spec->disk_gib, img->name, min_disk);
        return -1;
    }
    g_free(spec->image);
    spec->image = g_strdup(img->id);
    return 0;
}

/* The image @key in @project's reach; a missing one is the request's
 * fault (422). */
static NcImage *
nc_vm_image_lookup(NcCentral *c, const char *project, const char *key, GError **err)
{
    GError *local = NULL;
    NcImage *img = nc_store_image_get(c->store, project, key, &local);
    if (!img) {
        if (nc_error_code(local) == NC_ERR_NOT_FOUND) {
            g_clear_error(&local);
            nc_error_set(err, NC_ERR_UNPROCESSABLE, "image '%s' does not exist", key);
        } else {
            g_propagate_error(err, local);
        }
    }
    return img;
}

/* Resolves the spec's image in @project's reach and fills in the disk size.
 * Returns the image, or NULL (missing image: 422). */
NcImage *
nc__vm_resolve_image(NcCentral *c, const char *project, NcVmSpec *spec, GError **err)
{
    NcImage *img = nc_vm_image_lookup(c, project, spec->image, err);
    if (!img)
        return NULL;
    if (nc_vm_spec_fit_image(spec, img, err) < 0) {
        nc_image_free(img);
        return NULL;
    }
    return img;
}

/* Whether @project may have @adding more VMs. */
static int
nc_vm_quota_check(NcCentral *c, const char *project, int64_t adding, GError **err)
{
    int64_t limit = c->cfg.max_vms_per_project > 0 ? c->cfg.max_vms_per_project
                                                   : NC_LIMIT_VMS_PER_PROJECT;
    int64_t count = nc_store_vm_count(c->store, project, err);
    if (count < 0)
        return -1;
    if (count + adding > limit) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "the project has %" G_GINT64_FORMAT
                     " VMs and may have %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
                     " more do not fit", count, limit, adding);
        return -1;
    }
    return 0;
}

/* What the VMs of one request share.  They have the same image and group,
 * so the image is read and the hosts they may not take are computed once,
 * not once per VM (for a group the set grows with the hosts taken). */
typedef struct {
    GHashTable *excluded;   /* NULL until the first VM fills it in */
    NcImage *img;           /* likewise */
    const NcHost *target;   /* NULL, or the host an admin named for them */
} NcVmShared;

static void
nc_vm_shared_clear(NcVmShared *sh)
{
    g_clear_pointer(&sh->excluded, g_hash_table_unref);
    g_clear_pointer(&sh->img, nc_image_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NcVmShared, nc_vm_shared_clear)

/* One VM of a create.  Its operation's id, its spec's JSON and its
 * worker's command need no store: a request writes them before it takes
 * the store (nc_vm_draft_write()), so that the store is held for the
 * writes alone. */
typedef struct {
    NcVmSpec *spec;
    char *op_id;
    char *spec_text;    /* NULL until written */
    char *command;      /* likewise */
} NcVmDraft;

static NcVmDraft *
nc_vm_draft_new(NcVmSpec *spec)
{
    NcVmDraft *d = g_new0(NcVmDraft, 1);
    d->spec = spec;
    d->op_id = nc_uuid_new();
    return d;
}

static void
nc_vm_draft_free(NcVmDraft *d)
{
    if (!d)
        return;
    nc_vm_spec_free(d->spec);
    g_free(d->op_id);
    g_free(d->spec_text);
    g_free(d->command);
    g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcVmDraft, nc_vm_draft_free)

/* Writes @d's texts; its spec is fitted to @img.  @image_text: NULL, or
 * the image part of the command, written once for the VMs of a request
 * (a VM launched from a snapshot has its own). */
static void
nc_vm_draft_write(NcVmDraft *d, const NcImage *img, const char *image_text, bool start)
{
    g_autoptr(json_t) spec = nc_vm_spec_to_json(d->spec);
    g_autofree char *own_image = NULL;
    if (!image_text || d->spec->base_file) {
        g_autoptr(json_t) image = nc_vm_command_image(d->spec, img);
        image_text = own_image = nc_json_dumps(image);
    }
    g_free(d->spec_text);
    g_free(d->command);
    d->spec_text = nc_json_dumps(spec);
    d->command = nc__vm_command_text("vm.create", d->op_id, d->spec_text, image_text,
                                     start ? "{\"start\":true}" : "{\"start\":false}");
}

/* @was, the image drafts were written for, read again in the transaction:
 * NC_ERR_CONFLICT when it changed in between. */
static NcImage *
nc_vm_image_recheck(NcCentral *c, const char *project, const NcImage *was, GError **err)
{
    g_autoptr(NcImage) now = nc_vm_image_lookup(c, project, was->id, err);
    if (!now)
        return NULL;
    g_autoptr(json_t) a = nc__image_command_json(was);
    g_autoptr(json_t) b = nc__image_command_json(now);
    if (!json_equal(a, b) || now->virtual_size_bytes != was->virtual_size_bytes) {
        nc_error_set(err, NC_ERR_CONFLICT, "image '%s' changed while the VMs were created; "
                     "try again", was->name);
        return NULL;
    }
    return g_steal_pointer(&now);
}

/* nc__vm_create without the quota check: the caller made it.
 * @shared: NULL, or what the VMs of one request share. */
static json_t *
nc_vm_create_one(NcCentral *c, NcVmDraft *draft_in, bool start, const char *forced_host,
                 NcVmShared *shared, GError **err)
{
    g_autoptr(NcVmDraft) draft = draft_in;
    NcVmSpec *spec = draft->spec;
    if (spec->snapshot) {
        /* launched from a snapshot: an overlay on it, over its image */
        g_autoptr(NcSnapshot) snap = nc_store_snapshot_get(c->store, spec->project, spec->snapshot,
                                                           err);
        if (!snap)
            return NULL;
        if (strcmp(snap->state, "available") != 0) {
            nc_error_set(err, NC_ERR_CONFLICT, "snapshot '%s' is %s", snap->name, snap->state);
            return NULL;
        }
        g_free(spec->snapshot);
        spec->snapshot = g_strdup(snap->id);
        g_free(spec->image);
        spec->image = g_strdup(snap->image);
        spec->base_file = g_strdup(snap->file);
        spec->disk_gib = MAX(spec->disk_gib, snap->disk_gib);
    }
    g_autoptr(NcImage) own_img = NULL;
    const NcImage *img = shared ? shared->img : NULL;
    if (img) {
        /* a written draft was fitted to this image already (and the
         * transaction read it again: nc_vm_image_recheck()) */
        if (!draft->command && nc_vm_spec_fit_image(spec, img, err) < 0)
            return NULL;
    } else {
        own_img = nc__vm_resolve_image(c, spec->project, spec, err);
        if (!own_img)
            return NULL;
        img = own_img;
        if (shared)
            shared->img = g_steal_pointer(&own_img);
    }
    if (!draft->command)
        nc_vm_draft_write(draft, img, NULL, start);
    if (!draft->command) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot write the command of VM '%s'", spec->name);
        return NULL;
    }
    g_autoptr(NcVm) vm = nc_vm_new();
    vm->spec = g_steal_pointer(&draft->spec);
    vm->state = NC_VM_SCHEDULED;
    vm->desired = g_strdup(start ? "running" : "stopped");
    vm->created_at = vm->updated_at = nc_now_ms();
    if (forced_host) {
        /* the capacity was set aside by a reservation on this host */
        const NcVmSpec *s = vm->spec;
        g_autoptr(NcHost) h = NULL;
        int rc = nc_store_host_claim(c->store, NC_HOST_CLAIM_KEEP, forced_host, s->vcpus,
                                     s->memory_mib, s->disk_gib, &h, err);
        if (rc < 0)
            return NULL;
        nc__central_touch_host(c, forced_host);
        if (rc == 0) {
            g_autoptr(NcHost) full = nc_store_host_get(c->store, forced_host, err);
            if (full)
                nc_error_set(err, NC_ERR_NO_CAPACITY, "host '%s' no longer has the room that "
                             "was reserved (is it down, or did its capacity shrink?)", full->name);
            return NULL;
        }
        vm->host = g_strdup(h->id);
        vm->host_name = g_strdup(h->name);
        vm->placement = g_strdup_printf("host '%s' (%s), where the reservation held its room",
                                        h->name, h->accel);
    } else {
        g_autoptr(GHashTable) own = NULL;
        GHashTable *ex = shared ? shared->excluded : NULL;
        if (!ex) {
            ex = nc_vm_excluded_hosts(c, vm, img, err);
            if (!ex)
                return NULL;
            if (shared)
                shared->excluded = ex;
            else
                own = ex;
        }
        const NcHost *target = shared ? shared->target : NULL;
        if ((target ? nc_vm_place_on(c, vm, target, ex, err) : nc_vm_place(c, vm, ex, err)) < 0)
            return NULL;
        /* anti-affinity between the VMs of one request too */
        if (vm->spec->group)
            g_hash_table_add(ex, g_strdup(vm->host));
    }
    g_autoptr(NcOperation) op = nc__op_new(vm->spec->project, "vm.create", "vm", vm->spec->id,
                                           vm->spec->name, vm->host);
    g_free(op->id);
    op->id = g_strdup(draft->op_id);
    vm->op = g_strdup(op->id);
    json_t *answer = NULL;
    if (nc_store_vm_insert(c->store, vm, draft->spec_text, err) < 0 ||
        nc__op_submit_text(c, op, vm->host, draft->command, &answer, err) < 0 ||
        nc_vm_event(c, vm, "vm.created", err) < 0) {
        /* the index counts the claim; the caller's rollback undoes it */
        nc__central_touch_host(c, vm->host);
        if (answer)
            json_decref(answer);
        return NULL;
    }
    return answer;
}

json_t *
nc__vm_create(NcCentral *c, NcVmSpec *spec, bool start, const char *forced_host, GError **err)
{
    if (nc_vm_quota_check(c, spec->project, 1, err) < 0) {
        nc_vm_spec_free(spec);
        return NULL;
    }
    return nc_vm_create_one(c, nc_vm_draft_new(spec), start, forced_host, NULL, err);
}

/* The specs of a create request: one, or with "count": N, N alike, named
 * NAME-1 ... NAME-N (as OpenStack names the servers of one request). */
static GPtrArray *
nc_vm_drafts_from_request(const NcCaller *caller, json_t *shape, int64_t count, GError **err)
{
    g_autoptr(GPtrArray) drafts = g_ptr_array_new_with_free_func((GDestroyNotify)nc_vm_draft_free);
    const char *name = nc_json_str(shape, "name");
    for (int64_t i = 1; i <= count; i++) {
        g_autoptr(json_t) one = json_copy(shape);
        if (count > 1 && name) {
            g_autofree char *numbered = g_strdup_printf("%s-%" G_GINT64_FORMAT, name, i);
            json_object_set_new(one, "name", json_string(numbered));
        }
        NcVmSpec *spec = NULL;
        if (nc_vm_spec_from_request(one, &spec, err) < 0)
            return NULL;
        spec->id = nc_uuid_new();
        spec->project = g_strdup(caller->project);
        g_ptr_array_add(drafts, nc_vm_draft_new(spec));
    }
    return g_steal_pointer(&drafts);
}

json_t *
nc_vm_service_create(NcCentral *c, const NcCaller *caller, json_t *req, GError **err)
{
    /* "start": false defines the VM without booting it; "count": N makes N
     * of them, all or none; the rest is the spec */
    g_autoptr(json_t) shape = json_copy(req);
    bool start = true;
    int64_t count = 1;
    bool many = json_object_get(shape, "count") != NULL;
    if (nc_json_get_bool(shape, "start", false, &start, err) < 0 ||
        nc_json_get_int(shape, "count", false, 1, NC_LIMIT_VMS_PER_REQUEST, &count, err) < 0)
        return NULL;
    /* "host": an admin's choice of host, in place of the scheduler's */
    GError *local = NULL;
    g_autofree char *host_wanted = nc__host_key_from_request(caller, shape, &local);
    if (local) {
        g_propagate_error(err, local);
        return NULL;
    }
    json_object_del(shape, "start");
    json_object_del(shape, "count");
    g_autoptr(GPtrArray) drafts = nc_vm_drafts_from_request(caller, shape, count, err);
    if (!drafts)
        return NULL;
    /* the image, and the texts that carry it, before the transaction (a
     * snapshot's VMs learn their image in it) */
    g_autoptr(NcImage) img = NULL;
    NcVmDraft *first = g_ptr_array_index(drafts, 0);
    if (!first->spec->snapshot) {
        img = nc__vm_resolve_image(c, caller->project, first->spec, err);
        if (!img)
            return NULL;
        g_autoptr(json_t) image = nc__image_command_json(img);
        g_autofree char *image_text = nc_json_dumps(image);
        for (guint i = 0; i < drafts->len; i++) {
            NcVmDraft *d = g_ptr_array_index(drafts, i);
            if (nc_vm_spec_fit_image(d->spec, img, err) < 0)
                return NULL;
            nc_vm_draft_write(d, img, image_text, start);
        }
    }

    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(json_t) ops = json_array();
    bool ok = nc_vm_quota_check(c, caller->project, count, err) == 0;
    g_auto(NcVmShared) shared = { 0 };
    g_autoptr(NcHost) target = NULL;
    if (ok && host_wanted) {
        target = nc__host_named(c, host_wanted, err);
        shared.target = target;
        ok = target != NULL;
    }
    if (ok && img) {
        shared.img = nc_vm_image_recheck(c, caller->project, img, err);
        ok = shared.img != NULL;
    }
    while (ok && drafts->len > 0) {
        json_t *op = nc_vm_create_one(c, g_ptr_array_steal_index(drafts, 0), start, NULL,
                                      &shared, err);
        ok = op != NULL;
        if (op)
            json_array_append_new(ops, op);
    }
    if (!ok || nc_vm_finish(c, err, &txn) < 0) {
        nc_store_txn_end(&txn);
        /* the index already counts the claims of the VMs placed before
         * (each placement reads what the previous ones claimed): undo them */
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op) {
            if (nc_json_str(op, "host"))
                nc__central_touch_host(c, nc_json_str(op, "host"));
        }
        nc__central_sync_hosts(c);
        return NULL;
    }
    nc_fault_point("api-after-commit");
    if (!many)
        return json_incref(json_array_get(ops, 0));
    return json_pack("{s:O}", "operations", ops);
}

/* ---- reading ---- */

json_t *
nc_vm_service_get(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    return vm ? nc_vm_json(c, vm) : NULL;
}

json_t *
nc_vm_service_list(NcCentral *c, const NcCaller *caller, GError **err)
{
    g_autoptr(GPtrArray) vms = nc_store_vm_list(c->store, NC_SCOPE(caller), NULL, err);
    if (!vms)
        return NULL;
    g_autoptr(GPtrArray) imgs = nc_store_image_list(c->store, NULL, err);
    if (!imgs)
        return NULL;
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < imgs->len; i++) {
        NcImage *img = g_ptr_array_index(imgs, i);
        g_hash_table_insert(names, img->id, img->name);
    }
    json_t *list = json_array();
    for (guint i = 0; i < vms->len; i++) {
        NcVm *vm = g_ptr_array_index(vms, i);
        json_array_append_new(list, nc_vm_to_api_json(vm, g_hash_table_lookup(names,
                                                                               vm->spec->image)));
    }
    return json_pack("{s:o}", "vms", list);
}

json_t *
nc_vm_service_console(NcCentral *c, const NcCaller *caller, const char *key,
                      int64_t tail_bytes, GError **err)
{
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return NULL;
    g_autofree char *path = g_build_filename(c->cfg.instances_dir, vm->spec->id, "console.log",
                                             NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return json_pack("{s:s, s:s, s:I, s:b}", "vm", vm->spec->id, "console", "",
                             "size", (json_int_t)0, "truncated", 0);
        nc_error_set(err, NC_ERR_INTERNAL, "cannot read the console: %s", g_strerror(errno));
        return NULL;
    }
    struct stat stbuf;
    fstat(fd, &stbuf);
    int64_t size = stbuf.st_size;
    int64_t want = MIN(size, tail_bytes);
    g_autofree char *buf = g_malloc((size_t)want + 1);
    ssize_t n = pread(fd, buf, (size_t)want, size - want);
    close(fd);
    if (n < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot read the console: %s", g_strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    /* the console is the guest's bytes: make it valid UTF-8 text */
    g_autofree char *text = g_utf8_make_valid(buf, n);
    return json_pack("{s:s, s:s, s:I, s:b}", "vm", vm->spec->id, "console", text,
                     "size", (json_int_t)size, "truncated", want < size);
}

/* ---- changing ---- */

static NcImage *
nc_vm_image(NcCentral *c, const NcVm *vm, GError **err)
{
    return nc_store_image_get(c->store, NULL, vm->spec->image, err);
}

static int
nc_vm_check_idle(const NcVm *vm, GError **err)
{
    if (vm->state == NC_VM_DELETING) {
        nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is being deleted", vm->spec->name);
        return -1;
    }
    if (vm->op) {
        nc_error_set(err, NC_ERR_CONFLICT,
                     "VM '%s' has operation %s in progress; wait for it to finish",
                     vm->spec->name, vm->op);
        return -1;
    }
    return 0;
}

json_t *
nc_vm_service_update(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                     GError **err)
{
    NcVmResize rz;
    if (nc_vm_resize_from_request(req, &rz, err) < 0)
        return NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm || nc_vm_check_idle(vm, err) < 0 || nc_vm_resize_check(vm->spec, &rz, err) < 0)
        return NULL;
    NcVmSpec *s = vm->spec;
    int64_t new_vcpus = rz.vcpus > 0 ? rz.vcpus : s->vcpus;
    int64_t new_mem = rz.memory_mib > 0 ? rz.memory_mib : s->memory_mib;
    int new_prio = rz.cpu_priority >= 0 ? rz.cpu_priority : s->cpu_priority;
    int64_t dv = new_vcpus - s->vcpus, dm = new_mem - s->memory_mib;
    bool live = vm->state == NC_VM_RUNNING || vm->state == NC_VM_BUILDING;
    if (live && dv < 0) {
        /* QEMU 7.2 never completes a vCPU unplug (the guest lets go, QEMU
         * keeps the device, libvirt is left with a stale count) */
        nc_error_set(err, NC_ERR_UNSUPPORTED,
                     "vCPUs of a running VM can only grow; stop VM '%s' to lower them "
                     "from %d to %" G_GINT64_FORMAT, s->name, s->vcpus, new_vcpus);
        return NULL;
    }

    /* growth must fit the VM's host; shrinking frees capacity at once */
    if ((dv > 0 || dm > 0) &&
        nc_store_host_claim(c->store, NC_HOST_CLAIM_KEEP, vm->host, MAX(dv, 0), MAX(dm, 0), 0,
                            NULL, err) != 1) {
        if (err && *err)
            return NULL;
        g_autoptr(NcHost) h = nc_store_host_get(c->store, vm->host, err);
        if (!h)
            return NULL;
        nc_error_set(err, NC_ERR_NO_CAPACITY,
                     "host '%s' has %" G_GINT64_FORMAT " vCPUs and %" G_GINT64_FORMAT
                     " MiB free; this change needs %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                     " more", h->name, nc_host_limit_vcpus(h) - h->alloc_vcpus,
                     nc_host_limit_memory_mib(h) - h->alloc_memory_mib, MAX(dv, 0), MAX(dm, 0));
        return NULL;
    }
    if ((dv < 0 || dm < 0) &&
        nc_store_host_release(c->store, vm->host, MAX(-dv, 0), MAX(-dm, 0), 0, err) < 0)
        return NULL;
    nc__central_touch_host(c, vm->host);

    g_autoptr(NcImage) img = nc_vm_image(c, vm, err);
    if (!img)
        return NULL;
    g_autoptr(NcOperation) op = nc__op_new(s->project, "vm.resize", "vm", s->id, s->name,
                                           vm->host);
    json_decref(op->request);
    op->request = json_pack("{s:{s:i, s:I, s:i}, s:{s:I, s:I, s:i}}",
                            "old", "vcpus", s->vcpus, "memory_mib", (json_int_t)s->memory_mib,
                            "cpu_priority", s->cpu_priority,
                            "new", "vcpus", (json_int_t)new_vcpus,
                            "memory_mib", (json_int_t)new_mem, "cpu_priority", new_prio);
    s->vcpus = (int)new_vcpus;
    s->memory_mib = new_mem;
    s->cpu_priority = new_prio;
    vm->op = g_strdup(op->id);
    g_clear_pointer(&vm->error, g_free);
    if (nc_store_vm_update(c->store, vm, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc__vm_command("vm.resize", op->id, s, img, NULL),
                      err) < 0 ||
        nc_vm_event(c, vm, "vm.updated", err) < 0 ||
        nc_vm_finish(c, err, &txn) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_vm_service_action(NcCentral *c, const NcCaller *caller, const char *key, json_t *req,
                     GError **err)
{
    static const char *const keys[] = { "action", "timeout", NULL };
    const char *action = NULL;
    int64_t timeout = NC_DEFAULT_STOP_TIMEOUT_S;
    if (nc_json_check_keys(req, "an action", keys, err) < 0 ||
        nc_json_get_string(req, "action", true, 32, &action, err) < 0 ||
        nc_json_get_int(req, "timeout", false, 0, NC_LIMIT_STOP_TIMEOUT_S, &timeout, err) < 0)
        return NULL;

    bool start = strcmp(action, "start") == 0, stop = strcmp(action, "stop") == 0;
    bool reboot = strcmp(action, "reboot") == 0, force = strcmp(action, "force-stop") == 0;
    if (!start && !stop && !reboot && !force) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "action must be start, stop, reboot or force-stop");
        return NULL;
    }
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return NULL;
    NcVmState st = vm->state;
    if (force) {
        if (st == NC_VM_DELETING || st == NC_VM_STOPPED) {
            nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is %s", vm->spec->name,
                         nc_vm_state_name(st));
            return NULL;
        }
    } else {
        if (nc_vm_check_idle(vm, err) < 0)
            return NULL;
        bool ok = start ? (st == NC_VM_STOPPED || st == NC_VM_ERROR)
                : stop ? (st == NC_VM_RUNNING || st == NC_VM_BUILDING || st == NC_VM_ERROR)
                : st == NC_VM_RUNNING;
        if (!ok) {
            nc_error_set(err, NC_ERR_CONFLICT, "cannot %s VM '%s': it is %s", action,
                         vm->spec->name, nc_vm_state_name(st));
            return NULL;
        }
    }
    g_autoptr(NcImage) img = nc_vm_image(c, vm, err);
    if (!img)
        return NULL;
    g_autofree char *kind = g_strconcat("vm.", action, NULL);
    g_autoptr(NcOperation) op = nc__op_new(vm->spec->project, kind, "vm", vm->spec->id,
                                           vm->spec->name, vm->host);
    json_object_set_new(op->request, "timeout", json_integer(timeout));
    g_free(vm->desired);
    vm->desired = g_strdup(start || reboot ? "running" : "stopped");
    g_free(vm->op);
    vm->op = g_strdup(op->id);
    if (nc_store_vm_update(c->store, vm, err) < 0 ||
        nc__op_submit(c, op, vm->host,
                      nc__vm_command(kind, op->id, vm->spec, img,
                                     json_pack("{s:I}", "timeout", (json_int_t)timeout)),
                      err) < 0 ||
        nc_vm_finish(c, err, &txn) < 0)
        return NULL;
    return nc_op_to_api_json(op);
}

json_t *
nc_vm_service_delete(NcCentral *c, const NcCaller *caller, const char *key, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, c->store, err) < 0)
        return NULL;
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NC_SCOPE(caller), key, err);
    if (!vm)
        return NULL;
    if (vm->state == NC_VM_DELETING) {
        nc_error_set(err, NC_ERR_CONFLICT, "VM '%s' is already being deleted (operation %s)",
                     vm->spec->name, vm->op ? vm->op : "unknown");
        return NULL;
    }
    g_autoptr(NcOperation) op = nc__op_new(vm->spec->project, "vm.delete", "vm", vm->spec->id,
                                           vm->spec->name, vm->host);
    vm->state = NC_VM_DELETING;
    g_free(vm->desired);
    vm->desired = g_strdup("deleted");
    g_free(vm->op);
    vm->op = g_strdup(op->id);
    if (nc_store_vm_update(c->store, vm, err) < 0 ||
        nc__op_submit(c, op, vm->host, nc__vm_command("vm.delete", op->id, vm->spec, NULL, NULL),
                      err) < 0 ||
        nc_vm_event(c, vm, "vm.state", err) < 0 ||
        nc_vm_finish(c, err, &txn) < 0)
        return NULL;
    /* after the commit: the parent's forwards to this VM's ports go too */
    nc__port_release_vm(c, vm->spec->id);
    return nc_op_to_api_json(op);
}

/* ---- applying worker reports (inside the engine's transaction) ---- */

/* The volumes of a deleted VM are free again (the domain that held them
 * is gone); their data stays. */
static int
nc_vm_release_volumes(NcCentral *c, const char *vm_id, GError **err)
{
    g_autoptr(GPtrArray) vols = nc_store_volume_list(c->store, NULL, vm_id, err);
    if (!vols)
        return -1;
    for (guint i = 0; i < vols->len; i++) {
        NcVolume *v = g_ptr_array_index(vols, i);
        g_clear_pointer(&v->vm, g_free);
        g_clear_pointer(&v->device, g_free);
        g_free(v->state);
        v->state = g_strdup("available");
        if (nc_store_volume_update(c->store, v, err) < 0 ||
            nc__central_event(c, v->project, "volume.state", "volume", v->id,
                              nc_volume_to_api_json(v), err) < 0)
            return -1;
    }
    return 0;
}

int
nc__vm_forget(NcCentral *c, const char *vm_id, GError **err)
{
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NULL, vm_id, err);
    if (!vm)
        return -1;
    vm->state = NC_VM_DELETING;
    nc__central_touch_host(c, vm->host);
    if (nc_vm_release_volumes(c, vm_id, err) < 0 ||
        nc_store_port_delete_vm(c->store, vm_id, err) < 0 ||
        nc_store_vm_delete(c->store, vm_id, err) < 0)
        return -1;
    return nc_vm_event(c, vm, "vm.deleted", err);
}

int
nc__vm_evacuate(NcCentral *c, NcVm *vm, const NcHost *from, json_t **ret_op, char **ret_why,
                GError **err)
{
    const NcVmSpec *s = vm->spec;
    GError *local = NULL;
    if (s->snapshot || s->base_file) {
        *ret_why = g_strdup("it was launched from a snapshot, which is kept on that host");
        return 0;
    }
    g_autoptr(GPtrArray) vols = nc_store_volume_list(c->store, NULL, s->id, err);
    if (!vols)
        return -1;
    if (vols->len > 0) {
        *ret_why = g_strdup_printf("it has %u volume%s attached, kept on that host", vols->len,
                                   vols->len == 1 ? "" : "s");
        return 0;
    }
    g_autoptr(NcImage) img = nc_vm_image_lookup(c, s->project, s->image, &local);
    if (!img) {
        if (nc_error_code(local) != NC_ERR_UNPROCESSABLE) {
            g_propagate_error(err, local);
            return -1;
        }
        *ret_why = g_strdup_printf("its image is gone (%s)", local->message);
        g_clear_error(&local);
        return 0;
    }
    g_autoptr(GHashTable) ex = nc_vm_excluded_hosts(c, vm, img, err);
    if (!ex)
        return -1;
    g_hash_table_add(ex, g_strdup(from->id));

    /* placed as a new VM is; on failure it stays as it was */
    g_autofree char *was_host = g_steal_pointer(&vm->host);
    g_autofree char *was_host_name = g_steal_pointer(&vm->host_name);
    g_autofree char *was_placement = g_steal_pointer(&vm->placement);
    if (nc_vm_place(c, vm, ex, &local) < 0) {
        vm->host = g_steal_pointer(&was_host);
        vm->host_name = g_steal_pointer(&was_host_name);
        vm->placement = g_steal_pointer(&was_placement);
        if (nc_error_code(local) != NC_ERR_NO_CAPACITY) {
            g_propagate_error(err, local);
            return -1;
        }
        *ret_why = g_strdup(local->message);
        g_clear_error(&local);
        return 0;
    }
    g_autofree char *why = g_steal_pointer(&vm->placement);
    vm->placement = g_strdup_printf("evacuated from host '%s'; now on %s", from->name, why);

    /* its new command: the VM's own spec, from its image, started if it
     * was meant to run */
    g_autoptr(json_t) spec_json = nc_vm_spec_to_json(s);
    NcVmSpec *copy = nc_vm_spec_from_json(spec_json, err);
    if (!copy) {
        nc__central_touch_host(c, vm->host);   /* the caller's rollback undoes the claim */
        return -1;
    }
    g_autoptr(NcVmDraft) draft = nc_vm_draft_new(copy);
    nc_vm_draft_write(draft, img, NULL, g_strcmp0(vm->desired, "running") == 0);
    g_autoptr(NcOperation) op = nc__op_new(s->project, "vm.evacuate", "vm", s->id, s->name,
                                           vm->host);
    g_free(op->id);
    op->id = g_strdup(draft->op_id);

    vm->state = NC_VM_SCHEDULED;
    g_clear_pointer(&vm->error, g_free);
    json_decref(vm->addresses);
    vm->addresses = json_array();
    g_free(vm->op);
    vm->op = g_strdup(op->id);
    nc__central_touch_host(c, from->id);
    if (nc_store_host_release(c->store, from->id, s->vcpus, s->memory_mib, s->disk_gib,
                              err) < 0 ||
        nc_store_port_delete_vm(c->store, s->id, err) < 0 ||
        nc_store_vm_update(c->store, vm, err) < 0 ||
        nc_store_vm_set_evacuated_from(c->store, s->id, from->id, err) < 0 ||
        nc__op_submit_text(c, op, vm->host, draft->command, ret_op, err) < 0 ||
        nc_vm_event(c, vm, "vm.evacuated", err) < 0) {
        nc__central_touch_host(c, vm->host);   /* the caller's rollback undoes the claim */
        g_clear_pointer(ret_op, json_decref);
        return -1;
    }
    return 1;
}

int
nc__vm_apply_started(NcCentral *c, json_t *msg, GError **err)
{
    const char *op_id = nc_json_str(msg, "op");
    GError *local = NULL;
    g_autoptr(NcOperation) op = op_id ? nc_store_op_get(c->store, NULL, op_id, &local) : NULL;
    if (!op) {
        g_clear_error(&local);
        return 0;
    }
    if (op->status != NC_OP_PENDING)
        return 0;
    if (nc_store_op_set_status(c->store, op_id, NC_OP_RUNNING, NULL, NULL, err) < 0)
        return -1;
    op->status = NC_OP_RUNNING;
    if (nc__central_event(c, op->project, "operation", "operation", op->id,
                          nc_op_to_api_json(op), err) < 0)
        return -1;
    if (g_strcmp0(op->kind, "vm.create") != 0 && g_strcmp0(op->kind, "vm.evacuate") != 0)
        return 0;
    g_autoptr(NcVmStatus) vm = nc_store_vm_status_get(c->store, op->target_id, &local);
    if (!vm) {
        g_clear_error(&local);
        return 0;
    }
    if (vm->state != NC_VM_SCHEDULED)
        return 0;
    vm->state = NC_VM_BUILDING;
    return nc_store_vm_status_update(c->store, vm, err) < 0 ? -1
                                                           : nc_vm_status_event(c, vm, err);
}

static NcVmState
nc_vm_observed(const char *state, NcVmState fallback)
{
    if (g_strcmp0(state, "running") == 0)
        return NC_VM_RUNNING;
    if (g_strcmp0(state, "stopped") == 0)
        return NC_VM_STOPPED;
    return fallback;
}

/* Undoes the capacity and shape change of a failed resize. */
static int
nc_vm_revert_resize(NcCentral *c, NcVm *vm, const NcOperation *op, GError **err)
{
    json_t *old = json_object_get(op->request, "old");
    int64_t ov = nc_json_int(old, "vcpus", vm->spec->vcpus);
    int64_t om = nc_json_int(old, "memory_mib", vm->spec->memory_mib);
    int64_t dv = vm->spec->vcpus - ov, dm = vm->spec->memory_mib - om;
    nc__central_touch_host(c, vm->host);
    if ((dv > 0 || dm > 0) &&
        nc_store_host_release(c->store, vm->host, MAX(dv, 0), MAX(dm, 0), 0, err) < 0)
        return -1;
    /* giving back what a shrink freed may overcommit for a moment; the
     * VM already holds it, so the claim is unconditional */
    if (dv < 0 || dm < 0) {
        if (nc_store_exec(c->store, err,
                          "UPDATE hosts SET alloc_vcpus = alloc_vcpus + $2,"
                          " alloc_memory_mib = alloc_memory_mib + $3 WHERE id = $1",
                          NC_TEXT(vm->host), NC_INT(MAX(-dv, 0)), NC_INT(MAX(-dm, 0)),
                          NC_END) < 0)
            return -1;
    }
    vm->spec->vcpus = (int)ov;
    vm->spec->memory_mib = om;
    vm->spec->cpu_priority = (int)nc_json_int(old, "cpu_priority", vm->spec->cpu_priority);
    return 0;
}

/* The error a VM keeps after its operation @kind ("vm.start") ended:
 * NULL when it succeeded. */
static char *
nc_vm_result_error(const char *kind, bool ok, const char *emsg)
{
    return ok ? NULL : g_strdup_printf("%s failed: %s", kind + 3,
                                       emsg ? emsg : "unknown error");
}

/* The result of an operation that changes only the VM's status: every
 * kind but a delete and a resize. */
static int
nc_vm_apply_status_result(NcCentral *c, const NcOperation *op, const char *observed, bool ok,
                          const char *emsg, GError **err)
{
    GError *local = NULL;
    const char *kind = op->kind;
    g_autoptr(NcVmStatus) vm = nc_store_vm_status_get(c->store, op->target_id, &local);
    if (!vm) {
        g_clear_error(&local);
        return 0;
    }
    if (g_strcmp0(vm->op, op->id) != 0) {
        /* superseded by a later operation (a force-stop or a delete):
         * that one decides the VM's state */
        return 0;
    }
    if (strcmp(kind, "vm.stop") == 0 || strcmp(kind, "vm.force-stop") == 0 ||
        strcmp(kind, "vm.define") == 0) {
        vm->state = ok ? NC_VM_STOPPED : nc_vm_observed(observed, NC_VM_ERROR);
    } else {
        /* create (which may leave the VM stopped when asked), start, reboot */
        vm->state = ok ? nc_vm_observed(observed, NC_VM_RUNNING)
                       : strcmp(kind, "vm.create") == 0 ? NC_VM_ERROR
                       : nc_vm_observed(observed, NC_VM_ERROR);
    }
    g_free(vm->error);
    vm->error = nc_vm_result_error(kind, ok, emsg);
    g_clear_pointer(&vm->op, g_free);
    if (nc_store_vm_status_update(c->store, vm, err) < 0)
        return -1;
    return nc_vm_status_event(c, vm, err);
}

int
nc__vm_apply_result(NcCentral *c, json_t *msg, GError **err)
{
    const char *op_id = nc_json_str(msg, "op");
    const char *observed = nc_json_str(msg, "state");
    bool ok = json_is_true(json_object_get(msg, "ok"));
    json_t *jerr = json_object_get(msg, "error");
    GError *local = NULL;

    if (!op_id)
        return 0;   /* a repair the reconciler asked for; heartbeats show its effect */
    nc_fault_point("central-apply-result");
    g_autoptr(NcOperation) op = nc_store_op_get(c->store, NULL, op_id, &local);
    if (!op) {
        g_clear_error(&local);
        return 0;
    }
    if (nc_op_status_is_final(op->status))
        return 0;   /* a second delivery of a command already settled */
    const char *emsg = nc_json_str(jerr, "message");
    if (nc_store_op_set_status(c->store, op_id, ok ? NC_OP_SUCCEEDED : NC_OP_FAILED,
                               ok ? NULL : nc_json_str(jerr, "code"), ok ? NULL : emsg,
                               err) < 0)
        return -1;
    op->status = ok ? NC_OP_SUCCEEDED : NC_OP_FAILED;
    if (!ok) {
        op->error_code = g_strdup(nc_json_str(jerr, "code"));
        op->error = g_strdup(emsg);
    }
    if (nc__central_event(c, op->project, "operation", "operation", op->id,
                          nc_op_to_api_json(op), err) < 0)
        return -1;
    if (g_strcmp0(op->target_kind, "volume") == 0)
        return nc__volume_apply_result(c, op, ok, emsg, err);
    if (g_strcmp0(op->target_kind, "snapshot") == 0)
        return nc__snapshot_apply_result(c, op, msg, ok, emsg, err);
    if (g_strcmp0(op->target_kind, "port") == 0)
        return nc__port_apply_result(c, op, ok, emsg, err);

    const char *kind = op->kind;
    if (strcmp(kind, "vm.delete") != 0 && strcmp(kind, "vm.resize") != 0)
        return nc_vm_apply_status_result(c, op, observed, ok, emsg, err);
    g_autoptr(NcVm) vm = nc_store_vm_get(c->store, NULL, op->target_id, &local);
    if (!vm) {
        g_clear_error(&local);
        return 0;
    }
    if (strcmp(kind, "vm.delete") == 0) {
        if (ok) {
            NcVmSpec *s = vm->spec;
            vm->state = NC_VM_DELETING;
            nc__central_touch_host(c, vm->host);
            if (nc_store_host_release(c->store, vm->host, s->vcpus, s->memory_mib,
                                      s->disk_gib, err) < 0 ||
                nc_vm_release_volumes(c, s->id, err) < 0 ||
                nc_store_port_delete_vm(c->store, s->id, err) < 0 ||
                nc_store_vm_delete(c->store, s->id, err) < 0)
                return -1;
            return nc_vm_event(c, vm, "vm.deleted", err);
        }
        vm->state = NC_VM_ERROR;
        g_free(vm->error);
        vm->error = g_strdup_printf("delete failed: %s", emsg ? emsg : "unknown error");
    } else if (g_strcmp0(vm->op, op->id) != 0) {
        /* superseded by a later operation (a force-stop or a delete):
         * that one decides the VM's state */
        return 0;
    } else {
        /* a resize */
        if (!ok && nc_vm_revert_resize(c, vm, op, err) < 0)
            return -1;
        vm->state = nc_vm_observed(observed, vm->state);
    }
    g_free(vm->error);
    vm->error = nc_vm_result_error(kind, ok, emsg);
    g_clear_pointer(&vm->op, g_free);
    if (nc_store_vm_update(c->store, vm, err) < 0)
        return -1;
    return nc_vm_event(c, vm, "vm.state", err);
}

int
nc__vm_apply_state(NcCentral *c, json_t *msg, GError **err)
{
    GError *local = NULL;
    const char *vm_id = nc_json_str(msg, "vm");
    if (!vm_id || !nc_uuid_is_valid(vm_id))
        return 0;
    g_autoptr(NcVmStatus) vm = nc_store_vm_status_get(c->store, vm_id, &local);
    if (!vm) {
        g_clear_error(&local);
        return 0;
    }
    if (vm->op || vm->state == NC_VM_DELETING)
        return 0;   /* the operation in flight will settle the state */
    /* a domain of this VM on another host: the copy an evacuated VM left,
     * being removed, or a domain seen by a worker that shares its host's
     * libvirt.  Only the VM's own host speaks for it. */
    const char *from = nc_json_str(msg, "host");
    if (from && g_strcmp0(from, vm->host) != 0)
        return 0;
    const char *state = nc_json_str(msg, "state");
    NcVmState next = vm->state;
    if (g_strcmp0(state, "running") == 0) {
        next = NC_VM_RUNNING;
    } else if (g_strcmp0(state, "stopped") == 0) {
        next = NC_VM_STOPPED;
    } else if (g_strcmp0(state, "crashed") == 0) {
        next = NC_VM_ERROR;
        g_free(vm->error);
        vm->error = g_strdup("the guest crashed");
    }
    if (next == vm->state)
        return 0;
    if (next == NC_VM_STOPPED && g_strcmp0(vm->desired, "running") == 0) {
        /* the guest powered itself off: that is now what the user has */
        g_free(vm->desired);
        vm->desired = g_strdup("stopped");
    }
    vm->state = next;
    if (nc_store_vm_status_update(c->store, vm, err) < 0)
        return -1;
    return nc_vm_status_event(c, vm, err);
}

/* ---- operations ---- */

json_t *
nc_op_service_get(NcCentral *c, const NcCaller *caller, const char *id, GError **err)
{
    g_autoptr(NcOperation) op = nc_store_op_get(c->store, NC_SCOPE(caller), id, err);
    return op ? nc_op_to_api_json(op) : NULL;
}

json_t *
nc_op_service_list(NcCentral *c, const NcCaller *caller, const char *target, int limit,
                   GError **err)
{
    g_autoptr(GPtrArray) ops = nc_store_op_list(c->store, NC_SCOPE(caller), target,
                                                CLAMP(limit, 1, NC_LIMIT_LIST_PAGE), err);
    if (!ops)
        return NULL;
    json_t *list = json_array();
    for (guint i = 0; i < ops->len; i++)
        json_array_append_new(list, nc_op_to_api_json(g_ptr_array_index(ops, i)));
    return json_pack("{s:o}", "operations", list);
}
