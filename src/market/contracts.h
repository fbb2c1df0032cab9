/* contracts.h: the contract between a consumer and a provider, and the
 * clearing round that moves contracts through their states.
 *
 * A contract is one consumer's request for `units` slots of one offer at
 * most `max_price` per slot-hour (the bid).  Its states:
 *
 *                 nc_market_contract_request()
 *                              |
 *                              v
 *      +-------------------requested-------------------+
 *      | nc_market_contract_decide(accept),            | nc_market_contract_decide(reject)
 *      | or at once when the offer auto-accepts        | nc_market_contract_end(cancel)
 *      v                                               v
 *    agreed ---------- nc_market_contract_end() ---->ended<----------+
 *      |                 (cancel), offer withdrawn     ^             |
 *      | nc_market_clear_round(): the bid wins and     |             |
 *      | a slot is free (the allocation is created)    |             |
 *      v                                               |             |
 *    active --- nc_market_contract_end() (terminate) --+             |
 *      |  ^     allocation lost or refused by backend                |
 *      |  |                                                          |
 *      |  +--- nc_market_clear_round(): wins again while outbid --+  |
 *      |                                                          |  |
 *      +--- nc_market_clear_round(): outbid;  ------------------> notice
 *           offer withdrawn; upstream in notice                     |
 *                                        nc_market_notices_expire():
 *                                        notice_until passed --------+
 *
 * A contract in `active` or `notice` holds its slots and its allocation,
 * and is metered (metering.h) at the price in force: the offer's clearing
 * price, never above its own max_price.  `notice` lasts the market's notice
 * time (default 120 s); a winner whose slot is still held by a contract in
 * notice waits in `agreed` until the slot frees.  A notice on a contract
 * whose allocation is a resold backend (backends.h) passes down to every
 * contract on that backend, with the same deadline.
 *
 * Every transition goes through one function that asserts it is drawn
 * above, changes the row only if it is still in the expected state, and
 * logs it (contract_log), so the page can show the contract's history.
 */
#pragma once

#include "market_priv.h"

typedef enum {
    NC_CONTRACT_REQUESTED = 0,
    NC_CONTRACT_AGREED,
    NC_CONTRACT_ACTIVE,
    NC_CONTRACT_NOTICE,
    NC_CONTRACT_ENDED,
    NC_CONTRACT_STATE_MAX
} NcContractState;

/* Returns: the state's name ("requested", ...), static. */
const char *nc_contract_state_name(NcContractState s);

/* Returns: the state named @name, or NC_CONTRACT_STATE_MAX. */
NcContractState nc_contract_state_from_name(const char *name);

/* Returns: true when the diagram above has an arrow from @from to @to. */
bool nc_contract_transition_allowed(NcContractState from, NcContractState to);

/* POST /market/v1/contracts {"offer", "max_price", "units"?, "config"?}. */
json_t *nc_market_contract_request(NcMarket *m, const NcMarketCaller *caller, json_t *body,
                                   GError **err);

/* GET /market/v1/contracts?role=consumer|provider&state=...: the caller's. */
json_t *nc_market_contract_list(NcMarket *m, const NcMarketCaller *caller, const char *role,
                                const char *state, int64_t limit, int64_t offset, GError **err);

/* GET /market/v1/contracts/{id}: for its consumer and its provider only. */
json_t *nc_market_contract_get(NcMarket *m, const NcMarketCaller *caller, const char *id,
                               GError **err);

/* POST /market/v1/contracts/{id}/accept|reject: the provider decides a
 * request of an offer that does not auto-accept. */
json_t *nc_market_contract_decide(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                  bool accept, GError **err);

/* PATCH /market/v1/contracts/{id} {"max_price"}: the consumer changes its bid. */
json_t *nc_market_contract_update(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                  json_t *body, GError **err);

/* POST /market/v1/contracts/{id}/end: the consumer cancels or terminates. */
json_t *nc_market_contract_end(NcMarket *m, const NcMarketCaller *caller, const char *id,
                               GError **err);

/* Clears every active offer once (the ticker, every clearing interval). */
int nc_market_clear_round(NcMarket *m, GError **err);

/* Ends contracts whose notice ran out.  Returns how many ended, or -1. */
int nc_market_notices_expire(NcMarket *m, GError **err);

/* Inside a transaction: an offer was withdrawn; requested and agreed
 * contracts end, active ones get notice. */
int nc_market_contracts_offer_gone(NcMarket *m, const char *offer, const char *reason,
                                   GError **err);

/* Inside a transaction: ends a contract for a reason the market found
 * (its allocation failed or vanished).  No owner check. */
int nc_market_contract_end_internal(NcMarket *m, const char *id, const char *reason,
                                    GError **err);

/* Publishes the events queued by this thread's transitions (after the
 * commit), or drops them (after a rollback). */
void nc_market_contracts_flush_events(NcMarket *m);
void nc_market_contracts_drop_events(void);

/* Returns: the price a contract pays: the offer's price for fixed
 * pricing, else min(clearing price, max_price). */
int64_t nc_contract_effective_price(const char *pricing, int64_t clearing, int64_t max_price);
