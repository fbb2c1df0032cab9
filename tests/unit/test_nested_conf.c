/* test_nested_conf.c: the nesting configuration and port forward requests. */
#include "conf/nested_conf.h"
#include "conf/port_conf.h"
#include "util/nc_error.h"
#include "util/nc_json.h"

#include <string.h>

#define VM_ID "5b1c0d4e-7a53-4bd0-9a39-3a3c2e0f9d11"

static void
test_full(void)
{
    g_autoptr(NcNestedConf) nc = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(nc_nested_conf_parse("[nested]\ndepth=2\ninstance_id=" VM_ID "\n"
                                         "parent_url=http://10.213.7.1:7400/\n"
                                         "parent_token=abc.def\nbackend=east-1\n",
                                         &nc, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(nc->depth, ==, 2);
    g_assert_cmpstr(nc->parent_url, ==, "http://10.213.7.1:7400");   /* slash dropped */
    g_assert_cmpstr(nc->parent_vm, ==, VM_ID);                      /* from instance_id */
    g_assert_cmpstr(nc->backend, ==, "east-1");
    g_autoptr(json_t) j = nc_nested_conf_to_api_json(nc);
    g_assert_null(json_object_get(j, "parent_token"));               /* never shown */
    g_assert_cmpint(json_integer_value(json_object_get(j, "depth")), ==, 2);
}

static void
test_defaults(void)
{
    g_autoptr(NcNestedConf) nc = NULL;
    g_assert_cmpint(nc_nested_conf_parse("[nested]\n", &nc, NULL), ==, 0);
    g_assert_cmpint(nc->depth, ==, 1);    /* the file exists: in a VM */
    g_assert_null(nc->parent_url);
    g_autoptr(NcNestedConf) none = NULL;
    g_assert_cmpint(nc_nested_conf_load("/nonexistent/nested.conf", &none, NULL), ==, 0);
    g_assert_cmpint(none->depth, ==, 0);
}

static void
test_bad(void)
{
    static const char *const bad[] = {
        "[nested]\ndepth=-1\n",
        "[nested]\ndepth=99\n",
        "[nested]\ndepth=one\n",
        "[nested]\nparent_url=ftp://x\nparent_token=t\nparent_vm=" VM_ID "\n",
        "[nested]\nparent_url=http://x\n",                          /* no token */
        "[nested]\nparent_url=http://x\nparent_token=t\n",          /* no VM */
        "[nested]\nparent_vm=not-a-uuid\n",
        "[nested]\nparent_token=has space\n",
        "not a key file",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(NcNestedConf) nc = NULL;
        g_autoptr(GError) err = NULL;
        g_assert_cmpint(nc_nested_conf_parse(bad[i], &nc, &err), ==, -1);
        g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
        g_assert_null(nc);
    }
}

static void
test_port_request(void)
{
    struct {
        const char *json;
        int ok, guest, host;
    } cases[] = {
        { "{\"guest_port\": 8080}", 1, 8080, 8080 },
        { "{\"guest_port\": 80, \"host_port\": 8080}", 1, 80, 8080 },
        { "{\"guest_port\": 65535, \"host_port\": 1024}", 1, 65535, 1024 },
        { "{\"guest_port\": 80}", 0, 0, 0 },
        { "{\"guest_port\": 0, \"host_port\": 8080}", 0, 0, 0 },
        { "{\"guest_port\": 80, \"host_port\": 1023}", 0, 0, 0 },
        { "{\"guest_port\": 80, \"host_port\": 65536}", 0, 0, 0 },
        { "{\"guest_port\": \"80\", \"host_port\": 8080}", 0, 0, 0 },
        { "{\"guest_port\": 80, \"host_port\": 8080, \"proto\": \"udp\"}", 0, 0, 0 },
        { "[]", 0, 0, 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(json_t) req = json_loads(cases[i].json, 0, NULL);
        g_autoptr(GError) err = NULL;
        int guest = -1, host = -1;
        int rc = nc_port_from_request(req, &guest, &host, &err);
        g_assert_cmpint(rc, ==, cases[i].ok ? 0 : -1);
        if (cases[i].ok) {
            g_assert_cmpint(guest, ==, cases[i].guest);
            g_assert_cmpint(host, ==, cases[i].host);
        } else {
            g_assert_cmpint(nc_error_code(err), ==, NC_ERR_INVALID_ARGUMENT);
            g_assert_cmpint(guest, ==, -1);   /* untouched on failure */
        }
    }
}

static void
test_public_port(void)
{
    g_autoptr(NcPort) p = nc_port_new();
    p->host_port = 8080;
    g_assert_cmpint(nc_port_public(p), ==, 8080);
    p->parent = json_pack("{s:i, s:i}", "host_port", 8080, "public_port", 18080);
    g_assert_cmpint(nc_port_public(p), ==, 18080);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nested_conf/full", test_full);
    g_test_add_func("/nested_conf/defaults", test_defaults);
    g_test_add_func("/nested_conf/bad", test_bad);
    g_test_add_func("/port_conf/request", test_port_request);
    g_test_add_func("/port_conf/public", test_public_port);
    return g_test_run();
}
