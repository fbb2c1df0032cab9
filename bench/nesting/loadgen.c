/* bench/nesting/loadgen.c: the client of the nesting experiment (Table I and
 * Fig. 9 of the paper): N simulated users (default 64) send HTTP/1.1
 * keep-alive GET requests with random, exponentially distributed intervals,
 * for a set time (default 180 s, the paper's 3 minutes).
 *
 *   nc-loadgen [--users N] [--think SECONDS] [--duration SECONDS]
 *              [--timeout SECONDS] [--seed N] [--label NAME]
 *              [--json FILE] [--csv FILE] [--raw FILE] URL
 *   nc-loadgen --self-test
 *
 * One thread, non-blocking sockets and epoll, so the generator itself never
 * waits on one user while another is due.  Response times are measured from
 * each request's intended send time, not from the moment it went out
 * (coordinated omission corrected; see lg_stats.h for the schedule), and the
 * uncorrected service time is reported beside them.
 *
 * Output: a summary on stdout; --json writes the summary and the per-second
 * series; --csv the per-second series; --raw one line per request.
 */
#include "lg_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_USERS 4096
#define LG_MAX_RESPONSE (8u << 20)

typedef enum {
    USER_WAITING,     /* until its next intended send time */
    USER_CONNECTING,
    USER_SENDING,
    USER_RECEIVING,
    USER_DONE,        /* the run is over for this user */
    USER_STATE_MAX,
} UserState;

typedef struct {
    int fd;
    UserState state;
    double intended;   /* intended send time of the current request */
    double sent;
    double prev_done;
    size_t req_off;    /* bytes of the request written */
    char *buf;         /* response bytes */
    size_t len, cap;
    bool reused;       /* the connection carried an earlier response */
} User;

typedef struct {
    char *host;
    const char *port;
    char *request;
    size_t request_len;
    struct addrinfo *addr;
    int users;
    double think;
    double duration;
    double timeout;
    uint64_t seed;
    const char *label;
    const char *url;
    NcLgSample *samples;
    size_t n_samples, cap_samples;
    size_t errors;
    size_t unfinished;
    size_t reconnects;
} Run;

static double t_start;

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t_start;
}

static void
die(const char *what)
{
    fprintf(stderr, "nc-loadgen: %s\n", what);
    exit(2);
}

static int
record(Run *run, const User *u, double done, int status)
{
    if (run->n_samples == run->cap_samples) {
        size_t cap = run->cap_samples ? run->cap_samples * 2 : 65536;
        NcLgSample *s = realloc(run->samples, cap * sizeof(*s));
        if (!s)
            return -1;
        run->samples = s;
        run->cap_samples = cap;
    }
    run->samples[run->n_samples++] = (NcLgSample){ u->intended, u->sent, done, status };
    if (status < 200 || status >= 400)
        run->errors++;
    return 0;
}

/* Parses http://host[:port][/path]; fills run->host, port and the request.
 * Returns 0 or -1. */
static int
parse_url(Run *run, const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *path = slash ? slash : "/";
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    char *hostport = strndup(h, hl);
    if (!hostport || hl == 0)
        return -1;
    char *colon = strrchr(hostport, ':');
    if (colon && !strchr(hostport, ']')) {
        *colon = '\0';
        run->port = colon + 1;
    } else {
        run->port = "80";
    }
    run->host = hostport;
    int n = asprintf(&run->request,
                     "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: nc-loadgen\r\n"
                     "Accept: text/html\r\nConnection: keep-alive\r\n\r\n",
                     path, (int)hl, h);
    if (n < 0)
        return -1;
    run->request_len = (size_t)n;
    return 0;
}

/* Looks at the response bytes so far.  Returns the HTTP status when a whole
 * response is there (and sets *ret_close when the server will close the
 * connection), 0 when more bytes are needed, -1 when it is malformed. */
static int
response_complete(const char *buf, size_t len, bool eof, bool *ret_close)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return eof ? -1 : 0;
    size_t hlen = (size_t)(end - buf) + 4;
    int status = 0;
    int minor = 1;
    if (sscanf(buf, "HTTP/1.%d %d", &minor, &status) != 2 || status < 100)
        return -1;
    bool chunked = false, close_conn = minor == 0, have_cl = false;
    size_t cl = 0;
    const char *line = memchr(buf, '\n', hlen);
    while (line && line + 1 < buf + hlen) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(buf + hlen - line));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            cl = strtoull(line + 15, NULL, 10);
            have_cl = true;
        } else if (ll > 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            chunked = memmem(line, ll, "chunked", 7) != NULL;
        } else if (ll > 11 && strncasecmp(line, "Connection:", 11) == 0) {
            if (memmem(line, ll, "close", 5))
                close_conn = true;
            else if (memmem(line, ll, "keep-alive", 10))
                close_conn = false;
        }
        line = eol;
    }
    *ret_close = close_conn;
    if (chunked) {
        size_t off = hlen;
        for (;;) {
            const char *crlf = memmem(buf + off, len - off, "\r\n", 2);
            if (!crlf)
                return eof ? -1 : 0;
            size_t sz = strtoull(buf + off, NULL, 16);
            off = (size_t)(crlf - buf) + 2;
            if (sz == 0) {
                /* no trailers expected: the last chunk ends with one CRLF */
                if (len - off < 2)
                    return eof ? -1 : 0;
                return status;
            }
            if (len - off < sz + 2)
                return eof ? -1 : 0;
            off += sz + 2;
        }
    }
    if (have_cl)
        return len - hlen >= cl ? status : (eof ? -1 : 0);
    /* no length: the body ends when the server closes */
    *ret_close = true;
    return eof ? status : 0;
}

static void
user_close(User *u, int ep)
{
    if (u->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, u->fd, NULL);
        close(u->fd);
    }
    u->fd = -1;
    u->reused = false;
}

static int
user_connect(Run *run, User *u, int ep)
{
    int fd = socket(run->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, run->addr->ai_addr, run->addr->ai_addrlen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = u };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -1;
    }
    u->fd = fd;
    u->state = USER_CONNECTING;
    run->reconnects++;
    return 0;
}

/* Schedules the user's next request, or ends it when the run is over. */
static void
user_next(Run *run, User *u, uint64_t *rng, double done)
{
    u->prev_done = done;
    u->intended += nc_lg_think(rng, run->think);
    u->state = u->intended < run->duration ? USER_WAITING : USER_DONE;
}

static void
user_fail(Run *run, User *u, int ep, uint64_t *rng)
{
    double t = now();
    if (record(run, u, t, 0) < 0)
        die("out of memory");
    user_close(u, ep);
    user_next(run, u, rng, t);
}

static void
user_write(Run *run, User *u, int ep, uint64_t *rng)
{
    while (u->req_off < run->request_len) {
        ssize_t n = send(u->fd, run->request + u->req_off, run->request_len - u->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                return;
            if (u->reused && u->req_off == 0) {
                /* the server closed an idle keep-alive connection: retry once */
                user_close(u, ep);
                if (user_connect(run, u, ep) == 0)
                    return;
            }
            user_fail(run, u, ep, rng);
            return;
        }
        u->req_off += (size_t)n;
    }
    u->state = USER_RECEIVING;
    u->len = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = u };
    epoll_ctl(ep, EPOLL_CTL_MOD, u->fd, &ev);
}

static void
user_send(Run *run, User *u, int ep, uint64_t *rng)
{
    u->sent = now();
    u->req_off = 0;
    if (u->fd < 0) {
        if (user_connect(run, u, ep) < 0)
            user_fail(run, u, ep, rng);
        return;
    }
    u->state = USER_SENDING;
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = u };
    epoll_ctl(ep, EPOLL_CTL_MOD, u->fd, &ev);
    user_write(run, u, ep, rng);
}

static void
user_read(Run *run, User *u, int ep, uint64_t *rng)
{
    bool eof = false;
    for (;;) {
        if (u->cap - u->len < 16384) {
            size_t cap = u->cap ? u->cap * 2 : 32768;
            if (cap > LG_MAX_RESPONSE) {
                user_fail(run, u, ep, rng);
                return;
            }
            char *b = realloc(u->buf, cap);
            if (!b)
                die("out of memory");
            u->buf = b;
            u->cap = cap;
        }
        ssize_t n = recv(u->fd, u->buf + u->len, u->cap - u->len - 1, 0);
        if (n > 0) {
            u->len += (size_t)n;
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EAGAIN)
            break;
        if (u->reused && u->len == 0) {
            user_close(u, ep);
            u->req_off = 0;
            if (user_connect(run, u, ep) == 0)
                return;
        }
        user_fail(run, u, ep, rng);
        return;
    }
    u->buf[u->len] = '\0';
    bool close_conn = false;
    int status = response_complete(u->buf, u->len, eof, &close_conn);
    if (status == 0)
        return;
    if (status < 0 && eof && u->len == 0 && u->reused) {
        /* closed before answering on a reused connection: retry once */
        user_close(u, ep);
        u->req_off = 0;
        if (user_connect(run, u, ep) < 0)
            user_fail(run, u, ep, rng);
        return;
    }
    double t = now();
    if (record(run, u, t, status < 0 ? 0 : status) < 0)
        die("out of memory");
    if (status < 0 || close_conn || eof)
        user_close(u, ep);
    else
        u->reused = true;
    user_next(run, u, rng, t);
}

static void
user_event(Run *run, User *u, int ep, uint64_t *rng, uint32_t events)
{
    switch (u->state) {
    case USER_CONNECTING: {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            user_fail(run, u, ep, rng);
            return;
        }
        u->state = USER_SENDING;
        user_write(run, u, ep, rng);
        return;
    }
    case USER_SENDING:
        user_write(run, u, ep, rng);
        return;
    case USER_RECEIVING:
        user_read(run, u, ep, rng);
        return;
    case USER_WAITING:
    case USER_DONE:
        /* an idle keep-alive connection closed by the server */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            user_close(u, ep);
        return;
    case USER_STATE_MAX:
        break;
    }
}

static void
run_load(Run *run)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1 failed");
    User *users = calloc((size_t)run->users, sizeof(User));
    if (!users)
        die("out of memory");
    uint64_t rng = run->seed;
    t_start = 0;
    t_start = now();
    for (int i = 0; i < run->users; i++) {
        users[i].fd = -1;
        /* spread the first requests over one mean interval, as arrivals of
         * a Poisson process that started before the run */
        users[i].intended = nc_lg_think(&rng, run->think);
        users[i].state = users[i].intended < run->duration ? USER_WAITING : USER_DONE;
    }
    double hard_end = run->duration + run->timeout;
    struct epoll_event evs[256];
    for (;;) {
        double t = now();
        double next = hard_end;
        bool busy = false;
        for (int i = 0; i < run->users; i++) {
            User *u = &users[i];
            if (u->state == USER_WAITING) {
                double at = nc_lg_send_time(u->intended, u->prev_done);
                if (at <= t) {
                    user_send(run, u, ep, &rng);
                    t = now();
                }
            }
            if (u->state == USER_WAITING) {
                busy = true;
                if (u->intended < next)
                    next = u->intended;
            } else if (u->state != USER_DONE) {
                busy = true;
                if (t - u->sent > run->timeout)
                    user_fail(run, u, ep, &rng);
            }
        }
        if (!busy || t >= hard_end)
            break;
        int wait_ms = (int)ceil((next - t) * 1000.0);
        if (wait_ms < 0)
            wait_ms = 0;
        if (wait_ms > 100)
            wait_ms = 100;
        int n = epoll_wait(ep, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (int i = 0; i < n; i++)
            user_event(run, evs[i].data.ptr, ep, &rng, evs[i].events);
    }
    for (int i = 0; i < run->users; i++) {
        if (users[i].state != USER_DONE)
            run->unfinished++;
        user_close(&users[i], ep);
        free(users[i].buf);
    }
    free(users);
    close(ep);
}

static void
print_summary(FILE *f, const char *indent, const NcLgSummary *s)
{
    fprintf(f,
            "%s\"n\": %zu, \"mean\": %.6f, \"p50\": %.6f, \"p80\": %.6f, "
            "\"p90\": %.6f, \"p99\": %.6f, \"max\": %.6f",
            indent, s->n, s->mean, s->p50, s->p80, s->p90, s->p99, s->max);
}

static int
report(Run *run, const char *json, const char *csv, const char *raw)
{
    size_t n = run->n_samples, ok = 0;
    double *corr = malloc((n ? n : 1) * sizeof(double));
    double *serv = malloc((n ? n : 1) * sizeof(double));
    size_t seconds = (size_t)ceil(run->duration);
    NcLgSecond *series = calloc(seconds ? seconds : 1, sizeof(NcLgSecond));
    if (!corr || !serv || !series)
        die("out of memory");
    double last = 0;
    for (size_t i = 0; i < n; i++) {
        const NcLgSample *s = &run->samples[i];
        if (s->done > last)
            last = s->done;
        if (s->status < 200 || s->status >= 400)
            continue;
        corr[ok] = nc_lg_corrected(s);
        serv[ok] = nc_lg_service(s);
        ok++;
    }
    NcLgSummary c, v;
    nc_lg_summarise(corr, ok, &c);
    nc_lg_summarise(serv, ok, &v);
    if (nc_lg_series(run->samples, n, seconds, series) < 0)
        die("out of memory");
    double rps = run->duration > 0 ? (double)ok / run->duration : 0;

    printf("%s: %s, %d users, think %.3f s, %.0f s\n", run->label, run->url, run->users,
           run->think, run->duration);
    printf("  requests %zu ok, %zu errors, %zu unfinished, %.1f req/s\n", ok, run->errors,
           run->unfinished, rps);
    printf("  response time (from intended send, CO corrected): mean %.4f  p80 %.4f  p90 %.4f  "
           "p99 %.4f  max %.4f s\n", c.mean, c.p80, c.p90, c.p99, c.max);
    printf("  service time  (from actual send, uncorrected):    mean %.4f  p80 %.4f  p90 %.4f  "
           "p99 %.4f  max %.4f s\n", v.mean, v.p80, v.p90, v.p99, v.max);

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return -1;
        fprintf(f, "{\n  \"label\": \"%s\", \"url\": \"%s\", \"users\": %d, \"think_mean_s\": %.6f,\n"
                   "  \"duration_s\": %.3f, \"timeout_s\": %.3f, \"seed\": %llu,\n"
                   "  \"ok\": %zu, \"errors\": %zu, \"unfinished\": %zu, \"connections\": %zu,"
                   " \"rps\": %.3f,\n  \"response\": {",
                run->label, run->url, run->users, run->think, run->duration, run->timeout,
                (unsigned long long)run->seed, ok, run->errors, run->unfinished, run->reconnects, rps);
        print_summary(f, "", &c);
        fprintf(f, "},\n  \"service\": {");
        print_summary(f, "", &v);
        fprintf(f, "},\n  \"series\": [\n");
        for (size_t s = 0; s < seconds; s++)
            fprintf(f, "    {\"t\": %.0f, \"n\": %zu, \"mean\": %.6f, \"p90\": %.6f, \"max\": %.6f}%s\n",
                    series[s].t, series[s].n, series[s].mean, series[s].p90, series[s].max,
                    s + 1 < seconds ? "," : "");
        fprintf(f, "  ]\n}\n");
        if (fclose(f) != 0)
            return -1;
    }
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f)
            return -1;
        fprintf(f, "second,requests,mean_s,p90_s,max_s\n");
        for (size_t s = 0; s < seconds; s++)
            fprintf(f, "%.0f,%zu,%.6f,%.6f,%.6f\n", series[s].t, series[s].n, series[s].mean,
                    series[s].p90, series[s].max);
        if (fclose(f) != 0)
            return -1;
    }
    if (raw) {
        FILE *f = fopen(raw, "w");
        if (!f)
            return -1;
        fprintf(f, "intended_s,sent_s,done_s,status\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%.6f,%.6f,%.6f,%d\n", run->samples[i].intended, run->samples[i].sent,
                    run->samples[i].done, run->samples[i].status);
        if (fclose(f) != 0)
            return -1;
    }
    free(corr);
    free(serv);
    free(series);
    return 0;
}

/* --self-test: the arithmetic of lg_stats.c on cases worked out by hand.
 * Returns the number of failures. */
static int
self_test(void)
{
    int fails = 0;
#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "self-test: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            fails++;                                                    \
        }                                                               \
    } while (0)

    /* nearest rank on 1..100 shuffled */
    static double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (double)((i * 37) % 100 + 1);
    NcLgSummary s;
    nc_lg_summarise(v, 100, &s);
    CHECK(s.p80 == 80 && s.p90 == 90 && s.p99 == 99 && s.max == 100 && s.p50 == 50);
    CHECK(fabs(s.mean - 50.5) < 1e-12);
    double one = 7;
    nc_lg_summarise(&one, 1, &s);
    CHECK(s.p80 == 7 && s.p99 == 7 && s.mean == 7);
    /* 10 values: p80 is the 8th, p90 the 9th, p99 the 10th */
    double ten[10] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    nc_lg_summarise(ten, 10, &s);
    CHECK(s.p80 == 8 && s.p90 == 9 && s.p99 == 10);

    /* One user, an interval of 10 ms, 1 ms service, and one stall of
     * 1000 ms at request 5.  Request 5+j (j >= 1) is intended at 50 + 10j,
     * sent when 5+j-1 finishes (1050 + j - 1) and done at 1050 + j, so its
     * corrected time is 1000 - 9j ms while its service time stays 1 ms. */
    static NcLgSample smp[200];
    double prev = -1, intended = 0;
    for (int k = 0; k < 200; k++, intended += 0.010) {
        double sent = nc_lg_send_time(intended, prev);
        double done = sent + (k == 5 ? 1.000 : 0.001);
        smp[k] = (NcLgSample){ intended, sent, done, 200 };
        prev = done;
    }
    CHECK(fabs(nc_lg_corrected(&smp[5]) - 1.000) < 1e-9);
    CHECK(fabs(nc_lg_corrected(&smp[6]) - 0.991) < 1e-9);
    CHECK(fabs(nc_lg_corrected(&smp[7]) - 0.982) < 1e-9);
    CHECK(fabs(nc_lg_service(&smp[7]) - 0.001) < 1e-9);
    static double corr[200], serv[200];
    size_t slow_c = 0, slow_s = 0;
    for (int k = 0; k < 200; k++) {
        corr[k] = nc_lg_corrected(&smp[k]);
        serv[k] = nc_lg_service(&smp[k]);
        slow_c += corr[k] > 0.1;
        slow_s += serv[k] > 0.1;
    }
    /* 1000 - 9j > 100 for j <= 99: the stall hurts 100 requests, but an
     * uncorrected generator sees one */
    CHECK(slow_c == 100 && slow_s == 1);
    NcLgSummary sc, sv;
    nc_lg_summarise(corr, 200, &sc);
    nc_lg_summarise(serv, 200, &sv);
    CHECK(sv.p90 < 0.0011 && sc.p90 > 0.1);

    /* the series buckets by intended time: 100 requests per second */
    NcLgSecond ser[2];
    CHECK(nc_lg_series(smp, 200, 2, ser) == 0);
    CHECK(ser[0].n == 100 && ser[1].n == 100);
    CHECK(fabs(ser[0].max - 1.0) < 1e-9);
    CHECK(ser[1].max < 0.2);

    /* exponential think time: mean and P(X > mean) = 1/e */
    uint64_t st = 42;
    double sum = 0;
    int above = 0, n = 200000;
    for (int i = 0; i < n; i++) {
        double x = nc_lg_think(&st, 0.5);
        CHECK(x >= 0);
        sum += x;
        above += x > 0.5;
    }
    CHECK(fabs(sum / n - 0.5) < 0.01);
    CHECK(fabs((double)above / n - exp(-1)) < 0.01);
    CHECK(nc_lg_think(&st, 0) == 0);

    /* HTTP framing */
    bool cl = false;
    const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    CHECK(response_complete(r1, strlen(r1), false, &cl) == 200 && !cl);
    CHECK(response_complete(r1, strlen(r1) - 1, false, &cl) == 0);
    const char *r2 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    CHECK(response_complete(r2, strlen(r2), false, &cl) == 200);
    CHECK(response_complete(r2, strlen(r2) - 2, false, &cl) == 0);
    const char *r3 = "HTTP/1.1 503 x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    CHECK(response_complete(r3, strlen(r3), false, &cl) == 503 && cl);
    CHECK(response_complete("garbage\r\n\r\n", 11, false, &cl) == -1);
#undef CHECK
    if (fails == 0)
        printf("self-test: ok\n");
    return fails;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: nc-loadgen [--users N] [--think S] [--duration S] [--timeout S] [--seed N]\n"
            "                  [--label NAME] [--json FILE] [--csv FILE] [--raw FILE] URL\n"
            "       nc-loadgen --self-test\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    Run run = {
        .users = 64, .think = 1.0, .duration = 180, .timeout = 30, .seed = 1, .label = "run",
    };
    const char *json = NULL, *csv = NULL, *raw = NULL;
    static const struct option opts[] = {
        { "users", required_argument, NULL, 'u' },
        { "think", required_argument, NULL, 't' },
        { "duration", required_argument, NULL, 'd' },
        { "timeout", required_argument, NULL, 'T' },
        { "seed", required_argument, NULL, 's' },
        { "label", required_argument, NULL, 'l' },
        { "json", required_argument, NULL, 'j' },
        { "csv", required_argument, NULL, 'c' },
        { "raw", required_argument, NULL, 'r' },
        { "self-test", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "u:t:d:T:s:l:j:c:r:Sh", opts, NULL)) != -1) {
        switch (o) {
        case 'u': run.users = atoi(optarg); break;
        case 't': run.think = atof(optarg); break;
        case 'd': run.duration = atof(optarg); break;
        case 'T': run.timeout = atof(optarg); break;
        case 's': run.seed = strtoull(optarg, NULL, 10); break;
        case 'l': run.label = optarg; break;
        case 'j': json = optarg; break;
        case 'c': csv = optarg; break;
        case 'r': raw = optarg; break;
        case 'S': return self_test() ? 1 : 0;
        default: usage();
        }
    }
    if (optind != argc - 1 || run.users < 1 || run.users > LG_MAX_USERS || run.duration <= 0 ||
        run.timeout <= 0 || !isfinite(run.think) || run.think < 0)
        usage();
    run.url = argv[optind];
    if (parse_url(&run, run.url) < 0)
        die("URL must be http://host[:port][/path]");
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    int gai = getaddrinfo(run.host, run.port, &hints, &run.addr);
    if (gai != 0) {
        fprintf(stderr, "nc-loadgen: %s: %s\n", run.host, gai_strerror(gai));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    run_load(&run);
    if (report(&run, json, csv, raw) < 0) {
        perror("nc-loadgen: writing the report");
        return 2;
    }
    freeaddrinfo(run.addr);
    free(run.samples);
    free(run.request);
    free(run.host);
    return run.n_samples == 0 ? 1 : 0;
}
