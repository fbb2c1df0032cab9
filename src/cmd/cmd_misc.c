/* cmd_misc.c: `nestcloud op ...` and `nestcloud project ...` */
#include "cli.h"
#include "util/nc_json.h"

#include <stdio.h>

static int
nc_op_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list recent operations", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/operations", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("ID", "KIND", "STATUS", "TARGET", "CREATED", "ERROR", NULL);
    size_t i;
    json_t *op;
    json_array_foreach(json_object_get(r, "operations"), i, op) {
        json_t *target = json_object_get(op, "target");
        nc_table_add(t, nc_json_str(op, "id"), nc_json_str(op, "kind"), nc_json_str(op, "status"),
                     nc_json_str(target, "name"), nc_json_str(op, "created_at"),
                     nc_json_str(json_object_get(op, "error"), "message"));
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_op_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("ID - show an operation", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one operation id\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/operations/%s", argv[1]);
    g_autoptr(json_t) op = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    nc_cli_print_json(op);
    return 0;
}

static int
nc_project_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list projects (admin)", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/projects", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "ID", "CREATED", NULL);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "projects"), i, p)
        nc_table_add(t, nc_json_str(p, "name"), nc_json_str(p, "id"), nc_json_str(p, "created_at"));
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_project_create(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - create a project and its token (admin)", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one project name\n");
        return 2;
    }
    g_autoptr(json_t) req = json_pack("{s:s}", "name", argv[1]);
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "POST", "/v1/projects", req, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json)
        nc_cli_print_json(r);
    else
        printf("created project %s (%s)\ntoken: %s\n(the token is shown only now)\n",
               nc_json_str(r, "name"), nc_json_str(r, "id"), nc_json_str(r, "token"));
    return 0;
}

const NcVerb nc_op_verbs[] = {
    { "list", nc_op_list, "", "list recent operations" },
    { "show", nc_op_show, "ID", "show one operation" },
    { NULL }
};

const NcVerb nc_project_verbs[] = {
    { "list", nc_project_list, "", "list projects" },
    { "create", nc_project_create, "NAME", "create a project; prints its token once" },
    { NULL }
};
