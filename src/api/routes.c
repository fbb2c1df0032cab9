/* routes.c: the route table of API v1 and its thin handlers. */
#include "api_priv.h"
#include "conf/limits.h"
#include "service/host_service.h"
#include "service/image_service.h"
#include "service/port_service.h"
#include "service/reservation_service.h"
#include "service/vm_service.h"
#include "service/volume_service.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <string.h>

/* Sets resp->json from a service result; -1 when it failed. */
static int
nc_reply(NcResponse *resp, json_t *result)
{
    if (!result)
        return -1;
    resp->json = result;
    return 0;
}

static int
nc_reply_with_json_body(NcRequest *req, NcResponse *resp, GError **err,
                        json_t *(*fn)(NcCentral *, const NcCaller *, json_t *, GError **),
                        NcCentral *c)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, fn(c, req->caller, body, err));
}

static int64_t
nc_query_int(NcRequest *req, const char *key, int64_t fallback, int64_t min, int64_t max,
             GError **err)
{
    const char *v = nc_request_query(req, key);
    if (!v)
        return fallback;
    char *end = NULL;
    gint64 n = g_ascii_strtoll(v, &end, 10);
    if (!*v || *end || n < min || n > max) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "query '%s' must be an integer between %" G_GINT64_FORMAT " and %"
                     G_GINT64_FORMAT, key, min, max);
        return G_MININT64;
    }
    return n;
}

/* ---- status ---- */

static int
nc_route_health(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, json_pack("{s:s}", "status", "ok"));
}

static int
nc_route_status(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    json_t *s = nc_central_status(api->central, err);
    if (s)
        json_object_set_new(s, "caller", json_pack("{s:s, s:s, s:b}",
                                                   "project", req->caller->project,
                                                   "project_name", req->caller->project_name,
                                                   "admin", req->caller->admin));
    return nc_reply(resp, s);
}

static int
nc_route_metrics(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    resp->text = nc_central_metrics(api->central, err);
    resp->content_type = "text/plain; version=0.0.4";
    return resp->text ? 0 : -1;
}

/* ---- hosts ---- */

static int
nc_route_host_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_host_service_list(api->central, req->caller, err));
}

static int
nc_route_host_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_host_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_host_update(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_host_service_update(api->central, req->caller, req->params[0],
                                                 body, err));
}

static int
nc_route_host_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    const char *force = nc_request_query(req, "force");
    if (force && strcmp(force, "true") != 0 && strcmp(force, "false") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "query 'force' must be true or false");
        return -1;
    }
    return nc_reply(resp, nc_host_service_delete(api->central, req->caller, req->params[0],
                                                 g_strcmp0(force, "true") == 0, err));
}

static int
nc_route_host_evacuate(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    resp->status = 202;   /* its operations are under way; no one Location */
    return nc_reply(resp, nc_host_service_evacuate(api->central, req->caller, req->params[0],
                                                   err));
}

/* ---- images ---- */

static int
nc_route_image_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_image_service_list(api->central, req->caller, err));
}

static int
nc_route_image_create(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    resp->status = 201;
    if (!req->upload_path)
        return nc_reply_with_json_body(req, resp, err, nc_image_service_import, api->central);
    const char *name = nc_request_query(req, "name");
    const char *format = nc_request_query(req, "format");
    const char *pub = nc_request_query(req, "public");
    g_autofree char *path = g_steal_pointer(&req->upload_path);
    if (!name) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "an upload needs ?name=NAME");
        unlink(path);
        return -1;
    }
    return nc_reply(resp, nc_image_service_adopt_upload(api->central, req->caller, name,
                                                        format, g_strcmp0(pub, "true") == 0,
                                                        path, err));
}

static int
nc_route_image_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_image_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_image_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_image_service_delete(api->central, req->caller, req->params[0],
                                                  err));
}

/* ---- VMs ---- */

static int
nc_route_vm_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_vm_service_list(api->central, req->caller, err));
}

static int
nc_route_vm_create(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply_with_json_body(req, resp, err, nc_vm_service_create, api->central);
}

static int
nc_route_vm_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_vm_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_vm_update(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_vm_service_update(api->central, req->caller, req->params[0],
                                               body, err));
}

static int
nc_route_vm_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_vm_service_delete(api->central, req->caller, req->params[0], err));
}

static int
nc_route_vm_action(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_vm_service_action(api->central, req->caller, req->params[0],
                                               body, err));
}

static int
nc_route_vm_console(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    int64_t tail = nc_query_int(req, "tail", 64 * 1024, 1, 4 * 1024 * 1024, err);
    if (tail == G_MININT64)
        return -1;
    return nc_reply(resp, nc_vm_service_console(api->central, req->caller, req->params[0],
                                                tail, err));
}

/* ---- operations, events, projects ---- */

static int
nc_route_op_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    int64_t limit = nc_query_int(req, "limit", 100, 1, NC_LIMIT_LIST_PAGE, err);
    if (limit == G_MININT64)
        return -1;
    return nc_reply(resp, nc_op_service_list(api->central, req->caller,
                                             nc_request_query(req, "target"), (int)limit, err));
}

static int
nc_route_op_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_op_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_reservation_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_reservation_service_list(api->central, req->caller, err));
}

static int
nc_route_reservation_create(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    resp->status = 201;
    return nc_reply_with_json_body(req, resp, err, nc_reservation_service_create, api->central);
}

static int
nc_route_reservation_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_reservation_service_get(api->central, req->caller, req->params[0],
                                                     err));
}

static int
nc_route_reservation_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_reservation_service_delete(api->central, req->caller,
                                                        req->params[0], err));
}

/* ---- volumes and snapshots ---- */

static int
nc_route_volume_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_volume_service_list(api->central, req->caller, NULL, err));
}

static int
nc_route_volume_create(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply_with_json_body(req, resp, err, nc_volume_service_create, api->central);
}

static int
nc_route_volume_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_volume_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_volume_update(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_volume_service_update(api->central, req->caller, req->params[0],
                                                   body, err));
}

static int
nc_route_volume_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_volume_service_delete(api->central, req->caller, req->params[0],
                                                   err));
}

static int
nc_route_vm_volumes(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_volume_service_list(api->central, req->caller, req->params[0], err));
}

static int
nc_route_vm_attach(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_volume_service_attach(api->central, req->caller, req->params[0],
                                                   body, err));
}

static int
nc_route_vm_detach(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_volume_service_detach(api->central, req->caller, req->params[0],
                                                   req->params[1], err));
}

static int
nc_route_vm_ports(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_port_service_list(api->central, req->caller, req->params[0], err));
}

static int
nc_route_vm_expose(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_port_service_create(api->central, req->caller, req->params[0],
                                                 body, err));
}

static int
nc_route_vm_unexpose(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_port_service_delete(api->central, req->caller, req->params[0],
                                                 req->params[1], err));
}

static int
nc_route_vm_snapshots(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_snapshot_service_list(api->central, req->caller, req->params[0],
                                                   err));
}

static int
nc_route_vm_snapshot(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_snapshot_service_create(api->central, req->caller, req->params[0],
                                                     body, err));
}

static int
nc_route_snapshot_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_snapshot_service_list(api->central, req->caller, NULL, err));
}

static int
nc_route_snapshot_get(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_snapshot_service_get(api->central, req->caller, req->params[0], err));
}

static int
nc_route_snapshot_delete(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_snapshot_service_delete(api->central, req->caller, req->params[0],
                                                     err));
}

static int
nc_route_snapshot_action(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_snapshot_service_action(api->central, req->caller, req->params[0],
                                                     body, err));
}

static int
nc_route_project_update(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    g_autoptr(json_t) body = nc_request_json(req, err);
    if (!body)
        return -1;
    return nc_reply(resp, nc_project_service_update(api->central, req->caller, req->params[0],
                                                    body, err));
}

static int
nc_route_project_list(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    return nc_reply(resp, nc_central_project_list(api->central, req->caller, err));
}

static int
nc_route_project_create(NcApi *api, NcRequest *req, NcResponse *resp, GError **err)
{
    resp->status = 201;
    return nc_reply_with_json_body(req, resp, err, nc_central_project_create, api->central);
}

const NcRoute nc_api_routes[] = {
    { "GET", "/v1/health", nc_route_health, NC_ROUTE_PUBLIC },
    { "GET", "/v1/status", nc_route_status, 0 },
    { "GET", "/metrics", nc_route_metrics, 0 },
    { "GET", "/v1/hosts", nc_route_host_list, NC_ROUTE_CACHEABLE },
    { "GET", "/v1/hosts/{}", nc_route_host_get, 0 },
    { "PATCH", "/v1/hosts/{}", nc_route_host_update, NC_ROUTE_JSON },
    { "DELETE", "/v1/hosts/{}", nc_route_host_delete, 0 },
    { "POST", "/v1/hosts/{}/evacuate", nc_route_host_evacuate, 0 },
    { "GET", "/v1/images", nc_route_image_list, NC_ROUTE_CACHEABLE },
    { "POST", "/v1/images", nc_route_image_create, NC_ROUTE_JSON | NC_ROUTE_UPLOAD },
    { "GET", "/v1/images/{}", nc_route_image_get, 0 },
    { "DELETE", "/v1/images/{}", nc_route_image_delete, 0 },
    { "GET", "/v1/vms", nc_route_vm_list, NC_ROUTE_CACHEABLE },
    { "POST", "/v1/vms", nc_route_vm_create, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "GET", "/v1/vms/{}", nc_route_vm_get, 0 },
    { "PATCH", "/v1/vms/{}", nc_route_vm_update, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "DELETE", "/v1/vms/{}", nc_route_vm_delete, NC_ROUTE_ASYNC },
    { "POST", "/v1/vms/{}/actions", nc_route_vm_action, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "GET", "/v1/vms/{}/console", nc_route_vm_console, 0 },
    { "GET", "/v1/vms/{}/volumes", nc_route_vm_volumes, 0 },
    { "POST", "/v1/vms/{}/volumes", nc_route_vm_attach, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "DELETE", "/v1/vms/{}/volumes/{}", nc_route_vm_detach, NC_ROUTE_ASYNC },
    { "GET", "/v1/vms/{}/ports", nc_route_vm_ports, 0 },
    { "POST", "/v1/vms/{}/ports", nc_route_vm_expose, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "DELETE", "/v1/vms/{}/ports/{}", nc_route_vm_unexpose, NC_ROUTE_ASYNC },
    { "GET", "/v1/vms/{}/snapshots", nc_route_vm_snapshots, 0 },
    { "POST", "/v1/vms/{}/snapshots", nc_route_vm_snapshot, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "GET", "/v1/volumes", nc_route_volume_list, NC_ROUTE_CACHEABLE },
    { "POST", "/v1/volumes", nc_route_volume_create, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "GET", "/v1/volumes/{}", nc_route_volume_get, 0 },
    { "PATCH", "/v1/volumes/{}", nc_route_volume_update, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "DELETE", "/v1/volumes/{}", nc_route_volume_delete, NC_ROUTE_ASYNC },
    { "GET", "/v1/snapshots", nc_route_snapshot_list, 0 },
    { "GET", "/v1/snapshots/{}", nc_route_snapshot_get, 0 },
    { "DELETE", "/v1/snapshots/{}", nc_route_snapshot_delete, NC_ROUTE_ASYNC },
    { "POST", "/v1/snapshots/{}/actions", nc_route_snapshot_action, NC_ROUTE_JSON | NC_ROUTE_ASYNC },
    { "GET", "/v1/reservations", nc_route_reservation_list, 0 },
    { "POST", "/v1/reservations", nc_route_reservation_create, NC_ROUTE_JSON },
    { "GET", "/v1/reservations/{}", nc_route_reservation_get, 0 },
    { "DELETE", "/v1/reservations/{}", nc_route_reservation_delete, 0 },
    { "GET", "/v1/operations", nc_route_op_list, 0 },
    { "GET", "/v1/operations/{}", nc_route_op_get, 0 },
    { "GET", "/v1/events", nc_api_events, 0 },
    { "GET", "/v1/projects", nc_route_project_list, 0 },
    { "POST", "/v1/projects", nc_route_project_create, NC_ROUTE_JSON },
    { "PATCH", "/v1/projects/{}", nc_route_project_update, NC_ROUTE_JSON },
};

const size_t nc_api_route_count = G_N_ELEMENTS(nc_api_routes);
