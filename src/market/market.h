/* market.h: the market (the paper's HVCRB): one web market in front of many
 * nestcloud backends.
 *
 * Users register and log in; any user may become a provider by giving the
 * data every provider must give (company, tax number, IBAN, address).
 * Providers register backends (a nestcloud API URL and a token, kept
 * sealed) and offer compute or storage slots on them.  Consumers ask for
 * contracts with a maximum price; spot offers are cleared at one uniform
 * price every interval (auction.h), contracts follow the state machine of
 * contracts.h, and an active contract's allocation (a VM on the backend)
 * is driven through the market, which never shows the backend's token.
 *
 * One process serves the JSON API under /market/v1, the web UI at /, and
 * Server-Sent Events for live prices and allocation state.  Its state is
 * its own store (market_store.h).
 *
 * Threads: libmicrohttpd's, one ticker (clearing, notices, probes and
 * reconciliation are due on its clock) and a small pool for calls to
 * backends, so that a slow backend never holds up a clearing.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct NcMarket NcMarket;

typedef struct {
    const char *listen;           /* "ADDR:PORT" */
    const char *db;               /* store target (SQLite path) */
    const char *state_dir;        /* market.key lives here */
    const char *web_dir;          /* the UI's files; NULL: the built-in search path */
    int clearing_interval_ms;     /* spot clearing period (default 60 s) */
    int notice_ms;                /* notice before an outbid allocation stops (120 s) */
    int probe_interval_ms;        /* backend health probes (15 s) */
    int sync_interval_ms;         /* allocation state refresh (2 s) */
    int launch_probe_interval_ms; /* timed test launches on idle backends; 0: never */
    int session_ttl_s;            /* login sessions (7 days) */
} NcMarketConfig;

/**
 * nc_market_start:
 * @cfg: configuration (copied); zero fields take their defaults
 * @err: set on failure (store, key file, address in use, missing web files)
 *
 * Opens the store and the key, starts the HTTP server and the ticker.
 *
 * Returns: (transfer full): the running market, or NULL.
 */
NcMarket *nc_market_start(const NcMarketConfig *cfg, GError **err);

/* Stops serving, waits for the ticker and the backend calls, frees.
 * Accepts NULL. */
void nc_market_stop(NcMarket *m);

/* Returns: the port actually bound. */
uint16_t nc_market_port(NcMarket *m);

/* Returns: the base URL the market answers on ("http://127.0.0.1:7401"). */
const char *nc_market_url(NcMarket *m);
