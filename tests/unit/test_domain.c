/* test_domain.c: request JSON -> spec -> domain XML, against golden files
 * in tests/data/domain (like libvirt's qemuxml2argvdata).  Set
 * NC_REGENERATE=1 to rewrite the expected files after a deliberate change.
 * The bare form of simulated hosts is also read back by libvirt's test
 * driver, which must see what the full form says. */
#include "conf/domain.h"
#include "util/nc_json.h"

#include <libvirt/libvirt.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *kernel;
    const char *network;
    const char *domain_type;
    const char *request;    /* the request's file, when not NAME.json */
    bool bare;
} Case;

#define NC_TEST_VM_ID "5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11"

/* @request's spec, with what a live system fills in fixed for the test */
static NcVmSpec *
test_spec(const char *request)
{
    g_autofree char *req_path = g_strdup_printf("%s/domain/%s.json", NC_TEST_DATA, request);
    g_autofree char *req_text = NULL;
    g_assert_true(g_file_get_contents(req_path, &req_text, NULL, NULL));
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) req = nc_json_parse_object(req_text, strlen(req_text), &err);
    g_assert_no_error(err);
    NcVmSpec *spec = NULL;
    g_assert_cmpint(nc_vm_spec_from_request(req, &spec, &err), ==, 0);
    spec->id = g_strdup(NC_TEST_VM_ID);
    spec->project = g_strdup("admin");
    g_free(spec->image);
    spec->image = g_strdup("0e4c3f8a-1111-4222-8333-944455556666");
    spec->disk_gib = spec->disk_gib ? spec->disk_gib : 2;
    for (guint i = 0; i < spec->nics->len; i++) {
        NcNic *nic = g_ptr_array_index(spec->nics, i);
        g_free(nic->mac);
        nic->mac = g_strdup_printf("52:54:00:00:00:%02x", i + 1);
    }
    return spec;
}

static void
test_golden(gconstpointer data)
{
    const Case *c = data;
    g_autofree char *xml_path = g_strdup_printf("%s/domain/%s.xml", NC_TEST_DATA, c->name);
    g_autoptr(NcVmSpec) spec = test_spec(c->request ? c->request : c->name);
    NcDomainEnv env = {
        .cloud_id = "c10d0000-0000-4000-8000-000000000001",
        .host = "host-a",
        .domain_type = c->domain_type,
        .disk_path = "/var/lib/nestcloud/instances/5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11/root.qcow2",
        .seed_path = "/var/lib/nestcloud/instances/5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11/seed.iso",
        .console_path = "/var/lib/nestcloud/instances/5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11/console.log",
        .kernel = c->kernel,
        .initrd = c->kernel ? "/var/lib/nestcloud/images/x.initrd" : NULL,
        .cmdline = c->kernel ? "console=ttyS0 root=/dev/vda2 quiet" : NULL,
        .network = c->network,
        .bare = c->bare,
    };
    g_autofree char *xml = nc_domain_xml_format(spec, &env);
    if (g_getenv("NC_REGENERATE")) {
        g_assert_true(g_file_set_contents(xml_path, xml, -1, NULL));
        return;
    }
    g_autofree char *want = NULL;
    g_assert_true(g_file_get_contents(xml_path, &want, NULL, NULL));
    g_assert_cmpstr(xml, ==, want);
}

/* libvirt's domain XML for @xml created in its test driver, as it keeps
 * it (the defaults filled in), with the parts that differ between two
 * creates (the domain's id) taken out */
static char *
test_driver_reads(const char *xml)
{
    virConnectPtr conn = virConnectOpen("test:///default");
    g_assert_nonnull(conn);
    virDomainPtr dom = virDomainCreateXML(conn, xml, 0);
    g_assert_nonnull(dom);
    char *kept = virDomainGetXMLDesc(dom, 0);
    g_assert_nonnull(kept);
    g_assert_cmpint(virDomainDestroy(dom), ==, 0);
    virDomainFree(dom);
    virConnectClose(conn);
    g_autoptr(GRegex) id = g_regex_new(" id='[0-9]+'", 0, 0, NULL);
    char *out = g_regex_replace_literal(id, kept, -1, 0, "", 0, NULL);
    free(kept);
    return out;
}

/* The bare form leaves out what libvirt fills in; the test driver must
 * keep the same definition as from the form that says it all. */
static void
test_bare_reads_as_full(gconstpointer data)
{
    g_autoptr(NcVmSpec) spec = test_spec(data);
    NcDomainEnv env = { .cloud_id = "c", .host = "h", .domain_type = "test",
                        .disk_path = "/d", .console_path = "/c", .bare = true };
    g_autofree char *bare = nc_domain_xml_format(spec, &env);
    /* the full form of the same: everything the bare one omits, spelled out */
    g_autoptr(GString) full = g_string_new(bare);
    g_autofree char *mem = g_strdup_printf("<memory unit='MiB'>%lld</memory>\n",
                                           (long long)spec->memory_mib);
    g_autofree char *mem_full = g_strdup_printf("%s  <currentMemory unit='MiB'>%lld</currentMemory>\n",
                                                mem, (long long)spec->memory_mib);
    g_assert_cmpuint(g_string_replace(full, mem, mem_full, 1), ==, 1);
    g_autoptr(GRegex) vcpu = g_regex_new("<vcpu( current='[0-9]+')?>", 0, 0, NULL);
    g_autofree char *current = g_strdup_printf("<vcpu placement='static' current='%d'>",
                                               spec->vcpus);
    g_autofree char *with_vcpu = g_regex_replace_literal(vcpu, full->str, -1, 0, current, 0,
                                                         NULL);
    g_string_assign(full, with_vcpu);
    g_assert_cmpuint(g_string_replace(full, "hvm</type>\n", "hvm</type>\n    <boot dev='hd'/>\n",
                                      1), ==, 1);
    g_assert_cmpuint(g_string_replace(full, "</domain>",
                                      "  <on_poweroff>destroy</on_poweroff>\n"
                                      "  <on_reboot>restart</on_reboot>\n"
                                      "  <on_crash>destroy</on_crash>\n</domain>", 1), ==, 1);
    g_autofree char *from_bare = test_driver_reads(bare);
    g_autofree char *from_full = test_driver_reads(full->str);
    g_assert_cmpstr(from_bare, ==, from_full);
    /* and what it keeps is the spec's shape */
    g_assert_nonnull(strstr(from_bare, "<shares>"));
    g_assert_nonnull(strstr(from_bare, "nestcloud"));
}

static void
test_escaping(void)
{
    /* names are validated before they get here; the XML layer escapes
     * anyway, so even a spec built by hand cannot inject markup */
    g_autoptr(NcVmSpec) spec = nc_vm_spec_new();
    spec->id = g_strdup(NC_TEST_VM_ID);
    spec->name = g_strdup("x'/><evil a='");
    spec->project = g_strdup("p&q");
    spec->image = g_strdup("<img>");
    spec->vcpus = spec->max_vcpus = 1;
    spec->memory_mib = spec->max_memory_mib = 128;
    NcDomainEnv env = { .cloud_id = "c", .host = "h", .domain_type = "qemu",
                        .disk_path = "/d", .console_path = "/c" };
    g_autofree char *xml = nc_domain_xml_format(spec, &env);
    g_assert_null(strstr(xml, "<evil"));
    g_assert_null(strstr(xml, "<img>"));
    g_assert_nonnull(strstr(xml, "x&apos;/&gt;&lt;evil a=&apos;"));
    g_assert_nonnull(strstr(xml, "p&amp;q"));
}

int
main(int argc, char **argv)
{
    static const Case cases[] = {
        { "basic", NULL, "nestcloud", "qemu" },
        { "kernel-boot", "/var/lib/nestcloud/images/x.vmlinuz", "nestcloud", "qemu" },
        { "user-net", NULL, NULL, "qemu" },
        { "kvm-big", NULL, "nestcloud", "kvm" },
        { "one-vcpu", NULL, "nestcloud", "qemu" },
        { "sim", NULL, NULL, "test", "basic", true },
        { "sim-big", NULL, NULL, "test", "kvm-big", true },
        { "sim-one-vcpu", NULL, NULL, "test", "one-vcpu", true },
    };
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/domain/golden/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_golden);
    }
    g_test_add_data_func("/domain/bare-reads-as-full/basic", "basic", test_bare_reads_as_full);
    g_test_add_data_func("/domain/bare-reads-as-full/big", "kvm-big", test_bare_reads_as_full);
    g_test_add_data_func("/domain/bare-reads-as-full/one-vcpu", "one-vcpu",
                         test_bare_reads_as_full);
    g_test_add_func("/domain/escaping", test_escaping);
    return g_test_run();
}
