/* cli.h: what the client verbs share: connection options, output, waiting
 * on operations. */
#pragma once

#include "cli/client.h"
#include "cli/table.h"

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct {
    NcClient *client;
    bool json;          /* --json: machine output */
    bool no_wait;       /* --no-wait: return once the operation is accepted */
    bool market;        /* set before parsing: talk to the market, not the API */
} NcCli;

typedef struct {
    const char *verb;
    int (*run)(NcCli *cli, int argc, char **argv);
    const char *args;   /* "NAME", "" */
    const char *summary;
} NcVerb;

extern const NcVerb nc_vm_verbs[];
extern const NcVerb nc_image_verbs[];
extern const NcVerb nc_host_verbs[];
extern const NcVerb nc_op_verbs[];
extern const NcVerb nc_project_verbs[];
extern const NcVerb nc_reservation_verbs[];
extern const NcVerb nc_volume_verbs[];
extern const NcVerb nc_snapshot_verbs[];
extern const NcVerb nc_market_verbs[];
/* storage verbs that live under `vm` (cmd_volume.c) */
extern const NcVerb nc_vm_storage_verbs[];

/* Parses a verb's own options (plus --json, --no-wait); leaves positional
 * arguments in argv.  Prints the error; returns -1 on failure. */
int nc_cli_parse(const char *usage, GOptionEntry *entries, int *argc, char ***argv, NcCli *cli);

/* Reports @err on stderr; returns the exit status for it (1). */
int nc_cli_fail(const GError *err);

/* Prints @j as indented JSON on stdout. */
void nc_cli_print_json(json_t *j);

/**
 * nc_cli_finish_op:
 * @op: the 202 answer
 * @label: what is happening ("creating VM demo")
 *
 * Unless --no-wait, polls the operation to its end with a progress line
 * on stderr.  Prints the operation (--json) or a one-line outcome.
 *
 * Returns: the exit status: 0 when it succeeded, 1 when it failed.
 */
int nc_cli_finish_op(NcCli *cli, json_t *op, const char *label);

/* Formats milliseconds-from-MiB sizes for tables (caller frees). */
char *nc_cli_mib(json_int_t mib);

/* Escapes a name for a URL path (caller frees). */
char *nc_cli_path(const char *fmt, const char *key);
