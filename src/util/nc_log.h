/* nc_log.h: daemon logging.
 *
 * Only the daemons and the CLI log; library layers report errors upward.
 * Lines go to stderr as "LEVEL component: message", with a timestamp when
 * stderr is not a terminal.  NESTCLOUD_DEBUG=1 turns on debug lines.
 */
#pragma once

#include <glib.h>

/* Installs the log handler; call once at program start. */
void nc_log_init(const char *program);

#define nc_log_info(...) g_log("nestcloud", G_LOG_LEVEL_INFO, __VA_ARGS__)
#define nc_log_warn(...) g_log("nestcloud", G_LOG_LEVEL_WARNING, __VA_ARGS__)
#define nc_log_error(...) g_log("nestcloud", G_LOG_LEVEL_CRITICAL, __VA_ARGS__)
/* set once by nc_log_init; read by nc_log_debug */
extern gboolean nc__log_debug_on;

/* Debug lines are formatted only when they are on: g_log() formats its
 * message before any handler can drop it, and some sit on hot paths (a
 * worker's every command). */
#define nc_log_debug(...)                                                    \
    do {                                                                     \
        if (G_UNLIKELY(nc__log_debug_on))                                    \
            g_log("nestcloud", G_LOG_LEVEL_DEBUG, __VA_ARGS__);              \
    } while (0)
