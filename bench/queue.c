/* bench/queue.c: what the bus costs a command, RabbitMQ against the
 * embedded queue, in the same run.
 *
 *   build/bench/bench_queue [-n 10000] [-s 512] [-p 1] [--url amqp://...]
 *
 * For each bus, on a fresh topic:
 *   throughput  P threads (-p) publish N messages in all (publish returns once the
 *               bus holds the message: the broker's confirm for RabbitMQ,
 *               the commit for the embedded queue) while another receives
 *               and acknowledges them; messages per second from the first
 *               publish to the last ack.
 *   latency     one message in flight: publish, receive, ack, N times; the
 *               time from the start of publish to the return of receive is
 *               the time a command spends on the bus.  p50/p99.
 *
 * Without --url (or NC_TEST_AMQP_URL) it starts a private RabbitMQ node
 * with scripts/rabbitmq.sh on a free port and stops it at the end.
 */
#include "nc_config.h"
#include "bus/bus.h"
#include "util/nc_error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    const char *name;
    double throughput;        /* messages per second */
    double p50_ms, p99_ms;    /* publish -> received, one in flight */
    double pub_p50_ms;        /* the publish call alone */
    double loaded_p50_ms, loaded_p99_ms;   /* publish -> received under full load */
} Result;

typedef struct {
    NcBus *bus;
    const char *topic;
    int first, n;            /* this publisher's sequence numbers */
    int size;
    int64_t *sent_us;        /* shared by all publishers */
} Load;

static char *
make_body(int seq, int size)
{
    GString *s = g_string_sized_new((gsize)size + 32);
    g_string_append_printf(s, "{\"seq\": %d, \"pad\": \"", seq);
    while ((int)s->len < size - 2)
        g_string_append_c(s, 'x');
    g_string_append(s, "\"}");
    return g_string_free(s, FALSE);
}

static int
body_seq(const char *body)
{
    int seq = -1;
    if (sscanf(body, "{\"seq\": %d", &seq) != 1)
        return -1;
    return seq;
}

static void
die(const char *what, GError *err)
{
    fprintf(stderr, "bench_queue: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double
percentile_ms(int64_t *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static gpointer
load_publish(gpointer data)
{
    Load *l = data;
    for (int i = l->first; i < l->first + l->n; i++) {
        g_autofree char *body = make_body(i, l->size);
        g_autoptr(GError) err = NULL;
        __atomic_store_n(&l->sent_us[i], g_get_monotonic_time(), __ATOMIC_RELEASE);
        if (nc_bus_publish(l->bus, l->topic, body, &err) < 0)
            die("publish", err);
    }
    return NULL;
}

static void
run_bus(Result *r, NcBus *bus, const char *topic_base, int n, int size, int publishers)
{
    g_autofree char *topic = g_strdup_printf("%s.%08x", topic_base, g_random_int());
    g_autoptr(GError) err = NULL;
    if (nc_bus_declare(bus, topic, true, &err) < 0)
        die("declare", err);

    /* warm-up: connections, queue, caches */
    for (int i = 0; i < 200; i++) {
        g_autofree char *body = make_body(i, size);
        g_autoptr(NcMessage) m = NULL;
        if (nc_bus_publish(bus, topic, body, &err) < 0 ||
            nc_bus_receive(bus, topic, 5000, &m, &err) != 1 || nc_bus_ack(bus, m, &err) < 0)
            die("warm-up", err);
    }

    /* throughput, and latency under that load */
    int64_t *sent_us = g_new0(int64_t, n);
    Load *loads = g_new0(Load, publishers);
    GThread **pubs = g_new0(GThread *, publishers);
    int64_t *loaded = g_new(int64_t, n);
    int64_t t0 = g_get_monotonic_time();
    for (int k = 0; k < publishers; k++) {
        loads[k] = (Load){ .bus = bus, .topic = topic, .size = size, .sent_us = sent_us,
                           .first = k * (n / publishers),
                           .n = k == publishers - 1 ? n - k * (n / publishers) : n / publishers };
        pubs[k] = g_thread_new("publisher", load_publish, &loads[k]);
    }
    for (int got = 0; got < n;) {
        NcMessage *m = NULL;
        int rc = nc_bus_receive(bus, topic, 10000, &m, &err);
        if (rc < 0)
            die("receive", err);
        if (rc == 0)
            die("receive: nothing within 10 s", NULL);
        int64_t now = g_get_monotonic_time();
        int seq = body_seq(m->body);
        if (seq < 0 || seq >= n)
            die("receive: a message that is not ours", NULL);
        loaded[got++] = now - __atomic_load_n(&sent_us[seq], __ATOMIC_ACQUIRE);
        if (nc_bus_ack(bus, m, &err) < 0)
            die("ack", err);
        nc_message_free(m);
    }
    int64_t elapsed = g_get_monotonic_time() - t0;
    for (int k = 0; k < publishers; k++)
        g_thread_join(pubs[k]);
    g_free(pubs);
    g_free(loads);
    r->throughput = (double)n * G_USEC_PER_SEC / (double)elapsed;
    r->loaded_p50_ms = percentile_ms(loaded, n, 0.50);
    r->loaded_p99_ms = percentile_ms(loaded, n, 0.99);

    /* latency with one message in flight */
    int64_t *lat = g_new(int64_t, n);
    int64_t *pub_lat = g_new(int64_t, n);
    for (int i = 0; i < n; i++) {
        g_autofree char *body = make_body(i, size);
        g_autoptr(NcMessage) m = NULL;
        int64_t start = g_get_monotonic_time();
        if (nc_bus_publish(bus, topic, body, &err) < 0)
            die("publish", err);
        int64_t published = g_get_monotonic_time();
        if (nc_bus_receive(bus, topic, 10000, &m, &err) != 1)
            die("receive", err);
        int64_t end = g_get_monotonic_time();
        if (body_seq(m->body) != i)
            die("receive: out of order", NULL);
        lat[i] = end - start;
        pub_lat[i] = published - start;
        if (nc_bus_ack(bus, m, &err) < 0)
            die("ack", err);
    }
    r->p50_ms = percentile_ms(lat, n, 0.50);
    r->p99_ms = percentile_ms(lat, n, 0.99);
    r->pub_p50_ms = percentile_ms(pub_lat, n, 0.50);
    g_free(lat);
    g_free(pub_lat);
    g_free(loaded);
    g_free(sent_us);
}

/* ---- a private broker ---- */

static bool
port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool
broker_ctl(const char *action, const char *dir, int port)
{
    g_autofree char *script = g_build_filename(NC_SOURCE_DIR, "scripts", "rabbitmq.sh", NULL);
    g_autofree char *p = g_strdup_printf("%d", port);
    const char *argv[] = { script, action, dir, p, NULL };
    int status = 0;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                      NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, &err)) {
        fprintf(stderr, "bench_queue: rabbitmq.sh %s: %s\n", action,
                err ? err->message : "failed");
        return false;
    }
    return true;
}

static void
print_row(const Result *r)
{
    printf("| %-5s | %10.0f | %8.2f | %8.2f | %10.2f | %9.2f | %9.2f |\n", r->name,
           r->throughput, r->p50_ms, r->p99_ms, r->pub_p50_ms, r->loaded_p50_ms,
           r->loaded_p99_ms);
}

int
main(int argc, char **argv)
{
    int n = 10000;
    int size = 512;
    int publishers = 1;
    g_autofree char *url = NULL;
    GOptionEntry entries[] = {
        { "messages", 'n', 0, G_OPTION_ARG_INT, &n, "messages per measurement (10000)", "N" },
        { "size", 's', 0, G_OPTION_ARG_INT, &size, "message size in bytes (512)", "BYTES" },
        { "publishers", 'p', 0, G_OPTION_ARG_INT, &publishers,
          "publisher threads sharing the bus in the throughput run (1)", "P" },
        { "url", 0, 0, G_OPTION_ARG_STRING, &url, "RabbitMQ to use instead of a private node",
          "amqp://..." },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the bus's cost per command");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err))
        die("options", err);
    if (n < 10 || size < 32 || size > 1024 * 1024 || publishers < 1 || publishers > 256 ||
        publishers > n) {
        fprintf(stderr, "bench_queue: need -n >= 10, 32 <= -s <= 1048576 and"
                        " 1 <= -p <= min(256, n)\n");
        return 2;
    }

    g_autofree char *dir = g_dir_make_tmp("nc-bench-queue-XXXXXX", NULL);
    Result local = { .name = "local" };
    {
        g_autofree char *path = g_build_filename(dir, "queue.db", NULL);
        NcStore *st = nc_store_open(path, &err);
        if (!st)
            die("store", err);
        NcBus *bus = nc_bus_open("local", st, &err);
        if (!bus)
            die("local bus", err);
        run_bus(&local, bus, "bench", n, size, publishers);
        nc_bus_close(bus);
        nc_store_close(st);
    }

    Result amqp = { .name = "amqp" };
    bool have_amqp = false;
    int port = 0;
    g_autofree char *broker_dir = NULL;
#if NC_WITH_AMQP
    if (!url && g_getenv("NC_TEST_AMQP_URL"))
        url = g_strdup(g_getenv("NC_TEST_AMQP_URL"));
    if (!url) {
        /* its own directory: the node runs as the rabbitmq user */
        broker_dir = g_dir_make_tmp("nc-bench-rabbitmq-XXXXXX", NULL);
        for (int i = 0; i < 200 && !port; i++) {
            int p = g_random_int_range(20000, 30000);
            if (port_free(p) && port_free(p + 1) && port_free(p + 2))
                port = p;
        }
        if (port && broker_ctl("start", broker_dir, port))
            url = g_strdup_printf("amqp://guest:guest@127.0.0.1:%d/", port);
    }
    if (url) {
        NcBus *bus = nc_bus_open(url, NULL, &err);
        if (!bus)
            die("amqp bus", err);
        run_bus(&amqp, bus, "bench", n, size, publishers);
        nc_bus_close(bus);
        have_amqp = true;
    }
    if (broker_dir && port) {
        broker_ctl("stop", broker_dir, port);
        g_autofree char *rm = g_strdup_printf("rm -rf '%s'", broker_dir);
        if (system(rm) != 0)
            fprintf(stderr, "bench_queue: cannot remove %s\n", broker_dir);
    }
#endif

    printf("bus queue: %d messages of %d bytes; %d publisher thread(s), one consumer acking\n",
           n, size, publishers);
    printf("| bus   | msg/s      | p50 ms   | p99 ms   | publish p50 | loaded p50 | loaded p99 |\n");
    printf("| ----- | ---------- | -------- | -------- | ----------- | ---------- | ---------- |\n");
    print_row(&local);
    if (have_amqp)
        print_row(&amqp);
    else
        printf("| amqp  | (no RabbitMQ: build without librabbitmq, or the node did not start) |\n");
    printf("p50/p99: publish -> received with one message in flight (the time a command\n"
           "spends on the bus); publish: until the bus holds it (RabbitMQ: confirmed);\n"
           "loaded: publish -> received during the throughput run.\n");

    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_queue: cannot remove %s\n", dir);
    return have_amqp ? 0 : 2;
}
