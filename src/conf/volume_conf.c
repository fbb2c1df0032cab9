/* volume_conf.c: volume requests and records, snapshot records. */
#include "volume_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

NcVolume *
nc_volume_new(void)
{
    return g_new0(NcVolume, 1);
}

void
nc_volume_free(NcVolume *v)
{
    if (!v)
        return;
    g_free(v->id);
    g_free(v->project);
    g_free(v->name);
    g_free(v->filesystem);
    g_free(v->state);
    g_free(v->vm);
    g_free(v->vm_name);
    g_free(v->host_name);
    g_free(v->device);
    g_free(v->host);
    g_free(v->op);
    g_free(v->error);
    g_free(v);
}

int
nc_volume_from_request(json_t *req, NcVolume **ret, GError **err)
{
    /* "vm": made on that VM's host (the service reads it) */
    static const char *const keys[] = { "name", "size_gib", "filesystem", "vm", NULL };
    const char *name = NULL, *fs = "ext4";
    int64_t size = 0;
    if (nc_json_check_keys(req, "a volume", keys, err) < 0 ||
        nc_json_get_string(req, "name", true, 256, &name, err) < 0 ||
        nc_name_check("volume", name, err) < 0 ||
        nc_json_get_int(req, "size_gib", true, 1, NC_LIMIT_VOLUME_GIB, &size, err) < 0 ||
        nc_json_get_string(req, "filesystem", false, 16, &fs, err) < 0)
        return -1;
    if (strcmp(fs, "ext4") != 0 && strcmp(fs, "xfs") != 0 && strcmp(fs, "none") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "filesystem must be ext4, xfs or none");
        return -1;
    }
    NcVolume *v = nc_volume_new();
    v->name = g_strdup(name);
    v->size_gib = size;
    v->filesystem = g_strdup(fs);
    v->state = g_strdup("creating");
    *ret = v;
    return 0;
}

char *
nc_volume_file(const char *id)
{
    return g_strconcat(id, ".raw", NULL);
}

json_t *
nc_volume_to_api_json(const NcVolume *v)
{
    g_autofree char *created = nc_time_format(v->created_at);
    g_autofree char *updated = nc_time_format(v->updated_at);
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, "
                     "s:s}",
                     "id", v->id, "name", v->name, "project", v->project,
                     "size_gib", (json_int_t)v->size_gib, "filesystem", v->filesystem,
                     "state", v->state,
                     "host", nc_json_string_or_null(v->host_name ? v->host_name : v->host),
                     "host_id", nc_json_string_or_null(v->host),
                     "attached_to", nc_json_string_or_null(v->vm),
                     "attached_to_name", nc_json_string_or_null(v->vm_name),
                     "device", nc_json_string_or_null(v->device),
                     "operation", nc_json_string_or_null(v->op),
                     "error", nc_json_string_or_null(v->error),
                     "created_at", created, "updated_at", updated);
}

json_t *
nc_volume_to_command_json(const NcVolume *v)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:o}", "id", v->id, "name", v->name,
                     "size_gib", (json_int_t)v->size_gib, "filesystem", v->filesystem,
                     "device", nc_json_string_or_null(v->device));
}

NcVolume *
nc_volume_from_command_json(json_t *j)
{
    if (!nc_json_str(j, "id") || !nc_uuid_is_valid(nc_json_str(j, "id")))
        return NULL;
    NcVolume *v = nc_volume_new();
    v->id = g_strdup(nc_json_str(j, "id"));
    v->name = g_strdup(nc_json_str(j, "name"));
    v->size_gib = nc_json_int(j, "size_gib", 1);
    v->filesystem = g_strdup(nc_json_str(j, "filesystem") ? nc_json_str(j, "filesystem") : "none");
    v->device = g_strdup(nc_json_str(j, "device"));
    return v;
}

NcSnapshot *
nc_snapshot_new(void)
{
    return g_new0(NcSnapshot, 1);
}

void
nc_snapshot_free(NcSnapshot *s)
{
    if (!s)
        return;
    g_free(s->id);
    g_free(s->project);
    g_free(s->name);
    g_free(s->vm);
    g_free(s->vm_name);
    g_free(s->image);
    g_free(s->file);
    g_free(s->state);
    g_free(s->op);
    g_free(s->error);
    g_free(s);
}

json_t *
nc_snapshot_to_api_json(const NcSnapshot *s)
{
    g_autofree char *created = nc_time_format(s->created_at);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:I, s:o, s:o, s:s}",
                     "id", s->id, "name", s->name, "project", s->project,
                     "vm", nc_json_string_or_null(s->vm), "vm_name", nc_json_string_or_null(s->vm_name),
                     "image", s->image, "state", s->state,
                     "size_bytes", (json_int_t)s->size_bytes, "disk_gib", (json_int_t)s->disk_gib,
                     "operation", nc_json_string_or_null(s->op),
                     "error", nc_json_string_or_null(s->error), "created_at", created);
}
