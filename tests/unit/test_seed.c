/* test_seed.c: NoCloud meta-data and user-data. */
#include "conf/seed.h"

#include <string.h>

static void
test_meta(void)
{
    g_autoptr(NcVmSpec) s = nc_vm_spec_new();
    s->id = g_strdup("5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11");
    s->name = g_strdup("demo");
    s->hostname = g_strdup("www");
    g_ptr_array_add(s->ssh_keys, g_strdup("ssh-ed25519 AAAAC3Nz me \"quoted\" \\ back"));
    g_autofree char *meta = nc_seed_meta_data(s);
    g_assert_cmpstr(meta, ==,
                    "instance-id: \"5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11\"\n"
                    "local-hostname: \"www\"\n"
                    "public-keys:\n"
                    "  - \"ssh-ed25519 AAAAC3Nz me \\\"quoted\\\" \\\\ back\"\n");
    g_autofree char *user = nc_seed_user_data(s);
    g_assert_true(g_str_has_prefix(user, "#cloud-config\nssh_authorized_keys:\n  - \""));
}

static void
test_user_verbatim(void)
{
    g_autoptr(NcVmSpec) s = nc_vm_spec_new();
    s->id = g_strdup("x");
    s->name = g_strdup("demo");
    s->user_data = g_strdup("#!/bin/sh\necho hello\n");
    g_autofree char *user = nc_seed_user_data(s);
    g_assert_cmpstr(user, ==, "#!/bin/sh\necho hello\n");
    g_autofree char *meta = nc_seed_meta_data(s);
    g_assert_null(strstr(meta, "public-keys"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/seed/meta", test_meta);
    g_test_add_func("/seed/user-verbatim", test_user_verbatim);
    return g_test_run();
}
