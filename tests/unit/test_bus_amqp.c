/* test_bus_amqp.c: the RabbitMQ bus against a real broker: order, acks,
 * redelivery after a consumer dies, retries and dead letters, concurrent
 * publishers and ackers, heartbeats on an idle connection, the outbox
 * relay, and a broker restart in the middle of publishing.
 *
 * The test starts its own private node with scripts/rabbitmq.sh on a free
 * port in a temporary directory; with NC_TEST_AMQP_URL set it uses that
 * broker instead (and skips the restart, which it cannot do there). */
#include "nc_config.h"
#include "bus/bus.h"
#include "util/nc_error.h"

#include <amqp.h>
#include "util/nc_json.h"
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *broker_dir;     /* NULL when NC_TEST_AMQP_URL names the broker */
static int broker_port;
static char *broker_url;

/* ---- the broker ---- */

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

/* Runs scripts/rabbitmq.sh ACTION; asserts it worked. */
static void
broker_ctl(const char *action)
{
    g_autofree char *script = g_build_filename(NC_SOURCE_DIR, "scripts", "rabbitmq.sh", NULL);
    g_autofree char *port = g_strdup_printf("%d", broker_port);
    const char *argv[] = { script, action, broker_dir, port, NULL };
    g_autofree char *out = NULL;
    g_autofree char *errs = NULL;
    int status = 0;
    g_autoptr(GError) err = NULL;
    gboolean ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &errs, &status, &err);
    g_assert_no_error(err);
    if (!ok || !g_spawn_check_wait_status(status, NULL))
        g_error("rabbitmq.sh %s failed:\n%s%s", action, out, errs);
}

static void
broker_start(void)
{
    const char *url = g_getenv("NC_TEST_AMQP_URL");
    if (url && *url) {
        broker_url = g_strdup(url);
        return;
    }
    broker_dir = g_dir_make_tmp("nc-amqp-XXXXXX", NULL);
    g_assert_nonnull(broker_dir);
    for (int i = 0; i < 200 && !broker_port; i++) {
        int p = g_random_int_range(20000, 30000);
        if (port_free(p) && port_free(p + 1) && port_free(p + 2))
            broker_port = p;
    }
    g_assert_cmpint(broker_port, >, 0);
    broker_ctl("start");
    broker_url = g_strdup_printf("amqp://guest:guest@127.0.0.1:%d/", broker_port);
}

static void
broker_stop(void)
{
    if (!broker_dir)
        return;
    broker_ctl("kill");   /* its data goes next: no need for an orderly stop */
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", broker_dir);
    g_assert_cmpint(system(cmd), ==, 0);
}

/* Deletes a queue straight through librabbitmq, so that a shared broker
 * keeps nothing of this test. */
static void
queue_delete(const char *name)
{
    struct amqp_connection_info info;
    g_autofree char *url = g_strdup(broker_url);
    g_assert_cmpint(amqp_parse_url(url, &info), ==, AMQP_STATUS_OK);
    if (!*info.vhost)
        info.vhost = (char *)"/";
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    g_assert_cmpint(amqp_socket_open(sock, info.host, info.port), ==, AMQP_STATUS_OK);
    g_assert_cmpint(amqp_login(conn, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                               info.user, info.password).reply_type, ==, AMQP_RESPONSE_NORMAL);
    amqp_channel_open(conn, 1);
    amqp_queue_delete(conn, 1, amqp_cstring_bytes(name), 0, 0);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

/* ---- fixture: a fresh topic and a bus ---- */

typedef struct {
    char *topic;
    char *dead;
    NcBus *bus;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
    f->topic = g_strdup_printf("test.%08x", g_random_int());
    f->dead = g_strconcat("dead.", f->topic, NULL);
    g_autoptr(GError) err = NULL;
    f->bus = nc_bus_open(broker_url, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(nc_bus_driver_name(f->bus), ==, "amqp");
    g_assert_cmpint(nc_bus_declare(f->bus, f->topic, true, &err), ==, 0);
    g_assert_no_error(err);
}

static void
teardown(Fixture *f, gconstpointer data)
{
    nc_bus_close(f->bus);
    queue_delete(f->topic);
    queue_delete(f->dead);
    g_free(f->topic);
    g_free(f->dead);
}

/* Receives one message of @topic within @ms or fails the test. */
static NcMessage *
must_receive(NcBus *bus, const char *topic, int ms)
{
    NcMessage *m = NULL;
    g_autoptr(GError) err = NULL;
    int rc = nc_bus_receive(bus, topic, ms, &m, &err);
    g_assert_no_error(err);
    g_assert_cmpint(rc, ==, 1);
    g_assert_nonnull(m);
    g_assert_cmpstr(m->topic, ==, topic);
    return m;
}

static void
must_be_empty(NcBus *bus, const char *topic, int ms)
{
    NcMessage *none = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_bus_receive(bus, topic, ms, &none, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_null(none);
}

/* ---- tests ---- */

static void
test_fifo_and_ack(Fixture *f, gconstpointer data)
{
    g_autofree char *other = g_strconcat(f->topic, ".other", NULL);
    for (int i = 0; i < 20; i++) {
        g_autofree char *body = g_strdup_printf("{\"n\": %d}", i);
        g_assert_cmpint(nc_bus_publish(f->bus, f->topic, body, NULL), ==, 0);
    }
    g_assert_cmpint(nc_bus_publish(f->bus, other, "{\"other\": 1}", NULL), ==, 0);
    for (int i = 0; i < 20; i++) {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 2000);
        g_autofree char *want = g_strdup_printf("{\"n\": %d}", i);
        g_assert_cmpstr(m->body, ==, want);
        g_assert_cmpint(m->attempts, ==, 1);
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
        /* a second ack of the same delivery is harmless */
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    must_be_empty(f->bus, f->topic, 200);
    /* another topic on the same bus keeps its own messages */
    g_autoptr(NcMessage) o = must_receive(f->bus, other, 2000);
    g_assert_cmpstr(o->body, ==, "{\"other\": 1}");
    g_assert_cmpint(nc_bus_ack(f->bus, o, NULL), ==, 0);
    queue_delete(other);
    g_autofree char *other_dead = g_strconcat("dead.", other, NULL);
    queue_delete(other_dead);
}

static void
test_limits(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    /* exactly 1 MiB passes, one byte more is refused before it leaves */
    g_autofree char *big = g_malloc(1024 * 1024 + 2);
    memset(big, 'x', 1024 * 1024 + 1);
    big[1024 * 1024 + 1] = '\0';
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, big, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_TOO_LARGE);
    g_clear_error(&err);
    big[1024 * 1024] = '\0';
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, big, &err), ==, 0);
    g_assert_no_error(err);
    g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 5000);
    g_assert_cmpuint(strlen(m->body), ==, 1024 * 1024);
    g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);

    g_assert_cmpint(nc_bus_publish(f->bus, "", "{}", &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&err);
    g_assert_cmpint(nc_bus_declare(f->bus, "amq.nope", false, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&err);

    g_autoptr(NcBus) bad = nc_bus_open("amqp://guest:wrong@127.0.0.1:1/", NULL, &err);
    g_assert_null(bad);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
}

static void
test_redelivery_after_close(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"a\": 1}", NULL), ==, 0);
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"a\": 2}", NULL), ==, 0);
    {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 2000);
        g_assert_cmpstr(m->body, ==, "{\"a\": 1}");
        g_assert_cmpint(m->attempts, ==, 1);
    }
    /* the consumer dies holding {"a": 1} unacknowledged */
    nc_bus_close(f->bus);
    g_autoptr(GError) err = NULL;
    f->bus = nc_bus_open(broker_url, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(nc_bus_declare(f->bus, f->topic, true, NULL), ==, 0);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < 2; i++) {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 5000);
        if (strcmp(m->body, "{\"a\": 1}") == 0)
            g_assert_cmpint(m->attempts, >=, 2);   /* the broker counts the return */
        g_hash_table_add(seen, g_strdup(m->body));
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    g_assert_true(g_hash_table_contains(seen, "{\"a\": 1}"));
    g_assert_true(g_hash_table_contains(seen, "{\"a\": 2}"));
    must_be_empty(f->bus, f->topic, 300);
}

static void
test_retry_and_dead_letter(Fixture *f, gconstpointer data)
{
    const int delay_ms = 150;
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"poison\": true}", NULL), ==, 0);
    gint64 given_back = 0;
    for (int i = 1; i <= NC_BUS_MAX_ATTEMPTS; i++) {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 5000);
        if (given_back)   /* not before its delay */
            g_assert_cmpint(g_get_monotonic_time() - given_back, >=, delay_ms * 1000);
        g_assert_cmpstr(m->body, ==, "{\"poison\": true}");
        g_assert_cmpint(m->attempts, ==, i);
        gint64 t0 = g_get_monotonic_time();
        g_assert_cmpint(nc_bus_retry(f->bus, m, delay_ms, NULL), ==, 0);
        /* the caller never sleeps through the delay */
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 50 * 1000);
        given_back = t0;
    }
    must_be_empty(f->bus, f->topic, 2 * delay_ms);
    g_assert_cmpint(nc_bus_declare(f->bus, f->dead, true, NULL), ==, 0);
    g_autoptr(NcMessage) dead = must_receive(f->bus, f->dead, 5000);
    g_assert_cmpstr(dead->body, ==, "{\"poison\": true}");
    g_assert_cmpint(nc_bus_ack(f->bus, dead, NULL), ==, 0);
}

static void
test_delivery_limit(Fixture *f, gconstpointer data)
{
    /* a message whose consumer dies every time reaches the dead letters
     * through the queue's own delivery limit, with nobody calling retry */
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"crash\": 1}", NULL), ==, 0);
    int deliveries = 0;
    for (;;) {
        NcMessage *m = NULL;
        int rc = nc_bus_receive(f->bus, f->topic, 1000, &m, NULL);
        g_assert_cmpint(rc, >=, 0);
        if (rc == 0)
            break;
        deliveries++;
        g_assert_cmpint(m->attempts, ==, deliveries);
        nc_message_free(m);
        nc_bus_close(f->bus);
        f->bus = nc_bus_open(broker_url, NULL, NULL);
        g_assert_nonnull(f->bus);
        g_assert_cmpint(deliveries, <=, NC_BUS_MAX_ATTEMPTS);
    }
    g_assert_cmpint(deliveries, ==, NC_BUS_MAX_ATTEMPTS);
    g_autoptr(NcMessage) dead = must_receive(f->bus, f->dead, 5000);
    g_assert_cmpstr(dead->body, ==, "{\"crash\": 1}");
    g_assert_cmpint(nc_bus_ack(f->bus, dead, NULL), ==, 0);
}

/* ---- many threads on one bus, as the worker uses it ---- */

#define CONC_PUBLISHERS 4
#define CONC_EACH 500

typedef struct {
    Fixture *f;
    int index;
    GAsyncQueue *to_ack;
    GMutex lock;
    GHashTable *received;     /* body -> count */
    gint acked;
} Conc;

typedef struct {
    Conc *c;
    int index;
} ConcPublisher;

static gpointer
conc_publish(gpointer data)
{
    ConcPublisher *p = data;
    for (int i = 0; i < CONC_EACH; i++) {
        g_autofree char *body = g_strdup_printf("{\"p\": %d, \"i\": %d}", p->index, i);
        g_autoptr(GError) err = NULL;
        if (nc_bus_publish(p->c->f->bus, p->c->f->topic, body, &err) < 0)
            g_error("publish failed: %s", err->message);
    }
    return NULL;
}

static gpointer
conc_ack(gpointer data)
{
    Conc *c = data;
    for (;;) {
        NcMessage *m = g_async_queue_pop(c->to_ack);
        if (!m->body) {   /* the end */
            nc_message_free(m);
            return NULL;
        }
        g_autoptr(GError) err = NULL;
        if (nc_bus_ack(c->f->bus, m, &err) < 0)
            g_error("ack failed: %s", err->message);
        g_atomic_int_inc(&c->acked);
        nc_message_free(m);
    }
}

static void
test_concurrent(Fixture *f, gconstpointer data)
{
    Conc c = { .f = f };
    const int total = CONC_PUBLISHERS * CONC_EACH;
    c.to_ack = g_async_queue_new();
    c.received = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ConcPublisher pubs[CONC_PUBLISHERS];
    GThread *pub_threads[CONC_PUBLISHERS];
    GThread *ackers[2];
    for (int i = 0; i < 2; i++)
        ackers[i] = g_thread_new("acker", conc_ack, &c);
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < CONC_PUBLISHERS; i++) {
        pubs[i] = (ConcPublisher){ .c = &c, .index = i };
        pub_threads[i] = g_thread_new("publisher", conc_publish, &pubs[i]);
    }
    /* this thread is the dispatcher: it receives, the ackers settle */
    int got = 0;
    gint64 give_up = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    while (got < total && g_get_monotonic_time() < give_up) {
        NcMessage *m = NULL;
        g_autoptr(GError) err = NULL;
        int rc = nc_bus_receive(f->bus, f->topic, 500, &m, &err);
        g_assert_no_error(err);
        if (rc == 0)
            continue;
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(c.received, m->body));
        g_assert_cmpuint(n, ==, 0);   /* no duplicates without a failure */
        g_hash_table_insert(c.received, g_strdup(m->body), GUINT_TO_POINTER(n + 1));
        got++;
        g_async_queue_push(c.to_ack, m);
    }
    for (int i = 0; i < CONC_PUBLISHERS; i++)
        g_thread_join(pub_threads[i]);
    for (int i = 0; i < 2; i++)
        g_async_queue_push(c.to_ack, g_new0(NcMessage, 1));
    for (int i = 0; i < 2; i++)
        g_thread_join(ackers[i]);
    g_test_message("%d messages, 4 publishers, 1 receiver, 2 ackers: %.2f s", total,
                   (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
    g_assert_cmpint(got, ==, total);
    g_assert_cmpint(g_atomic_int_get(&c.acked), ==, total);
    for (int p = 0; p < CONC_PUBLISHERS; p++)
        for (int i = 0; i < CONC_EACH; i++) {
            g_autofree char *body = g_strdup_printf("{\"p\": %d, \"i\": %d}", p, i);
            g_assert_true(g_hash_table_contains(c.received, body));
        }
    must_be_empty(f->bus, f->topic, 300);
    g_hash_table_destroy(c.received);
    g_async_queue_unref(c.to_ack);
}

static void
test_idle_heartbeats(Fixture *f, gconstpointer data)
{
    /* quiet for longer than two heartbeat intervals (2 x 10 s): a consumer
     * whose connection the broker dropped would see an error here */
    NcMessage *none = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, f->topic, 25 * 1000, &none, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"after\": \"idle\"}", &err), ==, 0);
    g_assert_no_error(err);
    g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 2000);
    g_assert_cmpstr(m->body, ==, "{\"after\": \"idle\"}");
    g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
}

/* A store in a new directory (*@dir, removed by outbox_store_close())
 * whose outbox holds @n commands {"cmd": 0} ... for the fixture's topic. */
static NcStore *
outbox_store(Fixture *f, int n, char **dir)
{
    *dir = g_dir_make_tmp("nc-amqp-store-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(*dir, "q.db", NULL);
    NcStore *st = nc_store_open(path, NULL);
    g_assert_nonnull(st);
    for (int i = 0; i < n; i++) {
        g_autofree char *body = g_strdup_printf("{\"cmd\": %d}", i);
        g_assert_cmpint(nc_outbox_put(st, f->topic, body, NULL), ==, 0);
    }
    return st;
}

static void
outbox_store_close(NcStore *st, char *dir)
{
    nc_store_close(st);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(dir);
}

static void
test_outbox_relay(Fixture *f, gconstpointer data)
{
    char *dir = NULL;
    NcStore *st = outbox_store(f, 3, &dir);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_outbox_relay(f->bus, st, 10, &err), ==, 3);
    g_assert_no_error(err);
    /* relayed rows are gone from the outbox */
    g_assert_cmpint(nc_outbox_relay(f->bus, st, 10, &err), ==, 0);
    for (int i = 0; i < 3; i++) {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 2000);
        g_autofree char *want = g_strdup_printf("{\"cmd\": %d}", i);
        g_assert_cmpstr(m->body, ==, want);
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    outbox_store_close(st, dir);
}

static int64_t
outbox_rows(NcStore *st)
{
    g_autoptr(NcRows) r = nc_store_query(st, NULL, "SELECT COUNT(*) FROM queue", NC_END);
    g_assert_nonnull(r);
    g_assert_true(nc_rows_next(r, NULL));
    return nc_rows_int(r, 0);
}

/* Step by step: a full step leaves what it sent in the outbox until the
 * next step deletes it in the transaction that reads on; a step that
 * finds less than it may take clears the outbox at once. */
static void
test_outbox_relay_steps(Fixture *f, gconstpointer data)
{
    char *dir = NULL;
    NcStore *st = outbox_store(f, 5, &dir);
    g_autoptr(GError) err = NULL;
    NcOutboxRelay *relay = nc_outbox_relay_new(f->bus, st);
    g_assert_cmpint(nc_outbox_relay_step(relay, 2, &err), ==, 2);
    g_assert_no_error(err);
    g_assert_cmpint(outbox_rows(st), ==, 5);
    g_assert_cmpint(nc_outbox_relay_step(relay, 2, &err), ==, 2);
    g_assert_cmpint(outbox_rows(st), ==, 3);
    /* a row committed meanwhile goes too, after those before it */
    g_assert_cmpint(nc_outbox_put(st, f->topic, "{\"cmd\": 5}", NULL), ==, 0);
    g_assert_cmpint(nc_outbox_relay_step(relay, 4, &err), ==, 2);
    g_assert_no_error(err);
    g_assert_cmpint(outbox_rows(st), ==, 0);
    g_assert_cmpint(nc_outbox_relay_step(relay, 4, &err), ==, 0);
    nc_outbox_relay_free(relay);
    /* each row went once, in order: rows of one host's topic leave as one
     * batch command, so read the commands out of the messages */
    int next = 0;
    while (next < 6) {
        g_autoptr(NcMessage) m = must_receive(f->bus, f->topic, 2000);
        g_autoptr(json_t) body = json_loads(m->body, 0, NULL);
        g_assert_nonnull(body);
        json_t *cmds = json_object_get(body, "commands");
        if (!cmds) {
            g_assert_cmpint(json_integer_value(json_object_get(body, "cmd")), ==, next++);
        } else {
            size_t i;
            json_t *one;
            json_array_foreach(cmds, i, one)
                g_assert_cmpint(json_integer_value(json_object_get(one, "cmd")), ==, next++);
        }
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    NcMessage *extra = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, f->topic, 300, &extra, NULL), ==, 0);
    outbox_store_close(st, dir);
}

/* ---- the broker restarts under a running publisher ---- */

typedef struct {
    Fixture *f;
    gint stop;
    GMutex lock;
    GHashTable *confirmed;    /* bodies the broker confirmed */
    int next;
    int failures;
    int wrong_code;
} Restart;

static gpointer
restart_publish(gpointer data)
{
    Restart *r = data;
    while (!g_atomic_int_get(&r->stop)) {
        g_autofree char *body = g_strdup_printf("{\"seq\": %d}", r->next);
        g_autoptr(GError) err = NULL;
        if (nc_bus_publish(r->f->bus, r->f->topic, body, &err) == 0) {
            g_mutex_lock(&r->lock);
            g_hash_table_add(r->confirmed, g_steal_pointer(&body));
            g_mutex_unlock(&r->lock);
            r->next++;   /* only a confirmed message is done with */
        } else {
            r->failures++;
            if (nc_error_code(err) != NC_ERR_UNAVAILABLE) {
                g_test_message("unexpected publish error: %s", err->message);
                r->wrong_code++;
            }
        }
        g_usleep(20 * 1000);
    }
    return NULL;
}

static void
test_broker_restart(Fixture *f, gconstpointer data)
{
    if (!broker_dir) {
        g_test_skip("NC_TEST_AMQP_URL names a broker this test cannot restart");
        return;
    }
    Restart r = { .f = f };
    g_mutex_init(&r.lock);
    r.confirmed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"held\": 1}", NULL), ==, 0);
    g_autoptr(NcMessage) held = must_receive(f->bus, f->topic, 2000);
    GThread *pub = g_thread_new("publisher", restart_publish, &r);
    g_usleep(500 * 1000);

    broker_ctl("stop");
    g_autoptr(GError) err = NULL;
    /* down: calls fail quickly and cleanly */
    g_assert_cmpint(nc_bus_publish(f->bus, f->topic, "{\"down\": 1}", &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
    g_clear_error(&err);
    NcMessage *none = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(nc_bus_receive(f->bus, f->topic, 200, &none, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 6 * G_USEC_PER_SEC);
    g_clear_error(&err);
    g_assert_cmpint(nc_bus_declare(f->bus, f->topic, true, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
    g_clear_error(&err);
    /* the delivery of the lost connection: settling it does nothing */
    g_assert_cmpint(nc_bus_ack(f->bus, held, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(nc_bus_retry(f->bus, held, 100, &err), ==, 0);
    g_assert_no_error(err);

    broker_ctl("start");
    /* back: the next calls reconnect (after their backoff) and work */
    gint64 give_up = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    int rc;
    do {
        g_clear_error(&err);
        rc = nc_bus_declare(f->bus, f->topic, true, &err);
        if (rc < 0) {
            g_assert_cmpint(nc_error_code(err), ==, NC_ERR_UNAVAILABLE);
            g_usleep(100 * 1000);
        }
    } while (rc < 0 && g_get_monotonic_time() < give_up);
    g_assert_no_error(err);
    int confirmed_then = 0;
    while (g_get_monotonic_time() < give_up) {
        g_mutex_lock(&r.lock);
        int n = (int)g_hash_table_size(r.confirmed);
        g_mutex_unlock(&r.lock);
        if (!confirmed_then)
            confirmed_then = n;
        else if (n >= confirmed_then + 10)
            break;
        g_usleep(100 * 1000);
    }
    g_atomic_int_set(&r.stop, 1);
    g_thread_join(pub);
    g_test_message("publisher: %d confirmed, %d failed calls while the broker was away",
                   (int)g_hash_table_size(r.confirmed), r.failures);
    g_assert_cmpint(r.wrong_code, ==, 0);
    g_assert_cmpint(r.failures, >, 0);

    /* everything confirmed is there, and the held message came back */
    bool held_back = false;
    g_autoptr(GHashTable) got = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (;;) {
        NcMessage *m = NULL;
        rc = nc_bus_receive(f->bus, f->topic, 2000, &m, &err);
        g_assert_no_error(err);
        if (rc == 0)
            break;
        if (strcmp(m->body, "{\"held\": 1}") == 0)
            held_back = true;
        g_hash_table_add(got, g_strdup(m->body));
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
        nc_message_free(m);
    }
    g_assert_true(held_back);
    GHashTableIter it;
    gpointer body;
    g_hash_table_iter_init(&it, r.confirmed);
    while (g_hash_table_iter_next(&it, &body, NULL))
        if (!g_hash_table_contains(got, body))
            g_error("confirmed message %s was lost", (char *)body);
    g_hash_table_destroy(r.confirmed);
    g_mutex_clear(&r.lock);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!broker_url && !g_getenv("NC_TEST_AMQP_URL") &&
        !g_file_test("/usr/lib/rabbitmq/bin/rabbitmq-server", G_FILE_TEST_IS_EXECUTABLE)) {
        g_printerr("rabbitmq-server is not installed and NC_TEST_AMQP_URL is not set\n");
        return 77;
    }
    broker_start();
#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
    ADD("/bus_amqp/fifo-and-ack", test_fifo_and_ack);
    ADD("/bus_amqp/limits", test_limits);
    ADD("/bus_amqp/redelivery-after-close", test_redelivery_after_close);
    ADD("/bus_amqp/retry-and-dead-letter", test_retry_and_dead_letter);
    ADD("/bus_amqp/delivery-limit", test_delivery_limit);
    ADD("/bus_amqp/concurrent", test_concurrent);
    ADD("/bus_amqp/outbox-relay", test_outbox_relay);
    ADD("/bus_amqp/outbox-relay-steps", test_outbox_relay_steps);
    ADD("/bus_amqp/idle-heartbeats", test_idle_heartbeats);
    ADD("/bus_amqp/broker-restart", test_broker_restart);
    int rc = g_test_run();
    broker_stop();
    return rc;
}
