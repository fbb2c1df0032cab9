/* hv.c: opening a hypervisor through its driver. */
#include "hv_priv.h"

NcHv *
nc_hv_open(const NcHvDriver *drv, const NcHvConfig *cfg, GError **err)
{
    nc__hv_libvirt_init();
    NcHv *hv = g_new0(NcHv, 1);
    hv->drv = drv;
    hv->uri = g_strdup(cfg->uri);
    hv->cloud_id = g_strdup(cfg->cloud_id);
    hv->host_name = g_strdup(cfg->host_name);
    hv->state_dir = g_strdup(cfg->state_dir);
    hv->instances_dir = g_strdup(cfg->instances_dir);
    hv->image_dir = g_strdup(cfg->image_dir);
    hv->accel_setting = g_strdup(cfg->accel ? cfg->accel : "auto");
    hv->probe_kernel = g_strdup(cfg->probe_kernel);
    hv->probe_initrd = g_strdup(cfg->probe_initrd);
    hv->network_setting = g_strdup(cfg->network ? cfg->network : "auto");
    hv->volume_dir = g_strdup(cfg->volume_dir);
    hv->capacity_vcpus = cfg->capacity_vcpus;
    hv->capacity_memory_mib = cfg->capacity_memory_mib;
    hv->capacity_disk_gib = cfg->capacity_disk_gib;
    hv->lifecycle_cb = -1;
    hv->ours = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_mutex_init(&hv->lock);
    if (drv->open(hv, err) < 0) {
        nc_hv_close(hv);
        return NULL;
    }
    return hv;
}

void
nc_hv_close(NcHv *hv)
{
    if (!hv)
        return;
    hv->drv->close(hv);
    g_mutex_lock(&hv->lock);
    if (hv->conn) {
        if (hv->lifecycle_cb >= 0)
            virConnectDomainEventDeregisterAny(hv->conn, hv->lifecycle_cb);
        virConnectClose(hv->conn);
        hv->conn = NULL;
    }
    g_mutex_unlock(&hv->lock);
    g_mutex_clear(&hv->lock);
    g_hash_table_destroy(hv->ours);
    g_free(hv->uri);
    g_free(hv->cloud_id);
    g_free(hv->host_name);
    g_free(hv->state_dir);
    g_free(hv->instances_dir);
    g_free(hv->image_dir);
    g_free(hv->accel_setting);
    g_free(hv->probe_kernel);
    g_free(hv->probe_initrd);
    g_free(hv->network_setting);
    g_free(hv->volume_dir);
    g_free(hv->volume_pool);
    g_free(hv->accel);
    g_free(hv->network);
    g_free(hv->network_note);
    g_free(hv->subnet);
    g_free(hv);
}

void
nc_hv_watch(NcHv *hv, NcHvStateFn on_state, void *opaque)
{
    g_mutex_lock(&hv->lock);
    hv->on_state = on_state;
    hv->opaque = opaque;
    g_mutex_unlock(&hv->lock);
}

const NcHvDriver *
nc_hv_driver(NcHv *hv)
{
    return hv->drv;
}

const char *
nc_hv_accel(NcHv *hv)
{
    return hv->accel ? hv->accel : "tcg";
}

const char *
nc_hv_network(NcHv *hv)
{
    return hv->network;
}

json_t *
nc_hv_image_files(NcHv *hv)
{
    json_t *out = json_array();
    g_autoptr(GDir) d = g_dir_open(hv->image_dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (name[0] == '.')
            continue;   /* uploads in progress */
        g_autofree char *p = g_build_filename(hv->image_dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            json_array_append_new(out, json_string(name));
    }
    return out;
}

char *
nc_hv_vm_dir(NcHv *hv, const char *id)
{
    return g_build_filename(hv->instances_dir, id, NULL);
}

char *
nc_hv_console_path(const char *instances_dir, const char *id)
{
    return g_build_filename(instances_dir, id, "console.log", NULL);
}
