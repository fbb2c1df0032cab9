/* nc_fault.c: crash points for tests. */
#include "nc_fault.h"

#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
nc_fault_point(const char *name)
{
    static const char *armed;
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        armed = g_getenv("NESTCLOUD_FAULT");
        g_once_init_leave(&once, 1);
    }
    if (armed && strcmp(armed, name) == 0) {
        fprintf(stderr, "nestcloud: fault point '%s' reached: killing myself\n", name);
        kill(getpid(), SIGKILL);
    }
}
