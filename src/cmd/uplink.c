/* uplink.c: asking the parent cloud for port forwards (POST/DELETE
 * /v1/vms/{this VM}/ports there), waiting for its operation to settle. */
#include "uplink.h"
#include "cli/client.h"
#include "conf/nested_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#include <string.h>

#define NC_UPLINK_WAIT_MS 60000

static json_t *
nc_uplink_wait(NcClient *cl, const char *op_id, GError **err)
{
    g_autofree char *esc = nc_client_escape(op_id);
    g_autofree char *path = g_strconcat("/v1/operations/", esc, NULL);
    int64_t until = nc_mono_us() + (int64_t)NC_UPLINK_WAIT_MS * 1000;
    for (;;) {
        json_t *op = nc_client_call(cl, "GET", path, NULL, NULL, err);
        if (!op)
            return NULL;
        const char *st = nc_json_str(op, "status");
        if (g_strcmp0(st, "succeeded") == 0 || g_strcmp0(st, "failed") == 0)
            return op;
        json_decref(op);
        if (nc_mono_us() > until) {
            nc_error_set(err, NC_ERR_UNAVAILABLE, "the parent cloud did not settle operation"
                         " %s in %d s", op_id, NC_UPLINK_WAIT_MS / 1000);
            return NULL;
        }
        g_usleep(200 * 1000);
    }
}

static int
nc_uplink_unexpose(void *opaque, int public_port, GError **err)
{
    const NcNestedConf *nc = opaque;
    g_autoptr(NcClient) cl = nc_client_new(nc->parent_url, nc->parent_token, NULL);
    g_autofree char *vm = nc_client_escape(nc->parent_vm);
    g_autofree char *path = g_strdup_printf("/v1/vms/%s/ports/%d", vm, public_port);
    long status = 0;
    GError *local = NULL;
    g_autoptr(json_t) out = nc_client_call(cl, "DELETE", path, NULL, &status, &local);
    if (!out && status != 404) {
        g_propagate_error(err, local);
        return -1;
    }
    g_clear_error(&local);
    return 0;
}

static json_t *
nc_uplink_expose(void *opaque, int guest_port, int public_port, GError **err)
{
    const NcNestedConf *nc = opaque;
    g_autoptr(NcClient) cl = nc_client_new(nc->parent_url, nc->parent_token, NULL);
    g_autofree char *vm = nc_client_escape(nc->parent_vm);
    g_autofree char *path = g_strdup_printf("/v1/vms/%s/ports", vm);
    g_autoptr(json_t) body = json_pack("{s:i, s:i}", "guest_port", guest_port,
                                       "host_port", public_port);
    GError *local = NULL;
    g_autoptr(json_t) op = nc_client_call(cl, "POST", path, body, NULL, &local);
    if (!op) {
        nc_error_set(err, local ? nc_error_code(local) : NC_ERR_UNAVAILABLE,
                     "the parent cloud refused the forward: %s",
                     local ? local->message : "no answer");
        g_clear_error(&local);
        return NULL;
    }
    g_autoptr(json_t) done = nc_uplink_wait(cl, nc_json_str(op, "id"), err);
    if (!done)
        return NULL;
    if (g_strcmp0(nc_json_str(done, "status"), "succeeded") != 0) {
        json_t *e = json_object_get(done, "error");
        const char *msg = json_is_string(e) ? json_string_value(e) : nc_json_str(e, "message");
        nc_error_set(err, NC_ERR_CONFLICT, "the parent cloud cannot forward port %d: %s",
                     public_port, msg ? msg : "failed");
        nc_uplink_unexpose(opaque, public_port, NULL);
        return NULL;
    }
    g_autoptr(json_t) list = nc_client_call(cl, "GET", path, NULL, NULL, err);
    if (!list)
        return NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(list, "ports"), i, p) {
        if (nc_json_int(p, "host_port", 0) == public_port)
            return json_incref(p);
    }
    nc_error_set(err, NC_ERR_UNAVAILABLE, "the parent cloud lost the forward of port %d",
                 public_port);
    return NULL;
}

const NcUplink nc_uplink_http = {
    .expose = nc_uplink_expose,
    .unexpose = nc_uplink_unexpose,
};
