/* test_json.c: strict request reading. */
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <string.h>

static void
test_parse(void)
{
    const char *bad[] = { "", "{", "[1]", "\"x\"", "{\"a\":1,\"a\":2}", "{\"a\":}", "nul" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(json_t) j = nc_json_parse_object(bad[i], strlen(bad[i]), &err);
        g_assert_null(j);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    }
    g_autoptr(json_t) ok = nc_json_parse_object("{\"a\": 1}", 8, NULL);
    g_assert_nonnull(ok);
}

static void
test_keys_and_types(void)
{
    static const char *const keys[] = { "name", "n", "b", NULL };
    g_autoptr(json_t) j = json_pack("{s:s, s:I, s:b}", "name", "x", "n", (json_int_t)5, "b", 1);
    g_assert_cmpint(nc_json_check_keys(j, "thing", keys, NULL), ==, 0);
    json_object_set_new(j, "nmae", json_string("typo"));
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_json_check_keys(j, "thing", keys, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "nmae"));
    json_object_del(j, "nmae");

    const char *s = NULL;
    int64_t n = -1;
    bool b = false;
    g_assert_cmpint(nc_json_get_string(j, "name", true, 10, &s, NULL), ==, 0);
    g_assert_cmpstr(s, ==, "x");
    g_assert_cmpint(nc_json_get_string(j, "n", true, 10, &s, NULL), ==, -1);
    g_assert_cmpint(nc_json_get_int(j, "n", true, 1, 10, &n, NULL), ==, 0);
    g_assert_cmpint(n, ==, 5);
    g_assert_cmpint(nc_json_get_int(j, "n", true, 6, 10, &n, NULL), ==, -1);
    g_assert_cmpint(nc_json_get_int(j, "name", true, 0, 10, &n, NULL), ==, -1);
    g_assert_cmpint(nc_json_get_int(j, "missing", false, 0, 10, &n, NULL), ==, 0);
    g_assert_cmpint(nc_json_get_int(j, "missing", true, 0, 10, &n, NULL), ==, -1);
    g_assert_cmpint(nc_json_get_bool(j, "b", true, &b, NULL), ==, 0);
    g_assert_true(b);
    /* an embedded NUL is not a string we accept */
    json_object_set_new(j, "name", json_stringn("a\0b", 3));
    g_assert_cmpint(nc_json_get_string(j, "name", true, 10, &s, NULL), ==, -1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json/parse", test_parse);
    g_test_add_func("/json/keys-and-types", test_keys_and_types);
    return g_test_run();
}
