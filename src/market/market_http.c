/* market_http.c: the market's side of its HTTP server: pages and static
 * files, authentication, CSRF and limits.  src/http does the rest. */
#include "nc_config.h"
#include "market_http.h"
#include "accounts.h"
#include "offers.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_secret.h"

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
    return nc_http_request_query(&req->http, key);
}

const char *
nc_market_request_header(NcMarketRequest *req, const char *key)
{
    return nc_http_request_header(&req->http, key);
}

static void
nc_market_request_clear(NcHttpRequest *http)
{
    NcMarketRequest *req = (NcMarketRequest *)http;
    for (int i = 0; i < req->nparams; i++)
        g_free(req->params[i]);
    nc_market_caller_free(req->caller);
    json_decref(req->json);
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

static enum MHD_Result
nc_market_send_json(NcMarketRequest *req, unsigned status, json_t *body, const char *cookie)
{
    return nc_http_send_json(&req->http, &(NcHttpHead){ .status = status, .set_cookie = cookie },
                             body);
}

static enum MHD_Result
nc_market_send_error(NcMarketRequest *req, const GError *error)
{
    if (!req->is_page)
        return nc_http_send_error(&req->http, error);
    unsigned status = nc_http_error_status(&req->http, error);
    g_autofree char *esc = g_markup_escape_text(error->message, -1);
    char *html = g_strdup_printf("<!doctype html><meta charset=utf-8><title>%u</title>"
                                 "<link rel=stylesheet href=\"/static/style.css\">"
                                 "<main class=narrow><h1>%u</h1><p>%s</p>"
                                 "<p><a href=\"/\">Back to the catalogue</a></p></main>",
                                 status, status, esc);
    NcHttpHead head = { .status = status, .content_type = "text/html; charset=utf-8" };
    return nc_http_send(&req->http, &head, html, strlen(html), MHD_RESPMEM_MUST_FREE);
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
nc_market_send_bytes(NcMarketRequest *req, GBytes *b, const char *type, const char *cache)
{
    gsize len = 0;
    const void *data = g_bytes_get_data(b, &len);
    NcHttpHead head = { .status = 200, .content_type = type, .cache_control = cache };
    /* MHD copies with MUST_COPY; the bytes stay ours */
    return nc_http_send(&req->http, &head, (void *)data, len, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result
nc_market_serve_page(NcMarket *m, NcMarketRequest *req)
{
    g_autoptr(GError) err = NULL;
    const char *path = req->http.path;
    if (strcmp(req->http.method, "GET") != 0 && strcmp(req->http.method, "HEAD") != 0) {
        nc_error_set(&err, NC_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
                     req->http.method, path);
        return nc_market_send_error(req, err);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(nc_market_pages); i++) {
        if (strcmp(path, nc_market_pages[i].path) == 0) {
            GBytes *b = g_hash_table_lookup(m->web->files, nc_market_pages[i].file);
            if (b)
                return nc_market_send_bytes(req, b, "text/html; charset=utf-8", "no-cache");
        }
    }
    if (g_str_has_prefix(path, "/static/")) {
        const char *name = path + strlen("/static/");
        GBytes *b = strchr(name, '/') ? NULL : g_hash_table_lookup(m->web->files, name);
        if (b && !g_str_has_suffix(name, ".html"))
            return nc_market_send_bytes(req, b, nc_market_content_type(name),
                                        "public, max-age=300");
    }
    if (g_str_has_prefix(path, "/offers/")) {
        const char *id = path + strlen("/offers/");
        if (!strchr(id, '/') && strlen(id) <= 36) {
            g_autoptr(GBytes) b = nc_market_offer_page_render(m, id, &err);
            if (!b)
                return nc_market_send_error(req, err);
            return nc_market_send_bytes(req, b, "text/html; charset=utf-8", "no-cache");
        }
    }
    nc_error_set(&err, NC_ERR_NOT_FOUND, "There is no page at this address.");
    return nc_market_send_error(req, err);
}

/* ---- routing and dispatch ---- */

static const NcMarketRoute *
nc_market_route_find(NcMarketRequest *req, GError **err)
{
    bool known = false;
    const char *path = req->http.path;
    const char *method = strcmp(req->http.method, "HEAD") == 0 ? "GET" : req->http.method;
    for (size_t i = 0; i < nc_market_route_count; i++) {
        const NcMarketRoute *r = &nc_market_routes[i];
        if (!nc_http_path_match(r->pattern, path, 64, NULL, (int)G_N_ELEMENTS(req->params),
                                NULL))
            continue;
        known = true;
        if (strcmp(r->method, method) == 0) {
            nc_http_path_match(r->pattern, path, 64, req->params,
                               (int)G_N_ELEMENTS(req->params), &req->nparams);
            return r;
        }
    }
    nc_http_set_no_route(&req->http, known, err);
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
nc_market_request_begin(void *owner, NcHttpRequest *http)
{
    NcMarket *m = owner;
    NcMarketRequest *req = (NcMarketRequest *)http;
    if (!g_str_has_prefix(http->path, "/market/v1/") && strcmp(http->path, "/market/v1") != 0) {
        req->is_page = true;
        return;
    }
    req->route = nc_market_route_find(req, &http->early);
    if (!req->route)
        return;
    const char *auth = nc_market_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *bearer = NULL;
    if (auth) {
        if (!g_str_has_prefix(auth, "Bearer ") || strlen(auth) > 256) {
            nc_error_set(&http->early, NC_ERR_UNAUTHENTICATED,
                         "the Authorization header must be 'Bearer TOKEN'");
            return;
        }
        bearer = auth + 7;
    }
    const char *cookie = MHD_lookup_connection_value(http->conn, MHD_COOKIE_KIND, NC_MARKET_COOKIE);
    req->caller = nc_market_authenticate(m, cookie, bearer, &http->early);
    if (http->early)
        return;
    unsigned flags = req->route->flags;
    if (!req->caller && !(flags & NC_MROUTE_PUBLIC)) {
        nc_error_set(&http->early, NC_ERR_UNAUTHENTICATED,
                     "log in first, or send 'Authorization: Bearer TOKEN' with an API token");
        return;
    }
    if ((flags & NC_MROUTE_PROVIDER) && !req->caller->provider) {
        nc_error_set(&http->early, NC_ERR_FORBIDDEN,
                     "only providers may do this; become one in your account (company, tax "
                     "number, IBAN, address)");
        return;
    }
    if (nc_market_method_changes(http->method)) {
        if (!nc_market_origin_ok(req)) {
            nc_error_set(&http->early, NC_ERR_FORBIDDEN,
                         "a request from another site was refused (Origin does not match)");
            return;
        }
        if (req->caller && req->caller->session) {
            const char *csrf = nc_market_request_header(req, "X-CSRF-Token");
            if (!csrf || !nc_secret_equal(csrf, req->caller->csrf)) {
                nc_error_set(&http->early, NC_ERR_FORBIDDEN,
                             "the CSRF token is missing or wrong: send X-CSRF-Token from "
                             "GET /market/v1/me");
                return;
            }
        }
    }
    const char *clen = nc_market_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = clen ? g_ascii_strtoull(clen, NULL, 10) : 0;
    if (declared > NC_MARKET_BODY_BYTES) {
        nc_error_set(&http->early, NC_ERR_TOO_LARGE, "request bodies are limited to %d bytes",
                     NC_MARKET_BODY_BYTES);
        return;
    }
    const char *ctype = nc_market_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if ((flags & NC_MROUTE_JSON) && (!ctype || !g_str_has_prefix(ctype, "application/json"))) {
        nc_error_set(&http->early, NC_ERR_INVALID_ARGUMENT,
                     "send the body as JSON with Content-Type: application/json");
        return;
    }
    http->body = g_byte_array_new();
    http->body_limit = NC_MARKET_BODY_BYTES;
}

static enum MHD_Result
nc_market_dispatch(NcMarket *m, NcMarketRequest *req)
{
    g_autoptr(GError) err = NULL;
    NcMarketResponse resp = { .status = 200 };
    unsigned flags = req->route->flags;

    if (flags & NC_MROUTE_JSON) {
        req->json = nc_http_request_json(&req->http, &err);
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
        nc_http_add_headers(&req->http, resp.stream);
        ret = MHD_queue_response(req->http.conn, resp.status, resp.stream);
        MHD_destroy_response(resp.stream);
    } else {
        if (!resp.json)
            resp.json = json_object();
        ret = nc_market_send_json(req, resp.status, resp.json, resp.set_cookie);
        json_decref(resp.json);
    }
    g_free(resp.set_cookie);
    return ret;
}

static void
nc_market_request_too_large(NcHttpRequest *http, GError **err)
{
    nc_error_set(err, NC_ERR_TOO_LARGE, "request bodies are limited to %d bytes",
                 NC_MARKET_BODY_BYTES);
}

static enum MHD_Result
nc_market_request_finish(void *owner, NcHttpRequest *http)
{
    NcMarketRequest *req = (NcMarketRequest *)http;
    if (req->is_page)
        return nc_market_serve_page(owner, req);
    return nc_market_dispatch(owner, req);
}

static const char *const nc_market_headers[] = {
    "X-Content-Type-Options", "nosniff",
    "X-Frame-Options", "DENY",
    "Referrer-Policy", "same-origin",
    NULL,
};

/* the layer allocates requests of request_size and sees their first member */
G_STATIC_ASSERT(G_STRUCT_OFFSET(NcMarketRequest, http) == 0);

static const NcHttpServer nc_market_http = {
    .name = "market",
    .listen_example = "127.0.0.1:7401",
    .max_connections = NC_MARKET_CONNECTIONS,
    .headers = nc_market_headers,
    .html_policy = NC_MARKET_CSP,
    .json_flags = JSON_REAL_PRECISION(12),
    .quiet_unavailable = true,      /* a backend that is away is no fault of ours */
    .request_size = sizeof(NcMarketRequest),
    .begin = nc_market_request_begin,
    .body_too_large = nc_market_request_too_large,
    .finish = nc_market_request_finish,
    .clear = nc_market_request_clear,
};

int
nc_market_http_start(NcMarket *m, GError **err)
{
    m->page_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)nc_page_cached_free);
    m->mhd = nc_http_server_start(&nc_market_http, m, m->listen, &m->port, &m->url, err);
    return m->mhd ? 0 : -1;
}

void
nc_market_http_stop(NcMarket *m)
{
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    m->mhd = NULL;
}
