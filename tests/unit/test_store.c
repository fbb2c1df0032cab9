/* test_store.c: the SQLite store: schema, transactions, resources, and
 * the atomic capacity claim under racing threads. */
#include "store/event_store.h"
#include "store/host_store.h"
#include "store/image_store.h"
#include "store/op_store.h"
#include "store/project_store.h"
#include "store/store.h"
#include "store/vm_store.h"
#include "util/nc_error.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *dir;
    char *path;
    NcStore *st;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("nc-store-XXXXXX", NULL);
    f->path = g_build_filename(f->dir, "test.db", NULL);
    g_autoptr(GError) err = NULL;
    f->st = nc_store_open(f->path, &err);
    g_assert_no_error(err);
    g_autofree char *a = nc_store_project_create(f->st, "admin", "admin", NULL);
    g_autofree char *b = nc_store_project_create(f->st, "p2", "second", NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
}

static void
teardown(Fixture *f, gconstpointer data)
{
    nc_store_close(f->st);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(f->path);
    g_free(f->dir);
}

static NcVm *
make_vm(const char *project, const char *name, const char *host)
{
    NcVm *vm = nc_vm_new();
    vm->spec = nc_vm_spec_new();
    vm->spec->id = nc_uuid_new();
    vm->spec->name = g_strdup(name);
    vm->spec->project = g_strdup(project);
    vm->spec->image = g_strdup("img");
    vm->spec->vcpus = 1;
    vm->spec->max_vcpus = 2;
    vm->spec->memory_mib = 256;
    vm->spec->max_memory_mib = 512;
    vm->spec->disk_gib = 1;
    vm->state = NC_VM_SCHEDULED;
    vm->desired = g_strdup("running");
    vm->host = g_strdup(host);
    vm->created_at = vm->updated_at = nc_now_ms();
    return vm;
}

static void
add_host(NcStore *st, const char *id, const char *name, int64_t vcpus)
{
    g_autoptr(NcHost) h = nc_host_new();
    h->id = g_strdup(id);
    h->name = g_strdup(name);
    h->accel = g_strdup("tcg");
    h->vcpus = vcpus;
    h->memory_mib = 8192;
    h->disk_gib = 100;
    g_assert_cmpint(nc_store_host_register(st, h, NULL), ==, 0);
}

static void
test_schema(Fixture *f, gconstpointer data)
{
    g_autofree char *v = nc_store_meta_get(f->st, "schema_version", NULL);
    g_assert_nonnull(v);
    nc_store_close(f->st);
    /* reopening finds the schema current and changes nothing */
    f->st = nc_store_open(f->path, NULL);
    g_assert_nonnull(f->st);
    g_autofree char *v2 = nc_store_meta_get(f->st, "schema_version", NULL);
    g_assert_cmpstr(v, ==, v2);
    g_autoptr(GError) err = NULL;
    g_assert_null(nc_store_open("postgresqlx://nope", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
}

static void
test_transactions(Fixture *f, gconstpointer data)
{
    uint64_t gen = nc_store_generation(f->st);
    {
        g_auto(NcStoreTxn) txn = { 0 };
        g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
        g_assert_cmpint(nc_store_meta_set(f->st, "k", "rolled back", NULL), ==, 0);
        /* leaving the scope without commit rolls back */
    }
    g_autofree char *none = nc_store_meta_get(f->st, "k", NULL);
    g_assert_null(none);
    g_assert_cmpuint(nc_store_generation(f->st), ==, gen);

    g_auto(NcStoreTxn) txn = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
    g_assert_cmpint(nc_store_meta_set(f->st, "k", "kept", NULL), ==, 0);
    g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, 0);
    g_autofree char *kept = nc_store_meta_get(f->st, "k", NULL);
    g_assert_cmpstr(kept, ==, "kept");
    g_assert_cmpuint(nc_store_generation(f->st), >, gen);

    /* a failed statement poisons the transaction: commit refuses */
    g_auto(NcStoreTxn) bad = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&bad, f->st, NULL), ==, 0);
    g_assert_cmpint(nc_store_meta_set(f->st, "k", "lost", NULL), ==, 0);
    g_assert_cmpint(nc_store_exec(f->st, NULL, "SELECT nonsense FROM nowhere", NC_END), ==, -1);
    g_assert_cmpint(nc_store_txn_commit(&bad, NULL), ==, -1);
    g_autofree char *still = nc_store_meta_get(f->st, "k", NULL);
    g_assert_cmpstr(still, ==, "kept");
}

static void
test_vms(Fixture *f, gconstpointer data)
{
    g_autoptr(NcVm) a = make_vm("admin", "web", NULL);
    g_autoptr(NcVm) b = make_vm("p2", "web", NULL);
    g_autoptr(NcVm) dup = make_vm("admin", "web", NULL);
    g_assert_cmpint(nc_store_vm_insert(f->st, a, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, b, NULL), ==, 0);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_store_vm_insert(f->st, dup, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);

    g_autoptr(NcVm) by_name = nc_store_vm_get(f->st, "admin", "web", NULL);
    g_assert_cmpstr(by_name->spec->id, ==, a->spec->id);
    g_autoptr(NcVm) by_id = nc_store_vm_get(f->st, "p2", b->spec->id, NULL);
    g_assert_cmpstr(by_id->spec->name, ==, "web");
    /* another project's VM is out of reach, by id or by name */
    g_assert_null(nc_store_vm_get(f->st, "p2", a->spec->id, &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
    g_clear_error(&err);
    /* an admin's name lookup across projects must not guess */
    g_assert_null(nc_store_vm_get(f->st, NULL, "web", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);

    g_autoptr(GPtrArray) mine = nc_store_vm_list(f->st, "admin", NULL, NULL);
    g_assert_cmpuint(mine->len, ==, 1);
    g_autoptr(GPtrArray) all = nc_store_vm_list(f->st, NULL, NULL, NULL);
    g_assert_cmpuint(all->len, ==, 2);

    by_name->state = NC_VM_RUNNING;
    by_name->spec->vcpus = 2;
    json_array_append_new(by_name->addresses, json_string("10.0.0.5"));
    g_assert_cmpint(nc_store_vm_update(f->st, by_name, NULL), ==, 0);
    g_autoptr(NcVm) again = nc_store_vm_get(f->st, "admin", "web", NULL);
    g_assert_cmpint(again->state, ==, NC_VM_RUNNING);
    g_assert_cmpint(again->spec->vcpus, ==, 2);
    g_assert_cmpstr(json_string_value(json_array_get(again->addresses, 0)), ==, "10.0.0.5");
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 1);
    g_assert_cmpint(nc_store_vm_delete(f->st, a->spec->id, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 0);
}

typedef struct {
    NcStore *st;
    gint wins;
} Race;

static gpointer
claim_many(gpointer data)
{
    Race *r = data;
    for (int i = 0; i < 20; i++) {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, r->st, NULL) < 0)
            continue;
        int rc = nc_store_host_claim(r->st, "h1", 1, 100, 1, NULL);
        if (nc_store_txn_commit(&txn, NULL) == 0 && rc == 1)
            g_atomic_int_inc(&r->wins);
    }
    return NULL;
}

static void
test_claim_race(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h1", "one", 2);   /* 2 vCPUs x 4.0 = 8 claimable */
    Race r = { f->st, 0 };
    GThread *t[8];
    for (int i = 0; i < 8; i++)
        t[i] = g_thread_new("claim", claim_many, &r);
    for (int i = 0; i < 8; i++)
        g_thread_join(t[i]);
    g_assert_cmpint(r.wins, ==, 8);
    g_autoptr(NcHost) h = nc_store_host_get(f->st, "one", NULL);
    g_assert_cmpint(h->alloc_vcpus, ==, 8);
    g_assert_cmpint(h->alloc_memory_mib, ==, 800);
    g_assert_cmpint(nc_store_host_release(f->st, "h1", 20, 10000, 100, NULL), ==, 0);
    g_autoptr(NcHost) h2 = nc_store_host_get(f->st, "h1", NULL);
    g_assert_cmpint(h2->alloc_vcpus, ==, 0);
    g_assert_cmpint(h2->alloc_memory_mib, ==, 0);

    /* a down host takes nothing */
    g_assert_cmpint(nc_store_host_set_state(f->st, "h1", "down", NULL), ==, 0);
    g_assert_cmpint(nc_store_host_claim(f->st, "h1", 1, 1, 1, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_seen(f->st, "h1", nc_now_ms(), NULL), ==, 1);
    g_assert_cmpint(nc_store_host_claim(f->st, "h1", 1, 1, 1, NULL), ==, 1);

    /* recount derives allocation from the VMs placed on the host */
    g_autoptr(NcVm) vm = make_vm("admin", "x", "h1");
    g_assert_cmpint(nc_store_vm_insert(f->st, vm, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_recount(f->st, NULL), ==, 0);
    g_autoptr(NcHost) h3 = nc_store_host_get(f->st, "h1", NULL);
    g_assert_cmpint(h3->alloc_vcpus, ==, 1);
    g_assert_cmpint(h3->alloc_memory_mib, ==, 256);
}

static void
test_ops_and_events(Fixture *f, gconstpointer data)
{
    g_autoptr(NcOperation) op = nc_op_new();
    op->id = nc_uuid_new();
    op->project = g_strdup("admin");
    op->kind = g_strdup("vm.create");
    op->target_kind = g_strdup("vm");
    op->target_id = g_strdup("t");
    op->created_at = op->updated_at = nc_now_ms();
    g_assert_cmpint(nc_store_op_insert(f->st, op, NULL), ==, 0);
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_RUNNING, NULL, NULL, NULL), ==, 1);
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_SUCCEEDED, NULL, NULL, NULL), ==, 1);
    /* final stays final: a second report changes nothing */
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_FAILED, "x", "y", NULL), ==, 0);
    g_autoptr(NcOperation) back = nc_store_op_get(f->st, "admin", op->id, NULL);
    g_assert_cmpint(back->status, ==, NC_OP_SUCCEEDED);
    g_assert_null(nc_store_op_get(f->st, "p2", op->id, NULL));

    int64_t s1 = nc_store_event_append(f->st, "admin", "vm.state", "vm", "a", NULL, NULL);
    int64_t s2 = nc_store_event_append(f->st, "p2", "vm.state", "vm", "b",
                                       json_pack("{s:s}", "state", "running"), NULL);
    g_assert_cmpint(s2, >, s1);
    g_autoptr(GPtrArray) all = nc_store_event_list(f->st, NULL, 0, 10, NULL);
    g_assert_cmpuint(all->len, ==, 2);
    g_autoptr(GPtrArray) p2 = nc_store_event_list(f->st, "p2", 0, 10, NULL);
    g_assert_cmpuint(p2->len, ==, 1);
    g_autoptr(GPtrArray) after = nc_store_event_list(f->st, NULL, s1, 10, NULL);
    g_assert_cmpuint(after->len, ==, 1);
    g_assert_cmpint(nc_store_event_prune(f->st, 1, NULL), ==, 1);
    g_assert_cmpint(nc_store_event_last(f->st, NULL), ==, s2);
}

static void
test_tokens(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nc_store_token_insert(f->st, "t1", "hash1", "p2", "member", "x", NULL), ==, 0);
    g_autoptr(NcToken) tok = nc_store_token_lookup(f->st, "hash1", NULL);
    g_assert_cmpstr(tok->project, ==, "p2");
    g_assert_cmpstr(tok->project_name, ==, "second");
    g_autoptr(GError) err = NULL;
    g_assert_null(nc_store_token_lookup(f->st, "nope", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAUTHENTICATED);
    g_autofree char *id = nc_store_project_resolve(f->st, "second", NULL);
    g_assert_cmpstr(id, ==, "p2");
}

static void
test_images(Fixture *f, gconstpointer data)
{
    g_autoptr(NcImage) pub = nc_image_new();
    pub->id = nc_uuid_new();
    pub->project = g_strdup("admin");
    pub->name = g_strdup("test");
    pub->is_public = true;
    pub->format = g_strdup("qcow2");
    pub->file = g_strdup("a.qcow2");
    pub->state = g_strdup("available");
    g_assert_cmpint(nc_store_image_insert(f->st, pub, NULL), ==, 0);
    g_autoptr(NcImage) own = nc_image_new();
    own->id = nc_uuid_new();
    own->project = g_strdup("p2");
    own->name = g_strdup("test");
    own->format = g_strdup("raw");
    own->file = g_strdup("b.raw");
    own->state = g_strdup("available");
    g_assert_cmpint(nc_store_image_insert(f->st, own, NULL), ==, 0);
    /* a project's own image wins over a public one of the same name */
    g_autoptr(NcImage) got = nc_store_image_get(f->st, "p2", "test", NULL);
    g_assert_cmpstr(got->id, ==, own->id);
    g_autoptr(NcImage) adm = nc_store_image_get(f->st, "admin", "test", NULL);
    g_assert_cmpstr(adm->id, ==, pub->id);
    g_autoptr(GPtrArray) list = nc_store_image_list(f->st, "admin", NULL);
    g_assert_cmpuint(list->len, ==, 1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
    ADD("/store/schema", test_schema);
    ADD("/store/transactions", test_transactions);
    ADD("/store/vms", test_vms);
    ADD("/store/claim-race", test_claim_race);
    ADD("/store/ops-and-events", test_ops_and_events);
    ADD("/store/tokens", test_tokens);
    ADD("/store/images", test_images);
    return g_test_run();
}
