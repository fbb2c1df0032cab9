/* market_routes.c: the route table of /market/v1 and its thin handlers. */
#include "market_http.h"
#include "accounts.h"
#include "allocations.h"
#include "backends.h"
#include "contracts.h"
#include "market_valid.h"
#include "metering.h"
#include "offers.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

static int
nc_reply(NcMarketResponse *resp, json_t *result)
{
    if (!result)
        return -1;
    resp->json = result;
    return 0;
}

/* Ids in paths are UUIDs; anything else cannot name an object. */
static int
nc_param_id(NcMarketRequest *req, int i, const char *what, GError **err)
{
    if (!nc_uuid_is_valid(req->params[i])) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no %s %.40s", what, req->params[i]);
        return -1;
    }
    return 0;
}

static int
nc_query_int(NcMarketRequest *req, const char *key, int64_t fallback, int64_t min, int64_t max,
             int64_t *ret, GError **err)
{
    const char *v = nc_market_request_query(req, key);
    if (!v) {
        *ret = fallback;
        return 0;
    }
    char *end = NULL;
    gint64 n = g_ascii_strtoll(v, &end, 10);
    if (!*v || *end || n < min || n > max) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query '%s' must be an integer between %"
                     G_GINT64_FORMAT " and %" G_GINT64_FORMAT, key, min, max);
        return -1;
    }
    *ret = n;
    return 0;
}

static int
nc_query_time(NcMarketRequest *req, const char *key, int64_t *ret, GError **err)
{
    const char *v = nc_market_request_query(req, key);
    *ret = 0;
    if (!v)
        return 0;
    if (nc_time_parse(v, ret, err) < 0) {
        nc_error_prefix(err, "query '%s': ", key);
        return -1;
    }
    return 0;
}

static int
nc_query_enum(NcMarketRequest *req, const char *key, const char *const *allowed,
              const char **ret, GError **err)
{
    const char *v = nc_market_request_query(req, key);
    *ret = NULL;
    if (!v || !*v)
        return 0;
    for (const char *const *a = allowed; *a; a++) {
        if (strcmp(*a, v) == 0) {
            *ret = *a;
            return 0;
        }
    }
    g_autofree char *list = g_strjoinv(", ", (char **)allowed);
    nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query '%s' must be one of %s", key, list);
    return -1;
}

static int
nc_query_uuid(NcMarketRequest *req, const char *key, const char **ret, GError **err)
{
    const char *v = nc_market_request_query(req, key);
    *ret = NULL;
    if (!v || !*v)
        return 0;
    if (!nc_uuid_is_valid(v)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query '%s' must be an id", key);
        return -1;
    }
    *ret = v;
    return 0;
}

/* ---- service ---- */

static int
nc_route_health(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, json_pack("{s:s}", "status", "ok"));
}

static int
nc_route_info(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    int64_t offers = nc_market_count(m->store, err,
                                     "SELECT COUNT(*) FROM offers WHERE state = 'active'", NC_END);
    int64_t providers = nc_market_count(m->store, err,
                                        "SELECT COUNT(*) FROM users WHERE provider_since IS NOT"
                                        " NULL", NC_END);
    if (offers < 0 || providers < 0)
        return -1;
    return nc_reply(resp, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}}",
                                    "service", "nestcloud market", "currency",
                                    NC_MARKET_CURRENCY,
                                    "clearing_interval_s",
                                    (json_int_t)(m->cfg.clearing_interval_ms / 1000),
                                    "notice_s", (json_int_t)(m->cfg.notice_ms / 1000),
                                    "probe_interval_s",
                                    (json_int_t)(m->cfg.probe_interval_ms / 1000),
                                    "offers", (json_int_t)offers,
                                    "providers", (json_int_t)providers,
                                    "limits", "slots_per_offer", (json_int_t)NC_MARKET_SLOTS_MAX,
                                    "units_per_contract", (json_int_t)NC_MARKET_UNITS_MAX,
                                    "body_bytes", (json_int_t)NC_MARKET_BODY_BYTES));
}

/* ---- accounts ---- */

static int
nc_route_register(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    g_autofree char *cookie = NULL;
    json_t *out = nc_market_user_register(m, req->json, &cookie, err);
    if (out)
        resp->set_cookie = nc_market_cookie(m, cookie);
    return nc_reply(resp, out);
}

static int
nc_route_login(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    g_autofree char *cookie = NULL;
    json_t *out = nc_market_session_create(m, req->json, &cookie, err);
    if (out)
        resp->set_cookie = nc_market_cookie(m, cookie);
    return nc_reply(resp, out);
}

/* GET /market/v1/session: who the browser is, without a 401 for nobody. */
static int
nc_route_session(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (!req->caller)
        return nc_reply(resp, json_pack("{s:n}", "user"));
    return nc_reply(resp, nc_market_me(m, req->caller, err));
}

static int
nc_route_logout(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_market_session_delete(m, req->caller, err) < 0)
        return -1;
    resp->set_cookie = nc_market_cookie(m, NULL);
    return nc_reply(resp, json_pack("{s:b}", "logged_out", 1));
}

static int
nc_route_me(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_me(m, req->caller, err));
}

static int
nc_route_become_provider(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_provider_become(m, req->caller, req->json, err));
}

static int
nc_route_token_list(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_token_list(m, req->caller, err));
}

static int
nc_route_token_create(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_token_create(m, req->caller, req->json, err));
}

static int
nc_route_token_delete(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "token", err) < 0 ||
        nc_market_token_delete(m, req->caller, req->params[0], err) < 0)
        return -1;
    return nc_reply(resp, json_pack("{s:s}", "deleted", req->params[0]));
}

static int
nc_route_provider_get(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "provider", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_provider_public(m, req->params[0], err));
}

/* ---- offers and prices ---- */

static int
nc_route_offer_search(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    static const char *const kinds[] = { "compute", "storage", NULL };
    static const char *const pricings[] = { "spot", "fixed", NULL };
    static const char *const sorts[] = { "price", "availability", "launch", "newest", NULL };
    NcOfferSearch s = { .max_price = -1, .min_availability = -1, .max_depth = -1, .depth = -1 };
    const char *q = nc_market_request_query(req, "q");
    const char *mine = nc_market_request_query(req, "mine");
    if (nc_query_enum(req, "kind", kinds, &s.kind, err) < 0 ||
        nc_query_enum(req, "pricing", pricings, &s.pricing, err) < 0 ||
        nc_query_enum(req, "sort", sorts, &s.sort, err) < 0 ||
        nc_query_uuid(req, "provider", &s.provider, err) < 0 ||
        nc_query_uuid(req, "backend", &s.backend, err) < 0 ||
        nc_query_int(req, "min_vcpus", 0, 0, 256, &s.min_vcpus, err) < 0 ||
        nc_query_int(req, "min_memory_mib", 0, 0, 4LL << 20, &s.min_memory_mib, err) < 0 ||
        nc_query_int(req, "min_disk_gib", 0, 0, 65536, &s.min_disk_gib, err) < 0 ||
        nc_query_int(req, "min_storage_gib", 0, 0, 65536, &s.min_storage_gib, err) < 0 ||
        nc_query_int(req, "max_depth", -1, 0, 8, &s.max_depth, err) < 0 ||
        nc_query_int(req, "depth", -1, 0, 8, &s.depth, err) < 0 ||
        nc_query_int(req, "limit", 100, 1, NC_MARKET_PAGE_MAX, &s.limit, err) < 0 ||
        nc_query_int(req, "offset", 0, 0, 1000000, &s.offset, err) < 0)
        return -1;
    const char *mp = nc_market_request_query(req, "max_price");
    if (mp) {
        g_autoptr(json_t) v = json_string(mp);
        if (!v || nc_market_price_parse("query 'max_price'", v, true, &s.max_price, err) < 0) {
            if (!*err)
                nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query 'max_price' is not a price");
            return -1;
        }
    }
    const char *ma = nc_market_request_query(req, "min_availability");
    if (ma) {
        char *end = NULL;
        double pct = g_ascii_strtod(ma, &end);
        if (!*ma || *end || !(pct >= 0 && pct <= 100)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query 'min_availability' is a "
                         "percentage between 0 and 100");
            return -1;
        }
        s.min_availability = (int64_t)(pct * 10 + 0.5);
    }
    if (q) {
        if (nc_market_text_check("query 'q'", q, 0, 100, false, err) < 0)
            return -1;
        s.q = *q ? q : NULL;
    }
    if (mine && strcmp(mine, "true") == 0) {
        if (!req->caller) {
            nc_error_set(err, NC_ERR_UNAUTHENTICATED, "log in to list your own offers");
            return -1;
        }
        s.mine = true;
    }
    return nc_reply(resp, nc_market_offer_search(m, req->caller, &s, err));
}

static int
nc_route_offer_create(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_offer_create(m, req->caller, req->json, err));
}

static int
nc_route_offer_get(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "offer", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_offer_get(m, req->caller, req->params[0], err));
}

static int
nc_route_offer_page(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "offer", err) < 0)
        return -1;
    if (!req->caller)
        return nc_reply(resp, nc_market_offer_page_public(m, req->params[0], err));
    return nc_reply(resp, nc_market_offer_page(m, req->caller, req->params[0], err));
}

static int
nc_route_offer_update(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "offer", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_offer_update(m, req->caller, req->params[0], req->json, err));
}

static int
nc_route_offer_delete(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "offer", err) < 0 ||
        nc_market_offer_withdraw(m, req->caller, req->params[0], err) < 0)
        return -1;
    return nc_reply(resp, nc_market_offer_get(m, req->caller, req->params[0], err));
}

static int
nc_price_query(NcMarketRequest *req, NcPriceQuery *q, GError **err)
{
    static const char *const kinds[] = { "compute", "storage", NULL };
    const char *token = nc_market_request_query(req, "next_token");
    if (nc_query_enum(req, "kind", kinds, &q->kind, err) < 0 ||
        nc_query_uuid(req, "provider", &q->provider, err) < 0 ||
        nc_query_time(req, "start_time", &q->start_ms, err) < 0 ||
        nc_query_time(req, "end_time", &q->end_ms, err) < 0 ||
        nc_query_int(req, "max_results", 100, 1, NC_MARKET_PAGE_MAX, &q->max_results, err) < 0)
        return -1;
    if (q->start_ms && q->end_ms && q->start_ms > q->end_ms) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "start_time is after end_time");
        return -1;
    }
    if (token) {
        char *end = NULL;
        q->next_token = g_ascii_strtoll(token, &end, 10);
        if (!*token || *end || q->next_token <= 0) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "next_token is not one this market gave");
            return -1;
        }
    }
    return 0;
}

static int
nc_route_price_history(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    NcPriceQuery q = { 0 };
    if (nc_query_uuid(req, "offer", &q.offer, err) < 0 || nc_price_query(req, &q, err) < 0)
        return -1;
    return nc_reply(resp, nc_market_price_history(m, &q, err));
}

static int
nc_route_offer_price_history(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp,
                             GError **err)
{
    NcPriceQuery q = { 0 };
    if (nc_param_id(req, 0, "offer", err) < 0 || nc_price_query(req, &q, err) < 0)
        return -1;
    g_autoptr(json_t) offer = nc_market_offer_get(m, req->caller, req->params[0], err);
    if (!offer)
        return -1;
    q.offer = req->params[0];
    return nc_reply(resp, nc_market_price_history(m, &q, err));
}

/* ---- backends ---- */

static int
nc_route_backend_list(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_backend_list(m, req->caller, err));
}

static int
nc_route_backend_create(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_backend_create(m, req->caller, req->json, err));
}

static int
nc_route_backend_get(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "backend", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_backend_get(m, req->caller, req->params[0], err));
}

static int
nc_route_backend_delete(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "backend", err) < 0 ||
        nc_market_backend_delete(m, req->caller, req->params[0], err) < 0)
        return -1;
    return nc_reply(resp, json_pack("{s:s, s:s}", "id", req->params[0], "state", "removed"));
}

static int
nc_route_break_even(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "backend", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_break_even(m, req->caller, req->params[0], err));
}

/* ---- contracts ---- */

static int
nc_route_contract_list(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    int64_t limit, offset;
    if (nc_query_int(req, "limit", 100, 1, NC_MARKET_PAGE_MAX, &limit, err) < 0 ||
        nc_query_int(req, "offset", 0, 0, 1000000, &offset, err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_list(m, req->caller,
                                                  nc_market_request_query(req, "role"),
                                                  nc_market_request_query(req, "state"), limit,
                                                  offset, err));
}

static int
nc_route_contract_create(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_contract_request(m, req->caller, req->json, err));
}

static int
nc_route_contract_get(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "contract", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_get(m, req->caller, req->params[0], err));
}

static int
nc_route_contract_update(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "contract", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_update(m, req->caller, req->params[0], req->json,
                                                    err));
}

static int
nc_route_contract_accept(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "contract", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_decide(m, req->caller, req->params[0], true, err));
}

static int
nc_route_contract_reject(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "contract", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_decide(m, req->caller, req->params[0], false, err));
}

static int
nc_route_contract_end(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "contract", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_contract_end(m, req->caller, req->params[0], err));
}

/* ---- allocations ---- */

static int
nc_route_alloc_list(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    return nc_reply(resp, nc_market_allocation_list(m, req->caller, err));
}

static int
nc_route_alloc_get(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_get(m, req->caller, req->params[0], err));
}

static int
nc_route_alloc_update(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_update(m, req->caller, req->params[0], req->json,
                                                      err));
}

static int
nc_route_alloc_action(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_action(m, req->caller, req->params[0], req->json,
                                                      err));
}

static int
nc_route_alloc_console(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_console(m, req->caller, req->params[0], err));
}

static int
nc_route_alloc_ports(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_ports(m, req->caller, req->params[0], err));
}

static int
nc_route_alloc_port_add(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp,
                        GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_port_add(m, req->caller, req->params[0],
                                                        req->json, err));
}

static int
nc_route_alloc_port_remove(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp,
                           GError **err)
{
    if (nc_param_id(req, 0, "allocation", err) < 0)
        return -1;
    return nc_reply(resp, nc_market_allocation_port_remove(m, req->caller, req->params[0],
                                                           req->params[1], err));
}

static int
nc_route_statement(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    static const char *const roles[] = { "consumer", "provider", NULL };
    const char *role = NULL;
    int64_t from = 0, to = 0;
    if (nc_query_enum(req, "role", roles, &role, err) < 0 ||
        nc_query_time(req, "from", &from, err) < 0 || nc_query_time(req, "to", &to, err) < 0)
        return -1;
    if (from && to && from > to) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "from is after to");
        return -1;
    }
    return nc_reply(resp, nc_market_statement(m, req->caller, role, from, to, err));
}

#define PUB NC_MROUTE_PUBLIC
#define PROV NC_MROUTE_PROVIDER
#define JSON NC_MROUTE_JSON
#define CREATED NC_MROUTE_CREATED
#define ACCEPTED NC_MROUTE_ACCEPTED

const NcMarketRoute nc_market_routes[] = {
    { "GET", "/market/v1/health", nc_route_health, PUB },
    { "GET", "/market/v1/info", nc_route_info, PUB },
    { "GET", "/market/v1/events", nc_market_events_route, PUB },
    { "POST", "/market/v1/users", nc_route_register, PUB | JSON | CREATED },
    { "GET", "/market/v1/session", nc_route_session, PUB },
    { "POST", "/market/v1/session", nc_route_login, PUB | JSON },
    { "DELETE", "/market/v1/session", nc_route_logout, 0 },
    { "GET", "/market/v1/me", nc_route_me, 0 },
    { "POST", "/market/v1/me/provider", nc_route_become_provider, JSON },
    { "GET", "/market/v1/tokens", nc_route_token_list, 0 },
    { "POST", "/market/v1/tokens", nc_route_token_create, JSON | CREATED },
    { "DELETE", "/market/v1/tokens/{}", nc_route_token_delete, 0 },
    { "GET", "/market/v1/providers/{}", nc_route_provider_get, PUB },
    { "GET", "/market/v1/offers", nc_route_offer_search, PUB },
    { "POST", "/market/v1/offers", nc_route_offer_create, PROV | JSON | CREATED },
    { "GET", "/market/v1/offers/{}", nc_route_offer_get, PUB },
    { "PATCH", "/market/v1/offers/{}", nc_route_offer_update, PROV | JSON },
    { "DELETE", "/market/v1/offers/{}", nc_route_offer_delete, PROV },
    { "GET", "/market/v1/offers/{}/page", nc_route_offer_page, PUB },
    { "GET", "/market/v1/offers/{}/price-history", nc_route_offer_price_history, PUB },
    { "GET", "/market/v1/price-history", nc_route_price_history, PUB },
    { "GET", "/market/v1/backends", nc_route_backend_list, PROV },
    { "POST", "/market/v1/backends", nc_route_backend_create, PROV | JSON | CREATED },
    { "GET", "/market/v1/backends/{}", nc_route_backend_get, PROV },
    { "DELETE", "/market/v1/backends/{}", nc_route_backend_delete, PROV },
    { "GET", "/market/v1/backends/{}/break-even", nc_route_break_even, PROV },
    { "GET", "/market/v1/contracts", nc_route_contract_list, 0 },
    { "POST", "/market/v1/contracts", nc_route_contract_create, JSON | CREATED },
    { "GET", "/market/v1/contracts/{}", nc_route_contract_get, 0 },
    { "PATCH", "/market/v1/contracts/{}", nc_route_contract_update, JSON },
    { "POST", "/market/v1/contracts/{}/accept", nc_route_contract_accept, PROV },
    { "POST", "/market/v1/contracts/{}/reject", nc_route_contract_reject, PROV },
    { "POST", "/market/v1/contracts/{}/end", nc_route_contract_end, 0 },
    { "GET", "/market/v1/allocations", nc_route_alloc_list, 0 },
    { "GET", "/market/v1/allocations/{}", nc_route_alloc_get, 0 },
    { "PATCH", "/market/v1/allocations/{}", nc_route_alloc_update, JSON | ACCEPTED },
    { "POST", "/market/v1/allocations/{}/actions", nc_route_alloc_action, JSON | ACCEPTED },
    { "GET", "/market/v1/allocations/{}/console", nc_route_alloc_console, 0 },
    { "GET", "/market/v1/allocations/{}/ports", nc_route_alloc_ports, 0 },
    { "POST", "/market/v1/allocations/{}/ports", nc_route_alloc_port_add, JSON | ACCEPTED },
    { "DELETE", "/market/v1/allocations/{}/ports/{}", nc_route_alloc_port_remove, ACCEPTED },
    { "GET", "/market/v1/statements", nc_route_statement, 0 },
};

const size_t nc_market_route_count = G_N_ELEMENTS(nc_market_routes);
