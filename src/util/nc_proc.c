/* nc_proc.c: running helper programs. */
#include "nc_proc.h"
#include "nc_error.h"

int
nc_proc_run(const char *const *argv, char **ret_stdout, GError **err)
{
    g_autofree char *out = NULL;
    g_autofree char *errout = NULL;
    g_autoptr(GError) spawn_err = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_CLOEXEC_PIPES,
                      NULL, NULL, &out, &errout, &status, &spawn_err)) {
        nc_error_set(err, NC_ERR_INTERNAL, "cannot run %s: %s", argv[0],
                     spawn_err->message);
        return -1;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_strstrip(errout);
        nc_error_set(err, NC_ERR_INTERNAL, "%s failed: %s", argv[0],
                     errout && *errout ? errout : "no message");
        return -1;
    }
    if (ret_stdout)
        *ret_stdout = g_steal_pointer(&out);
    return 0;
}
