/* sched.h: where a VM goes.
 *
 * Placement is filter -> weigh -> claim.  nc_sched_rank() filters the hosts
 * that can take a request (schedulable: up and enabled; with room) and orders them by the policy; the caller then
 * claims capacity on the first candidate with a conditional store update
 * (nc_store_host_claim), moving to the next if a racing request won.  When
 * nothing fits, the result names the nearest miss, so the user learns what
 * to ask for instead.
 */
#pragma once

#include "conf/host_conf.h"

#include <glib.h>

typedef enum {
    NC_SCHED_SPREAD = 0,   /* most free capacity first */
    NC_SCHED_PACK,         /* least free capacity first */
    NC_SCHED_POLICY_MAX
} NcSchedPolicy;

const char *nc_sched_policy_name(NcSchedPolicy p);
/* Returns: the policy named @name, or NC_SCHED_POLICY_MAX. */
NcSchedPolicy nc_sched_policy_from_name(const char *name);

typedef struct {
    int64_t vcpus;
    int64_t memory_mib;
    int64_t disk_gib;
} NcSchedRequest;

typedef struct {
    GPtrArray *candidates;   /* (element-type NcHost) borrowed, best first */
    char *nearest_miss;      /* when nothing fits: what the best host lacks */
    int considered;          /* hosts looked at */
} NcSchedResult;

void nc_sched_result_clear(NcSchedResult *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NcSchedResult, nc_sched_result_clear)

/**
 * nc_sched_rank:
 * @hosts: (element-type NcHost): every host
 * @req: what the VM needs
 * @policy: how to order the fitting hosts
 * @ret: filled with candidates (borrowed from @hosts) or the nearest miss
 *
 * Returns: the number of candidates.
 */
int nc_sched_rank(GPtrArray *hosts, const NcSchedRequest *req, NcSchedPolicy policy,
                  NcSchedResult *ret);

/* Returns: why @host was chosen for @req, for the VM's "placement" (caller
 * frees). */
char *nc_sched_explain(const NcHost *host, const NcSchedRequest *req, NcSchedPolicy policy,
                       const NcSchedResult *res);
