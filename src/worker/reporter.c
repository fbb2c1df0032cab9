/* reporter.c: group commit of reports to the central node. */
#include "reporter.h"
#include "util/nc_json.h"
#include "util/nc_log.h"

#include <glib.h>

/* One report waiting for a send. */
typedef struct {
    json_t *report;
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
};

NcReporter *
nc_reporter_new(NcBus *bus)
{
    NcReporter *r = g_new0(NcReporter, 1);
    r->bus = bus;
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    r->pending = g_ptr_array_new();
    return r;
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
    g_assert(r->pending->len == 0 && !r->sending);
    g_ptr_array_unref(r->pending);
    g_mutex_clear(&r->lock);
    g_cond_clear(&r->cond);
    g_free(r);
}

/* Publishes @batch as one message, retrying as its most demanding report
 * asks.  Called without the lock.  Returns 0 or -1. */
static int
nc_reporter_publish(NcReporter *r, GPtrArray *batch)
{
    bool must = false;
    g_autofree char *body = NULL;
    if (batch->len == 1) {
        NcReport *one = g_ptr_array_index(batch, 0);
        must = one->must;
        body = nc_json_dumps(one->report);
    } else {
        g_autoptr(json_t) reports = json_array();
        for (guint i = 0; i < batch->len; i++) {
            NcReport *rep = g_ptr_array_index(batch, i);
            must = must || rep->must;
            /* a batch of its own (a worker's results) joins flat */
            if (g_strcmp0(nc_json_str(rep->report, "type"), "batch") == 0)
                json_array_extend(reports, json_object_get(rep->report, "reports"));
            else
                json_array_append(reports, rep->report);
        }
        g_autoptr(json_t) msg = json_pack("{s:s, s:O}", "type", "batch", "reports", reports);
        body = nc_json_dumps(msg);
    }
    g_autoptr(GError) err = NULL;
    int delay_ms = 100;
    for (int i = 0; must || i < 50; i++) {
        g_clear_error(&err);
        if (nc_bus_publish(r->bus, NC_TOPIC_CENTRAL, body, &err) == 0)
            return 0;
        if (g_atomic_int_get(&r->stopping))
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

int
nc_reporter_send(NcReporter *r, json_t *report, bool must)
{
    NcReport mine = { report, must, false, -1 };

    g_mutex_lock(&r->lock);
    g_ptr_array_add(r->pending, &mine);
    while (!mine.done) {
        /* someone sends for everyone; the others wait for their turn */
        if (r->sending) {
            g_cond_wait(&r->cond, &r->lock);
            continue;
        }
        r->sending = true;
        guint n = MIN(r->pending->len, NC_REPORTER_MAX_BATCH);
        g_autoptr(GPtrArray) batch = g_ptr_array_new();
        for (guint i = 0; i < n; i++)
            g_ptr_array_add(batch, g_ptr_array_index(r->pending, i));
        g_ptr_array_remove_range(r->pending, 0, n);
        g_mutex_unlock(&r->lock);

        int rc = nc_reporter_publish(r, batch);

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
    json_decref(report);
    return mine.rc;
}
