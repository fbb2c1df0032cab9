/* market_clearing.c: how long uniform-price clearing takes.
 *
 *   build/bench/bench_market_clearing [BIDS] [OFFERS] [ROUNDS]
 *
 * Random offers (1-64 slots, reserves 0.01-0.10 per slot-hour) and random
 * bids (mostly one unit, some up to 4; prices around the reserve), cleared
 * ROUNDS times by nc_auction_clear() and, in the same run, by a naive
 * baseline: for each offer, scan every bid for that offer's, sort them,
 * walk them (what one writes first: O(offers x bids)).  Both must agree on
 * every price, fill and winner.  Prints the medians and worst rounds in
 * milliseconds and one JSON line for bench/results.  The default is the
 * issue's target: 100,000 bids over 1,000 offers in under 100 ms.
 */
#include "market/auction.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const NcAuctionBid *naive_bids;

static int
naive_cmp(const void *a, const void *b)
{
    const NcAuctionBid *x = &naive_bids[*(const uint32_t *)a];
    const NcAuctionBid *y = &naive_bids[*(const uint32_t *)b];
    if (x->max_price != y->max_price)
        return x->max_price > y->max_price ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a <
                                                             *(const uint32_t *)b);
}

/* The baseline: the same rule as auction.h, offer by offer over all bids. */
static void
naive_clear(const NcAuctionOffer *offers, size_t noffers, const NcAuctionBid *bids,
            size_t nbids, NcAuctionResult *results, bool *won)
{
    uint32_t *mine = g_new(uint32_t, nbids);
    naive_bids = bids;
    for (size_t o = 0; o < noffers; o++) {
        size_t n = 0;
        for (size_t i = 0; i < nbids; i++)
            if (bids[i].offer == o)
                mine[n++] = (uint32_t)i;
        qsort(mine, n, sizeof(uint32_t), naive_cmp);
        NcAuctionResult *r = &results[o];
        int64_t left = offers[o].slots, highest_loser = -1, lowest_winner = -1;
        *r = (NcAuctionResult){ .price = offers[o].reserve };
        for (size_t k = 0; k < n; k++) {
            const NcAuctionBid *b = &bids[mine[k]];
            won[mine[k]] = false;
            if (b->max_price < offers[o].reserve)
                continue;
            r->eligible++;
            if (b->units <= left) {
                left -= b->units;
                r->filled += b->units;
                r->winners++;
                lowest_winner = b->max_price;
                won[mine[k]] = true;
            } else if (highest_loser < 0) {
                highest_loser = b->max_price;
            }
        }
        if (highest_loser >= 0) {
            int64_t p = lowest_winner >= 0 ? MIN(highest_loser, lowest_winner) : highest_loser;
            r->price = MAX(p, offers[o].reserve);
        }
    }
    g_free(mine);
}

int
main(int argc, char **argv)
{
    size_t nbids = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t noffers = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    int rounds = argc > 3 ? atoi(argv[3]) : 21;
    if (!nbids || !noffers || rounds < 1) {
        fprintf(stderr, "usage: %s [BIDS] [OFFERS] [ROUNDS]\n", argv[0]);
        return 2;
    }
    GRand *rnd = g_rand_new_with_seed(42);
    NcAuctionOffer *offers = g_new(NcAuctionOffer, noffers);
    NcAuctionBid *bids = g_new(NcAuctionBid, nbids);
    NcAuctionResult *results = g_new(NcAuctionResult, noffers);
    bool *won = g_new(bool, nbids);
    for (size_t i = 0; i < noffers; i++)
        offers[i] = (NcAuctionOffer){ .reserve = g_rand_int_range(rnd, 10000, 100000),
                                      .slots = g_rand_int_range(rnd, 1, 65) };
    for (size_t i = 0; i < nbids; i++) {
        uint32_t o = (uint32_t)g_rand_int_range(rnd, 0, (gint32)noffers);
        bids[i] = (NcAuctionBid){
            .offer = o,
            .units = g_rand_int_range(rnd, 0, 10) == 0 ? g_rand_int_range(rnd, 2, 5) : 1,
            .max_price = offers[o].reserve / 2 + g_rand_int_range(rnd, 0, 200000),
            .rank = (int64_t)i,
        };
    }
    double *ms = g_new(double, rounds);
    double *base_ms = g_new(double, rounds);
    NcAuctionResult *base_results = g_new(NcAuctionResult, noffers);
    bool *base_won = g_new(bool, nbids);
    int64_t filled = 0;
    /* alternate the two so that neither gets a warmer machine */
    for (int r = 0; r < rounds; r++) {
        gint64 t0 = g_get_monotonic_time();
        if (nc_auction_clear(offers, noffers, bids, nbids, results, won, NULL) < 0) {
            fprintf(stderr, "clearing failed\n");
            return 1;
        }
        ms[r] = (double)(g_get_monotonic_time() - t0) / 1000.0;
        t0 = g_get_monotonic_time();
        naive_clear(offers, noffers, bids, nbids, base_results, base_won);
        base_ms[r] = (double)(g_get_monotonic_time() - t0) / 1000.0;
        filled = 0;
        for (size_t i = 0; i < noffers; i++) {
            filled += results[i].filled;
            if (memcmp(&results[i], &base_results[i], sizeof(NcAuctionResult)) != 0) {
                fprintf(stderr, "offer %zu: the clearing and the baseline disagree\n", i);
                return 1;
            }
        }
        if (memcmp(won, base_won, nbids * sizeof(bool)) != 0) {
            fprintf(stderr, "the clearing and the baseline pick different winners\n");
            return 1;
        }
    }
    qsort(ms, (size_t)rounds, sizeof(double), cmp_double);
    qsort(base_ms, (size_t)rounds, sizeof(double), cmp_double);
    printf("clearing %zu bids over %zu offers, %d rounds (%" G_GINT64_FORMAT " slots filled):\n"
           "  nc_auction_clear  median %8.2f ms  worst %8.2f ms\n"
           "  naive baseline    median %8.2f ms  worst %8.2f ms  (%.0fx slower)\n",
           nbids, noffers, rounds, filled, ms[rounds / 2], ms[rounds - 1], base_ms[rounds / 2],
           base_ms[rounds - 1], base_ms[rounds / 2] / MAX(ms[rounds / 2], 1e-6));
    printf("{\"bench\": \"market_clearing\", \"bids\": %zu, \"offers\": %zu, \"rounds\": %d, "
           "\"median_ms\": %.3f, \"worst_ms\": %.3f, \"baseline_median_ms\": %.3f, "
           "\"baseline_worst_ms\": %.3f, \"target_ms\": 100}\n", nbids, noffers, rounds,
           ms[rounds / 2], ms[rounds - 1], base_ms[rounds / 2], base_ms[rounds - 1]);
    g_free(base_won);
    g_free(base_results);
    g_free(base_ms);
    g_free(ms);
    g_free(won);
    g_free(results);
    g_free(bids);
    g_free(offers);
    g_rand_free(rnd);
    return 0;
}
