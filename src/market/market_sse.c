/* market_sse.c: GET /market/v1/events, Server-Sent Events.
 *
 * "id: SEQ\nevent: TYPE\ndata: JSON\n\n" for every event the reader may
 * see (events.h): public prices and offers, and the reader's own contracts
 * and allocations.  ?offer=ID narrows public events to one offer (the
 * service page).  Resume with Last-Event-ID or ?after=SEQ.  A comment every
 * 15 s keeps proxies from closing the stream.
 */
#include "market_http.h"
#include "http/http_sse.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

typedef struct {
    NcMarket *m;
    char *user;
    char *offer;
    uint64_t after;
} NcMarketSse;

static void
nc_market_sse_free(void *data)
{
    NcMarketSse *s = data;
    g_free(s->user);
    g_free(s->offer);
    g_free(s);
}

static bool
nc_market_sse_stopping(void *data)
{
    NcMarketSse *s = data;
    return nc_market_stopping(s->m);
}

static bool
nc_market_sse_fill(void *data, GString *out)
{
    NcMarketSse *s = data;
    uint64_t last = s->after;
    g_autoptr(json_t) evs = nc_market_events_read(s->m->events, s->after, s->user, s->offer,
                                                  15000, &last);
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev) {
        g_autoptr(json_t) wrapped = json_pack("{s:O, s:O, s:O}", "type",
                                              json_object_get(ev, "type"), "time",
                                              json_object_get(ev, "time"), "data",
                                              json_object_get(ev, "data"));
        char *text = json_dumps(wrapped, JSON_COMPACT | JSON_REAL_PRECISION(12));
        nc_http_sse_append_event(out, json_integer_value(json_object_get(ev, "seq")),
                                 nc_json_str(ev, "type"), text);
        free(text);
    }
    s->after = last;
    if (!out->len)
        nc_http_sse_append_keepalive(out);
    /* the wait above may have been cut short by the market stopping */
    return !nc_market_stopping(s->m);
}

static const NcHttpSseSource nc_market_sse_source = {
    .greeting = ": nestcloud market events\nretry: 2000\n\n",
    .max_streams = NC_MARKET_SSE_CLIENTS,
    .stopping = nc_market_sse_stopping,
    .fill = nc_market_sse_fill,
    .free = nc_market_sse_free,
};

int
nc_market_events_route(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    const char *offer = nc_market_request_query(req, "offer");
    uint64_t start = nc_market_events_last(m->events);
    int64_t after = 0;
    int named = nc_http_sse_resume(&req->http, &after, err);
    if (named < 0)
        return -1;
    if (named)
        start = (uint64_t)after;
    if (offer && !nc_uuid_is_valid(offer)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "offer must be an offer id");
        return -1;
    }
    NcMarketSse *s = g_new0(NcMarketSse, 1);
    s->m = m;
    s->user = req->caller ? g_strdup(req->caller->user_id) : NULL;
    s->offer = g_strdup(offer);
    s->after = start;
    resp->stream = nc_http_sse_open(&nc_market_sse_source, &m->sse_clients, s, err);
    return resp->stream ? 0 : -1;
}
