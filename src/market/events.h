/* events.h: the market's live feed, for Server-Sent Events.
 *
 * A ring of the most recent events in memory.  An event is public (a
 * clearing price, an offer's change) or addressed to at most two users
 * (a contract's consumer and provider); a reader sees the public ones and
 * its own.  Readers block on a condition variable, so a new price reaches
 * every open page within milliseconds.  Nothing here is durable: a page
 * that reconnects after the ring wrapped reloads its data through the API.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdint.h>

typedef struct NcMarketEvents NcMarketEvents;

/* Returns: (transfer full): a feed that keeps the last @capacity events. */
NcMarketEvents *nc_market_events_new(size_t capacity);
void nc_market_events_free(NcMarketEvents *ev);

/**
 * nc_market_events_publish:
 * @type: "price", "contract", "allocation", "offer", "backend"
 * @user_a: (nullable): a user who may see it; NULL with @user_b NULL: public
 * @user_b: (nullable): a second such user
 * @offer: (nullable): the offer it concerns, for readers that filter
 * @data: (transfer full): the event's JSON
 */
void nc_market_events_publish(NcMarketEvents *ev, const char *type, const char *user_a,
                              const char *user_b, const char *offer, json_t *data);

/**
 * nc_market_events_read:
 * @after: the last sequence number the reader has
 * @user: (nullable): the reader, NULL for anonymous
 * @offer: (nullable): only this offer's public events (private ones pass)
 * @timeout_ms: how long to wait when nothing is new
 * @ret_last: the sequence number to pass as @after next time
 *
 * Returns: (transfer full): an array of {"seq", "type", "time", "data"},
 * possibly empty.  A reader that fell behind the ring gets a "resync"
 * event first.
 */
json_t *nc_market_events_read(NcMarketEvents *ev, uint64_t after, const char *user,
                              const char *offer, int timeout_ms, uint64_t *ret_last);

/* Returns: the newest sequence number (0 before the first event). */
uint64_t nc_market_events_last(NcMarketEvents *ev);

/* Wakes every reader and makes reads return at once from now on (shutdown). */
void nc_market_events_close(NcMarketEvents *ev);
