/* cmd_vm.c: `nestcloud vm VERB ...` */
#include "cli.h"
#include "cli/table.h"
#include "conf/limits.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Takes exactly one positional argument after parsing. */
static const char *
nc_vm_arg(int argc, char **argv, const char *what)
{
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one %s\n", what);
        return NULL;
    }
    return argv[1];
}

static int
nc_parse_mib(const char *opt, const char *text, int64_t *ret)
{
    g_autoptr(GError) err = NULL;
    uint64_t bytes = 0;
    if (!text)
        return 0;
    if (nc_size_parse(text, 20, &bytes, &err) < 0) {
        fprintf(stderr, "nestcloud: %s: %s\n", opt, err->message);
        return -1;
    }
    if (bytes % (1 << 20)) {
        fprintf(stderr, "nestcloud: %s must be a whole number of MiB\n", opt);
        return -1;
    }
    *ret = (int64_t)(bytes >> 20);
    return 0;
}

static int
nc_vm_create(NcCli *cli, int argc, char **argv)
{
    char *image = NULL, *memory = NULL, *max_memory = NULL, *disk = NULL, *hostname = NULL;
    char *user_data = NULL;
    char **ssh_keys = NULL, **nics = NULL;
    int vcpus = 0, max_vcpus = 0, prio = -1, count = 0;
    gboolean no_start = FALSE;
    char *snapshot = NULL, *host = NULL;
    GOptionEntry entries[] = {
        { "count", 'n', 0, G_OPTION_ARG_INT, &count,
          "Make N VMs alike, named NAME-1 ... NAME-N (all or none)", "N" },
        { "host", 0, 0, G_OPTION_ARG_STRING, &host,
          "Place it on this host, not where the scheduler would (admin)", "HOST" },
        { "snapshot", 0, 0, G_OPTION_ARG_STRING, &snapshot,
          "Launch from this snapshot instead of an image", "SNAP" },
        { "no-start", 0, 0, G_OPTION_ARG_NONE, &no_start, "Define the VM, do not boot it", NULL },
        { "image", 'i', 0, G_OPTION_ARG_STRING, &image, "Image name or id (required)", "IMG" },
        { "vcpus", 'c', 0, G_OPTION_ARG_INT, &vcpus, "vCPUs (default 1)", "N" },
        { "max-vcpus", 0, 0, G_OPTION_ARG_INT, &max_vcpus, "Ceiling for live growth (default max(vcpus, 8))", "N" },
        { "memory", 'm', 0, G_OPTION_ARG_STRING, &memory, "Memory, such as 512M or 1G (default 512M)", "SIZE" },
        { "max-memory", 0, 0, G_OPTION_ARG_STRING, &max_memory, "Ceiling for live growth (default 4x memory)", "SIZE" },
        { "cpu-priority", 0, 0, G_OPTION_ARG_INT, &prio, "0-10, 5 is the default", "P" },
        { "disk", 'd', 0, G_OPTION_ARG_STRING, &disk, "Root disk size, such as 10G (default: the image's)", "SIZE" },
        { "hostname", 0, 0, G_OPTION_ARG_STRING, &hostname, "Guest host name (default: the VM name)", "NAME" },
        { "ssh-key", 'k', 0, G_OPTION_ARG_STRING_ARRAY, &ssh_keys, "Public key, or a file holding one (repeatable)", "KEY" },
        { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &user_data, "File passed to the guest as user-data", "FILE" },
        { "nic", 0, 0, G_OPTION_ARG_STRING_ARRAY, &nics, "'default' (NAT network) or 'user' (repeatable)", "NET" },
        { NULL }
    };
    if (nc_cli_parse("NAME - create and start a VM", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name");
    if (!name)
        return 2;
    if (!image && !snapshot) {
        fprintf(stderr, "nestcloud: --image is required (see 'nestcloud image list')\n");
        return 2;
    }
    g_autoptr(json_t) req = json_pack("{s:s}", "name", name);
    if (image)
        json_object_set_new(req, "image", json_string(image));
    if (snapshot)
        json_object_set_new(req, "snapshot", json_string(snapshot));
    int64_t mib = 0;
    if (vcpus)
        json_object_set_new(req, "vcpus", json_integer(vcpus));
    if (max_vcpus)
        json_object_set_new(req, "max_vcpus", json_integer(max_vcpus));
    if (prio >= 0)
        json_object_set_new(req, "cpu_priority", json_integer(prio));
    if (memory) {
        if (nc_parse_mib("--memory", memory, &mib) < 0)
            return 2;
        json_object_set_new(req, "memory_mib", json_integer(mib));
    }
    if (max_memory) {
        if (nc_parse_mib("--max-memory", max_memory, &mib) < 0)
            return 2;
        json_object_set_new(req, "max_memory_mib", json_integer(mib));
    }
    if (disk) {
        g_autoptr(GError) err = NULL;
        uint64_t bytes = 0;
        if (nc_size_parse(disk, 30, &bytes, &err) < 0) {
            fprintf(stderr, "nestcloud: --disk: %s\n", err->message);
            return 2;
        }
        json_object_set_new(req, "disk_gib", json_integer((json_int_t)((bytes + (1ULL << 30) - 1) >> 30)));
    }
    if (hostname)
        json_object_set_new(req, "hostname", json_string(hostname));
    if (no_start)
        json_object_set_new(req, "start", json_false());
    if (count)
        json_object_set_new(req, "count", json_integer(count));
    if (host)
        json_object_set_new(req, "host", json_string(host));
    if (user_data) {
        g_autofree char *text = NULL;
        g_autoptr(GError) err = NULL;
        if (!g_file_get_contents(user_data, &text, NULL, &err)) {
            fprintf(stderr, "nestcloud: --user-data: %s\n", err->message);
            return 2;
        }
        json_object_set_new(req, "user_data", json_string(text));
    }
    if (ssh_keys) {
        json_t *keys = json_array();
        for (char **k = ssh_keys; *k; k++) {
            g_autofree char *text = NULL;
            if (access(*k, R_OK) == 0 && g_file_get_contents(*k, &text, NULL, NULL))
                json_array_append_new(keys, json_string(g_strstrip(text)));
            else
                json_array_append_new(keys, json_string(*k));
        }
        json_object_set_new(req, "ssh_keys", keys);
    }
    if (nics) {
        json_t *list = json_array();
        for (char **n = nics; *n; n++)
            json_array_append_new(list, json_pack("{s:s}", "network", *n));
        json_object_set_new(req, "nics", list);
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) op = nc_client_call(client, "POST", "/v1/vms", req, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    json_t *ops = json_object_get(op, "operations");
    if (!ops) {
        g_autofree char *label = g_strdup_printf("creating VM %s", name);
        return nc_cli_finish_op(cli, op, label);
    }
    /* several VMs: wait for each in turn */
    size_t i;
    json_t *one;
    int rc = 0;
    json_array_foreach(ops, i, one) {
        g_autofree char *label = g_strdup_printf("creating VM %s",
                                                 nc_json_str(json_object_get(one, "target"), "name"));
        rc = MAX(rc, nc_cli_finish_op(cli, one, label));
    }
    return rc;
}

static int
nc_vm_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list VMs", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/vms", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "STATE", "VCPUS", "MEMORY", "DISK", "IMAGE", "HOST",
                              "ADDRESS", "ID", NULL);
    size_t i;
    json_t *vm;
    json_array_foreach(json_object_get(r, "vms"), i, vm) {
        g_autofree char *vc = g_strdup_printf("%" G_GINT64_FORMAT, nc_json_int(vm, "vcpus", 0));
        g_autofree char *mem = nc_cli_mib(nc_json_int(vm, "memory_mib", 0));
        g_autofree char *dsk = g_strdup_printf("%" G_GINT64_FORMAT "G", nc_json_int(vm, "disk_gib", 0));
        nc_table_add(t, nc_json_str(vm, "name"), nc_json_str(vm, "state"), vc, mem, dsk,
                     nc_json_str(vm, "image_name"), nc_json_str(vm, "host"),
                     nc_json_str(vm, "address"), nc_json_str(vm, "id"));
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_vm_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - show a VM", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s", name);
    g_autoptr(json_t) vm = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!vm)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(vm);
        return 0;
    }
    g_autofree char *mem = nc_cli_mib(nc_json_int(vm, "memory_mib", 0));
    g_autofree char *maxmem = nc_cli_mib(nc_json_int(vm, "max_memory_mib", 0));
    printf("name          %s\nid            %s\nstate         %s (desired %s)\n",
           nc_json_str(vm, "name"), nc_json_str(vm, "id"), nc_json_str(vm, "state"),
           nc_json_str(vm, "desired"));
    printf("vcpus         %" G_GINT64_FORMAT " (max %" G_GINT64_FORMAT ")\n",
           nc_json_int(vm, "vcpus", 0), nc_json_int(vm, "max_vcpus", 0));
    printf("memory        %s (max %s)\ncpu priority  %" G_GINT64_FORMAT "\n", mem, maxmem,
           nc_json_int(vm, "cpu_priority", 5));
    printf("disk          %" G_GINT64_FORMAT "G\nimage         %s\nhost          %s\n",
           nc_json_int(vm, "disk_gib", 0),
           nc_json_str(vm, "image_name") ? nc_json_str(vm, "image_name") : nc_json_str(vm, "image"),
           nc_json_str(vm, "host") ? nc_json_str(vm, "host") : "-");
    size_t i;
    json_t *nic;
    json_array_foreach(json_object_get(vm, "nics"), i, nic)
        printf("nic%zu          %s %s %s\n", i, nc_json_str(nic, "network"), nc_json_str(nic, "mac"),
               nc_json_str(nic, "address") ? nc_json_str(nic, "address") : "(no address yet)");
    if (nc_json_str(vm, "placement"))
        printf("placement     %s\n", nc_json_str(vm, "placement"));
    if (nc_json_str(vm, "error"))
        printf("error         %s\n", nc_json_str(vm, "error"));
    if (nc_json_str(vm, "operation"))
        printf("operation     %s (in progress)\n", nc_json_str(vm, "operation"));
    printf("created       %s\n", nc_json_str(vm, "created_at"));
    return 0;
}

static int
nc_vm_action(NcCli *cli, int argc, char **argv, const char *action, const char *verbing)
{
    int timeout = -1;
    GOptionEntry entries[] = {
        { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
          "Seconds to wait for a clean shutdown before forcing (default 60)", "S" },
        { NULL }
    };
    g_autofree char *usage = g_strdup_printf("NAME - %s a VM", action);
    bool timed = strcmp(action, "stop") == 0 || strcmp(action, "reboot") == 0;
    if (nc_cli_parse(usage, timed ? entries : NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:s}", "action", action);
    if (timeout >= 0)
        json_object_set_new(req, "timeout", json_integer(timeout));
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s/actions", name);
    g_autoptr(json_t) op = nc_client_call(client, "POST", path, req, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    g_autofree char *label = g_strdup_printf("%s VM %s", verbing, name);
    return nc_cli_finish_op(cli, op, label);
}

static int
nc_vm_start(NcCli *cli, int argc, char **argv)
{
    return nc_vm_action(cli, argc, argv, "start", "starting");
}

static int
nc_vm_stop(NcCli *cli, int argc, char **argv)
{
    return nc_vm_action(cli, argc, argv, "stop", "stopping");
}

static int
nc_vm_reboot(NcCli *cli, int argc, char **argv)
{
    return nc_vm_action(cli, argc, argv, "reboot", "rebooting");
}

static int
nc_vm_force_stop(NcCli *cli, int argc, char **argv)
{
    return nc_vm_action(cli, argc, argv, "force-stop", "forcing off");
}

static int
nc_vm_delete(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - delete a VM with its disk", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s", name);
    g_autoptr(json_t) op = nc_client_call(client, "DELETE", path, NULL, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    g_autofree char *label = g_strdup_printf("deleting VM %s", name);
    return nc_cli_finish_op(cli, op, label);
}

static int
nc_vm_resize(NcCli *cli, int argc, char **argv)
{
    char *memory = NULL;
    int vcpus = 0, prio = -1;
    GOptionEntry entries[] = {
        { "vcpus", 'c', 0, G_OPTION_ARG_INT, &vcpus, "New vCPU count (up to max-vcpus)", "N" },
        { "memory", 'm', 0, G_OPTION_ARG_STRING, &memory, "New memory size (up to max-memory)", "SIZE" },
        { "cpu-priority", 0, 0, G_OPTION_ARG_INT, &prio, "New CPU priority, 0-10", "P" },
        { NULL }
    };
    if (nc_cli_parse("NAME - change vCPUs, memory or CPU priority, live when running",
                     entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autoptr(json_t) req = json_object();
    if (vcpus)
        json_object_set_new(req, "vcpus", json_integer(vcpus));
    if (prio >= 0)
        json_object_set_new(req, "cpu_priority", json_integer(prio));
    if (memory) {
        int64_t mib = 0;
        if (nc_parse_mib("--memory", memory, &mib) < 0)
            return 2;
        json_object_set_new(req, "memory_mib", json_integer(mib));
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s", name);
    g_autoptr(json_t) op = nc_client_call(client, "PATCH", path, req, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    g_autofree char *label = g_strdup_printf("resizing VM %s", name);
    return nc_cli_finish_op(cli, op, label);
}

/* A port number argument, 1..65535. */
static int
nc_vm_port_arg(const char *what, const char *text)
{
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || v < 1 || v > 65535) {
        fprintf(stderr, "nestcloud: %s must be a port number, 1..65535\n", what);
        return -1;
    }
    return (int)v;
}

static int
nc_vm_expose(NcCli *cli, int argc, char **argv)
{
    int host_port = 0;
    GOptionEntry entries[] = {
        { "port", 'p', 0, G_OPTION_ARG_INT, &host_port,
          "Host port (1024-65535; default: GUEST_PORT); in a nested cloud, the same port"
          " is opened at every level up to the outermost host", "PORT" },
        { NULL }
    };
    if (nc_cli_parse("NAME GUEST_PORT - forward a host port to a port of the VM", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 3) {
        fprintf(stderr, "nestcloud: give a VM name or id and a guest port\n");
        return 2;
    }
    int guest = nc_vm_port_arg("GUEST_PORT", argv[2]);
    if (guest < 0)
        return 2;
    g_autoptr(json_t) req = json_pack("{s:i}", "guest_port", guest);
    if (host_port)
        json_object_set_new(req, "host_port", json_integer(host_port));
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s/ports", argv[1]);
    g_autoptr(json_t) op = nc_client_call(client, "POST", path, req, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    json_t *port = json_object_get(op, "port");
    g_autofree char *label = g_strdup_printf("forwarding port %" G_GINT64_FORMAT " to %s:%d",
                                             nc_json_int(port, "public_port", 0), argv[1], guest);
    int rc = nc_cli_finish_op(cli, op, label);
    if (rc == 0 && !cli->json)
        printf("public port %" G_GINT64_FORMAT " -> %s port %d\n",
               nc_json_int(port, "public_port", 0), argv[1], guest);
    return rc;
}

static int
nc_vm_unexpose(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME HOST_PORT - remove a port forward", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 3) {
        fprintf(stderr, "nestcloud: give a VM name or id and a host port\n");
        return 2;
    }
    int hp = nc_vm_port_arg("HOST_PORT", argv[2]);
    if (hp < 0)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *base = nc_cli_path("/v1/vms/%s/ports", argv[1]);
    g_autofree char *path = g_strdup_printf("%s/%d", base, hp);
    g_autoptr(json_t) op = nc_client_call(client, "DELETE", path, NULL, NULL, &err);
    if (!op)
        return nc_cli_fail(err);
    g_autofree char *label = g_strdup_printf("removing the forward of port %d", hp);
    return nc_cli_finish_op(cli, op, label);
}

static int
nc_vm_ports(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - list the VM's port forwards", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/vms/%s/ports", name);
    g_autoptr(json_t) r = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("HOST_PORT", "GUEST_PORT", "PUBLIC_PORT", "STATE", "HOST", "ERROR",
                              NULL);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "ports"), i, p) {
        g_autofree char *hp = g_strdup_printf("%" G_GINT64_FORMAT, nc_json_int(p, "host_port", 0));
        g_autofree char *gp = g_strdup_printf("%" G_GINT64_FORMAT, nc_json_int(p, "guest_port", 0));
        g_autofree char *pp = g_strdup_printf("%" G_GINT64_FORMAT, nc_json_int(p, "public_port", 0));
        const char *e = nc_json_str(p, "error");
        nc_table_add(t, hp, gp, pp, nc_json_str(p, "state"), nc_json_str(p, "host_name"),
                     e ? e : "-");
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_vm_console(NcCli *cli, int argc, char **argv)
{
    int tail = 64 * 1024;
    gboolean follow = FALSE;
    GOptionEntry entries[] = {
        { "tail", 0, 0, G_OPTION_ARG_INT, &tail, "Bytes from the end (default 65536)", "N" },
        { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow, "Keep printing what the guest writes", NULL },
        { NULL }
    };
    if (nc_cli_parse("NAME - print the VM's serial console log", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    const char *name = nc_vm_arg(argc, argv, "VM name or id");
    if (!name)
        return 2;
    g_autofree char *base = nc_cli_path("/v1/vms/%s/console", name);
    json_int_t printed = -1;
    do {
        g_autoptr(GError) err = NULL;
        g_autofree char *path = g_strdup_printf("%s?tail=%d", base, MAX(tail, 1));
        g_autoptr(json_t) r = nc_client_call(client, "GET", path, NULL, NULL, &err);
        if (!r)
            return nc_cli_fail(err);
        json_int_t size = nc_json_int(r, "size", 0);
        const char *text = nc_json_str(r, "console");
        if (cli->json && !follow) {
            nc_cli_print_json(r);
            return 0;
        }
        if (printed < 0) {
            fputs(text, stdout);
        } else if (size > printed) {
            size_t len = strlen(text);
            size_t fresh = (size_t)MIN((json_int_t)len, size - printed);
            fputs(text + len - fresh, stdout);
        }
        printed = size;
        fflush(stdout);
        if (follow)
            g_usleep(500 * 1000);
    } while (follow);
    return 0;
}

const NcVerb nc_vm_verbs[] = {
    { "create", nc_vm_create, "NAME", "create and start a VM from an image" },
    { "list", nc_vm_list, "", "list VMs" },
    { "show", nc_vm_show, "NAME", "show one VM" },
    { "start", nc_vm_start, "NAME", "start a stopped VM" },
    { "stop", nc_vm_stop, "NAME", "ACPI shutdown, forced off after --timeout" },
    { "reboot", nc_vm_reboot, "NAME", "clean stop, then start" },
    { "force-stop", nc_vm_force_stop, "NAME", "power off at once" },
    { "resize", nc_vm_resize, "NAME", "change vCPUs, memory, CPU priority (live)" },
    { "delete", nc_vm_delete, "NAME", "delete a VM, its disk and seed" },
    { "console", nc_vm_console, "NAME", "print the serial console log" },
    { "expose", nc_vm_expose, "NAME GUEST_PORT", "forward a host port (--port) to the VM, up to the outermost cloud" },
    { "unexpose", nc_vm_unexpose, "NAME HOST_PORT", "remove a port forward" },
    { "ports", nc_vm_ports, "NAME", "list the VM's port forwards" },
    { NULL }
};
