/* http_server.h: the HTTP server layer that the cloud API (src/api) and
 * the market (src/market) are built on, over libmicrohttpd.
 *
 * The layer owns what both servers do alike: listening on "ADDR:PORT",
 * one thread per connection under a connection limit, framing a request
 * (path, early errors, reading the body under its limit), the headers of
 * every answer, JSON bodies and {"error": {"code", "message"}} replies.
 * A server describes itself once in a const NcHttpServer (its name,
 * limits, headers and hooks) and keeps its routes, authentication and
 * pages to itself.
 *
 * A request's life, each step called by the layer:
 *
 *   request line -> begin()      route, auth, limits; sets early or body
 *   body data    -> feed()       (optional) else appended to body, up to
 *                                body_limit, past it too_large is set
 *   end of body  -> early?       answered with nc_http_send_error()
 *                   too_large?   answered with body_too_large()'s error
 *                   otherwise    finish(): the server's dispatch
 *   completed    -> clear()      the server frees its own fields
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct NcHttpRequest NcHttpRequest;
typedef struct NcHttpServer NcHttpServer;

/* What every request has; a server's own request type begins with it. */
struct NcHttpRequest {
    const NcHttpServer *server;
    const char *method;
    char *path;                     /* URL-decoded, without a trailing '/' */
    struct MHD_Connection *conn;
    GByteArray *body;               /* set by begin() when a body is read */
    size_t body_limit;              /* bytes the body may have */
    bool too_large;
    GError *early;                  /* an error found before the body was read */
};

/* A server built on the layer: one const instance per kind of server. */
struct NcHttpServer {
    const char *name;               /* "market", or NULL: put before log lines */
    const char *listen_example;     /* "127.0.0.1:7400", named in listen errors */
    unsigned max_connections;
    const char *const *headers;     /* on every answer: name, value, ..., NULL */
    const char *html_policy;        /* Content-Security-Policy of text/html answers */
    size_t json_flags;              /* for json_dumps(), beside JSON_COMPACT */
    bool quiet_unavailable;         /* 503s are expected: do not log them */
    size_t request_size;            /* of the server's request type */

    /* Decides what can be decided before the body: sets req->early, or
     * req->body and req->body_limit to read a body. */
    void (*begin)(void *owner, NcHttpRequest *req);
    /* Optional: takes body data the server stores itself; returns false
     * to let the layer append it to req->body. */
    bool (*feed)(NcHttpRequest *req, const char *data, size_t len);
    /* Sets @err to the error of a body past its limit. */
    void (*body_too_large)(NcHttpRequest *req, GError **err);
    /* Answers a request whose body is complete. */
    enum MHD_Result (*finish)(void *owner, NcHttpRequest *req);
    /* Frees the server's own fields of @req, not @req itself. */
    void (*clear)(NcHttpRequest *req);
};

/* How an answer is sent, besides the server's own headers. */
typedef struct {
    unsigned status;
    const char *content_type;
    const char *cache_control;      /* NULL: "no-store" */
    const char *location;           /* a Location header, or NULL */
    const char *set_cookie;         /* a Set-Cookie header, or NULL */
} NcHttpHead;

/**
 * nc_http_listen_parse:
 * @listen: "ADDR:PORT", such as "127.0.0.1:7400" or "[::1]:0"
 * @example: an address to name in the error message, or NULL for 127.0.0.1:7400
 * @ret_host: the address part, without brackets (caller frees)
 * @ret_port: the port
 * @err: NC_ERR_INVALID_ARGUMENT when malformed
 *
 * Returns: 0, or -1 with @err set and the outputs untouched.
 */
int nc_http_listen_parse(const char *listen, const char *example, char **ret_host,
                         uint16_t *ret_port, GError **err);

/**
 * nc_http_url:
 * @host: an address as nc_http_listen_parse() returns it
 * @port: the port bound
 *
 * Returns: (transfer full): "http://HOST:PORT" for a client on this
 * machine: IPv6 addresses in brackets, 0.0.0.0 as 127.0.0.1.
 */
char *nc_http_url(const char *host, uint16_t port);

/**
 * nc_http_server_start:
 * @server: what the server is (not owned; must outlive the daemon)
 * @owner: passed to the server's begin() and finish()
 * @listen: "ADDR:PORT"; port 0 binds any free port
 * @ret_port: the port bound
 * @ret_url: (optional) the URL of the server, as nc_http_url() makes it
 * @err: set when @listen is malformed or cannot be bound
 *
 * Starts serving on threads of its own.
 *
 * Returns: (transfer full): the daemon, for MHD_stop_daemon(), or NULL.
 */
struct MHD_Daemon *nc_http_server_start(const NcHttpServer *server, void *owner,
                                        const char *listen, uint16_t *ret_port,
                                        char **ret_url, GError **err);

/* Query argument @key of @req, or NULL. */
const char *nc_http_request_query(NcHttpRequest *req, const char *key);
/* Request header @key of @req, or NULL. */
const char *nc_http_request_header(NcHttpRequest *req, const char *key);

/**
 * nc_http_request_json:
 * @req: a request
 * @err: NC_ERR_INVALID_ARGUMENT when the body is not a JSON object
 *
 * Returns: (transfer full): the body parsed as a JSON object, or NULL.
 */
json_t *nc_http_request_json(NcHttpRequest *req, GError **err);

/**
 * nc_http_path_match:
 * @pattern: "/v1/vms/{}/actions": each {} matches one non-empty segment
 * @path: the request's path
 * @max_segment: the longest segment a {} matches, 0 for any
 * @params: (optional) filled with copies of the {} segments (caller frees)
 * @max_params: the room in @params; a pattern with more {} never matches
 * @ret_nparams: (optional) how many @params were filled
 *
 * Returns: whether @path matches; @params are filled only on a match.
 */
bool nc_http_path_match(const char *pattern, const char *path, size_t max_segment,
                        char **params, int max_params, int *ret_nparams);

/**
 * nc_http_set_no_route:
 * @req: a request that no route takes
 * @path_known: whether a route has the path with another method
 * @err: set to NC_ERR_METHOD_NOT_ALLOWED or NC_ERR_NOT_FOUND
 */
void nc_http_set_no_route(NcHttpRequest *req, bool path_known, GError **err);

/**
 * nc_http_send:
 * @req: the request to answer
 * @head: status and headers of the answer
 * @body: the body; with MHD_RESPMEM_MUST_FREE it was allocated with malloc()
 *   and is taken over
 * @len: its length
 * @mode: how libmicrohttpd treats @body
 *
 * Queues the answer with the server's own headers.
 *
 * Returns: libmicrohttpd's verdict.
 */
enum MHD_Result nc_http_send(NcHttpRequest *req, const NcHttpHead *head, void *body,
                             size_t len, enum MHD_ResponseMemoryMode mode);

/* Adds the server's own headers to @r, a response made by a server
 * (a stream). */
void nc_http_add_headers(NcHttpRequest *req, struct MHD_Response *r);

/**
 * nc_http_json_text:
 * @req: the request the text answers
 * @body: a JSON value
 * @ret_len: the length of the text
 *
 * Returns: (transfer full): @body as compact JSON with a newline, from
 * malloc() (free(), or hand it to nc_http_send() with MHD_RESPMEM_MUST_FREE).
 */
char *nc_http_json_text(NcHttpRequest *req, json_t *body, size_t *ret_len);

/* Answers @body as application/json with @head (its content_type is ignored). */
enum MHD_Result nc_http_send_json(NcHttpRequest *req, const NcHttpHead *head, json_t *body);

/* Answers @error as {"error": {"code", "message"}} with the HTTP status of
 * its code; logs it first when that status is 500 or more. */
enum MHD_Result nc_http_send_error(NcHttpRequest *req, const GError *error);

/* Logs @error when its status is 500 or more; returns that status. */
unsigned nc_http_error_status(NcHttpRequest *req, const GError *error);
