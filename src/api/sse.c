/* sse.c: GET /v1/events, Server-Sent Events.
 *
 * Each event is "id: SEQ\nevent: TYPE\ndata: JSON\n\n".  A client resumes
 * with Last-Event-ID (or ?after=SEQ); without either, the stream starts at
 * the present.  A comment line every 15 s keeps proxies from closing it.
 */
#include "api_priv.h"
#include "conf/limits.h"
#include "http/http_sse.h"
#include "store/event_store.h"
#include "util/nc_json.h"

static gint nc_sse_clients;

typedef struct {
    NcApi *api;
    NcCaller *caller;
    int64_t after;
} NcSse;

static void
nc_sse_free(void *data)
{
    NcSse *s = data;
    nc_caller_free(s->caller);
    g_free(s);
}

static bool
nc_sse_stopping(void *data)
{
    NcSse *s = data;
    return g_atomic_int_get(&s->api->stopping);
}

static bool
nc_sse_fill(void *data, GString *out)
{
    NcSse *s = data;
    for (int waited = 0; waited < 15000 && !g_atomic_int_get(&s->api->stopping);) {
        uint64_t gen = nc_central_event_generation(s->api->central);
        g_autoptr(json_t) evs = nc_central_events(s->api->central, s->caller, s->after, 100, NULL);
        size_t i;
        json_t *ev;
        json_array_foreach(evs, i, ev) {
            g_autofree char *text = nc_json_dumps(ev);
            s->after = nc_json_int(ev, "seq", s->after);
            nc_http_sse_append_event(out, s->after, nc_json_str(ev, "type"), text);
        }
        if (out->len)
            return true;
        nc_central_wait_event(s->api->central, gen, 1000);
        waited += 1000;
    }
    nc_http_sse_append_keepalive(out);
    /* what is filled is sent even when stopping: the next read ends the stream */
    return true;
}

static const NcHttpSseSource nc_sse_source = {
    .greeting = ": nestcloud events\n\n",
    .max_streams = NC_LIMIT_SSE_CLIENTS,
    .stopping = nc_sse_stopping,
    .fill = nc_sse_fill,
    .free = nc_sse_free,
};

int
nc_api_events(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    int64_t start = 0;
    int named = nc_http_sse_resume(&req->http, &start, err);
    if (named < 0)
        return -1;
    if (!named) {
        start = nc_store_event_last(nc_central_store(api->central), err);
        if (start < 0)
            return -1;
    }
    NcSse *s = g_new0(NcSse, 1);
    s->api = api;
    s->after = start;
    s->caller = g_new0(NcCaller, 1);
    s->caller->project = g_strdup(req->caller->project);
    s->caller->admin = req->caller->admin;
    resp->stream = nc_http_sse_open(&nc_sse_source, &nc_sse_clients, s, err);
    return resp->stream ? 0 : -1;
}
