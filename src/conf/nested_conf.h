/* nested_conf.h: where this cloud sits when it runs inside another one.
 *
 * The Nested Cloud VM's init writes /etc/nestcloud/nested.conf from its
 * NoCloud seed (images/nested/guest/nc-nested-init); `nestcloud up` reads
 * it (or the file NESTCLOUD_NESTED_CONF names).  A cloud without the file
 * is at depth 0 and has no parent.
 *
 *   [nested]
 *   depth=1
 *   instance_id=UUID        this VM's id in the parent cloud
 *   parent_url=http://10.213.7.1:7400
 *   parent_token=TOKEN
 *   parent_vm=UUID          defaults to instance_id
 *   market_url=URL          optional
 *   backend=NAME            optional
 */
#pragma once

#include <glib.h>
#include <jansson.h>

#define NC_NESTED_CONF_DEFAULT "/etc/nestcloud/nested.conf"
#define NC_NESTED_MAX_DEPTH 8

typedef struct {
    int depth;             /* 0: not nested in a nestcloud */
    char *instance_id;
    char *parent_url;      /* NULL: no parent to forward ports to */
    char *parent_token;
    char *parent_vm;
    char *market_url;
    char *backend;
} NcNestedConf;

void nc_nested_conf_free(NcNestedConf *nc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcNestedConf, nc_nested_conf_free)

/**
 * nc_nested_conf_parse:
 * @text: the file's contents (GKeyFile syntax)
 * @ret: (transfer full): the configuration
 * @err: NC_ERR_INVALID_ARGUMENT naming the bad key
 *
 * Checks every value: depth 0..NC_NESTED_MAX_DEPTH, URLs http(s)://,
 * ids UUIDs, the token and backend printable and short.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_nested_conf_parse(const char *text, NcNestedConf **ret, GError **err);

/**
 * nc_nested_conf_load:
 * @path: (nullable): the file; NULL for NC_NESTED_CONF_DEFAULT
 * @ret: (transfer full): the configuration; depth 0 when the file is absent
 * @err: as nc_nested_conf_parse()
 *
 * Returns: 0 on success, -1 when the file exists but is bad.
 */
int nc_nested_conf_load(const char *path, NcNestedConf **ret, GError **err);

/* Returns: what GET /v1/status shows of @nc (never the token). */
json_t *nc_nested_conf_to_api_json(const NcNestedConf *nc);
