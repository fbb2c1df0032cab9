/* cmd_worker.c: `nestcloud worker`: the satellite worker of one host. */
#include "cmd.h"
#include "daemon.h"

int
nc_cmd_worker(int argc, char **argv)
{
    NcDaemonOptions o = { 0 };
    GOptionGroup *groups[] = { nc_daemon_common_options(&o), nc_daemon_worker_options(&o) };
    if (nc_daemon_parse("Runs a worker: takes this host's commands from the bus and acts\n"
                        "through libvirt.  With the local bus it shares the central node's\n"
                        "store (--store); with --bus amqp://... it needs only the broker.",
                        &argc, &argv, groups, G_N_ELEMENTS(groups)) < 0)
        return 2;
    return nc_daemon_run(&o, false, true);
}
