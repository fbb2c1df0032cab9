/* test_reporter.c: the workers' shared reporter: reports sent at the same
 * time leave together, none is lost or doubled, a worker's own batch joins
 * flat, and no message passes the size limit, however much waits. */
#include "worker/reporter.h"
#include "util/nc_json.h"

#include <string.h>

#define THREADS 16
#define PER_THREAD 200

typedef struct {
    char *dir;
    NcStore *st;
    NcBus *bus;
    NcReporter *rep;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("nc-rep-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(f->dir, "q.db", NULL);
    f->st = nc_store_open(path, NULL);
    g_assert_nonnull(f->st);
    f->bus = nc_bus_open("local", f->st, NULL);
    g_assert_nonnull(f->bus);
    g_assert_cmpint(nc_bus_declare(f->bus, NC_TOPIC_CENTRAL, true, NULL), ==, 0);
    f->rep = nc_reporter_new(f->bus);
}

static void
teardown(Fixture *f, gconstpointer data)
{
    nc_reporter_free(f->rep);
    nc_bus_close(f->bus);
    nc_store_close(f->st);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(f->dir);
}

typedef struct {
    Fixture *f;
    int k;
    size_t pad;
    int n;
} Sender;

static gpointer
send_many(gpointer data)
{
    Sender *s = data;
    g_autofree char *pad = g_strnfill(s->pad, 'x');
    for (int i = 0; i < s->n; i++) {
        json_t *r = json_pack("{s:s, s:i, s:i, s:s}", "type", "vm.state", "k", s->k, "i", i,
                              "pad", pad);
        if (i % 10 == 0) {
            /* a worker's results: a batch of its own */
            json_t *two = json_pack("{s:s, s:[o, {s:s, s:i, s:i, s:s}]}", "type", "batch",
                                    "reports", r, "type", "op.result", "k", s->k,
                                    "i", -i - 1, "pad", "");
            g_assert_cmpint(nc_reporter_send(s->f->rep, two, true), ==, 0);
        } else {
            g_assert_cmpint(nc_reporter_send(s->f->rep, r, i % 2 == 0), ==, 0);
        }
    }
    return NULL;
}

/* Receives every message; checks sizes; returns how often each (k, i) came. */
static GHashTable *
drain(Fixture *f, int *ret_messages)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    *ret_messages = 0;
    for (;;) {
        g_autoptr(NcMessage) m = NULL;
        int rc = nc_bus_receive(f->bus, NC_TOPIC_CENTRAL, 100, &m, NULL);
        g_assert_cmpint(rc, >=, 0);
        if (rc == 0)
            break;
        (*ret_messages)++;
        g_assert_cmpuint(strlen(m->body), <=, NC_REPORTER_MAX_BYTES + 64);
        g_autoptr(json_t) j = json_loads(m->body, 0, NULL);
        g_assert_nonnull(j);
        json_t *list = json_object_get(j, "reports");
        if (g_strcmp0(nc_json_str(j, "type"), "batch") != 0) {
            list = json_array();
            json_array_append(list, j);
        } else {
            json_incref(list);
        }
        size_t i;
        json_t *one;
        json_array_foreach(list, i, one) {
            g_assert_cmpstr(nc_json_str(one, "type"), !=, "batch");
            g_autofree char *key = g_strdup_printf("%lld/%lld",
                                                   (long long)nc_json_int(one, "k", -1),
                                                   (long long)nc_json_int(one, "i", -1));
            g_hash_table_replace(seen, g_strdup(key),
                                 GINT_TO_POINTER(GPOINTER_TO_INT(
                                     g_hash_table_lookup(seen, key)) + 1));
        }
        json_decref(list);
        g_assert_cmpint(nc_bus_ack(f->bus, m, NULL), ==, 0);
    }
    return seen;
}

static void
run(Fixture *f, size_t pad, int n, int *ret_messages)
{
    Sender s[THREADS];
    GThread *t[THREADS];
    for (int k = 0; k < THREADS; k++) {
        s[k] = (Sender){ f, k, pad, n };
        t[k] = g_thread_new("sender", send_many, &s[k]);
    }
    for (int k = 0; k < THREADS; k++)
        g_thread_join(t[k]);
    g_autoptr(GHashTable) seen = drain(f, ret_messages);
    /* every report once: n, plus one result per tenth */
    g_assert_cmpuint(g_hash_table_size(seen), ==, THREADS * (n + n / 10));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &key, &value))
        g_assert_cmpint(GPOINTER_TO_INT(value), ==, 1);
}

static void
test_together_and_once(Fixture *f, gconstpointer data)
{
    int messages = 0;
    run(f, 10, PER_THREAD, &messages);
    /* sixteen senders at once share sends: far fewer messages than reports */
    g_assert_cmpint(messages, <, THREADS * PER_THREAD);
    g_test_message("%d reports in %d messages", THREADS * (PER_THREAD + PER_THREAD / 10),
                   messages);
}

static void
test_size_limit(Fixture *f, gconstpointer data)
{
    /* 20 sends of about 100 KiB per sender (every tenth a batch of two
     * reports, one of them small): at most five sends fit a message */
    int messages = 0;
    run(f, 100 * 1024, 20, &messages);
    g_assert_cmpint(messages, >=, THREADS * 20 / 5);
}

/* A report sent later goes once it is due, unless it was withdrawn. */
static void
test_later(Fixture *f, gconstpointer data)
{
    NcReporterLater *slow = nc_reporter_send_later(
        f->rep, json_pack("{s:s, s:i, s:i}", "type", "op.started", "k", 1, "i", 1), 60000);
    NcReporterLater *soon = nc_reporter_send_later(
        f->rep, json_pack("{s:s, s:i, s:i}", "type", "op.started", "k", 2, "i", 2), 50);
    NcReporterLater *gone = nc_reporter_send_later(
        f->rep, json_pack("{s:s, s:i, s:i}", "type", "op.started", "k", 3, "i", 3), 60000);
    nc_reporter_withdraw(f->rep, gone);
    /* the one due soon comes; the others do not */
    g_autoptr(GHashTable) seen = NULL;
    for (int tries = 0; tries < 100; tries++) {
        int messages = 0;
        g_clear_pointer(&seen, g_hash_table_unref);
        seen = drain(f, &messages);
        if (messages > 0)
            break;
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 1);
    g_assert_true(g_hash_table_contains(seen, "2/2"));
    /* withdrawing one already sent only frees the handle */
    nc_reporter_withdraw(f->rep, soon);
    nc_reporter_withdraw(f->rep, slow);
    nc_reporter_withdraw(f->rep, NULL);
    int messages = 0;
    g_autoptr(GHashTable) after = drain(f, &messages);
    g_assert_cmpint(messages, ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/reporter/together-and-once", Fixture, NULL, setup, test_together_and_once,
               teardown);
    g_test_add("/reporter/size-limit", Fixture, NULL, setup, test_size_limit, teardown);
    g_test_add("/reporter/later", Fixture, NULL, setup, test_later, teardown);
    return g_test_run();
}
