/* cmd_purge.c: `nestcloud purge`: remove a cloud's domains and files.
 *
 * For uninstalling and for test teardown: every libvirt domain marked with
 * the cloud's id is destroyed and undefined, so are the cloud's two storage
 * pools (hv_storage.c) when they still point at its directories, and with
 * --remove-state the state directory goes too.  The daemon must not be
 * running.
 */
#include "cmd.h"
#include "daemon.h"
#include "conf/domain.h"
#include "hv/hv.h"
#include "store/store.h"
#include "util/nc_error.h"
#include "util/nc_valid.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

static void
nc_purge_silent(void *opaque, virErrorPtr e)
{
}

int
nc_cmd_purge(int argc, char **argv)
{
    NcDaemonOptions o = { 0 };
    gboolean remove_state = FALSE;
    GOptionEntry extra[] = {
        { "remove-state", 0, 0, G_OPTION_ARG_NONE, &remove_state,
          "Also delete the state directory", NULL },
        { "libvirt", 0, 0, G_OPTION_ARG_STRING, &o.libvirt_uri, "libvirt URI", "URI" },
        { NULL }
    };
    GOptionGroup *common = nc_daemon_common_options(&o);
    g_option_group_add_entries(common, extra);
    GOptionGroup *groups[] = { common };
    if (nc_daemon_parse("Destroys and undefines every domain of the cloud kept in STATE_DIR.\n"
                        "Stop the daemon first.", &argc, &argv, groups, 1) < 0)
        return 2;
    nc_daemon_options_defaults(&o);
    g_autoptr(GError) err = NULL;
    g_autofree char *cloud = NULL;
    {
        g_autoptr(NcStore) st = nc_store_open(o.store, &err);
        if (!st) {
            fprintf(stderr, "nestcloud: %s\n", err->message);
            return 1;
        }
        cloud = nc_store_meta_get(st, "cloud_id", NULL);
    }
    int removed = 0, pools = 0;
    if (cloud) {
        virSetErrorFunc(NULL, nc_purge_silent);
        virConnectPtr conn = virConnectOpen(o.libvirt_uri);
        if (!conn) {
            fprintf(stderr, "nestcloud: cannot connect to %s: %s\n", o.libvirt_uri,
                    virGetLastErrorMessage());
            return 1;
        }
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains(conn, &doms, 0);
        g_autofree char *dq = g_strdup_printf("cloud=\"%s\"", cloud);
        g_autofree char *sq = g_strdup_printf("cloud='%s'", cloud);
        for (int i = 0; i < n; i++) {
            g_autofree char *meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT,
                                                         NC_XMLNS, 0);
            if (meta && (strstr(meta, dq) || strstr(meta, sq))) {
                if (virDomainIsActive(doms[i]) == 1)
                    virDomainDestroy(doms[i]);
                virDomainUndefineFlags(doms[i], VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                       VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                       VIR_DOMAIN_UNDEFINE_NVRAM);
                removed++;
            }
            virDomainFree(doms[i]);
        }
        free(doms);
        pools += nc_hv_storage_purge(conn, cloud, "images", o.image_dir);
        pools += nc_hv_storage_purge(conn, cloud, "volumes", o.volume_dir);
        virConnectClose(conn);
    }
    printf("removed %d domain%s and %d storage pool%s of cloud %s\n", removed,
           removed == 1 ? "" : "s", pools, pools == 1 ? "" : "s", cloud ? cloud : "(none)");
    if (remove_state) {
        const char *argv_rm[] = { "rm", "-rf", "--one-file-system", o.state_dir, NULL };
        g_autoptr(GError) rm_err = NULL;
        int status = 0;
        if (!g_spawn_sync(NULL, (char **)argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                          NULL, &status, &rm_err) || status != 0) {
            fprintf(stderr, "nestcloud: cannot remove %s\n", o.state_dir);
            return 1;
        }
    }
    return 0;
}
