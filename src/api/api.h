/* api.h: the HTTP API (/v1, JSON) of the central node, on libmicrohttpd.
 *
 * One thread per connection; limits on connections, body size and upload
 * size (conf/limits.h).  Routes are a table (routes.c): method, path
 * pattern, handler, flags.  The dispatcher authenticates, reads and limits
 * the body and turns errors into {"error": {"code", "message"}} once, so
 * handlers only call services.
 */
#pragma once

#include "service/central.h"

#include <stdint.h>

typedef struct NcApi NcApi;

/**
 * nc_api_start:
 * @c: the central node (not owned)
 * @listen: "ADDR:PORT" ("127.0.0.1:7400", "[::1]:7400", "0.0.0.0:0" for any port)
 * @err: set on failure (bad address, port in use)
 *
 * Returns: (transfer full): the running server, or NULL.
 */
NcApi *nc_api_start(NcCentral *c, const char *listen, GError **err);

/* Stops serving (open event streams end) and frees. */
void nc_api_stop(NcApi *api);

/* Returns: the port actually bound. */
uint16_t nc_api_port(NcApi *api);
