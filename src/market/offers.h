/* offers.h: what providers sell, the registry buyers search, and the price
 * history.
 *
 * An offer is a resource class on one backend: compute (vCPUs, memory,
 * disk per slot) or storage (GiB per slot), a capacity in slots, a reserve
 * price per slot-hour, and a pricing kind:
 *   spot   cleared every interval at one uniform price (auction.h)
 *   fixed  the reserve is the price; slots go first come, first served,
 *          and a holder is never outbid
 * Every clearing writes a price-history point (kept NC_MARKET_HISTORY_DAYS)
 * with the backend's state and interruption count at that moment.
 *
 * State: active -> withdrawn (nc_market_offer_withdraw: open requests end,
 * running contracts get notice).
 */
#pragma once

#include "market_priv.h"

/* POST /market/v1/offers (providers only, on their own backends). */
json_t *nc_market_offer_create(NcMarket *m, const NcMarketCaller *caller, json_t *body,
                               GError **err);

/* PATCH /market/v1/offers/{id}: name, description, reserve_price, slots,
 * auto_accept, availability_promise. */
json_t *nc_market_offer_update(NcMarket *m, const NcMarketCaller *caller, const char *id,
                               json_t *body, GError **err);

/* DELETE /market/v1/offers/{id}. */
int nc_market_offer_withdraw(NcMarket *m, const NcMarketCaller *caller, const char *id,
                             GError **err);

/* Withdraws without an owner check (a removed backend, an ended upstream). */
int nc_market_offer_withdraw_internal(NcMarket *m, const char *id, const char *reason,
                                      GError **err);

/* Returns: (transfer full): the public JSON of one offer, or NULL with
 * NC_ERR_NOT_FOUND.  @caller (nullable) sees its own withdrawn offers. */
json_t *nc_market_offer_get(NcMarket *m, const NcMarketCaller *caller, const char *id,
                            GError **err);

/* The service page's data: the offer, its provider, its backend's quality,
 * the last hour of prices.  Public. */
json_t *nc_market_offer_page(NcMarket *m, const NcMarketCaller *caller, const char *id,
                             GError **err);

/* A parsed search of the registry (GET /market/v1/offers). */
typedef struct {
    const char *kind;          /* compute | storage */
    const char *pricing;       /* spot | fixed */
    const char *provider;
    const char *backend;
    const char *q;             /* words in the name or description */
    int64_t min_vcpus, min_memory_mib, min_disk_gib, min_storage_gib;
    int64_t max_price;         /* micro-units, -1: any */
    int64_t min_availability;  /* thousandths over 24 h, -1: any */
    int64_t max_depth, depth;  /* -1: any */
    const char *sort;          /* price | availability | launch | newest */
    bool mine;                 /* the caller's offers in every state */
    int64_t limit, offset;
} NcOfferSearch;

json_t *nc_market_offer_search(NcMarket *m, const NcMarketCaller *caller,
                               const NcOfferSearch *s, GError **err);

/* A price-history query, in the manner of EC2's DescribeSpotPriceHistory. */
typedef struct {
    const char *offer;
    const char *kind;
    const char *provider;
    int64_t start_ms, end_ms;  /* 0: open */
    int64_t max_results;
    int64_t next_token;        /* 0: from the newest */
} NcPriceQuery;

/* Returns: {"price_history": [...newest first], "next_token": str|null}. */
json_t *nc_market_price_history(NcMarket *m, const NcPriceQuery *q, GError **err);

/* Deletes history and probes older than their keep times. */
void nc_market_history_prune(NcMarket *m);
