/* cmd_image.c: `nestcloud image VERB ...` */
#include "nc_config.h"
#include "cli.h"
#include "util/nc_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
nc_image_list(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- list images", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", "/v1/images", NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = nc_table_new("NAME", "FORMAT", "SIZE", "VIRTUAL", "BOOT", "PUBLIC", "ID", NULL);
    size_t i;
    json_t *img;
    json_array_foreach(json_object_get(r, "images"), i, img) {
        g_autofree char *size = nc_cli_mib((nc_json_int(img, "size_bytes", 0) + (1 << 20) - 1) >> 20);
        g_autofree char *vsize = nc_cli_mib(nc_json_int(img, "virtual_size_bytes", 0) >> 20);
        nc_table_add(t, nc_json_str(img, "name"), nc_json_str(img, "format"), size, vsize,
                     nc_json_str(img, "boot"),
                     json_is_true(json_object_get(img, "public")) ? "yes" : "no",
                     nc_json_str(img, "id"));
    }
    nc_table_print(t, stdout);
    return 0;
}

static int
nc_image_show(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - show an image", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one image name or id\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/images/%s", argv[1]);
    g_autoptr(json_t) img = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!img)
        return nc_cli_fail(err);
    nc_cli_print_json(img);
    return 0;
}

static int
nc_image_import(NcCli *cli, int argc, char **argv)
{
    char *name = NULL, *format = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
    gboolean pool = FALSE, is_public = FALSE;
    GOptionEntry entries[] = {
        { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "The image's name (required)", "NAME" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format, "qcow2 or raw (default: what the file is)", "FMT" },
        { "public", 0, 0, G_OPTION_ARG_NONE, &is_public, "Visible to every project (admin)", NULL },
        { "from-pool", 0, 0, G_OPTION_ARG_NONE, &pool,
          "PATH is a file already in the image pool, relative to it (admin)", NULL },
        { "kernel", 0, 0, G_OPTION_ARG_STRING, &kernel,
          "Direct kernel boot: a kernel in the pool (with --from-pool and --initrd)", "PATH" },
        { "initrd", 0, 0, G_OPTION_ARG_STRING, &initrd, "Its initrd, in the pool", "PATH" },
        { "cmdline", 0, 0, G_OPTION_ARG_STRING, &cmdline, "Its kernel command line", "TEXT" },
        { NULL }
    };
    if (nc_cli_parse("PATH - import a qcow2 or raw disk image", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2 || !name) {
        fprintf(stderr, "nestcloud: usage: nestcloud image import PATH --name NAME\n");
        return 2;
    }
    if (!pool && (kernel || initrd || cmdline)) {
        fprintf(stderr, "nestcloud: --kernel, --initrd and --cmdline need --from-pool\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) img = NULL;
    if (pool) {
        g_autoptr(json_t) req = json_pack("{s:s, s:s, s:b}", "name", name, "path", argv[1],
                                          "public", is_public);
        if (format)
            json_object_set_new(req, "format", json_string(format));
        if (kernel)
            json_object_set_new(req, "kernel", json_string(kernel));
        if (initrd)
            json_object_set_new(req, "initrd", json_string(initrd));
        if (cmdline)
            json_object_set_new(req, "cmdline", json_string(cmdline));
        img = nc_client_call(client, "POST", "/v1/images", req, NULL, &err);
    } else {
        g_autofree char *ename = nc_client_escape(name);
        g_autofree char *efmt = format ? nc_client_escape(format) : NULL;
        g_autofree char *path = g_strdup_printf("/v1/images?name=%s%s%s%s", ename,
                                                efmt ? "&format=" : "", efmt ? efmt : "",
                                                is_public ? "&public=true" : "");
        img = nc_client_upload(client, path, argv[1], &err);
    }
    if (!img)
        return nc_cli_fail(err);
    if (cli->json)
        nc_cli_print_json(img);
    else
        printf("imported image %s (%s, id %s)\n", nc_json_str(img, "name"),
               nc_json_str(img, "format"), nc_json_str(img, "id"));
    return 0;
}

static int
nc_image_delete(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("NAME - delete an image no VM uses", NULL, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;
    if (argc != 2) {
        fprintf(stderr, "nestcloud: give exactly one image name or id\n");
        return 2;
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *path = nc_cli_path("/v1/images/%s", argv[1]);
    g_autoptr(json_t) r = nc_client_call(client, "DELETE", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json)
        nc_cli_print_json(r);
    else
        printf("deleted image %s\n", nc_json_str(r, "name"));
    return 0;
}

/* Runs images/nested/build.sh of the source tree this binary was built
 * from, with this binary's build directory (the image embeds the binary). */
static int
nc_image_build_nested(NcCli *cli, int argc, char **argv)
{
    char *output = NULL;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
          "The qcow2 to write (default /var/tmp/nestcloud-nested/nested.qcow2)", "FILE" },
        { NULL }
    };
    if (nc_cli_parse("- build the Nested Cloud VM image (root; see docs/NESTED.md)", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(NcClient) client = cli->client;   /* not needed: no API call */
    if (argc != 1) {
        fprintf(stderr, "nestcloud: image build-nested takes no arguments\n");
        return 2;
    }
    g_autofree char *script = g_build_filename(NC_SOURCE_DIR, "images", "nested", "build.sh",
                                               NULL);
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (access(script, R_OK) < 0 || !exe) {
        fprintf(stderr, "nestcloud: %s is not there: build-nested needs the source tree\n",
                script);
        return 1;
    }
    /* BUILD/src/nestcloud -> BUILD */
    g_autofree char *src_dir = g_path_get_dirname(exe);
    g_autofree char *build = g_path_get_dirname(src_dir);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_ptr_array_add(args, (char *)"bash");
    g_ptr_array_add(args, script);
    g_ptr_array_add(args, (char *)"--build");
    g_ptr_array_add(args, build);
    if (output) {
        g_ptr_array_add(args, (char *)"--output");
        g_ptr_array_add(args, output);
    }
    g_ptr_array_add(args, NULL);
    fflush(stdout);
    execvp("bash", (char **)args->pdata);
    fprintf(stderr, "nestcloud: cannot run bash: %s\n", g_strerror(errno));
    return 1;
}

const NcVerb nc_image_verbs[] = {
    { "list", nc_image_list, "", "list images" },
    { "show", nc_image_show, "NAME", "show one image" },
    { "import", nc_image_import, "PATH", "upload a qcow2 or raw file as an image" },
    { "delete", nc_image_delete, "NAME", "delete an image no VM uses" },
    { "build-nested", nc_image_build_nested, "", "build the Nested Cloud VM image (images/nested/build.sh)" },
    { NULL }
};
