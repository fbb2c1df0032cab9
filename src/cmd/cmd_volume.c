/* cmd_volume.c: `nestcloud volume ...`, `nestcloud snapshot ...`, and the
 * storage verbs of `nestcloud vm` (attach, detach, snapshot). */
#include "cli.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

#include <stdio.h>
#include <string.h>

static int
nc_args_exactly(int argc, int n, const char *usage)
{
    if (argc != n + 1) {
        fprintf(stderr, "nestcloud: usage: nestcloud %s\n", usage);
        return -1;
    }
    return 0;
}

static int
nc_parse_gib(const char *opt, const char *text, int64_t *ret)
{
    g_autoptr(GError) err = NULL;
    uint64_t bytes = 0;
    if (nc_size_parse(text, 30, &bytes, &err) < 0) {
        fprintf(stderr, "nestcloud: %s: %s\n", opt, err->message);
        return -1;
    }
    if (bytes == 0 || bytes % (1ULL << 30)) {
        fprintf(stderr, "nestcloud: %s must be a whole, positive number of GiB\n", opt);
        return -1;
    }
    *ret = (int64_t)(bytes >> 30);
    return 0;
}

/* Sends a call that answers with an operation and waits for it. */
static int
nc_op_call(NcCli *cli, const char *method, const char *path, json_t *body, const char *label)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) op = nc_client_call(cli->client, method, path, body, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    return nc_cli_finish_op(cli, op, label);
}

/* ---- volume ---- */

static int
nc_volume_create(NcCli *cli, int argc, char **argv)
{
    char *size = NULL, *fs = NULL, *vm = NULL;
    GOptionEntry entries[] = {
        { "size", 's', 0, G_OPTION_ARG_STRING, &size, "Size, such as 10G (required)", "SIZE" },
        { "fs", 0, 0, G_OPTION_ARG_STRING, &fs, "ext4 (default), xfs or none", "FS" },
        { "vm", 0, 0, G_OPTION_ARG_STRING, &vm, "Make it on this VM's host, to attach there",
          "VM" },
        { NULL }
    };
    if (nc_cli_parse("NAME - make a formatted volume", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "volume create NAME --size 10G [--fs ext4|xfs|none] [--vm VM]")
        < 0 || !size)
        return 2;
    int64_t gib = 0;
    if (nc_parse_gib("--size", size, &gib) < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:s, s:I, s:s}", "name", argv[1], "size_gib",
                                      (json_int_t)gib, "filesystem", fs ? fs : "ext4");
    if (vm)
        json_object_set_new(req, "vm", json_string(vm));
    g_autofree char *label = g_strdup_printf("creating volume %s", argv[1]);
    return nc_op_call(cli, "POST", "/v1/volumes", req, label);
}

static int
nc_volume_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list volumes", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/volumes", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "SIZE", "FS", "STATE", "HOST", "ATTACHED TO", "DEVICE", "ID",
                              NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "volumes"), i, v) {
        g_autofree char *sz = g_strdup_printf("%" G_GINT64_FORMAT "G", nc_json_int(v, "size_gib", 0));
        nc_table_add(t, nc_json_str(v, "name"), sz, nc_json_str(v, "filesystem"),
                     nc_json_str(v, "state"), nc_json_str(v, "host"),
                     nc_json_str(v, "attached_to_name"),
                     nc_json_str(v, "device"), nc_json_str(v, "id"));
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_volume_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - show a volume", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "volume show NAME") < 0)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/volumes/%s", argv[1]);
    g_autoptr(json_t) r = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    nc_cli_print_json(r);
    return 0;
}

static int
nc_volume_resize(NcCli *cli, int argc, char **argv)
{
    char *size = NULL;
    gboolean shrink = FALSE;
    GOptionEntry entries[] = {
        { "size", 's', 0, G_OPTION_ARG_STRING, &size, "New size, such as 20G (required)", "SIZE" },
        { "shrink", 0, 0, G_OPTION_ARG_NONE, &shrink,
          "Allow a smaller size (detached ext4 only; refused if the data does not fit)", NULL },
        { NULL }
    };
    if (nc_cli_parse("NAME - grow a volume and its filesystem", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "volume resize NAME --size 20G [--shrink]") < 0 || !size)
        return 2;
    int64_t gib = 0;
    if (nc_parse_gib("--size", size, &gib) < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:I, s:b}", "size_gib", (json_int_t)gib, "shrink", shrink);
    g_autofree char *path = nc_cli_path("/v1/volumes/%s", argv[1]);
    g_autofree char *label = g_strdup_printf("resizing volume %s", argv[1]);
    return nc_op_call(cli, "PATCH", path, req, label);
}

static int
nc_volume_delete(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - delete a detached volume", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "volume delete NAME") < 0)
        return 2;
    g_autofree char *path = nc_cli_path("/v1/volumes/%s", argv[1]);
    g_autofree char *label = g_strdup_printf("deleting volume %s", argv[1]);
    return nc_op_call(cli, "DELETE", path, NULL, label);
}

const NcVerb nc_volume_verbs[] = {
    { "create", nc_volume_create, "NAME", "make a volume formatted with a filesystem" },
    { "list", nc_volume_list, "", "list volumes" },
    { "show", nc_volume_show, "NAME", "show one volume" },
    { "resize", nc_volume_resize, "NAME", "grow (live when attached) or shrink it" },
    { "delete", nc_volume_delete, "NAME", "delete a detached volume" },
    { NULL }
};

/* ---- vm attach | detach | snapshot ---- */

static int
nc_vm_attach(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("VM VOLUME - attach a volume (live when running)", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 2, "vm attach VM VOLUME") < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:s}", "volume", argv[2]);
    g_autofree char *path = nc_cli_path("/v1/vms/%s/volumes", argv[1]);
    g_autofree char *label = g_strdup_printf("attaching %s to %s", argv[2], argv[1]);
    return nc_op_call(cli, "POST", path, req, label);
}

static int
nc_vm_detach(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("VM VOLUME - detach a volume", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 2, "vm detach VM VOLUME") < 0)
        return 2;
    g_autofree char *vm = nc_client_escape(argv[1]);
    g_autofree char *vol = nc_client_escape(argv[2]);
    g_autofree char *path = g_strdup_printf("/v1/vms/%s/volumes/%s", vm, vol);
    g_autofree char *label = g_strdup_printf("detaching %s from %s", argv[2], argv[1]);
    return nc_op_call(cli, "DELETE", path, NULL, label);
}

static int
nc_vm_snapshot(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("VM NAME - snapshot a VM's disk (running or stopped)", NULL, &argc, &argv,
                     cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 2, "vm snapshot VM NAME") < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:s}", "name", argv[2]);
    g_autofree char *path = nc_cli_path("/v1/vms/%s/snapshots", argv[1]);
    g_autofree char *label = g_strdup_printf("snapshotting %s as %s", argv[1], argv[2]);
    return nc_op_call(cli, "POST", path, req, label);
}

const NcVerb nc_vm_storage_verbs[] = {
    { "attach", nc_vm_attach, "VM VOL", "attach a volume (live when running)" },
    { "detach", nc_vm_detach, "VM VOL", "detach a volume" },
    { "snapshot", nc_vm_snapshot, "VM NAME", "snapshot the VM's disk" },
    { NULL }
};

/* ---- snapshot ---- */

static int
nc_snapshot_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list snapshots", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/snapshots", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "VM", "STATE", "SIZE", "DISK", "CREATED", "ID", NULL);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "snapshots"), i, s) {
        g_autofree char *sz = nc_cli_mib(nc_json_int(s, "size_bytes", 0) >> 20);
        g_autofree char *disk = g_strdup_printf("%" G_GINT64_FORMAT "G", nc_json_int(s, "disk_gib", 0));
        nc_table_add(t, nc_json_str(s, "name"), nc_json_str(s, "vm_name"), nc_json_str(s, "state"),
                     sz, disk, nc_json_str(s, "created_at"), nc_json_str(s, "id"));
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_snapshot_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - show a snapshot", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "snapshot show NAME") < 0)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/snapshots/%s", argv[1]);
    g_autoptr(json_t) r = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    nc_cli_print_json(r);
    return 0;
}

static int
nc_snapshot_delete(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - delete a snapshot", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, 1, "snapshot delete NAME") < 0)
        return 2;
    g_autofree char *path = nc_cli_path("/v1/snapshots/%s", argv[1]);
    g_autofree char *label = g_strdup_printf("deleting snapshot %s", argv[1]);
    return nc_op_call(cli, "DELETE", path, NULL, label);
}

static int
nc_snapshot_act(NcCli *cli, int argc, char **argv, const char *action, const char *field,
                const char *usage)
{
    if (nc_cli_parse(usage, NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (nc_args_exactly(argc, field ? 2 : 1, usage) < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:s}", "action", action);
    if (field)
        json_object_set_new(req, field, json_string(argv[2]));
    g_autofree char *path = nc_cli_path("/v1/snapshots/%s/actions", argv[1]);
    g_autofree char *label = g_strdup_printf("%s snapshot %s", action, argv[1]);
    return nc_op_call(cli, "POST", path, req, label);
}

static int
nc_snapshot_restore(NcCli *cli, int argc, char **argv)
{
    return nc_snapshot_act(cli, argc, argv, "restore", NULL, "snapshot restore NAME");
}

static int
nc_snapshot_export(NcCli *cli, int argc, char **argv)
{
    return nc_snapshot_act(cli, argc, argv, "export", "volume",
                           "snapshot export NAME VOLUME");
}

static int
nc_snapshot_publish(NcCli *cli, int argc, char **argv)
{
    return nc_snapshot_act(cli, argc, argv, "publish", "image", "snapshot publish NAME IMAGE");
}

const NcVerb nc_snapshot_verbs[] = {
    { "list", nc_snapshot_list, "", "list snapshots" },
    { "show", nc_snapshot_show, "NAME", "show one snapshot" },
    { "restore", nc_snapshot_restore, "NAME", "put it back into its (stopped) VM" },
    { "export", nc_snapshot_export, "NAME VOL", "copy it into a new volume" },
    { "publish", nc_snapshot_publish, "NAME IMG", "make it a new image" },
    { "delete", nc_snapshot_delete, "NAME", "delete a snapshot" },
    { NULL }
};
