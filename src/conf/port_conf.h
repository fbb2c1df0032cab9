/* port_conf.h: port forwards ("expose"): a TCP port of the host a VM runs
 * on that reaches a port of the VM.
 *
 * In a nested cloud the forward goes up: the cloud that runs inside a VM
 * asks its parent to forward the same port number to that VM, and so on to
 * the outermost cloud, whose host port is the public one.
 *
 * States, and who moves them:
 *
 *   pending --worker listens (op "port.add" succeeded)--> active
 *     (nc_port_service_create)     \--worker cannot listen--> error
 *   active|error --delete--> (gone)       (nc_port_service_delete)
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#define NC_PORT_MIN_HOST 1024        /* no privileged ports on the host */
#define NC_PORT_MAX 65535
#define NC_LIMIT_PORTS_PER_VM 16

typedef struct {
    char *id;
    char *project;
    char *vm;            /* VM id */
    char *vm_name;
    char *host;          /* host id the VM runs on: where the port listens */
    char *host_name;
    int host_port;
    int guest_port;
    char *state;         /* "pending", "active", "error" */
    char *error;
    json_t *parent;      /* the forward the parent cloud made for it, or NULL */
    int64_t created_at;
} NcPort;

NcPort *nc_port_new(void);
void nc_port_free(NcPort *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcPort, nc_port_free)

/**
 * nc_port_from_request:
 * @req: the body of POST /v1/vms/{id}/ports: {"guest_port": N, "host_port": M}
 * @ret_guest: the VM's port, 1..65535
 * @ret_host: the host's port, 1024..65535 (default: the guest port when
 *     that is >= 1024)
 * @err: NC_ERR_INVALID_ARGUMENT naming the bad field
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_port_from_request(json_t *req, int *ret_guest, int *ret_host, GError **err);

/* Returns: the API's JSON for @p; "public_port" is the outermost cloud's. */
json_t *nc_port_to_api_json(const NcPort *p);

/* Returns: the host port of the outermost forward of @p. */
int nc_port_public(const NcPort *p);
