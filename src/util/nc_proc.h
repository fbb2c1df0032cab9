/* nc_proc.h: running helper programs (qemu-img, genisoimage, mkfs).
 *
 * Programs run from an argv vector, never through a shell, with their
 * output captured; a failure carries the program's own words.
 */
#pragma once

#include <glib.h>

/**
 * nc_proc_run:
 * @argv: NULL-terminated argument vector; argv[0] is looked up in PATH
 * @ret_stdout: (optional): the program's standard output; caller frees
 * @err: NC_ERR_INTERNAL with the exit status and stderr on failure
 *
 * Runs a program to completion with stdin on /dev/null.
 *
 * Returns: 0 when it exited with status 0, -1 otherwise.
 */
int nc_proc_run(const char *const *argv, char **ret_stdout, GError **err);

