/* store.c: the generic store layer: driver choice, locking, transactions,
 * schema migrations. */
#include "nc_config.h"
#include "store_priv.h"
#include "schema.h"
#include "vm_store.h"
#include "util/nc_error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the lock: one connection, one thread at a time ---- */

static __thread bool nc_store_urgent_thread;

void
nc_store_set_urgent(bool on)
{
    nc_store_urgent_thread = on;
}

/* Takes @st's lock; a thread that holds it takes it again at once.  When
 * it comes free it goes to an urgent thread (nc_store_set_urgent()) if one
 * waits, else to another. */
static void
nc_store_lock(NcStore *st)
{
    GThread *self = g_thread_self();
    if (g_atomic_pointer_get(&st->owner) == self) {
        st->holds++;
        return;
    }
    g_mutex_lock(&st->lock);
    if (nc_store_urgent_thread) {
        st->urgent++;
        while (st->owner)
            g_cond_wait(&st->urgent_free, &st->lock);
        st->urgent--;
    } else {
        while (st->owner || st->urgent > 0)
            g_cond_wait(&st->free, &st->lock);
    }
    g_atomic_pointer_set(&st->owner, self);
    st->holds = 1;
    g_mutex_unlock(&st->lock);
}

static void
nc_store_unlock(NcStore *st)
{
    if (--st->holds > 0)
        return;
    g_mutex_lock(&st->lock);
    g_atomic_pointer_set(&st->owner, NULL);
    g_cond_signal(st->urgent > 0 ? &st->urgent_free : &st->free);
    g_mutex_unlock(&st->lock);
}

static const NcStoreDriver *
nc_store_pick_driver(const char *target, const char **ret_rest)
{
#if NC_WITH_POSTGRES
    if (g_str_has_prefix(target, "postgresql://") || g_str_has_prefix(target, "postgres://")) {
        *ret_rest = target;
        return &nc_store_postgres_driver;
    }
#endif
    if (g_str_has_prefix(target, "sqlite:")) {
        *ret_rest = target + strlen("sqlite:");
        return &nc_store_sqlite_driver;
    }
    if (strstr(target, "://"))
        return NULL;
    *ret_rest = target;
    return &nc_store_sqlite_driver;
}

static int
nc_store_migrate(NcStore *st, const NcSchema *schema, GError **err)
{
    g_autofree char *create_meta = g_strdup(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    if (st->drv->exec_script(st, create_meta, err) < 0)
        return -1;

    g_autofree char *ver = nc_store_meta_get(st, "schema_version", err);
    if (err && *err)
        return -1;
    int have = ver ? atoi(ver) : 0;
    if (have > schema->count) {
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "the store has schema version %d, newer than this nestcloud (%d)",
                     have, schema->count);
        return -1;
    }
    for (int v = have; v < schema->count; v++) {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, st, err) < 0)
            return -1;
        /* another process may have migrated while we looked: read again
         * under the transaction, which writers take one at a time */
        g_autofree char *now_ver = nc_store_meta_get(st, "schema_version", NULL);
        if (now_ver && atoi(now_ver) > v) {
            if (nc_store_txn_commit(&txn, err) < 0)
                return -1;
            continue;
        }
        g_autofree char *sql = nc_schema_render(schema->versions[v], st->drv->serial_pk);
        if (st->drv->exec_script(st, sql, err) < 0) {
            nc_error_prefix(err, "schema version %d: ", v + 1);
            return -1;
        }
        g_autofree char *vs = g_strdup_printf("%d", v + 1);
        if (nc_store_meta_set(st, "schema_version", vs, err) < 0)
            return -1;
        if (nc_store_txn_commit(&txn, err) < 0)
            return -1;
    }
    return 0;
}

NcStore *
nc_store_open(const char *target, GError **err)
{
    return nc_store_open_schema(target, &nc_schema_central, err);
}

NcStore *
nc_store_open_schema(const char *target, const NcSchema *schema, GError **err)
{
    const char *rest = NULL;
    const NcStoreDriver *drv = nc_store_pick_driver(target, &rest);

    if (!drv) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "store '%s' is not understood; use a SQLite path or a "
                     "postgresql:// URL%s", target,
                     NC_WITH_POSTGRES ? "" : " (this build has no PostgreSQL support)");
        return NULL;
    }
    g_autoptr(NcStore) st = g_new0(NcStore, 1);
    st->drv = drv;
    g_mutex_init(&st->lock);
    g_cond_init(&st->free);
    g_cond_init(&st->urgent_free);
    if (drv->open(st, rest, err) < 0)
        return NULL;
    if (nc_store_migrate(st, schema, err) < 0)
        return NULL;
    if (schema == &nc_schema_central && nc_store_vm_backfill_expiry(st, err) < 0)
        return NULL;
    return g_steal_pointer(&st);
}

void
nc_store_close(NcStore *st)
{
    if (!st)
        return;
    if (st->drv)
        st->drv->close(st);
    g_mutex_clear(&st->lock);
    g_cond_clear(&st->free);
    g_cond_clear(&st->urgent_free);
    g_free(st);
}

const char *
nc_store_driver_name(NcStore *st)
{
    return st->drv->name;
}

int
nc_store_begin(NcStore *st, GError **err)
{
    nc_store_lock(st);
    if (st->depth++ > 0)
        return 0;
    st->failed = false;
    st->dirty = false;
    if (st->drv->exec_script(st, st->drv->begin_sql, err) < 0) {
        st->depth--;
        nc_store_unlock(st);
        return -1;
    }
    return 0;
}

int
nc_store_commit(NcStore *st, GError **err)
{
    g_assert(st->depth > 0);
    if (--st->depth > 0) {
        nc_store_unlock(st);
        return 0;
    }
    int rc = 0;
    if (st->failed) {
        st->drv->exec_script(st, "ROLLBACK", NULL);
        nc_error_set(err, NC_ERR_INTERNAL, "transaction was rolled back");
        rc = -1;
    } else if (st->drv->exec_script(st, "COMMIT", err) < 0) {
        st->drv->exec_script(st, "ROLLBACK", NULL);
        rc = -1;
    } else if (st->dirty) {
        __atomic_add_fetch(&st->generation, 1, __ATOMIC_RELAXED);
    }
    nc_store_unlock(st);
    return rc;
}

void
nc_store_rollback(NcStore *st)
{
    g_assert(st->depth > 0);
    st->failed = true;
    if (--st->depth == 0)
        st->drv->exec_script(st, "ROLLBACK", NULL);
    nc_store_unlock(st);
}

int
nc_store_txn_begin(NcStoreTxn *txn, NcStore *st, GError **err)
{
    g_assert(!txn->st);
    if (nc_store_begin(st, err) < 0)
        return -1;
    txn->st = st;
    return 0;
}

int
nc_store_txn_commit(NcStoreTxn *txn, GError **err)
{
    NcStore *st = txn->st;
    txn->st = NULL;
    g_assert(st);
    return nc_store_commit(st, err);
}

void
nc_store_txn_end(NcStoreTxn *txn)
{
    if (txn->st) {
        nc_store_rollback(txn->st);
        txn->st = NULL;
    }
}

NcRows *
nc__store_query(NcStore *st, const char *sql, const NcVal *args, GError **err)
{
    nc_store_lock(st);
    NcRows *rows = st->drv->query(st, sql, args, err);
    if (!rows) {
        if (st->depth > 0)
            st->failed = true;
        nc_store_unlock(st);
        return NULL;
    }
    rows->st = st;
    return rows;
}

int64_t
nc__store_exec(NcStore *st, const char *sql, const NcVal *args, GError **err)
{
    NcRows *rows = nc__store_query(st, sql, args, err);
    if (!rows)
        return -1;
    int rc;
    while ((rc = st->drv->next(rows, err)) == 1)
        ;
    int64_t changes = rc < 0 ? -1 : st->drv->changes(rows);
    if (rc < 0 && st->depth > 0)
        st->failed = true;
    nc_rows_free(rows);
    return changes;
}

bool
nc_rows_next(NcRows *rows, GError **err)
{
    int rc = rows->st->drv->next(rows, err);
    if (rc < 0 && rows->st->depth > 0)
        rows->st->failed = true;
    return rc == 1;
}

bool
nc_rows_first(NcRows *rows, GError **err, const char *fmt, ...)
{
    GError *local = NULL;
    if (nc_rows_next(rows, &local))
        return true;
    if (local) {
        g_propagate_error(err, local);
    } else if (err) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        nc_error_set(err, NC_ERR_NOT_FOUND, "%s", msg);
    }
    return false;
}

int
nc_store_found(int64_t n, GError **err, const char *fmt, ...)
{
    if (n < 0)
        return -1;
    if (n > 0)
        return 0;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        nc_error_set(err, NC_ERR_NOT_FOUND, "%s", msg);
    }
    return -1;
}

int64_t
nc_rows_int(NcRows *rows, int col)
{
    return rows->st->drv->col_int(rows, col);
}

const char *
nc_rows_text(NcRows *rows, int col)
{
    if (rows->st->drv->col_is_null(rows, col))
        return NULL;
    return rows->st->drv->col_text(rows, col);
}

char *
nc_rows_dup(NcRows *rows, int col)
{
    return g_strdup(nc_rows_text(rows, col));
}

bool
nc_rows_is_null(NcRows *rows, int col)
{
    return rows->st->drv->col_is_null(rows, col);
}

void
nc_rows_free(NcRows *rows)
{
    if (!rows)
        return;
    NcStore *st = rows->st;
    if (rows->writes) {
        if (st->depth > 0)
            st->dirty = true;
        else
            __atomic_add_fetch(&st->generation, 1, __ATOMIC_RELAXED);
    }
    st->drv->rows_free(rows);
    nc_store_unlock(st);
}

int64_t
nc_store_data_version(NcStore *st)
{
    if (!st->drv->data_version)
        return -1;
    nc_store_lock(st);
    int64_t v = st->drv->data_version(st);
    nc_store_unlock(st);
    return v;
}

guint
nc__sql_hash(gconstpointer sql)
{
    const char *s = sql;
    size_t n = strlen(s);
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull;
    uint64_t w = 0;
    if (n < 8) {
        memcpy(&w, s, n);
        h ^= w;
    } else {
        /* words at 0, (n - 8) / 15, ..., n - 8: the first and the last
         * bytes, and what lies between at even steps */
        for (size_t k = 0; k < 16; k++) {
            memcpy(&w, s + (n - 8) * k / 15, 8);
            h = (h ^ w) * 0x100000001B3ull;
            h ^= h >> 29;
        }
    }
    h *= 0xBF58476D1CE4E5B9ull;
    return (guint)(h ^ (h >> 32));
}

uint64_t
nc_store_generation(NcStore *st)
{
    return __atomic_load_n(&st->generation, __ATOMIC_RELAXED);
}

char *
nc_store_meta_get(NcStore *st, const char *key, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err, "SELECT value FROM meta WHERE key = $1",
                                         NC_TEXT(key), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_next(r, err))
        return NULL;
    return nc_rows_dup(r, 0);
}

int
nc_store_meta_set(NcStore *st, const char *key, const char *value, GError **err)
{
    return nc_store_exec(st, err,
                         "INSERT INTO meta (key, value) VALUES ($1, $2) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         NC_TEXT(key), NC_TEXT(value), NC_END) < 0 ? -1 : 0;
}
