/* client.c: the CLI's HTTP client. */
#include "client.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct NcClient {
    char *url;
    char *token;
    CURL *curl;
};

static char *
nc_client_read_file(const char *dir, const char *name)
{
    if (!dir)
        return NULL;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return g_strstrip(text);
}

static NcClient *
nc_client_make(const char *url, const char *token)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        g_once_init_leave(&once, 1);
    }
    NcClient *c = g_new0(NcClient, 1);
    c->url = g_strdup(url);
    while (g_str_has_suffix(c->url, "/"))
        c->url[strlen(c->url) - 1] = '\0';
    c->token = g_strdup(token);
    c->curl = curl_easy_init();
    return c;
}

NcClient *
nc_client_new(const char *url, const char *token, const char *state_dir)
{
    g_autofree char *u = g_strdup(url ? url : g_getenv("NESTCLOUD_URL"));
    if (!u)
        u = nc_client_read_file(state_dir, "api.url");
    g_autofree char *t = g_strdup(token ? token : g_getenv("NESTCLOUD_TOKEN"));
    if (!t)
        t = nc_client_read_file(state_dir, "admin.token");
    NcClient *c = nc_client_make(u ? u : "http://127.0.0.1:7400", t);
    if (t)
        memset(t, 0, strlen(t));
    return c;
}

NcClient *
nc_client_new_market(const char *url, const char *token, const char *state_dir)
{
    g_autofree char *u = g_strdup(url ? url : g_getenv("NESTCLOUD_MARKET_URL"));
    if (!u)
        u = nc_client_read_file(state_dir, "market.url");
    /* never the cloud's admin token: the market has accounts of its own */
    return nc_client_make(u ? u : "http://127.0.0.1:7401",
                          token ? token : g_getenv("NESTCLOUD_MARKET_TOKEN"));
}

void
nc_client_free(NcClient *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    g_free(c->url);
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    g_free(c->token);
    g_free(c);
}

const char *
nc_client_url(NcClient *c)
{
    return c->url;
}

char *
nc_client_escape(const char *text)
{
    char *e = curl_easy_escape(NULL, text, 0);
    char *out = g_strdup(e);
    curl_free(e);
    return out;
}

static size_t
nc_client_collect(char *ptr, size_t size, size_t n, void *data)
{
    g_string_append_len(data, ptr, (gssize)(size * n));
    return size * n;
}

static struct curl_slist *
nc_client_headers(NcClient *c, const char *content_type)
{
    struct curl_slist *h = NULL;
    if (c->token) {
        g_autofree char *auth = g_strconcat("Authorization: Bearer ", c->token, NULL);
        h = curl_slist_append(h, auth);
    }
    if (content_type) {
        g_autofree char *ct = g_strconcat("Content-Type: ", content_type, NULL);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    return h;
}

static json_t *
nc_client_finish(NcClient *c, CURLcode rc, GString *out, long *ret_status, GError **err)
{
    long status = 0;
    if (rc != CURLE_OK) {
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "cannot reach nestcloud at %s: %s (is it running? start it with "
                     "'nestcloud up')", c->url, curl_easy_strerror(rc));
        return NULL;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status)
        *ret_status = status;
    json_error_t jerr;
    json_t *j = out->len ? json_loadb(out->str, out->len, 0, &jerr) : json_object();
    if (status >= 200 && status < 300) {
        if (!j)
            nc_error_set(err, NC_ERR_INTERNAL, "the answer is not JSON: %s", jerr.text);
        return j;
    }
    json_t *e = json_object_get(j, "error");
    if (e)
        nc_error_set(err, nc_error_code_from_name(nc_json_str(e, "code")), "%s",
                     nc_json_str(e, "message") ? nc_json_str(e, "message") : "error");
    else
        nc_error_set(err, NC_ERR_INTERNAL, "HTTP %ld", status);
    json_decref(j);
    return NULL;
}

json_t *
nc_client_call(NcClient *c, const char *method, const char *path, json_t *body,
               long *ret_status, GError **err)
{
    g_autofree char *url = g_strconcat(c->url, path, NULL);
    g_autofree char *payload = body ? nc_json_dumps(body) : NULL;
    GString *out = g_string_new(NULL);
    struct curl_slist *h = nc_client_headers(c, body ? "application/json" : NULL);

    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, nc_client_collect);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);
    if (payload)
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    json_t *j = nc_client_finish(c, rc, out, ret_status, err);
    g_string_free(out, TRUE);
    return j;
}

json_t *
nc_client_upload(NcClient *c, const char *path, const char *file, GError **err)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "cannot open %s: %s", file, g_strerror(errno));
        return NULL;
    }
    struct stat st;
    fstat(fileno(f), &st);
    g_autofree char *url = g_strconcat(c->url, path, NULL);
    GString *out = g_string_new(NULL);
    struct curl_slist *h = nc_client_headers(c, "application/octet-stream");
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(c->curl, CURLOPT_READDATA, f);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, nc_client_collect);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    fclose(f);
    json_t *j = nc_client_finish(c, rc, out, NULL, err);
    g_string_free(out, TRUE);
    return j;
}

typedef struct {
    GString *buf;
    bool (*fn)(json_t *ev, void *data);
    void *data;
    bool stop;
} NcStream;

static size_t
nc_client_stream_chunk(char *ptr, size_t size, size_t n, void *data)
{
    NcStream *s = data;
    g_string_append_len(s->buf, ptr, (gssize)(size * n));
    char *end;
    while (!s->stop && (end = strstr(s->buf->str, "\n\n"))) {
        *end = '\0';
        g_auto(GStrv) lines = g_strsplit(s->buf->str, "\n", -1);
        for (char **l = lines; *l; l++) {
            if (g_str_has_prefix(*l, "data: ")) {
                json_error_t jerr;
                g_autoptr(json_t) ev = json_loads(*l + 6, 0, &jerr);
                if (ev && !s->fn(ev, s->data))
                    s->stop = true;
            }
        }
        g_string_erase(s->buf, 0, end - s->buf->str + 2);
    }
    return s->stop ? 0 : size * n;
}

int
nc_client_stream(NcClient *c, const char *path, bool (*fn)(json_t *ev, void *data), void *data,
                 GError **err)
{
    g_autofree char *url = g_strconcat(c->url, path, NULL);
    NcStream s = { g_string_new(NULL), fn, data, false };
    struct curl_slist *h = nc_client_headers(c, NULL);
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, nc_client_stream_chunk);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_FAILONERROR, 1L);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    g_string_free(s.buf, TRUE);
    if (rc != CURLE_OK && !s.stop) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "event stream from %s ended: %s", c->url,
                     curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}
