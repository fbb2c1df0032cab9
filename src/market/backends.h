/* backends.h: the nestcloud clouds providers sell from, and what the
 * market measures of them.
 *
 * A backend is an API URL and a token.  The token is checked against the
 * backend's GET /v1/status when it is registered, sealed (secretbox.h) and
 * never shown again; only the market's calls to the backend open it.
 *
 * Quality, measured, never declared:
 *   availability   share of health probes (GET /v1/status) answered within
 *                  NC_MARKET_PROBE_TIMEOUT_MS, over 24 hours and 7 days
 *                  ("availability" column: 24 h, in thousandths)
 *   launch         how long the backend took to create and boot VMs: the
 *                  duration of its own operations for the market's
 *                  allocations, and of timed test launches when enabled
 *   interruptions  allocations the backend lost or broke while they were
 *                  meant to run, and periods the backend was down while it
 *                  held allocations, over 30 days
 *
 * State: unknown -> up | down (NC_MARKET_DOWN_AFTER failed probes in a row)
 * -> removed (by its provider; kept until its allocations are gone).
 *
 * Resale: a backend registered with "upstream_allocation" runs inside one
 * of its provider's own allocations; its nesting depth is the upstream
 * backend's plus one, and buyers see the upstream provider.
 */
#pragma once

#include "market_priv.h"
#include "cli/client.h"

/* POST /market/v1/backends {"name", "url", "token", "upstream_allocation"?,
 * "nesting_depth"?}: checks the token against the backend. */
json_t *nc_market_backend_create(NcMarket *m, const NcMarketCaller *caller, json_t *body,
                                 GError **err);

/* The caller's backends, with health and quality. */
json_t *nc_market_backend_list(NcMarket *m, const NcMarketCaller *caller, GError **err);

/* One of the caller's backends, with its recent probes.  NC_ERR_NOT_FOUND
 * for anybody else's. */
json_t *nc_market_backend_get(NcMarket *m, const NcMarketCaller *caller, const char *id,
                              GError **err);

/* Removes a backend: its offers are withdrawn (contracts get notice); the
 * record stays until its allocations are gone. */
int nc_market_backend_delete(NcMarket *m, const NcMarketCaller *caller, const char *id,
                             GError **err);

/* What buyers see of a backend: name, state, accelerator, depth, upstream
 * provider, quality.  Built from the row's columns, see NC_BACKEND_PUBLIC_COLS. */
json_t *nc_market_backend_public(NcMarket *m, const char *id, GError **err);

/**
 * nc_market_backend_client:
 * @id: a backend id
 * @err: NC_ERR_NOT_FOUND, or NC_ERR_INTERNAL when the token does not unseal
 *
 * Returns: (transfer full): a client for the backend's /v1 API with its
 * token, for one thread at a time.
 */
NcClient *nc_market_backend_client(NcMarket *m, const char *id, GError **err);

/* Job: probes one backend's health (GET /v1/status) and updates its state
 * and quality. */
void nc_market_backend_probe_job(NcMarket *m, const char *id);

/* Job: creates, times and deletes a small test VM on an idle backend. */
void nc_market_backend_launch_probe_job(NcMarket *m, const char *id);

/* Records probes that did not come back within the timeout as failures;
 * submits due probes.  Called by the ticker. */
void nc_market_backends_tick(NcMarket *m, bool probe_now, bool launch_probe_now);

/* Records a VM launch the backend took @ms for. */
void nc_market_backend_record_launch(NcMarket *m, const char *backend, int64_t ms);

/* Records an interruption of an allocation on @backend. */
void nc_market_backend_record_interruption(NcMarket *m, const char *backend,
                                           const char *detail);

/* Recomputes the quality summary of @backend from its probes and events. */
int nc_market_backend_update_quality(NcMarket *m, const char *backend, GError **err);
