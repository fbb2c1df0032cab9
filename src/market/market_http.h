/* market_http.h: requests, responses and the route table of the market's
 * HTTP server, shared by market_http.c (server, auth, pages) and
 * market_routes.c (the table and its thin handlers).
 *
 * The dispatcher does, once, for every route: find it (404/405),
 * authenticate (bearer token, else session cookie), enforce the route's
 * access level (401 anonymous, 403 not a provider), check CSRF on
 * state-changing requests that came with a session, limit and read the
 * body, and turn a GError into {"error": {"code", "message"}}.
 */
#pragma once

#include "market_priv.h"
#include "http/http_server.h"

typedef enum {
    NC_MROUTE_PUBLIC = 1 << 0,     /* anonymous callers allowed */
    NC_MROUTE_PROVIDER = 1 << 1,   /* only providers */
    NC_MROUTE_JSON = 1 << 2,       /* takes a JSON object body */
    NC_MROUTE_CREATED = 1 << 3,    /* answers 201 */
    NC_MROUTE_ACCEPTED = 1 << 4,   /* answers 202 (work continues on a backend) */
} NcMarketRouteFlags;

typedef struct NcMarketRequest NcMarketRequest;

typedef struct {
    unsigned status;
    json_t *json;
    char *set_cookie;              /* a Set-Cookie header value */
    struct MHD_Response *stream;   /* a streaming body (events) */
} NcMarketResponse;

typedef int (*NcMarketHandler)(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp,
                               GError **err);

typedef struct {
    const char *method;
    const char *pattern;           /* "/market/v1/offers/{}": {} is one segment */
    NcMarketHandler handler;
    unsigned flags;
} NcMarketRoute;

extern const NcMarketRoute nc_market_routes[];
extern const size_t nc_market_route_count;

struct NcMarketRequest {
    NcHttpRequest http;            /* method, path, body, limits: the HTTP layer's */
    const NcMarketRoute *route;
    char *params[3];
    int nparams;
    NcMarketCaller *caller;        /* NULL: anonymous */
    json_t *json;                  /* the parsed body of NC_MROUTE_JSON routes */
    bool is_page;                  /* a page or a static file, not the API */
};

/* Query argument @key of the request, or NULL. */
const char *nc_market_request_query(NcMarketRequest *req, const char *key);
/* Request header @key, or NULL. */
const char *nc_market_request_header(NcMarketRequest *req, const char *key);

/* The cookie that carries a session. */
#define NC_MARKET_COOKIE "nc_market_session"

/* Returns: (transfer full): a Set-Cookie value for @value (NULL: expire it). */
char *nc_market_cookie(NcMarket *m, const char *value);

/* GET /market/v1/events (market_sse.c). */
/* GET /market/v1/offers/{id}/page for a caller who is nobody: the data of
 * the service page, built once per store generation.
 * Returns: (transfer full): the page's data, or NULL with @err set. */
json_t *nc_market_offer_page_public(NcMarket *m, const char *id, GError **err);

int nc_market_events_route(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp,
                           GError **err);
