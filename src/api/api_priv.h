/* api_priv.h: requests, responses and the route table, shared by the
 * server (http.c), the routes (routes.c) and the event stream (sse.c). */
#pragma once

#include "api.h"
#include "http/http_server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef enum {
    NC_ROUTE_PUBLIC = 1 << 0,      /* no token needed */
    NC_ROUTE_JSON = 1 << 1,        /* takes a JSON body */
    NC_ROUTE_UPLOAD = 1 << 2,      /* takes an octet-stream body (to a file) */
    NC_ROUTE_CACHEABLE = 1 << 3,   /* GET whose answer depends only on the store */
    NC_ROUTE_ASYNC = 1 << 4,       /* answers 202 with an operation */
} NcRouteFlags;

typedef struct NcRequest NcRequest;
typedef struct NcResponse NcResponse;

typedef int (*NcRouteHandler)(NcApi *api, NcRequest *req, NcResponse *resp, GError **err);

typedef struct {
    const char *method;
    const char *pattern;     /* "/v1/vms/{}/actions": {} matches one segment */
    NcRouteHandler handler;
    unsigned flags;
} NcRoute;

extern const NcRoute nc_api_routes[];
extern const size_t nc_api_route_count;

struct NcApi {
    NcCentral *central;
    struct MHD_Daemon *mhd;
    uint16_t port;
    gint stopping;
    GMutex cache_lock;
    GHashTable *cache;        /* key -> NcCached */
};

struct NcRequest {
    NcHttpRequest http;       /* method, path, body, limits: the HTTP layer's */
    const NcRoute *route;
    char *params[4];          /* the {} segments, URL-decoded */
    int nparams;
    NcCaller *caller;
    FILE *upload;             /* NC_ROUTE_UPLOAD: the temporary file */
    char *upload_path;
    uint64_t upload_bytes;
};

struct NcResponse {
    unsigned status;
    json_t *json;             /* the body, or NULL */
    char *text;               /* a non-JSON body */
    const char *content_type;
    char *location;
    struct MHD_Response *stream;   /* a streaming body (events) */
};

/* Query argument @key, or NULL. */
const char *nc_request_query(NcRequest *req, const char *key);
/* Request header @key, or NULL. */
const char *nc_request_header(NcRequest *req, const char *key);
/* The JSON body parsed as an object. */
json_t *nc_request_json(NcRequest *req, GError **err);

/* The event stream response for GET /v1/events (sse.c). */
int nc_api_events(NcApi *api, NcRequest *req, NcResponse *resp, GError **err);
