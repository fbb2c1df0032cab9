/* test_market.c: the market's pure parts: uniform-price clearing, the
 * contract state machine, prices, IBANs, URLs. */
#include "market/auction.h"
#include "market/contracts.h"
#include "market/events.h"
#include "market/market_priv.h"
#include "market/market_store.h"
#include "market/market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#define EUR(x) ((int64_t)llround((x) * 1000000.0))

static void
test_auction_uniform_price(void)
{
    /* two slots, three one-unit bids: the two highest win, both pay the
     * highest losing bid */
    NcAuctionOffer offers[] = { { .reserve = EUR(0.01), .slots = 2 } };
    NcAuctionBid bids[] = {
        { .offer = 0, .units = 1, .max_price = EUR(0.05), .rank = 1 },
        { .offer = 0, .units = 1, .max_price = EUR(0.02), .rank = 2 },
        { .offer = 0, .units = 1, .max_price = EUR(0.03), .rank = 3 },
    };
    NcAuctionResult res[1];
    bool won[3];
    g_assert_cmpint(nc_auction_clear(offers, 1, bids, 3, res, won, NULL), ==, 0);
    g_assert_true(won[0] && !won[1] && won[2]);
    g_assert_cmpint(res[0].price, ==, EUR(0.02));
    g_assert_cmpint(res[0].filled, ==, 2);
    g_assert_cmpint(res[0].winners, ==, 2);
    g_assert_cmpint(res[0].eligible, ==, 3);
}

static void
test_auction_reserve(void)
{
    /* room left: the price is the reserve; a bid below it never wins nor
     * sets the price */
    NcAuctionOffer offers[] = { { .reserve = EUR(0.10), .slots = 3 } };
    NcAuctionBid bids[] = {
        { .offer = 0, .units = 1, .max_price = EUR(0.50), .rank = 1 },
        { .offer = 0, .units = 1, .max_price = EUR(0.09), .rank = 2 },
    };
    NcAuctionResult res[1];
    bool won[2];
    g_assert_cmpint(nc_auction_clear(offers, 1, bids, 2, res, won, NULL), ==, 0);
    g_assert_true(won[0] && !won[1]);
    g_assert_cmpint(res[0].price, ==, EUR(0.10));
    g_assert_cmpint(res[0].eligible, ==, 1);
}

static void
test_auction_big_bid_and_ties(void)
{
    /* a 3-unit bid that does not fit loses; a cheaper small one still wins,
     * and the price stays at or below every winner's maximum */
    NcAuctionOffer offers[] = { { .reserve = EUR(0.01), .slots = 2 } };
    NcAuctionBid bids[] = {
        { .offer = 0, .units = 1, .max_price = EUR(0.08), .rank = 1 },
        { .offer = 0, .units = 3, .max_price = EUR(0.07), .rank = 2 },
        { .offer = 0, .units = 1, .max_price = EUR(0.03), .rank = 3 },
    };
    NcAuctionResult res[1];
    bool won[3];
    g_assert_cmpint(nc_auction_clear(offers, 1, bids, 3, res, won, NULL), ==, 0);
    g_assert_true(won[0] && !won[1] && won[2]);
    g_assert_cmpint(res[0].price, ==, EUR(0.03));

    /* equal prices: the lower rank (the slot holder, then the older bid) wins */
    NcAuctionOffer one[] = { { .reserve = 0, .slots = 1 } };
    NcAuctionBid tie[] = {
        { .offer = 0, .units = 1, .max_price = EUR(0.05), .rank = 9 },
        { .offer = 0, .units = 1, .max_price = EUR(0.05), .rank = 4 },
    };
    g_assert_cmpint(nc_auction_clear(one, 1, tie, 2, res, won, NULL), ==, 0);
    g_assert_true(!won[0] && won[1]);
    g_assert_cmpint(res[0].price, ==, EUR(0.05));
}

static void
test_auction_bad_input(void)
{
    NcAuctionOffer offers[] = { { .reserve = 1, .slots = 1 } };
    NcAuctionBid missing[] = { { .offer = 7, .units = 1, .max_price = 5 } };
    NcAuctionBid zero[] = { { .offer = 0, .units = 0, .max_price = 5 } };
    NcAuctionOffer negative[] = { { .reserve = -1, .slots = 1 } };
    NcAuctionBid ok[] = { { .offer = 0, .units = 1, .max_price = 5 } };
    NcAuctionResult res[1];
    bool won[1];
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_auction_clear(offers, 1, missing, 1, res, won, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&err);
    g_assert_cmpint(nc_auction_clear(offers, 1, zero, 1, res, won, &err), ==, -1);
    g_clear_error(&err);
    g_assert_cmpint(nc_auction_clear(negative, 1, ok, 1, res, won, &err), ==, -1);
}

static void
test_contract_machine(void)
{
    g_assert_true(nc_contract_transition_allowed(NC_CONTRACT_REQUESTED, NC_CONTRACT_AGREED));
    g_assert_true(nc_contract_transition_allowed(NC_CONTRACT_AGREED, NC_CONTRACT_ACTIVE));
    g_assert_true(nc_contract_transition_allowed(NC_CONTRACT_ACTIVE, NC_CONTRACT_NOTICE));
    g_assert_true(nc_contract_transition_allowed(NC_CONTRACT_NOTICE, NC_CONTRACT_ACTIVE));
    g_assert_true(nc_contract_transition_allowed(NC_CONTRACT_NOTICE, NC_CONTRACT_ENDED));
    g_assert_false(nc_contract_transition_allowed(NC_CONTRACT_REQUESTED, NC_CONTRACT_ACTIVE));
    g_assert_false(nc_contract_transition_allowed(NC_CONTRACT_ENDED, NC_CONTRACT_ACTIVE));
    g_assert_false(nc_contract_transition_allowed(NC_CONTRACT_ENDED, NC_CONTRACT_REQUESTED));
    for (int s = 0; s < NC_CONTRACT_STATE_MAX; s++)
        g_assert_cmpint(nc_contract_state_from_name(nc_contract_state_name(s)), ==, s);
    g_assert_cmpint(nc_contract_state_from_name("gold"), ==, NC_CONTRACT_STATE_MAX);
    /* spot pays the clearing price, never above its own bid */
    g_assert_cmpint(nc_contract_effective_price("spot", 30, 50), ==, 30);
    g_assert_cmpint(nc_contract_effective_price("spot", 80, 50), ==, 50);
}

static void
test_prices(void)
{
    struct { const char *json; bool ok; int64_t micros; } cases[] = {
        { "0.05", true, 50000 }, { "\"0.000001\"", true, 1 }, { "10000", true, EUR(10000) },
        { "-1", false, 0 }, { "1e12", false, 0 }, { "\"NaN\"", false, 0 },
        { "\"0.0000001\"", false, 0 }, { "\"abc\"", false, 0 }, { "true", false, 0 },
        { "\"1; DROP TABLE x\"", false, 0 }, { "0", false, 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        json_error_t jerr;
        g_autoptr(json_t) v = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
        g_assert_nonnull(v);
        int64_t micros = -7;
        g_autoptr(GError) err = NULL;
        int rc = nc_market_price_parse("price", v, false, &micros, &err);
        g_assert_cmpint(rc, ==, cases[i].ok ? 0 : -1);
        if (cases[i].ok)
            g_assert_cmpint(micros, ==, cases[i].micros);
        else
            g_assert_true(micros == -7 && err && strstr(err->message, "price"));
    }
    /* per second, rounded half up; no overflow */
    g_assert_cmpint(nc_market_cost(EUR(3.6), 1, 1), ==, 1000);
    g_assert_cmpint(nc_market_cost(EUR(1), 2, 3600), ==, EUR(2));
    g_assert_cmpint(nc_market_cost(INT64_MAX / 2, 16, INT64_MAX / 2), >, 0);
}

static void
test_iban_and_url(void)
{
    g_autofree char *a = nc_market_iban_normalize("DE89 3704 0044 0532 0130 00", NULL);
    g_assert_cmpstr(a, ==, "DE89370400440532013000");
    g_autofree char *masked = nc_market_iban_mask(a);
    g_assert_null(strstr(masked, "370400440532"));
    g_autofree char *b = nc_market_iban_normalize("gb82 west 1234 5698 7654 32", NULL);
    g_assert_cmpstr(b, ==, "GB82WEST12345698765432");
    const char *bad[] = { "DE89 3704 0044 0532 0130 01", "DE89", "XX00 1234", "DE89<script>",
                          "" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *x = nc_market_iban_normalize(bad[i], &err);
        g_assert_null(x);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    }
    g_autofree char *u = nc_market_url_normalize("http://127.0.0.1:7400/", NULL);
    g_assert_cmpstr(u, ==, "http://127.0.0.1:7400");
    const char *bad_urls[] = { "file:///etc/passwd", "http://user:pw@host:1", "http://h:1/x",
                               "http://h:1?q", "http://h:99999", "http://a b:1",
                               "http://127.0.0.1:1/x;rm -rf /", "gopher://h:1" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_urls); i++) {
        g_autofree char *x = nc_market_url_normalize(bad_urls[i], NULL);
        g_assert_null(x);
    }
}

/* ---- a whole clearing round against a real store ---- */

#define ROUND_OFFERS 151    /* more than two of the round's write batches */

static int64_t
count(NcStore *st, const char *sql)
{
    g_autoptr(NcRows) r = nc_store_query(st, NULL, sql, NC_END);
    g_assert_nonnull(r);
    g_assert_true(nc_rows_next(r, NULL));
    return nc_rows_int(r, 0);
}

static void
exec_ok(NcStore *st, const char *sql)
{
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_store_exec(st, &err, sql, NC_END), >=, 0);
    g_assert_no_error(err);
}

static void
test_clear_round_store(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("nc-market-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *db = g_build_filename(dir, "market.db", NULL);
    NcMarket m = { 0 };
    m.cfg.notice_ms = 120000;
    m.store = nc_market_store_open(db, &err);
    g_assert_no_error(err);
    m.events = nc_market_events_new(64);

    exec_ok(m.store, "INSERT INTO users (id, email, name, password, created_at, company)"
            " VALUES ('p', 'p@x', 'p', 'x', 1, 'P'), ('c', 'c@x', 'c', 'x', 1, NULL)");
    exec_ok(m.store, "INSERT INTO backends (id, provider, name, url, token_sealed, state,"
            " state_since, created_at) VALUES ('b', 'p', 'b', 'http://h:1', 'x', 'up', 1, 1)");
    /* offer k: one slot, reserve 0.01; two bids, 0.05 (older) and 0.03 */
    for (int k = 0; k < ROUND_OFFERS; k++) {
        g_autofree char *id = g_strdup_printf("o%03d", k);
        g_autofree char *c1 = g_strdup_printf("c%03da", k);
        g_autofree char *c2 = g_strdup_printf("c%03db", k);
        g_assert_cmpint(nc_store_exec(m.store, &err,
                                      "INSERT INTO offers (id, provider, backend, kind, name,"
                                      " vcpus, memory_mib, slots, reserve, pricing, auto_accept,"
                                      " availability_promise, state, price, created_at,"
                                      " updated_at) VALUES ($1, 'p', 'b', 'compute', $1, 1, 128,"
                                      " 1, $2, 'spot', 1, 990, 'active', $2, 1, 1)",
                                      NC_TEXT(id), NC_INT(EUR(0.01)), NC_END), ==, 1);
        g_assert_cmpint(nc_store_exec(m.store, &err,
                                      "INSERT INTO contracts (id, offer, consumer, provider,"
                                      " state, max_price, units, created_at, updated_at) VALUES"
                                      " ($1, $3, 'c', 'p', 'agreed', $4, 1, $5, $5),"
                                      " ($2, $3, 'c', 'p', 'agreed', $6, 1, $7, $7)",
                                      NC_TEXT(c1), NC_TEXT(c2), NC_TEXT(id), NC_INT(EUR(0.05)),
                                      NC_INT(10 + 2 * k), NC_INT(EUR(0.03)), NC_INT(11 + 2 * k),
                                      NC_END), ==, 2);
    }
    /* a fixed offer with room for both of its bids, and a withdrawn one */
    exec_ok(m.store, "INSERT INTO offers (id, provider, backend, kind, name, vcpus, memory_mib,"
            " slots, reserve, pricing, auto_accept, availability_promise, state, price,"
            " created_at, updated_at) VALUES"
            " ('fixed', 'p', 'b', 'compute', 'f', 1, 128, 3, 20000, 'fixed', 1, 990, 'active',"
            "  20000, 1, 1),"
            " ('gone', 'p', 'b', 'compute', 'g', 1, 128, 3, 20000, 'spot', 1, 990, 'withdrawn',"
            "  20000, 1, 1)");
    exec_ok(m.store, "INSERT INTO contracts (id, offer, consumer, provider, state, max_price,"
            " units, created_at, updated_at) VALUES"
            " ('f1', 'fixed', 'c', 'p', 'agreed', 20000, 1, 5000, 5000),"
            " ('f2', 'fixed', 'c', 'p', 'agreed', 30000, 2, 5001, 5001),"
            " ('g1', 'gone', 'c', 'p', 'agreed', 90000, 1, 5002, 5002)");

    /* round 1: in each spot offer the older, higher bid wins at the losing 0.03 */
    g_assert_cmpint(nc_market_clear_round(&m, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE state = 'active'"
                          " AND id LIKE 'c%a' AND price = 30000"), ==, ROUND_OFFERS);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE state = 'agreed'"
                          " AND id LIKE 'c%b' AND price IS NULL"), ==, ROUND_OFFERS);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM offers WHERE pricing = 'spot'"
                          " AND state = 'active' AND price = 30000"), ==, ROUND_OFFERS);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM price_history WHERE price = 30000"
                          " AND bids = 2 AND winners = 1 AND filled = 1 AND slots = 1"
                          " AND backend_up = 1 AND offer LIKE 'o%'"), ==, ROUND_OFFERS);
    /* every active offer cleared at one time, with one point; the withdrawn not */
    g_assert_cmpint(count(m.store, "SELECT COUNT(DISTINCT offer) FROM price_history"), ==,
                    ROUND_OFFERS + 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM price_history"), ==, ROUND_OFFERS + 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM offers WHERE state = 'active' AND"
                          " cleared_at = (SELECT MAX(time) FROM price_history)"), ==,
                    ROUND_OFFERS + 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM offers WHERE id = 'gone' AND"
                          " cleared_at IS NULL"), ==, 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE id = 'g1' AND"
                          " state = 'agreed'"), ==, 1);
    /* the fixed offer: both in at its price, three slots filled by two winners */
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE id IN ('f1', 'f2')"
                          " AND state = 'active' AND price = 20000"), ==, 2);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM price_history WHERE offer = 'fixed'"
                          " AND price = 20000 AND bids = 2 AND winners = 2 AND filled = 3"),
                    ==, 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM allocations"), ==, ROUND_OFFERS + 2);

    /* round 2: offer 7's loser raises to 0.09: its holder is outbid (notice),
     * and the price is the holder's 0.05, the highest losing bid */
    exec_ok(m.store, "UPDATE contracts SET max_price = 90000 WHERE id = 'c007b'");
    g_usleep(2000);
    g_assert_cmpint(nc_market_clear_round(&m, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE id = 'c007a' AND"
                          " state = 'notice' AND notice_reason = 'outbid' AND price = 50000"),
                    ==, 1);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE id = 'c007b' AND"
                          " state = 'agreed'"), ==, 1);
    g_assert_cmpint(count(m.store, "SELECT price FROM offers WHERE id = 'o007'"), ==,
                    EUR(0.05));
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM price_history"), ==,
                    2 * (ROUND_OFFERS + 1));
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM offers WHERE state = 'active' AND"
                          " cleared_at = (SELECT MAX(time) FROM price_history)"), ==,
                    ROUND_OFFERS + 1);

    /* round 3: the rival drops to 0.02; the holder wins its slot back */
    exec_ok(m.store, "UPDATE contracts SET max_price = 20000 WHERE id = 'c007b'");
    g_assert_cmpint(nc_market_clear_round(&m, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contracts WHERE id = 'c007a' AND"
                          " state = 'active' AND notice_reason IS NULL"), ==, 1);
    g_assert_cmpint(count(m.store, "SELECT price FROM offers WHERE id = 'o007'"), ==,
                    EUR(0.02));
    g_assert_cmpint(count(m.store, "SELECT price FROM contracts WHERE id = 'c007a'"), ==,
                    EUR(0.02));
    g_assert_cmpint(count(m.store, "SELECT COUNT(*) FROM contract_log WHERE contract = 'c007a'"),
                    ==, 3);

    nc_market_events_free(m.events);
    nc_store_close(m.store);
    g_autofree char *wal = g_strconcat(db, "-wal", NULL);
    g_autofree char *shm = g_strconcat(db, "-shm", NULL);
    g_unlink(wal);
    g_unlink(shm);
    g_unlink(db);
    g_rmdir(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/market/auction/uniform-price", test_auction_uniform_price);
    g_test_add_func("/market/auction/reserve", test_auction_reserve);
    g_test_add_func("/market/auction/big-bid-and-ties", test_auction_big_bid_and_ties);
    g_test_add_func("/market/auction/bad-input", test_auction_bad_input);
    g_test_add_func("/market/contract/machine", test_contract_machine);
    g_test_add_func("/market/valid/prices", test_prices);
    g_test_add_func("/market/valid/iban-and-url", test_iban_and_url);
    g_test_add_func("/market/clearing/round-with-store", test_clear_round_store);
    return g_test_run();
}
