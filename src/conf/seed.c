/* seed.c: NoCloud meta-data and user-data. */
#include "seed.h"

static void
nc_yaml_quoted(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if ((unsigned char)*p < 0x20)
                g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
            else
                g_string_append_c(out, *p);
        }
    }
    g_string_append_c(out, '"');
}

static void
nc_seed_keys(GString *out, const NcVmSpec *spec)
{
    for (guint i = 0; i < spec->ssh_keys->len; i++) {
        g_string_append(out, "  - ");
        nc_yaml_quoted(out, g_ptr_array_index(spec->ssh_keys, i));
        g_string_append_c(out, '\n');
    }
}

char *
nc_seed_meta_data(const NcVmSpec *spec)
{
    GString *out = g_string_new("instance-id: ");

    nc_yaml_quoted(out, spec->id);
    g_string_append(out, "\nlocal-hostname: ");
    nc_yaml_quoted(out, spec->hostname ? spec->hostname : spec->name);
    g_string_append_c(out, '\n');
    if (spec->ssh_keys->len) {
        g_string_append(out, "public-keys:\n");
        nc_seed_keys(out, spec);
    }
    return g_string_free(out, FALSE);
}

char *
nc_seed_user_data(const NcVmSpec *spec)
{
    if (spec->user_data)
        return g_strdup(spec->user_data);
    GString *out = g_string_new("#cloud-config\n");
    if (spec->ssh_keys->len) {
        g_string_append(out, "ssh_authorized_keys:\n");
        nc_seed_keys(out, spec);
    }
    return g_string_free(out, FALSE);
}
