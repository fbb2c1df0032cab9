/* cmd_host.c: `nestcloud host VERB ...` */
#include "cli.h"
#include "util/nc_json.h"

#include <stdio.h>

static int
nc_host_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list hosts with capacity and allocation", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/hosts", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "STATE", "ACCEL", "VCPUS", "MEMORY", "DISK", "VMS", "ID", NULL);
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(r, "hosts"), i, h) {
        json_t *a = json_object_get(h, "allocated"), *l = json_object_get(h, "limit");
        g_autofree char *vc = g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                              nc_json_int(a, "vcpus", 0), nc_json_int(l, "vcpus", 0));
        g_autofree char *am = nc_cli_mib(nc_json_int(a, "memory_mib", 0));
        g_autofree char *lm = nc_cli_mib(nc_json_int(l, "memory_mib", 0));
        g_autofree char *mem = g_strdup_printf("%s/%s", am, lm);
        g_autofree char *dsk = g_strdup_printf("%" G_GINT64_FORMAT "G/%" G_GINT64_FORMAT "G",
                                               nc_json_int(a, "disk_gib", 0), nc_json_int(l, "disk_gib", 0));
        g_autofree char *vms = g_strdup_printf("%zu", json_array_size(json_object_get(h, "vms")));
        bool disabled = json_is_false(json_object_get(h, "enabled"));
        g_autofree char *state = g_strdup_printf("%s%s", nc_json_str(h, "state"),
                                                 disabled ? ",disabled" : "");
        nc_table_add(t, nc_json_str(h, "name"), state, nc_json_str(h, "accel"),
                     vc, mem, dsk, vms, nc_json_str(h, "id"));
    }
    nc_table_print(t, stdout);
    return 0;
}

/* Sends @method (with @query, "" or "?...", and @req, nullable) to the one
 * host named in @argv; its answer goes to @ret.  Returns: the exit code. */
static int
nc_host_request(NcCli *cli, int argc, char **argv, const char *method, const char *tail,
                json_t *req, json_t **ret)
{
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one host name or id\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *one = nc_cli_path("/v1/hosts/%s", argv[1]);
    g_autofree char *path = g_strconcat(one, tail, NULL);   /* "/evacuate", "?force=true" */
    *ret = nc_client_call(client, method, path, req, NULL, &err);
    return *ret ? 0 : nc_cli_fail(err);
}

static int
nc_host_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - show a host", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) h = NULL;
    int rc = nc_host_request(cli, argc, argv, "GET", "", NULL, &h);
    if (rc == 0)
        nc_cli_print_json(h);
    return rc;
}

/* PATCHes @req onto the one host named in @argv and prints it. */
static int
nc_host_patch(NcCli *cli, int argc, char **argv, json_t *req)
{
    g_autoptr(json_t) h = NULL;
    int rc = nc_host_request(cli, argc, argv, "PATCH", "", req, &h);
    if (rc == 0)
        nc_cli_print_json(h);
    return rc;
}

static int
nc_host_set(NcCli *cli, int argc, char **argv)
{
    double cpu = 0, ram = 0, disk = 0;
    int reserved = -1;
    GOptionEntry entries[] = {
        { "cpu-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &cpu, "vCPU overcommit ratio", "R" },
        { "ram-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &ram, "Memory overcommit ratio", "R" },
        { "disk-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &disk, "Disk overcommit ratio", "R" },
        { "reserved-memory", 0, 0, G_OPTION_ARG_INT, &reserved, "MiB kept for the host", "MIB" },
        { NULL }
    };
    if (nc_cli_parse("NAME - change a host's overcommit and reservation (admin)", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) req = json_object();
    if (cpu > 0)
        json_object_set_new(req, "cpu_ratio", json_real(cpu));
    if (ram > 0)
        json_object_set_new(req, "ram_ratio", json_real(ram));
    if (disk > 0)
        json_object_set_new(req, "disk_ratio", json_real(disk));
    if (reserved >= 0)
        json_object_set_new(req, "reserved_memory_mib", json_integer(reserved));
    return nc_host_patch(cli, argc, argv, req);
}

static int
nc_host_disable(NcCli *cli, int argc, char **argv)
{
    g_autofree char *reason = NULL;
    GOptionEntry entries[] = {
        { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "Why (shown with the host)", "TEXT" },
        { NULL }
    };
    if (nc_cli_parse("NAME - place no new VMs on a host; its VMs stay (admin)", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:b}", "enabled", false);
    if (reason)
        json_object_set_new(req, "disabled_reason", json_string(reason));
    return nc_host_patch(cli, argc, argv, req);
}

static int
nc_host_enable(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - let the scheduler place VMs on a host again (admin)", NULL,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:b}", "enabled", true);
    return nc_host_patch(cli, argc, argv, req);
}

static int
nc_host_delete(NcCli *cli, int argc, char **argv)
{
    gboolean force = FALSE;
    GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force,
          "The host is gone for good: its VMs are lost, its operations and reservations fail",
          NULL },
        { NULL }
    };
    if (nc_cli_parse("NAME - forget a host that is down and holds nothing (admin)", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) h = NULL;
    int rc = nc_host_request(cli, argc, argv, "DELETE", force ? "?force=true" : "", NULL,
                             &h);
    if (rc == 0)
        printf("host %s removed; %" G_GINT64_FORMAT " VMs lost\n", nc_json_str(h, "name"),
               nc_json_int(h, "vms_lost", 0));
    return rc;
}

static int
nc_host_evacuate(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - make the VMs of a host that is down again on other hosts, from "
                     "their images (admin)", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(json_t) h = NULL;
    int rc = nc_host_request(cli, argc, argv, "POST", "/evacuate", NULL, &h);
    if (rc != 0)
        return rc;
    json_t *ops = json_object_get(h, "operations");
    json_t *left = json_object_get(h, "left");
    size_t i;
    json_t *x;
    printf("host %s evacuated and disabled: %zu VM%s moving, %zu left\n", nc_json_str(h, "name"),
           json_array_size(ops), json_array_size(ops) == 1 ? "" : "s", json_array_size(left));
    json_array_foreach(ops, i, x)
        printf("  %s  moving (operation %s)\n",
               nc_json_str(json_object_get(x, "target"), "name"), nc_json_str(x, "id"));
    json_array_foreach(left, i, x)
        printf("  %s  left: %s\n", nc_json_str(x, "name"), nc_json_str(x, "reason"));
    json_array_foreach(json_object_get(h, "reservations"), i, x)
        printf("  reservation %s  moved to host %s\n", nc_json_str(x, "name"),
               nc_json_str(x, "host"));
    json_array_foreach(json_object_get(h, "reservations_left"), i, x)
        printf("  reservation %s  left: %s\n", nc_json_str(x, "name"), nc_json_str(x, "reason"));
    return 0;
}

const NcVerb nc_host_verbs[] = {
    { "list", nc_host_list, "", "list hosts with capacity and allocation" },
    { "show", nc_host_show, "NAME", "show one host" },
    { "set", nc_host_set, "NAME", "change overcommit ratios and reservation" },
    { "disable", nc_host_disable, "NAME", "place no new VMs on a host (maintenance)" },
    { "enable", nc_host_enable, "NAME", "let the scheduler use a host again" },
    { "delete", nc_host_delete, "NAME", "forget a host that is down and holds nothing" },
    { "evacuate", nc_host_evacuate, "NAME", "make a down host's VMs again on other hosts" },
    { NULL }
};
