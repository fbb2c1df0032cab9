/*
 * nc-benchapp: the test application of the nesting experiment (the paper's
 * section V), in C against SQLite.  Per request it selects 10 rows from a
 * table of 10,000 offers, turns them into objects (struct offer) and fills
 * an HTML template with them; nginx runs in front of it as reverse proxy.
 * The paper used Django on MySQL; app.py did the same steps in Python, but
 * Python's start-up and per-request cost under TCG inside TCG kept L2 from
 * ever serving, so all three levels now run this program alike.
 *
 *   nc-benchapp --init-db FILE
 *       creates the database (10,000 offers, fixed seed: every level
 *       serves the same data)
 *   nc-benchapp --db FILE --port P [--level NAME]
 *       serves HTTP/1.1 with keep-alive on 127.0.0.1:P, one thread per
 *       connection (nginx keeps a pool of upstream connections open), each
 *       thread with its own read-only SQLite connection.
 *   nc-benchapp --check PORT
 *       exits 0 when GET /health on 127.0.0.1:PORT answers 200 within 5 s
 *       (start.sh's readiness probe; busybox's static wget crashed here)
 *
 * Routes: GET /health -> "ok"; GET / and GET /offers... -> the page.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define ITEMS 10000
#define PAGE_ROWS 10
#define REQ_MAX 16384

static const char *const categories[] = {
    "compute", "storage", "network", "database", "queue", "cache", "gpu", "backup",
};
static const char *const words[] = {
    "fast", "small", "large", "spot", "reserved", "nested", "vm",
    "<burst>", "&", "ssd", "hdd", "zone-a", "zone-b",
};

/* The page and one table row, with $name placeholders as in Python's
 * string.Template (the Django template of the paper). */
static const char page_template[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\"><title>$title</title></head>\n"
    "<body>\n"
    "<h1>$title</h1>\n"
    "<p>Offers $first to $last of $total, level $level.</p>\n"
    "<table>\n"
    "<thead><tr><th>#</th><th>Name</th><th>Category</th><th>Price</th><th>Stock</th>"
    "<th>Description</th></tr></thead>\n"
    "<tbody>\n"
    "$rows</tbody>\n"
    "</table>\n"
    "</body>\n"
    "</html>\n";
static const char row_template[] =
    "<tr><td>$id</td><td>$name</td><td>$category</td><td>$price</td>"
    "<td>$stock</td><td>$description</td></tr>\n";

/* One row of the offer table, as an object (the paper's ORM step). */
struct offer {
    long long id;
    char *name;
    char *category;
    double price;
    long long stock;
    char *description;
};

/* A growing byte buffer. */
struct buf {
    char *p;
    size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void
buf_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_str(b, "&amp;"); break;
        case '<': buf_str(b, "&lt;"); break;
        case '>': buf_str(b, "&gt;"); break;
        case '"': buf_str(b, "&quot;"); break;
        case '\'': buf_str(b, "&#x27;"); break;
        default: buf_add(b, s, 1);
        }
    }
}

/* A template variable: its name and its already formatted value. */
struct var {
    const char *name;
    const char *value;
};

/* Fills @tmpl into @out, replacing each $name by its value in @vars. */
static void
template_fill(struct buf *out, const char *tmpl, const struct var *vars, size_t nvars)
{
    const char *p = tmpl;
    while (*p) {
        const char *d = strchr(p, '$');
        if (!d) {
            buf_str(out, p);
            return;
        }
        buf_add(out, p, (size_t)(d - p));
        const char *e = d + 1;
        while ((*e >= 'a' && *e <= 'z') || *e == '_')
            e++;
        size_t n = (size_t)(e - d - 1);
        bool found = false;
        for (size_t i = 0; i < nvars; i++) {
            if (strlen(vars[i].name) == n && memcmp(vars[i].name, d + 1, n) == 0) {
                buf_str(out, vars[i].value);
                found = true;
                break;
            }
        }
        if (!found)
            buf_add(out, d, (size_t)(e - d));
        p = e;
    }
}

static void
offer_render(const struct offer *o, struct buf *out)
{
    char id[32], price[32], stock[32];
    struct buf name = { 0 }, cat = { 0 }, desc = { 0 };
    snprintf(id, sizeof(id), "%lld", o->id);
    snprintf(price, sizeof(price), "%.2f", o->price);
    snprintf(stock, sizeof(stock), "%lld", o->stock);
    buf_escaped(&name, o->name);
    buf_escaped(&cat, o->category);
    buf_escaped(&desc, o->description);
    const struct var vars[] = {
        { "id", id }, { "name", name.p }, { "category", cat.p },
        { "price", price }, { "stock", stock }, { "description", desc.p },
    };
    template_fill(out, row_template, vars, sizeof(vars) / sizeof(vars[0]));
    free(name.p);
    free(cat.p);
    free(desc.p);
}

static void
offer_clear(struct offer *o)
{
    free(o->name);
    free(o->category);
    free(o->description);
    memset(o, 0, sizeof(*o));
}

/* splitmix64: a small, seedable generator (same database on every run). */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int
init_db(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "nc-benchapp: %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    if (sqlite3_exec(db,
                     "CREATE TABLE offer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "category TEXT NOT NULL, price REAL NOT NULL, stock INTEGER NOT NULL, "
                     "description TEXT NOT NULL); BEGIN",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO offer VALUES (?, ?, ?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "nc-benchapp: %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    uint64_t seed = 5;
    size_t ncat = sizeof(categories) / sizeof(categories[0]);
    size_t nwords = sizeof(words) / sizeof(words[0]);
    for (int i = 1; i <= ITEMS; i++) {
        const char *cat = categories[rng_next(&seed) % ncat];
        char name[64], desc[256] = "";
        snprintf(name, sizeof(name), "%s-offer-%05d", cat, i);
        for (int w = 0; w < 12; w++) {
            if (w)
                strcat(desc, " ");
            strcat(desc, words[rng_next(&seed) % nwords]);
        }
        double price = 1 + (double)(rng_next(&seed) % 999);   /* cents: 0.01 .. 9.99 */
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, cat, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, price / 100.0);
        sqlite3_bind_int(st, 5, (int)(rng_next(&seed) % 1000));
        sqlite3_bind_text(st, 6, desc, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "nc-benchapp: insert: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return 1;
    sqlite3_close(db);
    return 0;
}

static const char *db_path;
static const char *level = "?";

/* What one connection's thread keeps: its socket, its database, its
 * prepared query and its random state. */
struct conn {
    int fd;
    sqlite3 *db;
    sqlite3_stmt *query;
    uint64_t rng;
};

static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
reply(struct conn *c, int status, const char *ctype, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nServer: nc-benchapp\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Error",
                     ctype, len);
    struct buf out = { 0 };
    buf_add(&out, head, (size_t)n);
    buf_add(&out, body, len);
    int r = send_all(c->fd, out.p, out.len);
    free(out.p);
    return r;
}

/* The request's work: query, objects, template. */
static int
serve_offers(struct conn *c)
{
    if (!c->db) {
        char uri[1024];
        snprintf(uri, sizeof(uri), "file:%s?mode=ro", db_path);
        if (sqlite3_open_v2(uri, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
                SQLITE_OK ||
            sqlite3_prepare_v2(c->db,
                               "SELECT id, name, category, price, stock, description "
                               "FROM offer WHERE id >= ? ORDER BY id LIMIT 10",
                               -1, &c->query, NULL) != SQLITE_OK) {
            const char *m = sqlite3_errmsg(c->db);
            return reply(c, 500, "text/plain", m, strlen(m));
        }
    }
    int first = 1 + (int)(rng_next(&c->rng) % (ITEMS - 10));
    struct offer offers[PAGE_ROWS];
    int n = 0;
    sqlite3_bind_int(c->query, 1, first);
    while (n < PAGE_ROWS && sqlite3_step(c->query) == SQLITE_ROW) {
        struct offer *o = &offers[n++];
        o->id = sqlite3_column_int64(c->query, 0);
        o->name = strdup((const char *)sqlite3_column_text(c->query, 1));
        o->category = strdup((const char *)sqlite3_column_text(c->query, 2));
        o->price = sqlite3_column_double(c->query, 3);
        o->stock = sqlite3_column_int64(c->query, 4);
        o->description = strdup((const char *)sqlite3_column_text(c->query, 5));
    }
    sqlite3_reset(c->query);
    if (n == 0)
        return reply(c, 500, "text/plain", "no rows\n", 8);

    struct buf rows = { 0 }, lvl = { 0 }, page = { 0 };
    for (int i = 0; i < n; i++)
        offer_render(&offers[i], &rows);
    buf_escaped(&lvl, level);
    char firstid[32], lastid[32], total[32];
    snprintf(firstid, sizeof(firstid), "%lld", offers[0].id);
    snprintf(lastid, sizeof(lastid), "%lld", offers[n - 1].id);
    snprintf(total, sizeof(total), "%d", ITEMS);
    const struct var vars[] = {
        { "title", "Nested Cloud offers" }, { "first", firstid }, { "last", lastid },
        { "total", total }, { "level", lvl.p }, { "rows", rows.p },
    };
    template_fill(&page, page_template, vars, sizeof(vars) / sizeof(vars[0]));
    int r = reply(c, 200, "text/html; charset=utf-8", page.p, page.len);
    for (int i = 0; i < n; i++)
        offer_clear(&offers[i]);
    free(rows.p);
    free(lvl.p);
    free(page.p);
    return r;
}

/* Content-Length of the request head @h (a request body is read and
 * dropped), or 0. */
static size_t
content_length(const char *h)
{
    const char *p = strcasestr(h, "\r\ncontent-length:");
    return p ? (size_t)strtoul(p + 17, NULL, 10) : 0;
}

static void *
conn_main(void *arg)
{
    struct conn *c = arg;
    char *req = malloc(REQ_MAX + 1);
    size_t have = 0;
    bool open = req != NULL;
    while (open) {
        char *end;
        req[have] = '\0';
        while (!(end = strstr(req, "\r\n\r\n"))) {
            if (have == REQ_MAX)
                goto out;
            ssize_t r = recv(c->fd, req + have, REQ_MAX - have, 0);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                goto out;
            }
            have += (size_t)r;
            req[have] = '\0';
        }
        *end = '\0';
        size_t head = (size_t)(end - req) + 4;
        size_t body = content_length(req);
        open = strcasestr(req, "\r\nconnection: close") == NULL;
        char method[8] = "", path[256] = "";
        sscanf(req, "%7s %255s", method, path);
        int r;
        if (strcmp(method, "GET") != 0)
            r = reply(c, 405, "text/plain", "method not allowed\n", 19);
        else if (strcmp(path, "/health") == 0)
            r = reply(c, 200, "text/plain", "ok\n", 3);
        else if (strcmp(path, "/") == 0 || strncmp(path, "/offers", 7) == 0)
            r = serve_offers(c);
        else
            r = reply(c, 404, "text/plain", "not found\n", 10);
        if (r < 0)
            break;
        /* keep what followed this request (pipelining), drop its body */
        size_t used = head + body;
        if (used > have)
            goto out;
        memmove(req, req + used, have - used);
        have -= used;
    }
out:
    free(req);
    if (c->query)
        sqlite3_finalize(c->query);
    if (c->db)
        sqlite3_close(c->db);
    close(c->fd);
    free(c);
    return NULL;
}

static int
serve(int port)
{
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1024) < 0) {
        perror("nc-benchapp: listen");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("nc-benchapp: accept");
            return 1;
        }
        /* headers and body go out in one write; no Nagle delay either way */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->rng = rng_next(&seed);
        if (pthread_create(&t, &attr, conn_main, c) != 0) {
            close(fd);
            free(c);
        }
    }
}

static int
check(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 5 };
    char r[64] = "";
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 1;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send_all(fd, req, sizeof(req) - 1) < 0 || recv(fd, r, sizeof(r) - 1, 0) < 12)
        return 1;
    close(fd);
    return strncmp(r, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}

static void
usage(void)
{
    fprintf(stderr, "usage: nc-benchapp --init-db FILE\n"
                    "       nc-benchapp --db FILE --port PORT [--level NAME]\n"
                    "       nc-benchapp --check PORT\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *init = NULL;
    int port = 8081;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--init-db") == 0)
            init = argv[++i];
        else if (strcmp(argv[i], "--db") == 0)
            db_path = argv[++i];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--level") == 0)
            level = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            return check(atoi(argv[++i]));
        else
            usage();
    }
    if (init)
        return init_db(init);
    if (!db_path || port <= 0 || port > 65535)
        usage();
    return serve(port);
}
