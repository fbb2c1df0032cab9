/* reporter.c: group commit of reports to the central node. */
#include "reporter.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"

#include <string.h>

/* One report waiting for a send. */
typedef struct {
    char *text;        /* its JSON; a batch of its own: its reports, ", "-joined */
    bool is_batch;
    bool must;
    bool done;
    int rc;
} NcReport;

struct NcReporter {
    NcBus *bus;
    GMutex lock;
    GCond cond;            /* a send ended */
    GPtrArray *pending;    /* NcReport, waiting for the next send */
    bool sending;          /* a caller is sending for everyone */
    gint stopping;
    /* reports sent later unless withdrawn (nc_reporter_send_later) */
    GQueue later;          /* NcReporterLater, by due time */
    GCond later_cond;      /* one was queued, or the reporter closes */
    GThread *later_thread; /* started with the first */
    bool closing;
};

/* how much later than due a report may leave: one wake-up for many */
#define NC_REPORTER_LATER_SLACK_US (50 * 1000)

struct NcReporterLater {
    gint refs;             /* the caller's, and the queue's while queued */
    json_t *report;
    int64_t due_us;        /* monotonic */
    bool withdrawn;        /* under the reporter's lock: left in the queue,
                            * skipped when due (a removal would be a walk
                            * through thousands of commands in flight) */
};

NcReporter *
nc_reporter_new(NcBus *bus)
{
    NcReporter *r = g_new0(NcReporter, 1);
    r->bus = bus;
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    r->pending = g_ptr_array_new();
    g_queue_init(&r->later);
    g_cond_init(&r->later_cond);
    return r;
}

static void
nc_reporter_later_unref(NcReporterLater *l)
{
    if (l && g_atomic_int_dec_and_test(&l->refs)) {
        json_decref(l->report);
        g_free(l);
    }
}

void
nc_reporter_stop(NcReporter *r)
{
    if (r)
        g_atomic_int_set(&r->stopping, 1);
}

void
nc_reporter_free(NcReporter *r)
{
    if (!r)
        return;
    g_mutex_lock(&r->lock);
    r->closing = true;
    g_cond_broadcast(&r->later_cond);
    g_mutex_unlock(&r->lock);
    if (r->later_thread)
        g_thread_join(r->later_thread);
    /* what was still to go later is dropped, as a stopping process drops it */
    g_queue_clear_full(&r->later, (GDestroyNotify)nc_reporter_later_unref);
    g_assert(r->pending->len == 0 && !r->sending);
    g_ptr_array_unref(r->pending);
    g_mutex_clear(&r->lock);
    g_cond_clear(&r->cond);
    g_cond_clear(&r->later_cond);
    g_free(r);
}

/* Publishes @body, retrying as @must asks.  Called without the lock.
 * Returns 0 or -1. */
static int
nc_reporter_publish(NcReporter *r, const char *body, bool must)
{
    g_autoptr(GError) err = NULL;
    int delay_ms = 100;
    for (int i = 0; must || i < 50; i++) {
        g_clear_error(&err);
        if (nc_bus_publish(r->bus, NC_TOPIC_CENTRAL, body, &err) == 0)
            return 0;
        if (g_atomic_int_get(&r->stopping) || nc_error_code(err) == NC_ERR_TOO_LARGE)
            break;
        if (must && i % 10 == 0)
            nc_log_warn("cannot report a result to the central node, trying again: %s",
                        err->message);
        g_usleep((gulong)delay_ms * 1000);
        if (must)
            delay_ms = MIN(delay_ms * 2, 5000);
    }
    nc_log_warn("cannot report to the central node: %s", err->message);
    return -1;
}

/* Takes from the front of the pending reports what fits in one message
 * into @batch and returns the message.  Lock held. */
static char *
nc_reporter_take(NcReporter *r, GPtrArray *batch, bool *ret_must)
{
    NcReport *first = g_ptr_array_index(r->pending, 0);
    guint n = 1;
    size_t size = strlen(first->text);
    while (n < r->pending->len && n < NC_REPORTER_MAX_BATCH) {
        NcReport *next = g_ptr_array_index(r->pending, n);
        size += strlen(next->text) + 2;
        if (size > NC_REPORTER_MAX_BYTES)
            break;
        n++;
    }
    *ret_must = false;
    for (guint i = 0; i < n; i++) {
        NcReport *rep = g_ptr_array_index(r->pending, i);
        g_ptr_array_add(batch, rep);
        *ret_must = *ret_must || rep->must;
    }
    g_ptr_array_remove_range(r->pending, 0, n);
    if (n == 1 && !first->is_batch)
        return g_strdup(first->text);
    g_autoptr(GString) body = g_string_sized_new(size + 64);
    g_string_append(body, "{\"type\": \"batch\", \"reports\": [");
    for (guint i = 0; i < n; i++) {
        NcReport *rep = g_ptr_array_index(batch, i);
        if (i > 0)
            g_string_append(body, ", ");
        g_string_append(body, rep->text);
    }
    g_string_append(body, "]}");
    return g_string_free(g_steal_pointer(&body), FALSE);
}

int
nc_reporter_send(NcReporter *r, json_t *report, bool must)
{
    NcReport mine = { NULL, false, must, false, -1 };
    /* a batch of its own (a worker's results) joins flat */
    json_t *inner = json_object_get(report, "reports");
    if (g_strcmp0(nc_json_str(report, "type"), "batch") == 0 && json_is_array(inner)) {
        g_autoptr(GString) text = g_string_new(NULL);
        size_t i;
        json_t *one;
        json_array_foreach(inner, i, one) {
            g_autofree char *t = nc_json_dumps(one);
            if (i > 0)
                g_string_append(text, ", ");
            g_string_append(text, t);
        }
        mine.text = g_string_free(g_steal_pointer(&text), FALSE);
        mine.is_batch = true;
    } else {
        mine.text = nc_json_dumps(report);
    }
    json_decref(report);

    g_mutex_lock(&r->lock);
    g_ptr_array_add(r->pending, &mine);
    while (!mine.done) {
        /* someone sends for everyone; the others wait for their turn */
        if (r->sending) {
            g_cond_wait(&r->cond, &r->lock);
            continue;
        }
        r->sending = true;
        g_autoptr(GPtrArray) batch = g_ptr_array_new();
        bool batch_must;
        g_autofree char *body = nc_reporter_take(r, batch, &batch_must);
        g_mutex_unlock(&r->lock);

        int rc = nc_reporter_publish(r, body, batch_must);

        g_mutex_lock(&r->lock);
        for (guint i = 0; i < batch->len; i++) {
            NcReport *rep = g_ptr_array_index(batch, i);
            rep->rc = rc;
            rep->done = true;
        }
        r->sending = false;
        g_cond_broadcast(&r->cond);
    }
    g_mutex_unlock(&r->lock);
    g_free(mine.text);
    return mine.rc;
}

/* ---- reports that go only if not withdrawn in time ---- */

static gint
nc_reporter_later_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
    const NcReporterLater *x = a, *y = b;
    return (x->due_us > y->due_us) - (x->due_us < y->due_us);
}

/* Sends, together, the queued reports that are due. */
static gpointer
nc_reporter_later_run(gpointer data)
{
    NcReporter *r = data;
    g_mutex_lock(&r->lock);
    while (!r->closing) {
        NcReporterLater *head = g_queue_peek_head(&r->later);
        if (!head) {
            g_cond_wait(&r->later_cond, &r->lock);
            continue;
        }
        if (head->due_us > g_get_monotonic_time()) {
            /* a little past it, so that those due just after go along
             * (and most are withdrawn by then) */
            g_cond_wait_until(&r->later_cond, &r->lock, head->due_us + NC_REPORTER_LATER_SLACK_US);
            continue;
        }
        json_t *due = json_array();
        g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func(
            (GDestroyNotify)nc_reporter_later_unref);
        int64_t now = g_get_monotonic_time();
        while ((head = g_queue_peek_head(&r->later)) && head->due_us <= now &&
               json_array_size(due) < NC_REPORTER_MAX_BATCH) {
            g_queue_pop_head(&r->later);
            if (!head->withdrawn)
                json_array_append(due, head->report);
            g_ptr_array_add(taken, head);   /* the queue's reference */
        }
        g_mutex_unlock(&r->lock);
        if (json_array_size(due) > 0)
            nc_reporter_send(r, json_pack("{s:s, s:o}", "type", "batch", "reports", due), false);
        else
            json_decref(due);
        g_ptr_array_set_size(taken, 0);
        g_mutex_lock(&r->lock);
    }
    g_mutex_unlock(&r->lock);
    return NULL;
}

NcReporterLater *
nc_reporter_send_later(NcReporter *r, json_t *report, int delay_ms)
{
    NcReporterLater *l = g_new0(NcReporterLater, 1);
    l->refs = 2;
    l->report = report;
    l->due_us = g_get_monotonic_time() + (int64_t)MAX(delay_ms, 0) * 1000;
    g_mutex_lock(&r->lock);
    if (!r->later_thread)
        r->later_thread = g_thread_new("nc-report-later", nc_reporter_later_run, r);
    NcReporterLater *tail = g_queue_peek_tail(&r->later);
    bool first = tail == NULL;
    /* with one delay for all, the newest is due last: no walk */
    if (!tail || tail->due_us <= l->due_us)
        g_queue_push_tail(&r->later, l);
    else
        g_queue_insert_sorted(&r->later, l, nc_reporter_later_cmp, NULL);
    /* the thread sleeps until its head is due: only a new head wakes it */
    if (first || g_queue_peek_head(&r->later) == l)
        g_cond_broadcast(&r->later_cond);
    g_mutex_unlock(&r->lock);
    return l;
}

void
nc_reporter_withdraw(NcReporter *r, NcReporterLater *l)
{
    if (!l)
        return;
    g_mutex_lock(&r->lock);
    l->withdrawn = true;    /* the queue drops it when it falls due */
    g_mutex_unlock(&r->lock);
    nc_reporter_later_unref(l);
}
