/* main.c: `nestcloud COMMAND ...` */
#include "nc_config.h"
#include "cmd.h"
#include "util/nc_log.h"
#include "util/nc_secret.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} nc_daemons[] = {
    { "up", nc_cmd_up, "central node and a local worker in one process (SQLite, embedded queue)" },
    { "serve", nc_cmd_serve, "the central node alone (API, store, scheduler)" },
    { "worker", nc_cmd_worker, "a satellite worker for one host" },
    { "market", nc_cmd_market, "the market: web UI and /market/v1 in front of backends" },
    { "purge", nc_cmd_purge, "remove every domain and file of a cloud (its state dir)" },
};

static const struct {
    const char *noun;
    const char *help;
} nc_nouns[] = {
    { "vm", "create, list, show, start, stop, reboot, force-stop, resize, delete, console,\n"
            "            attach, detach, snapshot" },
    { "image", "list, show, import, delete" },
    { "host", "list, show, set" },
    { "op", "list, show" },
    { "project", "list, create" },
    { "reservation", "create, list, show, delete: VMs scheduled for later" },
    { "volume", "create, list, show, resize, delete: block volumes" },
    { "snapshot", "list, show, restore, export, publish, delete" },
    { "market", "offers, offer, prices, bid, contracts, contract, end, allocations, start,\n"
                "            stop, statement: the market's client" },
    { "status", "the cloud at a glance" },
    { "events", "follow the event stream" },
};

char *
nc_cmd_default_state_dir(void)
{
    if (geteuid() == 0)
        return g_strdup("/var/lib/nestcloud");
    return g_build_filename(g_get_user_state_dir(), "nestcloud", NULL);
}

static void
nc_usage(FILE *out)
{
    fprintf(out, "Usage: nestcloud COMMAND [OPTIONS]\n\nDaemons:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(nc_daemons); i++)
        fprintf(out, "  %-9s %s\n", nc_daemons[i].name, nc_daemons[i].help);
    fprintf(out, "\nClient:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(nc_nouns); i++)
        fprintf(out, "  %-9s %s\n", nc_nouns[i].noun, nc_nouns[i].help);
    fprintf(out, "\n'nestcloud COMMAND --help' tells more.  Version %s.\n", NC_VERSION);
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    nc_log_init("nestcloud");
    if (nc_secret_init() < 0) {
        fprintf(stderr, "nestcloud: cannot initialise the random number source\n");
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        nc_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("nestcloud %s\n", NC_VERSION);
        return 0;
    }
    /* `market` is the daemon, and with a verb, the market's client */
    if (strcmp(argv[1], "market") == 0 && argc > 2 && argv[2][0] != '-')
        return nc_cmd_client("market", argc - 1, argv + 1);
    for (size_t i = 0; i < G_N_ELEMENTS(nc_daemons); i++) {
        if (strcmp(argv[1], nc_daemons[i].name) == 0)
            return nc_daemons[i].run(argc - 1, argv + 1);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(nc_nouns); i++) {
        if (strcmp(argv[1], nc_nouns[i].noun) == 0)
            return nc_cmd_client(argv[1], argc - 1, argv + 1);
    }
    fprintf(stderr, "nestcloud: unknown command '%s'\n\n", argv[1]);
    nc_usage(stderr);
    return 2;
}
