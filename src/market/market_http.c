/* market_http.c: the market's HTTP server: libmicrohttpd glue, pages and
 * static files, authentication, CSRF, limits and errors. */
#include "nc_config.h"
#include "market_http.h"
#include "accounts.h"
#include "offers.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* What the browser may do with our pages: only our own scripts and styles,
 * no inline script, no framing.  A name a user typed can never run. */
#define NC_MARKET_CSP \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;" \
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

#define NC_MARKET_WEB_FILES_MAX 64
#define NC_MARKET_WEB_FILE_MAX (1024 * 1024)
#define NC_PAGE_DATA_MARK "{{PAGE_DATA}}"

struct NcMarketWeb {
    char *dir;
    GHashTable *files;          /* name -> GBytes */
};

typedef struct {
    uint64_t generation;
    GBytes *body;               /* the HTML page, or NULL */
    json_t *json;               /* the page's data alone, or NULL */
} NcPageCached;

static void
nc_page_cached_free(NcPageCached *c)
{
    if (c->body)
        g_bytes_unref(c->body);
    json_decref(c->json);
    g_free(c);
}

/* ---- web files ---- */

static const char *
nc_market_content_type(const char *name)
{
    if (g_str_has_suffix(name, ".html"))
        return "text/html; charset=utf-8";
    if (g_str_has_suffix(name, ".js"))
        return "text/javascript; charset=utf-8";
    if (g_str_has_suffix(name, ".css"))
        return "text/css; charset=utf-8";
    if (g_str_has_suffix(name, ".svg"))
        return "image/svg+xml";
    if (g_str_has_suffix(name, ".png"))
        return "image/png";
    return "application/octet-stream";
}

static char *
nc_market_web_find(const char *dir)
{
    const char *env = g_getenv("NESTCLOUD_MARKET_WEB");
    const char *dirs[] = { dir, env, NC_SOURCE_DIR "/web/market", NC_DATA_DIR "/market" };
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (!dirs[i])
            continue;
        g_autofree char *index = g_build_filename(dirs[i], "index.html", NULL);
        if (g_file_test(index, G_FILE_TEST_IS_REGULAR))
            return g_strdup(dirs[i]);
        if (i == 0) /* an explicit directory must be right */
            return NULL;
    }
    return NULL;
}

NcMarketWeb *
nc_market_web_load(const char *dir, GError **err)
{
    g_autofree char *found = nc_market_web_find(dir);
    if (!found) {
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "cannot find the market's web files (index.html) in %s; pass --web-dir",
                     dir ? dir : NC_SOURCE_DIR "/web/market or " NC_DATA_DIR "/market");
        return NULL;
    }
    g_autoptr(GDir) d = g_dir_open(found, 0, NULL);
    if (!d) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "cannot read %s", found);
        return NULL;
    }
    NcMarketWeb *w = g_new0(NcMarketWeb, 1);
    w->dir = g_steal_pointer(&found);
    w->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify)g_bytes_unref);
    const char *name;
    while ((name = g_dir_read_name(d)) && g_hash_table_size(w->files) < NC_MARKET_WEB_FILES_MAX) {
        if (name[0] == '.')
            continue;
        g_autofree char *path = g_build_filename(w->dir, name, NULL);
        char *text = NULL;
        gsize len = 0;
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR) || !g_file_get_contents(path, &text, &len,
                                                                               NULL))
            continue;
        if (len > NC_MARKET_WEB_FILE_MAX) {
            g_free(text);
            continue;
        }
        g_hash_table_insert(w->files, g_strdup(name), g_bytes_new_take(text, len));
    }
    return w;
}

void
nc_market_web_free(NcMarketWeb *w)
{
    if (!w)
        return;
    g_hash_table_destroy(w->files);
    g_free(w->dir);
    g_free(w);
}

/* ---- requests ---- */

const char *
nc_market_request_query(NcMarketRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
nc_market_request_header(NcMarketRequest *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

static void
nc_market_request_free(NcMarketRequest *req)
{
    if (!req)
        return;
    g_free(req->path);
    for (int i = 0; i < req->nparams; i++)
        g_free(req->params[i]);
    nc_market_caller_free(req->caller);
    if (req->body)
        g_byte_array_unref(req->body);
    json_decref(req->json);
    g_clear_error(&req->early);
    g_free(req);
}

char *
nc_market_cookie(NcMarket *m, const char *value)
{
    if (!value)
        return g_strdup(NC_MARKET_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return g_strdup_printf(NC_MARKET_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
                           value, m->cfg.session_ttl_s);
}

/* ---- responses ---- */

static void
nc_market_common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
}

static enum MHD_Result
nc_market_send(struct MHD_Connection *conn, unsigned status, const char *type, void *body,
               size_t len, enum MHD_ResponseMemoryMode mode, const char *cache,
               const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    nc_market_common_headers(r);
    if (g_str_has_prefix(type, "text/html"))
        MHD_add_response_header(r, "Content-Security-Policy", NC_MARKET_CSP);
    if (cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
nc_market_send_json(struct MHD_Connection *conn, unsigned status, json_t *body,
                    const char *cookie)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12));
    g_autofree char *withnl = g_strconcat(text, "\n", NULL);
    free(text);
    size_t len = strlen(withnl);
    return nc_market_send(conn, status, "application/json", g_steal_pointer(&withnl), len,
                          MHD_RESPMEM_MUST_FREE, "no-store", cookie);
}

static enum MHD_Result
nc_market_send_error(NcMarketRequest *req, const GError *error)
{
    NcErrorCode code = nc_error_code(error);
    unsigned status = nc_error_http_status(code);
    if (status >= 500 && code != NC_ERR_UNAVAILABLE)
        nc_log_error("market: %s %s: %s (at %s)", req->method, req->path, error->message,
                     nc_error_last_location());
    if (req->is_page) {
        g_autofree char *esc = g_markup_escape_text(error->message, -1);
        char *html = g_strdup_printf("<!doctype html><meta charset=utf-8><title>%u</title>"
                                     "<link rel=stylesheet href=\"/static/style.css\">"
                                     "<main class=narrow><h1>%u</h1><p>%s</p>"
                                     "<p><a href=\"/\">Back to the catalogue</a></p></main>",
                                     status, status, esc);
        return nc_market_send(req->conn, status, "text/html; charset=utf-8", html, strlen(html),
                              MHD_RESPMEM_MUST_FREE, "no-store", NULL);
    }
    g_autoptr(json_t) body = json_pack("{s:{s:s, s:s}}", "error", "code",
                                       nc_error_code_name(code), "message", error->message);
    return nc_market_send_json(req->conn, status, body, NULL);
}

/* ---- pages ---- */

static const struct {
    const char *path;
    const char *file;
} nc_market_pages[] = {
    { "/", "index.html" },
    { "/login", "login.html" },
    { "/register", "register.html" },
    { "/account", "account.html" },
    { "/provider", "provider.html" },
    { "/contracts", "contracts.html" },
};

/* JSON that is safe inside <script type="application/json">: no "<", ">"
 * or "&" survive, so "</script>" cannot end the element early. */
static char *
nc_market_json_for_html(json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
    GString *s = g_string_sized_new(strlen(text) + 64);
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            g_string_append(s, "\\u003c");
        else if (*p == '>')
            g_string_append(s, "\\u003e");
        else if (*p == '&')
            g_string_append(s, "\\u0026");
        else
            g_string_append_c(s, *p);
    }
    free(text);
    return g_string_free(s, FALSE);
}

static GBytes *
nc_market_offer_page_render(NcMarket *m, const char *id, GError **err)
{
    GBytes *tmpl = g_hash_table_lookup(m->web->files, "offer.html");
    if (!tmpl) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "the service page is missing from the web files");
        return NULL;
    }
    uint64_t gen = nc_store_generation(m->store);
    g_autofree char *key = g_strconcat("/offers/", id, NULL);
    g_mutex_lock(&m->cache_lock);
    NcPageCached *hit = g_hash_table_lookup(m->page_cache, key);
    GBytes *out = hit && hit->generation == gen && hit->body ? g_bytes_ref(hit->body) : NULL;
    g_mutex_unlock(&m->cache_lock);
    if (out)
        return out;
    g_autoptr(json_t) data = nc_market_offer_page(m, NULL, id, err);
    if (!data)
        return NULL;
    g_autofree char *safe = nc_market_json_for_html(data);
    gsize len = 0;
    const char *t = g_bytes_get_data(tmpl, &len);
    g_autofree char *text = g_strndup(t, len);
    char *mark = strstr(text, NC_PAGE_DATA_MARK);
    if (!mark) {
        nc_error_set(err, NC_ERR_INTERNAL, "offer.html has no " NC_PAGE_DATA_MARK);
        return NULL;
    }
    *mark = '\0';
    char *page = g_strconcat(text, safe, mark + strlen(NC_PAGE_DATA_MARK), NULL);
    out = g_bytes_new_take(page, strlen(page));
    NcPageCached *c = g_new0(NcPageCached, 1);
    c->generation = gen;
    c->body = g_bytes_ref(out);
    g_mutex_lock(&m->cache_lock);
    if (g_hash_table_size(m->page_cache) > 1024)
        g_hash_table_remove_all(m->page_cache);
    g_hash_table_replace(m->page_cache, g_steal_pointer(&key), c);
    g_mutex_unlock(&m->cache_lock);
    return out;
}

json_t *
nc_market_offer_page_public(NcMarket *m, const char *id, GError **err)
{
    uint64_t gen = nc_store_generation(m->store);
    g_autofree char *key = g_strconcat("json:/offers/", id, NULL);
    g_mutex_lock(&m->cache_lock);
    NcPageCached *hit = g_hash_table_lookup(m->page_cache, key);
    /* jansson's reference counts are atomic, and nobody changes a cached
     * object: it is only dumped */
    json_t *out = hit && hit->generation == gen && hit->json ? json_incref(hit->json) : NULL;
    g_mutex_unlock(&m->cache_lock);
    if (out)
        return out;
    out = nc_market_offer_page(m, NULL, id, err);
    if (!out)
        return NULL;
    NcPageCached *c = g_new0(NcPageCached, 1);
    c->generation = gen;
    c->json = json_incref(out);
    g_mutex_lock(&m->cache_lock);
    if (g_hash_table_size(m->page_cache) > 1024)
        g_hash_table_remove_all(m->page_cache);
    g_hash_table_replace(m->page_cache, g_steal_pointer(&key), c);
    g_mutex_unlock(&m->cache_lock);
    return out;
}

static enum MHD_Result
nc_market_send_bytes(struct MHD_Connection *conn, GBytes *b, const char *type, const char *cache)
{
    gsize len = 0;
    const void *data = g_bytes_get_data(b, &len);
    /* MHD copies with MUST_COPY; the bytes stay ours */
    return nc_market_send(conn, 200, type, (void *)data, len, MHD_RESPMEM_MUST_COPY, cache, NULL);
}

static enum MHD_Result
nc_market_serve_page(NcMarket *m, NcMarketRequest *req)
{
    g_autoptr(GError) err = NULL;
    const char *path = req->path;
    req->is_page = true;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        nc_error_set(&err, NC_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s", req->method,
                     path);
        return nc_market_send_error(req, err);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(nc_market_pages); i++) {
        if (strcmp(path, nc_market_pages[i].path) == 0) {
            GBytes *b = g_hash_table_lookup(m->web->files, nc_market_pages[i].file);
            if (b)
                return nc_market_send_bytes(req->conn, b, "text/html; charset=utf-8", "no-cache");
        }
    }
    if (g_str_has_prefix(path, "/static/")) {
        const char *name = path + strlen("/static/");
        GBytes *b = strchr(name, '/') ? NULL : g_hash_table_lookup(m->web->files, name);
        if (b && !g_str_has_suffix(name, ".html"))
            return nc_market_send_bytes(req->conn, b, nc_market_content_type(name),
                                        "public, max-age=300");
    }
    if (g_str_has_prefix(path, "/offers/")) {
        const char *id = path + strlen("/offers/");
        if (!strchr(id, '/') && strlen(id) <= 36) {
            g_autoptr(GBytes) b = nc_market_offer_page_render(m, id, &err);
            if (!b)
                return nc_market_send_error(req, err);
            return nc_market_send_bytes(req->conn, b, "text/html; charset=utf-8", "no-cache");
        }
    }
    nc_error_set(&err, NC_ERR_NOT_FOUND, "There is no page at this address.");
    return nc_market_send_error(req, err);
}

/* ---- routing and dispatch ---- */

static bool
nc_market_route_match(const char *pattern, const char *path, NcMarketRequest *req)
{
    g_auto(GStrv) pp = g_strsplit(pattern, "/", -1);
    g_auto(GStrv) sp = g_strsplit(path, "/", -1);
    if (g_strv_length(pp) != g_strv_length(sp))
        return false;
    int n = 0;
    for (int i = 0; pp[i]; i++) {
        if (strcmp(pp[i], "{}") == 0) {
            if (!*sp[i] || strlen(sp[i]) > 64 || n >= (int)G_N_ELEMENTS(req->params))
                return false;
            n++;
        } else if (strcmp(pp[i], sp[i]) != 0) {
            return false;
        }
    }
    if (req && !req->route) {
        n = 0;
        for (int i = 0; pp[i]; i++)
            if (strcmp(pp[i], "{}") == 0)
                req->params[n++] = g_strdup(sp[i]);
        req->nparams = n;
    }
    return true;
}

static const NcMarketRoute *
nc_market_route_find(NcMarketRequest *req, GError **err)
{
    bool known = false;
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    for (size_t i = 0; i < nc_market_route_count; i++) {
        const NcMarketRoute *r = &nc_market_routes[i];
        if (!nc_market_route_match(r->pattern, req->path, NULL))
            continue;
        known = true;
        if (strcmp(r->method, method) == 0) {
            nc_market_route_match(r->pattern, req->path, req);
            return r;
        }
    }
    if (known)
        nc_error_set(err, NC_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s", req->method,
                     req->path);
    else
        nc_error_set(err, NC_ERR_NOT_FOUND, "no such endpoint: %s", req->path);
    return NULL;
}

/* An Origin header, when a browser sends one, must be this server's. */
static bool
nc_market_origin_ok(NcMarketRequest *req)
{
    const char *origin = nc_market_request_header(req, "Origin");
    const char *host = nc_market_request_header(req, MHD_HTTP_HEADER_HOST);
    if (!origin)
        return true;
    if (!host)
        return false;
    g_autofree char *http = g_strconcat("http://", host, NULL);
    g_autofree char *https = g_strconcat("https://", host, NULL);
    return strcmp(origin, http) == 0 || strcmp(origin, https) == 0;
}

static bool
nc_market_method_changes(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Everything decided before the body is read. */
static void
nc_market_request_begin(NcMarket *m, NcMarketRequest *req)
{
    req->route = nc_market_route_find(req, &req->early);
    if (!req->route)
        return;
    const char *auth = nc_market_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *bearer = NULL;
    if (auth) {
        if (!g_str_has_prefix(auth, "Bearer ") || strlen(auth) > 256) {
            nc_error_set(&req->early, NC_ERR_UNAUTHENTICATED,
                         "the Authorization header must be 'Bearer TOKEN'");
            return;
        }
        bearer = auth + 7;
    }
    const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, NC_MARKET_COOKIE);
    req->caller = nc_market_authenticate(m, cookie, bearer, &req->early);
    if (req->early)
        return;
    unsigned flags = req->route->flags;
    if (!req->caller && !(flags & NC_MROUTE_PUBLIC)) {
        nc_error_set(&req->early, NC_ERR_UNAUTHENTICATED,
                     "log in first, or send 'Authorization: Bearer TOKEN' with an API token");
        return;
    }
    if ((flags & NC_MROUTE_PROVIDER) && !req->caller->provider) {
        nc_error_set(&req->early, NC_ERR_FORBIDDEN,
                     "only providers may do this; become one in your account (company, tax "
                     "number, IBAN, address)");
        return;
    }
    if (nc_market_method_changes(req->method)) {
        if (!nc_market_origin_ok(req)) {
            nc_error_set(&req->early, NC_ERR_FORBIDDEN,
                         "a request from another site was refused (Origin does not match)");
            return;
        }
        if (req->caller && req->caller->session) {
            const char *csrf = nc_market_request_header(req, "X-CSRF-Token");
            if (!csrf || !nc_secret_equal(csrf, req->caller->csrf)) {
                nc_error_set(&req->early, NC_ERR_FORBIDDEN,
                             "the CSRF token is missing or wrong: send X-CSRF-Token from "
                             "GET /market/v1/me");
                return;
            }
        }
    }
    const char *clen = nc_market_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = clen ? g_ascii_strtoull(clen, NULL, 10) : 0;
    if (declared > NC_MARKET_BODY_BYTES) {
        nc_error_set(&req->early, NC_ERR_TOO_LARGE, "request bodies are limited to %d bytes",
                     NC_MARKET_BODY_BYTES);
        return;
    }
    const char *ctype = nc_market_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if ((flags & NC_MROUTE_JSON) && (!ctype || !g_str_has_prefix(ctype, "application/json"))) {
        nc_error_set(&req->early, NC_ERR_INVALID_ARGUMENT,
                     "send the body as JSON with Content-Type: application/json");
        return;
    }
    req->body = g_byte_array_new();
}

static enum MHD_Result
nc_market_dispatch(NcMarket *m, NcMarketRequest *req)
{
    g_autoptr(GError) err = NULL;
    NcMarketResponse resp = { .status = 200 };
    unsigned flags = req->route->flags;

    if (flags & NC_MROUTE_JSON) {
        req->json = nc_json_parse_object((const char *)req->body->data, req->body->len, &err);
        if (!req->json)
            return nc_market_send_error(req, err);
    }
    if (flags & NC_MROUTE_CREATED)
        resp.status = 201;
    if (flags & NC_MROUTE_ACCEPTED)
        resp.status = 202;
    if (req->route->handler(m, req, &resp, &err) < 0) {
        json_decref(resp.json);
        g_free(resp.set_cookie);
        if (resp.stream)
            MHD_destroy_response(resp.stream);
        if (!err)
            nc_error_set(&err, NC_ERR_INTERNAL, "the request failed");
        return nc_market_send_error(req, err);
    }
    enum MHD_Result ret;
    if (resp.stream) {
        nc_market_common_headers(resp.stream);
        ret = MHD_queue_response(req->conn, resp.status, resp.stream);
        MHD_destroy_response(resp.stream);
    } else {
        if (!resp.json)
            resp.json = json_object();
        ret = nc_market_send_json(req->conn, resp.status, resp.json, resp.set_cookie);
        json_decref(resp.json);
    }
    g_free(resp.set_cookie);
    return ret;
}

static enum MHD_Result
nc_market_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                 const char *version, const char *upload_data, size_t *upload_data_size,
                 void **con_cls)
{
    NcMarket *m = cls;
    NcMarketRequest *req = *con_cls;

    if (!req) {
        req = g_new0(NcMarketRequest, 1);
        req->conn = conn;
        req->method = method;
        req->path = g_strdup(url);
        if (strlen(req->path) > 1 && g_str_has_suffix(req->path, "/"))
            req->path[strlen(req->path) - 1] = '\0';
        *con_cls = req;
        if (!g_str_has_prefix(req->path, "/market/v1/") &&
            strcmp(req->path, "/market/v1") != 0) {
            req->is_page = true;
            return MHD_YES;
        }
        nc_market_request_begin(m, req);
        if (req->early)
            return nc_market_send_error(req, req->early);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (req->body && !req->too_large) {
            if (req->body->len + *upload_data_size > NC_MARKET_BODY_BYTES)
                req->too_large = true;
            else
                g_byte_array_append(req->body, (const guint8 *)upload_data,
                                    (guint)*upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->is_page)
        return nc_market_serve_page(m, req);
    if (req->early)
        return nc_market_send_error(req, req->early);
    if (req->too_large) {
        g_autoptr(GError) err = NULL;
        nc_error_set(&err, NC_ERR_TOO_LARGE, "request bodies are limited to %d bytes",
                     NC_MARKET_BODY_BYTES);
        return nc_market_send_error(req, err);
    }
    return nc_market_dispatch(m, req);
}

static void
nc_market_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    nc_market_request_free(*con_cls);
    *con_cls = NULL;
}

static void
nc_market_mhd_log(void *cls, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_strchomp(msg);
    nc_log_debug("market http: %s", msg);
}

static int
nc_market_listen_parse(const char *listen, char **ret_host, uint16_t *ret_port, GError **err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char *end = NULL;
    if (!colon || colon == listen) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "listen address '%s' must be ADDR:PORT, "
                     "such as 127.0.0.1:7401", listen ? listen : "");
        return -1;
    }
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

int
nc_market_http_start(NcMarket *m, GError **err)
{
    g_autofree char *host = NULL;
    uint16_t port = 0;
    if (nc_market_listen_parse(m->listen, &host, &port, err) < 0)
        return -1;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    bool v6 = false;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
        v6 = true;
    } else {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "listen address '%s' is not an IPv4 or IPv6 address", host);
        return -1;
    }
    m->page_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)nc_page_cached_free);
    m->mhd = MHD_start_daemon(flags, port, NULL, NULL, nc_market_access, m,
                              MHD_OPTION_EXTERNAL_LOGGER, nc_market_mhd_log, m,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_NOTIFY_COMPLETED, nc_market_completed, m,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)NC_MARKET_CONNECTIONS,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                              MHD_OPTION_END);
    if (!m->mhd) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "the market cannot listen on %s (address in use?)",
                     m->listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : port;
    m->url = g_strdup_printf("http://%s%s%s:%u", v6 ? "[" : "",
                             strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, v6 ? "]" : "",
                             m->port);
    return 0;
}

void
nc_market_http_stop(NcMarket *m)
{
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    m->mhd = NULL;
}
