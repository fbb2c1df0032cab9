/* vm_conf.c: VM request parsing, validation and (de)serialisation. */
#include "vm_conf.h"
#include "limits.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_secret.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

static const char *const nc_vm_state_names[NC_VM_STATE_MAX] = {
    [NC_VM_PENDING] = "pending",
    [NC_VM_SCHEDULED] = "scheduled",
    [NC_VM_BUILDING] = "building",
    [NC_VM_RUNNING] = "running",
    [NC_VM_STOPPED] = "stopped",
    [NC_VM_ERROR] = "error",
    [NC_VM_DELETING] = "deleting",
    [NC_VM_UNKNOWN] = "unknown",
};

const char *
nc_vm_state_name(NcVmState s)
{
    g_assert((unsigned)s < NC_VM_STATE_MAX);
    return nc_vm_state_names[s];
}

NcVmState
nc_vm_state_from_name(const char *name)
{
    for (int i = 0; name && i < NC_VM_STATE_MAX; i++) {
        if (strcmp(nc_vm_state_names[i], name) == 0)
            return (NcVmState)i;
    }
    return NC_VM_STATE_MAX;
}

NcNic *
nc_nic_new(const char *network, const char *mac)
{
    NcNic *nic = g_new0(NcNic, 1);
    nic->network = g_strdup(network);
    nic->mac = g_strdup(mac);
    return nic;
}

void
nc_nic_free(NcNic *nic)
{
    if (!nic)
        return;
    g_free(nic->network);
    g_free(nic->mac);
    g_free(nic);
}

NcVmSpec *
nc_vm_spec_new(void)
{
    NcVmSpec *spec = g_new0(NcVmSpec, 1);
    spec->ssh_keys = g_ptr_array_new_with_free_func(g_free);
    spec->nics = g_ptr_array_new_with_free_func((GDestroyNotify)nc_nic_free);
    spec->cpu_priority = NC_DEFAULT_CPU_PRIORITY;
    return spec;
}

void
nc_vm_spec_free(NcVmSpec *spec)
{
    if (!spec)
        return;
    g_free(spec->id);
    g_free(spec->name);
    g_free(spec->project);
    g_free(spec->image);
    g_free(spec->hostname);
    g_free(spec->user_data);
    g_free(spec->group);
    g_free(spec->snapshot);
    g_free(spec->base_file);
    g_ptr_array_unref(spec->ssh_keys);
    g_ptr_array_unref(spec->nics);
    g_free(spec);
}

char *
nc_mac_new(void)
{
    unsigned char b[3];

    nc_secret_random(b, sizeof(b));
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
}

static bool
nc_mac_is_valid(const char *mac)
{
    if (strlen(mac) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (mac[i] != ':')
                return false;
        } else if (!g_ascii_isxdigit(mac[i]) || g_ascii_isupper(mac[i])) {
            return false;
        }
    }
    /* unicast: the lowest bit of the first octet is clear */
    return (g_ascii_xdigit_value(mac[1]) & 1) == 0;
}

static int
nc_vm_nics_from_request(json_t *arr, NcVmSpec *spec, GError **err)
{
    static const char *const keys[] = { "network", "mac", NULL };
    size_t i;
    json_t *item;

    if (!json_is_array(arr)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'nics' must be a list");
        return -1;
    }
    if (json_array_size(arr) > NC_LIMIT_NICS) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "at most %d NICs are allowed", NC_LIMIT_NICS);
        return -1;
    }
    json_array_foreach(arr, i, item) {
        const char *network = "default", *mac = NULL;
        if (!json_is_object(item)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "each NIC must be an object such as {\"network\": \"default\"}");
            return -1;
        }
        if (nc_json_check_keys(item, "a NIC", keys, err) < 0 ||
            nc_json_get_string(item, "network", false, 64, &network, err) < 0 ||
            nc_json_get_string(item, "mac", false, 17, &mac, err) < 0)
            return -1;
        if (strcmp(network, "default") != 0 && strcmp(network, "user") != 0) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "NIC network must be 'default' (the cloud's NAT network) "
                         "or 'user' (user-mode networking)");
            return -1;
        }
        if (mac && !nc_mac_is_valid(mac)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "NIC mac must be a lowercase unicast address such as 52:54:00:12:34:56");
            return -1;
        }
        g_autofree char *fresh = mac ? NULL : nc_mac_new();
        g_ptr_array_add(spec->nics, nc_nic_new(network, mac ? mac : fresh));
    }
    return 0;
}

static int
nc_vm_keys_from_request(json_t *arr, NcVmSpec *spec, GError **err)
{
    size_t i;
    json_t *item;

    if (!json_is_array(arr)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'ssh_keys' must be a list of strings");
        return -1;
    }
    if (json_array_size(arr) > NC_LIMIT_SSH_KEYS) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "at most %d SSH keys are allowed",
                     NC_LIMIT_SSH_KEYS);
        return -1;
    }
    json_array_foreach(arr, i, item) {
        if (!json_is_string(item) ||
            strlen(json_string_value(item)) != json_string_length(item)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "each SSH key must be a string");
            return -1;
        }
        if (nc_ssh_key_check(json_string_value(item), err) < 0)
            return -1;
        g_ptr_array_add(spec->ssh_keys, g_strdup(json_string_value(item)));
    }
    return 0;
}

int
nc_vm_spec_from_request(json_t *req, NcVmSpec **ret_spec, GError **err)
{
    static const char *const keys[] = {
        "name", "image", "vcpus", "max_vcpus", "memory_mib", "max_memory_mib",
        "cpu_priority", "disk_gib", "hostname", "ssh_keys", "user_data", "nics",
        "anti_affinity", "expires_at", "snapshot", NULL
    };
    g_autoptr(NcVmSpec) spec = nc_vm_spec_new();
    const char *name = NULL, *image = NULL, *hostname = NULL, *user_data = NULL;
    const char *group = NULL, *expires = NULL, *snapshot = NULL;
    int64_t vcpus = NC_DEFAULT_VCPUS, max_vcpus = 0;
    int64_t memory = NC_DEFAULT_MEMORY_MIB, max_memory = 0;
    int64_t prio = NC_DEFAULT_CPU_PRIORITY, disk = 0;

    if (nc_json_check_keys(req, "a VM", keys, err) < 0 ||
        nc_json_get_string(req, "name", true, 256, &name, err) < 0 ||
        nc_name_check("VM", name, err) < 0 ||
        nc_json_get_string(req, "snapshot", false, 256, &snapshot, err) < 0 ||
        nc_json_get_string(req, "image", !snapshot, 256, &image, err) < 0 ||
        nc_json_get_int(req, "vcpus", false, 1, NC_LIMIT_VCPUS, &vcpus, err) < 0 ||
        nc_json_get_int(req, "max_vcpus", false, 1, NC_LIMIT_VCPUS, &max_vcpus, err) < 0 ||
        nc_json_get_int(req, "memory_mib", false, NC_LIMIT_MEMORY_MIB_MIN,
                        NC_LIMIT_MEMORY_MIB, &memory, err) < 0 ||
        nc_json_get_int(req, "max_memory_mib", false, NC_LIMIT_MEMORY_MIB_MIN,
                        NC_LIMIT_MEMORY_MIB, &max_memory, err) < 0 ||
        nc_json_get_int(req, "cpu_priority", false, 0, NC_LIMIT_CPU_PRIORITY, &prio, err) < 0 ||
        nc_json_get_int(req, "disk_gib", false, 1, NC_LIMIT_DISK_GIB, &disk, err) < 0 ||
        nc_json_get_string(req, "hostname", false, 256, &hostname, err) < 0 ||
        nc_json_get_string(req, "user_data", false, NC_LIMIT_USER_DATA_BYTES,
                           &user_data, err) < 0 ||
        nc_json_get_string(req, "anti_affinity", false, 256, &group, err) < 0 ||
        nc_json_get_string(req, "expires_at", false, 64, &expires, err) < 0)
        return -1;
    if (snapshot && nc_name_check("snapshot", snapshot, NULL) < 0 && !nc_uuid_is_valid(snapshot)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'snapshot' must be a snapshot name or id");
        return -1;
    }
    int64_t expires_at = 0;
    if (expires) {
        if (nc_time_parse(expires, &expires_at, err) < 0)
            return -1;
        if (expires_at <= nc_now_ms()) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "expires_at %s is not in the future",
                         expires);
            return -1;
        }
    }
    if (group && nc_name_check("anti-affinity group", group, err) < 0)
        return -1;

    if (!image)
        image = snapshot;   /* replaced by the snapshot's image when it is resolved */
    if (image[0] == '\0' || (nc_name_check("image", image, NULL) < 0 && !nc_uuid_is_valid(image))) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "field 'image' must be an image name or id");
        return -1;
    }
    if (hostname && nc_name_check("host", hostname, err) < 0)
        return -1;
    if (user_data && nc_text_check("user_data", user_data, NC_LIMIT_USER_DATA_BYTES,
                                   true, err) < 0)
        return -1;

    if (max_vcpus == 0)
        max_vcpus = MAX(vcpus, NC_DEFAULT_MAX_VCPUS);
    if (max_vcpus < vcpus) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "vcpus (%" G_GINT64_FORMAT ") is above max_vcpus (%" G_GINT64_FORMAT ")",
                     vcpus, max_vcpus);
        return -1;
    }
    if (max_memory == 0)
        max_memory = MAX(memory, MIN(memory * NC_DEFAULT_MAX_MEMORY_FACTOR,
                                     NC_DEFAULT_MAX_MEMORY_CAP_MIB));
    if (max_memory < memory) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "memory_mib (%" G_GINT64_FORMAT ") is above max_memory_mib (%"
                     G_GINT64_FORMAT ")", memory, max_memory);
        return -1;
    }

    json_t *nics = json_object_get(req, "nics");
    if (nics && !json_is_null(nics)) {
        if (nc_vm_nics_from_request(nics, spec, err) < 0)
            return -1;
    } else {
        g_autofree char *mac = nc_mac_new();
        g_ptr_array_add(spec->nics, nc_nic_new("default", mac));
    }
    json_t *keys_arr = json_object_get(req, "ssh_keys");
    if (keys_arr && !json_is_null(keys_arr) &&
        nc_vm_keys_from_request(keys_arr, spec, err) < 0)
        return -1;

    spec->name = g_strdup(name);
    spec->image = g_strdup(image);
    spec->vcpus = (int)vcpus;
    spec->max_vcpus = (int)max_vcpus;
    spec->memory_mib = memory;
    spec->max_memory_mib = max_memory;
    spec->cpu_priority = (int)prio;
    spec->disk_gib = disk;
    spec->hostname = g_strdup(hostname ? hostname : name);
    spec->user_data = g_strdup(user_data);
    spec->group = g_strdup(group);
    spec->expires_at = expires_at;
    spec->snapshot = g_strdup(snapshot);
    *ret_spec = g_steal_pointer(&spec);
    return 0;
}

int
nc_vm_resize_from_request(json_t *req, NcVmResize *ret, GError **err)
{
    static const char *const keys[] = { "vcpus", "memory_mib", "cpu_priority", NULL };
    int64_t vcpus = -1, memory = -1, prio = -1;

    if (nc_json_check_keys(req, "a VM change (only vcpus, memory_mib and "
                           "cpu_priority can change)", keys, err) < 0 ||
        nc_json_get_int(req, "vcpus", false, 1, NC_LIMIT_VCPUS, &vcpus, err) < 0 ||
        nc_json_get_int(req, "memory_mib", false, NC_LIMIT_MEMORY_MIB_MIN,
                        NC_LIMIT_MEMORY_MIB, &memory, err) < 0 ||
        nc_json_get_int(req, "cpu_priority", false, 0, NC_LIMIT_CPU_PRIORITY, &prio, err) < 0)
        return -1;
    if (vcpus < 0 && memory < 0 && prio < 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "nothing to change: give vcpus, memory_mib or cpu_priority");
        return -1;
    }
    ret->vcpus = (int)vcpus;
    ret->memory_mib = memory;
    ret->cpu_priority = (int)prio;
    return 0;
}

int
nc_vm_resize_check(const NcVmSpec *spec, const NcVmResize *rz, GError **err)
{
    if (rz->vcpus > spec->max_vcpus) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "vcpus %d is above the VM's max_vcpus %d", rz->vcpus, spec->max_vcpus);
        return -1;
    }
    if (rz->memory_mib > spec->max_memory_mib) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "memory_mib %" G_GINT64_FORMAT " is above the VM's max_memory_mib %"
                     G_GINT64_FORMAT, rz->memory_mib, spec->max_memory_mib);
        return -1;
    }
    return 0;
}

json_t *
nc_vm_spec_to_json(const NcVmSpec *spec)
{
    json_t *keys = json_array();
    json_t *nics = json_array();

    for (guint i = 0; i < spec->ssh_keys->len; i++)
        json_array_append_new(keys, json_string(g_ptr_array_index(spec->ssh_keys, i)));
    for (guint i = 0; i < spec->nics->len; i++) {
        NcNic *nic = g_ptr_array_index(spec->nics, i);
        json_array_append_new(nics, json_pack("{s:s, s:s}", "network", nic->network,
                                              "mac", nic->mac));
    }
    json_t *o = json_pack("{s:o, s:o, s:o, s:i, s:i, s:I, s:I, s:i, s:I, s:o, s:o, s:o, s:o, s:o}",
                     "id", nc_json_string_or_null(spec->id),
                     "name", nc_json_string_or_null(spec->name),
                     "project", nc_json_string_or_null(spec->project),
                     "vcpus", spec->vcpus,
                     "max_vcpus", spec->max_vcpus,
                     "memory_mib", (json_int_t)spec->memory_mib,
                     "max_memory_mib", (json_int_t)spec->max_memory_mib,
                     "cpu_priority", spec->cpu_priority,
                     "disk_gib", (json_int_t)spec->disk_gib,
                     "image", nc_json_string_or_null(spec->image),
                     "hostname", nc_json_string_or_null(spec->hostname),
                     "user_data", nc_json_string_or_null(spec->user_data),
                     "ssh_keys", keys,
                     "nics", nics);
    if (spec->group)
        json_object_set_new(o, "anti_affinity", json_string(spec->group));
    if (spec->expires_at)
        json_object_set_new(o, "expires_at", json_integer(spec->expires_at));
    if (spec->snapshot)
        json_object_set_new(o, "snapshot", json_string(spec->snapshot));
    if (spec->base_file)
        json_object_set_new(o, "base_file", json_string(spec->base_file));
    return o;
}

NcVmSpec *
nc_vm_spec_from_json(json_t *obj, GError **err)
{
    g_autoptr(NcVmSpec) spec = nc_vm_spec_new();
    size_t i;
    json_t *item;

    if (!json_is_object(obj) || !nc_json_str(obj, "id") || !nc_json_str(obj, "name")) {
        nc_error_set(err, NC_ERR_INTERNAL, "stored VM spec is damaged");
        return NULL;
    }
    spec->id = g_strdup(nc_json_str(obj, "id"));
    spec->name = g_strdup(nc_json_str(obj, "name"));
    spec->project = g_strdup(nc_json_str(obj, "project"));
    spec->vcpus = (int)nc_json_int(obj, "vcpus", 1);
    spec->max_vcpus = (int)nc_json_int(obj, "max_vcpus", spec->vcpus);
    spec->memory_mib = nc_json_int(obj, "memory_mib", NC_DEFAULT_MEMORY_MIB);
    spec->max_memory_mib = nc_json_int(obj, "max_memory_mib", spec->memory_mib);
    spec->cpu_priority = (int)nc_json_int(obj, "cpu_priority", NC_DEFAULT_CPU_PRIORITY);
    spec->disk_gib = nc_json_int(obj, "disk_gib", 0);
    spec->image = g_strdup(nc_json_str(obj, "image"));
    spec->hostname = g_strdup(nc_json_str(obj, "hostname"));
    spec->user_data = g_strdup(nc_json_str(obj, "user_data"));
    spec->group = g_strdup(nc_json_str(obj, "anti_affinity"));
    spec->expires_at = nc_json_int(obj, "expires_at", 0);
    spec->snapshot = g_strdup(nc_json_str(obj, "snapshot"));
    spec->base_file = g_strdup(nc_json_str(obj, "base_file"));
    json_array_foreach(json_object_get(obj, "ssh_keys"), i, item) {
        if (json_is_string(item))
            g_ptr_array_add(spec->ssh_keys, g_strdup(json_string_value(item)));
    }
    json_array_foreach(json_object_get(obj, "nics"), i, item) {
        const char *net = nc_json_str(item, "network");
        const char *mac = nc_json_str(item, "mac");
        if (net && mac)
            g_ptr_array_add(spec->nics, nc_nic_new(net, mac));
    }
    return g_steal_pointer(&spec);
}

unsigned
nc_vm_priority_shares(int priority)
{
    int p = CLAMP(priority, 0, NC_LIMIT_CPU_PRIORITY);
    /* 5 is the kernel's default weight; each step doubles or halves it */
    if (p >= 5)
        return 1024u << (p - 5);
    return 1024u >> (5 - p);
}

NcVm *
nc_vm_new(void)
{
    NcVm *vm = g_new0(NcVm, 1);
    vm->addresses = json_array();
    return vm;
}

void
nc_vm_free(NcVm *vm)
{
    if (!vm)
        return;
    nc_vm_spec_free(vm->spec);
    g_free(vm->desired);
    g_free(vm->host);
    g_free(vm->host_name);
    g_free(vm->placement);
    g_free(vm->error);
    g_free(vm->op);
    json_decref(vm->addresses);
    g_free(vm);
}

json_t *
nc_vm_to_api_json(const NcVm *vm, const char *image_name)
{
    const NcVmSpec *s = vm->spec;
    g_autofree char *created = nc_time_format(vm->created_at);
    g_autofree char *updated = nc_time_format(vm->updated_at);
    json_t *nics = json_array();

    for (guint i = 0; i < s->nics->len; i++) {
        NcNic *nic = g_ptr_array_index(s->nics, i);
        json_t *addr = json_array_get(vm->addresses, i);
        json_array_append_new(nics, json_pack("{s:s, s:s, s:O}",
                                              "network", nic->network, "mac", nic->mac,
                                              "address", addr ? addr : json_null()));
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:i, s:I, s:s, s:o,"
                          " s:o, s:o, s:o, s:O, s:o, s:s, s:o, s:o, s:s, s:s}",
                          "id", s->id,
                          "name", s->name,
                          "project", s->project,
                          "state", nc_vm_state_name(vm->state),
                          "vcpus", s->vcpus,
                          "max_vcpus", s->max_vcpus,
                          "memory_mib", (json_int_t)s->memory_mib,
                          "max_memory_mib", (json_int_t)s->max_memory_mib,
                          "cpu_priority", s->cpu_priority,
                          "disk_gib", (json_int_t)s->disk_gib,
                          "image", s->image,
                          "image_name", nc_json_string_or_null(image_name),
                          "host", nc_json_string_or_null(vm->host_name ? vm->host_name : vm->host),
                          "host_id", nc_json_string_or_null(vm->host),
                          "nics", nics,
                          "addresses", vm->addresses,
                          "address", nc_json_string_or_null(json_string_value(json_array_get(vm->addresses, 0))),
                          "desired", vm->desired ? vm->desired : "running",
                          "placement", nc_json_string_or_null(vm->placement),
                          "error", nc_json_string_or_null(vm->error),
                          "created_at", created,
                          "updated_at", updated);
    json_object_set_new(o, "hostname", nc_json_string_or_null(s->hostname));
    json_object_set_new(o, "operation", nc_json_string_or_null(vm->op));
    json_object_set_new(o, "ssh_keys", json_integer(s->ssh_keys->len));
    json_object_set_new(o, "anti_affinity", nc_json_string_or_null(s->group));
    g_autofree char *expires = s->expires_at ? nc_time_format(s->expires_at) : NULL;
    json_object_set_new(o, "expires_at", nc_json_string_or_null(expires));
    json_object_set_new(o, "snapshot", nc_json_string_or_null(s->snapshot));
    return o;
}
