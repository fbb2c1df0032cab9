/* reservation_conf.c: reservation requests and records. */
#include "reservation_conf.h"
#include "limits.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

#include <string.h>

#define NC_RESERVATION_SLACK_MS (60 * 1000)
#define NC_RESERVATION_MAX_MS (366LL * 24 * 3600 * 1000)

NcReservation *
nc_reservation_new(void)
{
    return g_new0(NcReservation, 1);
}

void
nc_reservation_free(NcReservation *r)
{
    if (!r)
        return;
    g_free(r->id);
    g_free(r->project);
    g_free(r->name);
    g_free(r->state);
    g_free(r->host);
    g_free(r->host_name);
    nc_vm_spec_free(r->spec);
    g_free(r->vm);
    g_free(r->error);
    g_free(r);
}

int
nc_reservation_from_request(json_t *req, int64_t now_ms, NcReservation **ret, GError **err)
{
    const char *start = NULL, *end = NULL;
    bool keep = false;
    int64_t s = 0, e = 0;

    if (nc_json_get_string(req, "start_at", true, 64, &start, err) < 0 ||
        nc_json_get_string(req, "end_at", true, 64, &end, err) < 0 ||
        nc_json_get_bool(req, "keep", false, &keep, err) < 0 ||
        nc_time_parse(start, &s, err) < 0 || nc_time_parse(end, &e, err) < 0)
        return -1;
    if (s < now_ms - NC_RESERVATION_SLACK_MS) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "start_at %s is in the past", start);
        return -1;
    }
    if (e <= s) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "end_at must come after start_at");
        return -1;
    }
    if (e - now_ms > NC_RESERVATION_MAX_MS) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "reservations reach at most a year ahead");
        return -1;
    }
    g_autoptr(json_t) shape = json_copy(req);
    json_object_del(shape, "start_at");
    json_object_del(shape, "end_at");
    json_object_del(shape, "keep");
    g_autoptr(NcReservation) r = nc_reservation_new();
    if (nc_vm_spec_from_request(shape, &r->spec, err) < 0)
        return -1;
    r->name = g_strdup(r->spec->name);
    r->start_at = s;
    r->end_at = e;
    r->keep = keep;
    r->state = g_strdup("scheduled");
    *ret = g_steal_pointer(&r);
    return 0;
}

int64_t
nc_reservation_capacity_end(const NcReservation *r)
{
    return r->keep ? INT64_MAX : r->end_at;
}

json_t *
nc_reservation_to_api_json(const NcReservation *r)
{
    g_autofree char *start = nc_time_format(r->start_at);
    g_autofree char *end = nc_time_format(r->end_at);
    g_autofree char *created = nc_time_format(r->created_at);
    const NcVmSpec *s = r->spec;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:b, s:o, s:o, s:{s:i, s:I, s:I, s:s}, s:s}",
                     "id", r->id, "name", r->name, "project", r->project, "state", r->state,
                     "host", nc_json_string_or_null(r->host_name ? r->host_name : r->host),
                     "host_id", nc_json_string_or_null(r->host),
                     "start_at", start, "end_at", end, "keep", r->keep,
                     "vm", nc_json_string_or_null(r->vm), "error", nc_json_string_or_null(r->error),
                     "spec", "vcpus", s->vcpus, "memory_mib", (json_int_t)s->memory_mib,
                     "disk_gib", (json_int_t)s->disk_gib, "image", s->image,
                     "created_at", created);
}
