/* cmd_reservation.c: `nestcloud reservation VERB ...` */
#include "cli.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

#include <stdio.h>

static int
nc_reservation_create(NcCli *cli, int argc, char **argv)
{
    char *image = NULL, *memory = NULL, *start = NULL, *end = NULL, *host = NULL;
    int vcpus = 0;
    gboolean keep = FALSE;
    GOptionEntry entries[] = {
        { "image", 'i', 0, G_OPTION_ARG_STRING, &image, "Image name or id (required)", "IMG" },
        { "vcpus", 'c', 0, G_OPTION_ARG_INT, &vcpus, "vCPUs (default 1)", "N" },
        { "memory", 'm', 0, G_OPTION_ARG_STRING, &memory, "Memory, such as 512M (default 512M)", "SIZE" },
        { "start", 0, 0, G_OPTION_ARG_STRING, &start, "When the VM starts, RFC 3339 (required)", "TIME" },
        { "end", 0, 0, G_OPTION_ARG_STRING, &end, "When it ends, RFC 3339 (required)", "TIME" },
        { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "At the end stop the VM instead of deleting it", NULL },
        { "host", 0, 0, G_OPTION_ARG_STRING, &host, "Hold the room on this host (admin)", "HOST" },
        { NULL }
    };
    if (nc_cli_parse("NAME - reserve a VM for a window of time", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2 || !image || !start || !end) {
        fprintf(stderr, "nestcloud: usage: nestcloud reservation create NAME --image IMG "
                "--start TIME --end TIME\n");
        return 2;
    }
    g_autoptr(json_t) req = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", argv[1], "image", image,
                                      "start_at", start, "end_at", end, "keep", keep);
    if (vcpus)
        json_object_set_new(req, "vcpus", json_integer(vcpus));
    if (host)
        json_object_set_new(req, "host", json_string(host));
    if (memory) {
        g_autoptr(GError) err = NULL;
        uint64_t bytes = 0;
        if (nc_size_parse(memory, 20, &bytes, &err) < 0) {
            fprintf(stderr, "nestcloud: --memory: %s\n", err->message);
            return 2;
        }
        json_object_set_new(req, "memory_mib", json_integer((json_int_t)(bytes >> 20)));
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "POST", "/v1/reservations", req, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json)
        nc_cli_print_json(r);
    else
        printf("reserved %s on host %s from %s to %s\n", nc_json_str(r, "name"),
               nc_json_str(r, "host"), nc_json_str(r, "start_at"), nc_json_str(r, "end_at"));
    return 0;
}

static int
nc_reservation_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list reservations", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/reservations", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "STATE", "START", "END", "HOST", "VM", "ID", NULL);
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(r, "reservations"), i, res)
        nc_table_add(t, nc_json_str(res, "name"), nc_json_str(res, "state"),
                     nc_json_str(res, "start_at"), nc_json_str(res, "end_at"),
                     nc_json_str(res, "host"), nc_json_str(res, "vm"), nc_json_str(res, "id"));
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_reservation_one(NcCli *cli, int argc, char **argv, const char *method, const char *usage)
{
    if (nc_cli_parse(usage, NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one reservation name or id\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/reservations/%s", argv[1]);
    g_autoptr(json_t) r = nc_client_call(client, method, path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    nc_cli_print_json(r);
    return 0;
}

static int
nc_reservation_show(NcCli *cli, int argc, char **argv)
{
    return nc_reservation_one(cli, argc, argv, "GET", "NAME - show a reservation");
}

static int
nc_reservation_delete(NcCli *cli, int argc, char **argv)
{
    return nc_reservation_one(cli, argc, argv, "DELETE",
                              "NAME - cancel a reservation, or end it now");
}

const NcVerb nc_reservation_verbs[] = {
    { "create", nc_reservation_create, "NAME", "reserve a VM for a window of time" },
    { "list", nc_reservation_list, "", "list reservations" },
    { "show", nc_reservation_show, "NAME", "show one reservation" },
    { "delete", nc_reservation_delete, "NAME", "cancel it, or end it now" },
    { NULL }
};
