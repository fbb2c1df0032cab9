/* test_vm_conf.c: VM requests -> specs, resize requests, (de)serialisation. */
#include "conf/limits.h"
#include "conf/vm_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <string.h>

static NcVmSpec *
parse(const char *text, GError **err)
{
    g_autoptr(json_t) j = nc_json_parse_object(text, strlen(text), err);
    NcVmSpec *spec = NULL;
    if (!j || nc_vm_spec_from_request(j, &spec, err) < 0)
        return NULL;
    return spec;
}

static void
test_defaults(void)
{
    g_autoptr(NcVmSpec) s = parse("{\"name\": \"demo\", \"image\": \"test\"}", NULL);
    g_assert_nonnull(s);
    g_assert_cmpint(s->vcpus, ==, 1);
    g_assert_cmpint(s->max_vcpus, ==, NC_DEFAULT_MAX_VCPUS);
    g_assert_cmpint(s->memory_mib, ==, 512);
    g_assert_cmpint(s->max_memory_mib, ==, 2048);
    g_assert_cmpint(s->cpu_priority, ==, 5);
    g_assert_cmpint(s->disk_gib, ==, 0);
    g_assert_cmpstr(s->hostname, ==, "demo");
    g_assert_cmpuint(s->nics->len, ==, 1);
    NcNic *nic = g_ptr_array_index(s->nics, 0);
    g_assert_cmpstr(nic->network, ==, "default");
    g_assert_true(g_str_has_prefix(nic->mac, "52:54:00:"));
}

static void
test_full(void)
{
    g_autoptr(NcVmSpec) s = parse(
        "{\"name\": \"web-1\", \"image\": \"debian\", \"vcpus\": 2, \"max_vcpus\": 4,"
        " \"memory_mib\": 1024, \"max_memory_mib\": 4096, \"cpu_priority\": 9, \"disk_gib\": 20,"
        " \"hostname\": \"www\", \"ssh_keys\": [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm me\"],"
        " \"user_data\": \"#!/bin/sh\\necho hi\\n\","
        " \"nics\": [{\"network\": \"user\"}, {\"network\": \"default\", \"mac\": \"52:54:00:aa:bb:cc\"}]}",
        NULL);
    g_assert_nonnull(s);
    g_assert_cmpint(s->vcpus, ==, 2);
    g_assert_cmpint(s->max_memory_mib, ==, 4096);
    g_assert_cmpuint(s->nics->len, ==, 2);
    g_assert_cmpstr(((NcNic *)g_ptr_array_index(s->nics, 1))->mac, ==, "52:54:00:aa:bb:cc");
    g_assert_cmpuint(s->ssh_keys->len, ==, 1);

    /* round trip through the store's JSON */
    s->id = g_strdup("cf04171d-cd9b-4b82-a28f-67040d819ee2");
    s->project = g_strdup("admin");
    g_autoptr(json_t) j = nc_vm_spec_to_json(s);
    g_autoptr(NcVmSpec) back = nc_vm_spec_from_json(j, NULL);
    g_assert_nonnull(back);
    g_autoptr(json_t) j2 = nc_vm_spec_to_json(back);
    g_assert_true(json_equal(j, j2));
}

static void
test_bad(void)
{
    const char *bad[] = {
        "{\"image\": \"test\"}",
        "{\"name\": \"demo\"}",
        "{\"name\": \"Demo\", \"image\": \"test\"}",
        "{\"name\": \"a/b\", \"image\": \"test\"}",
        "{\"name\": \"..\", \"image\": \"test\"}",
        "{\"name\": \"<x>\", \"image\": \"test\"}",
        "{\"name\": \"o'x\", \"image\": \"test\"}",
        "{\"name\": \"demo\", \"image\": \"../../etc/shadow\"}",
        "{\"name\": \"demo\", \"image\": \"/etc/shadow\"}",
        "{\"name\": \"demo\", \"image\": \"test\", \"vcpus\": 0}",
        "{\"name\": \"demo\", \"image\": \"test\", \"vcpus\": -1}",
        "{\"name\": \"demo\", \"image\": \"test\", \"vcpus\": 1000}",
        "{\"name\": \"demo\", \"image\": \"test\", \"vcpus\": \"2\"}",
        "{\"name\": \"demo\", \"image\": \"test\", \"vcpus\": 4, \"max_vcpus\": 2}",
        "{\"name\": \"demo\", \"image\": \"test\", \"memory_mib\": 0}",
        "{\"name\": \"demo\", \"image\": \"test\", \"memory_mib\": -512}",
        "{\"name\": \"demo\", \"image\": \"test\", \"memory_mib\": 2048, \"max_memory_mib\": 1024}",
        "{\"name\": \"demo\", \"image\": \"test\", \"cpu_priority\": 11}",
        "{\"name\": \"demo\", \"image\": \"test\", \"disk_gib\": 0}",
        "{\"name\": \"demo\", \"image\": \"test\", \"colour\": \"blue\"}",
        "{\"name\": \"demo\", \"image\": \"test\", \"nics\": [{\"network\": \"evil\"}]}",
        "{\"name\": \"demo\", \"image\": \"test\", \"nics\": [{\"mac\": \"01:00:5e:00:00:01\"}]}",
        "{\"name\": \"demo\", \"image\": \"test\", \"ssh_keys\": [\"not a key\"]}",
        "{\"name\": \"demo\", \"image\": \"test\", \"hostname\": \"bad_host\"}",
        "{\"name\": \"demo\", \"image\": \"test\", \"user_data\": \"\\u0000x\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(NcVmSpec) s = parse(bad[i], &err);
        if (s)
            g_error("accepted: %s", bad[i]);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
    }
}

static void
test_resize(void)
{
    NcVmResize rz;
    g_autoptr(json_t) j = json_pack("{s:i, s:i}", "vcpus", 3, "memory_mib", 1024);
    g_assert_cmpint(nc_vm_resize_from_request(j, &rz, NULL), ==, 0);
    g_assert_cmpint(rz.vcpus, ==, 3);
    g_assert_cmpint(rz.memory_mib, ==, 1024);
    g_assert_cmpint(rz.cpu_priority, ==, -1);

    g_autoptr(json_t) empty = json_object();
    g_assert_cmpint(nc_vm_resize_from_request(empty, &rz, NULL), ==, -1);
    g_autoptr(json_t) name = json_pack("{s:s}", "name", "other");
    g_assert_cmpint(nc_vm_resize_from_request(name, &rz, NULL), ==, -1);

    g_autoptr(NcVmSpec) s = nc_vm_spec_new();
    s->max_vcpus = 2;
    s->max_memory_mib = 1024;
    NcVmResize over = { 3, -1, -1 };
    g_assert_cmpint(nc_vm_resize_check(s, &over, NULL), ==, -1);
    NcVmResize ok = { 2, 1024, 0 };
    g_assert_cmpint(nc_vm_resize_check(s, &ok, NULL), ==, 0);
}

static void
test_priority(void)
{
    g_assert_cmpuint(nc_vm_priority_shares(5), ==, 1024);
    g_assert_cmpuint(nc_vm_priority_shares(0), ==, 32);
    g_assert_cmpuint(nc_vm_priority_shares(10), ==, 32768);
    g_assert_cmpuint(nc_vm_priority_shares(6), ==, 2048);
    for (int p = 1; p <= 10; p++)
        g_assert_cmpuint(nc_vm_priority_shares(p), >, nc_vm_priority_shares(p - 1));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm_conf/defaults", test_defaults);
    g_test_add_func("/vm_conf/full", test_full);
    g_test_add_func("/vm_conf/bad", test_bad);
    g_test_add_func("/vm_conf/resize", test_resize);
    g_test_add_func("/vm_conf/priority", test_priority);
    return g_test_run();
}
