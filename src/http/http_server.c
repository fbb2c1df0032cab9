/* http_server.c: libmicrohttpd glue shared by the API and the market:
 * listening, request framing, body limits, headers and error replies. */
#include "http_server.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ---- listening ---- */

int
nc_http_listen_parse(const char *listen, const char *example, char **ret_host,
                     uint16_t *ret_port, GError **err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || colon == listen) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "listen address '%s' must be ADDR:PORT, such as %s",
                     listen ? listen : "", example ? example : "127.0.0.1:7400");
        return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || !end || *end || end == colon + 1 || port > 65535) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "port in '%s' is not a number up to 65535",
                     listen);
        return -1;
    }
    g_autofree char *host = g_strndup(listen, (gsize)(colon - listen));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *inner = g_strndup(host + 1, strlen(host) - 2);
        g_free(host);
        host = inner;
    }
    *ret_host = g_steal_pointer(&host);
    *ret_port = (uint16_t)port;
    return 0;
}

char *
nc_http_url(const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    return g_strdup_printf("http://%s%s%s:%u", v6 ? "[" : "",
                           strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, v6 ? "]" : "",
                           port);
}

/* ---- request framing ---- */

/* libmicrohttpd calls this first for every request, with the server as
 * @cls; what it returns is the request's context from then on.  That is
 * how the request learns its server while the access handler's @cls is
 * the server's owner. */
static void *
nc_http_request_new(void *cls, const char *uri, struct MHD_Connection *conn)
{
    const NcHttpServer *server = cls;
    NcHttpRequest *req = g_malloc0(server->request_size);
    req->server = server;
    req->conn = conn;
    return req;
}

static void
nc_http_request_free(NcHttpRequest *req)
{
    if (!req)
        return;
    if (req->server->clear)
        req->server->clear(req);
    g_free(req->path);
    if (req->body)
        g_byte_array_unref(req->body);
    g_clear_error(&req->early);
    g_free(req);
}

static void
nc_http_request_feed(NcHttpRequest *req, const char *data, size_t len)
{
    if (req->early || req->too_large)
        return;
    if (req->server->feed && req->server->feed(req, data, len))
        return;
    if (!req->body)
        return;
    if (req->body->len + len > req->body_limit) {
        req->too_large = true;
        return;
    }
    g_byte_array_append(req->body, (const guint8 *)data, (guint)len);
}

static enum MHD_Result
nc_http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **con_cls)
{
    NcHttpRequest *req = *con_cls;
    const NcHttpServer *server = req->server;

    if (!req->method) {
        req->method = method;
        req->path = g_strdup(url);
        size_t len = strlen(req->path);
        if (len > 1 && req->path[len - 1] == '/')
            req->path[len - 1] = '\0';
        server->begin(cls, req);
        if (req->early)
            return nc_http_send_error(req, req->early);
        return MHD_YES;
    }
    if (*upload_data_size) {
        nc_http_request_feed(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->early)
        return nc_http_send_error(req, req->early);
    if (req->too_large) {
        g_autoptr(GError) err = NULL;
        server->body_too_large(req, &err);
        return nc_http_send_error(req, err);
    }
    return server->finish(cls, req);
}

static void
nc_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    nc_http_request_free(*con_cls);
    *con_cls = NULL;
}

static void
nc_http_log(void *cls, const char *fmt, va_list ap)
{
    const NcHttpServer *server = cls;
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_strchomp(msg);
    nc_log_debug("%s%shttp: %s", server->name ? server->name : "", server->name ? " " : "",
                 msg);
}

struct MHD_Daemon *
nc_http_server_start(const NcHttpServer *server, void *owner, const char *listen,
                     uint16_t *ret_port, char **ret_url, GError **err)
{
    g_autofree char *host = NULL;
    uint16_t port = 0;
    if (nc_http_listen_parse(listen, server->listen_example, &host, &port, err) < 0)
        return NULL;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "listen address '%s' is not an IPv4 or IPv6 address", host);
        return NULL;
    }
    struct MHD_Daemon *mhd =
        MHD_start_daemon(flags, port, NULL, NULL, nc_http_access, owner,
                         MHD_OPTION_EXTERNAL_LOGGER, nc_http_log, (void *)server,
                         MHD_OPTION_URI_LOG_CALLBACK, nc_http_request_new, (void *)server,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_NOTIFY_COMPLETED, nc_http_completed, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, server->max_connections,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                         MHD_OPTION_END);
    if (!mhd) {
        g_autofree char *who = server->name ? g_strdup_printf("the %s ", server->name) : NULL;
        nc_error_set(err, NC_ERR_UNAVAILABLE, "%scannot listen on %s (address in use?)",
                     who ? who : "", listen);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    *ret_port = info ? info->port : port;
    if (ret_url)
        *ret_url = nc_http_url(host, *ret_port);
    return mhd;
}

/* ---- requests ---- */

const char *
nc_http_request_query(NcHttpRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
nc_http_request_header(NcHttpRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

json_t *
nc_http_request_json(NcHttpRequest *req, GError **err)
{
    return nc_json_parse_object(req->body ? (const char *)req->body->data : "",
                                req->body ? req->body->len : 0, err);
}

/* ---- routing ---- */

bool
nc_http_path_match(const char *pattern, const char *path, size_t max_segment, char **params,
                   int max_params, int *ret_nparams)
{
    g_auto(GStrv) pp = g_strsplit(pattern, "/", -1);
    g_auto(GStrv) sp = g_strsplit(path, "/", -1);
    if (g_strv_length(pp) != g_strv_length(sp))
        return false;
    int n = 0;
    for (int i = 0; pp[i]; i++) {
        if (strcmp(pp[i], "{}") == 0) {
            if (!*sp[i] || (max_segment && strlen(sp[i]) > max_segment) || n >= max_params)
                return false;
            n++;
        } else if (strcmp(pp[i], sp[i]) != 0) {
            return false;
        }
    }
    if (params) {
        n = 0;
        for (int i = 0; pp[i]; i++)
            if (strcmp(pp[i], "{}") == 0)
                params[n++] = g_strdup(sp[i]);
    }
    if (ret_nparams)
        *ret_nparams = n;
    return true;
}

void
nc_http_set_no_route(NcHttpRequest *req, bool path_known, GError **err)
{
    if (path_known)
        nc_error_set(err, NC_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s", req->method,
                     req->path);
    else
        nc_error_set(err, NC_ERR_NOT_FOUND, "no such endpoint: %s", req->path);
}

/* ---- answers ---- */

void
nc_http_add_headers(NcHttpRequest *req, struct MHD_Response *r)
{
    const char *const *h = req->server->headers;
    for (size_t i = 0; h && h[i]; i += 2)
        MHD_add_response_header(r, h[i], h[i + 1]);
}

enum MHD_Result
nc_http_send(NcHttpRequest *req, const NcHttpHead *head, void *body, size_t len,
             enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, head->content_type);
    nc_http_add_headers(req, r);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            head->cache_control ? head->cache_control : "no-store");
    if (req->server->html_policy && g_str_has_prefix(head->content_type, "text/html"))
        MHD_add_response_header(r, "Content-Security-Policy", req->server->html_policy);
    if (head->location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, head->location);
    if (head->set_cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, head->set_cookie);
    enum MHD_Result ret = MHD_queue_response(req->conn, head->status, r);
    MHD_destroy_response(r);
    return ret;
}

char *
nc_http_json_text(NcHttpRequest *req, json_t *body, size_t *ret_len)
{
    /* the market's reals want their own precision; everything else takes
     * the faster writer (its buffer, like jansson's, is malloc()'s) */
    size_t flags = req->server->json_flags;
    char *text = flags ? json_dumps(body, JSON_COMPACT | flags) : nc_json_dumps(body);
    if (!text) {
        /* a string that is not UTF-8: none of ours can be, but if one
         * ever is, the client hears of it rather than the daemon aborting */
        nc_log_error("%s %s: the reply is not valid JSON text", req->method, req->path);
        text = strdup("{\"error\":{\"code\":\"internal\","
                      "\"message\":\"the reply could not be encoded as JSON\"}}");
        if (!text)
            g_error("out of memory");
    }
    size_t len = strlen(text);
    /* grown in place: a list can be large, and a copy would cost */
    char *withnl = realloc(text, len + 2);
    if (!withnl)
        g_error("out of memory");
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    *ret_len = len + 1;
    return withnl;
}

enum MHD_Result
nc_http_send_json(NcHttpRequest *req, const NcHttpHead *head, json_t *body)
{
    NcHttpHead h = *head;
    h.content_type = "application/json";
    size_t len = 0;
    char *text = nc_http_json_text(req, body, &len);
    return nc_http_send(req, &h, text, len, MHD_RESPMEM_MUST_FREE);
}

unsigned
nc_http_error_status(NcHttpRequest *req, const GError *error)
{
    NcErrorCode code = nc_error_code(error);
    unsigned status = nc_error_http_status(code);
    if (status >= 500 && !(code == NC_ERR_UNAVAILABLE && req->server->quiet_unavailable))
        nc_log_error("%s%s%s %s: %s (at %s)", req->server->name ? req->server->name : "",
                     req->server->name ? ": " : "", req->method, req->path, error->message,
                     nc_error_last_location());
    return status;
}

enum MHD_Result
nc_http_send_error(NcHttpRequest *req, const GError *error)
{
    unsigned status = nc_http_error_status(req, error);
    g_autoptr(json_t) body = json_pack("{s:{s:s, s:s}}", "error",
                                       "code", nc_error_code_name(nc_error_code(error)),
                                       "message", error->message);
    return nc_http_send_json(req, &(NcHttpHead){ .status = status }, body);
}
