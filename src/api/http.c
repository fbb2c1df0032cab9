/* http.c: the HTTP server: libmicrohttpd glue, dispatch, limits, errors. */
#include "api_priv.h"
#include "conf/limits.h"
#include "service/image_service.h"
#include "store/store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uint64_t generation;
    char *body;
    size_t len;
} NcCached;

static void
nc_cached_free(NcCached *c)
{
    g_free(c->body);
    g_free(c);
}

int
nc_listen_parse(const char *listen, char **ret_host, uint16_t *ret_port, GError **err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || colon == listen) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "listen address '%s' must be ADDR:PORT, such as 127.0.0.1:7400",
                     listen ? listen : "");
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

/* ---- request helpers ---- */

const char *
nc_request_query(NcRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
nc_request_header(NcRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

json_t *
nc_request_json(NcRequest *req, GError **err)
{
    return nc_json_parse_object(req->body ? (const char *)req->body->data : "",
                                req->body ? req->body->len : 0, err);
}

static void
nc_request_free(NcRequest *req)
{
    if (!req)
        return;
    g_free(req->path);
    for (int i = 0; i < req->nparams; i++)
        g_free(req->params[i]);
    nc_caller_free(req->caller);
    if (req->body)
        g_byte_array_unref(req->body);
    g_clear_error(&req->early);
    if (req->upload)
        fclose(req->upload);
    if (req->upload_path) {
        /* an upload the handler did not adopt */
        unlink(req->upload_path);
        g_free(req->upload_path);
    }
    g_free(req);
}

/* ---- routing ---- */

/* Matches @path against @pattern; fills params.  Returns true on match. */
static bool
nc_route_match(const char *pattern, const char *path, NcRequest *req)
{
    g_auto(GStrv) pp = g_strsplit(pattern, "/", -1);
    g_auto(GStrv) sp = g_strsplit(path, "/", -1);
    int n = 0;
    if (g_strv_length(pp) != g_strv_length(sp))
        return false;
    for (int i = 0; pp[i]; i++) {
        if (strcmp(pp[i], "{}") == 0) {
            if (!*sp[i] || n >= (int)G_N_ELEMENTS(req->params))
                return false;
            n++;
        } else if (strcmp(pp[i], sp[i]) != 0) {
            return false;
        }
    }
    if (req) {
        n = 0;
        for (int i = 0; pp[i]; i++)
            if (strcmp(pp[i], "{}") == 0)
                req->params[n++] = g_strdup(sp[i]);
        req->nparams = n;
    }
    return true;
}

static const NcRoute *
nc_route_find(const char *method, const char *path, NcRequest *req, GError **err)
{
    bool path_known = false;
    for (size_t i = 0; i < nc_api_route_count; i++) {
        const NcRoute *r = &nc_api_routes[i];
        if (!nc_route_match(r->pattern, path, NULL))
            continue;
        path_known = true;
        if (strcmp(r->method, method) == 0) {
            nc_route_match(r->pattern, path, req);
            return r;
        }
    }
    if (path_known)
        nc_error_set(err, NC_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s", method, path);
    else
        nc_error_set(err, NC_ERR_NOT_FOUND, "no such endpoint: %s", path);
    return NULL;
}

/* ---- responses ---- */

static enum MHD_Result
nc_send(struct MHD_Connection *conn, unsigned status, const char *content_type, char *body,
        size_t len, const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
nc_send_json(struct MHD_Connection *conn, unsigned status, json_t *body, const char *location)
{
    char *text = json_dumps(body, JSON_COMPACT);
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    return nc_send(conn, status, "application/json", withnl, len + 1, location);
}

static enum MHD_Result
nc_send_error(NcRequest *req, const GError *error)
{
    NcErrorCode code = nc_error_code(error);
    unsigned status = nc_error_http_status(code);
    if (status >= 500)
        nc_log_error("%s %s: %s (at %s)", req->method, req->path, error->message,
                     nc_error_last_location());
    g_autoptr(json_t) body = json_pack("{s:{s:s, s:s}}", "error",
                                       "code", nc_error_code_name(code),
                                       "message", error->message);
    return nc_send_json(req->conn, status, body, NULL);
}

/* ---- the cache of store-derived answers ---- */

static char *
nc_cache_key(NcRequest *req)
{
    return g_strdup_printf("%s|%s", req->caller->admin ? "*" : req->caller->project, req->path);
}

static bool
nc_cache_serve(NcApi *api, NcRequest *req, uint64_t gen, enum MHD_Result *ret)
{
    g_autofree char *key = nc_cache_key(req);
    char *copy = NULL;
    size_t len = 0;
    g_mutex_lock(&api->cache_lock);
    NcCached *hit = g_hash_table_lookup(api->cache, key);
    if (hit && hit->generation == gen) {
        copy = g_memdup2(hit->body, hit->len);
        len = hit->len;
    }
    g_mutex_unlock(&api->cache_lock);
    if (!copy)
        return false;
    *ret = nc_send(req->conn, 200, "application/json", copy, len, NULL);
    return true;
}

static void
nc_cache_store(NcApi *api, NcRequest *req, uint64_t gen, json_t *body)
{
    NcCached *e = g_new0(NcCached, 1);
    char *text = json_dumps(body, JSON_COMPACT);
    e->generation = gen;
    e->len = strlen(text) + 1;
    e->body = g_strconcat(text, "\n", NULL);
    free(text);
    g_mutex_lock(&api->cache_lock);
    if (g_hash_table_size(api->cache) > 256)
        g_hash_table_remove_all(api->cache);
    g_hash_table_replace(api->cache, nc_cache_key(req), e);
    g_mutex_unlock(&api->cache_lock);
}

/* ---- dispatch ---- */

static enum MHD_Result
nc_dispatch(NcApi *api, NcRequest *req)
{
    g_autoptr(GError) err = NULL;
    NcResponse resp = { .status = 200 };
    uint64_t gen = 0;
    bool cacheable = (req->route->flags & NC_ROUTE_CACHEABLE) && req->caller &&
                     MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, NULL) == NULL;

    if (cacheable) {
        enum MHD_Result ret;
        gen = nc_store_generation(nc_central_store(api->central));
        if (nc_cache_serve(api, req, gen, &ret))
            return ret;
    }
    if (req->route->handler(api, req, &resp, &err) < 0) {
        json_decref(resp.json);
        g_free(resp.text);
        g_free(resp.location);
        if (!err)
            nc_error_set(&err, NC_ERR_INTERNAL, "the request failed");
        return nc_send_error(req, err);
    }
    enum MHD_Result ret;
    if (resp.stream) {
        ret = MHD_queue_response(req->conn, resp.status, resp.stream);
        MHD_destroy_response(resp.stream);
    } else if (resp.text) {
        ret = nc_send(req->conn, resp.status, resp.content_type ? resp.content_type : "text/plain",
                      resp.text, strlen(resp.text), NULL);
    } else {
        if (!resp.json)
            resp.json = json_object();
        if (req->route->flags & NC_ROUTE_ASYNC) {
            resp.status = 202;
            const char *op = nc_json_str(resp.json, "id");
            resp.location = op ? g_strconcat("/v1/operations/", op, NULL) : NULL;
        }
        if (cacheable)
            nc_cache_store(api, req, gen, resp.json);
        ret = nc_send_json(req->conn, resp.status, resp.json, resp.location);
        json_decref(resp.json);
    }
    g_free(resp.location);
    return ret;
}

/* Everything decided before the body is read: route, token, sizes. */
static void
nc_request_begin(NcApi *api, NcRequest *req)
{
    req->route = nc_route_find(req->method, req->path, req, &req->early);
    if (!req->route)
        return;
    if (!(req->route->flags & NC_ROUTE_PUBLIC)) {
        const char *auth = nc_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = auth && g_str_has_prefix(auth, "Bearer ") ? auth + 7 : NULL;
        if (!token) {
            nc_error_set(&req->early, NC_ERR_UNAUTHENTICATED,
                         "a token is required: send 'Authorization: Bearer TOKEN'");
            return;
        }
        req->caller = nc_central_authenticate(api->central, token, &req->early);
        if (!req->caller)
            return;
    }
    const char *clen = nc_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = clen ? g_ascii_strtoull(clen, NULL, 10) : 0;
    const char *ctype = nc_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool octets = ctype && g_str_has_prefix(ctype, "application/octet-stream");
    if ((req->route->flags & NC_ROUTE_UPLOAD) && octets) {
        if (declared > NC_LIMIT_UPLOAD_BYTES) {
            nc_error_set(&req->early, NC_ERR_TOO_LARGE, "uploads are limited to %llu bytes",
                         (unsigned long long)NC_LIMIT_UPLOAD_BYTES);
            return;
        }
        req->upload_path = nc_image_service_upload_path(api->central);
        int fd = open(req->upload_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        req->upload = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!req->upload)
            nc_error_set(&req->early, NC_ERR_INTERNAL, "cannot store the upload: %s",
                         g_strerror(errno));
        return;
    }
    if (ctype && !g_str_has_prefix(ctype, "application/json") && declared > 0) {
        nc_error_set(&req->early, NC_ERR_INVALID_ARGUMENT,
                     "Content-Type must be application/json%s",
                     (req->route->flags & NC_ROUTE_UPLOAD) ? " or application/octet-stream" : "");
        return;
    }
    if (declared > NC_LIMIT_BODY_BYTES) {
        nc_error_set(&req->early, NC_ERR_TOO_LARGE,
                     "request bodies are limited to %d bytes", NC_LIMIT_BODY_BYTES);
        return;
    }
    req->body = g_byte_array_new();
}

static void
nc_request_feed(NcRequest *req, const char *data, size_t len)
{
    if (req->early || req->too_large)
        return;
    if (req->upload) {
        req->upload_bytes += len;
        if (req->upload_bytes > NC_LIMIT_UPLOAD_BYTES) {
            req->too_large = true;
            fclose(req->upload);
            req->upload = NULL;
        } else if (fwrite(data, 1, len, req->upload) != len) {
            nc_error_set(&req->early, NC_ERR_INTERNAL, "cannot store the upload: %s",
                         g_strerror(errno));
        }
        return;
    }
    if (!req->body)
        return;
    if (req->body->len + len > NC_LIMIT_BODY_BYTES) {
        req->too_large = true;
        return;
    }
    g_byte_array_append(req->body, (const guint8 *)data, (guint)len);
}

static enum MHD_Result
nc_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **con_cls)
{
    NcApi *api = cls;
    NcRequest *req = *con_cls;

    if (!req) {
        req = g_new0(NcRequest, 1);
        req->conn = conn;
        req->method = method;
        req->path = g_strdup(url);
        if (strlen(req->path) > 1 && g_str_has_suffix(req->path, "/"))
            req->path[strlen(req->path) - 1] = '\0';
        *con_cls = req;
        nc_request_begin(api, req);
        if (req->early)
            return nc_send_error(req, req->early);
        return MHD_YES;
    }
    if (*upload_data_size) {
        nc_request_feed(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->early)
        return nc_send_error(req, req->early);
    if (req->too_large) {
        g_autoptr(GError) err = NULL;
        nc_error_set(&err, NC_ERR_TOO_LARGE, "the request body is over the limit of %s",
                     req->upload_path ? "the upload size" : "64 KiB");
        return nc_send_error(req, err);
    }
    if (req->upload) {
        if (fflush(req->upload) != 0 || fsync(fileno(req->upload)) != 0) {
            g_autoptr(GError) err = NULL;
            nc_error_set(&err, NC_ERR_INTERNAL, "cannot store the upload: %s", g_strerror(errno));
            return nc_send_error(req, err);
        }
        fclose(req->upload);
        req->upload = NULL;
    }
    return nc_dispatch(api, req);
}

static void
nc_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    nc_request_free(*con_cls);
    *con_cls = NULL;
}

static void
nc_mhd_log(void *cls, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_strchomp(msg);
    nc_log_debug("http: %s", msg);
}

NcApi *
nc_api_start(NcCentral *c, const char *listen, GError **err)
{
    g_autofree char *host = NULL;
    uint16_t port = 0;
    if (nc_listen_parse(listen, &host, &port, err) < 0)
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
    NcApi *api = g_new0(NcApi, 1);
    api->central = c;
    g_mutex_init(&api->cache_lock);
    api->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)nc_cached_free);
    api->mhd = MHD_start_daemon(flags, port, NULL, NULL, nc_access, api,
                                MHD_OPTION_EXTERNAL_LOGGER, nc_mhd_log, api,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                MHD_OPTION_NOTIFY_COMPLETED, nc_completed, api,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)NC_LIMIT_CONNECTIONS,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                MHD_OPTION_END);
    if (!api->mhd) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot listen on %s (address in use?)", listen);
        nc_api_stop(api);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : port;
    return api;
}

void
nc_api_stop(NcApi *api)
{
    if (!api)
        return;
    g_atomic_int_set(&api->stopping, 1);
    if (api->mhd)
        MHD_stop_daemon(api->mhd);
    g_hash_table_destroy(api->cache);
    g_mutex_clear(&api->cache_lock);
    g_free(api);
}

uint16_t
nc_api_port(NcApi *api)
{
    return api->port;
}
