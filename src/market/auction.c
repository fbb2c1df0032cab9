/* auction.c: uniform-price clearing (see auction.h). */
#include "auction.h"
#include "util/nc_error.h"

#include <stdlib.h>

/* max_price descending, then rank, then input order: a total order, so the
 * result does not depend on qsort's instability. */
static int
nc_auction_cmp(const void *a, const void *b, void *data)
{
    const NcAuctionBid *bids = data;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    const NcAuctionBid *x = &bids[ia], *y = &bids[ib];
    if (x->max_price != y->max_price)
        return x->max_price > y->max_price ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return ia < ib ? -1 : (ia > ib);
}

static int
nc_auction_check(const NcAuctionOffer *offers, size_t noffers, const NcAuctionBid *bids,
                 size_t nbids, GError **err)
{
    if (noffers > UINT32_MAX || nbids > UINT32_MAX) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "too many offers or bids for one clearing");
        return -1;
    }
    for (size_t i = 0; i < noffers; i++) {
        if (offers[i].slots < 0 || offers[i].reserve < 0) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "offer %zu has negative slots or reserve", i);
            return -1;
        }
    }
    for (size_t i = 0; i < nbids; i++) {
        if (bids[i].offer >= noffers || bids[i].units < 1) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "bid %zu names offer %u of %zu or wants %d units", i, bids[i].offer,
                         noffers, bids[i].units);
            return -1;
        }
    }
    return 0;
}

int
nc_auction_clear(const NcAuctionOffer *offers, size_t noffers, const NcAuctionBid *bids,
                 size_t nbids, NcAuctionResult *ret_results, bool *ret_won, GError **err)
{
    if (nc_auction_check(offers, noffers, bids, nbids, err) < 0)
        return -1;

    /* counting sort by offer: start[o] .. start[o+1] holds offer o's bids */
    g_autofree uint32_t *start = g_new0(uint32_t, noffers + 1);
    g_autofree uint32_t *order = g_new(uint32_t, nbids ? nbids : 1);
    for (size_t i = 0; i < nbids; i++)
        start[bids[i].offer + 1]++;
    for (size_t o = 0; o < noffers; o++)
        start[o + 1] += start[o];
    g_autofree uint32_t *fill = g_memdup2(start, (noffers + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < nbids; i++)
        order[fill[bids[i].offer]++] = (uint32_t)i;

    for (size_t o = 0; o < noffers; o++) {
        uint32_t lo = start[o], hi = start[o + 1];
        NcAuctionResult *r = &ret_results[o];
        int64_t left = offers[o].slots;
        int64_t highest_loser = -1, lowest_winner = -1;

        *r = (NcAuctionResult){ .price = offers[o].reserve };
        if (hi - lo > 1)
            qsort_r(order + lo, hi - lo, sizeof(uint32_t), nc_auction_cmp, (void *)bids);
        for (uint32_t k = lo; k < hi; k++) {
            const NcAuctionBid *b = &bids[order[k]];
            bool won = false;
            if (b->max_price >= offers[o].reserve) {
                r->eligible++;
                if (b->units <= left) {
                    left -= b->units;
                    r->filled += b->units;
                    r->winners++;
                    lowest_winner = b->max_price;
                    won = true;
                } else if (highest_loser < 0) {
                    highest_loser = b->max_price;
                }
            }
            ret_won[order[k]] = won;
        }
        if (highest_loser >= 0) {
            int64_t p = lowest_winner >= 0 ? MIN(highest_loser, lowest_winner) : highest_loser;
            r->price = MAX(p, offers[o].reserve);
        }
    }
    return 0;
}
