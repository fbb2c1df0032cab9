/* market_sse.c: GET /market/v1/events, Server-Sent Events.
 *
 * "id: SEQ\nevent: TYPE\ndata: JSON\n\n" for every event the reader may
 * see (events.h): public prices and offers, and the reader's own contracts
 * and allocations.  ?offer=ID narrows public events to one offer (the
 * service page).  Resume with Last-Event-ID or ?after=SEQ.  A comment every
 * 15 s keeps proxies from closing the stream.
 */
#include "market_http.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

#include <string.h>

typedef struct {
    NcMarket *m;
    char *user;
    char *offer;
    uint64_t after;
    GString *pending;
    size_t offset;
} NcMarketSse;

static void
nc_market_sse_free(void *cls)
{
    NcMarketSse *s = cls;
    g_atomic_int_add(&s->m->sse_clients, -1);
    g_free(s->user);
    g_free(s->offer);
    g_string_free(s->pending, TRUE);
    g_free(s);
}

static void
nc_market_sse_fill(NcMarketSse *s)
{
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
        g_string_append_printf(s->pending, "id: %" JSON_INTEGER_FORMAT "\nevent: %s\ndata: %s\n\n",
                               json_integer_value(json_object_get(ev, "seq")),
                               nc_json_str(ev, "type"), text);
        free(text);
    }
    s->after = last;
    if (!s->pending->len)
        g_string_append(s->pending, ": keepalive\n\n");
}

static ssize_t
nc_market_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    NcMarketSse *s = cls;
    if (nc_market_stopping(s->m))
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->offset >= s->pending->len) {
        g_string_truncate(s->pending, 0);
        s->offset = 0;
        nc_market_sse_fill(s);
        if (nc_market_stopping(s->m))
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = MIN(max, s->pending->len - s->offset);
    memcpy(buf, s->pending->str + s->offset, n);
    s->offset += n;
    return (ssize_t)n;
}

int
nc_market_events_route(NcMarket *m, NcMarketRequest *req, NcMarketResponse *resp, GError **err)
{
    const char *last = nc_market_request_header(req, "Last-Event-ID");
    const char *after = nc_market_request_query(req, "after");
    const char *offer = nc_market_request_query(req, "offer");
    uint64_t start = nc_market_events_last(m->events);
    if (last || after) {
        char *end = NULL;
        gint64 v = g_ascii_strtoll(last ? last : after, &end, 10);
        if (!end || *end || v < 0) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "the event id to resume after must be a "
                         "non-negative integer");
            return -1;
        }
        start = (uint64_t)v;
    }
    if (offer && !nc_uuid_is_valid(offer)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "offer must be an offer id");
        return -1;
    }
    if (g_atomic_int_add(&m->sse_clients, 1) >= NC_MARKET_SSE_CLIENTS) {
        g_atomic_int_add(&m->sse_clients, -1);
        nc_error_set(err, NC_ERR_RATE_LIMITED, "too many event streams are open (limit %d)",
                     NC_MARKET_SSE_CLIENTS);
        return -1;
    }
    NcMarketSse *s = g_new0(NcMarketSse, 1);
    s->m = m;
    s->user = req->caller ? g_strdup(req->caller->user_id) : NULL;
    s->offer = g_strdup(offer);
    s->after = start;
    s->pending = g_string_new(": nestcloud market events\nretry: 2000\n\n");
    resp->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, nc_market_sse_read,
                                                     s, nc_market_sse_free);
    MHD_add_response_header(resp->stream, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp->stream, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return 0;
}
