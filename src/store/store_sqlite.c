/* store_sqlite.c: the SQLite store driver (WAL, one connection).
 *
 * Statements are prepared once and cached by their SQL text.  The portable
 * "$N" placeholders become SQLite's "?N".
 */
#include "store_priv.h"
#include "util/nc_error.h"

#include <sqlite3.h>
#include <string.h>

typedef struct {
    sqlite3 *db;
    GHashTable *cache;   /* SQL text -> sqlite3_stmt * */
} NcSqlite;

typedef struct {
    NcRows hdr;
    sqlite3_stmt *stmt;
    bool cached;
    int64_t changes;
} NcSqliteRows;

static void
nc_sqlite_error(GError **err, sqlite3 *db, int rc, const char *what)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        nc_error_set(err, NC_ERR_CONFLICT, "already exists (%s)", sqlite3_errmsg(db));
    else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        nc_error_set(err, NC_ERR_UNAVAILABLE, "the store is busy; try again");
    else
        nc_error_set(err, NC_ERR_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
}

static void
nc_sqlite_stmt_finalize(gpointer stmt)
{
    sqlite3_finalize(stmt);
}

static int
nc_sqlite_open(NcStore *st, const char *target, GError **err)
{
    NcSqlite *s = g_new0(NcSqlite, 1);
    int rc = sqlite3_open_v2(target, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot open store %s: %s", target,
                     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_close(s->db);
        g_free(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 10000);
    s->cache = g_hash_table_new_full(nc__sql_hash, g_str_equal, g_free,
                                     nc_sqlite_stmt_finalize);
    st->impl = s;
    const char *pragmas =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA temp_store=MEMORY;"
        /* scans of big tables (100,000 VMs) from memory, not pread() */
        "PRAGMA cache_size=-65536;"
        "PRAGMA mmap_size=1073741824;"
        /* a checkpoint every 40 MiB of log, not 4: the pages written over
         * and over in between (the hosts', the indexes' upper levels) are
         * copied into the database once per checkpoint */
        "PRAGMA wal_autocheckpoint=10000;";
    char *msg = NULL;
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot set up store %s: %s", target, msg);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void
nc_sqlite_close(NcStore *st)
{
    NcSqlite *s = st->impl;
    if (!s)
        return;
    g_hash_table_destroy(s->cache);
    sqlite3_close(s->db);
    g_free(s);
    st->impl = NULL;
}

static int
nc_sqlite_exec_script(NcStore *st, const char *sql, GError **err)
{
    NcSqlite *s = st->impl;
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_BUSY)
            nc_error_set(err, NC_ERR_UNAVAILABLE, "the store is busy; try again");
        else
            nc_error_set(err, NC_ERR_INTERNAL, "store: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* "$12" -> "?12", outside quoted strings. */
static char *
nc_sqlite_rewrite(const char *sql)
{
    GString *out = g_string_sized_new(strlen(sql));
    bool quoted = false;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (!quoted && *p == '$' && g_ascii_isdigit(p[1]))
            g_string_append_c(out, '?');
        else
            g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

static NcRows *
nc_sqlite_query(NcStore *st, const char *sql, const NcVal *args, GError **err)
{
    NcSqlite *s = st->impl;
    sqlite3_stmt *stmt = g_hash_table_lookup(s->cache, sql);
    bool cached = true;

    if (!stmt || sqlite3_stmt_busy(stmt)) {
        g_autofree char *text = nc_sqlite_rewrite(sql);
        sqlite3_stmt *fresh = NULL;
        int rc = sqlite3_prepare_v3(s->db, text, -1,
                                    stmt ? 0 : SQLITE_PREPARE_PERSISTENT, &fresh, NULL);
        if (rc != SQLITE_OK) {
            nc_sqlite_error(err, s->db, rc, "prepare");
            return NULL;
        }
        if (stmt) {
            cached = false;   /* nested use of a busy statement */
        } else {
            g_hash_table_insert(s->cache, g_strdup(sql), fresh);
        }
        stmt = fresh;
    }
    for (int i = 0; args[i].type != NC_VAL_END; i++) {
        int rc;
        switch (args[i].type) {
        case NC_VAL_INT:
            rc = sqlite3_bind_int64(stmt, i + 1, args[i].i);
            break;
        case NC_VAL_TEXT:
            rc = sqlite3_bind_text(stmt, i + 1, args[i].s, -1, SQLITE_TRANSIENT);
            break;
        case NC_VAL_NULL:
            rc = sqlite3_bind_null(stmt, i + 1);
            break;
        case NC_VAL_END:
        default:
            g_assert_not_reached();
        }
        if (rc != SQLITE_OK) {
            nc_sqlite_error(err, s->db, rc, "bind");
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            if (!cached)
                sqlite3_finalize(stmt);
            return NULL;
        }
    }
    NcSqliteRows *r = g_new0(NcSqliteRows, 1);
    r->stmt = stmt;
    r->cached = cached;
    r->hdr.writes = !sqlite3_stmt_readonly(stmt);
    return &r->hdr;
}

static int
nc_sqlite_next(NcRows *rows, GError **err)
{
    NcSqliteRows *r = (NcSqliteRows *)rows;
    NcSqlite *s = rows->st->impl;
    int rc = sqlite3_step(r->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        r->changes = sqlite3_changes64(s->db);
        return 0;
    }
    nc_sqlite_error(err, s->db, rc, "step");
    return -1;
}

static int64_t
nc_sqlite_col_int(NcRows *rows, int col)
{
    return sqlite3_column_int64(((NcSqliteRows *)rows)->stmt, col);
}

static const char *
nc_sqlite_col_text(NcRows *rows, int col)
{
    return (const char *)sqlite3_column_text(((NcSqliteRows *)rows)->stmt, col);
}

static bool
nc_sqlite_col_is_null(NcRows *rows, int col)
{
    return sqlite3_column_type(((NcSqliteRows *)rows)->stmt, col) == SQLITE_NULL;
}

static int64_t
nc_sqlite_changes(NcRows *rows)
{
    return ((NcSqliteRows *)rows)->changes;
}

static void
nc_sqlite_rows_free(NcRows *rows)
{
    NcSqliteRows *r = (NcSqliteRows *)rows;
    if (r->cached) {
        sqlite3_reset(r->stmt);
        sqlite3_clear_bindings(r->stmt);
    } else {
        sqlite3_finalize(r->stmt);
    }
    g_free(r);
}

static int64_t
nc_sqlite_data_version(NcStore *st)
{
    NcSqlite *s = st->impl;
    sqlite3_stmt *stmt = g_hash_table_lookup(s->cache, "PRAGMA data_version");
    if (!stmt) {
        if (sqlite3_prepare_v3(s->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                               &stmt, NULL) != SQLITE_OK)
            return -1;
        g_hash_table_insert(s->cache, g_strdup("PRAGMA data_version"), stmt);
    }
    int64_t v = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return v;
}

const NcStoreDriver nc_store_sqlite_driver = {
    .name = "sqlite",
    .serial_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .open = nc_sqlite_open,
    .close = nc_sqlite_close,
    .exec_script = nc_sqlite_exec_script,
    .begin_sql = "BEGIN IMMEDIATE",
    .query = nc_sqlite_query,
    .next = nc_sqlite_next,
    .col_int = nc_sqlite_col_int,
    .col_text = nc_sqlite_col_text,
    .col_is_null = nc_sqlite_col_is_null,
    .changes = nc_sqlite_changes,
    .rows_free = nc_sqlite_rows_free,
    .data_version = nc_sqlite_data_version,
};
