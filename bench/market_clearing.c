/* market_clearing.c: how long uniform-price clearing takes.
 *
 *   build/src/market/market_clearing_bench [BIDS] [OFFERS] [ROUNDS]
 *
 * Random offers (1-64 slots, reserves 0.01-0.10 per slot-hour) and random
 * bids (mostly one unit, some up to 4; prices around the reserve), cleared
 * ROUNDS times; prints the median and the worst round in milliseconds and
 * one JSON line for bench/results.  The default is the target:
 * 100,000 bids over 1,000 offers in under 100 ms.
 */
#include "market/auction.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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
    int64_t filled = 0;
    for (int r = 0; r < rounds; r++) {
        gint64 t0 = g_get_monotonic_time();
        if (nc_auction_clear(offers, noffers, bids, nbids, results, won, NULL) < 0) {
            fprintf(stderr, "clearing failed\n");
            return 1;
        }
        ms[r] = (double)(g_get_monotonic_time() - t0) / 1000.0;
        filled = 0;
        for (size_t i = 0; i < noffers; i++)
            filled += results[i].filled;
    }
    qsort(ms, (size_t)rounds, sizeof(double), cmp_double);
    printf("clearing %zu bids over %zu offers, %d rounds: median %.2f ms, worst %.2f ms "
           "(%" G_GINT64_FORMAT " slots filled)\n", nbids, noffers, rounds, ms[rounds / 2],
           ms[rounds - 1], filled);
    printf("{\"bench\": \"market_clearing\", \"bids\": %zu, \"offers\": %zu, \"rounds\": %d, "
           "\"median_ms\": %.3f, \"worst_ms\": %.3f, \"target_ms\": 100}\n", nbids, noffers,
           rounds, ms[rounds / 2], ms[rounds - 1]);
    g_free(ms);
    g_free(won);
    g_free(results);
    g_free(bids);
    g_free(offers);
    g_rand_free(rnd);
    return 0;
}
