/* test_valid.c: names, sizes, ids, free text. */
#include "util/nc_error.h"
#include "util/nc_valid.h"

#include <stdlib.h>
#include <string.h>

static void
test_names(void)
{
    const char *good[] = { "a", "demo", "web-1", "0", "a1-b2-c3",
                           "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123" };
    const char *bad[] = { "", "-a", "a-", "A", "web_1", "a.b", "..", "../etc", "a/b", "<x>",
                          "o'neil", "a b", "é", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234" };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
        g_assert_cmpint(nc_name_check("VM", good[i], NULL), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_assert_cmpint(nc_name_check("VM", bad[i], &err), ==, -1);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    }
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_name_check("VM", NULL, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "required"));
}

static void
test_sizes(void)
{
    struct { const char *text; unsigned shift; uint64_t want; } good[] = {
        { "512", 20, 512ULL << 20 }, { "512M", 30, 512ULL << 20 }, { "1G", 20, 1ULL << 30 },
        { "1GiB", 20, 1ULL << 30 }, { "1.5g", 20, 3ULL << 29 }, { "2T", 20, 2ULL << 40 },
        { "10", 30, 10ULL << 30 }, { "4096K", 20, 4ULL << 20 }, { "0", 20, 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        uint64_t got = 1;
        g_assert_cmpint(nc_size_parse(good[i].text, good[i].shift, &got, NULL), ==, 0);
        g_assert_cmpuint(got, ==, good[i].want);
    }
    const char *bad[] = { "", "-1", "abc", "1X", "G", "1.2.3", "99999999999999999999",
                          "18446744073709551615T", " 1", "1 G" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t got = 7;
        g_autoptr(GError) err = NULL;
        g_assert_cmpint(nc_size_parse(bad[i], 20, &got, &err), ==, -1);
        g_assert_cmpuint(got, ==, 7);   /* untouched on failure */
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    }
    g_autofree char *a = nc_size_format_mib(512);
    g_autofree char *b = nc_size_format_mib(2048);
    g_autofree char *c = nc_size_format_mib(1536);
    g_assert_cmpstr(a, ==, "512M");
    g_assert_cmpstr(b, ==, "2G");
    g_assert_cmpstr(c, ==, "1.5G");
}

static void
test_uuid(void)
{
    g_autofree char *u = nc_uuid_new();
    g_assert_true(nc_uuid_is_valid(u));
    g_assert_false(nc_uuid_is_valid("not-a-uuid"));
    g_assert_false(nc_uuid_is_valid("CF04171D-CD9B-4B82-A28F-67040D819EE2"));
    g_assert_false(nc_uuid_is_valid("cf04171d-cd9b-4b82-a28f-67040d819ee"));
    g_assert_true(nc_uuid_is_valid("cf04171d-cd9b-4b82-a28f-67040d819ee2"));
}

/* Ids come from a pool of random bytes: across several refills of the
 * pool, every id is a well-formed version 7 UUID and none repeats; they
 * begin with the time, so an id made in a later millisecond sorts after. */
static void
test_uuid_many(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *first = nc_uuid_new();
    for (int i = 0; i < 2000; i++) {
        char *u = nc_uuid_new();
        g_assert_true(nc_uuid_is_valid(u));
        g_assert_cmpint(u[14], ==, '7');
        g_assert_nonnull(strchr("89ab", u[19]));
        g_assert_true(g_hash_table_add(seen, u));
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 2000);
    g_usleep(2000);
    g_autofree char *later = nc_uuid_new();
    g_assert_cmpint(strcmp(first, later), <, 0);
    /* the time in the first 48 bits is now's */
    g_autofree char *hex = g_strndup(later, 8);
    int64_t ms = (int64_t)g_ascii_strtoull(hex, NULL, 16) << 16 |
                 (int64_t)g_ascii_strtoull(later + 9, NULL, 16);
    g_assert_cmpint(llabs(ms - g_get_real_time() / 1000), <, 60 * 1000);
}

/* Names take the id's random digits: the first eight of a version 4 id
 * (as before), the last eight of a version 7 one, which differ between ids
 * made in the same minute. */
static void
test_uuid_short(void)
{
    g_assert_cmpint(strncmp(nc_uuid_short("cf04171d-cd9b-4b82-a28f-67040d819ee2"), "cf04171d", 8),
                    ==, 0);
    g_assert_cmpint(strncmp(nc_uuid_short("019ac0a1-3b2c-7d4e-8f60-123456789abc"), "56789abc", 8),
                    ==, 0);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < 200; i++) {
        g_autofree char *u = nc_uuid_new();
        g_assert_true(g_hash_table_add(seen, g_strndup(nc_uuid_short(u), 8)));
    }
}

static void
test_text(void)
{
    g_assert_cmpint(nc_text_check("x", "hello\nworld", 100, true, NULL), ==, 0);
    g_assert_cmpint(nc_text_check("x", "hello\nworld", 100, false, NULL), ==, -1);
    g_assert_cmpint(nc_text_check("x", "bell\a", 100, true, NULL), ==, -1);
    g_assert_cmpint(nc_text_check("x", "\xff\xfe", 100, true, NULL), ==, -1);
    g_assert_cmpint(nc_text_check("x", "toolong", 3, true, NULL), ==, -1);
}

static void
test_ssh_keys(void)
{
    g_assert_cmpint(nc_ssh_key_check("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm user@host", NULL), ==, 0);
    g_assert_cmpint(nc_ssh_key_check("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", NULL), ==, 0);
    g_assert_cmpint(nc_ssh_key_check("ssh-ed25519", NULL), ==, -1);
    g_assert_cmpint(nc_ssh_key_check("rm -rf / AAAAC3NzaC1lZDI1NTE5AAAAIOm", NULL), ==, -1);
    g_assert_cmpint(nc_ssh_key_check("ssh-ed25519 AAAA\nssh-rsa BBBB", NULL), ==, -1);
    g_assert_cmpint(nc_ssh_key_check("ssh-ed25519 $(reboot)AAAAAAAAAAAAAAAAAAAA", NULL), ==, -1);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/valid/names", test_names);
    g_test_add_func("/valid/sizes", test_sizes);
    g_test_add_func("/valid/uuid", test_uuid);
    g_test_add_func("/valid/uuid-many", test_uuid_many);
    g_test_add_func("/valid/uuid-short", test_uuid_short);
    g_test_add_func("/valid/text", test_text);
    g_test_add_func("/valid/ssh-keys", test_ssh_keys);
    return g_test_run();
}
