/* cmd_market.c: `nestcloud market`, the market daemon, and the market that
 * `nestcloud up` runs beside the API. */
#include "nc_config.h"
#include "cmd.h"
#include "market/market.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_log.h"

#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static gboolean
nc_cmd_market_on_signal(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static void
nc_cmd_market_write_url(const char *state_dir, NcMarket *m)
{
    g_autofree char *path = g_build_filename(state_dir, "market.url", NULL);
    g_autofree char *line = g_strconcat(nc_market_url(m), "\n", NULL);
    nc_fs_write_atomic(path, line, strlen(line), 0644, NULL);
}

/* Seconds from the command line to milliseconds; 0 stays "the default". */
static int
nc_cmd_market_ms(double s)
{
    if (s <= 0 || !isfinite(s))
        return 0;
    return (int)MIN(llround(s * 1000), 30LL * 24 * 3600 * 1000);
}

int
nc_cmd_market(int argc, char **argv)
{
    g_autofree char *listen = NULL, *db = NULL, *state_dir = NULL, *web_dir = NULL;
    double clearing = 0, notice = -1, probe = 0, sync = 0, launch = 0;
    GOptionEntry entries[] = {
        { "listen", 0, 0, G_OPTION_ARG_STRING, &listen,
          "Address of the web UI and /market/v1 (default 127.0.0.1:7401)", "ADDR:PORT" },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
          "Directory for market.db and market.key (default as for `up`)", "DIR" },
        { "db", 0, 0, G_OPTION_ARG_STRING, &db,
          "The market's SQLite store (default STATE_DIR/market.db)", "PATH" },
        { "web-dir", 0, 0, G_OPTION_ARG_FILENAME, &web_dir,
          "The web UI's files (default: the built or installed ones)", "DIR" },
        { "clearing-interval", 0, 0, G_OPTION_ARG_DOUBLE, &clearing,
          "Seconds between spot clearings (default 60)", "S" },
        { "notice", 0, 0, G_OPTION_ARG_DOUBLE, &notice,
          "Seconds of notice before an outbid allocation stops (default 120; 0: none)", "S" },
        { "probe-interval", 0, 0, G_OPTION_ARG_DOUBLE, &probe,
          "Seconds between backend health probes (default 15)", "S" },
        { "sync-interval", 0, 0, G_OPTION_ARG_DOUBLE, &sync,
          "Seconds between full refreshes of allocation state (default 10)", "S" },
        { "launch-probe", 0, 0, G_OPTION_ARG_DOUBLE, &launch,
          "Seconds between timed test launches on each backend (default 0: never)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_option_context_set_summary(ctx,
                                 "Runs the market: a spot market for compute and storage in "
                                 "front of\nnestcloud backends, with its web UI at / and its "
                                 "API under /market/v1.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "nestcloud: %s\n", err->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "nestcloud: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (!state_dir)
        state_dir = nc_cmd_default_state_dir();
    signal(SIGPIPE, SIG_IGN);
    NcMarketConfig cfg = {
        .listen = listen ? listen : "127.0.0.1:7401",
        .db = db,
        .state_dir = state_dir,
        .web_dir = web_dir,
        .clearing_interval_ms = nc_cmd_market_ms(clearing),
        .notice_ms = notice == 0 ? -1 : nc_cmd_market_ms(notice),
        .probe_interval_ms = nc_cmd_market_ms(probe),
        .sync_interval_ms = nc_cmd_market_ms(sync),
        .launch_probe_interval_ms = nc_cmd_market_ms(launch),
    };
    NcMarket *m = nc_market_start(&cfg, &err);
    if (!m) {
        nc_log_error("%s", err->message);
        return 1;
    }
    nc_cmd_market_write_url(state_dir, m);
    nc_log_info("nestcloud market %s is up: %s", NC_VERSION, nc_market_url(m));
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, nc_cmd_market_on_signal, loop);
    g_unix_signal_add(SIGTERM, nc_cmd_market_on_signal, loop);
    g_main_loop_run(loop);
    nc_log_info("market: stopping");
    nc_market_stop(m);
    return 0;
}

struct NcMarket *
nc_cmd_market_embedded(const char *state_dir, const char *api_host, unsigned api_port,
                       const char *listen, GError **err)
{
    g_autofree char *addr = NULL;
    if (listen) {
        addr = g_strdup(listen);
    } else {
        bool v6 = strchr(api_host, ':') != NULL;
        addr = g_strdup_printf("%s%s%s:%u", v6 ? "[" : "", api_host, v6 ? "]" : "",
                               api_port ? api_port + 1 : 0);
    }
    NcMarketConfig cfg = { .listen = addr, .state_dir = state_dir };
    NcMarket *m = nc_market_start(&cfg, err);
    if (!m)
        return NULL;
    nc_cmd_market_write_url(state_dir, m);
    return m;
}

void
nc_cmd_market_embedded_stop(struct NcMarket *m)
{
    nc_market_stop(m);
}
