/* store_postgres.c: the PostgreSQL store driver (libpq, one connection).
 *
 * The portable "$N" placeholders are PostgreSQL's own.  Arguments travel as
 * text with no declared type, so the server infers each parameter's type
 * from where it is used; SQL that uses a parameter where nothing says its
 * type (only in "IS NULL", only against a literal) casts it.  Statements are
 * prepared once per connection and cached by their SQL text; a statement's
 * whole result is fetched at once, so a cursor never holds the connection.
 *
 * Writers serialise the way SQLite's BEGIN IMMEDIATE makes them: every
 * transaction starts by taking one transaction-scoped advisory lock, so
 * transactions of all nestcloud processes on the database run one at a
 * time, while reads outside transactions never wait.  The isolation level
 * stays READ COMMITTED: inside the lock nothing else transactional can
 * interleave, and a statement outside a transaction is atomic on its own;
 * the capacity claim is a single conditional UPDATE, which PostgreSQL
 * re-checks against the newest row version after waiting on a concurrent
 * writer, so it cannot overcommit however many connections race.
 *
 * A lost connection fails the call (NC_ERR_UNAVAILABLE) and is re-opened
 * with PQreset() on the next call; a transaction that was open when it broke
 * is gone, so its remaining statements fail until its rollback.
 *
 * The data version (see nc_store_data_version()) counts notifications on
 * one channel: every connection LISTENs on it and NOTIFYs it when it
 * commits a change, in the same round trip as the COMMIT, or right after a
 * change made outside a transaction.  Reading it costs no round trip, so the
 * embedded queue can wait on other processes' writes without polling.
 */
#include "nc_config.h"
#include "store_priv.h"
#include "util/nc_error.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <string.h>

/* Beyond this many distinct SQL texts a connection stops preparing new
 * ones and runs them unnamed: SQL built at run time cannot grow the cache
 * (and the server's memory) without bound. */
#define NC_PG_MAX_PREPARED 1024
/* OID of the boolean type (pg_type.h is server-side only) */
#define NC_PG_BOOLOID 16

/* The writers' lock: pg_advisory_xact_lock(classid, objid) with class 'NC'
 * (0x4e43) and object 1, the store.  Released by COMMIT or ROLLBACK. */
static const char nc_pg_begin_sql[] =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(20035, 1)";
#define NC_PG_CHANNEL "nc_store_changed"

typedef struct {
    PGconn *conn;
    GHashTable *prepared;   /* SQL text -> statement name */
    unsigned next_name;
    bool in_txn;            /* between begin_sql and COMMIT/ROLLBACK */
    bool txn_wrote;         /* the open transaction changed rows */
    bool broken;            /* the connection failed; reset before the next call */
    int64_t version;        /* other connections' notified commits */
} NcPostgres;

typedef struct {
    NcRows hdr;
    PGresult *res;
    int row;                /* the current row; -1 before the first */
    int nrows;
    int64_t changes;
} NcPgRows;

static void
nc_pg_notice_ignore(void *arg, const char *message)
{
    /* "relation already exists, skipping" and friends: a library layer
     * never logs */
}

/* @msg on one line: libpq ends its messages with a newline and puts hints
 * on indented lines of their own. */
static char *
nc_pg_one_line(const char *msg)
{
    g_auto(GStrv) lines = g_strsplit_set(msg && *msg ? msg : "unknown error", "\n", -1);
    for (char **l = lines; *l; l++)
        g_strstrip(*l);
    g_autofree char *joined = g_strjoinv(" ", lines);
    return g_strstrip(g_steal_pointer(&joined));
}

/* The server's message for @res, else the connection's last error. */
static char *
nc_pg_message(NcPostgres *pg, const PGresult *res)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(pg->conn);
    return nc_pg_one_line(msg);
}

/* Records the failure of a statement (@res may be NULL) and notes a lost
 * connection so that the next call re-opens it. */
static void
nc_pg_error(NcPostgres *pg, const PGresult *res, const char *what, GError **err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    g_autofree char *msg = nc_pg_message(pg, res);

    if (PQstatus(pg->conn) != CONNECTION_OK || !res || (state && g_str_has_prefix(state, "08")) ||
        g_strcmp0(state, "57P01") == 0 || g_strcmp0(state, "57P02") == 0 ||
        g_strcmp0(state, "57P03") == 0) {
        /* connection exception, or the server is shutting down */
        pg->broken = true;
        nc_error_set(err, NC_ERR_UNAVAILABLE, "store: lost the connection to PostgreSQL: %s",
                     msg);
    } else if (g_strcmp0(state, "23505") == 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "already exists (%s)", msg);
    } else if (g_strcmp0(state, "40001") == 0 || g_strcmp0(state, "40P01") == 0 ||
               g_strcmp0(state, "55P03") == 0) {
        /* serialization failure, deadlock, lock_timeout: retrying works */
        nc_error_set(err, NC_ERR_UNAVAILABLE, "the store is busy; try again (%s)", msg);
    } else {
        nc_error_set(err, NC_ERR_INTERNAL, "store: %s: %s", what, msg);
    }
}

static bool
nc_pg_sql_is(const char *sql, const char *word)
{
    return g_ascii_strcasecmp(sql, word) == 0;
}

/* Subscribes the (new) session to the change notifications. */
static int
nc_pg_listen(NcPostgres *pg, GError **err)
{
    PGresult *res = PQexec(pg->conn, "LISTEN " NC_PG_CHANNEL);
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        nc_pg_error(pg, res, "listen", err);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Makes the connection usable for @sql, re-opening it after a failure.
 * A transaction that was open when the connection broke cannot go on: its
 * statements fail, its ROLLBACK succeeds (the server already dropped it)
 * and its COMMIT fails.  Returns 1 to go on, 0 when @sql is done, -1. */
static int
nc_pg_ready(NcPostgres *pg, const char *sql, GError **err)
{
    if (!pg->broken && PQstatus(pg->conn) == CONNECTION_OK)
        return 1;
    if (pg->in_txn) {
        if (nc_pg_sql_is(sql, "ROLLBACK")) {
            pg->in_txn = false;
            return 0;
        }
        if (nc_pg_sql_is(sql, "COMMIT"))
            pg->in_txn = false;
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "store: the connection to PostgreSQL was lost during the transaction");
        return -1;
    }
    PQreset(pg->conn);
    /* prepared statements lived in the old session; notifications sent
     * while it was away are lost, so readers must look again */
    g_hash_table_remove_all(pg->prepared);
    pg->version++;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        g_autofree char *msg = nc_pg_message(pg, NULL);
        nc_error_set(err, NC_ERR_UNAVAILABLE, "store: cannot reach PostgreSQL: %s", msg);
        return -1;
    }
    pg->broken = false;
    if (nc_pg_listen(pg, err) < 0)
        return -1;
    return 1;
}

static int
nc_pg_open(NcStore *st, const char *target, GError **err)
{
    /* defaults first: the URL, expanded in place of dbname, overrides them */
    const char *const keys[] = {
        "connect_timeout", "fallback_application_name", "client_encoding", "options",
        "dbname", NULL,
    };
    /* lock_timeout plays the part of SQLite's busy timeout */
    const char *const values[] = {
        "10", "nestcloud", "UTF8", "-c lock_timeout=10s", target, NULL,
    };
    PGconn *conn = PQconnectdbParams(keys, values, 1);

    if (!conn) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot connect to PostgreSQL: out of memory");
        return -1;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        g_autofree char *msg = nc_pg_one_line(PQerrorMessage(conn));
        /* the URL may hold a password: name only where it points */
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot connect to PostgreSQL at %s:%s/%s: %s",
                     PQhost(conn) ? PQhost(conn) : "?", PQport(conn) ? PQport(conn) : "?",
                     PQdb(conn) ? PQdb(conn) : "?", msg);
        PQfinish(conn);
        return -1;
    }
    if (PQserverVersion(conn) < 90500) {
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "PostgreSQL %d is too old for the store; 9.5 or newer is needed",
                     PQserverVersion(conn));
        PQfinish(conn);
        return -1;
    }
    PQsetNoticeProcessor(conn, nc_pg_notice_ignore, NULL);

    NcPostgres *pg = g_new0(NcPostgres, 1);
    pg->conn = conn;
    pg->prepared = g_hash_table_new_full(nc__sql_hash, g_str_equal, g_free, g_free);
    st->impl = pg;
    return nc_pg_listen(pg, err);
}

static void
nc_pg_close(NcStore *st)
{
    NcPostgres *pg = st->impl;
    if (!pg)
        return;
    PQfinish(pg->conn);
    g_hash_table_destroy(pg->prepared);
    g_free(pg);
    st->impl = NULL;
}

static int
nc_pg_exec_script(NcStore *st, const char *sql, GError **err)
{
    NcPostgres *pg = st->impl;
    bool begin = strcmp(sql, nc_pg_begin_sql) == 0;
    bool ends = nc_pg_sql_is(sql, "COMMIT") || nc_pg_sql_is(sql, "ROLLBACK");

    int ready = nc_pg_ready(pg, sql, err);
    if (ready <= 0)
        return ready;
    /* tell the other connections, in the COMMIT's round trip; a NOTIFY
     * is delivered only if the transaction commits */
    bool notify = pg->in_txn && pg->txn_wrote && nc_pg_sql_is(sql, "COMMIT");
    PGresult *res = PQexec(pg->conn, notify ? "NOTIFY " NC_PG_CHANNEL "; COMMIT" : sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
        status != PGRES_EMPTY_QUERY) {
        nc_pg_error(pg, res, "exec", err);
        rc = -1;
    } else if (nc_pg_sql_is(sql, "COMMIT") && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        /* COMMIT of a transaction that failed earlier rolls back instead */
        nc_error_set(err, NC_ERR_INTERNAL, "transaction was rolled back");
        rc = -1;
    }
    PQclear(res);
    if (begin) {
        pg->in_txn = rc == 0;
        pg->txn_wrote = false;
        /* BEGIN may have worked while taking the lock failed */
        if (rc < 0 && !pg->broken)
            PQclear(PQexec(pg->conn, "ROLLBACK"));
    } else if (ends) {
        pg->in_txn = false;
    }
    return rc;
}

/* Tells the other connections about a change committed outside a
 * transaction.  The change stands whatever happens here; a failure only
 * costs them a later look, and a broken connection is reset next call. */
static void
nc_pg_notify(NcPostgres *pg)
{
    PGresult *res = PQexec(pg->conn, "NOTIFY " NC_PG_CHANNEL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        if (PQstatus(pg->conn) != CONNECTION_OK)
            pg->broken = true;
    }
    PQclear(res);
}

/* Returns: the name of @sql's prepared statement, preparing it on first
 * use; NULL to run it unnamed (the cache is full) or on failure (*err set). */
static const char *
nc_pg_prepare(NcPostgres *pg, const char *sql, int nargs, bool *ret_failed, GError **err)
{
    const char *name = g_hash_table_lookup(pg->prepared, sql);
    *ret_failed = false;
    if (name || g_hash_table_size(pg->prepared) >= NC_PG_MAX_PREPARED)
        return name;
    g_autofree char *fresh = g_strdup_printf("nc_%u", pg->next_name++);
    PGresult *res = PQprepare(pg->conn, fresh, sql, nargs, NULL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        nc_pg_error(pg, res, "prepare", err);
        PQclear(res);
        *ret_failed = true;
        return NULL;
    }
    PQclear(res);
    name = fresh;
    g_hash_table_insert(pg->prepared, g_strdup(sql), g_steal_pointer(&fresh));
    return name;
}

static NcRows *
nc_pg_query(NcStore *st, const char *sql, const NcVal *args, GError **err)
{
    NcPostgres *pg = st->impl;
    int nargs = 0;

    while (args[nargs].type != NC_VAL_END)
        nargs++;
    int ready = nc_pg_ready(pg, sql, err);
    if (ready < 0)
        return NULL;
    if (ready == 0) {
        /* a ROLLBACK of a transaction the server already dropped */
        NcPgRows *done = g_new0(NcPgRows, 1);
        done->res = PQmakeEmptyPGresult(pg->conn, PGRES_COMMAND_OK);
        done->row = -1;
        return &done->hdr;
    }

    g_autofree const char **values = g_new0(const char *, nargs + 1);
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < nargs; i++) {
        switch (args[i].type) {
        case NC_VAL_INT: {
            char *text = g_strdup_printf("%" PRId64, args[i].i);
            g_ptr_array_add(owned, text);
            values[i] = text;
            break;
        }
        case NC_VAL_TEXT:
            values[i] = args[i].s;
            break;
        case NC_VAL_NULL:
            values[i] = NULL;
            break;
        case NC_VAL_END:
        default:
            g_assert_not_reached();
        }
    }

    bool failed;
    const char *name = nc_pg_prepare(pg, sql, nargs, &failed, err);
    if (failed)
        return NULL;
    PGresult *res = name
        ? PQexecPrepared(pg->conn, name, nargs, values, NULL, NULL, 0)
        : PQexecParams(pg->conn, sql, nargs, NULL, values, NULL, NULL, 0);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        /* "cached plan must not change result type": the table changed
         * under the prepared statement; prepare afresh next time */
        if (name && g_strcmp0(state, "0A000") == 0)
            g_hash_table_remove(pg->prepared, sql);
        nc_pg_error(pg, res, "query", err);
        PQclear(res);
        return NULL;
    }

    NcPgRows *r = g_new0(NcPgRows, 1);
    r->res = res;
    r->row = -1;
    r->nrows = status == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    const char *tuples = PQcmdTuples(res);
    r->changes = *tuples ? g_ascii_strtoll(tuples, NULL, 10) : 0;
    /* like sqlite3_stmt_readonly(): anything but a SELECT may write */
    r->hdr.writes = !g_str_has_prefix(PQcmdStatus(res), "SELECT");
    if (r->hdr.writes && r->changes > 0) {
        if (pg->in_txn)
            pg->txn_wrote = true;
        else
            nc_pg_notify(pg);
    }
    return &r->hdr;
}

static int
nc_pg_next(NcRows *rows, GError **err)
{
    NcPgRows *r = (NcPgRows *)rows;
    if (r->row < r->nrows)
        r->row++;
    return r->row < r->nrows ? 1 : 0;
}

static int64_t
nc_pg_col_int(NcRows *rows, int col)
{
    NcPgRows *r = (NcPgRows *)rows;
    g_assert(r->row >= 0 && r->row < r->nrows);
    const char *v = PQgetvalue(r->res, r->row, col);
    if (PQftype(r->res, col) == NC_PG_BOOLOID)
        return v[0] == 't';
    return g_ascii_strtoll(v, NULL, 10);
}

static const char *
nc_pg_col_text(NcRows *rows, int col)
{
    NcPgRows *r = (NcPgRows *)rows;
    g_assert(r->row >= 0 && r->row < r->nrows);
    return PQgetvalue(r->res, r->row, col);
}

static bool
nc_pg_col_is_null(NcRows *rows, int col)
{
    NcPgRows *r = (NcPgRows *)rows;
    g_assert(r->row >= 0 && r->row < r->nrows);
    return PQgetisnull(r->res, r->row, col);
}

static int64_t
nc_pg_changes(NcRows *rows)
{
    return ((NcPgRows *)rows)->changes;
}

static void
nc_pg_rows_free(NcRows *rows)
{
    NcPgRows *r = (NcPgRows *)rows;
    PQclear(r->res);
    g_free(r);
}

static int64_t
nc_pg_data_version(NcStore *st)
{
    NcPostgres *pg = st->impl;
    if (pg->broken || PQstatus(pg->conn) != CONNECTION_OK)
        return -1;
    /* reads what the socket holds without waiting or sending anything */
    if (!PQconsumeInput(pg->conn)) {
        pg->broken = true;
        return -1;
    }
    int self = PQbackendPID(pg->conn);
    PGnotify *n;
    while ((n = PQnotifies(pg->conn))) {
        if (n->be_pid != self)
            pg->version++;
        PQfreemem(n);
    }
    return pg->version;
}

const NcStoreDriver nc_store_postgres_driver = {
    .name = "postgres",
    .serial_pk = "BIGSERIAL PRIMARY KEY",
    .open = nc_pg_open,
    .close = nc_pg_close,
    .exec_script = nc_pg_exec_script,
    .begin_sql = nc_pg_begin_sql,
    .query = nc_pg_query,
    .next = nc_pg_next,
    .col_int = nc_pg_col_int,
    .col_text = nc_pg_col_text,
    .col_is_null = nc_pg_col_is_null,
    .changes = nc_pg_changes,
    .rows_free = nc_pg_rows_free,
    .data_version = nc_pg_data_version,
};
