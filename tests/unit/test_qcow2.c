/* test_qcow2.c: in-process qcow2 overlays, judged by QEMU's own tools. */
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_qcow2.h"

#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

static const uint64_t overlay_sizes[] = { MIB, GIB, 10 * GIB, 65536 * GIB };

/* A scratch directory removed after each test. */
typedef struct {
    char *dir;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    f->dir = g_dir_make_tmp("nc-qcow2-XXXXXX", &error);
    g_assert_no_error(error);
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

/* Runs @argv; returns its exit status (-1 if it could not run) and its
 * standard output in @ret_out when given. */
static int
run(const char *const *argv, char **ret_out)
{
    g_autofree char *out = NULL;
    g_autofree char *errout = NULL;
    GError *error = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                      &out, &errout, &status, &error)) {
        g_test_message("cannot run %s: %s", argv[0], error->message);
        g_error_free(error);
        return -1;
    }
    if (!g_spawn_check_wait_status(status, NULL))
        g_test_message("%s failed:\n%s%s", argv[0], out, errout);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (ret_out)
        *ret_out = g_steal_pointer(&out);
    return rc;
}

static void
make_base(const char *path, const char *format)
{
    const char *argv[] = { "qemu-img", "create", "-q", "-f", format, path, "64M", NULL };
    g_assert_cmpint(run(argv, NULL), ==, 0);
}

/* `qemu-img check` finds neither errors nor leaks. */
static void
assert_check_clean(const char *path)
{
    g_autofree char *out = NULL;
    const char *argv[] = { "qemu-img", "check", "-f", "qcow2", "--output=json", path, NULL };
    g_assert_cmpint(run(argv, &out), ==, 0);
    g_autoptr(json_t) j = json_loads(out, 0, NULL);
    g_assert_nonnull(j);
    g_assert_cmpint(json_integer_value(json_object_get(j, "check-errors")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(j, "leaks")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(j, "corruptions")), ==, 0);
}

/* `qemu-img info` sees what `qemu-img create -f qcow2 -F FMT -b BASE` makes. */
static void
assert_info(const char *path, const char *base, const char *format, uint64_t size)
{
    g_autofree char *out = NULL;
    const char *argv[] = { "qemu-img", "info", "--output=json", path, NULL };
    g_assert_cmpint(run(argv, &out), ==, 0);
    g_autoptr(json_t) j = json_loads(out, 0, NULL);
    g_assert_nonnull(j);
    g_assert_cmpstr(json_string_value(json_object_get(j, "format")), ==, "qcow2");
    g_assert_cmpuint(json_integer_value(json_object_get(j, "virtual-size")), ==, size);
    g_assert_cmpuint(json_integer_value(json_object_get(j, "cluster-size")), ==, 65536);
    g_assert_cmpstr(json_string_value(json_object_get(j, "backing-filename")), ==, base);
    g_assert_cmpstr(json_string_value(json_object_get(j, "backing-filename-format")),
                    ==, format);
    g_assert_false(json_is_true(json_object_get(j, "dirty-flag")));
    json_t *data = json_object_get(json_object_get(j, "format-specific"), "data");
    g_assert_cmpstr(json_string_value(json_object_get(data, "compat")), ==, "1.1");
    g_assert_cmpint(json_integer_value(json_object_get(data, "refcount-bits")), ==, 16);
    g_assert_true(json_is_false(json_object_get(data, "lazy-refcounts")));
    g_assert_true(json_is_false(json_object_get(data, "corrupt")));
}

static void
check_overlays_on(Fixture *f, const char *format)
{
    const char *tools[] = { "qemu-img", NULL };
    if (!have_tools(tools))
        return;
    g_autofree char *base = g_build_filename(f->dir, "base.img", NULL);
    make_base(base, format);
    for (size_t i = 0; i < G_N_ELEMENTS(overlay_sizes); i++) {
        g_autofree char *name = g_strdup_printf("overlay-%zu.qcow2", i);
        g_autofree char *path = g_build_filename(f->dir, name, NULL);
        GError *error = NULL;
        g_assert_cmpint(nc_qcow2_create_overlay(path, base, format, overlay_sizes[i],
                                                &error), ==, 0);
        g_assert_no_error(error);
        assert_check_clean(path);
        assert_info(path, base, format, overlay_sizes[i]);
    }
}

static void
test_overlay_qcow2_base(Fixture *f, gconstpointer data)
{
    check_overlays_on(f, "qcow2");
}

static void
test_overlay_raw_base(Fixture *f, gconstpointer data)
{
    check_overlays_on(f, "raw");
}

/* Guest writes land in the overlay; unwritten clusters read the base. */
static void
test_write_through(Fixture *f, gconstpointer data)
{
    const char *tools[] = { "qemu-img", "qemu-io", NULL };
    if (!have_tools(tools))
        return;
    g_autofree char *base = g_build_filename(f->dir, "base.qcow2", NULL);
    g_autofree char *path = g_build_filename(f->dir, "root.qcow2", NULL);
    make_base(base, "qcow2");
    const char *fill_base[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0xcd 0 2M", base, NULL };
    g_assert_cmpint(run(fill_base, NULL), ==, 0);

    GError *error = NULL;
    g_assert_cmpint(nc_qcow2_create_overlay(path, base, "qcow2", GIB, &error), ==, 0);
    g_assert_no_error(error);

    const char *write[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 64k", path, NULL };
    g_assert_cmpint(run(write, NULL), ==, 0);
    assert_check_clean(path);
    const char *read_new[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 64k", path, NULL };
    g_assert_cmpint(run(read_new, NULL), ==, 0);
    const char *read_base[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0xcd 64k 1M", path, NULL };
    g_assert_cmpint(run(read_base, NULL), ==, 0);
    const char *read_end[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0 1023M 1M", path, NULL };
    g_assert_cmpint(run(read_end, NULL), ==, 0);
    /* a pattern that is not there is reported: the reads above can fail */
    const char *read_wrong[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0xcd 0 64k", path, NULL };
    g_assert_cmpint(run(read_wrong, NULL), !=, 0);
    /* the base was not touched */
    const char *read_old[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0xcd 0 64k", base, NULL };
    g_assert_cmpint(run(read_old, NULL), ==, 0);
}

static uint64_t
get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The layout itself, without QEMU: the largest image, the longest name. */
static void
test_layout(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "big.qcow2", NULL);
    g_autofree char *backing = g_malloc(NC_QCOW2_MAX_BACKING_LEN + 1);
    memset(backing, 'b', NC_QCOW2_MAX_BACKING_LEN);
    backing[0] = '/';
    backing[NC_QCOW2_MAX_BACKING_LEN] = '\0';
    GError *error = NULL;
    g_assert_cmpint(nc_qcow2_create_overlay(path, backing, "raw", NC_QCOW2_MAX_SIZE,
                                            &error), ==, 0);
    g_assert_no_error(error);

    g_autofree char *buf = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &buf, &len, NULL));
    const unsigned char *b = (const unsigned char *)buf;
    /* 131072 L1 entries fill 16 clusters; with header, refcount table and
     * block that is 19 clusters, as qemu-img makes it */
    g_assert_cmpuint(len, ==, 19 * 65536);
    g_assert_cmpmem(b, 4, "QFI\xfb", 4);
    g_assert_cmpuint(get_be(b + 4, 4), ==, 3);
    uint64_t name_off = get_be(b + 8, 8);
    g_assert_cmpuint(get_be(b + 16, 4), ==, NC_QCOW2_MAX_BACKING_LEN);
    g_assert_cmpmem(b + name_off, NC_QCOW2_MAX_BACKING_LEN, backing, NC_QCOW2_MAX_BACKING_LEN);
    g_assert_cmpuint(get_be(b + 20, 4), ==, 16);
    g_assert_cmpuint(get_be(b + 24, 8), ==, NC_QCOW2_MAX_SIZE);
    g_assert_cmpuint(get_be(b + 32, 4), ==, 0);
    g_assert_cmpuint(get_be(b + 36, 4), ==, 131072);
    uint64_t l1_off = get_be(b + 40, 8);
    uint64_t rt_off = get_be(b + 48, 8);
    g_assert_cmpuint(l1_off % 65536, ==, 0);
    g_assert_cmpuint(rt_off % 65536, ==, 0);
    g_assert_cmpuint(get_be(b + 56, 4), ==, 1);
    g_assert_cmpuint(get_be(b + 60, 4), ==, 0);
    g_assert_cmpuint(get_be(b + 72, 8), ==, 0);
    g_assert_cmpuint(get_be(b + 80, 8), ==, 0);
    g_assert_cmpuint(get_be(b + 88, 8), ==, 0);
    g_assert_cmpuint(get_be(b + 96, 4), ==, 4);
    uint64_t hdr_len = get_be(b + 100, 4);
    g_assert_cmpuint(hdr_len % 8, ==, 0);
    g_assert_cmpuint(hdr_len, >=, 104);
    /* extensions: the backing format, then the end, then the name */
    g_assert_cmpuint(get_be(b + hdr_len, 4), ==, 0xe2792aca);
    g_assert_cmpuint(get_be(b + hdr_len + 4, 4), ==, 3);
    g_assert_cmpmem(b + hdr_len + 8, 3, "raw", 3);
    g_assert_cmpuint(get_be(b + hdr_len + 16, 8), ==, 0);
    g_assert_cmpuint(name_off, ==, hdr_len + 24);
    /* the L1 table is empty; every cluster in use has refcount 1 */
    for (uint64_t i = 0; i < 131072; i++)
        g_assert_cmpuint(get_be(b + l1_off + 8 * i, 8), ==, 0);
    uint64_t rb_off = get_be(b + rt_off, 8);
    g_assert_cmpuint(rb_off % 65536, ==, 0);
    g_assert_cmpuint(get_be(b + rt_off + 8, 8), ==, 0);
    for (uint64_t c = 0; c < 19; c++)
        g_assert_cmpuint(get_be(b + rb_off + 2 * c, 2), ==, 1);
    g_assert_cmpuint(get_be(b + rb_off + 2 * 19, 2), ==, 0);

    struct stat st;
    mode_t mask = umask(022);
    umask(mask);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_mode & 0777, ==, 0644 & ~mask);
}

/* Refused arguments leave no file; an existing file is never touched. */
static void
test_refuse(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "bad.qcow2", NULL);
    g_autofree char *long_name = g_malloc(NC_QCOW2_MAX_BACKING_LEN + 2);
    memset(long_name, 'b', NC_QCOW2_MAX_BACKING_LEN + 1);
    long_name[0] = '/';
    long_name[NC_QCOW2_MAX_BACKING_LEN + 1] = '\0';
    const struct {
        const char *backing;
        const char *format;
        uint64_t size;
    } bad[] = {
        { "/base.qcow2", "qcow2", 0 },
        { "/base.qcow2", "qcow2", 511 },
        { "/base.qcow2", "qcow2", GIB + 1 },
        { "/base.qcow2", "qcow2", NC_QCOW2_MAX_SIZE + 512 },
        { "/base.qcow2", "qcow2", UINT64_MAX - 511 },
        { long_name, "qcow2", GIB },
        { "", "qcow2", GIB },
        { NULL, "qcow2", GIB },
        { "base.qcow2", "qcow2", GIB },
        { "/base.vmdk", "vmdk", GIB },
        { "/base.qcow2", "QCOW2", GIB },
        { "/base.qcow2", "", GIB },
        { "/base.qcow2", NULL, GIB },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *error = NULL;
        g_assert_cmpint(nc_qcow2_create_overlay(path, bad[i].backing, bad[i].format,
                                                bad[i].size, &error), ==, -1);
        g_assert_error(error, NC_ERROR, NC_ERR_INVALID_ARGUMENT);
        g_clear_error(&error);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    }

    GError *error = NULL;
    g_assert_true(g_file_set_contents(path, "mine", -1, NULL));
    g_assert_cmpint(nc_qcow2_create_overlay(path, "/base.qcow2", "qcow2", GIB, &error),
                    ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_CONFLICT);
    g_clear_error(&error);
    g_autofree char *kept = NULL;
    g_assert_true(g_file_get_contents(path, &kept, NULL, NULL));
    g_assert_cmpstr(kept, ==, "mine");

    g_autofree char *nodir = g_build_filename(f->dir, "missing", "x.qcow2", NULL);
    g_assert_cmpint(nc_qcow2_create_overlay(nodir, "/base.qcow2", "qcow2", GIB, &error),
                    ==, -1);
    g_assert_error(error, NC_ERROR, NC_ERR_INTERNAL);
    g_clear_error(&error);
}

/* A write that fails half way (here: past the file size limit) removes
 * what was written. */
static void
test_write_failure(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        g_autofree char *path = g_build_filename(f->dir, "limited.qcow2", NULL);
        struct rlimit rl = { .rlim_cur = 65536, .rlim_max = 65536 };
        GError *error = NULL;
        signal(SIGXFSZ, SIG_IGN);
        g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &rl), ==, 0);
        g_assert_cmpint(nc_qcow2_create_overlay(path, "/base.qcow2", "qcow2", GIB, &error),
                        ==, -1);
        g_assert_error(error, NC_ERROR, NC_ERR_INTERNAL);
        g_clear_error(&error);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/qcow2/overlay/qcow2-base", Fixture, NULL, fixture_setup,
               test_overlay_qcow2_base, fixture_teardown);
    g_test_add("/qcow2/overlay/raw-base", Fixture, NULL, fixture_setup,
               test_overlay_raw_base, fixture_teardown);
    g_test_add("/qcow2/write-through", Fixture, NULL, fixture_setup,
               test_write_through, fixture_teardown);
    g_test_add("/qcow2/layout", Fixture, NULL, fixture_setup, test_layout,
               fixture_teardown);
    g_test_add("/qcow2/refuse", Fixture, NULL, fixture_setup, test_refuse,
               fixture_teardown);
    g_test_add("/qcow2/write-failure", Fixture, NULL, fixture_setup,
               test_write_failure, fixture_teardown);
    return g_test_run();
}
