/* test_hv_sim.c: the simulated hypervisor driver (hv_sim.c over libvirt's
 * test driver): what it launches, lists, reports and deletes. */
#include "hv/hv.h"
#include "hv/hv_priv.h"
#include "util/nc_error.h"
#include "util/nc_valid.h"

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

typedef struct {
    char *dir;
    char *uri;
    NcHv *hv;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    (void)data;
    g_autoptr(GError) err = NULL;
    f->dir = g_dir_make_tmp("nc-test-hv-sim-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *node = g_build_filename(f->dir, "node.xml", NULL);
    const char *xml =
        "<node>\n  <cpu><mhz>2000</mhz><model>sim</model><active>8</active><nodes>1</nodes>"
        "<sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>\n"
        "  <memory>8388608</memory>\n</node>\n";
    g_assert_true(g_file_set_contents(node, xml, -1, NULL));
    f->uri = g_strconcat("test://", node, NULL);
    NcHvConfig hc = { .uri = f->uri, .cloud_id = "0192e3a4-5b6c-7d8e-9f01-23456789abcd",
                      .host_name = "sim-0000", .state_dir = f->dir,
                      .instances_dir = f->dir, .image_dir = f->dir, .volume_dir = f->dir,
                      .accel = "auto", .network = "none", .capacity_vcpus = 8,
                      .capacity_memory_mib = 8192, .capacity_disk_gib = 100 };
    f->hv = nc_hv_open(&nc_hv_sim_driver, &hc, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f->hv);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    (void)data;
    nc_hv_close(f->hv);
    g_autofree char *node = g_build_filename(f->dir, "node.xml", NULL);
    g_unlink(node);
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->uri);
}

static NcVmSpec *
spec_new(int i)
{
    NcVmSpec *s = nc_vm_spec_new();
    s->id = nc_uuid_new();
    s->name = g_strdup_printf("sim-%d", i);
    s->project = g_strdup("default");
    s->image = g_strdup("3f0c8a4e-7d1b-4c55-9a86-0d1e2f3a4b5c");
    s->vcpus = s->max_vcpus = 1;
    s->memory_mib = s->max_memory_mib = 64;
    s->cpu_priority = 5;
    s->disk_gib = 1;
    return s;
}

static const NcDomainStatus *
find_status(GPtrArray *list, const char *id)
{
    for (guint i = 0; i < list->len; i++) {
        const NcDomainStatus *s = g_ptr_array_index(list, i);
        if (strcmp(s->id, id) == 0)
            return s;
    }
    return NULL;
}

/* Launched VMs are listed under their ids, running, and each one's state
 * reads "running", as the launch said; a deleted one is gone from both.  (The test driver's
 * domain stats carry no vCPU or balloon figures: the sizes stay 0.) */
static void
test_launch_list_delete(Fixture *f, gconstpointer data)
{
    (void)data;
    const NcHvDriver *d = nc_hv_driver(f->hv);
    NcImage img = { .id = "3f0c8a4e-7d1b-4c55-9a86-0d1e2f3a4b5c", .name = "test",
                    .format = "qcow2", .file = "test.qcow2" };
    g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func((GDestroyNotify)nc_vm_spec_free);
    g_autoptr(GError) err = NULL;
    for (int i = 0; i < 3; i++) {
        NcVmSpec *s = spec_new(i);
        g_ptr_array_add(specs, s);
        /* the state the launch read on the way, asked for or not */
        g_autofree char *launched = NULL;
        g_assert_cmpint(d->vm_launch(f->hv, s, &img, i == 1 ? NULL : &launched, &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpstr(launched, ==, i == 1 ? NULL : "running");
    }

    g_autoptr(GPtrArray) list = d->vm_list(f->hv, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(list->len, ==, 3);
    for (guint i = 0; i < specs->len; i++) {
        const NcVmSpec *s = g_ptr_array_index(specs, i);
        const NcDomainStatus *st = find_status(list, s->id);
        g_assert_nonnull(st);
        g_assert_cmpstr(st->state, ==, "running");
        g_autofree char *state = NULL;
        g_assert_cmpint(d->vm_state(f->hv, s->id, &state, &err), ==, 0);
        g_assert_cmpstr(state, ==, "running");
    }

    const NcVmSpec *gone = g_ptr_array_index(specs, 1);
    g_assert_cmpint(d->vm_delete(f->hv, gone->id, &err), ==, 0);
    g_assert_no_error(err);
    g_autoptr(GPtrArray) after = d->vm_list(f->hv, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(after->len, ==, 2);
    g_assert_null(find_status(after, gone->id));
    g_autofree char *state = NULL;
    g_assert_cmpint(d->vm_state(f->hv, gone->id, &state, &err), ==, 0);
    g_assert_cmpstr(state, ==, "missing");
}

/* A domain without this cloud's mark, on the same host, is neither listed
 * nor read as one of ours. */
static void
test_foreign_domain(Fixture *f, gconstpointer data)
{
    (void)data;
    const NcHvDriver *d = nc_hv_driver(f->hv);
    g_autoptr(GError) err = NULL;
    const char *uuid = "0192e3a4-0000-7000-8000-00000000f00d";
    g_autofree char *xml = g_strdup_printf(
        "<domain type='test'><name>foreign</name><uuid>%s</uuid>"
        "<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>",
        uuid);
    virConnectPtr conn = nc__hv_conn(f->hv, &err);
    g_assert_no_error(err);
    virDomainPtr dom = virDomainCreateXML(conn, xml, 0);
    nc__hv_conn_done(conn);
    g_assert_nonnull(dom);
    virDomainFree(dom);

    g_autoptr(GPtrArray) list = d->vm_list(f->hv, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(list->len, ==, 0);
    g_autofree char *state = NULL;
    g_assert_cmpint(d->vm_state(f->hv, uuid, &state, &err), ==, -1);
    g_assert_error(err, NC_ERROR, NC_ERR_CONFLICT);
    g_assert_null(state);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    virSetErrorFunc(NULL, NULL);
    g_test_add("/hv_sim/launch-list-delete", Fixture, NULL, fixture_setup,
               test_launch_list_delete, fixture_teardown);
    g_test_add("/hv_sim/foreign-domain", Fixture, NULL, fixture_setup, test_foreign_domain,
               fixture_teardown);
    return g_test_run();
}
