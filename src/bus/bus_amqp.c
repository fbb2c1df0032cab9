/* bus_amqp.c: the RabbitMQ bus (librabbitmq).
 *
 * Every topic is a durable quorum queue of the same name, reached through
 * the default exchange with persistent messages.  Its dead letters go to
 * the quorum queue "dead.<topic>": by an explicit reject when retry() is
 * called on a message's last attempt, and by the queue's x-delivery-limit
 * when a message's consumers keep dying before they settle it.
 *
 * A librabbitmq connection is not thread-safe, and publishing must not wait
 * behind a receiver, so one NcBus holds two connections, each behind its
 * own lock:
 *
 *   publisher  channel 1 in confirm mode.  publish() holds the lock from
 *              basic.publish to the broker's basic.ack: one message in
 *              flight per bus, and a 0 return means the broker has it.
 *   consumer   channel 1 with basic.qos and one basic.consume per consumed
 *              topic (the consumer tag is the topic).  An I/O thread reads
 *              it and sorts deliveries into one queue per topic, where
 *              receive() waits; ack and retry write to it from any thread.
 *              A delivery tag is thus settled on the channel that
 *              delivered it.
 *
 * The I/O thread also keeps both connections alive (heartbeats every few
 * seconds, even when idle; it notices a broker that went away) and gives
 * back the messages that retry() holds when their delay is up: RabbitMQ
 * has no delayed redelivery, so a retried message stays unacknowledged
 * here until a basic.nack with requeue returns it to its queue, which also
 * counts the attempt (x-delivery-count).
 *
 * A lost connection is dropped at once; the next call that needs it makes
 * it again, no sooner than its backoff allows (100 ms doubling to 5 s),
 * and the consumer then declares and consumes its topics again.  What the
 * lost connection held unacknowledged returns to its queue on the broker's
 * side.  NcMessage.id is the delivery tag plus the number of deliveries
 * seen on the consumer's earlier connections, so ids never repeat within
 * an NcBus and an id of a lost connection is recognised: its ack or retry
 * quietly does nothing, and the message comes again.
 */
#include "bus_priv.h"
#include "util/nc_error.h"
#include "util/nc_fault.h"
#include "util/nc_time.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NC_AMQP_CHANNEL 1
#define NC_AMQP_HEARTBEAT_S 10
#define NC_AMQP_FRAME_MAX 131072
#define NC_AMQP_PREFETCH 256
/* messages published together under one round of confirms, at most */
#define NC_AMQP_MAX_BATCH 512
#define NC_AMQP_MAX_BODY (1024 * 1024)
/* queue names are AMQP short strings; "dead." must still fit in front */
#define NC_AMQP_MAX_TOPIC 250
#define NC_AMQP_CONNECT_TIMEOUT_S 5
#define NC_AMQP_RPC_TIMEOUT_S 10
#define NC_AMQP_CLOSE_TIMEOUT_S 2
#define NC_AMQP_CONFIRM_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define NC_AMQP_BACKOFF_MIN_MS 100
#define NC_AMQP_BACKOFF_MAX_MS 5000
/* how often the I/O thread looks after idle connections */
#define NC_AMQP_SERVICE_US (1 * G_USEC_PER_SEC)
#define NC_AMQP_BEAT_US (NC_AMQP_HEARTBEAT_S * G_USEC_PER_SEC / 3)
#define NC_AMQP_MAX_RETRY_DELAY_MS (3600 * 1000)
#define NC_AMQP_DEAD_PREFIX "dead."

/* One connection with its channel. */
typedef struct {
    const char *role;              /* "publisher" or "consumer" */
    GMutex lock;                   /* guards everything here */
    amqp_connection_state_t conn;  /* NULL while down */
    uint64_t generation;           /* bumped at every drop */
    GHashTable *declared;          /* topics declared on this connection */
    int backoff_ms;                /* 0 while healthy */
    int64_t next_try_us;           /* no connection attempt before this */
    int64_t next_beat_us;          /* our next heartbeat frame */
} NcAmqpLink;

/* Deliveries of one consumed topic, waiting for receive().  Each has its
 * own condition: a worker of 250 simulated hosts has 250 receivers, and
 * one delivery must wake one of them, not all. */
typedef struct {
    GQueue q;                      /* NcMessage */
    GCond cond;                    /* a delivery came, the link dropped, or a kick */
} NcAmqpInbox;

/* A message given back by retry(), to be nacked when due. */
typedef struct {
    int64_t id;
    int64_t due_us;
} NcAmqpRetry;

typedef enum {
    NC_AMQP_SETTLE_ACK,
    NC_AMQP_SETTLE_REQUEUE,    /* back to its queue: one more attempt */
    NC_AMQP_SETTLE_DEAD,       /* to "dead.<topic>" */
    NC_AMQP_SETTLE_MAX
} NcAmqpSettle;

typedef struct {
    char *url;                     /* amqp_parse_url() cuts it up for info */
    size_t url_len;
    struct amqp_connection_info info;
    char *where;                   /* "host:port" for messages, no secrets */

    NcAmqpLink pub;
    uint64_t pub_seq;              /* publish sequence number of pub's channel */

    GMutex out_lock;               /* guards the three below */
    GCond out_cond;                /* a flush ended */
    GPtrArray *outq;               /* NcAmqpOut waiting for the next flush */
    bool flushing;                 /* a publish() is flushing */

    NcAmqpLink cons;               /* its lock also guards what follows */
    GHashTable *consumed;          /* topic -> NcAmqpInbox, kept across drops */
    GHashTable *unacked;           /* ids delivered on this connection, not settled */
    int64_t tag_base;              /* ids of this connection start above it */
    uint64_t max_tag;              /* highest delivery tag seen on it */
    GArray *retries;               /* NcAmqpRetry */
    bool kicked;                   /* kick() since a receive() last came back empty */

    int wake_fd;                   /* eventfd: the I/O thread looks again */
    gint stopping;
    GThread *io;
} NcAmqpBus;

/* ---- errors ---- */

static NcErrorCode
nc_amqp_error_code(int reply_code)
{
    switch (reply_code) {
    case AMQP_ACCESS_REFUSED:
        return NC_ERR_FORBIDDEN;
    case AMQP_PRECONDITION_FAILED:
        return NC_ERR_CONFLICT;
    default:
        return NC_ERR_UNAVAILABLE;
    }
}

static void
nc_amqp_status_error(NcAmqpBus *ab, int status, const char *what, GError **err)
{
    nc_error_set(err, NC_ERR_UNAVAILABLE, "%s (RabbitMQ at %s): %s", what, ab->where,
                 amqp_error_string2(status));
}

/* Records @r as an error unless it is a normal reply.  Returns 0 or -1. */
static int
nc_amqp_check_reply(NcAmqpBus *ab, amqp_rpc_reply_t r, const char *what, GError **err)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        nc_error_set(err, NC_ERR_UNAVAILABLE, "%s: RabbitMQ at %s sent no reply", what,
                     ab->where);
        return -1;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        nc_amqp_status_error(ab, r.library_error, what, err);
        return -1;
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
        int code = 0;
        amqp_bytes_t text = amqp_empty_bytes;
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            code = m->reply_code;
            text = m->reply_text;
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            code = m->reply_code;
            text = m->reply_text;
        }
        nc_error_set(err, nc_amqp_error_code(code), "%s: RabbitMQ at %s said %d %.*s", what,
                     ab->where, code, (int)text.len, (const char *)text.bytes);
        return -1;
    }
    }
    nc_error_set(err, NC_ERR_INTERNAL, "%s: unknown reply type %d from librabbitmq", what,
                 (int)r.reply_type);
    return -1;
}

/* Turns a channel.close or connection.close the broker sent into an error. */
static void
nc_amqp_close_error(NcAmqpBus *ab, const amqp_frame_t *f, const char *what, GError **err)
{
    amqp_rpc_reply_t r = { .reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                           .reply = f->payload.method };
    nc_amqp_check_reply(ab, r, what, err);
}

static int
nc_amqp_check_topic(const char *topic, GError **err)
{
    size_t len = topic ? strlen(topic) : 0;
    if (len == 0 || len > NC_AMQP_MAX_TOPIC || g_str_has_prefix(topic, "amq.")) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "'%s' cannot name a RabbitMQ queue (1 to %d bytes, not starting"
                     " with \"amq.\")", topic ? topic : "", NC_AMQP_MAX_TOPIC);
        return -1;
    }
    return 0;
}

static bool
nc_amqp_is_dead_topic(const char *topic)
{
    return g_str_has_prefix(topic, NC_AMQP_DEAD_PREFIX);
}

static void
nc_amqp_wake(NcAmqpBus *ab)
{
    uint64_t one = 1;
    ssize_t n G_GNUC_UNUSED = write(ab->wake_fd, &one, sizeof(one));
}

/* ---- connections ---- */

static void
nc_amqp_free_message(gpointer msg)
{
    nc_message_free(msg);
}

/* Forgets a lost (or failed) connection.  @l's lock is held. */
static void
nc_amqp_drop(NcAmqpBus *ab, NcAmqpLink *l)
{
    if (!l->conn)
        return;
    amqp_destroy_connection(l->conn);   /* closes the socket, says nothing */
    l->conn = NULL;
    l->generation++;
    l->next_try_us = 0;   /* the first attempt again may be at once */
    g_hash_table_remove_all(l->declared);
    if (l == &ab->pub) {
        ab->pub_seq = 0;
    } else {
        /* what this connection delivered returns to the queues by itself */
        ab->tag_base += (int64_t)ab->max_tag;
        ab->max_tag = 0;
        g_hash_table_remove_all(ab->unacked);
        g_array_set_size(ab->retries, 0);
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, ab->consumed);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
            NcAmqpInbox *in = v;
            g_queue_clear_full(&in->q, nc_amqp_free_message);
            g_cond_broadcast(&in->cond);
        }
    }
    nc_amqp_wake(ab);
}

/* Declares one quorum queue; with @dead, its dead letters go there.
 * @l's lock is held and it is up. */
static int
nc_amqp_queue_declare(NcAmqpBus *ab, NcAmqpLink *l, const char *name, const char *dead,
                      GError **err)
{
    amqp_table_entry_t e[4];
    int n = 0;

    e[n].key = amqp_cstring_bytes("x-queue-type");
    e[n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[n++].value.value.bytes = amqp_cstring_bytes("quorum");
    if (dead) {
        e[n].key = amqp_cstring_bytes("x-dead-letter-exchange");
        e[n].value.kind = AMQP_FIELD_KIND_UTF8;
        e[n++].value.value.bytes = amqp_cstring_bytes("");
        e[n].key = amqp_cstring_bytes("x-dead-letter-routing-key");
        e[n].value.kind = AMQP_FIELD_KIND_UTF8;
        e[n++].value.value.bytes = amqp_cstring_bytes(dead);
        /* the broker dead-letters a message returned more often than
         * this: NC_BUS_MAX_ATTEMPTS deliveries in all */
        e[n].key = amqp_cstring_bytes("x-delivery-limit");
        e[n].value.kind = AMQP_FIELD_KIND_I32;
        e[n++].value.value.i32 = NC_BUS_MAX_ATTEMPTS - 1;
    }
    amqp_table_t args = { .num_entries = n, .entries = e };
    amqp_queue_declare(l->conn, NC_AMQP_CHANNEL, amqp_cstring_bytes(name), 0, 1, 0, 0, args);
    g_autofree char *what = g_strdup_printf("cannot declare queue '%s'", name);
    if (nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn), what, err) < 0) {
        nc_amqp_drop(ab, l);   /* a failed declare closes the channel */
        return -1;
    }
    return 0;
}

/* Makes @topic and its dead-letter queue exist, once per connection.
 * @l's lock is held and it is up. */
static int
nc_amqp_declare_topic(NcAmqpBus *ab, NcAmqpLink *l, const char *topic, GError **err)
{
    if (g_hash_table_contains(l->declared, topic))
        return 0;
    if (nc_amqp_is_dead_topic(topic)) {
        if (nc_amqp_queue_declare(ab, l, topic, NULL, err) < 0)
            return -1;
    } else {
        g_autofree char *dead = g_strconcat(NC_AMQP_DEAD_PREFIX, topic, NULL);
        if (nc_amqp_queue_declare(ab, l, dead, NULL, err) < 0 ||
            nc_amqp_queue_declare(ab, l, topic, dead, err) < 0)
            return -1;
    }
    g_hash_table_add(l->declared, g_strdup(topic));
    return 0;
}

/* Starts consuming @topic on the consumer connection (lock held, up). */
static int
nc_amqp_basic_consume(NcAmqpBus *ab, const char *topic, GError **err)
{
    NcAmqpLink *l = &ab->cons;
    if (nc_amqp_declare_topic(ab, l, topic, err) < 0)
        return -1;
    amqp_basic_consume(l->conn, NC_AMQP_CHANNEL, amqp_cstring_bytes(topic),
                       amqp_cstring_bytes(topic), 0, 0, 0, amqp_empty_table);
    g_autofree char *what = g_strdup_printf("cannot consume queue '%s'", topic);
    if (nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn), what, err) < 0) {
        nc_amqp_drop(ab, l);
        return -1;
    }
    /* deliveries that came during the RPC wait in librabbitmq's queue */
    nc_amqp_wake(ab);
    return 0;
}

/* Opens the socket, logs in and opens the channel of the fresh l->conn. */
static int
nc_amqp_login(NcAmqpBus *ab, NcAmqpLink *l, GError **err)
{
    amqp_socket_t *sock = amqp_tcp_socket_new(l->conn);
    if (!sock) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot create an AMQP socket");
        return -1;
    }
    struct timeval tv = { .tv_sec = NC_AMQP_CONNECT_TIMEOUT_S };
    int status = amqp_socket_open_noblock(sock, ab->info.host, ab->info.port, &tv);
    if (status != AMQP_STATUS_OK) {
        nc_amqp_status_error(ab, status, "cannot connect", err);
        return -1;
    }
    int fd = amqp_socket_get_sockfd(sock);
    if (fd >= 0)
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    amqp_set_handshake_timeout(l->conn, &tv);
    struct timeval rpc = { .tv_sec = NC_AMQP_RPC_TIMEOUT_S };
    amqp_set_rpc_timeout(l->conn, &rpc);

    g_autofree char *name = g_strdup_printf("nestcloud %s (pid %d)", l->role, (int)getpid());
    amqp_table_entry_t prop = {
        .key = amqp_cstring_bytes("connection_name"),
        .value = { .kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(name) },
    };
    amqp_table_t props = { .num_entries = 1, .entries = &prop };
    amqp_rpc_reply_t r = amqp_login_with_properties(l->conn, ab->info.vhost, 0,
                                                    NC_AMQP_FRAME_MAX, NC_AMQP_HEARTBEAT_S,
                                                    &props, AMQP_SASL_METHOD_PLAIN,
                                                    ab->info.user, ab->info.password);
    if (nc_amqp_check_reply(ab, r, "cannot log in", err) < 0)
        return -1;
    amqp_channel_open(l->conn, NC_AMQP_CHANNEL);
    return nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn), "cannot open a channel", err);
}

/* Makes sure @l is up, connecting if its backoff allows.  Lock held. */
static int
nc_amqp_connect(NcAmqpBus *ab, NcAmqpLink *l, GError **err)
{
    if (l->conn)
        return 0;
    int64_t now = nc_mono_us();
    if (now < l->next_try_us) {
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "RabbitMQ at %s is unreachable; the %s connection is tried again"
                     " in %d ms", ab->where, l->role,
                     (int)((l->next_try_us - now + 999) / 1000));
        return -1;
    }
    l->conn = amqp_new_connection();
    if (!l->conn) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot allocate an AMQP connection");
        return -1;
    }
    int rc = nc_amqp_login(ab, l, err);
    if (rc == 0 && l == &ab->pub) {
        amqp_confirm_select(l->conn, NC_AMQP_CHANNEL);
        rc = nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn),
                                 "cannot turn on publisher confirms", err);
        ab->pub_seq = 0;
    } else if (rc == 0) {
        amqp_basic_qos(l->conn, NC_AMQP_CHANNEL, 0, NC_AMQP_PREFETCH, 0);
        rc = nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn), "cannot set a prefetch",
                                 err);
        GHashTableIter it;
        gpointer topic;
        g_hash_table_iter_init(&it, ab->consumed);
        while (rc == 0 && g_hash_table_iter_next(&it, &topic, NULL))
            rc = nc_amqp_basic_consume(ab, topic, err);
    }
    if (rc < 0) {
        nc_amqp_drop(ab, l);
        l->backoff_ms = l->backoff_ms ? MIN(l->backoff_ms * 2, NC_AMQP_BACKOFF_MAX_MS)
                                      : NC_AMQP_BACKOFF_MIN_MS;
        l->next_try_us = nc_mono_us() + (int64_t)l->backoff_ms * 1000;
        return -1;
    }
    l->backoff_ms = 0;
    l->next_beat_us = nc_mono_us() + NC_AMQP_BEAT_US;
    nc_amqp_wake(ab);   /* the I/O thread watches the new socket */
    return 0;
}

/* Closes @l politely (bus close).  Lock held. */
static void
nc_amqp_disconnect(NcAmqpBus *ab, NcAmqpLink *l)
{
    if (!l->conn)
        return;
    struct timeval tv = { .tv_sec = NC_AMQP_CLOSE_TIMEOUT_S };
    amqp_set_rpc_timeout(l->conn, &tv);
    amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
    nc_amqp_drop(ab, l);
}

/* Sends a heartbeat frame when ours is due.  Lock held, up. */
static int
nc_amqp_beat(NcAmqpBus *ab, NcAmqpLink *l, int64_t now, GError **err)
{
    if (now < l->next_beat_us)
        return 0;
    amqp_frame_t hb = { .frame_type = AMQP_FRAME_HEARTBEAT, .channel = 0 };
    int status = amqp_send_frame(l->conn, &hb);
    if (status != AMQP_STATUS_OK) {
        nc_amqp_status_error(ab, status, "cannot send a heartbeat", err);
        nc_amqp_drop(ab, l);
        return -1;
    }
    l->next_beat_us = now + NC_AMQP_BEAT_US;
    return 0;
}

/* ---- the consumer side ---- */

/* Deliveries so far, this one included, from the quorum queue's count of
 * earlier returns. */
static int
nc_amqp_attempts(const amqp_basic_properties_t *p, bool redelivered)
{
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < p->headers.num_entries; i++) {
            const amqp_table_entry_t *e = &p->headers.entries[i];
            if (e->key.len != strlen("x-delivery-count") ||
                memcmp(e->key.bytes, "x-delivery-count", e->key.len) != 0)
                continue;
            int64_t n = -1;
            switch (e->value.kind) {
            case AMQP_FIELD_KIND_I8: n = e->value.value.i8; break;
            case AMQP_FIELD_KIND_U8: n = e->value.value.u8; break;
            case AMQP_FIELD_KIND_I16: n = e->value.value.i16; break;
            case AMQP_FIELD_KIND_U16: n = e->value.value.u16; break;
            case AMQP_FIELD_KIND_I32: n = e->value.value.i32; break;
            case AMQP_FIELD_KIND_U32: n = e->value.value.u32; break;
            case AMQP_FIELD_KIND_I64: n = e->value.value.i64; break;
            case AMQP_FIELD_KIND_U64: n = (int64_t)MIN(e->value.value.u64, (uint64_t)INT_MAX); break;
            default: break;
            }
            if (n >= 0)
                return (int)MIN(n, (int64_t)INT_MAX - 1) + 1;
        }
    }
    return redelivered ? 2 : 1;
}

/* Files one delivery under its topic.  cons's lock is held. */
static void
nc_amqp_sort(NcAmqpBus *ab, const amqp_envelope_t *env)
{
    amqp_connection_state_t conn = ab->cons.conn;
    uint64_t tag = env->delivery_tag;
    ab->max_tag = MAX(ab->max_tag, tag);
    g_autofree char *topic = g_strndup(env->consumer_tag.bytes, env->consumer_tag.len);
    NcAmqpInbox *in = g_hash_table_lookup(ab->consumed, topic);

    if (!in) {
        /* not a consumer of ours: let someone else have it */
        amqp_basic_reject(conn, NC_AMQP_CHANNEL, tag, 1);
        return;
    }
    if (env->message.body.len > NC_AMQP_MAX_BODY) {
        /* nestcloud never sends these; keep it for a human to look at */
        amqp_basic_reject(conn, NC_AMQP_CHANNEL, tag, 0);
        return;
    }
    NcMessage *m = g_new0(NcMessage, 1);
    m->id = ab->tag_base + (int64_t)tag;
    m->topic = g_steal_pointer(&topic);
    m->body = g_strndup(env->message.body.bytes, env->message.body.len);
    m->attempts = nc_amqp_attempts(&env->message.properties, env->redelivered);
    g_queue_push_tail(&in->q, m);
    g_cond_broadcast(&in->cond);
    g_hash_table_add(ab->unacked, g_memdup2(&m->id, sizeof(m->id)));
}

/* Reads what the consumer connection has, without waiting, and sorts the
 * deliveries.  cons's lock is held.  Returns 0, or -1 after dropping it. */
static int
nc_amqp_pump(NcAmqpBus *ab, GError **err)
{
    NcAmqpLink *l = &ab->cons;
    struct timeval zero = { 0 };
    int rc = 0;
    int n;

    /* a bounded turn, so that acks get the lock between turns */
    for (n = 0; n < NC_AMQP_PREFETCH && l->conn; n++) {
        amqp_envelope_t env;
        amqp_rpc_reply_t r = amqp_consume_message(l->conn, &env, &zero, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            nc_amqp_sort(ab, &env);
            amqp_destroy_envelope(&env);
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            break;
        if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
            r.library_error != AMQP_STATUS_UNEXPECTED_STATE) {
            nc_amqp_check_reply(ab, r, "cannot receive", err);
            nc_amqp_drop(ab, l);
            rc = -1;
            break;
        }
        /* a frame other than a delivery */
        amqp_frame_t f;
        int status = amqp_simple_wait_frame_noblock(l->conn, &f, &zero);
        if (status == AMQP_STATUS_TIMEOUT)
            break;
        if (status != AMQP_STATUS_OK) {
            nc_amqp_status_error(ab, status, "cannot receive", err);
            nc_amqp_drop(ab, l);
            rc = -1;
            break;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
            f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            nc_amqp_close_error(ab, &f, "the consumer connection was closed", err);
            nc_amqp_drop(ab, l);
            rc = -1;
            break;
        }
        if (f.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
            /* the broker ended a consumer (its queue went away); a new
             * connection declares and consumes everything again */
            nc_error_set(err, NC_ERR_UNAVAILABLE, "RabbitMQ at %s cancelled a consumer",
                         ab->where);
            nc_amqp_drop(ab, l);
            rc = -1;
            break;
        }
    }
    if (l->conn)
        amqp_maybe_release_buffers(l->conn);
    if (n == NC_AMQP_PREFETCH)
        nc_amqp_wake(ab);   /* more may be buffered with the socket quiet */
    return rc;
}

/* Connects the consumer and makes sure it consumes @topic.  Lock held. */
static int
nc_amqp_consume(NcAmqpBus *ab, const char *topic, GError **err)
{
    if (nc_amqp_connect(ab, &ab->cons, err) < 0)
        return -1;
    if (g_hash_table_contains(ab->consumed, topic))
        return 0;
    if (nc_amqp_basic_consume(ab, topic, err) < 0)
        return -1;
    NcAmqpInbox *in = g_new0(NcAmqpInbox, 1);
    g_queue_init(&in->q);
    g_cond_init(&in->cond);
    g_hash_table_insert(ab->consumed, g_strdup(topic), in);
    return 0;
}

static int
nc_amqp_settle(NcAmqpBus *ab, NcMessage *msg, NcAmqpSettle how, GError **err)
{
    NcAmqpLink *l = &ab->cons;
    int rc = 0;

    g_mutex_lock(&l->lock);
    /* a stale id (its connection is gone) or one already settled: the
     * broker redelivers or has dealt with it */
    if (!l->conn || !g_hash_table_remove(ab->unacked, &msg->id))
        goto out;
    uint64_t tag = (uint64_t)(msg->id - ab->tag_base);
    int status = AMQP_STATUS_OK;
    switch (how) {
    case NC_AMQP_SETTLE_ACK:
        status = amqp_basic_ack(l->conn, NC_AMQP_CHANNEL, tag, 0);
        break;
    case NC_AMQP_SETTLE_REQUEUE:
        status = amqp_basic_nack(l->conn, NC_AMQP_CHANNEL, tag, 0, 1);
        break;
    case NC_AMQP_SETTLE_DEAD:
        status = amqp_basic_reject(l->conn, NC_AMQP_CHANNEL, tag, 0);
        break;
    case NC_AMQP_SETTLE_MAX:
        g_assert_not_reached();
    }
    if (status != AMQP_STATUS_OK) {
        nc_amqp_status_error(ab, status, "cannot settle a message", err);
        nc_amqp_drop(ab, l);
        rc = -1;
    }
out:
    g_mutex_unlock(&l->lock);
    return rc;
}

/* Nacks the retries that are due.  cons's lock is held.  Returns when the
 * next one is due (INT64_MAX for never). */
static int64_t
nc_amqp_run_retries(NcAmqpBus *ab, int64_t now)
{
    NcAmqpLink *l = &ab->cons;
    int64_t next = INT64_MAX;
    guint i = 0;

    while (i < ab->retries->len) {
        NcAmqpRetry *r = &g_array_index(ab->retries, NcAmqpRetry, i);
        if (r->due_us > now) {
            next = MIN(next, r->due_us);
            i++;
            continue;
        }
        int64_t id = r->id;
        g_array_remove_index_fast(ab->retries, i);
        if (l->conn && g_hash_table_remove(ab->unacked, &id) &&
            amqp_basic_nack(l->conn, NC_AMQP_CHANNEL, (uint64_t)(id - ab->tag_base), 0, 1) !=
                AMQP_STATUS_OK) {
            nc_amqp_drop(ab, l);   /* the message comes back anyway */
            return INT64_MAX;
        }
    }
    return next;
}

/* ---- the I/O thread ---- */

/* Answers the broker's heartbeats on an idle publisher and notices when it
 * went away.  Skipped while a publish holds the connection. */
static void
nc_amqp_service_pub(NcAmqpBus *ab, int64_t now)
{
    NcAmqpLink *l = &ab->pub;
    if (!g_mutex_trylock(&l->lock))
        return;
    if (l->conn && nc_amqp_beat(ab, l, now, NULL) == 0) {
        struct timeval zero = { 0 };
        for (;;) {
            amqp_frame_t f;
            int status = amqp_simple_wait_frame_noblock(l->conn, &f, &zero);
            if (status == AMQP_STATUS_TIMEOUT)
                break;
            if (status != AMQP_STATUS_OK ||
                (f.frame_type == AMQP_FRAME_METHOD &&
                 (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                  f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD))) {
                nc_amqp_drop(ab, l);
                break;
            }
        }
        if (l->conn)
            amqp_maybe_release_buffers(l->conn);
    }
    g_mutex_unlock(&l->lock);
}

static gpointer
nc_amqp_io(gpointer data)
{
    NcAmqpBus *ab = data;
    NcAmqpLink *l = &ab->cons;
    int64_t next_service = 0;

    while (!g_atomic_int_get(&ab->stopping)) {
        int64_t now = nc_mono_us();
        int64_t wake = now + NC_AMQP_SERVICE_US;
        int fd = -1;

        g_mutex_lock(&l->lock);
        if (l->conn)
            nc_amqp_pump(ab, NULL);
        wake = MIN(wake, nc_amqp_run_retries(ab, now));
        if (l->conn)
            nc_amqp_beat(ab, l, now, NULL);
        if (l->conn)
            fd = amqp_get_sockfd(l->conn);
        g_mutex_unlock(&l->lock);

        if (now >= next_service) {
            nc_amqp_service_pub(ab, now);
            next_service = now + NC_AMQP_SERVICE_US;
        }
        wake = MIN(wake, next_service);

        /* The socket is watched without the lock: a drop meanwhile closes
         * it (and wakes us through wake_fd); a reused fd number only makes
         * a spurious wake-up, as the pump above reads without waiting. */
        struct pollfd pfd[2] = {
            { .fd = ab->wake_fd, .events = POLLIN },
            { .fd = fd, .events = POLLIN },
        };
        int64_t wait_ms = MAX(0, (wake - nc_mono_us() + 999) / 1000);
        if (poll(pfd, fd >= 0 ? 2 : 1, (int)MIN(wait_ms, (int64_t)INT_MAX)) > 0 &&
            (pfd[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t n G_GNUC_UNUSED = read(ab->wake_fd, &v, sizeof(v));
        }
    }
    return NULL;
}

/* ---- the driver ---- */

static void
nc_amqp_link_init(NcAmqpLink *l, const char *role)
{
    l->role = role;
    g_mutex_init(&l->lock);
    l->declared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void
nc_amqp_link_clear(NcAmqpBus *ab, NcAmqpLink *l)
{
    g_mutex_lock(&l->lock);
    nc_amqp_disconnect(ab, l);
    g_mutex_unlock(&l->lock);
    g_hash_table_destroy(l->declared);
    g_mutex_clear(&l->lock);
}

static void
nc_amqp_inbox_free(gpointer p)
{
    NcAmqpInbox *in = p;
    g_queue_clear_full(&in->q, nc_amqp_free_message);
    g_cond_clear(&in->cond);
    g_free(in);
}

static void
nc_amqp_free(NcAmqpBus *ab)
{
    if (ab->io) {
        g_atomic_int_set(&ab->stopping, 1);
        nc_amqp_wake(ab);
        g_thread_join(ab->io);
    }
    /* unacknowledged deliveries return to their queues when the consumer
     * connection closes */
    nc_amqp_link_clear(ab, &ab->cons);
    nc_amqp_link_clear(ab, &ab->pub);
    g_hash_table_destroy(ab->consumed);
    g_hash_table_destroy(ab->unacked);
    g_array_unref(ab->retries);
    g_ptr_array_unref(ab->outq);
    g_mutex_clear(&ab->out_lock);
    g_cond_clear(&ab->out_cond);
    if (ab->wake_fd >= 0)
        close(ab->wake_fd);
    /* the URL holds the password */
    if (ab->url)
        memset(ab->url, 0, ab->url_len);
    g_free(ab->url);
    g_free(ab->where);
    g_free(ab);
}

static int
nc_amqp_open(NcBus *bus, const char *target, GError **err)
{
    NcAmqpBus *ab = g_new0(NcAmqpBus, 1);
    ab->url = g_strdup(target);
    ab->url_len = strlen(target);
    nc_amqp_link_init(&ab->pub, "publisher");
    nc_amqp_link_init(&ab->cons, "consumer");
    g_mutex_init(&ab->out_lock);
    g_cond_init(&ab->out_cond);
    ab->outq = g_ptr_array_new();
    ab->consumed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, nc_amqp_inbox_free);
    ab->unacked = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    ab->retries = g_array_new(FALSE, FALSE, sizeof(NcAmqpRetry));
    ab->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    amqp_default_connection_info(&ab->info);
    if (ab->wake_fd < 0) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot make an eventfd: %s", g_strerror(errno));
        goto fail;
    }
    if (amqp_parse_url(ab->url, &ab->info) != AMQP_STATUS_OK) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "the bus URL is not an AMQP URL (amqp://user:password@host:port/vhost)");
        goto fail;
    }
    if (ab->info.ssl) {
        nc_error_set(err, NC_ERR_UNSUPPORTED, "amqps:// (TLS) is not supported yet");
        goto fail;
    }
    if (!ab->info.vhost || !*ab->info.vhost)
        ab->info.vhost = (char *)"/";
    ab->where = g_strdup_printf("%s:%d", ab->info.host, ab->info.port);

    /* both connections now, so a wrong URL or password shows at start */
    for (NcAmqpLink *l = &ab->pub; l; l = l == &ab->pub ? &ab->cons : NULL) {
        g_mutex_lock(&l->lock);
        int rc = nc_amqp_connect(ab, l, err);
        g_mutex_unlock(&l->lock);
        if (rc < 0)
            goto fail;
    }
    ab->io = g_thread_new("nc-amqp", nc_amqp_io, ab);
    bus->impl = ab;
    return 0;

fail:
    nc_amqp_free(ab);
    return -1;
}

static void
nc_amqp_close(NcBus *bus)
{
    nc_amqp_free(bus->impl);
    bus->impl = NULL;
}

static int
nc_amqp_declare(NcBus *bus, const char *topic, bool consume, GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpLink *l = consume ? &ab->cons : &ab->pub;
    int rc;

    if (nc_amqp_check_topic(topic, err) < 0)
        return -1;
    g_mutex_lock(&l->lock);
    if (consume)
        rc = nc_amqp_consume(ab, topic, err);
    else
        rc = nc_amqp_connect(ab, l, err) < 0 ? -1 : nc_amqp_declare_topic(ab, l, topic, err);
    g_mutex_unlock(&l->lock);
    return rc;
}

/* Deletes @topic's queue, then its dead letters' queue, with what they
 * hold.  RabbitMQ answers a delete of a queue that does not exist with
 * delete-ok, so a second removal is no error. */
static int
nc_amqp_remove(NcBus *bus, const char *topic, GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpLink *l = &ab->pub;
    if (nc_amqp_check_topic(topic, err) < 0)
        return -1;
    g_autofree char *dead = g_strconcat(NC_AMQP_DEAD_PREFIX, topic, NULL);
    const char *names[] = { topic, dead };
    int rc = 0;

    g_mutex_lock(&l->lock);
    if (nc_amqp_connect(ab, l, err) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(names); i++) {
        amqp_queue_delete(l->conn, NC_AMQP_CHANNEL, amqp_cstring_bytes(names[i]), 0, 0);
        g_autofree char *what = g_strdup_printf("cannot delete queue '%s'", names[i]);
        if (nc_amqp_check_reply(ab, amqp_get_rpc_reply(l->conn), what, err) < 0) {
            nc_amqp_drop(ab, l);   /* a failed delete closes the channel */
            rc = -1;
        }
    }
    /* a later publish to it declares it again */
    g_hash_table_remove(l->declared, topic);
    g_mutex_unlock(&l->lock);
    return rc;
}

/* Publishes @n messages back to back, then waits for the broker's
 * verdicts on all of them: one round trip of confirms for the lot instead
 * of one per message.  ret_ok[i] is set for each message the broker
 * confirmed.  A basic.return (no queue took a message) cannot be matched
 * to its message, so it leaves the whole batch unconfirmed.  Returns 0, or
 * -1 when the connection failed (some messages may still be confirmed). */
static int
nc_amqp_publish_many(NcBus *bus, int n, const char *const *topics, const char *const *bodies,
                     bool *ret_ok, GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpLink *l = &ab->pub;
    int rc = -1;

    if (n <= 0)
        return 0;
    g_autofree bool *settled = g_new0(bool, (gsize)n);
    for (int i = 0; i < n; i++) {
        ret_ok[i] = false;
        if (nc_amqp_check_topic(topics[i], err) < 0)
            return -1;
        if (strlen(bodies[i]) > NC_AMQP_MAX_BODY) {
            nc_error_set(err, NC_ERR_TOO_LARGE, "a message of %zu bytes is over the bus's"
                         " limit of %d", strlen(bodies[i]), NC_AMQP_MAX_BODY);
            return -1;
        }
    }
    g_mutex_lock(&l->lock);
    if (nc_amqp_connect(ab, l, err) < 0)
        goto out;
    for (int i = 0; i < n; i++)
        if (nc_amqp_declare_topic(ab, l, topics[i], err) < 0)
            goto out;
    amqp_basic_properties_t props = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
    };
    uint64_t first = ab->pub_seq + 1;
    for (int i = 0; i < n; i++) {
        amqp_bytes_t bytes = { .len = strlen(bodies[i]), .bytes = (void *)bodies[i] };
        int status = amqp_basic_publish(l->conn, NC_AMQP_CHANNEL, amqp_empty_bytes,
                                        amqp_cstring_bytes(topics[i]), 1, 0, &props, bytes);
        if (status != AMQP_STATUS_OK) {
            nc_amqp_status_error(ab, status, "cannot publish", err);
            nc_amqp_drop(ab, l);
            goto out;
        }
        ab->pub_seq++;
    }
    nc_fault_point("amqp-before-confirm");

    uint64_t last = ab->pub_seq;
    int pending = n;
    bool returned = false, nacked = false;
    int64_t deadline = nc_mono_us() + NC_AMQP_CONFIRM_TIMEOUT_US;
    while (pending > 0) {
        int64_t left = deadline - nc_mono_us();
        if (left <= 0) {
            nc_error_set(err, NC_ERR_UNAVAILABLE,
                         "RabbitMQ at %s did not confirm %d of %d messages within %d s",
                         ab->where, pending, n,
                         (int)(NC_AMQP_CONFIRM_TIMEOUT_US / G_USEC_PER_SEC));
            nc_amqp_drop(ab, l);
            goto out;
        }
        struct timeval tv = { .tv_sec = left / G_USEC_PER_SEC,
                              .tv_usec = left % G_USEC_PER_SEC };
        amqp_frame_t f;
        int status = amqp_simple_wait_frame_noblock(l->conn, &f, &tv);
        if (status == AMQP_STATUS_TIMEOUT)
            continue;
        if (status != AMQP_STATUS_OK) {
            nc_amqp_status_error(ab, status, "cannot publish", err);
            nc_amqp_drop(ab, l);
            goto out;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        uint64_t tag = 0;
        bool multiple = false, ack = false;
        switch (f.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            tag = a->delivery_tag;
            multiple = a->multiple;
            ack = true;
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            amqp_basic_nack_t *a = f.payload.method.decoded;
            tag = a->delivery_tag;
            multiple = a->multiple;
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            amqp_message_t m;
            amqp_rpc_reply_t r = amqp_read_message(l->conn, f.channel, &m, 0);
            if (nc_amqp_check_reply(ab, r, "cannot publish", err) < 0) {
                nc_amqp_drop(ab, l);
                goto out;
            }
            amqp_destroy_message(&m);
            returned = true;
            continue;
        }
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            nc_amqp_close_error(ab, &f, "cannot publish", err);
            nc_amqp_drop(ab, l);
            goto out;
        default:
            continue;
        }
        /* the verdicts on [lo, hi] of this batch */
        uint64_t hi = MIN(tag, last);
        uint64_t lo = multiple ? first : tag;
        for (uint64_t seq = MAX(lo, first); seq <= hi; seq++) {
            int i = (int)(seq - first);
            if (settled[i])
                continue;
            /* a nack is a verdict too: that message is not held */
            settled[i] = true;
            ret_ok[i] = ack;
            pending--;
            nacked = nacked || !ack;
        }
    }
    amqp_maybe_release_buffers(l->conn);
    if (returned) {
        for (int i = 0; i < n; i++)
            ret_ok[i] = false;
        g_hash_table_remove_all(l->declared);
        nc_error_set(err, NC_ERR_UNAVAILABLE,
                     "RabbitMQ at %s had no queue for a message of a batch", ab->where);
        goto out;
    }
    if (nacked) {
        nc_error_set(err, NC_ERR_UNAVAILABLE, "RabbitMQ at %s refused messages of a batch",
                     ab->where);
        goto out;
    }
    rc = 0;
out:
    g_mutex_unlock(&l->lock);
    return rc;
}

/* One publish() waiting for the broker. */
typedef struct {
    const char *topic;
    const char *body;
    int state;          /* 0 waiting, 1 confirmed, -1 failed */
    GError *error;      /* when failed */
} NcAmqpOut;

/* Publishes one message and returns once the broker confirmed it.  Callers
 * on many threads share the publisher connection by group commit: the
 * first to come flushes everything queued so far under one round of
 * confirms (nc_amqp_publish_many), and those that queue meanwhile go out
 * together in the next flush.  One message per round trip would cap a
 * worker of many hosts at a few hundred messages a second. */
static int
nc_amqp_publish(NcBus *bus, const char *topic, const char *body, GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpOut o = { .topic = topic, .body = body };

    if (nc_amqp_check_topic(topic, err) < 0)
        return -1;
    size_t len = strlen(body);
    if (len > NC_AMQP_MAX_BODY) {
        nc_error_set(err, NC_ERR_TOO_LARGE, "a message of %zu bytes is over the bus's"
                     " limit of %d", len, NC_AMQP_MAX_BODY);
        return -1;
    }
    g_mutex_lock(&ab->out_lock);
    g_ptr_array_add(ab->outq, &o);
    while (o.state == 0) {
        if (ab->flushing) {
            g_cond_wait(&ab->out_cond, &ab->out_lock);
            continue;
        }
        ab->flushing = true;
        GPtrArray *batch = ab->outq;
        ab->outq = g_ptr_array_new();
        g_mutex_unlock(&ab->out_lock);

        int n = MIN((int)batch->len, NC_AMQP_MAX_BATCH);
        g_autofree const char **topics = g_new(const char *, n);
        g_autofree const char **bodies = g_new(const char *, n);
        g_autofree bool *ok = g_new0(bool, n);
        for (int i = 0; i < n; i++) {
            NcAmqpOut *m = g_ptr_array_index(batch, i);
            topics[i] = m->topic;
            bodies[i] = m->body;
        }
        GError *ferr = NULL;
        nc_amqp_publish_many(bus, n, topics, bodies, ok, &ferr);

        g_mutex_lock(&ab->out_lock);
        for (int i = 0; i < n; i++) {
            NcAmqpOut *m = g_ptr_array_index(batch, i);
            m->state = ok[i] ? 1 : -1;
            if (!ok[i])
                m->error = ferr ? g_error_copy(ferr)
                                : g_error_new(NC_ERROR, NC_ERR_UNAVAILABLE,
                                              "RabbitMQ at %s did not confirm a message",
                                              ab->where);
        }
        /* over the batch limit: back to the front of the queue */
        for (guint i = (guint)n; i < batch->len; i++)
            g_ptr_array_insert(ab->outq, (gint)(i - (guint)n), g_ptr_array_index(batch, i));
        g_ptr_array_unref(batch);
        g_clear_error(&ferr);
        ab->flushing = false;
        g_cond_broadcast(&ab->out_cond);
    }
    g_mutex_unlock(&ab->out_lock);
    if (o.state < 0) {
        g_propagate_error(err, o.error);
        return -1;
    }
    return 0;
}

static int
nc_amqp_receive(NcBus *bus, const char *topic, int timeout_ms, NcMessage **ret,
                GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpLink *l = &ab->cons;
    int64_t deadline = g_get_monotonic_time() + (int64_t)MAX(timeout_ms, 0) * 1000;
    int rc;

    if (nc_amqp_check_topic(topic, err) < 0)
        return -1;
    g_mutex_lock(&l->lock);
    rc = nc_amqp_consume(ab, topic, err);
    if (rc < 0)
        goto out;
    NcAmqpInbox *in = g_hash_table_lookup(ab->consumed, topic);
    GQueue *q = &in->q;
    uint64_t generation = l->generation;
    for (;;) {
        NcMessage *m = g_queue_pop_head(q);
        if (m) {
            *ret = m;
            rc = 1;
            break;
        }
        if (ab->kicked) {
            /* the caller has other work (the central node's outbox) */
            ab->kicked = false;
            rc = 0;
            break;
        }
        if (l->generation != generation) {
            nc_error_set(err, NC_ERR_UNAVAILABLE, "the connection to RabbitMQ at %s was lost",
                         ab->where);
            rc = -1;
            break;
        }
        if (!g_cond_wait_until(&in->cond, &l->lock, deadline)) {
            m = g_queue_pop_head(q);
            if (m)
                *ret = m;
            rc = m ? 1 : 0;
            break;
        }
    }
out:
    g_mutex_unlock(&l->lock);
    return rc;
}

static int
nc_amqp_ack(NcBus *bus, NcMessage *msg, GError **err)
{
    return nc_amqp_settle(bus->impl, msg, NC_AMQP_SETTLE_ACK, err);
}

static int
nc_amqp_retry(NcBus *bus, NcMessage *msg, int delay_ms, GError **err)
{
    NcAmqpBus *ab = bus->impl;
    NcAmqpLink *l = &ab->cons;

    /* a dead letter has nowhere further to go: it only waits again */
    if (msg->attempts >= NC_BUS_MAX_ATTEMPTS && !nc_amqp_is_dead_topic(msg->topic))
        return nc_amqp_settle(ab, msg, NC_AMQP_SETTLE_DEAD, err);
    if (delay_ms <= 0)
        return nc_amqp_settle(ab, msg, NC_AMQP_SETTLE_REQUEUE, err);
    g_mutex_lock(&l->lock);
    if (l->conn && g_hash_table_contains(ab->unacked, &msg->id)) {
        NcAmqpRetry r = {
            .id = msg->id,
            .due_us = nc_mono_us() + (int64_t)MIN(delay_ms, NC_AMQP_MAX_RETRY_DELAY_MS) * 1000,
        };
        g_array_append_val(ab->retries, r);
        nc_amqp_wake(ab);
    }
    g_mutex_unlock(&l->lock);
    return 0;
}

/* Makes a receive() that has nothing come back at once: the central node
 * relays its outbox between receives, and a new command should not wait
 * for the receive's timeout. */
static void
nc_amqp_kick(NcBus *bus)
{
    NcAmqpBus *ab = bus->impl;
    g_mutex_lock(&ab->cons.lock);
    ab->kicked = true;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, ab->consumed);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_cond_broadcast(&((NcAmqpInbox *)v)->cond);
    g_mutex_unlock(&ab->cons.lock);
}

const NcBusDriver nc_bus_amqp_driver = {
    .name = "amqp",
    .open = nc_amqp_open,
    .close = nc_amqp_close,
    .declare = nc_amqp_declare,
    .publish = nc_amqp_publish,
    .publish_many = nc_amqp_publish_many,
    .receive = nc_amqp_receive,
    .ack = nc_amqp_ack,
    .retry = nc_amqp_retry,
    .kick = nc_amqp_kick,
    .remove = nc_amqp_remove,
};
