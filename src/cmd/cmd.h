/* cmd.h: the subcommands of the nestcloud binary, one file each. */
#pragma once

#include <glib.h>

/* Each takes the arguments after its own name (argv[0] is the command). */
int nc_cmd_up(int argc, char **argv);
int nc_cmd_serve(int argc, char **argv);
int nc_cmd_worker(int argc, char **argv);
int nc_cmd_purge(int argc, char **argv);
int nc_cmd_market(int argc, char **argv);

/* The market beside the API in `nestcloud up` (cmd_market.c): on @listen,
 * or on the API's address and the port after @api_port.  Returns NULL with
 * @err set when it cannot start. */
struct NcMarket *nc_cmd_market_embedded(const char *state_dir, const char *api_host,
                                        unsigned api_port, const char *listen, GError **err);
void nc_cmd_market_embedded_stop(struct NcMarket *m);
/* The client verbs: vm, image, host, op, project, status, events. */
int nc_cmd_client(const char *noun, int argc, char **argv);

/* Default state directory: /var/lib/nestcloud for root, else
 * $XDG_STATE_HOME/nestcloud (caller frees). */
char *nc_cmd_default_state_dir(void);
