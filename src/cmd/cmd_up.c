/* cmd_up.c: `nestcloud up`: the whole cloud in one process. */
#include "cmd.h"
#include "daemon.h"

int
nc_cmd_up(int argc, char **argv)
{
    NcDaemonOptions o = { 0 };
    GOptionGroup *groups[] = { nc_daemon_common_options(&o), nc_daemon_central_options(&o),
                               nc_daemon_worker_options(&o) };
    if (nc_daemon_parse("Runs the central node and a worker for this machine in one process:\n"
                        "SQLite store, embedded durable queue, local libvirt.",
                        &argc, &argv, groups, G_N_ELEMENTS(groups)) < 0)
        return 2;
    return nc_daemon_run(&o, true, true);
}
