/* store.h: the central node's state, in SQLite or PostgreSQL.
 *
 * Two levels live here.  The lower one is a small SQL interface (query,
 * rows, transactions) served by a swappable driver: NcStoreDriver, one
 * const table per database.  SQL is written once, portably, with $1..$N
 * placeholders.  The upper level (store_*.c, declared in the resource
 * headers) is the only code that writes SQL for a resource.
 *
 * Thread safety: one NcStore is shared by every thread.  A recursive lock is
 * taken by each call and held from nc_store_begin() to commit/rollback and
 * from nc_store_query() until nc_rows_free(), so a transaction sees only its
 * own writes.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct NcStore NcStore;
typedef struct NcRows NcRows;

typedef enum {
    NC_VAL_END = 0,     /* terminates an argument list */
    NC_VAL_NULL,
    NC_VAL_INT,
    NC_VAL_TEXT,
} NcValType;

typedef struct {
    NcValType type;
    int64_t i;
    const char *s;
} NcVal;

#define NC_END ((NcVal){ .type = NC_VAL_END })
#define NC_NULL ((NcVal){ .type = NC_VAL_NULL })
#define NC_INT(x) ((NcVal){ .type = NC_VAL_INT, .i = (int64_t)(x) })
/* A NULL string binds SQL NULL. */
#define NC_TEXT(x) ((NcVal){ .type = (x) ? NC_VAL_TEXT : NC_VAL_NULL, .s = (x) })

/* The driver table: what a database must provide.  Rows are read through
 * the driver's own cursor; the generic layer owns locking, the statement
 * cache lives in the driver. */
typedef struct {
    const char *name;
    /* SQL type of an auto-increment 64-bit primary key */
    const char *serial_pk;
    int (*open)(NcStore *st, const char *target, GError **err);
    void (*close)(NcStore *st);
    /* runs SQL with no arguments and no rows (DDL, BEGIN, COMMIT) */
    int (*exec_script)(NcStore *st, const char *sql, GError **err);
    const char *begin_sql;
    /* runs one statement; returns a cursor (possibly empty) or NULL */
    NcRows *(*query)(NcStore *st, const char *sql, const NcVal *args, GError **err);
    /* advances; 1 = a row, 0 = done, -1 = error */
    int (*next)(NcRows *rows, GError **err);
    int64_t (*col_int)(NcRows *rows, int col);
    const char *(*col_text)(NcRows *rows, int col);
    bool (*col_is_null)(NcRows *rows, int col);
    /* rows changed by the statement of this cursor (after next() == 0) */
    int64_t (*changes)(NcRows *rows);
    void (*rows_free)(NcRows *rows);
    /* see nc_store_data_version(); NULL when unknown */
    int64_t (*data_version)(NcStore *st);
} NcStoreDriver;

extern const NcStoreDriver nc_store_sqlite_driver;
#if NC_WITH_POSTGRES
extern const NcStoreDriver nc_store_postgres_driver;
#endif

/**
 * nc_store_open:
 * @target: "sqlite:PATH", a bare path (SQLite), or "postgresql://..."
 * @err: NC_ERR_INTERNAL / NC_ERR_UNAVAILABLE on failure
 *
 * Opens the store and brings its schema up to date.
 *
 * Returns: (transfer full): the store, or NULL.
 */
NcStore *nc_store_open(const char *target, GError **err);

/* A list of migrations: version N is the first N entries applied in order
 * (see schema.h).  {{SERIAL}} in the SQL becomes the driver's auto-increment
 * key type. */
typedef struct {
    const char *const *versions;
    int count;
} NcSchema;

/* The central node's schema. */
extern const NcSchema nc_schema_central;

/* Opens a store with another component's schema (the market has its own). */
NcStore *nc_store_open_schema(const char *target, const NcSchema *schema, GError **err);
void nc_store_close(NcStore *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcStore, nc_store_close)

/* Returns: the driver's name ("sqlite", "postgres"). */
const char *nc_store_driver_name(NcStore *st);

/**
 * nc_store_begin:
 * @st: the store
 * @err: set on failure
 *
 * Starts a write transaction (nesting is counted, not savepointed: the
 * outermost commit commits).  Holds the store lock until the matching
 * nc_store_commit() or nc_store_rollback().
 *
 * Returns: 0 on success, -1 on failure (the lock is not held then).
 */
int nc_store_begin(NcStore *st, GError **err);
int nc_store_commit(NcStore *st, GError **err);
/* Rolls back the whole transaction, at any depth.  Safe to call after a
 * failed commit. */
void nc_store_rollback(NcStore *st);

/* g_autoptr-style guard: rolls back when a function leaves a transaction
 * without committing. */
typedef struct {
    NcStore *st;
} NcStoreTxn;
void nc_store_txn_end(NcStoreTxn *txn);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NcStoreTxn, nc_store_txn_end)
/* Starts a transaction guarded by @txn.  Returns 0 or -1. */
int nc_store_txn_begin(NcStoreTxn *txn, NcStore *st, GError **err);
/* Commits the guarded transaction.  Returns 0 or -1 (rolled back). */
int nc_store_txn_commit(NcStoreTxn *txn, GError **err);

NcRows *nc__store_query(NcStore *st, const char *sql, const NcVal *args, GError **err);
int64_t nc__store_exec(NcStore *st, const char *sql, const NcVal *args, GError **err);

/**
 * nc_store_query:
 * @st: the store
 * @err: set on failure
 * @sql: one statement with $1..$N placeholders
 * @...: NcVal arguments, ending with NC_END
 *
 * Returns: (transfer full): a cursor to read with nc_rows_next(), freed
 * with nc_rows_free(); NULL on failure.
 */
#define nc_store_query(st, err, sql, ...) \
    nc__store_query((st), (sql), (const NcVal[]){ __VA_ARGS__ }, (err))

/**
 * nc_store_exec:
 * @st, @err, @sql, ...: as nc_store_query()
 *
 * Runs a statement that returns no rows.
 *
 * Returns: the number of rows changed, or -1 on failure.
 */
#define nc_store_exec(st, err, sql, ...) \
    nc__store_exec((st), (sql), (const NcVal[]){ __VA_ARGS__ }, (err))

/* Returns: true with a row, false at the end or on error (then *err set). */
bool nc_rows_next(NcRows *rows, GError **err);
/* nc_rows_next() for the one row a lookup expects: with none, sets
 * NC_ERR_NOT_FOUND with the message @fmt.  Returns: true with the row. */
bool nc_rows_first(NcRows *rows, GError **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* For @n rows counted or changed (nc_store_exec(), a COUNT): -1 as it is,
 * 0 as NC_ERR_NOT_FOUND with the message @fmt.  Returns: 0 with a row. */
int nc_store_found(int64_t n, GError **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
int64_t nc_rows_int(NcRows *rows, int col);
/* The text stays valid until the next nc_rows_next(); NULL for SQL NULL. */
const char *nc_rows_text(NcRows *rows, int col);
/* A copy of the text (caller frees); NULL for SQL NULL. */
char *nc_rows_dup(NcRows *rows, int col);
bool nc_rows_is_null(NcRows *rows, int col);
void nc_rows_free(NcRows *rows);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcRows, nc_rows_free)

/**
 * nc_store_set_urgent:
 *
 * Marks the calling thread (@on) as one that drains a queue others fill,
 * like the central node's relay and engine: when it waits for a store,
 * threads that do not hold it yet wait until it has had its turn.
 * Without it, eight API threads that take the store again and again can
 * keep the relay waiting for hundreds of milliseconds while the outbox
 * grows.
 */
void nc_store_set_urgent(bool on);

/**
 * nc_store_generation:
 *
 * Returns: a number that grows with every committed change, so that readers
 * can cache what they derived from the store.
 */
uint64_t nc_store_generation(NcStore *st);

/**
 * nc_store_data_version:
 *
 * Returns: a number that changes when another connection (another process)
 * commits to the store, or -1 when the driver cannot tell.  Cheap: for
 * polling without taking locks.
 */
int64_t nc_store_data_version(NcStore *st);

/* Meta key/value pairs (cloud id, schema notes).  get returns a copy or
 * NULL when absent. */
char *nc_store_meta_get(NcStore *st, const char *key, GError **err);
int nc_store_meta_set(NcStore *st, const char *key, const char *value, GError **err);
