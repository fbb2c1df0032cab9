/* nc_log.c: daemon logging to stderr. */
#include "nc_log.h"

#include <stdio.h>
#include <unistd.h>

static const char *nc_log_program = "nestcloud";
gboolean nc__log_debug_on;
static gboolean nc_log_stamp;
static GMutex nc_log_lock;

static void
nc_log_handler(const char *domain, GLogLevelFlags level, const char *message,
               gpointer data)
{
    const char *tag;

    if ((level & G_LOG_LEVEL_DEBUG) && !nc__log_debug_on)
        return;
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        tag = "error";
    else if (level & G_LOG_LEVEL_WARNING)
        tag = "warning";
    else if (level & G_LOG_LEVEL_DEBUG)
        tag = "debug";
    else
        tag = "info";

    g_mutex_lock(&nc_log_lock);
    if (nc_log_stamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
        fprintf(stderr, "%s.%03dZ ", ts, g_date_time_get_microsecond(now) / 1000);
    }
    fprintf(stderr, "%s %s: %s\n", nc_log_program, tag, message);
    fflush(stderr);
    g_mutex_unlock(&nc_log_lock);
}

void
nc_log_init(const char *program)
{
    const char *dbg = g_getenv("NESTCLOUD_DEBUG");

    nc_log_program = program;
    nc__log_debug_on = dbg && *dbg && g_strcmp0(dbg, "0") != 0;
    nc_log_stamp = !isatty(STDERR_FILENO);
    g_log_set_default_handler(nc_log_handler, NULL);
    g_log_set_handler("nestcloud", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
                      G_LOG_FLAG_RECURSION, nc_log_handler, NULL);
}
