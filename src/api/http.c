/* http.c: the API's side of its HTTP server: routes, bearer tokens, body
 * and upload limits, the answer cache.  src/http does the rest. */
#include "api_priv.h"
#include "conf/limits.h"
#include "service/image_service.h"
#include "store/store.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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

/* ---- request helpers ---- */

const char *
nc_request_query(NcRequest *req, const char *key)
{
    return nc_http_request_query(&req->http, key);
}

const char *
nc_request_header(NcRequest *req, const char *key)
{
    return nc_http_request_header(&req->http, key);
}

json_t *
nc_request_json(NcRequest *req, GError **err)
{
    return nc_http_request_json(&req->http, err);
}

static void
nc_request_clear(NcHttpRequest *http)
{
    NcRequest *req = (NcRequest *)http;
    for (int i = 0; i < req->nparams; i++)
        g_free(req->params[i]);
    nc_caller_free(req->caller);
    if (req->upload)
        fclose(req->upload);
    if (req->upload_path) {
        /* an upload the handler did not adopt */
        unlink(req->upload_path);
        g_free(req->upload_path);
    }
}

/* ---- routing ---- */

static const NcRoute *
nc_route_find(NcRequest *req, GError **err)
{
    bool path_known = false;
    for (size_t i = 0; i < nc_api_route_count; i++) {
        const NcRoute *r = &nc_api_routes[i];
        if (!nc_http_path_match(r->pattern, req->http.path, 0, NULL,
                                (int)G_N_ELEMENTS(req->params), NULL))
            continue;
        path_known = true;
        if (strcmp(r->method, req->http.method) == 0) {
            nc_http_path_match(r->pattern, req->http.path, 0, req->params,
                               (int)G_N_ELEMENTS(req->params), &req->nparams);
            return r;
        }
    }
    nc_http_set_no_route(&req->http, path_known, err);
    return NULL;
}

/* ---- the cache of store-derived answers ---- */

static char *
nc_cache_key(NcRequest *req)
{
    return g_strdup_printf("%s|%s", req->caller->admin ? "*" : req->caller->project,
                           req->http.path);
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
    *ret = nc_http_send(&req->http, &(NcHttpHead){ .status = 200,
                                                   .content_type = "application/json" },
                        copy, len, MHD_RESPMEM_MUST_FREE);
    return true;
}

static void
nc_cache_store(NcApi *api, NcRequest *req, uint64_t gen, json_t *body)
{
    NcCached *e = g_new0(NcCached, 1);
    e->generation = gen;
    char *text = nc_http_json_text(&req->http, body, &e->len);
    e->body = g_memdup2(text, e->len);
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
                     MHD_lookup_connection_value(req->http.conn, MHD_GET_ARGUMENT_KIND,
                                                 NULL) == NULL;

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
        return nc_http_send_error(&req->http, err);
    }
    enum MHD_Result ret;
    if (resp.stream) {
        ret = MHD_queue_response(req->http.conn, resp.status, resp.stream);
        MHD_destroy_response(resp.stream);
    } else if (resp.text) {
        NcHttpHead head = {
            .status = resp.status,
            .content_type = resp.content_type ? resp.content_type : "text/plain",
        };
        ret = nc_http_send(&req->http, &head, resp.text, strlen(resp.text),
                           MHD_RESPMEM_MUST_FREE);
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
        NcHttpHead head = { .status = resp.status, .location = resp.location };
        ret = nc_http_send_json(&req->http, &head, resp.json);
        json_decref(resp.json);
    }
    g_free(resp.location);
    return ret;
}

/* Everything decided before the body is read: route, token, sizes. */
static void
nc_request_begin(void *owner, NcHttpRequest *http)
{
    NcApi *api = owner;
    NcRequest *req = (NcRequest *)http;
    req->route = nc_route_find(req, &http->early);
    if (!req->route)
        return;
    if (!(req->route->flags & NC_ROUTE_PUBLIC)) {
        const char *auth = nc_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = auth && g_str_has_prefix(auth, "Bearer ") ? auth + 7 : NULL;
        if (!token) {
            nc_error_set(&http->early, NC_ERR_UNAUTHENTICATED,
                         "a token is required: send 'Authorization: Bearer TOKEN'");
            return;
        }
        req->caller = nc_central_authenticate(api->central, token, &http->early);
        if (!req->caller)
            return;
    }
    const char *clen = nc_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = clen ? g_ascii_strtoull(clen, NULL, 10) : 0;
    const char *ctype = nc_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool octets = ctype && g_str_has_prefix(ctype, "application/octet-stream");
    if ((req->route->flags & NC_ROUTE_UPLOAD) && octets) {
        if (declared > NC_LIMIT_UPLOAD_BYTES) {
            nc_error_set(&http->early, NC_ERR_TOO_LARGE, "uploads are limited to %llu bytes",
                         (unsigned long long)NC_LIMIT_UPLOAD_BYTES);
            return;
        }
        req->upload_path = nc_image_service_upload_path(api->central);
        int fd = open(req->upload_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        req->upload = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!req->upload)
            nc_error_set(&http->early, NC_ERR_INTERNAL, "cannot store the upload: %s",
                         g_strerror(errno));
        return;
    }
    if (ctype && !g_str_has_prefix(ctype, "application/json") && declared > 0) {
        nc_error_set(&http->early, NC_ERR_INVALID_ARGUMENT,
                     "Content-Type must be application/json%s",
                     (req->route->flags & NC_ROUTE_UPLOAD) ? " or application/octet-stream" : "");
        return;
    }
    if (declared > NC_LIMIT_BODY_BYTES) {
        nc_error_set(&http->early, NC_ERR_TOO_LARGE,
                     "request bodies are limited to %d bytes", NC_LIMIT_BODY_BYTES);
        return;
    }
    http->body = g_byte_array_new();
    http->body_limit = NC_LIMIT_BODY_BYTES;
}

/* An upload goes to its file, not to memory. */
static bool
nc_request_feed(NcHttpRequest *http, const char *data, size_t len)
{
    NcRequest *req = (NcRequest *)http;
    if (!req->upload)
        return false;
    req->upload_bytes += len;
    if (req->upload_bytes > NC_LIMIT_UPLOAD_BYTES) {
        http->too_large = true;
        fclose(req->upload);
        req->upload = NULL;
    } else if (fwrite(data, 1, len, req->upload) != len) {
        nc_error_set(&http->early, NC_ERR_INTERNAL, "cannot store the upload: %s",
                     g_strerror(errno));
    }
    return true;
}

static void
nc_request_too_large(NcHttpRequest *http, GError **err)
{
    NcRequest *req = (NcRequest *)http;
    nc_error_set(err, NC_ERR_TOO_LARGE, "the request body is over the limit of %s",
                 req->upload_path ? "the upload size" : "64 KiB");
}

static enum MHD_Result
nc_request_finish(void *owner, NcHttpRequest *http)
{
    NcRequest *req = (NcRequest *)http;
    if (req->upload) {
        if (fflush(req->upload) != 0 || fsync(fileno(req->upload)) != 0) {
            g_autoptr(GError) err = NULL;
            nc_error_set(&err, NC_ERR_INTERNAL, "cannot store the upload: %s", g_strerror(errno));
            return nc_http_send_error(http, err);
        }
        fclose(req->upload);
        req->upload = NULL;
    }
    return nc_dispatch(owner, req);
}

static const char *const nc_api_headers[] = {
    "X-Content-Type-Options", "nosniff",
    NULL,
};

/* the layer allocates requests of request_size and sees their first member */
G_STATIC_ASSERT(G_STRUCT_OFFSET(NcRequest, http) == 0);

static const NcHttpServer nc_api_http = {
    .listen_example = "127.0.0.1:7400",
    .max_connections = NC_LIMIT_CONNECTIONS,
    .headers = nc_api_headers,
    .request_size = sizeof(NcRequest),
    .begin = nc_request_begin,
    .feed = nc_request_feed,
    .body_too_large = nc_request_too_large,
    .finish = nc_request_finish,
    .clear = nc_request_clear,
};

NcApi *
nc_api_start(NcCentral *c, const char *listen, GError **err)
{
    NcApi *api = g_new0(NcApi, 1);
    api->central = c;
    g_mutex_init(&api->cache_lock);
    api->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)nc_cached_free);
    api->mhd = nc_http_server_start(&nc_api_http, api, listen, &api->port, NULL, err);
    if (!api->mhd) {
        nc_api_stop(api);
        return NULL;
    }
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
