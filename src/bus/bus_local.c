/* bus_local.c: the embedded durable queue, a table in the store.
 *
 * A message is a row of `queue`.  Receiving leases the oldest available
 * row of a topic by pushing its available_at past a long lease; ack deletes
 * it; retry makes it available again later.  There is one consumer per
 * topic (one worker per host, one central node), so a consumer that
 * declares its topic takes back every lease an earlier, dead consumer left.
 *
 * Consumers in this process are woken at once through a condition
 * variable; a consumer in another process sharing the store polls.
 */
#include "bus_priv.h"
#include "util/nc_error.h"
#include "util/nc_time.h"

#define NC_LOCAL_LEASE_MS (3600 * 1000)
#define NC_LOCAL_POLL_MS 250
/* a full look at the queue at least this often, whatever the signals say */
#define NC_LOCAL_RECHECK_US (5 * G_USEC_PER_SEC)

typedef struct {
    GMutex lock;
    GCond cond;
    uint64_t kicks;
} NcLocalBus;

static int
nc_local_open(NcBus *bus, const char *target, GError **err)
{
    NcLocalBus *lb = g_new0(NcLocalBus, 1);
    g_mutex_init(&lb->lock);
    g_cond_init(&lb->cond);
    bus->impl = lb;
    return 0;
}

static void
nc_local_close(NcBus *bus)
{
    NcLocalBus *lb = bus->impl;
    g_mutex_clear(&lb->lock);
    g_cond_clear(&lb->cond);
    g_free(lb);
}

static void
nc_local_kick(NcBus *bus)
{
    NcLocalBus *lb = bus->impl;
    g_mutex_lock(&lb->lock);
    lb->kicks++;
    g_cond_broadcast(&lb->cond);
    g_mutex_unlock(&lb->lock);
}

static int
nc_local_declare(NcBus *bus, const char *topic, bool consume, GError **err)
{
    if (!consume)
        return 0;
    return nc_store_exec(bus->store, err,
                         "UPDATE queue SET available_at = $2 WHERE topic = $1"
                         " AND available_at > $2",
                         NC_TEXT(topic), NC_INT(nc_now_ms()), NC_END) < 0 ? -1 : 0;
}

static int
nc_local_publish(NcBus *bus, const char *topic, const char *body, GError **err)
{
    if (nc_outbox_put(bus->store, topic, body, err) < 0)
        return -1;
    nc_local_kick(bus);
    return 0;
}

/* When the next message of @topic becomes available: 0 for now, a time
 * in ms, or INT64_MAX when the topic is empty.  Read-only, no lock taken. */
static int64_t
nc_local_next_due(NcBus *bus, const char *topic, int64_t now, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(bus->store, err,
                                         "SELECT MIN(available_at) FROM queue WHERE topic = $1",
                                         NC_TEXT(topic), NC_END);
    if (!r || !nc_rows_next(r, err))
        return -1;
    if (nc_rows_is_null(r, 0))
        return INT64_MAX;
    int64_t at = nc_rows_int(r, 0);
    return at <= now ? 0 : at;
}

/* Leases the oldest available message of @topic.  1, 0 or -1. */
static int
nc_local_take(NcBus *bus, const char *topic, NcMessage **ret, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    int64_t now = nc_now_ms();

    if (nc_store_txn_begin(&txn, bus->store, err) < 0)
        return -1;
    g_autoptr(NcMessage) msg = NULL;
    {
        g_autoptr(NcRows) r = nc_store_query(bus->store, err,
                                             "SELECT id, body, attempts FROM queue"
                                             " WHERE topic = $1 AND available_at <= $2"
                                             " ORDER BY id LIMIT 1",
                                             NC_TEXT(topic), NC_INT(now), NC_END);
        if (!r)
            return -1;
        GError *local = NULL;
        if (!nc_rows_next(r, &local)) {
            if (local) {
                g_propagate_error(err, local);
                return -1;
            }
            return nc_store_txn_commit(&txn, err) < 0 ? -1 : 0;
        }
        msg = g_new0(NcMessage, 1);
        msg->id = nc_rows_int(r, 0);
        msg->body = nc_rows_dup(r, 1);
        msg->attempts = (int)nc_rows_int(r, 2) + 1;
        msg->topic = g_strdup(topic);
    }
    if (nc_store_exec(bus->store, err,
                      "UPDATE queue SET available_at = $2, attempts = attempts + 1"
                      " WHERE id = $1",
                      NC_INT(msg->id), NC_INT(now + NC_LOCAL_LEASE_MS), NC_END) < 0)
        return -1;
    if (nc_store_txn_commit(&txn, err) < 0)
        return -1;
    *ret = g_steal_pointer(&msg);
    return 1;
}

/* Waits for a kick from this process, another process's commit (seen by
 * polling the store's data version), or a delayed message coming due. */
static int
nc_local_receive(NcBus *bus, const char *topic, int timeout_ms, NcMessage **ret,
                 GError **err)
{
    NcLocalBus *lb = bus->impl;
    int64_t deadline = nc_mono_us() + (int64_t)timeout_ms * 1000;
    int64_t last_check = 0;
    bool check = true;

    for (;;) {
        g_mutex_lock(&lb->lock);
        uint64_t seen = lb->kicks;
        g_mutex_unlock(&lb->lock);
        int64_t version = nc_store_data_version(bus->store);
        int64_t due_ms = INT64_MAX;

        if (check || nc_mono_us() - last_check > NC_LOCAL_RECHECK_US) {
            int64_t now_ms = nc_now_ms();
            last_check = nc_mono_us();
            due_ms = nc_local_next_due(bus, topic, now_ms, err);
            if (due_ms < 0)
                return -1;
            if (due_ms == 0) {
                int rc = nc_local_take(bus, topic, ret, err);
                if (rc != 0)
                    return rc;
                continue;   /* another consumer won it: look again */
            }
        }
        int64_t now = nc_mono_us();
        if (now >= deadline)
            return 0;
        int64_t wake = MIN(deadline, now + NC_LOCAL_POLL_MS * 1000);
        if (due_ms != INT64_MAX)
            wake = MIN(wake, now + MAX(0, due_ms - nc_now_ms()) * 1000);
        g_mutex_lock(&lb->lock);
        while (lb->kicks == seen) {
            if (!g_cond_wait_until(&lb->cond, &lb->lock, wake))
                break;
        }
        bool kicked = lb->kicks != seen;
        g_mutex_unlock(&lb->lock);
        /* on a quiet poll, look at the queue only if someone else wrote or
         * a delayed message is due */
        int64_t v2 = nc_store_data_version(bus->store);
        check = kicked || v2 < 0 || v2 != version ||
                (due_ms != INT64_MAX && nc_now_ms() >= due_ms);
    }
}

static int
nc_local_ack(NcBus *bus, NcMessage *msg, GError **err)
{
    return nc_store_exec(bus->store, err, "DELETE FROM queue WHERE id = $1",
                         NC_INT(msg->id), NC_END) < 0 ? -1 : 0;
}

static int
nc_local_retry(NcBus *bus, NcMessage *msg, int delay_ms, GError **err)
{
    if (msg->attempts >= NC_BUS_MAX_ATTEMPTS) {
        g_autofree char *dead = g_strconcat("dead.", msg->topic, NULL);
        return nc_store_exec(bus->store, err,
                             "UPDATE queue SET topic = $2, available_at = $3 WHERE id = $1",
                             NC_INT(msg->id), NC_TEXT(dead), NC_INT(nc_now_ms()),
                             NC_END) < 0 ? -1 : 0;
    }
    if (nc_store_exec(bus->store, err, "UPDATE queue SET available_at = $2 WHERE id = $1",
                      NC_INT(msg->id), NC_INT(nc_now_ms() + delay_ms), NC_END) < 0)
        return -1;
    nc_local_kick(bus);   /* receivers learn the new due time */
    return 0;
}

const NcBusDriver nc_bus_local_driver = {
    .name = "local",
    .open = nc_local_open,
    .close = nc_local_close,
    .declare = nc_local_declare,
    .publish = nc_local_publish,
    .receive = nc_local_receive,
    .ack = nc_local_ack,
    .retry = nc_local_retry,
    .kick = nc_local_kick,
};
