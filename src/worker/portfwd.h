/* portfwd.h: the TCP forwards of one host: a listening port per forward,
 * each accepted connection relayed to a port of a VM.
 *
 * The VM's address is looked up at every connection (the guest may renew
 * its DHCP lease), through the resolver the worker passes in.  Threads:
 * one per listening port, one per relayed connection (at most
 * NC_PORTFWD_MAX_CONNS per forward).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define NC_PORTFWD_MAX_CONNS 128

typedef struct NcPortFwd NcPortFwd;

/* Returns: the IPv4 address of VM @vm_id (caller frees), or NULL. */
typedef char *(*NcPortFwdResolveFn)(const char *vm_id, void *opaque);

/**
 * nc_portfwd_new:
 * @bind_addr: the address listeners bind to ("0.0.0.0" for every one)
 * @resolve: finds a VM's address; @opaque is passed to it
 *
 * Returns: (transfer full): an empty set of forwards.
 */
NcPortFwd *nc_portfwd_new(const char *bind_addr, NcPortFwdResolveFn resolve, void *opaque);

/* Closes every listener (relayed connections end on their own). */
void nc_portfwd_free(NcPortFwd *pf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcPortFwd, nc_portfwd_free)

/**
 * nc_portfwd_add:
 * @host_port: the port to listen on
 * @vm_id: the VM to relay to
 * @guest_port: its port
 * @err: NC_ERR_CONFLICT when the port is in use by something else,
 *     NC_ERR_INTERNAL on other socket errors
 *
 * Idempotent: the same forward again succeeds and changes nothing.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_portfwd_add(NcPortFwd *pf, int host_port, const char *vm_id, int guest_port,
                   GError **err);

/* Stops listening on @host_port; true when there was a forward. */
bool nc_portfwd_remove(NcPortFwd *pf, int host_port);

/* Stops every forward to @vm_id; returns how many. */
int nc_portfwd_remove_vm(NcPortFwd *pf, const char *vm_id);

/* Returns: (transfer full) (element-type int): the ports listened on. */
GArray *nc_portfwd_ports(NcPortFwd *pf);
