/* test_iso9660.c: in-process seed images, judged by isoinfo, blkid and file,
 * and by reading the bytes back. */
#include "util/nc_error.h"
#include "util/nc_iso9660.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define SECTOR 2048

static const char meta_data[] = "instance-id: x\n";
static const char user_data[] = "#cloud-config\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAA me\"\n";

/* A scratch directory removed after each test. */
typedef struct {
    char *dir;
    char *iso;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    f->dir = g_dir_make_tmp("nc-iso-XXXXXX", &error);
    g_assert_no_error(error);
    f->iso = g_build_filename(f->dir, "seed.iso", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->iso);
    g_free(f->dir);
}

/* True when every program of @names is in PATH; otherwise skips the test. */
static gboolean
have_tools(const char *const *names)
{
    for (; *names; names++) {
        g_autofree char *p = g_find_program_in_path(*names);
        if (!p) {
            g_autofree char *msg = g_strdup_printf("%s is not installed", *names);
            g_test_skip(msg);
            return FALSE;
        }
    }
    return TRUE;
}

/* Runs @argv, asserts it exits 0 and returns its standard output. */
static char *
run_ok(const char *const *argv)
{
    g_autofree char *out = NULL;
    g_autofree char *errout = NULL;
    GError *error = NULL;
    int status = 0;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &errout, &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_test_message("%s failed:\n%s", argv[0], errout);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return g_steal_pointer(&out);
}

/* `isoinfo -J -x /NAME` gives exactly @data, which holds no NUL byte. */
static void
assert_joliet_content(const char *iso, const char *name, const char *data, size_t len)
{
    g_autofree char *slash = g_strconcat("/", name, NULL);
    const char *argv[] = { "isoinfo", "-J", "-x", slash, "-i", iso, NULL };
    g_autofree char *got = run_ok(argv);
    /* the data holds no NUL byte, so a stray zero shortens the string */
    g_assert_cmpmem(got, strlen(got), data, len);
}

static void
write_seed(const char *path)
{
    const NcIsoFile files[] = {
        { "user-data", user_data, strlen(user_data) },
        { "meta-data", meta_data, strlen(meta_data) },
    };
    GError *error = NULL;
    g_assert_cmpint(nc_iso9660_write(path, "cidata", files, G_N_ELEMENTS(files), &error),
                    ==, 0);
    g_assert_no_error(error);
}

/* What cloud-init's NoCloud source needs: the label, and the two files
 * under their real names. */
static void
test_cidata(Fixture *f, gconstpointer data)
{
    const char *tools[] = { "isoinfo", "blkid", NULL };
    if (!have_tools(tools))
        return;
    write_seed(f->iso);

    const char *desc_argv[] = { "isoinfo", "-d", "-i", f->iso, NULL };
    g_autofree char *desc = run_ok(desc_argv);
    g_assert_nonnull(strstr(desc, "\nVolume id: cidata\n"));
    g_assert_nonnull(strstr(desc, "Logical block size is: 2048\n"));
    g_assert_nonnull(strstr(desc, "Joliet with UCS level 3 found"));
    struct stat st;
    g_assert_cmpint(g_stat(f->iso, &st), ==, 0);
    g_autofree char *vsize = g_strdup_printf("Volume size is: %jd\n",
                                             (intmax_t)(st.st_size / SECTOR));
    g_assert_cmpint(st.st_size % SECTOR, ==, 0);
    g_assert_nonnull(strstr(desc, vsize));

    const char *jlist_argv[] = { "isoinfo", "-J", "-f", "-i", f->iso, NULL };
    g_autofree char *jlist = run_ok(jlist_argv);
    g_assert_cmpstr(jlist, ==, "/meta-data\n/user-data\n");
    const char *plist_argv[] = { "isoinfo", "-f", "-i", f->iso, NULL };
    g_autofree char *plist = run_ok(plist_argv);
    g_assert_cmpstr(plist, ==, "/META_DAT.;1\n/USER_DAT.;1\n");

    assert_joliet_content(f->iso, "meta-data", meta_data, strlen(meta_data));
    assert_joliet_content(f->iso, "user-data", user_data, strlen(user_data));

    const char *blkid_argv[] = { "blkid", "-p", "-o", "export", f->iso, NULL };
    g_autofree char *blkid = run_ok(blkid_argv);
    g_assert_nonnull(strstr(blkid, "\nLABEL=cidata\n"));
    g_assert_nonnull(strstr(blkid, "\nTYPE=iso9660\n"));
    g_assert_nonnull(strstr(blkid, "VERSION=Joliet"));
}

/* file(1) and isovfy (from genisoimage), where present, agree. */
static void
test_other_readers(Fixture *f, gconstpointer data)
{
    const char *tools[] = { "file", "isovfy", NULL };
    if (!have_tools(tools))
        return;
    write_seed(f->iso);
    const char *file_argv[] = { "file", "-b", f->iso, NULL };
    g_autofree char *kind = run_ok(file_argv);
    g_assert_true(g_str_has_prefix(kind, "ISO 9660 CD-ROM filesystem data 'cidata'"));
    const char *vfy_argv[] = { "isovfy", f->iso, NULL };
    g_autofree char *vfy = run_ok(vfy_argv);
    g_assert_nonnull(strstr(vfy, "No errors found"));
}

/* Sixteen files: long names that fill more than one Joliet directory
 * sector, names that clash once cut to 8.3, empty and sector-sized files
 * and the largest file allowed. */
static void
test_many(Fixture *f, gconstpointer data)
{
    const char *tools[] = { "isoinfo", NULL };
    if (!have_tools(tools))
        return;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func(g_free);
    static const size_t sizes[] = { 0, 1, SECTOR - 1, SECTOR, SECTOR + 1,
                                    NC_ISO9660_MAX_FILE_SIZE };
    NcIsoFile files[NC_ISO9660_MAX_FILES];
    GRand *rand = g_rand_new_with_seed(42);

    for (size_t i = 0; i < NC_ISO9660_MAX_FILES; i++) {
        char *name;
        if (i < 6)
            name = g_strdup_printf("user-data%zu", i);       /* all USER_DAT */
        else if (i == 6)
            name = g_strdup(".profile");
        else if (i == 7)
            name = g_strdup("a.b.tar.gz");
        else
            name = g_strdup_printf("%02zu-%s", i, "abcdefghijklmnopqrstuvwxyz0123456789"
                                                  "abcdefghijklmnopqrstuvwxyz");
        if (strlen(name) > NC_ISO9660_MAX_NAME_LEN)
            name[NC_ISO9660_MAX_NAME_LEN] = '\0';
        size_t len = sizes[i % G_N_ELEMENTS(sizes)];
        char *blob = g_malloc(len + 1);
        for (size_t j = 0; j < len; j++)
            blob[j] = (char)g_rand_int_range(rand, 1, 256);
        files[i] = (NcIsoFile){ name, len ? blob : NULL, len };
        g_ptr_array_add(names, name);
        g_ptr_array_add(blobs, blob);
    }
    g_rand_free(rand);

    GError *error = NULL;
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", files, G_N_ELEMENTS(files), &error),
                    ==, 0);
    g_assert_no_error(error);

    const char *jlist_argv[] = { "isoinfo", "-J", "-f", "-i", f->iso, NULL };
    g_autofree char *jlist = run_ok(jlist_argv);
    g_auto(GStrv) listed = g_strsplit(jlist, "\n", -1);
    g_assert_cmpuint(g_strv_length(listed), ==, NC_ISO9660_MAX_FILES + 1);
    for (size_t i = 0; i < NC_ISO9660_MAX_FILES; i++) {
        g_autofree char *slash = g_strconcat("/", files[i].name, NULL);
        g_assert_true(g_strv_contains((const char *const *)listed, slash));
        assert_joliet_content(f->iso, files[i].name, files[i].data, files[i].len);
    }

    /* the 8.3 names are distinct */
    const char *plist_argv[] = { "isoinfo", "-f", "-i", f->iso, NULL };
    g_autofree char *plist = run_ok(plist_argv);
    g_auto(GStrv) pnames = g_strsplit(plist, "\n", -1);
    g_assert_cmpuint(g_strv_length(pnames), ==, NC_ISO9660_MAX_FILES + 1);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < NC_ISO9660_MAX_FILES; i++) {
        g_assert_true(g_regex_match_simple("^/[A-Z0-9_]{1,8}\\.[A-Z0-9_]{0,3};1$",
                                           pnames[i], 0, 0));
        g_assert_true(g_hash_table_add(seen, pnames[i]));
    }
    g_assert_true(g_hash_table_contains(seen, "/USER_DAT.;1"));
    g_assert_true(g_hash_table_contains(seen, "/_.PRO;1"));
    g_assert_true(g_hash_table_contains(seen, "/A_B_TAR.GZ;1"));
}

static uint32_t
le32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
both32(const unsigned char *p)
{
    g_assert_cmpuint(le32(p), ==, be32(p + 4));
    return le32(p);
}

static uint16_t
both16(const unsigned char *p)
{
    g_assert_cmpuint(p[0] | p[1] << 8, ==, p[2] << 8 | p[3]);
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Finds @name (UCS-2BE when @joliet) in the root directory at @dir of
 * @img; returns its record or NULL. */
static const unsigned char *
find_record(const unsigned char *img, size_t img_len, uint32_t dir, uint32_t dir_size,
            const char *name, bool joliet)
{
    g_autofree unsigned char *want = g_malloc(2 * strlen(name) + 1);
    size_t want_len = 0;
    for (const char *c = name; *c; c++) {
        if (joliet)
            want[want_len++] = 0;
        want[want_len++] = (unsigned char)*c;
    }
    g_assert_cmpuint((size_t)dir * SECTOR + dir_size, <=, img_len);
    for (size_t off = 0; off < dir_size;) {
        const unsigned char *r = img + (size_t)dir * SECTOR + off;
        if (r[0] == 0) {                    /* rest of this sector unused */
            off = (off / SECTOR + 1) * SECTOR;
            continue;
        }
        g_assert_cmpuint(r[0] % 2, ==, 0);
        g_assert_cmpuint(off / SECTOR, ==, (off + r[0] - 1) / SECTOR);
        if (r[32] == want_len && memcmp(r + 33, want, want_len) == 0)
            return r;
        off += r[0];
    }
    return NULL;
}

/* The structure itself, read back without any tool. */
static void
test_layout(Fixture *f, gconstpointer data)
{
    write_seed(f->iso);
    g_autofree char *buf = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(f->iso, &buf, &len, NULL));
    const unsigned char *img = (const unsigned char *)buf;
    g_assert_cmpuint(len % SECTOR, ==, 0);
    g_assert_cmpuint(len, >, 19 * SECTOR);
    for (size_t i = 0; i < 16 * SECTOR; i++)
        g_assert_cmpuint(img[i], ==, 0);

    const unsigned char *pvd = img + 16 * SECTOR;
    const unsigned char *svd = img + 17 * SECTOR;
    const unsigned char *term = img + 18 * SECTOR;
    g_assert_cmpmem(pvd, 7, "\x01" "CD001\x01", 7);
    g_assert_cmpmem(svd, 7, "\x02" "CD001\x01", 7);
    g_assert_cmpmem(term, 7, "\xff" "CD001\x01", 7);
    g_assert_cmpmem(pvd + 40, 32, "cidata                          ", 32);
    g_assert_cmpmem(svd + 40, 12, "\0c\0i\0d\0a\0t\0a", 12);
    g_assert_cmpmem(svd + 52, 4, "\0 \0 ", 4);
    g_assert_cmpmem(svd + 88, 3, "%/E", 3);
    g_assert_cmpmem(pvd + 847, 17, "0000000000000000", 17);

    for (int joliet = 0; joliet < 2; joliet++) {
        const unsigned char *vd = joliet ? svd : pvd;
        g_assert_cmpuint(both32(vd + 80), ==, len / SECTOR);
        g_assert_cmpuint(both16(vd + 120), ==, 1);
        g_assert_cmpuint(both16(vd + 124), ==, 1);
        g_assert_cmpuint(both16(vd + 128), ==, SECTOR);
        g_assert_cmpuint(both32(vd + 132), ==, 10);
        g_assert_cmpuint(vd[881], ==, 1);
        const unsigned char *root = vd + 156;
        g_assert_cmpuint(root[0], ==, 34);
        g_assert_cmpuint(root[25], ==, 2);
        g_assert_cmpuint(root[32], ==, 1);
        g_assert_cmpuint(root[33], ==, 0);
        uint32_t dir = both32(root + 2);
        uint32_t dir_size = both32(root + 10);
        /* L and M path tables hold the root and agree with each other */
        const unsigned char *lpt = img + (size_t)le32(vd + 140) * SECTOR;
        const unsigned char *mpt = img + (size_t)be32(vd + 148) * SECTOR;
        g_assert_cmpuint(lpt[0], ==, 1);
        g_assert_cmpuint(le32(lpt + 2), ==, dir);
        g_assert_cmpuint(lpt[6] | lpt[7] << 8, ==, 1);
        g_assert_cmpuint(mpt[0], ==, 1);
        g_assert_cmpuint(be32(mpt + 2), ==, dir);
        g_assert_cmpuint(mpt[6] << 8 | mpt[7], ==, 1);
        /* "." and ".." are the root */
        const unsigned char *dot = img + (size_t)dir * SECTOR;
        g_assert_cmpuint(both32(dot + 2), ==, dir);
        g_assert_cmpuint(both32(dot + 10), ==, dir_size);
        g_assert_cmpuint(dot[33], ==, 0);
        g_assert_cmpuint(dot[dot[0] + 33], ==, 1);

        const char *meta_name = joliet ? "meta-data" : "META_DAT.;1";
        const char *user_name = joliet ? "user-data" : "USER_DAT.;1";
        const unsigned char *m = find_record(img, len, dir, dir_size, meta_name, joliet);
        const unsigned char *u = find_record(img, len, dir, dir_size, user_name, joliet);
        g_assert_nonnull(m);
        g_assert_nonnull(u);
        g_assert_null(find_record(img, len, dir, dir_size, "meta-data;1", joliet));
        g_assert_cmpuint(m[25], ==, 0);
        g_assert_cmpuint(both32(m + 10), ==, strlen(meta_data));
        g_assert_cmpuint(both32(u + 10), ==, strlen(user_data));
        g_assert_cmpuint((size_t)both32(m + 2) * SECTOR + strlen(meta_data), <=, len);
        g_assert_cmpmem(img + (size_t)both32(m + 2) * SECTOR, strlen(meta_data),
                        meta_data, strlen(meta_data));
        g_assert_cmpmem(img + (size_t)both32(u + 2) * SECTOR, strlen(user_data),
                        user_data, strlen(user_data));
    }

    struct stat st;
    mode_t mask = umask(022);
    umask(mask);
    g_assert_cmpint(g_stat(f->iso, &st), ==, 0);
    g_assert_cmpuint(st.st_mode & 0777, ==, 0644 & ~mask);
}

/* Sixteen long names need a second Joliet directory sector, and no record
 * may cross into it; an empty file sorted last still points inside the
 * volume. */
static void
test_layout_many(Fixture *f, gconstpointer data)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    NcIsoFile files[NC_ISO9660_MAX_FILES];
    for (size_t i = 0; i < NC_ISO9660_MAX_FILES; i++) {
        char *name = i + 1 < NC_ISO9660_MAX_FILES
            ? g_strdup_printf("%02zu-%s", i, "abcdefghijklmnopqrstuvwxyz0123456789"
                                             "abcdefghijklmnopqrstuvwxy")
            : g_strdup("zz-empty");
        g_assert_cmpuint(strlen(name), <=, NC_ISO9660_MAX_NAME_LEN);
        g_ptr_array_add(names, name);
        files[i] = (NcIsoFile){ name, name, i + 1 < NC_ISO9660_MAX_FILES ? strlen(name) : 0 };
    }
    GError *error = NULL;
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", files, G_N_ELEMENTS(files), &error),
                    ==, 0);
    g_assert_no_error(error);

    g_autofree char *buf = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(f->iso, &buf, &len, NULL));
    const unsigned char *img = (const unsigned char *)buf;
    const unsigned char *svd = img + 17 * SECTOR;
    uint32_t total = both32(svd + 80);
    g_assert_cmpuint((size_t)total * SECTOR, ==, len);
    uint32_t dir = both32(svd + 156 + 2);
    uint32_t dir_size = both32(svd + 156 + 10);
    g_assert_cmpuint(dir_size, ==, 2 * SECTOR);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        const unsigned char *r = find_record(img, len, dir, dir_size, files[i].name, true);
        g_assert_nonnull(r);
        uint32_t extent = both32(r + 2);
        g_assert_cmpuint(both32(r + 10), ==, files[i].len);
        g_assert_cmpuint(extent, <, total);
        g_assert_cmpuint((size_t)extent * SECTOR + files[i].len, <=, len);
        g_assert_cmpmem(img + (size_t)extent * SECTOR, files[i].len,
                        files[i].data, files[i].len);
    }
    /* the primary tree names the last file ZZ_EMPTY.;1 */
    const unsigned char *pvd = img + 16 * SECTOR;
    const unsigned char *last = find_record(img, len, both32(pvd + 156 + 2),
                                            both32(pvd + 156 + 10), "ZZ_EMPTY.;1", false);
    g_assert_nonnull(last);
    g_assert_cmpuint(both32(last + 2), <, total);
}

/* Refused arguments leave no file; an existing file is never touched. */
static void
test_refuse(Fixture *f, gconstpointer data)
{
    NcIsoFile many[NC_ISO9660_MAX_FILES + 1];
    g_autofree char *big = g_malloc0(NC_ISO9660_MAX_FILE_SIZE + 1);
    g_autofree char *long_name = g_strnfill(NC_ISO9660_MAX_NAME_LEN + 1, 'a');
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(many); i++) {
        char *name = g_strdup_printf("f%zu", i);
        g_ptr_array_add(names, name);
        many[i] = (NcIsoFile){ name, "x", 1 };
    }
    const struct {
        const char *volume_id;
        NcIsoFile file;
        size_t nfiles;
    } bad[] = {
        { "", { "meta-data", "x", 1 }, 1 },
        { NULL, { "meta-data", "x", 1 }, 1 },
        { "abcdefghijklmnopq", { "meta-data", "x", 1 }, 1 },
        { "ci data", { "meta-data", "x", 1 }, 1 },
        { "cidata", { "Meta-data", "x", 1 }, 1 },
        { "cidata", { "meta/data", "x", 1 }, 1 },
        { "cidata", { "meta data", "x", 1 }, 1 },
        { "cidata", { "meta;1", "x", 1 }, 1 },
        { "cidata", { "", "x", 1 }, 1 },
        { "cidata", { NULL, "x", 1 }, 1 },
        { "cidata", { long_name, "x", 1 }, 1 },
        { "cidata", { ".", "x", 1 }, 1 },
        { "cidata", { "..", "x", 1 }, 1 },
        { "cidata", { "meta.", "x", 1 }, 1 },
        { "cidata", { "meta-data", big, NC_ISO9660_MAX_FILE_SIZE + 1 }, 1 },
        { "cidata", { "meta-data", NULL, 1 }, 1 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *error = NULL;
        g_assert_cmpint(nc_iso9660_write(f->iso, bad[i].volume_id, &bad[i].file,
                                         bad[i].nfiles, &error), ==, -1);
        g_assert_error(error, NC_ERROR, NC_ERR_INVALID_ARGUMENT);
        g_clear_error(&error);
        g_assert_false(g_file_test(f->iso, G_FILE_TEST_EXISTS));
    }

    GError *error = NULL;
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", many, G_N_ELEMENTS(many), &error),
                    ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", NULL, 1, &error), ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&error);
    const NcIsoFile twice[] = { { "meta-data", "a", 1 }, { "meta-data", "b", 1 } };
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", twice, 2, &error), ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(g_file_test(f->iso, G_FILE_TEST_EXISTS));

    /* the limits themselves are accepted */
    g_autofree char *max_name = g_strnfill(NC_ISO9660_MAX_NAME_LEN, 'a');
    const NcIsoFile at_limit[] = { { max_name, big, NC_ISO9660_MAX_FILE_SIZE } };
    g_assert_cmpint(nc_iso9660_write(f->iso, "ABCDEFGHIJKLMNOP", at_limit, 1, &error), ==, 0);
    g_assert_no_error(error);

    /* an existing file is kept as it is */
    g_assert_cmpint(g_unlink(f->iso), ==, 0);
    g_assert_true(g_file_set_contents(f->iso, "mine", -1, NULL));
    g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", many, 1, &error), ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_CONFLICT);
    g_clear_error(&error);
    g_autofree char *kept = NULL;
    g_assert_true(g_file_get_contents(f->iso, &kept, NULL, NULL));
    g_assert_cmpstr(kept, ==, "mine");
}

/* A write that fails half way (here: past the file size limit) removes
 * what was written. */
static void
test_write_failure(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        struct rlimit rl = { .rlim_cur = 65536, .rlim_max = 65536 };
        g_autofree char *blob = g_malloc0(200000);
        const NcIsoFile files[] = { { "user-data", blob, 200000 } };
        GError *error = NULL;
        signal(SIGXFSZ, SIG_IGN);
        g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &rl), ==, 0);
        g_assert_cmpint(nc_iso9660_write(f->iso, "cidata", files, 1, &error), ==, -1);
        g_assert_error(error, NC_ERROR, NC_ERR_INTERNAL);
        g_clear_error(&error);
        g_assert_false(g_file_test(f->iso, G_FILE_TEST_EXISTS));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/iso9660/cidata", Fixture, NULL, fixture_setup, test_cidata,
               fixture_teardown);
    g_test_add("/iso9660/other-readers", Fixture, NULL, fixture_setup, test_other_readers,
               fixture_teardown);
    g_test_add("/iso9660/many", Fixture, NULL, fixture_setup, test_many, fixture_teardown);
    g_test_add("/iso9660/layout", Fixture, NULL, fixture_setup, test_layout,
               fixture_teardown);
    g_test_add("/iso9660/layout-many", Fixture, NULL, fixture_setup, test_layout_many,
               fixture_teardown);
    g_test_add("/iso9660/refuse", Fixture, NULL, fixture_setup, test_refuse,
               fixture_teardown);
    g_test_add("/iso9660/write-failure", Fixture, NULL, fixture_setup, test_write_failure,
               fixture_teardown);
    return g_test_run();
}
