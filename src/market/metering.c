/* metering.c: meter segments, statements, credits, break-even. */
#include "metering.h"
#include "market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#include <string.h>

int
nc_market_meter_start(NcMarket *m, const char *contract, int64_t now_s, GError **err)
{
    int64_t open = nc_market_count(m->store, err,
                                   "SELECT COUNT(*) FROM meter WHERE contract = $1"
                                   " AND end_s IS NULL", NC_TEXT(contract), NC_END);
    if (open != 0)
        return open < 0 ? -1 : 0;
    return nc_store_exec(m->store, err,
                         "INSERT INTO meter (contract, consumer, provider, offer, start_s, price,"
                         " units) SELECT c.id, c.consumer, c.provider, c.offer, $2,"
                         " COALESCE(c.price, CASE WHEN o.pricing = 'fixed' THEN o.reserve"
                         "  WHEN o.price < c.max_price THEN o.price ELSE c.max_price END),"
                         " c.units FROM contracts c JOIN offers o ON o.id = c.offer"
                         " WHERE c.id = $1 AND c.state IN ('active', 'notice')",
                         NC_TEXT(contract), NC_INT(now_s), NC_END) < 0 ? -1 : 0;
}

/* Reads the open segment; returns 1 with one, 0 without, -1 on error. */
static int
nc_meter_open_segment(NcMarket *m, const char *contract, int64_t *ret_id, int64_t *ret_start,
                      int64_t *ret_price, int64_t *ret_units, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT id, start_s, price, units FROM meter"
                                         " WHERE contract = $1 AND end_s IS NULL",
                                         NC_TEXT(contract), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_next(r, err))
        return *err ? -1 : 0;
    *ret_id = nc_rows_int(r, 0);
    *ret_start = nc_rows_int(r, 1);
    *ret_price = nc_rows_int(r, 2);
    *ret_units = nc_rows_int(r, 3);
    return 1;
}

static int
nc_meter_close(NcMarket *m, int64_t id, int64_t start, int64_t price, int64_t units,
               int64_t now_s, GError **err)
{
    int64_t end = MAX(now_s, start);
    return nc_store_exec(m->store, err, "UPDATE meter SET end_s = $2, amount = $3 WHERE id = $1",
                         NC_INT(id), NC_INT(end),
                         NC_INT(nc_market_cost(price, units, end - start)), NC_END) < 0 ? -1 : 0;
}

int
nc_market_meter_stop(NcMarket *m, const char *contract, int64_t now_s, GError **err)
{
    int64_t id, start, price, units;
    int rc = nc_meter_open_segment(m, contract, &id, &start, &price, &units, err);
    if (rc <= 0)
        return rc;
    return nc_meter_close(m, id, start, price, units, now_s, err);
}

int
nc_market_meter_reprice(NcMarket *m, const char *contract, int64_t price, int64_t units,
                        int64_t now_s, GError **err)
{
    int64_t id, start, old_price, old_units;
    int rc = nc_meter_open_segment(m, contract, &id, &start, &old_price, &old_units, err);
    if (rc <= 0)
        return rc;
    if (old_price == price && old_units == units)
        return 0;
    if (now_s <= start)   /* nothing metered yet at the old terms */
        return nc_store_exec(m->store, err, "UPDATE meter SET price = $2, units = $3 WHERE id = $1",
                             NC_INT(id), NC_INT(price), NC_INT(units), NC_END) < 0 ? -1 : 0;
    if (nc_meter_close(m, id, start, old_price, old_units, now_s, err) < 0)
        return -1;
    return nc_store_exec(m->store, err,
                         "INSERT INTO meter (contract, consumer, provider, offer, start_s, price,"
                         " units) SELECT contract, consumer, provider, offer, $2, $3, $4"
                         " FROM meter WHERE id = $1",
                         NC_INT(id), NC_INT(now_s), NC_INT(price), NC_INT(units), NC_END) < 0
           ? -1 : 0;
}

int64_t
nc_market_meter_total(NcMarket *m, const char *contract, int64_t now_s, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT start_s, end_s, price, units, amount FROM meter"
                                         " WHERE contract = $1", NC_TEXT(contract), NC_END);
    if (!r)
        return -1;
    int64_t total = 0;
    while (nc_rows_next(r, err)) {
        if (nc_rows_is_null(r, 1))
            total += nc_market_cost(nc_rows_int(r, 2), nc_rows_int(r, 3),
                                    now_s - nc_rows_int(r, 0));
        else
            total += nc_rows_int(r, 4);
    }
    return err && *err ? -1 : total;
}

int64_t
nc_market_credit_share(int64_t measured, int64_t promised)
{
    int64_t shortfall = promised - measured;
    if (shortfall <= 0)
        return 0;
    if (shortfall > 5000)
        return 500;
    if (shortfall > 1000)
        return 250;
    return 100;
}

/* Availability (thousandths of a percent) of @backend between two times, or
 * -1 when nothing was measured. */
static int64_t
nc_meter_availability(NcMarket *m, const char *backend, int64_t from_ms, int64_t to_ms)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                         "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM probes"
                                         " WHERE backend = $1 AND time >= $2 AND time <= $3",
                                         NC_TEXT(backend), NC_INT(from_ms), NC_INT(to_ms), NC_END);
    if (!r || !nc_rows_next(r, NULL) || nc_rows_int(r, 0) == 0)
        return -1;
    return nc_rows_int(r, 1) * 100000 / nc_rows_int(r, 0);
}

typedef struct {
    char *contract;
    char *offer_name;
    char *kind;
    char *counterpart;
    char *backend;
    int64_t promise;       /* thousandths of a percent */
    int64_t seconds;
    int64_t amount;
    int64_t segments;
    int64_t first_s, last_s;
} NcStatementLine;

static void
nc_statement_line_free(NcStatementLine *l)
{
    g_free(l->contract);
    g_free(l->offer_name);
    g_free(l->kind);
    g_free(l->counterpart);
    g_free(l->backend);
    g_free(l);
}

json_t *
nc_market_statement(NcMarket *m, const NcMarketCaller *caller, const char *role,
                    int64_t from_ms, int64_t to_ms, GError **err)
{
    bool provider = g_strcmp0(role, "provider") == 0;
    if (role && !provider && strcmp(role, "consumer") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "role must be consumer or provider");
        return NULL;
    }
    int64_t now_s = nc_now_ms() / 1000;
    int64_t from_s = from_ms > 0 ? from_ms / 1000 : 0;
    int64_t to_s = to_ms > 0 ? MIN(to_ms / 1000, now_s) : now_s;
    g_autofree char *sql = g_strdup_printf(
        "SELECT s.contract, s.start_s, s.end_s, s.price, s.units, o.name, o.kind, %s,"
        " o.backend, o.availability_promise FROM meter s JOIN offers o ON o.id = s.offer"
        " JOIN users uc ON uc.id = s.consumer JOIN users up ON up.id = s.provider"
        " WHERE s.%s = $1 AND (s.end_s IS NULL OR s.end_s > $2) AND s.start_s < $3"
        " ORDER BY s.contract, s.start_s",
        provider ? "uc.name" : "up.company", provider ? "provider" : "consumer");
    g_autoptr(GHashTable) by_contract = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(
        (GDestroyNotify)nc_statement_line_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err, sql, NC_TEXT(caller->user_id),
                                             NC_INT(from_s), NC_INT(to_s), NC_END);
        if (!r)
            return NULL;
        while (nc_rows_next(r, err)) {
            const char *cid = nc_rows_text(r, 0);
            NcStatementLine *l = g_hash_table_lookup(by_contract, cid);
            if (!l) {
                l = g_new0(NcStatementLine, 1);
                l->contract = g_strdup(cid);
                l->offer_name = nc_rows_dup(r, 5);
                l->kind = nc_rows_dup(r, 6);
                l->counterpart = nc_rows_dup(r, 7);
                l->backend = nc_rows_dup(r, 8);
                l->promise = nc_rows_int(r, 9) * 100;
                l->first_s = G_MAXINT64;
                g_ptr_array_add(lines, l);
                g_hash_table_insert(by_contract, l->contract, l);
            }
            int64_t s = MAX(nc_rows_int(r, 1), from_s);
            int64_t e = nc_rows_is_null(r, 2) ? to_s : MIN(nc_rows_int(r, 2), to_s);
            if (e <= s)
                continue;
            l->seconds += e - s;
            l->amount += nc_market_cost(nc_rows_int(r, 3), nc_rows_int(r, 4), e - s);
            l->segments++;
            l->first_s = MIN(l->first_s, s);
            l->last_s = MAX(l->last_s, e);
        }
        if (*err)
            return NULL;
    }
    json_t *out = json_array();
    int64_t total = 0, credits = 0;
    for (guint i = 0; i < lines->len; i++) {
        NcStatementLine *l = g_ptr_array_index(lines, i);
        if (!l->segments)
            continue;
        int64_t measured = nc_meter_availability(m, l->backend, l->first_s * 1000,
                                                 l->last_s * 1000);
        int64_t share = measured >= 0 ? nc_market_credit_share(measured, l->promise) : 0;
        int64_t credit = l->amount * share / 1000;
        total += l->amount;
        credits += credit;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:o,"
                                             " s:f, s:o}",
                                             "contract", l->contract, "offer_name", l->offer_name,
                                             "kind", l->kind,
                                             provider ? "consumer" : "provider",
                                             nc_json_string_or_null(l->counterpart),
                                             "seconds", (json_int_t)l->seconds,
                                             "segments", (json_int_t)l->segments,
                                             "amount", nc_market_price_json(l->amount),
                                             "measured_availability",
                                             measured >= 0 ? json_real(measured / 1000.0)
                                                           : json_null(),
                                             "credit", nc_market_price_json(credit),
                                             "availability_promise", l->promise / 1000.0,
                                             "net", nc_market_price_json(l->amount - credit)));
    }
    return json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "role",
                     provider ? "provider" : "consumer",
                     "from", nc_market_time_json(from_s * 1000),
                     "to", nc_market_time_json(to_s * 1000), "currency", NC_MARKET_CURRENCY,
                     "lines", out, "total", nc_market_price_json(total),
                     "credits", nc_market_price_json(credits),
                     "net", nc_market_price_json(total - credits));
}

json_t *
nc_market_break_even(NcMarket *m, const NcMarketCaller *caller, const char *backend, GError **err)
{
    g_autofree char *upstream_contract = NULL;
    int64_t up_price = 0, up_units = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT a.contract, c.price, c.units, c.state FROM"
                                             " backends b LEFT JOIN allocations a ON a.id ="
                                             " b.upstream_allocation LEFT JOIN contracts c ON"
                                             " c.id = a.contract WHERE b.id = $1 AND"
                                             " b.provider = $2",
                                             NC_TEXT(backend), NC_TEXT(caller->user_id), NC_END);
        if (!r)
            return NULL;
        if (!nc_rows_next(r, err)) {
            nc_error_set(err, NC_ERR_NOT_FOUND, "you have no backend %.40s", backend);
            return NULL;
        }
        if (nc_rows_is_null(r, 0)) {
            nc_error_set(err, NC_ERR_UNPROCESSABLE, "this backend is not resold from one of "
                         "your allocations, so it has no rental to break even against");
            return NULL;
        }
        upstream_contract = nc_rows_dup(r, 0);
        bool live = g_strcmp0(nc_rows_text(r, 3), "active") == 0 ||
                    g_strcmp0(nc_rows_text(r, 3), "notice") == 0;
        up_price = live ? nc_rows_int(r, 1) : 0;
        up_units = nc_rows_int(r, 2);
    }
    int64_t now_s = nc_now_ms() / 1000;
    int64_t slots = 0, held = 0, revenue_hour = 0, reserve_sum = 0, offers = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT o.slots, o.reserve, (SELECT COALESCE("
                                             "SUM(c.units), 0) FROM contracts c WHERE c.offer ="
                                             " o.id AND c.state IN ('active', 'notice')),"
                                             " (SELECT COALESCE(SUM(c.units * c.price), 0) FROM"
                                             " contracts c WHERE c.offer = o.id AND c.state IN"
                                             " ('active', 'notice')) FROM offers o WHERE"
                                             " o.backend = $1 AND o.state = 'active'",
                                             NC_TEXT(backend), NC_END);
        if (!r)
            return NULL;
        while (nc_rows_next(r, err)) {
            slots += nc_rows_int(r, 0);
            reserve_sum += nc_rows_int(r, 1);
            held += nc_rows_int(r, 2);
            revenue_hour += nc_rows_int(r, 3);
            offers++;
        }
        if (*err)
            return NULL;
    }
    int64_t revenue_to_date = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT DISTINCT c.id FROM contracts c JOIN offers o"
                                             " ON o.id = c.offer WHERE o.backend = $1",
                                             NC_TEXT(backend), NC_END);
        if (!r)
            return NULL;
        g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
        while (nc_rows_next(r, err))
            g_ptr_array_add(ids, nc_rows_dup(r, 0));
        g_clear_pointer(&r, nc_rows_free);
        for (guint i = 0; i < ids->len; i++)
            revenue_to_date += MAX(nc_market_meter_total(m, g_ptr_array_index(ids, i), now_s,
                                                         NULL), 0);
    }
    int64_t cost_to_date = MAX(nc_market_meter_total(m, upstream_contract, now_s, NULL), 0);
    int64_t cost_hour = up_price * up_units;
    /* what one sold slot brings per hour: today's average, else the reserve */
    int64_t per_slot = held > 0 ? revenue_hour / held : (offers ? reserve_sum / offers : 0);
    json_t *needed = json_null();
    json_t *needed_share = json_null();
    if (per_slot > 0) {
        int64_t n = (cost_hour + per_slot - 1) / per_slot;
        needed = json_integer(n);
        if (slots > 0)
            needed_share = json_real((double)n * 100.0 / (double)slots);
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:b}",
                     "backend", backend, "upstream_contract", upstream_contract,
                     "currency", NC_MARKET_CURRENCY,
                     "rental_cost_per_hour", nc_market_price_json(cost_hour),
                     "revenue_per_hour", nc_market_price_json(revenue_hour),
                     "slots", (json_int_t)slots, "slots_sold", (json_int_t)held,
                     "occupancy_percent", slots ? (double)held * 100.0 / (double)slots : 0.0,
                     "slots_to_break_even", needed,
                     "occupancy_to_break_even_percent", needed_share,
                     "rental_cost_to_date", nc_market_price_json(cost_to_date),
                     "revenue_to_date", nc_market_price_json(revenue_to_date),
                     "balance_to_date", nc_market_price_json(revenue_to_date - cost_to_date),
                     "breaking_even", revenue_hour >= cost_hour);
}
