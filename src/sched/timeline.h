/* timeline.h: capacity over time, for allocations scheduled in the future.
 *
 * A host's allocation now comes from its counters.  Ahead of now it changes
 * at known instants: VMs with an expiry give their share back, reservations
 * take theirs for their window.  A request for [start, end) fits when the
 * usage at every instant of the window, plus the request, stays within the
 * host's limits.  Usage only rises at a reservation's start, so it is
 * enough to look at the window's start and at each reservation starting
 * inside it: a reservation next week does not block a VM that ends before
 * it.
 */
#pragma once

#include "sched_index.h"

#include <stdbool.h>
#include <stdint.h>

#define NC_TIME_FOREVER INT64_MAX

typedef struct {
    int64_t start, end;          /* ms since the epoch; end may be NC_TIME_FOREVER */
    int64_t vcpus, memory_mib, disk_gib;
} NcSchedInterval;

/**
 * nc_sched_timeline_fits:
 * @now: the present, ms
 * @slot: the host's limits and its allocation now
 * @expiring: (array length=n_expiring): VMs on the host that go at their
 *            end (start is ignored)
 * @reserved: (array length=n_reserved): reservations of the host not yet
 *            started
 * @want: the request's window and size
 * @ret_when: (out) (optional): on failure, the first instant it does not fit
 *
 * Returns: true when @want fits for its whole window.
 */
bool nc_sched_timeline_fits(int64_t now, const NcSchedSlot *slot,
                            const NcSchedInterval *expiring, size_t n_expiring,
                            const NcSchedInterval *reserved, size_t n_reserved,
                            const NcSchedInterval *want, int64_t *ret_when);
