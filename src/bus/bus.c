/* bus.c: driver choice and the outbox. */
#include "nc_config.h"
#include "bus_priv.h"
#include "util/nc_error.h"
#include "util/nc_time.h"

#include <string.h>

void
nc_message_free(NcMessage *msg)
{
    if (!msg)
        return;
    g_free(msg->topic);
    g_free(msg->body);
    g_free(msg);
}

NcBus *
nc_bus_open(const char *target, NcStore *store, GError **err)
{
    const NcBusDriver *drv = NULL;

    if (!target || strcmp(target, "local") == 0) {
        drv = &nc_bus_local_driver;
        if (!store) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "the local bus lives in the store; give --store");
            return NULL;
        }
    }
#if NC_WITH_AMQP
    else if (g_str_has_prefix(target, "amqp://") || g_str_has_prefix(target, "amqps://"))
        drv = &nc_bus_amqp_driver;
#endif
    if (!drv) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "bus '%s' is not understood; use 'local' or an amqp:// URL%s",
                     target, NC_WITH_AMQP ? "" : " (this build has no AMQP support)");
        return NULL;
    }
    NcBus *bus = g_new0(NcBus, 1);
    bus->drv = drv;
    bus->store = store;
    if (drv->open(bus, target, err) < 0) {
        g_free(bus);
        return NULL;
    }
    return bus;
}

void
nc_bus_close(NcBus *bus)
{
    if (!bus)
        return;
    bus->drv->close(bus);
    g_free(bus);
}

const char *
nc_bus_driver_name(NcBus *bus)
{
    return bus->drv->name;
}

int
nc_bus_declare(NcBus *bus, const char *topic, bool consume, GError **err)
{
    return bus->drv->declare(bus, topic, consume, err);
}

int
nc_bus_publish(NcBus *bus, const char *topic, const char *body, GError **err)
{
    return bus->drv->publish(bus, topic, body, err);
}

int
nc_bus_receive(NcBus *bus, const char *topic, int timeout_ms, NcMessage **ret,
               GError **err)
{
    return bus->drv->receive(bus, topic, timeout_ms, ret, err);
}

int
nc_bus_ack(NcBus *bus, NcMessage *msg, GError **err)
{
    return bus->drv->ack(bus, msg, err);
}

int
nc_bus_retry(NcBus *bus, NcMessage *msg, int delay_ms, GError **err)
{
    return bus->drv->retry(bus, msg, delay_ms, err);
}

void
nc_bus_kick(NcBus *bus)
{
    if (bus->drv->kick)
        bus->drv->kick(bus);
}

int
nc_bus_remove(NcBus *bus, const char *topic, GError **err)
{
    return bus->drv->remove ? bus->drv->remove(bus, topic, err) : 0;
}

char *
nc_bus_host_topic(const char *host_id)
{
    return g_strconcat("host.", host_id, NULL);
}

int
nc_outbox_put(NcStore *st, const char *topic, const char *body, GError **err)
{
    int64_t now = nc_now_ms();
    return nc_store_exec(st, err,
                         "INSERT INTO queue (topic, body, available_at, created_at)"
                         " VALUES ($1, $2, $3, $3)",
                         NC_TEXT(topic), NC_TEXT(body), NC_INT(now), NC_END) < 0 ? -1 : 0;
}

int64_t
nc_outbox_forget(NcStore *st, const char *topic, GError **err)
{
    g_autofree char *dead = g_strconcat("dead.", topic, NULL);
    return nc_store_exec(st, err, "DELETE FROM queue WHERE topic = $1 OR topic = $2",
                         NC_TEXT(topic), NC_TEXT(dead), NC_END);
}

/* Outbox rows that leave as one message. */
typedef struct {
    const char *topic;      /* borrowed from the rows */
    GString *body;
    GArray *ids;            /* int64_t: the rows it carries */
} NcOutboxGroup;

static void
nc_outbox_group_free(gpointer p)
{
    NcOutboxGroup *grp = p;
    g_string_free(grp->body, TRUE);
    g_array_unref(grp->ids);
    g_free(grp);
}

/* Groups the rows (in id order) into messages: those for one host's
 * topic, up to NC_OUTBOX_MAX_BATCH commands and NC_OUTBOX_MAX_BATCH_BYTES,
 * become {"kind": "batch", "commands": [...]} (worker.h), in their order;
 * a row alone, or for another topic, goes as it is. */
static GPtrArray *
nc_outbox_group(GArray *ids, GPtrArray *topics, GPtrArray *bodies)
{
    GPtrArray *groups = g_ptr_array_new_with_free_func(nc_outbox_group_free);
    g_autoptr(GHashTable) open = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < ids->len; i++) {
        const char *topic = g_ptr_array_index(topics, i);
        const char *body = g_ptr_array_index(bodies, i);
        bool batchable = g_str_has_prefix(topic, "host.");
        NcOutboxGroup *grp = batchable ? g_hash_table_lookup(open, topic) : NULL;
        if (grp && (grp->ids->len >= NC_OUTBOX_MAX_BATCH ||
                    grp->body->len + strlen(body) > NC_OUTBOX_MAX_BATCH_BYTES))
            grp = NULL;
        if (!grp) {
            grp = g_new0(NcOutboxGroup, 1);
            grp->topic = topic;
            grp->body = g_string_new(body);
            grp->ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
            g_ptr_array_add(groups, grp);
            if (batchable)
                g_hash_table_insert(open, (gpointer)topic, grp);
        } else {
            if (grp->ids->len == 1) {
                /* the second command makes it a batch */
                g_string_prepend(grp->body, "{\"kind\": \"batch\", \"commands\": [");
            } else {
                g_string_truncate(grp->body, grp->body->len - 2);
            }
            g_string_append_printf(grp->body, ", %s]}", body);
        }
        g_array_append_val(grp->ids, g_array_index(ids, int64_t, i));
    }
    return groups;
}

struct NcOutboxRelay {
    NcBus *bus;
    NcStore *st;
    GArray *done;       /* int64_t: rows the broker confirmed, still in the outbox */
    int64_t after;      /* while draining, the last row handed to the broker */
};

NcOutboxRelay *
nc_outbox_relay_new(NcBus *bus, NcStore *st)
{
    NcOutboxRelay *r = g_new0(NcOutboxRelay, 1);
    r->bus = bus;
    r->st = st;
    r->done = g_array_new(FALSE, FALSE, sizeof(int64_t));
    return r;
}

void
nc_outbox_relay_free(NcOutboxRelay *r)
{
    if (!r)
        return;
    g_array_unref(r->done);
    g_free(r);
}

/* Deletes the confirmed rows; the caller holds a transaction. */
static int
nc_outbox_relay_delete_done(NcOutboxRelay *r, GError **err)
{
    for (guint i = 0; i < r->done->len; i++) {
        if (nc_store_exec(r->st, err, "DELETE FROM queue WHERE id = $1",
                          NC_INT(g_array_index(r->done, int64_t, i)), NC_END) < 0)
            return -1;
    }
    return 0;
}

int
nc_outbox_relay_flush(NcOutboxRelay *r, GError **err)
{
    if (r->done->len == 0)
        return 0;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, r->st, err) < 0 || nc_outbox_relay_delete_done(r, err) < 0 ||
        nc_store_txn_commit(&txn, err) < 0)
        return -1;
    g_array_set_size(r->done, 0);
    return 0;
}

/* One transaction deletes what the last step sent and reads what this one
 * sends: the store is taken once per step, not twice. */
static int
nc_outbox_relay_take(NcOutboxRelay *r, int max, GArray *ids, GPtrArray *topics,
                     GPtrArray *bodies, GError **err)
{
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, r->st, err) < 0 || nc_outbox_relay_delete_done(r, err) < 0)
        return -1;
    {
        g_autoptr(NcRows) rows = nc_store_query(r->st, err,
                                                "SELECT id, topic, body FROM queue WHERE id > $1"
                                                " ORDER BY id LIMIT $2",
                                                NC_INT(r->after), NC_INT(max), NC_END);
        if (!rows)
            return -1;
        GError *local = NULL;
        while (nc_rows_next(rows, &local)) {
            int64_t id = nc_rows_int(rows, 0);
            g_array_append_val(ids, id);
            g_ptr_array_add(topics, nc_rows_dup(rows, 1));
            g_ptr_array_add(bodies, nc_rows_dup(rows, 2));
        }
        if (local) {
            g_propagate_error(err, local);
            return -1;
        }
    }
    if (nc_store_txn_commit(&txn, err) < 0)
        return -1;
    g_array_set_size(r->done, 0);
    return 0;
}

int
nc_outbox_relay_step(NcOutboxRelay *r, int max, GError **err)
{
    NcBus *bus = r->bus;
    if (bus->drv == &nc_bus_local_driver)
        return 0;
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
    g_autoptr(GPtrArray) topics = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func(g_free);
    if (nc_outbox_relay_take(r, max, ids, topics, bodies, err) < 0) {
        r->after = 0;
        return -1;
    }
    if (ids->len == 0) {
        r->after = 0;
        return 0;
    }
    /* commands for one host go as one message: fewer for the broker to
     * carry, and the worker reports their results together */
    g_autoptr(GPtrArray) groups = nc_outbox_group(ids, topics, bodies);
    g_autoptr(GPtrArray) gtopics = g_ptr_array_new();
    g_autoptr(GPtrArray) gbodies = g_ptr_array_new();
    for (guint g = 0; g < groups->len; g++) {
        NcOutboxGroup *grp = g_ptr_array_index(groups, g);
        g_ptr_array_add(gtopics, (gpointer)grp->topic);
        g_ptr_array_add(gbodies, grp->body->str);
    }
    /* one round of confirms for the lot; a row leaves the outbox only once
     * the broker holds its message (one it does not is sent again later:
     * commands are idempotent) */
    /* every driver with an outbox to relay publishes many at once */
    g_assert(bus->drv->publish_many);
    g_autofree bool *ok = g_new0(bool, groups->len);
    int prc = bus->drv->publish_many(bus, (int)groups->len, (const char *const *)gtopics->pdata,
                                     (const char *const *)gbodies->pdata, ok, err);
    int sent = 0;
    bool all = true;
    for (guint g = 0; g < groups->len; g++) {
        NcOutboxGroup *grp = g_ptr_array_index(groups, g);
        if (ok[g]) {
            g_array_append_vals(r->done, grp->ids->data, grp->ids->len);
            sent += (int)grp->ids->len;
        } else {
            all = false;
        }
    }
    /* while every row went and more wait, the next step reads on from the
     * last; else it reads from the start again: rows the broker did not
     * take, and any another connection committed below the last */
    r->after = all && (int)ids->len == max ? g_array_index(ids, int64_t, ids->len - 1) : 0;
    if (prc < 0)
        return -1;
    if ((int)ids->len < max && nc_outbox_relay_flush(r, err) < 0)
        return -1;
    return sent;
}

int
nc_outbox_relay(NcBus *bus, NcStore *st, int max, GError **err)
{
    g_autoptr(NcOutboxRelay) r = nc_outbox_relay_new(bus, st);
    int n = nc_outbox_relay_step(r, max, err);
    return n >= 0 && nc_outbox_relay_flush(r, err) < 0 ? -1 : n;
}
