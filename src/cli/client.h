/* client.h: the CLI's HTTP client for API v1 (libcurl).
 *
 * Where to connect and with which token: --url/--token, else the
 * environment (NESTCLOUD_URL, NESTCLOUD_TOKEN), else the state directory
 * (api.url and admin.token, written by the central node).
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct NcClient NcClient;

/**
 * nc_client_new:
 * @url: (nullable): base URL, such as http://127.0.0.1:7400
 * @token: (nullable): API token
 * @state_dir: (nullable): where to look for api.url and admin.token
 *
 * Returns: (transfer full): a client.
 */
NcClient *nc_client_new(const char *url, const char *token, const char *state_dir);
/* A client of the market: @url, else $NESTCLOUD_MARKET_URL, else
 * STATE_DIR/market.url; @token (an API token made in the market), else
 * $NESTCLOUD_MARKET_TOKEN, else none (the public catalogue only). */
NcClient *nc_client_new_market(const char *url, const char *token, const char *state_dir);
void nc_client_free(NcClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcClient, nc_client_free)

const char *nc_client_url(NcClient *c);

/**
 * nc_client_call:
 * @method: "GET", "POST", "PATCH", "DELETE"
 * @path: "/v1/vms" (with any query string, already escaped)
 * @body: (nullable): JSON to send
 * @ret_status: (optional): the HTTP status
 * @err: the API's error (its code and message), or a transport error
 *
 * Returns: (transfer full): the JSON answer of a 2xx, or NULL.
 */
json_t *nc_client_call(NcClient *c, const char *method, const char *path, json_t *body,
                       long *ret_status, GError **err);

/* Uploads a file as application/octet-stream with POST. */
json_t *nc_client_upload(NcClient *c, const char *path, const char *file, GError **err);

/* Follows GET /v1/events, calling @fn for each event until it returns false
 * or the stream ends. */
int nc_client_stream(NcClient *c, const char *path, bool (*fn)(json_t *ev, void *data),
                     void *data, GError **err);

/* Returns: @text escaped for a URL path segment or query value (caller frees). */
char *nc_client_escape(const char *text);
