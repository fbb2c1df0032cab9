/* portfwd.c: TCP relays from host ports to VM ports (plain sockets, poll). */
#include "portfwd.h"
#include "util/nc_error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A guest under TCG on a loaded host (a Nested Cloud VM serving its API
 * at load 100) can take longer than 5 s to answer a SYN; the relay then
 * closed the client's connection, which the client saw as a reset.  A
 * refused connection still fails at once. */
#define NC_PORTFWD_CONNECT_MS 30000
#define NC_PORTFWD_BUF 16384

typedef struct {
    NcPortFwd *pf;       /* borrowed; used only by the accept thread */
    int fd;
    int host_port;
    char *vm_id;
    int guest_port;
    gint refs;           /* the table's, and one per relay */
    gint conns;
    gint closing;
    GThread *thread;
} NcListener;

struct NcPortFwd {
    char *bind_addr;
    NcPortFwdResolveFn resolve;
    void *opaque;
    GMutex lock;
    GHashTable *listeners;   /* GINT_TO_POINTER(host_port) -> NcListener */
};

typedef struct {
    int client;
    char *addr;
    int port;
    NcListener *l;
} NcRelay;

static void
nc_listener_unref(NcListener *l)
{
    if (!g_atomic_int_dec_and_test(&l->refs))
        return;
    g_free(l->vm_id);
    g_free(l);
}

/* The table's destroy notify: stop listening; relays keep what they hold. */
static void
nc_listener_close(NcListener *l)
{
    g_atomic_int_set(&l->closing, 1);
    /* wakes the blocked accept() */
    shutdown(l->fd, SHUT_RDWR);
    if (l->thread)
        g_thread_join(l->thread);
    close(l->fd);
    nc_listener_unref(l);
}

/* Connects to @addr:@port within NC_PORTFWD_CONNECT_MS; -1 on failure. */
static int
nc_relay_connect(const char *addr, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (poll(&p, 1, NC_PORTFWD_CONNECT_MS) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Copies what is readable on @from to @to; false at end of stream. */
static bool
nc_relay_pump(int from, int to, char *buf)
{
    ssize_t n = read(from, buf, NC_PORTFWD_BUF);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static gpointer
nc_relay_run(gpointer data)
{
    NcRelay *r = data;
    int guest = nc_relay_connect(r->addr, r->port);
    if (guest >= 0) {
        g_autofree char *buf = g_malloc(NC_PORTFWD_BUF);
        struct pollfd p[2] = { { .fd = r->client, .events = POLLIN },
                               { .fd = guest, .events = POLLIN } };
        bool open[2] = { true, true };
        /* until both directions reached their end (half-close kept) */
        while (open[0] || open[1]) {
            p[0].fd = open[0] ? r->client : -1;
            p[1].fd = open[1] ? guest : -1;
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            for (int i = 0; i < 2; i++) {
                if (!open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                int from = i == 0 ? r->client : guest, to = i == 0 ? guest : r->client;
                if (!nc_relay_pump(from, to, buf)) {
                    open[i] = false;
                    shutdown(to, SHUT_WR);
                    if (p[i].revents & POLLERR)
                        open[0] = open[1] = false;
                }
            }
        }
        close(guest);
    }
    close(r->client);
    g_atomic_int_add(&r->l->conns, -1);
    nc_listener_unref(r->l);
    g_free(r->addr);
    g_free(r);
    return NULL;
}

static gpointer
nc_listener_run(gpointer data)
{
    NcListener *l = data;
    while (!g_atomic_int_get(&l->closing)) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (g_atomic_int_get(&l->closing))
                break;
            g_usleep(100 * 1000);   /* EMFILE and the like: back off */
            continue;
        }
        char *addr = l->pf->resolve(l->vm_id, l->pf->opaque);
        if (!addr || g_atomic_int_get(&l->conns) >= NC_PORTFWD_MAX_CONNS) {
            g_free(addr);
            close(fd);
            continue;
        }
        NcRelay *r = g_new0(NcRelay, 1);
        r->client = fd;
        r->addr = addr;
        r->port = l->guest_port;
        r->l = l;
        g_atomic_int_inc(&l->conns);
        g_atomic_int_inc(&l->refs);
        GThread *t = g_thread_try_new("nc-relay", nc_relay_run, r, NULL);
        if (!t) {
            g_atomic_int_add(&l->conns, -1);
            g_atomic_int_add(&l->refs, -1);
            close(fd);
            g_free(r->addr);
            g_free(r);
            continue;
        }
        g_thread_unref(t);
    }
    return NULL;
}

NcPortFwd *
nc_portfwd_new(const char *bind_addr, NcPortFwdResolveFn resolve, void *opaque)
{
    NcPortFwd *pf = g_new0(NcPortFwd, 1);
    pf->bind_addr = g_strdup(bind_addr ? bind_addr : "0.0.0.0");
    pf->resolve = resolve;
    pf->opaque = opaque;
    g_mutex_init(&pf->lock);
    pf->listeners = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                          (GDestroyNotify)nc_listener_close);
    return pf;
}

void
nc_portfwd_free(NcPortFwd *pf)
{
    if (!pf)
        return;
    g_hash_table_destroy(pf->listeners);
    g_mutex_clear(&pf->lock);
    g_free(pf->bind_addr);
    g_free(pf);
}

int
nc_portfwd_add(NcPortFwd *pf, int host_port, const char *vm_id, int guest_port, GError **err)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&pf->lock);
    NcListener *old = g_hash_table_lookup(pf->listeners, GINT_TO_POINTER(host_port));
    if (old) {
        if (strcmp(old->vm_id, vm_id) == 0 && old->guest_port == guest_port)
            return 0;
        nc_error_set(err, NC_ERR_CONFLICT, "port %d already forwards to another VM", host_port);
        return -1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)host_port) };
    if (inet_pton(AF_INET, pf->bind_addr, &sa.sin_addr) != 1) {
        nc_error_set(err, NC_ERR_INTERNAL, "bad bind address '%s'", pf->bind_addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        nc_error_set(err, e == EADDRINUSE || e == EACCES ? NC_ERR_CONFLICT : NC_ERR_INTERNAL,
                     "cannot listen on port %d of the host: %s", host_port, g_strerror(e));
        return -1;
    }
    NcListener *l = g_new0(NcListener, 1);
    l->refs = 1;
    l->pf = pf;
    l->fd = fd;
    l->host_port = host_port;
    l->vm_id = g_strdup(vm_id);
    l->guest_port = guest_port;
    l->thread = g_thread_new("nc-portfwd", nc_listener_run, l);
    g_hash_table_insert(pf->listeners, GINT_TO_POINTER(host_port), l);
    return 0;
}

bool
nc_portfwd_remove(NcPortFwd *pf, int host_port)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&pf->lock);
    return g_hash_table_remove(pf->listeners, GINT_TO_POINTER(host_port));
}

static gboolean
nc_portfwd_is_vm(gpointer key, gpointer value, gpointer vm_id)
{
    return strcmp(((NcListener *)value)->vm_id, vm_id) == 0;
}

int
nc_portfwd_remove_vm(NcPortFwd *pf, const char *vm_id)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&pf->lock);
    return (int)g_hash_table_foreach_remove(pf->listeners, nc_portfwd_is_vm, (gpointer)vm_id);
}

GArray *
nc_portfwd_ports(NcPortFwd *pf)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&pf->lock);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(int));
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, pf->listeners);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        int port = GPOINTER_TO_INT(key);
        g_array_append_val(out, port);
    }
    return out;
}
