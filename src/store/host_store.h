/* host_store.h: hosts and their allocations in the store. */
#pragma once

#include "store.h"
#include "conf/host_conf.h"

/* Adds a host or refreshes what its worker reports (name, capacity, accel,
 * info), marking it up and seen now.  Ratios, reservations and allocations
 * are the central node's and are left alone on refresh; on first insert
 * they come from @host. */
int nc_store_host_register(NcStore *st, const NcHost *host, GError **err);

/* @key is the host's id or name.  NC_ERR_NOT_FOUND when absent. */
NcHost *nc_store_host_get(NcStore *st, const char *key, GError **err);

/* Returns: (element-type NcHost): every host, by name; NULL on failure. */
GPtrArray *nc_store_host_list(NcStore *st, GError **err);

typedef enum {
    NC_HOST_CLAIM_PLACE,   /* a new VM: the host must be enabled */
    NC_HOST_CLAIM_KEEP,    /* room promised there already (a reservation's
                            * launch) or for a VM it holds (a rescale) */
} NcHostClaim;

/**
 * nc_store_host_claim:
 * @kind: what the room is for
 * @host_id: the host
 * @vcpus, @memory_mib, @disk_gib: what to add to its allocation (>= 0)
 * @ret_host: (out) (optional): on a claim, the host's row read right after
 *   it (in the caller's transaction, if any), its info left empty
 *
 * Adds to the host's allocation only if the result stays within its limits
 * (capacity times ratio), the host is up and, to place a new VM, enabled, in
 * one conditional UPDATE, so racing claims can never overcommit and no
 * placement lands on a host an admin disabled before it committed.
 *
 * Returns: 1 when claimed, 0 when it does not fit, -1 on failure.
 */
int nc_store_host_claim(NcStore *st, NcHostClaim kind, const char *host_id, int64_t vcpus,
                        int64_t memory_mib, int64_t disk_gib, NcHost **ret_host, GError **err);

/* Subtracts from the allocation (never below zero). */
int nc_store_host_release(NcStore *st, const char *host_id, int64_t vcpus,
                          int64_t memory_mib, int64_t disk_gib, GError **err);

int nc_store_host_set_state(NcStore *st, const char *host_id, const char *state,
                            GError **err);

/* Records a heartbeat: last_seen = @now_ms, state up.  Returns 1 when the
 * host was down before, 0 otherwise, -1 on failure. */
int nc_store_host_seen(NcStore *st, const char *host_id, int64_t now_ms, GError **err);

/* Enables a host for scheduling, or disables it with @reason (nullable;
 * dropped when enabling). */
int nc_store_host_set_enabled(NcStore *st, const char *host_id, bool enabled,
                              const char *reason, GError **err);

/* Sets overcommit ratios and reservation (thousandths; -1 leaves a value). */
int nc_store_host_set_policy(NcStore *st, const char *host_id, int64_t cpu_ratio,
                             int64_t ram_ratio, int64_t disk_ratio,
                             int64_t reserved_memory_mib, GError **err);

/* What still ties a host to the cloud. */
typedef struct {
    int64_t vms;            /* placed on it, whatever their state */
    int64_t reservations;   /* scheduled or active there */
    int64_t operations;     /* pending or running there */
} NcHostHoldings;

int nc_store_host_holdings(NcStore *st, const char *host_id, NcHostHoldings *ret,
                           GError **err);

/* Removes a host's row.  Reservations that ended there lose their link to
 * it (host NULL); the caller has made sure nothing else holds it
 * (nc_store_host_holdings). */
int nc_store_host_delete(NcStore *st, const char *host_id, GError **err);

/* Recomputes every host's allocation from the VMs placed on it. */
int nc_store_host_recount(NcStore *st, GError **err);
