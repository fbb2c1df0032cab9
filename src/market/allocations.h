/* allocations.h: what an active contract holds on its backend, and the
 * market's proxy to it.
 *
 * For a compute offer the allocation is a VM (POST /v1/vms) named
 * "m-" + the first 12 hex digits of the contract id, in the backend
 * token's project, created stopped unless the contract's config asks to
 * start it.  For a storage offer it is a volume when the backend has
 * /v1/volumes; a backend without that API gets nothing created, and the
 * allocation says so (state "unsupported", never metered).
 *
 *   desired present:  creating -> (mirror of the backend's VM state:
 *                     building, running, stopped, error)
 *                     creating -> failed        the backend refused
 *                     any      -> lost          the VM vanished
 *   desired absent:   deleting -> deleted
 *
 * A job per allocation ("alloc:ID") reconciles the two, idempotently: a
 * create that may have happened before a crash is found by its name.
 * The consumer's start, stop, reboot, rescale and console go through the
 * market to the backend with the backend's token, which the consumer never
 * sees.
 */
#pragma once

#include "market_priv.h"

/* Inside a transaction: the allocation of a contract that became active. */
int nc_market_allocation_create_row(NcMarket *m, const char *contract, GError **err);

/* Inside a transaction: the contract ended; the allocation must go. */
int nc_market_allocation_release(NcMarket *m, const char *contract, GError **err);

/* Returns: (transfer full): the allocation of @contract as JSON, or JSON
 * null when it has none. */
json_t *nc_market_allocation_of_contract(NcMarket *m, const char *contract);

/* GET /market/v1/allocations: the caller's (as consumer). */
json_t *nc_market_allocation_list(NcMarket *m, const NcMarketCaller *caller, GError **err);

/* GET /market/v1/allocations/{id}: the consumer's only. */
json_t *nc_market_allocation_get(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                 GError **err);

/* POST /market/v1/allocations/{id}/actions {"action": start|stop|reboot|force-stop}. */
json_t *nc_market_allocation_action(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                    json_t *body, GError **err);

/* PATCH /market/v1/allocations/{id} {"units"?, "cpu_priority"?}: rescale in
 * place (the VM follows live) and re-meter from this second. */
json_t *nc_market_allocation_update(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                    json_t *body, GError **err);

/* GET /market/v1/allocations/{id}/console: the VM's serial console log. */
json_t *nc_market_allocation_console(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                     GError **err);

/*
 * Port forwards of a compute allocation: a TCP port of the backend's host
 * relayed to a port of the allocation's VM (POST /v1/vms/{id}/ports on the
 * backend, with the backend's token), so that a reseller can reach the API
 * of the Nested Cloud its allocation runs.  The offer's "ports" caps how
 * many an allocation may have (0: none).  Deleting the VM at the end of the
 * contract removes them on the backend.
 */

/* GET /market/v1/allocations/{id}/ports: {"allocation", "allowed", "ports"}.
 * Returns a new reference, or NULL with @err set. */
json_t *nc_market_allocation_ports(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                   GError **err);

/* POST /market/v1/allocations/{id}/ports {"guest_port", "host_port"?}: asks
 * the backend for the forward.  Returns {"allocation", "port", "operation"}
 * (a new reference), or NULL with @err set and nothing asked of the backend
 * when the input, the owner or the offer's limit refuses it. */
json_t *nc_market_allocation_port_add(NcMarket *m, const NcMarketCaller *caller, const char *id,
                                      json_t *body, GError **err);

/* DELETE /market/v1/allocations/{id}/ports/{host_port}: @port_text is the
 * path's text, checked here.  Returns {"allocation", "host_port",
 * "operation"} (a new reference), or NULL with @err set. */
json_t *nc_market_allocation_port_remove(NcMarket *m, const NcMarketCaller *caller,
                                         const char *id, const char *port_text, GError **err);

/* Job: reconciles one allocation with its backend. */
void nc_market_allocation_job(NcMarket *m, const char *id);

/* Submits jobs for allocations that need one.  @all: every live
 * allocation (a periodic refresh), else only those in transition. */
void nc_market_allocations_tick(NcMarket *m, bool all);
