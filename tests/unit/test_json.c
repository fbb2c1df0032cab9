/* test_json.c: strict request reading, and the compact writer. */
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

/* A random string of ASCII (control characters, quotes and backslashes
 * included), multi-byte UTF-8 and the odd NUL. */
static json_t *
random_string(GRand *r)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f",
        "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xef\xbf\xbf",
        "{", "}", "[", "]", ",", ":", "%s", "%%",
    };
    g_autoptr(GString) s = g_string_new(NULL);
    int n = g_rand_int_range(r, 0, 12);
    for (int i = 0; i < n; i++) {
        if (g_rand_int_range(r, 0, 40) == 0)
            g_string_append_c(s, '\0');
        else
            g_string_append(s, pieces[g_rand_int_range(r, 0, G_N_ELEMENTS(pieces))]);
    }
    return json_stringn(s->str, s->len);
}

static json_t *
random_value(GRand *r, int depth)
{
    int kind = g_rand_int_range(r, 0, depth > 4 ? 6 : 8);
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(g_rand_boolean(r));
    case 2: {
        static const json_int_t edges[] = { 0, -1, 1, INT64_MIN, INT64_MAX, 4096, -65536 };
        return json_integer(g_rand_boolean(r) ? edges[g_rand_int_range(r, 0, 7)]
                                               : (json_int_t)g_rand_int(r) - G_MAXINT32);
    }
    case 3: {
        static const double edges[] = { 0.0, -0.0, 1.0, 0.1, 1e300, -2.5e-300, 123456789.0 };
        return json_real(g_rand_boolean(r) ? edges[g_rand_int_range(r, 0, 7)]
                                           : g_rand_double_range(r, -1e6, 1e6));
    }
    case 4:
    case 5: return random_string(r);
    case 6: {
        json_t *a = json_array();
        for (int i = g_rand_int_range(r, 0, 5); i > 0; i--)
            json_array_append_new(a, random_value(r, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = g_rand_int_range(r, 0, 5); i > 0; i--) {
            g_autoptr(json_t) k = random_string(r);
            /* keys are C strings: no NUL inside */
            g_autofree char *key = g_strndup(json_string_value(k), json_string_length(k));
            json_object_set_new(o, key, random_value(r, depth + 1));
        }
        return o;
    }
    }
}

static void
test_dumps_as_jansson(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(20261127);
    for (int i = 0; i < 20000; i++) {
        g_autoptr(json_t) v = random_value(r, 0);
        g_autofree char *ours = nc_json_dumps(v);
        char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        g_assert_nonnull(ours);
        g_assert_cmpstr(ours, ==, theirs);
        free(theirs);
    }
    g_assert_null(nc_json_dumps(NULL));
}

static void
test_dumps_refuses(void)
{
    /* not UTF-8: a lone continuation byte, an overlong '/', a surrogate,
     * a code point past U+10FFFF, a sequence cut short */
    const char *bad[] = { "a\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(json_t) v = json_pack("{s:[o]}", "k", json_stringn_nocheck(bad[i], strlen(bad[i])));
        g_assert_null(nc_json_dumps(v));
        char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        g_assert_null(theirs);
    }
    /* nested past the parser's depth */
    g_autoptr(json_t) deep = json_array();
    json_t *at = deep;
    for (int i = 0; i < 2100; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    g_assert_null(nc_json_dumps(deep));
    json_array_clear(at);
    g_autoptr(json_t) shallow = json_pack("[[[]]]");
    g_autofree char *text = nc_json_dumps(shallow);
    g_assert_cmpstr(text, ==, "[[[]]]");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json/parse", test_parse);
    g_test_add_func("/json/keys-and-types", test_keys_and_types);
    g_test_add_func("/json/dumps-as-jansson", test_dumps_as_jansson);
    g_test_add_func("/json/dumps-refuses", test_dumps_refuses);
    return g_test_run();
}
