/* market_priv.h: what the market's modules share: the NcMarket object, the
 * caller of a request, background jobs, and limits.
 *
 * Modules (one concern each, each with its own header):
 *   accounts.c    users, sessions, CSRF tokens, API tokens, provider data
 *   backends.c    backends, their sealed tokens, health and quality
 *   offers.c      offers, the registry's search, price history
 *   contracts.c   the contract state machine and the clearing round
 *   allocations.c what a contract holds on its backend; the proxy to it
 *   metering.c    per-second meter segments, statements, break-even
 *   market_http.c the HTTP server: auth, CSRF, limits, pages, errors
 *   market_routes.c the route table of /market/v1
 */
#pragma once

#include "market.h"
#include "market_store.h"
#include "events.h"
#include "secretbox.h"

#include <jansson.h>
#include <stdbool.h>

/* Limits a user meets (docs/MARKET.md lists them). */
#define NC_MARKET_BODY_BYTES (64 * 1024)
#define NC_MARKET_CONNECTIONS 512
#define NC_MARKET_SSE_CLIENTS 128
#define NC_MARKET_NAME_MAX 80
#define NC_MARKET_DESCRIPTION_MAX 4000
#define NC_MARKET_COMPANY_MAX 200
#define NC_MARKET_ADDRESS_MAX 500
#define NC_MARKET_PASSWORD_MIN 8
#define NC_MARKET_PASSWORD_MAX 1024
#define NC_MARKET_USERS_MAX 100000
#define NC_MARKET_TOKENS_PER_USER 50
#define NC_MARKET_SESSIONS_PER_USER 100
#define NC_MARKET_BACKENDS_PER_PROVIDER 100
#define NC_MARKET_OFFERS_PER_PROVIDER 1000
#define NC_MARKET_OPEN_CONTRACTS_PER_USER 1000
#define NC_MARKET_SLOTS_MAX 10000
#define NC_MARKET_UNITS_MAX 16
#define NC_MARKET_PORTS_MAX 16         /* forwarded ports per allocation (the backend's own cap) */
#define NC_MARKET_PAGE_MAX 1000
#define NC_MARKET_HASHING_MAX 4          /* argon2id hashes at once (64 MiB each) */
#define NC_MARKET_LOGIN_FAILURES 10      /* per address per 15 minutes */
#define NC_MARKET_HISTORY_DAYS 90        /* price history kept, as EC2 does */
#define NC_MARKET_PROBES_DAYS 30
#define NC_MARKET_PROBE_TIMEOUT_MS 5000  /* a probe slower than this failed */
#define NC_MARKET_DOWN_AFTER 2           /* failed probes before "down" */
#define NC_MARKET_CURRENCY "EUR"

typedef struct NcMarketWeb NcMarketWeb;

struct NcMarket {
    NcMarketConfig cfg;           /* strings below are the owned copies */
    char *listen;
    char *db;
    char *state_dir;
    char *web_dir;
    char *url;
    NcStore *store;
    unsigned char key[NC_MARKET_KEY_BYTES];
    NcMarketEvents *events;
    NcMarketWeb *web;
    struct MHD_Daemon *mhd;
    uint16_t port;
    gint stopping;
    gint sse_clients;
    gint hashing;

    GThread *ticker;
    GMutex tick_lock;
    GCond tick_cond;
    gint clear_now;               /* a clearing was asked for before its time */

    GThreadPool *pool;
    GMutex jobs_lock;
    GHashTable *jobs;             /* job key -> start time (ms, boxed) */

    GMutex login_lock;
    GHashTable *login_failures;   /* e-mail -> NcLoginFailures */

    GMutex cache_lock;
    GHashTable *page_cache;       /* path -> NcPageCached */
};

/* Who is calling: from a session cookie or an API token. */
typedef struct {
    char *user_id;
    char *email;
    char *name;
    bool provider;
    bool session;        /* authenticated by the cookie: CSRF applies */
    char *session_hash;
    char *csrf;
} NcMarketCaller;

void nc_market_caller_free(NcMarketCaller *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcMarketCaller, nc_market_caller_free)

/* Jobs: calls to backends, run on the pool.  A job's key ("alloc:ID",
 * "probe:ID") runs at most once at a time; a submission while it runs is
 * dropped (the next tick submits it again if still needed). */
typedef void (*NcMarketJobFn)(NcMarket *m, const char *arg);

/* Returns: true when the job was queued, false when one with @key runs. */
bool nc_market_job_submit(NcMarket *m, const char *key, NcMarketJobFn fn, const char *arg);

/* Returns: the start time (ms) of the running job @key, or 0. */
int64_t nc_market_job_started(NcMarket *m, const char *key);

/* Asks the ticker to clear at its next turn (an offer changed, a bid came). */
void nc_market_poke(NcMarket *m);

/* Returns: true once nc_market_stop() began. */
bool nc_market_stopping(NcMarket *m);

/* Pages and static files (market_http.c). */
NcMarketWeb *nc_market_web_load(const char *dir, GError **err);
void nc_market_web_free(NcMarketWeb *w);
int nc_market_http_start(NcMarket *m, GError **err);
void nc_market_http_stop(NcMarket *m);
