/* events.c: the in-memory ring behind /market/v1/events. */
#include "events.h"
#include "util/nc_time.h"

#include <stdbool.h>
#include <string.h>

typedef struct {
    uint64_t seq;
    char *type;
    char *user_a;
    char *user_b;
    char *offer;
    int64_t time;
    json_t *data;
} NcMarketEvent;

struct NcMarketEvents {
    GMutex lock;
    GCond cond;
    NcMarketEvent *ring;
    size_t capacity;
    uint64_t last;       /* seq of the newest event; slot = seq % capacity */
    bool closed;
};

static void
nc_market_event_clear(NcMarketEvent *e)
{
    g_free(e->type);
    g_free(e->user_a);
    g_free(e->user_b);
    g_free(e->offer);
    json_decref(e->data);
    memset(e, 0, sizeof(*e));
}

NcMarketEvents *
nc_market_events_new(size_t capacity)
{
    NcMarketEvents *ev = g_new0(NcMarketEvents, 1);
    g_mutex_init(&ev->lock);
    g_cond_init(&ev->cond);
    ev->capacity = capacity ? capacity : 1;
    ev->ring = g_new0(NcMarketEvent, ev->capacity);
    return ev;
}

void
nc_market_events_free(NcMarketEvents *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->capacity; i++)
        nc_market_event_clear(&ev->ring[i]);
    g_free(ev->ring);
    g_mutex_clear(&ev->lock);
    g_cond_clear(&ev->cond);
    g_free(ev);
}

void
nc_market_events_publish(NcMarketEvents *ev, const char *type, const char *user_a,
                         const char *user_b, const char *offer, json_t *data)
{
    g_mutex_lock(&ev->lock);
    uint64_t seq = ++ev->last;
    NcMarketEvent *e = &ev->ring[seq % ev->capacity];
    nc_market_event_clear(e);
    e->seq = seq;
    e->type = g_strdup(type);
    e->user_a = g_strdup(user_a);
    e->user_b = g_strdup(user_b);
    e->offer = g_strdup(offer);
    e->time = nc_now_ms();
    e->data = data ? data : json_object();
    g_cond_broadcast(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

static bool
nc_market_event_visible(const NcMarketEvent *e, const char *user, const char *offer)
{
    bool public = !e->user_a && !e->user_b;
    if (public)
        return !offer || !e->offer || strcmp(offer, e->offer) == 0;
    return user && (g_strcmp0(user, e->user_a) == 0 || g_strcmp0(user, e->user_b) == 0);
}

json_t *
nc_market_events_read(NcMarketEvents *ev, uint64_t after, const char *user, const char *offer,
                      int timeout_ms, uint64_t *ret_last)
{
    json_t *out = json_array();
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;

    g_mutex_lock(&ev->lock);
    for (;;) {
        if (after > ev->last)
            after = ev->last;   /* the reader's id is from an earlier run */
        uint64_t oldest = ev->last >= ev->capacity ? ev->last - ev->capacity + 1 : 1;
        if (after + 1 < oldest) {
            json_array_append_new(out, json_pack("{s:I, s:s, s:o, s:{}}", "seq",
                                                 (json_int_t)(oldest - 1), "type", "resync",
                                                 "time", json_null(), "data"));
            after = oldest - 1;
        }
        for (uint64_t s = after + 1; s <= ev->last; s++) {
            NcMarketEvent *e = &ev->ring[s % ev->capacity];
            if (!nc_market_event_visible(e, user, offer))
                continue;
            g_autofree char *t = nc_time_format(e->time);
            /* a deep copy: the reader serialises it after the lock is gone */
            json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:o}", "seq", (json_int_t)s,
                                                 "type", e->type, "time", t,
                                                 "data", json_deep_copy(e->data)));
        }
        after = ev->last;
        if (json_array_size(out) > 0 || timeout_ms <= 0 || ev->closed)
            break;
        if (!g_cond_wait_until(&ev->cond, &ev->lock, deadline))
            break;
        if (g_get_monotonic_time() >= deadline && ev->last == after)
            break;
    }
    g_mutex_unlock(&ev->lock);
    *ret_last = after;
    return out;
}

uint64_t
nc_market_events_last(NcMarketEvents *ev)
{
    g_mutex_lock(&ev->lock);
    uint64_t v = ev->last;
    g_mutex_unlock(&ev->lock);
    return v;
}

void
nc_market_events_close(NcMarketEvents *ev)
{
    g_mutex_lock(&ev->lock);
    ev->closed = true;
    g_cond_broadcast(&ev->cond);
    g_mutex_unlock(&ev->lock);
}
