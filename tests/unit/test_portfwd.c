/* test_portfwd.c: relays from a host port to a "VM" (a local echo server). */
#include "worker/portfwd.h"
#include "util/nc_error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
listen_any(int *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 16), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *ret_port = ntohs(sa.sin_port);
    return fd;
}

/* Echoes one connection at a time, uppercased, until the listener closes. */
static gpointer
echo_server(gpointer data)
{
    int lfd = GPOINTER_TO_INT(data);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[256];
        ssize_t n;
        while ((n = read(c, buf, sizeof(buf))) > 0) {
            for (ssize_t i = 0; i < n; i++)
                buf[i] = g_ascii_toupper(buf[i]);
            g_assert_cmpint(write(c, buf, (size_t)n), ==, n);
        }
        close(c);
    }
}

static char *
resolve(const char *vm_id, void *opaque)
{
    return strcmp(vm_id, "vm-1") == 0 ? g_strdup("127.0.0.1") : NULL;
}

static int
free_port(void)
{
    int port;
    close(listen_any(&port));
    return port;
}

static int
connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
test_relay(void)
{
    int guest_port;
    int lfd = listen_any(&guest_port);
    GThread *srv = g_thread_new("echo", echo_server, GINT_TO_POINTER(lfd));
    g_autoptr(NcPortFwd) pf = nc_portfwd_new("127.0.0.1", resolve, NULL);
    int host_port = free_port();
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(nc_portfwd_add(pf, host_port, "vm-1", guest_port, &err), ==, 0);
    /* the same forward again is no change; another VM on it is a conflict */
    g_assert_cmpint(nc_portfwd_add(pf, host_port, "vm-1", guest_port, &err), ==, 0);
    g_assert_cmpint(nc_portfwd_add(pf, host_port, "vm-2", guest_port, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    g_clear_error(&err);

    for (int round = 0; round < 3; round++) {
        int c = connect_to(host_port);
        g_assert_cmpint(c, >=, 0);
        g_assert_cmpint(write(c, "hello", 5), ==, 5);
        shutdown(c, SHUT_WR);   /* half-close: the answer still comes back */
        char buf[16] = { 0 };
        size_t got = 0;
        ssize_t n;
        while ((n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        g_assert_cmpstr(buf, ==, "HELLO");
        close(c);
    }
    GArray *ports = nc_portfwd_ports(pf);
    g_assert_cmpuint(ports->len, ==, 1);
    g_assert_cmpint(g_array_index(ports, int, 0), ==, host_port);
    g_array_unref(ports);

    g_assert_cmpint(nc_portfwd_remove_vm(pf, "vm-1"), ==, 1);
    g_assert_cmpint(connect_to(host_port), ==, -1);
    g_assert_false(nc_portfwd_remove(pf, host_port));

    shutdown(lfd, SHUT_RDWR);
    g_thread_join(srv);
    close(lfd);
}

static void
test_busy_port(void)
{
    int busy;
    int lfd = listen_any(&busy);
    g_autoptr(NcPortFwd) pf = nc_portfwd_new("127.0.0.1", resolve, NULL);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_portfwd_add(pf, busy, "vm-1", 80, &err), ==, -1);
    g_assert_cmpint(nc_error_code(err), ==, NC_ERR_CONFLICT);
    close(lfd);
}

static void
test_unknown_vm(void)
{
    /* a VM without an address: connections are accepted and closed */
    g_autoptr(NcPortFwd) pf = nc_portfwd_new("127.0.0.1", resolve, NULL);
    int host_port = free_port();
    g_assert_cmpint(nc_portfwd_add(pf, host_port, "vm-9", 80, NULL), ==, 0);
    int c = connect_to(host_port);
    g_assert_cmpint(c, >=, 0);
    char b;
    g_assert_cmpint(read(c, &b, 1), ==, 0);
    close(c);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/portfwd/relay", test_relay);
    g_test_add_func("/portfwd/busy_port", test_busy_port);
    g_test_add_func("/portfwd/unknown_vm", test_unknown_vm);
    return g_test_run();
}
