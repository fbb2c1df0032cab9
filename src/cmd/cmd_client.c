/* cmd_client.c: `nestcloud NOUN VERB ...`: dispatch and shared helpers. */
#include "cli.h"
#include "cmd.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *nc_opt_url, *nc_opt_token, *nc_opt_state_dir;

int
nc_cli_fail(const GError *err)
{
    fprintf(stderr, "nestcloud: %s\n", err->message);
    return 1;
}

void
nc_cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    puts(s);
    free(s);
}

char *
nc_cli_mib(json_int_t mib)
{
    return nc_size_format_mib((uint64_t)MAX(mib, 0));
}

char *
nc_cli_path(const char *fmt, const char *key)
{
    g_autofree char *e = nc_client_escape(key);
    return g_strdup_printf(fmt, e);
}

int
nc_cli_parse(const char *usage, GOptionEntry *entries, int *argc, char ***argv, NcCli *cli)
{
    gboolean json = FALSE, no_wait = FALSE;
    GOptionEntry common[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for machines", NULL },
        { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
          "Return once an operation is accepted", NULL },
        { "url", 0, 0, G_OPTION_ARG_STRING, &nc_opt_url,
          "API URL (default: $NESTCLOUD_URL, STATE_DIR/api.url)", "URL" },
        { "token", 0, 0, G_OPTION_ARG_STRING, &nc_opt_token,
          "API token (default: $NESTCLOUD_TOKEN, STATE_DIR/admin.token)", "TOKEN" },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &nc_opt_state_dir,
          "Where to find api.url and admin.token", "DIR" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(usage);
    g_autoptr(GError) err = NULL;
    if (entries)
        g_option_context_add_main_entries(ctx, entries, NULL);
    GOptionGroup *g = g_option_group_new("client", "Client options", "Client", NULL, NULL);
    g_option_group_add_entries(g, common);
    g_option_context_add_group(ctx, g);
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        fprintf(stderr, "nestcloud: %s\n", err->message);
        return -1;
    }
    cli->json = json;
    cli->no_wait = no_wait;
    g_autofree char *state = nc_opt_state_dir ? g_strdup(nc_opt_state_dir)
                                              : nc_cmd_default_state_dir();
    cli->client = cli->market ? nc_client_new_market(nc_opt_url, nc_opt_token, state)
                              : nc_client_new(nc_opt_url, nc_opt_token, state);
    return 0;
}

int
nc_cli_finish_op(NcCli *cli, json_t *op, const char *label)
{
    g_autoptr(json_t) cur = json_incref(op);
    bool tty = isatty(STDERR_FILENO);
    int64_t start = nc_mono_us();
    g_autofree char *last = NULL;

    while (!cli->no_wait) {
        const char *status = nc_json_str(cur, "status");
        if (g_strcmp0(status, "succeeded") == 0 || g_strcmp0(status, "failed") == 0)
            break;
        double secs = (double)(nc_mono_us() - start) / 1e6;
        if (tty)
            fprintf(stderr, "\r%s: %s (%.0fs)  ", label, status, secs);
        else if (g_strcmp0(last, status) != 0)
            fprintf(stderr, "%s: %s\n", label, status);
        g_free(last);
        last = g_strdup(status);
        g_usleep(200 * 1000);
        g_autoptr(GError) err = NULL;
        g_autofree char *path = nc_cli_path("/v1/operations/%s", nc_json_str(cur, "id"));
        json_t *next = nc_client_call(cli->client, "GET", path, NULL, NULL, &err);
        if (!next) {
            if (tty)
                fputc('\n', stderr);
            return nc_cli_fail(err);
        }
        json_decref(cur);
        cur = next;
    }
    if (tty && !cli->no_wait)
        fputs("\r\033[K", stderr);
    const char *status = nc_json_str(cur, "status");
    if (cli->json) {
        nc_cli_print_json(cur);
    } else if (cli->no_wait) {
        printf("%s: accepted as operation %s\n", label, nc_json_str(cur, "id"));
    } else if (g_strcmp0(status, "succeeded") == 0) {
        printf("%s: done\n", label);
    }
    if (g_strcmp0(status, "failed") == 0) {
        json_t *e = json_object_get(cur, "error");
        fprintf(stderr, "nestcloud: %s: %s\n", label,
                nc_json_str(e, "message") ? nc_json_str(e, "message") : "failed");
        return 1;
    }
    return 0;
}

/* ---- status and events: nouns without verbs ---- */

static int
nc_cmd_status(int argc, char **argv)
{
    NcCli cli = { 0 };
    if (nc_cli_parse("- the cloud at a glance", NULL, &argc, &argv, &cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli.client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) s = nc_client_call(client, "GET", "/v1/status", NULL, NULL, &err);
    if (!s)
        return nc_cli_fail(err);
    if (cli.json) {
        nc_cli_print_json(s);
        return 0;
    }
    json_t *hosts = json_object_get(s, "hosts"), *vms = json_object_get(s, "vms");
    json_t *cap = json_object_get(s, "capacity");
    printf("nestcloud %s at %s\n", nc_json_str(s, "version"), nc_client_url(client));
    printf("  accelerator  %s%s\n", nc_json_str(s, "accelerator") ? nc_json_str(s, "accelerator") : "none yet",
           json_is_true(json_object_get(s, "nested")) ? " (nested: this cloud runs inside a VM)" : "");
    printf("  store        %s, bus %s, scheduler %s\n", nc_json_str(s, "store"),
           nc_json_str(s, "bus"), nc_json_str(s, "scheduler"));
    printf("  hosts        %" G_GINT64_FORMAT " up of %" G_GINT64_FORMAT "\n",
           nc_json_int(hosts, "up", 0), nc_json_int(hosts, "total", 0));
    printf("  vms          %" G_GINT64_FORMAT, nc_json_int(vms, "total", 0));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(vms, "by_state"), k, v)
        printf(", %" JSON_INTEGER_FORMAT " %s", json_integer_value(v), k);
    g_autofree char *mem = nc_cli_mib(nc_json_int(cap, "memory_mib", 0));
    g_autofree char *amem = nc_cli_mib(nc_json_int(cap, "allocated_memory_mib", 0));
    printf("\n  allocated    %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " vCPUs, %s/%s memory\n",
           nc_json_int(cap, "allocated_vcpus", 0), nc_json_int(cap, "vcpus", 0), amem, mem);
    return 0;
}

static bool
nc_cmd_events_print(json_t *ev, void *data)
{
    NcCli *cli = data;
    if (cli->json) {
        char *s = json_dumps(ev, JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        json_t *d = json_object_get(ev, "data");
        json_t *obj = json_object_get(ev, "object");
        const char *name = nc_json_str(d, "name") ? nc_json_str(d, "name")
                                                   : nc_json_str(json_object_get(d, "target"), "name");
        const char *state = nc_json_str(d, "state") ? nc_json_str(d, "state") : nc_json_str(d, "status");
        printf("%s  %-16s %-10s %s %s\n", nc_json_str(ev, "time"), nc_json_str(ev, "type"),
               nc_json_str(obj, "kind"), name ? name : nc_json_str(obj, "id"),
               state ? state : "");
    }
    fflush(stdout);
    return true;
}

static int
nc_cmd_events(int argc, char **argv)
{
    NcCli cli = { 0 };
    gint64 after = -1;
    GOptionEntry entries[] = {
        { "after", 0, 0, G_OPTION_ARG_INT64, &after, "Replay events after this sequence number", "SEQ" },
        { NULL }
    };
    if (nc_cli_parse("- follow the event stream", entries, &argc, &argv, &cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli.client;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = after >= 0 ? g_strdup_printf("/v1/events?after=%" G_GINT64_FORMAT, after)
                                       : g_strdup("/v1/events");
    if (nc_client_stream(client, path, nc_cmd_events_print, &cli, &err) < 0)
        return nc_cli_fail(err);
    return 0;
}

static void
nc_cmd_verbs_usage(const char *noun, const NcVerb *verbs, FILE *out)
{
    fprintf(out, "Usage: nestcloud %s VERB [ARGS] [OPTIONS]\n\n", noun);
    for (const NcVerb *v = verbs; v->verb; v++)
        fprintf(out, "  %-11s %-8s %s\n", v->verb, v->args, v->summary);
    if (strcmp(noun, "vm") == 0)
        for (const NcVerb *v = nc_vm_storage_verbs; v->verb; v++)
            fprintf(out, "  %-11s %-8s %s\n", v->verb, v->args, v->summary);
    fprintf(out, "\n'nestcloud %s VERB --help' tells more.\n", noun);
}

int
nc_cmd_client(const char *noun, int argc, char **argv)
{
    static const struct {
        const char *noun;
        const NcVerb *verbs;
    } nouns[] = {
        { "vm", nc_vm_verbs },
        { "image", nc_image_verbs },
        { "host", nc_host_verbs },
        { "op", nc_op_verbs },
        { "project", nc_project_verbs },
        { "reservation", nc_reservation_verbs },
        { "volume", nc_volume_verbs },
        { "snapshot", nc_snapshot_verbs },
        { "market", nc_market_verbs },
    };
    if (strcmp(noun, "status") == 0)
        return nc_cmd_status(argc, argv);
    if (strcmp(noun, "events") == 0)
        return nc_cmd_events(argc, argv);
    for (size_t i = 0; i < G_N_ELEMENTS(nouns); i++) {
        if (strcmp(noun, nouns[i].noun) != 0)
            continue;
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            nc_cmd_verbs_usage(noun, nouns[i].verbs, argc < 2 ? stderr : stdout);
            return argc < 2 ? 2 : 0;
        }
        const NcVerb *tables[] = { nouns[i].verbs,
                                   strcmp(noun, "vm") == 0 ? nc_vm_storage_verbs : NULL };
        for (size_t k = 0; k < G_N_ELEMENTS(tables) && tables[k]; k++) {
            for (const NcVerb *v = tables[k]; v->verb; v++) {
                if (strcmp(argv[1], v->verb) == 0) {
                    NcCli cli = { .market = strcmp(noun, "market") == 0 };
                    return v->run(&cli, argc - 1, argv + 1);
                }
            }
        }
        fprintf(stderr, "nestcloud: '%s' is not a verb of '%s'\n\n", argv[1], noun);
        nc_cmd_verbs_usage(noun, nouns[i].verbs, stderr);
        return 2;
    }
    return 2;
}
