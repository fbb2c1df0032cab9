/* nested_conf.c: the nesting configuration of a cloud. */
#include "nested_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

#include <string.h>

void
nc_nested_conf_free(NcNestedConf *nc)
{
    if (!nc)
        return;
    g_free(nc->instance_id);
    g_free(nc->parent_url);
    g_free(nc->parent_token);
    g_free(nc->parent_vm);
    g_free(nc->market_url);
    g_free(nc->backend);
    g_free(nc);
}

/* A value made only of printable ASCII without blanks, at most @max long. */
static bool
nc_nested_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static int
nc_nested_string(GKeyFile *kf, const char *key, int kind, char **ret, GError **err)
{
    g_autofree char *v = g_key_file_get_string(kf, "nested", key, NULL);
    if (!v)
        return 0;
    g_strstrip(v);
    if (!*v)
        return 0;
    bool ok;
    switch (kind) {
    case 'u':   /* URL */
        ok = nc_nested_printable(v, 512) &&
             (g_str_has_prefix(v, "http://") || g_str_has_prefix(v, "https://"));
        break;
    case 'i':   /* UUID */
        ok = nc_uuid_is_valid(v);
        break;
    default:    /* token, name */
        ok = nc_nested_printable(v, 256);
        break;
    }
    if (!ok) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "nested configuration: bad value for '%s'",
                     key);
        return -1;
    }
    if (kind == 'u')
        while (g_str_has_suffix(v, "/"))
            v[strlen(v) - 1] = '\0';
    *ret = g_steal_pointer(&v);
    return 0;
}

int
nc_nested_conf_parse(const char *text, NcNestedConf **ret, GError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) kerr = NULL;
    if (!g_key_file_load_from_data(kf, text, strlen(text), G_KEY_FILE_NONE, &kerr)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "nested configuration: %s", kerr->message);
        return -1;
    }
    g_autoptr(NcNestedConf) nc = g_new0(NcNestedConf, 1);
    g_autofree char *depth = g_key_file_get_string(kf, "nested", "depth", NULL);
    if (depth) {
        char *end = NULL;
        long d = strtol(g_strstrip(depth), &end, 10);
        if (!*depth || *end || d < 0 || d > NC_NESTED_MAX_DEPTH) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "nested configuration: depth must be 0..%d", NC_NESTED_MAX_DEPTH);
            return -1;
        }
        nc->depth = (int)d;
    } else {
        nc->depth = 1;   /* the file exists: this cloud runs in a VM */
    }
    if (nc_nested_string(kf, "instance_id", 'i', &nc->instance_id, err) < 0 ||
        nc_nested_string(kf, "parent_url", 'u', &nc->parent_url, err) < 0 ||
        nc_nested_string(kf, "parent_token", 't', &nc->parent_token, err) < 0 ||
        nc_nested_string(kf, "parent_vm", 'i', &nc->parent_vm, err) < 0 ||
        nc_nested_string(kf, "market_url", 'u', &nc->market_url, err) < 0 ||
        nc_nested_string(kf, "backend", 't', &nc->backend, err) < 0)
        return -1;
    if (!nc->parent_vm && nc->instance_id)
        nc->parent_vm = g_strdup(nc->instance_id);
    if (nc->parent_url && (!nc->parent_token || !nc->parent_vm)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                     "nested configuration: parent_url needs parent_token and parent_vm");
        return -1;
    }
    *ret = g_steal_pointer(&nc);
    return 0;
}

int
nc_nested_conf_load(const char *path, NcNestedConf **ret, GError **err)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path ? path : NC_NESTED_CONF_DEFAULT, &text, NULL, NULL)) {
        *ret = g_new0(NcNestedConf, 1);
        return 0;
    }
    return nc_nested_conf_parse(text, ret, err);
}

json_t *
nc_nested_conf_to_api_json(const NcNestedConf *nc)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:o}", "depth", nc ? nc->depth : 0,
                     "parent", nc_json_string_or_null(nc ? nc->parent_url : NULL),
                     "parent_vm", nc_json_string_or_null(nc ? nc->parent_vm : NULL),
                     "market_url", nc_json_string_or_null(nc ? nc->market_url : NULL),
                     "backend", nc_json_string_or_null(nc ? nc->backend : NULL));
}
