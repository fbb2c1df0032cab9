/* http_sse.h: Server-Sent Events (text/event-stream) for the servers on
 * the HTTP layer: the cloud's GET /v1/events and the market's.
 *
 * The layer owns what both streams put on the wire alike: the headers, the
 * framing "id: SEQ\nevent: TYPE\ndata: JSON\n\n", the keep-alive comment,
 * where a client resumes (Last-Event-ID or ?after=SEQ) and the limit on
 * open streams.  A server describes its stream once in a const
 * NcHttpSseSource and keeps to itself where the events come from and who
 * may see them.
 *
 * A stream's life:
 *
 *   nc_http_sse_open()   counts the stream in, or refuses past the limit;
 *                        the greeting is the first text sent
 *   each read            stopping()? -> end of stream
 *                        text left?  -> sent
 *                        otherwise   fill() (blocks); false -> end
 *   connection closed    free(), and the stream is counted out
 */
#pragma once

#include "http_server.h"

#include <glib.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

/* Where a server's events come from: one const instance per server. */
typedef struct {
    const char *greeting;           /* sent first: comment lines, a retry: field */
    int max_streams;                /* streams open at once; more are refused */

    /* Whether the server is stopping; the stream then ends at once. */
    bool (*stopping)(void *data);
    /* Appends the next events to @out with nc_http_sse_append_event(), or
     * nc_http_sse_append_keepalive() after a quiet while; blocks until it
     * has one or the other.  Returns false to end the stream instead of
     * sending @out. */
    bool (*fill)(void *data, GString *out);
    /* Frees @data. */
    void (*free)(void *data);
} NcHttpSseSource;

/**
 * nc_http_sse_resume:
 * @req: a request for an event stream
 * @ret_after: the sequence number of the last event the client has
 * @err: NC_ERR_INVALID_ARGUMENT when it is not a non-negative integer
 *
 * Reads where the client resumes: Last-Event-ID, which a browser sends on
 * reconnecting, else ?after=SEQ.
 *
 * Returns: 1 with @ret_after set, 0 when the client names no event (the
 * stream then starts at the present), or -1 with @err set; @ret_after is
 * untouched unless 1.
 */
int nc_http_sse_resume(NcHttpRequest *req, int64_t *ret_after, GError **err);

/**
 * nc_http_sse_open:
 * @source: the server's stream (not owned; must outlive the stream)
 * @streams: the server's count of open streams, counted against
 *   @source->max_streams; the stream holds it until it is freed
 * @data: the stream's own state, passed to @source's functions; taken
 *   over, and freed with @source->free, at once on failure
 * @err: NC_ERR_RATE_LIMITED when @source->max_streams are open
 *
 * Returns: (transfer full): a response with the event-stream headers for
 * MHD_queue_response() and MHD_destroy_response(), or NULL.
 */
struct MHD_Response *nc_http_sse_open(const NcHttpSseSource *source, gint *streams, void *data,
                                      GError **err);

/* Appends the event @id of @type with @data, one line of JSON, to @out. */
void nc_http_sse_append_event(GString *out, int64_t id, const char *type, const char *data);

/* Appends a comment that keeps proxies from closing a quiet stream. */
void nc_http_sse_append_keepalive(GString *out);
