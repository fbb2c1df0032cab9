/* http_sse.c: Server-Sent Events over libmicrohttpd, shared by the cloud's
 * and the market's event streams. */
#include "http_sse.h"
#include "util/nc_error.h"

#include <string.h>

typedef struct {
    const NcHttpSseSource *source;
    void *data;
    gint *streams;
    GString *pending;               /* text not yet sent */
    size_t offset;                  /* of the first byte not yet sent */
} NcHttpSse;

int
nc_http_sse_resume(NcHttpRequest *req, int64_t *ret_after, GError **err)
{
    const char *last = nc_http_request_header(req, "Last-Event-ID");
    const char *after = nc_http_request_query(req, "after");
    if (!last && !after)
        return 0;
    char *end = NULL;
    gint64 v = g_ascii_strtoll(last ? last : after, &end, 10);
    if (!end || *end || v < 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "the event id to resume after must be a "
                     "non-negative integer");
        return -1;
    }
    *ret_after = v;
    return 1;
}

static void
nc_http_sse_free(void *cls)
{
    NcHttpSse *s = cls;
    g_atomic_int_add(s->streams, -1);
    s->source->free(s->data);
    g_string_free(s->pending, TRUE);
    g_free(s);
}

static ssize_t
nc_http_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    NcHttpSse *s = cls;
    if (s->source->stopping(s->data))
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->offset >= s->pending->len) {
        g_string_truncate(s->pending, 0);
        s->offset = 0;
        if (!s->source->fill(s->data, s->pending))
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = MIN(max, s->pending->len - s->offset);
    memcpy(buf, s->pending->str + s->offset, n);
    s->offset += n;
    return (ssize_t)n;
}

struct MHD_Response *
nc_http_sse_open(const NcHttpSseSource *source, gint *streams, void *data, GError **err)
{
    if (g_atomic_int_add(streams, 1) >= source->max_streams) {
        g_atomic_int_add(streams, -1);
        source->free(data);
        nc_error_set(err, NC_ERR_RATE_LIMITED, "too many event streams are open (limit %d)",
                     source->max_streams);
        return NULL;
    }
    NcHttpSse *s = g_new0(NcHttpSse, 1);
    s->source = source;
    s->data = data;
    s->streams = streams;
    s->pending = g_string_new(source->greeting);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                               nc_http_sse_read, s,
                                                               nc_http_sse_free);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return r;
}

void
nc_http_sse_append_event(GString *out, int64_t id, const char *type, const char *data)
{
    g_string_append_printf(out, "id: %" G_GINT64_FORMAT "\nevent: %s\ndata: %s\n\n", (gint64)id,
                           type, data);
}

void
nc_http_sse_append_keepalive(GString *out)
{
    g_string_append(out, ": keepalive\n\n");
}
