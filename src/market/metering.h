/* metering.h: per-second metering at the price in force, statements,
 * service credits and the reseller's break-even view.
 *
 * A contract's charges are meter segments: [start_s, end_s) at one price
 * per slot-hour for `units` slots.  A segment opens when the allocation
 * exists on the backend; a new one starts the second the price in force
 * or the units change (a clearing, a rescale); the last one closes when the
 * contract ends.  Boundaries are whole seconds and segments of a contract
 * are contiguous, so nothing is lost to rounding between them; each
 * segment's amount is rounded half up to a micro-unit (nc_market_cost).
 *
 * Service credits: for each contract, the backend's measured availability
 * (health probes) while the contract was metered is compared with the
 * offer's promise; below it, a share of the charges is credited:
 * 10 % below the promise, 25 % below 99 %, 50 % below 95 % (of the promise
 * scale), the way public clouds' SLAs are written.
 */
#pragma once

#include "market_priv.h"

/* Opens a segment for @contract at its price in force, unless one is open.
 * Call in or out of a transaction. */
int nc_market_meter_start(NcMarket *m, const char *contract, int64_t now_s, GError **err);

/* Closes the open segment of @contract, if any. */
int nc_market_meter_stop(NcMarket *m, const char *contract, int64_t now_s, GError **err);

/* Starts a new segment when @price or @units differ from the open one. */
int nc_market_meter_reprice(NcMarket *m, const char *contract, int64_t price, int64_t units,
                            int64_t now_s, GError **err);

/* Returns: what @contract cost so far (closed segments plus the open one up
 * to @now_s), in micro-units, or -1. */
int64_t nc_market_meter_total(NcMarket *m, const char *contract, int64_t now_s, GError **err);

/**
 * nc_market_statement:
 * @role: "consumer" (charges) or "provider" (income)
 * @from_ms, @to_ms: the period (0: open)
 *
 * Returns: {"role", "from", "to", "currency", "lines": [per contract:
 * seconds, amount, credit, segments], "total", "credits", "net"}.
 */
json_t *nc_market_statement(NcMarket *m, const NcMarketCaller *caller, const char *role,
                            int64_t from_ms, int64_t to_ms, GError **err);

/* GET /market/v1/backends/{id}/break-even: for a resold backend, the
 * upstream rental's cost per hour against the income of the slices sold
 * on it, with the occupancy at which they balance. */
json_t *nc_market_break_even(NcMarket *m, const NcMarketCaller *caller, const char *backend,
                             GError **err);

/* The service credit share (thousandths of the charges) for a measured
 * availability against a promise, both in thousandths of percent points
 * (99.5 % = 99500).  Pure. */
int64_t nc_market_credit_share(int64_t measured, int64_t promised);
