/* market_store.h: the market's own database (SQLite by default), its
 * schema, and the few helpers every market module uses to read rows.
 *
 * The market keeps no state of a backend's: it owns accounts, providers,
 * backends (with their tokens sealed), offers, contracts, allocations,
 * meter segments and price history.  Each module writes the SQL for its
 * own tables; this file holds the migrations, so that the schema reads in
 * one place.  Times are milliseconds since the epoch unless a column says
 * _s (seconds); money is integer micro-units (market_valid.h).
 */
#pragma once

#include "store/store.h"

#include <jansson.h>

/* The market's migrations (version N = the first N entries). */
extern const NcSchema nc_market_schema;

/**
 * nc_market_store_open:
 * @target: SQLite path (or any nc_store_open() target)
 * @err: set on failure
 *
 * Returns: (transfer full): the store at the market's newest schema.
 */
NcStore *nc_market_store_open(const char *target, GError **err);

/* Returns: (transfer full): an RFC 3339 string for @ms, or JSON null when
 * @ms is 0 or negative (the column's "never"). */
json_t *nc_market_time_json(int64_t ms);

/* Returns: (transfer full): the text of column @col as JSON (null for NULL). */
json_t *nc_market_col_json(NcRows *r, int col);

/**
 * nc_market_count:
 * @st: the store
 * @err: set on failure
 * @sql: "SELECT COUNT(*) ..." with $N placeholders
 * @...: NcVal arguments, ending with NC_END
 *
 * Returns: the first column of the first row, or -1 on failure.
 */
int64_t nc__market_count(NcStore *st, const char *sql, const NcVal *args, GError **err);
#define nc_market_count(st, err, sql, ...) \
    nc__market_count((st), (sql), (const NcVal[]){ __VA_ARGS__ }, (err))
