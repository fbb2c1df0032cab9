/* test_market.c: the market's pure parts: uniform-price clearing, the
 * contract state machine, prices, IBANs, URLs. */
#include "market/auction.h"
#include "market/contracts.h"
#include "market/market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <glib.h>
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
    return g_test_run();
}
