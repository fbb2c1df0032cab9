/* cmd_serve.c: `nestcloud serve`: the central node alone. */
#include "cmd.h"
#include "daemon.h"

int
nc_cmd_serve(int argc, char **argv)
{
    NcDaemonOptions o = { 0 };
    GOptionGroup *groups[] = { nc_daemon_common_options(&o), nc_daemon_central_options(&o) };
    if (nc_daemon_parse("Runs the central node: API, store, scheduler and the engine that\n"
                        "applies what workers report.  Workers run `nestcloud worker`.",
                        &argc, &argv, groups, G_N_ELEMENTS(groups)) < 0)
        return 2;
    return nc_daemon_run(&o, true, false);
}
