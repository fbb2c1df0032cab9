/* port_service.h: port forwards of VMs (POST/GET /v1/vms/{id}/ports,
 * DELETE /v1/vms/{id}/ports/{host_port}).
 *
 * A forward listens on the host the VM runs on (the worker there relays
 * connections to the VM's address).  In a nested cloud it is also asked
 * of the parent cloud, for the VM this cloud runs in, with the same port
 * number, so the outermost host's port reaches the guest at any depth.
 */
#pragma once

#include "central.h"

/**
 * nc_port_service_create:
 * @key: the VM, by id or name
 * @req: {"guest_port": N, "host_port": M}
 * @err: NC_ERR_INVALID_ARGUMENT (ports), NC_ERR_NOT_FOUND (VM),
 *     NC_ERR_CONFLICT (VM not placed or being deleted, port taken,
 *     too many forwards), or what the parent cloud answered
 *
 * Returns: (transfer full): the operation (202), with the forward as "port".
 */
json_t *nc_port_service_create(NcCentral *c, const NcCaller *caller, const char *key,
                               json_t *req, GError **err);

/* Returns: (transfer full): {"ports": [...]} of the VM @key. */
json_t *nc_port_service_list(NcCentral *c, const NcCaller *caller, const char *key,
                             GError **err);

/**
 * nc_port_service_delete:
 * @host_port: the forward's host port, as the URL gives it
 *
 * Returns: (transfer full): the operation (202).
 */
json_t *nc_port_service_delete(NcCentral *c, const NcCaller *caller, const char *key,
                               const char *host_port, GError **err);
