/* test_bus_local.c: the embedded queue: order, acks, redelivery, dead
 * letters, and leases taken back after a consumer dies. */
#include "bus/bus.h"
#include "util/nc_error.h"

#include <glib/gstdio.h>

typedef struct {
    char *dir;
    NcStore *st;
    NcBus *bus;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("nc-bus-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(f->dir, "q.db", NULL);
    f->st = nc_store_open(path, NULL);
    g_assert_nonnull(f->st);
    f->bus = nc_bus_open("local", f->st, NULL);
    g_assert_nonnull(f->bus);
    g_assert_cmpint(nc_bus_declare(f->bus, "t", true, NULL), ==, 0);
}

static void
teardown(Fixture *f, gconstpointer data)
{
    nc_bus_close(f->bus);
    nc_store_close(f->st);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(f->dir);
}

static void
test_fifo_and_ack(Fixture *f, gconstpointer data)
{
    for (int i = 0; i < 5; i++) {
        g_autofree char *body = g_strdup_printf("{\"n\": %d}", i);
        g_assert_cmpint(nc_bus_publish(f->bus, "t", body, NULL), ==, 0);
    }
    g_assert_cmpint(nc_bus_publish(f->bus, "other", "{}", NULL), ==, 0);
    for (int i = 0; i < 5; i++) {
        g_autoptr(NcMessage) m = NULL;
        g_assert_cmpint(nc_bus_receive(f->bus, "t", 100, &m, NULL), ==, 1);
        g_autofree char *want = g_strdup_printf("{\"n\": %d}", i);
        g_assert_cmpstr(m->body, ==, want);
        g_assert_cmpint(m->attempts, ==, 1);
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    NcMessage *none = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 50, &none, NULL), ==, 0);
    g_assert_null(none);
}

static void
test_lease_and_takeover(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nc_bus_publish(f->bus, "t", "{\"a\": 1}", NULL), ==, 0);
    g_autoptr(NcMessage) m = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 100, &m, NULL), ==, 1);
    /* leased: nobody else gets it while its consumer lives */
    NcMessage *again = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 50, &again, NULL), ==, 0);
    /* the consumer "dies"; its successor declares the topic and takes the
     * unacknowledged message back */
    g_assert_cmpint(nc_bus_declare(f->bus, "t", true, NULL), ==, 0);
    g_autoptr(NcMessage) m2 = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 100, &m2, NULL), ==, 1);
    g_assert_cmpstr(m2->body, ==, "{\"a\": 1}");
    g_assert_cmpint(m2->attempts, ==, 2);
    g_assert_cmpint(nc_bus_ack(f->bus, m2, NULL), ==, 0);
}

static void
test_retry_and_dead_letter(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nc_bus_publish(f->bus, "t", "{\"poison\": true}", NULL), ==, 0);
    for (int i = 1; i <= NC_BUS_MAX_ATTEMPTS; i++) {
        g_autoptr(NcMessage) m = NULL;
        g_assert_cmpint(nc_bus_receive(f->bus, "t", 500, &m, NULL), ==, 1);
        g_assert_cmpint(m->attempts, ==, i);
        g_assert_cmpint(nc_bus_retry(f->bus, m, 0, NULL), ==, 0);
    }
    NcMessage *none = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 50, &none, NULL), ==, 0);
    g_autoptr(NcMessage) dead = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "dead.t", 100, &dead, NULL), ==, 1);
    g_assert_cmpstr(dead->body, ==, "{\"poison\": true}");
}

static gpointer
late_publish(gpointer data)
{
    g_usleep(100 * 1000);
    nc_bus_publish(data, "t", "{\"late\": 1}", NULL);
    return NULL;
}

static void
test_wakeup(Fixture *f, gconstpointer data)
{
    /* a receiver waiting in this process wakes as soon as a message comes */
    GThread *t = g_thread_new("pub", late_publish, f->bus);
    g_autoptr(NcMessage) m = NULL;
    gint64 start = g_get_monotonic_time();
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 5000, &m, NULL), ==, 1);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 4000 * 1000);
    g_thread_join(t);
}

static void
test_outbox_in_transaction(Fixture *f, gconstpointer data)
{
    /* a command written in a rolled-back transaction never existed */
    {
        g_auto(NcStoreTxn) txn = { 0 };
        g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
        g_assert_cmpint(nc_outbox_put(f->st, "t", "{\"x\": 1}", NULL), ==, 0);
    }
    NcMessage *none = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 50, &none, NULL), ==, 0);
    g_auto(NcStoreTxn) txn = { 0 };
    g_assert_cmpint(nc_store_txn_begin(&txn, f->st, NULL), ==, 0);
    g_assert_cmpint(nc_outbox_put(f->st, "t", "{\"x\": 2}", NULL), ==, 0);
    g_assert_cmpint(nc_store_txn_commit(&txn, NULL), ==, 0);
    g_autoptr(NcMessage) m = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 100, &m, NULL), ==, 1);
    g_assert_cmpstr(m->body, ==, "{\"x\": 2}");
}

static void
test_outbox_forget(Fixture *f, gconstpointer data)
{
    /* a removed host's waiting commands go; other topics' stay */
    g_assert_cmpint(nc_outbox_put(f->st, "gone", "{\"x\": 1}", NULL), ==, 0);
    g_assert_cmpint(nc_outbox_put(f->st, "gone", "{\"x\": 2}", NULL), ==, 0);
    g_assert_cmpint(nc_outbox_put(f->st, "t", "{\"x\": 3}", NULL), ==, 0);
    g_assert_cmpint(nc_outbox_forget(f->st, "gone", NULL), ==, 2);
    NcMessage *none = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "gone", 50, &none, NULL), ==, 0);
    g_autoptr(NcMessage) m = NULL;
    g_assert_cmpint(nc_bus_receive(f->bus, "t", 100, &m, NULL), ==, 1);
    g_assert_cmpstr(m->body, ==, "{\"x\": 3}");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
    ADD("/bus_local/fifo-and-ack", test_fifo_and_ack);
    ADD("/bus_local/lease-and-takeover", test_lease_and_takeover);
    ADD("/bus_local/retry-and-dead-letter", test_retry_and_dead_letter);
    ADD("/bus_local/wakeup", test_wakeup);
    ADD("/bus_local/outbox-in-transaction", test_outbox_in_transaction);
    ADD("/bus_local/outbox-forget", test_outbox_forget);
    return g_test_run();
}
