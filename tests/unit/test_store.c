/* test_store.c: the store on every driver this build has: schema,
 * transactions, resources, and the atomic capacity claim under racing
 * threads, on one shared connection and on several connections.
 *
 * SQLite always runs.  PostgreSQL runs against NC_TEST_PG_URL when it is set
 * (a database you can lose: every test drops and re-creates its public
 * schema), otherwise against a private cluster this test starts with
 * scripts/postgres.sh in a temporary directory and removes at exit.  Only a
 * build without the driver, or a machine without PostgreSQL 15, skips it.
 */
#include "nc_config.h"
#include "store/event_store.h"
#include "store/host_store.h"
#include "store/image_store.h"
#include "store/op_store.h"
#include "store/project_store.h"
#include "store/store.h"
#include "store/store_priv.h"
#include "store/vm_store.h"
#include "store/volume_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <glib/gstdio.h>
#include <string.h>

#if NC_WITH_POSTGRES
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

/* One store driver under test: @url is NULL for SQLite (a fresh file per
 * test), else a PostgreSQL URL. */
typedef struct {
    const char *name;
    char *url;
} Backend;

typedef struct {
    const Backend *be;
    char *dir;
    char *target;   /* what nc_store_open() is given */
    NcStore *st;
} Fixture;

#if NC_WITH_POSTGRES
/* Runs @sql on a connection of its own (not the store's). */
static void
pg_admin(const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK)
        g_error("cannot connect to %s: %s", url, PQerrorMessage(conn));
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        g_error("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
}
#endif

static void
setup(Fixture *f, gconstpointer data)
{
    f->be = data;
    if (f->be->url) {
#if NC_WITH_POSTGRES
        pg_admin(f->be->url, "SET client_min_messages = warning;"
                 "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
#endif
        f->target = g_strdup(f->be->url);
    } else {
        f->dir = g_dir_make_tmp("nc-store-XXXXXX", NULL);
        f->target = g_build_filename(f->dir, "test.db", NULL);
    }
    g_autoptr(GError) err = NULL;
    f->st = nc_store_open(f->target, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(nc_store_driver_name(f->st), ==, f->be->name);
    g_autofree char *a = nc_store_project_create(f->st, "admin", "admin", NULL);
    g_autofree char *b = nc_store_project_create(f->st, "p2", "second", NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
}

static void
teardown(Fixture *f, gconstpointer data)
{
    nc_store_close(f->st);
    if (f->dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
        g_assert_cmpint(system(cmd), ==, 0);
    }
    g_free(f->target);
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
    g_assert_cmpint(atoi(v), ==, nc_schema_central.count);
    nc_store_close(f->st);
    /* reopening finds the schema current and changes nothing */
    f->st = nc_store_open(f->target, NULL);
    g_assert_nonnull(f->st);
    g_autofree char *v2 = nc_store_meta_get(f->st, "schema_version", NULL);
    g_assert_cmpstr(v, ==, v2);
    g_autoptr(GError) err = NULL;
    g_assert_null(nc_store_open("postgresqlx://nope", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
}

/* The statement caches hash a text by samples of it: two texts that
 * differ only between the samples share a bucket, and each must still run
 * as itself, again and again. */
static void
test_statement_cache(Fixture *f, gconstpointer data)
{
    enum { N = 200 };
    /* a byte no sample reads: samples are 8 bytes at (N - 8) * k / 15 */
    size_t gap = 0;
    for (size_t p = 10; p < N - 20 && !gap; p++) {
        bool seen = false;
        for (size_t k = 0; k < 16; k++) {
            size_t at = (N - 8) * k / 15;
            seen |= p >= at && p < at + 8;
        }
        if (!seen)
            gap = p;
    }
    g_assert_cmpuint(gap, >, 0);
    char a[N + 1], b[N + 1];
    memset(a, ' ', N);
    memcpy(a, "SELECT", 6);
    memcpy(a + N - 4, "AS v", 4);
    a[N] = '\0';
    memcpy(b, a, sizeof(a));
    a[gap] = '1';
    b[gap] = '2';
    g_assert_cmpuint(nc__sql_hash(a), ==, nc__sql_hash(b));
    g_assert_cmpuint(nc__sql_hash(a), !=, nc__sql_hash("SELECT 1 AS v"));
    for (int round = 0; round < 3; round++) {
        const char *texts[] = { a, b };
        for (int i = 0; i < 2; i++) {
            g_autoptr(GError) err = NULL;
            g_autoptr(NcRows) r = nc_store_query(f->st, &err, texts[i], NC_END);
            g_assert_no_error(err);
            g_assert_cmpint(nc_rows_next(r, &err), ==, 1);
            g_assert_cmpint(nc_rows_int(r, 0), ==, i + 1);
        }
    }
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

    /* nesting is counted: only the outermost commit commits, and the store
     * works normally after a poisoned transaction */
    g_auto(NcStoreTxn) outer = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&outer, f->st, NULL), ==, 0);
    {
        g_auto(NcStoreTxn) inner = { 0 };
        g_assert_cmpint(nc_store_txn_begin(&inner, f->st, NULL), ==, 0);
        g_assert_cmpint(nc_store_meta_set(f->st, "k", "nested", NULL), ==, 0);
        g_assert_cmpint(nc_store_txn_commit(&inner, NULL), ==, 0);
    }
    g_assert_cmpint(nc_store_txn_commit(&outer, NULL), ==, 0);
    g_autofree char *nested = nc_store_meta_get(f->st, "k", NULL);
    g_assert_cmpstr(nested, ==, "nested");
}

/* The expiry tick reads only the VMs due, through the expires_at column;
 * VMs stored before the column existed get it filled in at open. */
static void
test_vm_expiry(Fixture *f, gconstpointer data)
{
    int64_t now = nc_now_ms();
    g_autoptr(NcVm) due = make_vm("admin", "due", NULL);
    g_autoptr(NcVm) later = make_vm("admin", "later", NULL);
    g_autoptr(NcVm) never = make_vm("admin", "never", NULL);
    g_autoptr(NcVm) old = make_vm("admin", "old", NULL);
    due->spec->expires_at = now - 1000;
    later->spec->expires_at = now + 3600 * 1000;
    old->spec->expires_at = now - 2000;
    g_assert_cmpint(nc_store_vm_insert(f->st, due, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, later, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, never, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, old, NULL, NULL), ==, 0);
    /* as a row written before schema 5 holds it: the expiry in the spec only */
    g_assert_cmpint(nc_store_exec(f->st, NULL, "UPDATE vms SET expires_at = 0 WHERE id = $1",
                                  NC_TEXT(old->spec->id), NC_END), ==, 1);

    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) first = nc_store_vm_list_expiring(f->st, now, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(first->len, ==, 1);
    g_assert_cmpstr(((NcVm *)g_ptr_array_index(first, 0))->spec->name, ==, "due");

    /* the store's open filled the column in once already */
    g_assert_cmpint(nc_store_vm_backfill_expiry(f->st, &err), ==, 0);
    g_autoptr(GPtrArray) still = nc_store_vm_list_expiring(f->st, now, &err);
    g_assert_cmpuint(still->len, ==, 1);
    /* a store from before schema 5 has not */
    g_assert_cmpint(nc_store_exec(f->st, NULL, "DELETE FROM meta WHERE key = $1",
                                  NC_TEXT("vms_expiry_column"), NC_END), ==, 1);
    g_assert_cmpint(nc_store_vm_backfill_expiry(f->st, &err), ==, 0);
    g_assert_no_error(err);
    g_autoptr(GPtrArray) both = nc_store_vm_list_expiring(f->st, now, &err);
    g_assert_cmpuint(both->len, ==, 2);
    /* an update keeps the column in step with the spec */
    later->spec->expires_at = now - 10;
    g_assert_cmpint(nc_store_vm_update(f->st, later, NULL), ==, 0);
    g_autoptr(GPtrArray) three = nc_store_vm_list_expiring(f->st, now, &err);
    g_assert_cmpuint(three->len, ==, 3);
    later->spec->expires_at = 0;
    g_assert_cmpint(nc_store_vm_update(f->st, later, NULL), ==, 0);
    g_autoptr(GPtrArray) two = nc_store_vm_list_expiring(f->st, now, &err);
    g_assert_cmpuint(two->len, ==, 2);
}

/* A VM's status is read and written without its spec. */
static void
test_vm_status(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h1", "one", 4);
    g_autoptr(NcVm) vm = make_vm("admin", "web", "h1");
    vm->spec->vcpus = 3;
    vm->op = g_strdup("op-1");
    g_assert_cmpint(nc_store_vm_insert(f->st, vm, NULL, NULL), ==, 0);

    g_autoptr(GError) err = NULL;
    g_autoptr(NcVmStatus) s = nc_store_vm_status_get(f->st, vm->spec->id, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(s->id, ==, vm->spec->id);
    g_assert_cmpstr(s->project, ==, "admin");
    g_assert_cmpstr(s->name, ==, "web");
    g_assert_cmpint(s->state, ==, vm->state);
    g_assert_cmpstr(s->host, ==, "h1");
    g_assert_cmpstr(s->host_name, ==, "one");
    g_assert_cmpstr(s->op, ==, "op-1");
    g_assert_null(s->error);

    s->state = NC_VM_ERROR;
    s->error = g_strdup("start failed: no");
    g_clear_pointer(&s->op, g_free);
    g_free(s->desired);
    s->desired = g_strdup("stopped");
    g_assert_cmpint(nc_store_vm_status_update(f->st, s, &err), ==, 0);
    g_autoptr(NcVm) again = nc_store_vm_get(f->st, NULL, vm->spec->id, &err);
    g_assert_no_error(err);
    g_assert_cmpint(again->state, ==, NC_VM_ERROR);
    g_assert_cmpstr(again->error, ==, "start failed: no");
    g_assert_cmpstr(again->desired, ==, "stopped");
    g_assert_null(again->op);
    g_assert_cmpint(again->spec->vcpus, ==, 3);          /* the spec is untouched */
    g_assert_cmpint(again->updated_at, >=, vm->updated_at);

    g_assert_cmpint(nc_store_vm_delete(f->st, vm->spec->id, NULL), ==, 0);
    g_assert_null(nc_store_vm_status_get(f->st, vm->spec->id, &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_cmpint(nc_store_vm_status_update(f->st, s, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
}

/* The count the quota check reads is kept with the project (schema 6). */
static void
test_vm_count(Fixture *f, gconstpointer data)
{
    g_autoptr(NcVm) a = make_vm("admin", "a", NULL);
    g_autoptr(NcVm) b = make_vm("admin", "b", NULL);
    g_autoptr(NcVm) other = make_vm("p2", "a", NULL);
    g_autoptr(NcVm) same_name = make_vm("admin", "a", NULL);
    g_autoptr(NcVm) undone = make_vm("admin", "undone", NULL);
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, a, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, b, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, other, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 2);
    g_assert_cmpint(nc_store_vm_count(f->st, "p2", NULL), ==, 1);
    /* a refused insert counts nothing */
    g_assert_cmpint(nc_store_vm_insert(f->st, same_name, NULL, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 2);
    /* nor does an insert whose transaction is rolled back */
    {
        g_auto(NcStoreTxn) txn = { 0 };
        g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
        g_assert_cmpint(nc_store_vm_insert(f->st, undone, NULL, NULL), ==, 0);
        g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 3);
    }
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 2);
    g_assert_cmpint(nc_store_vm_delete(f->st, b->spec->id, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 1);
    g_assert_cmpint(nc_store_vm_count(f->st, "p2", NULL), ==, 1);
    /* deleting a VM that is gone changes no count */
    g_assert_cmpint(nc_store_vm_delete(f->st, b->spec->id, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 1);
    /* a project without VMs, and one that does not exist */
    g_assert_cmpint(nc_store_vm_count(f->st, "nobody", NULL), ==, 0);
}

static void
test_vms(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h1", "one", 4);
    g_autoptr(NcVm) a = make_vm("admin", "web", NULL);
    g_autoptr(NcVm) b = make_vm("p2", "web", "h1");
    g_autoptr(NcVm) dup = make_vm("admin", "web", NULL);
    g_assert_cmpint(nc_store_vm_insert(f->st, a, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_insert(f->st, b, NULL, NULL), ==, 0);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_store_vm_insert(f->st, dup, NULL, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_assert_nonnull(strstr(err->message, "already exists"));
    g_clear_error(&err);

    g_autoptr(NcVm) by_name = nc_store_vm_get(f->st, "admin", "web", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(by_name->spec->id, ==, a->spec->id);
    g_assert_null(by_name->host);
    g_autoptr(NcVm) by_id = nc_store_vm_get(f->st, "p2", b->spec->id, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(by_id->spec->name, ==, "web");
    g_assert_cmpstr(by_id->host_name, ==, "one");
    /* an admin reaches any project's VM by id */
    g_autoptr(NcVm) any = nc_store_vm_get(f->st, NULL, b->spec->id, &err);
    g_assert_no_error(err);
    g_assert_nonnull(any);
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
    g_autoptr(GPtrArray) on_h1 = nc_store_vm_list(f->st, NULL, "h1", NULL);
    g_assert_cmpuint(on_h1->len, ==, 1);
    g_autoptr(GPtrArray) mine_on_h1 = nc_store_vm_list(f->st, "admin", "h1", NULL);
    g_assert_cmpuint(mine_on_h1->len, ==, 0);

    by_name->state = NC_VM_RUNNING;
    by_name->spec->vcpus = 2;
    json_array_append_new(by_name->addresses, json_string("10.0.0.5"));
    g_assert_cmpint(nc_store_vm_update(f->st, by_name, NULL), ==, 0);
    g_autoptr(NcVm) again = nc_store_vm_get(f->st, "admin", "web", NULL);
    g_assert_cmpint(again->state, ==, NC_VM_RUNNING);
    g_assert_cmpint(again->spec->vcpus, ==, 2);
    g_assert_cmpstr(json_string_value(json_array_get(again->addresses, 0)), ==, "10.0.0.5");
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 1);
    g_assert_cmpint(nc_store_vm_count_image(f->st, "img", NULL), ==, 2);
    g_assert_cmpint(nc_store_vm_delete(f->st, a->spec->id, NULL), ==, 0);
    g_assert_cmpint(nc_store_vm_count(f->st, "admin", NULL), ==, 0);
    /* updating a VM that is gone says so */
    g_assert_cmpint(nc_store_vm_update(f->st, by_name, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
}

typedef struct {
    NcStore *st;
    const char *target;     /* set: each thread opens a connection of its own */
    gint ready;
    gint go;
    gint wins;
    gint failures;
} Race;

static int
claim_once(NcStore *st, bool in_txn, gint *failures)
{
    int rc;
    if (!in_txn) {
        rc = nc_store_host_claim(st, NC_HOST_CLAIM_PLACE, "h1", 1, 100, 1, NULL, NULL);
    } else {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, st, NULL) < 0) {
            g_atomic_int_inc(failures);
            return 0;
        }
        rc = nc_store_host_claim(st, NC_HOST_CLAIM_PLACE, "h1", 1, 100, 1, NULL, NULL);
        if (nc_store_txn_commit(&txn, NULL) < 0)
            rc = -1;
    }
    if (rc < 0)
        g_atomic_int_inc(failures);
    return rc == 1;
}

static gpointer
claim_many(gpointer data)
{
    Race *r = data;
    for (int i = 0; i < 20; i++) {
        if (claim_once(r->st, true, &r->failures))
            g_atomic_int_inc(&r->wins);
    }
    return NULL;
}

static void
test_claim_race(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h1", "one", 2);   /* 2 vCPUs x 4.0 = 8 claimable */
    Race r = { .st = f->st };
    GThread *t[8];
    for (int i = 0; i < 8; i++)
        t[i] = g_thread_new("claim", claim_many, &r);
    for (int i = 0; i < 8; i++)
        g_thread_join(t[i]);
    g_assert_cmpint(r.failures, ==, 0);
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
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 1, 1, 1, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_seen(f->st, "h1", nc_now_ms(), NULL), ==, 1);
    g_assert_cmpint(nc_store_host_seen(f->st, "h1", nc_now_ms(), NULL), ==, 0);
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 1, 1, 1, NULL, NULL), ==, 1);

    /* a disabled host takes no new VM, but keeps the room it promised and
     * lets its VMs grow; enabling it drops the reason */
    g_assert_cmpint(nc_store_host_set_enabled(f->st, "h1", false, "new disks", NULL), ==, 0);
    g_autoptr(NcHost) off = nc_store_host_get(f->st, "h1", NULL);
    g_assert_true(off->disabled);
    g_assert_cmpstr(off->disabled_reason, ==, "new disks");
    g_assert_false(nc_host_schedulable(off));
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 1, 1, 1, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_KEEP, "h1", 1, 1, 1, NULL, NULL), ==, 1);
    g_assert_cmpint(nc_store_host_release(f->st, "h1", 1, 1, 1, NULL), ==, 0);
    /* a heartbeat (register) leaves the admin's choice alone */
    g_autoptr(NcHost) again = nc_host_new();
    again->id = g_strdup("h1");
    again->name = g_strdup("one");
    again->accel = g_strdup(off->accel);
    again->vcpus = off->vcpus;
    again->memory_mib = off->memory_mib;
    again->disk_gib = off->disk_gib;
    g_assert_cmpint(nc_store_host_register(f->st, again, NULL), ==, 0);
    g_autoptr(NcHost) still = nc_store_host_get(f->st, "h1", NULL);
    g_assert_true(still->disabled);
    g_assert_cmpint(nc_store_host_set_enabled(f->st, "h1", true, "ignored", NULL), ==, 0);
    g_autoptr(NcHost) on = nc_store_host_get(f->st, "h1", NULL);
    g_assert_false(on->disabled);
    g_assert_null(on->disabled_reason);
    g_assert_true(nc_host_schedulable(on));

    /* what ties a host: its VMs, reservations to come, operations in flight */
    NcHostHoldings held;
    g_assert_cmpint(nc_store_host_holdings(f->st, "h1", &held, NULL), ==, 0);
    g_assert_cmpint(held.vms, ==, 0);
    g_assert_cmpint(held.reservations, ==, 0);
    g_assert_cmpint(held.operations, ==, 0);

    /* a claim can return the row it left, without the host's info */
    NcHost *after = NULL;
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 2, 3, 4, &after, NULL), ==, 1);
    g_assert_nonnull(after);
    g_assert_cmpstr(after->id, ==, "h1");
    g_assert_cmpstr(after->name, ==, "one");
    g_assert_cmpstr(after->state, ==, "up");
    g_assert_cmpint(after->alloc_vcpus, ==, 3);
    g_assert_cmpint(after->alloc_memory_mib, ==, 4);
    g_assert_cmpint(after->alloc_disk_gib, ==, 5);
    g_assert_cmpint(after->vcpus, >, 0);
    g_clear_pointer(&after, nc_host_free);
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 100000, 1, 1, &after, NULL), ==, 0);
    g_assert_null(after);
    g_assert_cmpint(nc_store_host_release(f->st, "h1", 2, 3, 4, NULL), ==, 0);

    /* recount derives allocation from the VMs placed on the host */
    g_autoptr(NcVm) vm = make_vm("admin", "x", "h1");
    g_assert_cmpint(nc_store_vm_insert(f->st, vm, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_recount(f->st, NULL), ==, 0);
    g_autoptr(NcHost) h3 = nc_store_host_get(f->st, "h1", NULL);
    g_assert_cmpint(h3->alloc_vcpus, ==, 1);
    g_assert_cmpint(h3->alloc_memory_mib, ==, 256);

    /* an evacuation remembers the host the VM left */
    g_autoptr(GError) err = NULL;
    g_assert_null(nc_store_vm_evacuated_from(f->st, vm->spec->id, &err));
    g_assert_no_error(err);
    g_assert_cmpint(nc_store_vm_set_evacuated_from(f->st, vm->spec->id, "h1", NULL), ==, 0);
    g_autofree char *from = nc_store_vm_evacuated_from(f->st, vm->spec->id, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(from, ==, "h1");
    g_assert_null(nc_store_vm_evacuated_from(f->st, "no-such-vm", &err));
    g_assert_no_error(err);
    g_assert_cmpint(nc_store_vm_set_evacuated_from(f->st, "no-such-vm", "h1", &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
}

static gpointer
claim_on_own_connection(gpointer data)
{
    Race *r = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(NcStore) st = nc_store_open(r->target, &err);
    g_assert_no_error(err);
    int me = g_atomic_int_add(&r->ready, 1);
    while (!g_atomic_int_get(&r->go))
        g_thread_yield();
    /* half the threads claim in transactions (the writers' lock), half
     * with the bare conditional UPDATE, which must be atomic by itself */
    for (int i = 0; i < 25; i++) {
        if (claim_once(st, me % 2 == 0, &r->failures))
            g_atomic_int_inc(&r->wins);
    }
    return NULL;
}

static void
test_claim_race_connections(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h1", "one", 2);   /* 8 claimable vCPUs */
    Race r = { .target = f->target };
    GThread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = g_thread_new("claim", claim_on_own_connection, &r);
    while (g_atomic_int_get(&r.ready) < 4)
        g_usleep(1000);
    g_atomic_int_set(&r.go, 1);
    for (int i = 0; i < 4; i++)
        g_thread_join(t[i]);
    g_assert_cmpint(r.failures, ==, 0);
    g_assert_cmpint(r.wins, ==, 8);
    g_autoptr(NcHost) h = nc_store_host_get(f->st, "h1", NULL);
    g_assert_cmpint(h->alloc_vcpus, ==, 8);
    g_assert_cmpint(h->alloc_memory_mib, ==, 800);
    g_assert_cmpint(h->alloc_disk_gib, ==, 8);
}

static gpointer
count_on_own_connection(gpointer data)
{
    Race *r = data;
    g_autoptr(NcStore) st = nc_store_open(r->target, NULL);
    g_assert_nonnull(st);
    g_atomic_int_inc(&r->ready);
    while (!g_atomic_int_get(&r->go))
        g_thread_yield();
    for (int i = 0; i < 25; i++) {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, st, NULL) < 0) {
            g_atomic_int_inc(&r->failures);
            continue;
        }
        g_autofree char *n = nc_store_meta_get(st, "counter", NULL);
        g_autofree char *next = g_strdup_printf("%d", (n ? atoi(n) : 0) + 1);
        g_thread_yield();
        if (nc_store_meta_set(st, "counter", next, NULL) < 0 ||
            nc_store_txn_commit(&txn, NULL) < 0)
            g_atomic_int_inc(&r->failures);
    }
    return NULL;
}

/* Transactions of different connections run one at a time, as SQLite's
 * BEGIN IMMEDIATE makes them: a read-modify-write never loses an update. */
static void
test_writers_serialise(Fixture *f, gconstpointer data)
{
    Race r = { .target = f->target };
    GThread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = g_thread_new("count", count_on_own_connection, &r);
    while (g_atomic_int_get(&r.ready) < 4)
        g_usleep(1000);
    g_atomic_int_set(&r.go, 1);
    for (int i = 0; i < 4; i++)
        g_thread_join(t[i]);
    g_assert_cmpint(r.failures, ==, 0);
    g_autofree char *n = nc_store_meta_get(f->st, "counter", NULL);
    g_assert_cmpstr(n, ==, "100");
}

/* Threads of one connection waiting for the store: an urgent one (the
 * relay, the engine) goes before one that was waiting longer. */
typedef struct {
    NcStore *st;
    bool urgent;
    gint *arrived;
    gint *turn;         /* takes a number once it has the store */
    int mine;
} Waiter;

static gpointer
wait_for_store(gpointer data)
{
    Waiter *w = data;
    nc_store_set_urgent(w->urgent);
    g_atomic_int_inc(w->arrived);
    g_auto(NcStoreTxn) txn = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&txn, w->st, NULL), ==, 0);
    w->mine = g_atomic_int_add(w->turn, 1);
    g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, 0);
    return NULL;
}

static void
test_urgent_first(Fixture *f, gconstpointer data)
{
    gint arrived = 0, turn = 0;
    Waiter normal = { f->st, false, &arrived, &turn, -1 };
    Waiter urgent = { f->st, true, &arrived, &turn, -1 };
    g_auto(NcStoreTxn) txn = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
    GThread *tn = g_thread_new("normal", wait_for_store, &normal);
    while (g_atomic_int_get(&arrived) < 1)
        g_usleep(1000);
    g_usleep(50 * 1000);   /* the normal thread waits for the store */
    GThread *tu = g_thread_new("urgent", wait_for_store, &urgent);
    while (g_atomic_int_get(&arrived) < 2)
        g_usleep(1000);
    g_usleep(50 * 1000);
    /* the holder takes the store again (a query in its transaction)
     * without giving way: it would wait for itself */
    g_autofree char *v = nc_store_meta_get(f->st, "schema_version", NULL);
    g_assert_nonnull(v);
    g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, 0);
    g_thread_join(tu);
    g_thread_join(tn);
    g_assert_cmpint(urgent.mine, ==, 0);
    g_assert_cmpint(normal.mine, ==, 1);
}

static void
test_hosts(Fixture *f, gconstpointer data)
{
    add_host(f->st, "h2", "zwei", 4);
    add_host(f->st, "h1", "eins", 2);
    /* registering again updates the host and keeps its policy */
    g_assert_cmpint(nc_store_host_set_policy(f->st, "h1", 5000000000LL, -1, 2000, -1, NULL),
                    ==, 0);
    add_host(f->st, "h1", "one", 3);
    g_autoptr(GPtrArray) list = nc_store_host_list(f->st, NULL);
    g_assert_cmpuint(list->len, ==, 2);
    NcHost *h1 = g_ptr_array_index(list, 0);
    g_assert_cmpstr(h1->name, ==, "one");
    g_assert_cmpint(h1->vcpus, ==, 3);
    g_assert_cmpint(h1->cpu_ratio, ==, 5000000000LL);
    g_assert_cmpint(h1->ram_ratio, ==, 1000);
    g_assert_cmpint(h1->disk_ratio, ==, 2000);
    g_assert_cmpint(h1->reserved_memory_mib, ==, 0);
    g_assert_cmpint(nc_store_host_set_policy(f->st, "h1", -1, -1, -1, 512, NULL), ==, 0);
    g_autoptr(NcHost) again = nc_store_host_get(f->st, "h1", NULL);
    g_assert_cmpint(again->cpu_ratio, ==, 5000000000LL);
    g_assert_cmpint(again->reserved_memory_mib, ==, 512);
    /* integer division, as on every driver: (8192 - 512) * 1000 / 1000 */
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 0, 7681, 0, NULL, NULL), ==, 0);
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 0, 7680, 0, NULL, NULL), ==, 1);
    g_autoptr(GError) err = NULL;
    g_assert_null(nc_store_host_get(f->st, "h9", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);

    /* holdings count a VM and an operation in flight on the host, and a
     * host's removal takes its row only */
    g_autoptr(NcVm) vm = make_vm("admin", "web", "h2");
    g_assert_cmpint(nc_store_vm_insert(f->st, vm, NULL, NULL), ==, 0);
    g_autoptr(NcOperation) op = nc_op_new();
    op->id = nc_uuid_new();
    op->project = g_strdup("admin");
    op->kind = g_strdup("volume.create");
    op->target_kind = g_strdup("volume");
    op->target_id = g_strdup("v");
    op->host = g_strdup("h2");
    op->created_at = op->updated_at = nc_now_ms();
    g_assert_cmpint(nc_store_op_insert(f->st, op, NULL), ==, 0);
    NcHostHoldings held;
    g_assert_cmpint(nc_store_host_holdings(f->st, "h2", &held, NULL), ==, 0);
    g_assert_cmpint(held.vms, ==, 1);
    g_assert_cmpint(held.operations, ==, 1);
    g_assert_cmpint(held.reservations, ==, 0);
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_FAILED, "x", "y", NULL), ==, 1);
    g_assert_cmpint(nc_store_host_holdings(f->st, "h2", &held, NULL), ==, 0);
    g_assert_cmpint(held.operations, ==, 0);
    g_assert_cmpint(nc_store_host_delete(f->st, "h1", NULL), ==, 0);
    g_autoptr(GPtrArray) left = nc_store_host_list(f->st, NULL);
    g_assert_cmpuint(left->len, ==, 1);
    g_assert_cmpstr(((NcHost *)g_ptr_array_index(left, 0))->id, ==, "h2");
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
    g_autoptr(GPtrArray) open = nc_store_op_list_open(f->st, NULL);
    g_assert_cmpuint(open->len, ==, 1);
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_RUNNING, NULL, NULL, NULL), ==, 1);
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_SUCCEEDED, NULL, NULL, NULL), ==, 1);
    /* final stays final: a second report changes nothing */
    g_assert_cmpint(nc_store_op_set_status(f->st, op->id, NC_OP_FAILED, "x", "y", NULL), ==, 0);
    g_autoptr(NcOperation) back = nc_store_op_get(f->st, "admin", op->id, NULL);
    g_assert_cmpint(back->status, ==, NC_OP_SUCCEEDED);
    g_autoptr(NcOperation) as_admin = nc_store_op_get(f->st, NULL, op->id, NULL);
    g_assert_nonnull(as_admin);
    g_assert_null(nc_store_op_get(f->st, "p2", op->id, NULL));

    g_autoptr(NcOperation) op2 = nc_op_new();
    op2->id = nc_uuid_new();
    op2->project = g_strdup("p2");
    op2->kind = g_strdup("vm.stop");
    op2->target_kind = g_strdup("vm");
    op2->target_id = g_strdup("u");
    op2->created_at = op2->updated_at = nc_now_ms() + 1;
    g_assert_cmpint(nc_store_op_insert(f->st, op2, NULL), ==, 0);
    g_autoptr(GPtrArray) ops_all = nc_store_op_list(f->st, NULL, NULL, 10, NULL);
    g_assert_cmpuint(ops_all->len, ==, 2);
    g_assert_cmpstr(((NcOperation *)g_ptr_array_index(ops_all, 0))->id, ==, op2->id);
    g_autoptr(GPtrArray) ops_one = nc_store_op_list(f->st, NULL, NULL, 1, NULL);
    g_assert_cmpuint(ops_one->len, ==, 1);
    g_autoptr(GPtrArray) ops_t = nc_store_op_list(f->st, "admin", "t", 10, NULL);
    g_assert_cmpuint(ops_t->len, ==, 1);
    g_autoptr(GPtrArray) ops_none = nc_store_op_list(f->st, "p2", "t", 10, NULL);
    g_assert_cmpuint(ops_none->len, ==, 0);
    g_autoptr(GPtrArray) open2 = nc_store_op_list_open(f->st, NULL);
    g_assert_cmpuint(open2->len, ==, 1);
    /* only finished operations are pruned */
    g_assert_cmpint(nc_store_op_prune(f->st, nc_now_ms() + 1000, NULL), ==, 1);

    g_assert_cmpint(nc_store_event_last(f->st, NULL), ==, 0);
    g_assert_cmpint(nc_store_event_append(f->st, "admin", "vm.state", "vm", "a", NULL, NULL),
                    ==, 0);
    int64_t s1 = nc_store_event_last(f->st, NULL);
    g_assert_cmpint(nc_store_event_append(f->st, "p2", "vm.state", "vm", "b",
                                          json_pack("{s:s}", "state", "running"), NULL), ==, 0);
    int64_t s2 = nc_store_event_last(f->st, NULL);
    g_assert_cmpint(s1, >, 0);
    g_assert_cmpint(s2, >, s1);
    g_autoptr(GPtrArray) all = nc_store_event_list(f->st, NULL, 0, 10, NULL);
    g_assert_cmpuint(all->len, ==, 2);
    g_autoptr(GPtrArray) first = nc_store_event_list(f->st, NULL, 0, 1, NULL);
    g_assert_cmpuint(first->len, ==, 1);
    g_autoptr(GPtrArray) p2 = nc_store_event_list(f->st, "p2", 0, 10, NULL);
    g_assert_cmpuint(p2->len, ==, 1);
    NcEvent *ev = g_ptr_array_index(p2, 0);
    g_assert_cmpstr(json_string_value(json_object_get(ev->data, "state")), ==, "running");
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
    g_clear_error(&err);
    g_autofree char *id = nc_store_project_resolve(f->st, "second", NULL);
    g_assert_cmpstr(id, ==, "p2");
    g_assert_null(nc_store_project_create(f->st, "p3", "second", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_autoptr(json_t) projects = nc_store_project_list(f->st, NULL);
    g_assert_cmpuint(json_array_size(projects), ==, 2);
}

static NcImage *
make_image(const char *project, const char *name, const char *format, const char *file,
           const char *state)
{
    NcImage *img = nc_image_new();
    img->id = nc_uuid_new();
    img->project = g_strdup(project);
    img->name = g_strdup(name);
    img->format = g_strdup(format);
    img->file = g_strdup(file);
    img->state = g_strdup(state);
    return img;
}

static void
test_images(Fixture *f, gconstpointer data)
{
    g_autoptr(NcImage) pub = make_image("admin", "test", "qcow2", "a.qcow2", "available");
    pub->is_public = true;
    pub->size_bytes = 5ULL << 30;   /* past 32 bits */
    g_assert_cmpint(nc_store_image_insert(f->st, pub, NULL), ==, 0);
    g_autoptr(NcImage) own = make_image("p2", "test", "raw", "b.raw", "available");
    g_assert_cmpint(nc_store_image_insert(f->st, own, NULL), ==, 0);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_store_image_insert(f->st, own, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);
    /* a project's own image wins over a public one of the same name */
    g_autoptr(NcImage) got = nc_store_image_get(f->st, "p2", "test", NULL);
    g_assert_cmpstr(got->id, ==, own->id);
    g_autoptr(NcImage) adm = nc_store_image_get(f->st, "admin", "test", NULL);
    g_assert_cmpstr(adm->id, ==, pub->id);
    g_assert_true(adm->is_public);
    g_assert_cmpuint(adm->size_bytes, ==, 5ULL << 30);
    g_assert_null(adm->kernel);
    g_autoptr(NcImage) by_id = nc_store_image_get(f->st, NULL, own->id, NULL);
    g_assert_cmpstr(by_id->name, ==, "test");
    g_assert_null(nc_store_image_get(f->st, "admin", own->id, &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
    g_autoptr(GPtrArray) list = nc_store_image_list(f->st, "admin", NULL);
    g_assert_cmpuint(list->len, ==, 1);
    g_autoptr(GPtrArray) every = nc_store_image_list(f->st, NULL, NULL);
    g_assert_cmpuint(every->len, ==, 2);
    g_assert_cmpint(nc_store_image_delete(f->st, own->id, NULL), ==, 0);
    g_autoptr(GPtrArray) left = nc_store_image_list(f->st, "p2", NULL);
    g_assert_cmpuint(left->len, ==, 1);

    /* an image being written has no ready time until its file is whole */
    g_autoptr(NcImage) wip = make_image("p2", "wip", "qcow2", "c.qcow2", "creating");
    wip->created_at = 1000;
    g_assert_cmpint(nc_store_image_insert(f->st, wip, NULL), ==, 0);
    g_autoptr(NcImage) w1 = nc_store_image_get(f->st, "p2", "wip", NULL);
    g_assert_cmpint(w1->ready_at, ==, 0);
    g_assert_cmpint(nc_store_image_set_ready(f->st, wip->id, 4096, 2500, NULL), ==, 0);
    g_autoptr(NcImage) w2 = nc_store_image_get(f->st, "p2", "wip", NULL);
    g_assert_cmpstr(w2->state, ==, "available");
    g_assert_cmpint(w2->ready_at, ==, 2500);
    g_assert_cmpint(w2->created_at, ==, 1000);
    g_assert_cmpuint(w2->size_bytes, ==, 4096);
}

static NcVolume *
make_volume(const char *project, const char *name, int64_t gib)
{
    NcVolume *v = nc_volume_new();
    v->id = nc_uuid_new();
    v->project = g_strdup(project);
    v->name = g_strdup(name);
    v->size_gib = gib;
    v->filesystem = g_strdup("ext4");
    v->state = g_strdup("available");
    v->created_at = v->updated_at = nc_now_ms();
    return v;
}

/* Volumes are unique by name within a project, scoped like every other
 * resource, follow the VM they are attached to, and count toward the
 * project's quota; snapshots likewise. */
static void
test_volumes(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NcVolume) a = make_volume("admin", "data", 10);
    g_autoptr(NcVolume) b = make_volume("admin", "logs", 3);
    g_autoptr(NcVolume) other = make_volume("p2", "data", 5);
    g_assert_cmpint(nc_store_volume_insert(f->st, a, NULL), ==, 0);
    g_assert_cmpint(nc_store_volume_insert(f->st, b, NULL), ==, 0);
    g_assert_cmpint(nc_store_volume_insert(f->st, other, NULL), ==, 0);
    g_autoptr(NcVolume) dup = make_volume("admin", "data", 1);
    g_assert_cmpint(nc_store_volume_insert(f->st, dup, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);

    /* by name within the project, by id across them only unscoped */
    g_autoptr(NcVolume) got = nc_store_volume_get(f->st, "p2", "data", NULL);
    g_assert_cmpstr(got->id, ==, other->id);
    g_assert_cmpint(got->size_gib, ==, 5);
    g_assert_null(nc_store_volume_get(f->st, "p2", a->id, &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
    g_clear_error(&err);
    g_autoptr(NcVolume) by_id = nc_store_volume_get(f->st, NULL, a->id, NULL);
    g_assert_cmpstr(by_id->name, ==, "data");

    /* attached: the listing by VM finds it and names the VM */
    g_autoptr(NcVm) vm = make_vm("admin", "web", NULL);
    g_assert_cmpint(nc_store_vm_insert(f->st, vm, NULL, NULL), ==, 0);
    g_free(a->vm);
    a->vm = g_strdup(vm->spec->id);
    g_free(a->device);
    a->device = g_strdup("vdb");
    g_free(a->state);
    a->state = g_strdup("in-use");
    a->size_gib = 20;
    g_assert_cmpint(nc_store_volume_update(f->st, a, NULL), ==, 0);
    g_autoptr(GPtrArray) on_vm = nc_store_volume_list(f->st, "admin", vm->spec->id, NULL);
    g_assert_cmpuint(on_vm->len, ==, 1);
    NcVolume *att = g_ptr_array_index(on_vm, 0);
    g_assert_cmpstr(att->vm_name, ==, "web");
    g_assert_cmpstr(att->device, ==, "vdb");
    g_assert_cmpint(att->size_gib, ==, 20);
    g_autoptr(GPtrArray) mine = nc_store_volume_list(f->st, "admin", NULL, NULL);
    g_assert_cmpuint(mine->len, ==, 2);
    g_autoptr(GPtrArray) every = nc_store_volume_list(f->st, NULL, NULL, NULL);
    g_assert_cmpuint(every->len, ==, 3);

    /* usage and quota: defaults until set, -1 leaves a value alone */
    int64_t count = 0, gib = 0, qv = 0, qg = 0;
    g_assert_cmpint(nc_store_volume_usage(f->st, "admin", &count, &gib, NULL), ==, 0);
    g_assert_cmpint(count, ==, 2);
    g_assert_cmpint(gib, ==, 23);
    g_assert_cmpint(nc_store_project_quota_get(f->st, "admin", &qv, &qg, NULL), ==, 0);
    g_assert_cmpint(qv, ==, NC_DEFAULT_QUOTA_VOLUMES);
    g_assert_cmpint(qg, ==, NC_DEFAULT_QUOTA_VOLUME_GIB);
    g_assert_cmpint(nc_store_project_quota_set(f->st, "admin", 3, -1, NULL), ==, 0);
    g_assert_cmpint(nc_store_project_quota_get(f->st, "admin", &qv, &qg, NULL), ==, 0);
    g_assert_cmpint(qv, ==, 3);
    g_assert_cmpint(qg, ==, NC_DEFAULT_QUOTA_VOLUME_GIB);
    g_assert_cmpint(nc_store_project_quota_get(f->st, "p2", &qv, &qg, NULL), ==, 0);
    g_assert_cmpint(qv, ==, NC_DEFAULT_QUOTA_VOLUMES);

    /* snapshots: unique per project, listed by the VM they came from */
    g_autoptr(NcSnapshot) s = nc_snapshot_new();
    s->id = nc_uuid_new();
    s->project = g_strdup("admin");
    s->name = g_strdup("before");
    s->vm = g_strdup(vm->spec->id);
    s->image = g_strdup("img");
    s->file = g_strdup("snapshots/x.qcow2");
    s->state = g_strdup("available");
    s->size_bytes = 6ULL << 30;   /* past 32 bits */
    s->disk_gib = 1;
    s->created_at = nc_now_ms();
    g_assert_cmpint(nc_store_snapshot_insert(f->st, s, NULL), ==, 0);
    g_assert_cmpint(nc_store_snapshot_insert(f->st, s, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);
    g_autoptr(GPtrArray) snaps = nc_store_snapshot_list(f->st, "admin", vm->spec->id, NULL);
    g_assert_cmpuint(snaps->len, ==, 1);
    g_autoptr(NcSnapshot) sg = nc_store_snapshot_get(f->st, "admin", "before", NULL);
    g_assert_cmpuint(sg->size_bytes, ==, 6ULL << 30);
    g_assert_cmpstr(sg->vm_name, ==, "web");
    g_assert_null(nc_store_snapshot_get(f->st, "p2", "before", &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_cmpint(nc_store_snapshot_delete(f->st, s->id, NULL), ==, 0);
    g_autoptr(GPtrArray) no_snaps = nc_store_snapshot_list(f->st, NULL, NULL, NULL);
    g_assert_cmpuint(no_snaps->len, ==, 0);

    g_assert_cmpint(nc_store_volume_delete(f->st, b->id, NULL), ==, 0);
    g_assert_cmpint(nc_store_volume_usage(f->st, "admin", &count, &gib, NULL), ==, 0);
    g_assert_cmpint(count, ==, 1);
    g_assert_cmpint(gib, ==, 20);
}

/* Waits up to 5 s for @st's data version to move off @from. */
static int64_t
wait_data_version(NcStore *st, int64_t from)
{
    int64_t v = nc_store_data_version(st);
    for (int i = 0; i < 500 && v == from; i++) {
        g_usleep(10000);
        v = nc_store_data_version(st);
    }
    return v;
}

/* The data version moves when another connection commits a change, inside
 * a transaction or not, and stays put for the store's own writes and for
 * writes that are rolled back. */
static void
test_data_version(Fixture *f, gconstpointer data)
{
    g_autoptr(NcStore) other = nc_store_open(f->target, NULL);
    g_assert_nonnull(other);
    int64_t v0 = nc_store_data_version(f->st);
    g_assert_cmpint(v0, >=, 0);

    g_assert_cmpint(nc_store_meta_set(f->st, "mine", "1", NULL), ==, 0);
    g_usleep(100000);
    g_assert_cmpint(nc_store_data_version(f->st), ==, v0);

    {
        g_auto(NcStoreTxn) txn = { 0 };
        g_assert_cmpint(nc_store_txn_begin(&txn, other, NULL), ==, 0);
        g_assert_cmpint(nc_store_meta_set(other, "theirs", "lost", NULL), ==, 0);
    }
    g_usleep(100000);
    g_assert_cmpint(nc_store_data_version(f->st), ==, v0);

    g_assert_cmpint(nc_store_meta_set(other, "theirs", "1", NULL), ==, 0);
    int64_t v1 = wait_data_version(f->st, v0);
    g_assert_cmpint(v1, !=, v0);

    g_auto(NcStoreTxn) txn = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&txn, other, NULL), ==, 0);
    g_assert_cmpint(nc_store_meta_set(other, "theirs", "2", NULL), ==, 0);
    g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, 0);
    g_assert_cmpint(wait_data_version(f->st, v1), !=, v1);
}

#if NC_WITH_POSTGRES
/* A store whose connection the server drops answers "unavailable" once,
 * then reconnects; a transaction that loses its connection rolls back. */
static void
test_pg_reconnect(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    for (int round = 0; round < 2; round++) {
        bool in_txn = round == 1;
        g_autofree char *pid = NULL;
        {
            g_autoptr(NcRows) r = nc_store_query(f->st, NULL, "SELECT pg_backend_pid()", NC_END);
            g_assert_nonnull(r);
            g_assert_true(nc_rows_next(r, NULL));
            pid = nc_rows_dup(r, 0);
        }
        g_auto(NcStoreTxn) txn = { 0 };
        if (in_txn) {
            g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
            g_assert_cmpint(nc_store_meta_set(f->st, "lost", "yes", NULL), ==, 0);
        }
        g_autofree char *kill = g_strdup_printf(
            "SELECT pg_terminate_backend(%s, 10000)", pid);
        pg_admin(f->be->url, kill);
        g_autofree char *v = nc_store_meta_get(f->st, "schema_version", &err);
        g_assert_null(v);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
        g_clear_error(&err);
        if (in_txn) {
            /* the rest of the transaction fails without reconnecting */
            g_assert_cmpint(nc_store_meta_set(f->st, "lost", "still", &err), ==, -1);
            g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
            g_clear_error(&err);
            g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, -1);
        }
        g_autofree char *v2 = nc_store_meta_get(f->st, "schema_version", &err);
        g_assert_no_error(err);
        g_assert_nonnull(v2);
        g_autofree char *lost = nc_store_meta_get(f->st, "lost", &err);
        g_assert_no_error(err);
        g_assert_null(lost);
    }
    /* prepared statements are made again on the new connection */
    add_host(f->st, "h1", "one", 1);
    g_assert_cmpint(nc_store_host_claim(f->st, NC_HOST_CLAIM_PLACE, "h1", 1, 1, 1, NULL, NULL), ==, 1);
}

/* Removes the cluster when the test process is gone, however it ends: a
 * child in its own session waits for the pipe to close. */
static void
pg_cluster_reaper(const char *script, const char *dir)
{
    int fds[2];
    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(fds[1]);
        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        char c;
        while (read(fds[0], &c, 1) != 0)
            ;
        g_autofree char *cmd = g_strdup_printf("'%s' stop '%s'; rm -rf '%s'", script, dir, dir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    /* fds[1] stays open, unused, until this process exits */
}

static int
pg_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Returns: a PostgreSQL URL to test against, or NULL with *ret_why set. */
static char *
pg_test_url(char **ret_why)
{
    const char *env = g_getenv("NC_TEST_PG_URL");
    if (env && *env)
        return g_strdup(env);
    if (!g_file_test("/usr/lib/postgresql/15/bin/initdb", G_FILE_TEST_IS_EXECUTABLE)) {
        *ret_why = g_strdup("PostgreSQL 15 is not installed (scripts/deps.sh test); "
                            "set NC_TEST_PG_URL to test against another server");
        return NULL;
    }
    g_autofree char *script = g_build_filename(NC_SOURCE_DIR, "scripts", "postgres.sh", NULL);
    g_autofree char *dir = g_dir_make_tmp("nc-store-pg-XXXXXX", NULL);
    g_assert_nonnull(dir);
    pg_cluster_reaper(script, dir);
    g_autofree char *port = g_strdup_printf("%d", pg_free_port());
    const char *argv[] = { script, "start", dir, port, NULL };
    g_autofree char *out = NULL;
    g_autofree char *errs = NULL;
    int status = 0;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs,
                      &status, &err))
        g_error("cannot run %s: %s", script, err->message);
    if (!g_spawn_check_wait_status(status, &err))
        g_error("%s start failed: %s\n%s", script, err->message, errs);
    return g_strdup(g_strstrip(out));
}
#endif

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    static Backend sqlite = { .name = "sqlite" };
    static Backend postgres = { .name = "postgres" };
    g_autofree char *pg_why = NULL;
#if NC_WITH_POSTGRES
    postgres.url = pg_test_url(&pg_why);
#else
    pg_why = g_strdup("this build has no PostgreSQL driver (meson configure -Dpostgres=enabled)");
#endif
    const Backend *backends[] = { &sqlite, postgres.url ? &postgres : NULL };

    for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
        const Backend *be = backends[i];
        if (!be)
            continue;
#define ADD(leaf, fn) do { \
        g_autofree char *path = g_strdup_printf("/store/%s/%s", be->name, leaf); \
        g_test_add(path, Fixture, be, setup, fn, teardown); \
    } while (0)
        ADD("schema", test_schema);
        ADD("transactions", test_transactions);
        ADD("statement-cache", test_statement_cache);
        ADD("vms", test_vms);
        ADD("vm-expiry", test_vm_expiry);
        ADD("vm-count", test_vm_count);
        ADD("vm-status", test_vm_status);
        ADD("hosts", test_hosts);
        ADD("claim-race", test_claim_race);
        ADD("claim-race-connections", test_claim_race_connections);
        ADD("writers-serialise", test_writers_serialise);
        ADD("urgent-first", test_urgent_first);
        ADD("ops-and-events", test_ops_and_events);
        ADD("tokens", test_tokens);
        ADD("images", test_images);
        ADD("volumes", test_volumes);
        ADD("data-version", test_data_version);
#if NC_WITH_POSTGRES
        if (be == &postgres)
            ADD("reconnect", test_pg_reconnect);
#endif
#undef ADD
    }
    if (!postgres.url)
        g_test_add_data_func("/store/postgres/skipped", pg_why,
                             (GTestDataFunc)g_test_skip);
    int rc = g_test_run();
    g_free(postgres.url);
    return rc;
}
