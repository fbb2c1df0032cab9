/* vm_store.h: VMs in the store. */
#pragma once

#include "store.h"
#include "conf/vm_conf.h"

/* Adds @vm; NC_ERR_CONFLICT when the project already has the name.
 * @spec_text: the spec's JSON text when the caller made it already, or NULL. */
int nc_store_vm_insert(NcStore *st, const NcVm *vm, const char *spec_text, GError **err);

/**
 * nc_store_vm_get:
 * @project: the caller's project, or NULL to search every project (admin)
 * @key: the VM's id or name
 * @err: NC_ERR_NOT_FOUND when there is no such VM in reach, NC_ERR_CONFLICT
 *       when a name is ambiguous across projects
 *
 * Returns: (transfer full): the VM, or NULL.
 */
NcVm *nc_store_vm_get(NcStore *st, const char *project, const char *key, GError **err);

/* Returns: (transfer full) (element-type NcVm): VMs of @project (NULL: all)
 * on @host (NULL: any), oldest first; NULL on failure. */
GPtrArray *nc_store_vm_list(NcStore *st, const char *project, const char *host,
                            GError **err);

/* Returns: (transfer full) (element-type NcVm): the VMs whose expiry
 * (expires_at) is set and not after @now (ms), through an index; NULL on
 * failure. */
GPtrArray *nc_store_vm_list_expiring(NcStore *st, int64_t now, GError **err);

/* Fills in the expires_at column of the VMs stored before it existed
 * (schema 5); at open, once per store (the meta key vms_expiry_column
 * says it was done).  Returns 0 or -1. */
int nc_store_vm_backfill_expiry(NcStore *st, GError **err);

/* A VM's status: what the reports of its operations change, read and
 * written without its spec.  At C1M size, parsing and writing back each
 * VM's spec for each report was a fifth of the central node's work. */
typedef struct {
    char *id, *project, *name;
    NcVmState state;
    char *desired;
    char *host, *host_name;
    char *error;
    char *op;               /* the operation in progress, or NULL */
} NcVmStatus;

void nc_vm_status_free(NcVmStatus *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcVmStatus, nc_vm_status_free)

/* Returns: the status of the VM with id @id, or NULL (NC_ERR_NOT_FOUND when
 * there is none). */
NcVmStatus *nc_store_vm_status_get(NcStore *st, const char *id, GError **err);

/* Writes @s's state, desired state, error and operation, and the time;
 * NC_ERR_NOT_FOUND when the VM is gone. */
int nc_store_vm_status_update(NcStore *st, const NcVmStatus *s, GError **err);

/* What a heartbeat compares with the domains a host reports, read without
 * parsing a VM's spec. */
typedef struct {
    char *id;
    NcVmState state;
    bool busy;              /* an operation is in progress */
    bool no_addresses;      /* no address known (every entry null) */
    int64_t updated_at;
} NcVmBrief;

void nc_vm_brief_free(NcVmBrief *b);

/* Returns: (transfer full) (element-type utf8 NcVmBrief): the VMs the store
 * places on @host, by id; NULL on failure. */
GHashTable *nc_store_vm_briefs(NcStore *st, const char *host, GError **err);

/* Returns: (transfer full): {"state": count} over every VM, or NULL. */
json_t *nc_store_vm_count_by_state(NcStore *st, GError **err);

/* Writes every mutable field of @vm (state, desired, host, spec and its
 * columns, addresses, placement, error, op) and bumps updated_at. */
int nc_store_vm_update(NcStore *st, NcVm *vm, GError **err);

int nc_store_vm_delete(NcStore *st, const char *id, GError **err);

/* Records that VM @id was evacuated from host @host_id (its copy there, if
 * the host comes back, is to be removed).  Returns: 0 or -1. */
int nc_store_vm_set_evacuated_from(NcStore *st, const char *id, const char *host_id,
                                   GError **err);

/* Returns: (transfer full) (nullable): the host VM @id was last evacuated
 * from; NULL (err unset) when it never was or there is no such VM. */
char *nc_store_vm_evacuated_from(NcStore *st, const char *id, GError **err);

/* Returns: the number of VMs of @project, or -1. */
int64_t nc_store_vm_count(NcStore *st, const char *project, GError **err);

/* Returns: how many VMs use image @image_id, or -1. */
int64_t nc_store_vm_count_image(NcStore *st, const char *image_id, GError **err);
