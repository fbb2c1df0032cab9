/* test_http.c: the HTTP layer: listen addresses, path patterns, a small
 * server on it answering over a real socket, and its event streams. */
#include "http/http_server.h"
#include "http/http_sse.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
test_listen_parse(void)
{
    struct { const char *listen; const char *host; uint16_t port; } good[] = {
        { "127.0.0.1:7400", "127.0.0.1", 7400 }, { "0.0.0.0:0", "0.0.0.0", 0 },
        { "[::1]:8080", "::1", 8080 }, { "::1:65535", "::1", 65535 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *host = NULL;
        uint16_t port = 1;
        g_assert_cmpint(nc_http_listen_parse(good[i].listen, NULL, &host, &port, NULL), ==, 0);
        g_assert_cmpstr(host, ==, good[i].host);
        g_assert_cmpuint(port, ==, good[i].port);
    }
    const char *bad[] = { "", "7400", ":7400", "127.0.0.1:", "127.0.0.1:65536", "a:b", "a:1x" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        char *host = NULL;
        uint16_t port = 1;
        g_assert_cmpint(nc_http_listen_parse(bad[i], NULL, &host, &port, &err), ==, -1);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
        g_assert_null(host);
        g_assert_cmpuint(port, ==, 1);
    }
    g_autoptr(GError) err = NULL;
    char *host = NULL;
    uint16_t port = 0;
    g_assert_cmpint(nc_http_listen_parse("x", "127.0.0.1:7401", &host, &port, &err), ==, -1);
    g_assert_cmpstr(err->message, ==,
                    "listen address 'x' must be ADDR:PORT, such as 127.0.0.1:7401");
}

static void
test_url(void)
{
    g_autofree char *v4 = nc_http_url("10.0.0.2", 80);
    g_autofree char *any = nc_http_url("0.0.0.0", 7400);
    g_autofree char *v6 = nc_http_url("::1", 7401);
    g_assert_cmpstr(v4, ==, "http://10.0.0.2:80");
    g_assert_cmpstr(any, ==, "http://127.0.0.1:7400");
    g_assert_cmpstr(v6, ==, "http://[::1]:7401");
}

static void
test_path_match(void)
{
    char *params[2] = { NULL, NULL };
    int n = -1;
    g_assert_true(nc_http_path_match("/v1/vms/{}/volumes/{}", "/v1/vms/a/volumes/b", 0, params,
                                     2, &n));
    g_assert_cmpint(n, ==, 2);
    g_assert_cmpstr(params[0], ==, "a");
    g_assert_cmpstr(params[1], ==, "b");
    g_free(params[0]);
    g_free(params[1]);

    g_assert_true(nc_http_path_match("/v1/vms", "/v1/vms", 0, NULL, 0, NULL));
    g_assert_false(nc_http_path_match("/v1/vms", "/v1/vm", 0, NULL, 0, NULL));
    g_assert_false(nc_http_path_match("/v1/vms/{}", "/v1/vms", 0, NULL, 1, NULL));
    g_assert_false(nc_http_path_match("/v1/vms/{}", "/v1/vms/", 0, NULL, 1, NULL));
    g_assert_false(nc_http_path_match("/v1/vms/{}", "/v1/vms/a/b", 0, NULL, 1, NULL));
    /* more {} than room, or a segment over the limit: no match */
    g_assert_false(nc_http_path_match("/{}/{}", "/a/b", 0, NULL, 1, NULL));
    g_assert_true(nc_http_path_match("/x/{}", "/x/abcd", 4, NULL, 1, NULL));
    g_assert_false(nc_http_path_match("/x/{}", "/x/abcde", 4, NULL, 1, NULL));
}

/* ---- a server on the layer ---- */

typedef struct {
    NcHttpRequest http;
    char *own;                      /* a field of the server's own */
} TestRequest;

static int test_cleared;

static void
test_begin(void *owner, NcHttpRequest *req)
{
    g_assert_cmpstr(owner, ==, "owner");
    ((TestRequest *)req)->own = g_strdup(req->path);
    if (strcmp(req->path, "/deny") == 0) {
        nc_error_set(&req->early, NC_ERR_FORBIDDEN, "no <entry>");
        return;
    }
    req->body = g_byte_array_new();
    req->body_limit = 16;
}

static void
test_too_large(NcHttpRequest *req, GError **err)
{
    nc_error_set(err, NC_ERR_TOO_LARGE, "over 16 bytes");
}

static enum MHD_Result test_events(NcHttpRequest *req);

static enum MHD_Result
test_finish(void *owner, NcHttpRequest *req)
{
    if (strcmp(req->path, "/events") == 0)
        return test_events(req);
    g_autoptr(json_t) body = json_pack("{s:s, s:i}", "path", req->path, "len",
                                       (int)req->body->len);
    NcHttpHead head = { .status = 201, .location = "/somewhere", .set_cookie = "c=1" };
    return nc_http_send_json(req, &head, body);
}

static void
test_clear(NcHttpRequest *req)
{
    g_free(((TestRequest *)req)->own);
    g_atomic_int_inc(&test_cleared);
}

static const char *const test_headers[] = { "X-Test", "yes", NULL };

static const NcHttpServer test_server = {
    .name = "test",
    .max_connections = 4,
    .headers = test_headers,
    .request_size = sizeof(TestRequest),
    .begin = test_begin,
    .body_too_large = test_too_large,
    .finish = test_finish,
    .clear = test_clear,
};

/* Sends @request and returns everything the server answered. */
static char *
test_exchange(uint16_t port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(write(fd, request, strlen(request)), ==, (ssize_t)strlen(request));
    GString *out = g_string_new(NULL);
    char buf[1024];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        g_string_append_len(out, buf, n);
    close(fd);
    return g_string_free(out, FALSE);
}

static void
test_server_answers(void)
{
    uint16_t port = 0;
    g_autofree char *url = NULL;
    g_autoptr(GError) err = NULL;
    struct MHD_Daemon *mhd = nc_http_server_start(&test_server, "owner", "127.0.0.1:0", &port,
                                                  &url, &err);
    g_assert_no_error(err);
    g_assert_nonnull(mhd);
    g_autofree char *want_url = g_strdup_printf("http://127.0.0.1:%u", port);
    g_assert_cmpstr(url, ==, want_url);

    g_autofree char *ok = test_exchange(port, "POST /echo/ HTTP/1.1\r\nHost: x\r\n"
                                              "Connection: close\r\nContent-Length: 5\r\n\r\nhello");
    g_assert_true(g_str_has_prefix(ok, "HTTP/1.1 201"));
    g_assert_nonnull(strstr(ok, "\r\nContent-Type: application/json\r\n"));
    g_assert_nonnull(strstr(ok, "\r\nCache-Control: no-store\r\n"));
    g_assert_nonnull(strstr(ok, "\r\nX-Test: yes\r\n"));
    g_assert_nonnull(strstr(ok, "\r\nLocation: /somewhere\r\n"));
    g_assert_nonnull(strstr(ok, "\r\nSet-Cookie: c=1\r\n"));
    g_assert_true(g_str_has_suffix(ok, "\r\n\r\n{\"path\":\"/echo\",\"len\":5}\n"));

    g_autofree char *big = test_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                               "Connection: close\r\nContent-Length: 20\r\n\r\n"
                                               "01234567890123456789");
    g_assert_true(g_str_has_prefix(big, "HTTP/1.1 413"));
    g_assert_true(g_str_has_suffix(big, "{\"error\":{\"code\":\"payload_too_large\","
                                        "\"message\":\"over 16 bytes\"}}\n"));

    g_autofree char *deny = test_exchange(port, "GET /deny HTTP/1.1\r\nHost: x\r\n"
                                                "Connection: close\r\n\r\n");
    g_assert_true(g_str_has_prefix(deny, "HTTP/1.1 403"));
    g_assert_nonnull(strstr(deny, "\r\nX-Test: yes\r\n"));
    g_assert_true(g_str_has_suffix(deny, "{\"error\":{\"code\":\"forbidden\","
                                         "\"message\":\"no <entry>\"}}\n"));

    MHD_stop_daemon(mhd);
    g_assert_cmpint(g_atomic_int_get(&test_cleared), ==, 3);
}

/* ---- event streams ---- */

static gint test_streams;
static gint test_streams_freed;

typedef struct {
    int64_t after;
    int fills;
} TestStream;

static bool
test_stream_stopping(void *data)
{
    return false;
}

/* One event, then a quiet while, then the end. */
static bool
test_stream_fill(void *data, GString *out)
{
    TestStream *t = data;
    switch (t->fills++) {
    case 0:
        nc_http_sse_append_event(out, t->after + 1, "tick", "{\"n\":1}");
        return true;
    case 1:
        nc_http_sse_append_keepalive(out);
        return true;
    default:
        return false;
    }
}

static void
test_stream_free(void *data)
{
    g_free(data);
    g_atomic_int_inc(&test_streams_freed);
}

static const NcHttpSseSource test_source = {
    .greeting = ": test events\nretry: 2000\n\n",
    .max_streams = 1,
    .stopping = test_stream_stopping,
    .fill = test_stream_fill,
    .free = test_stream_free,
};

static enum MHD_Result
test_events(NcHttpRequest *req)
{
    g_autoptr(GError) err = NULL;
    int64_t after = 100;
    if (nc_http_sse_resume(req, &after, &err) < 0)
        return nc_http_send_error(req, err);
    TestStream *t = g_new0(TestStream, 1);
    t->after = after;
    struct MHD_Response *r = nc_http_sse_open(&test_source, &test_streams, t, &err);
    if (!r)
        return nc_http_send_error(req, err);
    enum MHD_Result ret = MHD_queue_response(req->conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void
test_sse_stream(void)
{
    uint16_t port = 0;
    g_autoptr(GError) err = NULL;
    struct MHD_Daemon *mhd = nc_http_server_start(&test_server, "owner", "127.0.0.1:0", &port,
                                                  NULL, &err);
    g_assert_nonnull(mhd);

    /* asked in HTTP/1.0: the stream is not chunked and ends with the connection */
    g_autofree char *fresh = test_exchange(port, "GET /events HTTP/1.0\r\n\r\n");
    g_assert_true(g_str_has_prefix(fresh, "HTTP/1.1 200"));
    g_assert_nonnull(strstr(fresh, "\r\nContent-Type: text/event-stream\r\n"));
    g_assert_nonnull(strstr(fresh, "\r\nCache-Control: no-store\r\n"));
    g_assert_true(g_str_has_suffix(fresh, "\r\n\r\n: test events\nretry: 2000\n\n"
                                          "id: 101\nevent: tick\ndata: {\"n\":1}\n\n"
                                          ": keepalive\n\n"));

    /* Last-Event-ID, as a browser sends it, wins over ?after= */
    g_autofree char *resumed = test_exchange(port, "GET /events?after=5 HTTP/1.0\r\n"
                                                   "Last-Event-ID: 41\r\n\r\n");
    g_assert_nonnull(strstr(resumed, "\nid: 42\nevent: tick\n"));
    g_autofree char *after = test_exchange(port, "GET /events?after=5 HTTP/1.0\r\n\r\n");
    g_assert_nonnull(strstr(after, "\nid: 6\nevent: tick\n"));

    const char *bad[] = { "-1", "x", "7x" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *request = g_strdup_printf("GET /events?after=%s HTTP/1.0\r\n\r\n",
                                                   bad[i]);
        g_autofree char *refused = test_exchange(port, request);
        g_assert_true(g_str_has_prefix(refused, "HTTP/1.1 400"));
        g_assert_true(g_str_has_suffix(refused, "\"the event id to resume after must be a "
                                                "non-negative integer\"}}\n"));
    }
    MHD_stop_daemon(mhd);
    g_assert_cmpint(g_atomic_int_get(&test_streams), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&test_streams_freed), ==, 3);

    /* past the limit: refused, and the stream's state freed at once */
    g_atomic_int_set(&test_streams, test_source.max_streams);
    g_assert_null(nc_http_sse_open(&test_source, &test_streams, g_new0(TestStream, 1), &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_RATE_LIMITED);
    g_assert_cmpstr(err->message, ==, "too many event streams are open (limit 1)");
    g_assert_cmpint(g_atomic_int_get(&test_streams), ==, 1);
    g_assert_cmpint(g_atomic_int_get(&test_streams_freed), ==, 4);
    g_atomic_int_set(&test_streams, 0);
}

static void
test_server_busy_port(void)
{
    uint16_t port = 0;
    g_autoptr(GError) err = NULL;
    struct MHD_Daemon *first = nc_http_server_start(&test_server, "owner", "127.0.0.1:0", &port,
                                                    NULL, &err);
    g_assert_nonnull(first);
    g_autofree char *listen = g_strdup_printf("127.0.0.1:%u", port);
    g_autofree char *want = g_strdup_printf("the test cannot listen on %s (address in use?)",
                                            listen);
    uint16_t again = 0;
    g_assert_null(nc_http_server_start(&test_server, "owner", listen, &again, NULL, &err));
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
    g_assert_cmpstr(err->message, ==, want);
    MHD_stop_daemon(first);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/http/listen_parse", test_listen_parse);
    g_test_add_func("/http/url", test_url);
    g_test_add_func("/http/path_match", test_path_match);
    g_test_add_func("/http/server_answers", test_server_answers);
    g_test_add_func("/http/server_busy_port", test_server_busy_port);
    g_test_add_func("/http/sse_stream", test_sse_stream);
    return g_test_run();
}
