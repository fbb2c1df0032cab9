/* sched_index.h: placement at scale, in memory.
 *
 * The index holds every host's limit and allocation and keeps the hosts in
 * a binary heap ordered by the policy: most free capacity on top for
 * spread, least for pack.  A placement looks at the top of the heap, and
 * only when the top cannot take the request does it look further (a
 * bounded number of hosts, then every host).  Placing and releasing cost
 * O(log n), so 10,000 hosts cost about what 100 do.
 *
 * The index is a fast first guess, never the authority: the central node
 * claims the chosen host in the store with a conditional update, and if a
 * racing request won, it refreshes that host here and asks again.
 */
#pragma once

#include "sched.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct NcSchedIndex NcSchedIndex;

/* One host as the index sees it. */
typedef struct {
    int64_t limit_vcpus, limit_memory_mib, limit_disk_gib;
    int64_t used_vcpus, used_memory_mib, used_disk_gib;
    bool up;
} NcSchedSlot;

/**
 * nc_sched_index_new:
 * @policy: spread or pack
 * @capacity: hosts it will hold (it grows if needed)
 *
 * Returns: (transfer full): an empty index.
 */
NcSchedIndex *nc_sched_index_new(NcSchedPolicy policy, size_t capacity);
void nc_sched_index_free(NcSchedIndex *idx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcSchedIndex, nc_sched_index_free)

/**
 * nc_sched_index_set:
 * @key: the host's id (copied), or any stable name
 * @slot: its limits, allocation and state
 *
 * Adds the host or replaces what the index knows about it.
 */
void nc_sched_index_set(NcSchedIndex *idx, const char *key, const NcSchedSlot *slot);

/* Forgets a host.  Unknown keys are ignored. */
void nc_sched_index_remove(NcSchedIndex *idx, const char *key);

/* Returns: the number of hosts held. */
size_t nc_sched_index_size(NcSchedIndex *idx);

/**
 * nc_sched_index_pick:
 * @req: what the VM needs
 * @exclude: (nullable): keys not to choose (e.g. anti-affinity, a host
 *           whose claim just failed), or NULL
 * @claim: also add @req to the chosen host's allocation in the index
 * @ret_key: the chosen host's key (owned by the index; valid until it is
 *           removed or replaced)
 *
 * Returns: true when a host was found.
 */
bool nc_sched_index_pick(NcSchedIndex *idx, const NcSchedRequest *req, GHashTable *exclude,
                         bool claim, const char **ret_key);

/* Adds (claim) or subtracts (release) @req on @key's allocation. */
void nc_sched_index_claim(NcSchedIndex *idx, const char *key, const NcSchedRequest *req);
void nc_sched_index_release(NcSchedIndex *idx, const char *key, const NcSchedRequest *req);
