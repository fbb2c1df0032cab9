/* test_vm_command.c: the worker command of a VM create, put together from
 * texts written once per request (nc__vm_command_text()), reads the same
 * as the command built as JSON and written whole (nc__vm_command()). */
#include "service/central_priv.h"
#include "util/nc_json.h"

#include <string.h>

static NcVmSpec *
spec_new(const char *name)
{
    NcVmSpec *s = nc_vm_spec_new();
    s->id = g_strdup("6f1c1d7e-1c1b-4a63-9d9e-6d3c0f3f2a10");
    s->name = g_strdup(name);
    s->project = g_strdup("default");
    s->vcpus = s->max_vcpus = 2;
    s->memory_mib = 512;
    s->max_memory_mib = 1024;
    s->disk_gib = 3;
    s->image = g_strdup("img-1");
    /* text that JSON must escape, in the spec and in the image */
    s->user_data = g_strdup("#cloud-config\nruncmd: [\"echo \\\"hi\\\"\", \"\\u00e9t\u00e9\"]\n");
    return s;
}

static NcImage *
image_new(void)
{
    NcImage *img = nc_image_new();
    img->id = g_strdup("img-1");
    img->name = g_strdup("test");
    img->format = g_strdup("qcow2");
    img->file = g_strdup("test.qcow2");
    img->kernel = g_strdup("vmlinuz");
    img->cmdline = g_strdup("console=ttyS0 quote=\" tab=\t");
    return img;
}

/* @spec's command both ways: the same text, and the same value. */
static void
check_same(const char *op_id, const NcVmSpec *spec, const NcImage *img, bool start)
{
    g_autoptr(json_t) args = json_pack("{s:b}", "start", start);
    g_autoptr(json_t) whole = nc__vm_command("vm.create", op_id, spec, img, json_incref(args));
    g_autofree char *whole_text = nc_json_dumps(whole);

    g_autoptr(json_t) spec_json = nc_vm_spec_to_json(spec);
    g_autoptr(json_t) image_json = nc__image_command_json(img);
    g_autofree char *spec_text = nc_json_dumps(spec_json);
    g_autofree char *image_text = nc_json_dumps(image_json);
    g_autofree char *args_text = nc_json_dumps(args);
    g_autofree char *parts = nc__vm_command_text("vm.create", op_id, spec_text, image_text,
                                                 args_text);
    g_assert_nonnull(parts);
    g_assert_cmpstr(parts, ==, whole_text);

    json_error_t jerr;
    g_autoptr(json_t) back = json_loads(parts, JSON_REJECT_DUPLICATES, &jerr);
    g_assert_nonnull(back);
    g_assert_true(json_equal(back, whole));
    g_assert_cmpstr(nc_json_str(json_object_get(back, "vm"), "user_data"), ==, spec->user_data);
    g_assert_cmpstr(nc_json_str(json_object_get(back, "image"), "cmdline"), ==, img->cmdline);
}

static void
test_same_text(void)
{
    g_autoptr(NcVmSpec) spec = spec_new("web-1");
    g_autoptr(NcImage) img = image_new();
    check_same("0b7e7d0c-6a8e-4f0e-8f3a-1d2c3b4a5f60", spec, img, true);
    check_same("0b7e7d0c-6a8e-4f0e-8f3a-1d2c3b4a5f60", spec, img, false);
}

static void
test_null_op(void)
{
    /* a command without an operation carries "op": null */
    g_autoptr(NcVmSpec) spec = spec_new("web-2");
    g_autoptr(NcImage) img = image_new();
    check_same(NULL, spec, img, true);
    g_autofree char *text = nc__vm_command_text("vm.create", NULL, "{}", "{}", "{}");
    g_assert_cmpstr(text, ==, "{\"kind\":\"vm.create\",\"op\":null,\"vm\":{},\"image\":{},"
                              "\"args\":{}}");
    /* a part that could not be written (nc_json_dumps() gave NULL) makes
     * no command at all, not one cut short */
    g_assert_null(nc__vm_command_text("vm.create", NULL, NULL, "{}", "{}"));
    g_assert_null(nc__vm_command_text("vm.create", NULL, "{}", NULL, "{}"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm_command/same-text", test_same_text);
    g_test_add_func("/vm_command/null-op", test_null_op);
    return g_test_run();
}
