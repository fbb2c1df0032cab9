/* sse.c: GET /v1/events, Server-Sent Events.
 *
 * Each event is "id: SEQ\nevent: TYPE\ndata: JSON\n\n".  A client resumes
 * with Last-Event-ID (or ?after=SEQ); without either, the stream starts at
 * the present.  A comment line every 15 s keeps proxies from closing it.
 */
#include "api_priv.h"
#include "conf/limits.h"
#include "store/event_store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <string.h>

static gint nc_sse_clients;

typedef struct {
    NcApi *api;
    NcCaller *caller;
    int64_t after;
    uint64_t gen;
    GString *pending;
    size_t offset;
} NcSse;

static void
nc_sse_free(void *cls)
{
    NcSse *s = cls;
    g_atomic_int_add(&nc_sse_clients, -1);
    nc_caller_free(s->caller);
    g_string_free(s->pending, TRUE);
    g_free(s);
}

static void
nc_sse_fill(NcSse *s)
{
    for (int waited = 0; waited < 15000 && !g_atomic_int_get(&s->api->stopping);) {
        uint64_t gen = nc_central_event_generation(s->api->central);
        g_autoptr(json_t) evs = nc_central_events(s->api->central, s->caller, s->after, 100, NULL);
        size_t i;
        json_t *ev;
        json_array_foreach(evs, i, ev) {
            g_autofree char *data = nc_json_dumps(ev);
            s->after = nc_json_int(ev, "seq", s->after);
            g_string_append_printf(s->pending, "id: %" G_GINT64_FORMAT "\nevent: %s\ndata: %s\n\n",
                                   s->after, nc_json_str(ev, "type"), data);
        }
        if (s->pending->len)
            return;
        nc_central_wait_event(s->api->central, gen, 1000);
        waited += 1000;
    }
    g_string_append(s->pending, ": keepalive\n\n");
}

static ssize_t
nc_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    NcSse *s = cls;
    if (g_atomic_int_get(&s->api->stopping))
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->offset >= s->pending->len) {
        g_string_truncate(s->pending, 0);
        s->offset = 0;
        nc_sse_fill(s);
    }
    size_t n = MIN(max, s->pending->len - s->offset);
    memcpy(buf, s->pending->str + s->offset, n);
    s->offset += n;
    return (ssize_t)n;
}

int
nc_api_events(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    const char *last = nc_request_header(req, "Last-Event-ID");
    const char *after = nc_request_query(req, "after");
    int64_t start;
    if (last || after) {
        char *end = NULL;
        start = g_ascii_strtoll(last ? last : after, &end, 10);
        if (!end || *end || start < 0) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "the event id to resume after must be "
                         "a non-negative integer");
            return -1;
        }
    } else {
        start = nc_store_event_last(nc_central_store(api->central), err);
        if (start < 0)
            return -1;
    }
    if (g_atomic_int_add(&nc_sse_clients, 1) >= NC_LIMIT_SSE_CLIENTS) {
        g_atomic_int_add(&nc_sse_clients, -1);
        nc_error_set(err, NC_ERR_RATE_LIMITED, "too many event streams are open (limit %d)",
                     NC_LIMIT_SSE_CLIENTS);
        return -1;
    }
    NcSse *s = g_new0(NcSse, 1);
    s->api = api;
    s->after = start;
    s->pending = g_string_new(": nestcloud events\n\n");
    s->caller = g_new0(NcCaller, 1);
    s->caller->project = g_strdup(req->caller->project);
    s->caller->admin = req->caller->admin;
    resp->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, nc_sse_read, s,
                                                     nc_sse_free);
    MHD_add_response_header(resp->stream, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp->stream, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return 0;
}
