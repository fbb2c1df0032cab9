/* host_conf.c: host records. */
#include "host_conf.h"
#include "util/nc_json.h"
#include "util/nc_time.h"

NcHost *
nc_host_new(void)
{
    NcHost *h = g_new0(NcHost, 1);
    h->cpu_ratio = 4000;
    h->ram_ratio = 1000;
    h->disk_ratio = 1000;
    h->info = json_object();
    return h;
}

void
nc_host_free(NcHost *h)
{
    if (!h)
        return;
    g_free(h->id);
    g_free(h->name);
    g_free(h->state);
    g_free(h->disabled_reason);
    g_free(h->accel);
    json_decref(h->info);
    g_free(h);
}

bool
nc_host_schedulable(const NcHost *h)
{
    return !h->disabled && g_strcmp0(h->state, "up") == 0;
}

int64_t
nc_host_limit_vcpus(const NcHost *h)
{
    return h->vcpus * h->cpu_ratio / 1000;
}

int64_t
nc_host_limit_memory_mib(const NcHost *h)
{
    return MAX(0, (h->memory_mib - h->reserved_memory_mib) * h->ram_ratio / 1000);
}

int64_t
nc_host_limit_disk_gib(const NcHost *h)
{
    return h->disk_gib * h->disk_ratio / 1000;
}

json_t *
nc_host_to_api_json(const NcHost *h)
{
    g_autofree char *seen = nc_time_format(h->last_seen);
    g_autofree char *created = nc_time_format(h->created_at);

    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:b,"
                     " s:{s:I, s:I, s:I},"
                     " s:{s:f, s:f, s:f, s:I},"
                     " s:{s:I, s:I, s:I},"
                     " s:{s:I, s:I, s:I},"
                     " s:O, s:s, s:s}",
                     "id", h->id, "name", h->name, "state", h->state,
                     "enabled", !h->disabled,
                     "disabled_reason", nc_json_string_or_null(h->disabled_reason),
                     "accel", h->accel, "nested", h->nested,
                     "capacity", "vcpus", (json_int_t)h->vcpus,
                     "memory_mib", (json_int_t)h->memory_mib,
                     "disk_gib", (json_int_t)h->disk_gib,
                     "overcommit", "cpu", h->cpu_ratio / 1000.0,
                     "ram", h->ram_ratio / 1000.0, "disk", h->disk_ratio / 1000.0,
                     "reserved_memory_mib", (json_int_t)h->reserved_memory_mib,
                     "limit", "vcpus", (json_int_t)nc_host_limit_vcpus(h),
                     "memory_mib", (json_int_t)nc_host_limit_memory_mib(h),
                     "disk_gib", (json_int_t)nc_host_limit_disk_gib(h),
                     "allocated", "vcpus", (json_int_t)h->alloc_vcpus,
                     "memory_mib", (json_int_t)h->alloc_memory_mib,
                     "disk_gib", (json_int_t)h->alloc_disk_gib,
                     "info", h->info, "last_seen", seen, "created_at", created);
}
