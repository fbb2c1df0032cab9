/* port_conf.c: port forward requests and their JSON. */
#include "port_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

NcPort *
nc_port_new(void)
{
    return g_new0(NcPort, 1);
}

void
nc_port_free(NcPort *p)
{
    if (!p)
        return;
    g_free(p->id);
    g_free(p->project);
    g_free(p->vm);
    g_free(p->vm_name);
    g_free(p->host);
    g_free(p->host_name);
    g_free(p->state);
    g_free(p->error);
    json_decref(p->parent);
    g_free(p);
}

int
nc_port_from_request(json_t *req, int *ret_guest, int *ret_host, GError **err)
{
    static const char *const keys[] = { "guest_port", "host_port", NULL };
    int64_t guest = 0, host = -1;
    if (!json_is_object(req)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "a port forward must be a JSON object");
        return -1;
    }
    if (nc_json_check_keys(req, "a port forward", keys, err) < 0 ||
        nc_json_get_int(req, "guest_port", true, 1, NC_PORT_MAX, &guest, err) < 0 ||
        nc_json_get_int(req, "host_port", false, NC_PORT_MIN_HOST, NC_PORT_MAX, &host, err) < 0)
        return -1;
    if (host < 0) {
        if (guest < NC_PORT_MIN_HOST) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "host_port is required when guest_port is below %d", NC_PORT_MIN_HOST);
            return -1;
        }
        host = guest;
    }
    *ret_guest = (int)guest;
    *ret_host = (int)host;
    return 0;
}

int
nc_port_public(const NcPort *p)
{
    json_t *parent = p->parent;
    int port = p->host_port;
    /* the parent's answer already carries its own public port */
    if (json_is_object(parent))
        port = (int)nc_json_int(parent, "public_port", port);
    return port;
}

json_t *
nc_port_to_api_json(const NcPort *p)
{
    g_autofree char *created = nc_time_format(p->created_at);
    return json_pack("{s:s, s:s, s:o, s:s, s:o, s:i, s:i, s:i, s:s, s:o, s:O, s:s}",
                     "id", p->id, "vm", p->vm, "vm_name", nc_json_string_or_null(p->vm_name),
                     "host", p->host, "host_name", nc_json_string_or_null(p->host_name),
                     "guest_port", p->guest_port, "host_port", p->host_port,
                     "public_port", nc_port_public(p), "state", p->state,
                     "error", nc_json_string_or_null(p->error),
                     "parent", p->parent ? p->parent : json_null(), "created_at", created);
}
