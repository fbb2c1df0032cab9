/* test_image_conf.c: which image files are accepted. */
#include "conf/image_conf.h"
#include "util/nc_error.h"

#include <glib/gstdio.h>
#include <string.h>

static char *pool;

static int
check(const char *json, const char *declared, NcImageInfo **ret, GError **err)
{
    return nc_image_info_parse(json, pool, pool, declared, ret, err);
}

static void
test_accept(void)
{
    g_autoptr(NcImageInfo) info = NULL;
    g_assert_cmpint(check("{\"format\": \"qcow2\", \"virtual-size\": 134217728, \"actual-size\": 25231360}",
                          NULL, &info, NULL), ==, 0);
    g_assert_cmpstr(info->format, ==, "qcow2");
    g_assert_cmpuint(info->virtual_size, ==, 134217728);
    g_autoptr(NcImageInfo) raw = NULL;
    g_assert_cmpint(check("{\"format\": \"raw\", \"virtual-size\": 1048576}", "raw", &raw, NULL), ==, 0);
}

static void
test_refuse(void)
{
    g_autofree char *inside = g_build_filename(pool, "base.qcow2", NULL);
    g_file_set_contents(inside, "x", 1, NULL);
    struct { const char *json; const char *declared; const char *why; } bad[] = {
        { "{\"format\": \"raw\", \"virtual-size\": 1048576}", "qcow2", "declared qcow2" },
        { "{\"format\": \"qcow2\", \"virtual-size\": 1048576}", "raw", "declared raw" },
        { "{\"format\": \"vmdk\", \"virtual-size\": 1048576}", NULL, "not supported" },
        { "{\"format\": \"qcow2\", \"virtual-size\": 1048576, \"backing-filename\": \"/etc/shadow\"}",
          NULL, "outside the image pool" },
        { "{\"format\": \"qcow2\", \"virtual-size\": 1048576, \"backing-filename\": \"../../../etc/shadow\"}",
          NULL, "outside the image pool" },
        { "{\"format\": \"qcow2\", \"virtual-size\": 1048576, \"format-specific\": {\"type\": \"qcow2\","
          " \"data\": {\"data-file\": \"/dev/sda\"}}}", NULL, "external data file" },
        { "{\"format\": \"qcow2\"}", NULL, "no size" },
        { "garbage", NULL, "cannot read" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        NcImageInfo *info = NULL;
        g_assert_cmpint(check(bad[i].json, bad[i].declared, &info, &err), ==, -1);
        g_assert_null(info);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
        if (!strstr(err->message, bad[i].why))
            g_error("case %zu: '%s' does not say '%s'", i, err->message, bad[i].why);
    }
    /* a backing file inside the pool is fine */
    g_autoptr(NcImageInfo) ok = NULL;
    g_assert_cmpint(check("{\"format\": \"qcow2\", \"virtual-size\": 1048576, \"backing-filename\": \"base.qcow2\"}",
                          NULL, &ok, NULL), ==, 0);
    g_assert_nonnull(ok->backing);
    g_unlink(inside);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    pool = g_dir_make_tmp("nc-pool-XXXXXX", NULL);
    g_test_add_func("/image_conf/accept", test_accept);
    g_test_add_func("/image_conf/refuse", test_refuse);
    int rc = g_test_run();
    g_rmdir(pool);
    g_free(pool);
    return rc;
}
