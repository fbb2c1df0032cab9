/* bus.h: how the central node and the workers talk.
 *
 * Topics are durable queues: "host.<host-id>" carries commands to one
 * worker, "central" carries results, heartbeats and registrations back.
 * Delivery is at least once: a message stays until its consumer acks it,
 * and returns when a consumer dies holding it, so every handler is
 * idempotent (commands are keyed by their operation id).
 *
 * The central node never publishes commands directly: it writes them to
 * the store's outbox (nc_outbox_put) in the transaction that makes the
 * decision, so the queue never holds a decision the store does not know.
 * With the local bus the outbox is the queue; with AMQP a relay moves
 * outbox rows to RabbitMQ, deleting each only after the broker confirms.
 *
 * Drivers are const tables (NcBusDriver): "local" (the store's queue table,
 * for `nestcloud up`) and "amqp" (RabbitMQ).
 */
#pragma once

#include "store/store.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define NC_TOPIC_CENTRAL "central"
#define NC_BUS_MAX_ATTEMPTS 5
/* commands for one host that the relay sends as one message, at most */
#define NC_OUTBOX_MAX_BATCH 256
#define NC_OUTBOX_MAX_BATCH_BYTES (512 * 1024)

typedef struct NcBus NcBus;

typedef struct {
    int64_t id;          /* driver's handle: row id or delivery tag */
    char *topic;
    char *body;          /* JSON text */
    int attempts;        /* deliveries so far, this one included */
} NcMessage;

void nc_message_free(NcMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcMessage, nc_message_free)

typedef struct {
    const char *name;
    int (*open)(NcBus *bus, const char *target, GError **err);
    void (*close)(NcBus *bus);
    /* makes @topic exist and be durable; for consumers, also takes back
     * what an earlier consumer of it left unacknowledged */
    int (*declare)(NcBus *bus, const char *topic, bool consume, GError **err);
    int (*publish)(NcBus *bus, const char *topic, const char *body, GError **err);
    /* optional: publishes @n messages at once and sets ret_ok[i] for each
     * the bus now holds (the others may or may not have arrived) */
    int (*publish_many)(NcBus *bus, int n, const char *const *topics,
                        const char *const *bodies, bool *ret_ok, GError **err);
    /* 1: *ret set; 0: nothing within @timeout_ms; -1: error */
    int (*receive)(NcBus *bus, const char *topic, int timeout_ms, NcMessage **ret,
                   GError **err);
    int (*ack)(NcBus *bus, NcMessage *msg, GError **err);
    /* gives the message back for redelivery after @delay_ms, or moves it to
     * "dead.<topic>" once it has had NC_BUS_MAX_ATTEMPTS deliveries */
    int (*retry)(NcBus *bus, NcMessage *msg, int delay_ms, GError **err);
    /* wakes receivers: new work may be waiting */
    void (*kick)(NcBus *bus);
    /* optional: deletes @topic and its dead letters from the bus, messages
     * and all (the local bus keeps them in the store: nc_outbox_forget) */
    int (*remove)(NcBus *bus, const char *topic, GError **err);
} NcBusDriver;

extern const NcBusDriver nc_bus_local_driver;
#if NC_WITH_AMQP
extern const NcBusDriver nc_bus_amqp_driver;
#endif

/**
 * nc_bus_open:
 * @target: "local" or "amqp://user:pass@host:port/vhost"
 * @store: the store that holds the local queue (required for "local"; for
 *         AMQP it holds the outbox and may be NULL on a worker)
 * @err: set on failure
 *
 * Returns: (transfer full): the bus, or NULL.
 */
NcBus *nc_bus_open(const char *target, NcStore *store, GError **err);
void nc_bus_close(NcBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcBus, nc_bus_close)

const char *nc_bus_driver_name(NcBus *bus);
int nc_bus_declare(NcBus *bus, const char *topic, bool consume, GError **err);
int nc_bus_publish(NcBus *bus, const char *topic, const char *body, GError **err);
int nc_bus_receive(NcBus *bus, const char *topic, int timeout_ms, NcMessage **ret,
                   GError **err);
int nc_bus_ack(NcBus *bus, NcMessage *msg, GError **err);
int nc_bus_retry(NcBus *bus, NcMessage *msg, int delay_ms, GError **err);
void nc_bus_kick(NcBus *bus);
/* Deletes @topic (a removed host's commands) and "dead.<topic>" from the
 * broker; nothing to do on the local bus.  Returns: 0 or -1. */
int nc_bus_remove(NcBus *bus, const char *topic, GError **err);

/* Returns: the topic of one host's commands (caller frees). */
char *nc_bus_host_topic(const char *host_id);

/**
 * nc_outbox_put:
 * @st: the central store, normally inside a transaction
 * @topic: destination topic
 * @body: JSON text
 *
 * Records a message to send.  Visible to consumers (local bus) or to the
 * relay (AMQP) once the surrounding transaction commits.
 *
 * Returns: 0 or -1.
 */
int nc_outbox_put(NcStore *st, const char *topic, const char *body, GError **err);

/* Drops the messages still waiting for @topic (a host removed from the
 * cloud) and its dead letters: rows of the outbox or, on the local bus, of
 * the queue itself.
 * Returns: the number dropped, or -1. */
int64_t nc_outbox_forget(NcStore *st, const char *topic, GError **err);

/**
 * nc_outbox_relay:
 * @bus: an AMQP bus
 * @st: the store holding the outbox
 * @max: at most this many messages per call
 *
 * Publishes waiting outbox rows, deleting each after the broker confirms.
 * Rows for one host's topic leave together as one batch command (see
 * worker.h).  Does nothing on the local bus (the outbox is the queue).
 *
 * Returns: the number relayed, or -1.
 */
int nc_outbox_relay(NcBus *bus, NcStore *st, int max, GError **err);

/**
 * NcOutboxRelay:
 *
 * A relay that runs step after step, as the central node's relayer does.
 * A step reads up to @max rows and deletes, in the same transaction, the
 * rows the broker confirmed in the step before: it takes the store once,
 * not twice.  While a backlog drains, a step reads on after the last row
 * the one before sent; a step that finds fewer than @max rows deletes what
 * it sent at once, and the next starts from the first row again.
 */
typedef struct NcOutboxRelay NcOutboxRelay;
NcOutboxRelay *nc_outbox_relay_new(NcBus *bus, NcStore *st);
void nc_outbox_relay_free(NcOutboxRelay *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcOutboxRelay, nc_outbox_relay_free)
/* Returns: the number of rows the broker confirmed, or -1. */
int nc_outbox_relay_step(NcOutboxRelay *r, int max, GError **err);
/* Deletes the confirmed rows a step left in the outbox.  Returns: 0 or -1. */
int nc_outbox_relay_flush(NcOutboxRelay *r, GError **err);
