/* timeline.c: capacity over time. */
#include "timeline.h"

static bool
nc_fits_at(int64_t t, const NcSchedSlot *slot, const NcSchedInterval *expiring, size_t ne,
           const NcSchedInterval *reserved, size_t nr, const NcSchedInterval *want)
{
    int64_t v = slot->used_vcpus + want->vcpus;
    int64_t m = slot->used_memory_mib + want->memory_mib;
    int64_t d = slot->used_disk_gib + want->disk_gib;
    for (size_t i = 0; i < ne; i++) {
        if (expiring[i].end <= t) {
            v -= expiring[i].vcpus;
            m -= expiring[i].memory_mib;
            d -= expiring[i].disk_gib;
        }
    }
    for (size_t i = 0; i < nr; i++) {
        if (reserved[i].start <= t && t < reserved[i].end) {
            v += reserved[i].vcpus;
            m += reserved[i].memory_mib;
            d += reserved[i].disk_gib;
        }
    }
    return v <= slot->limit_vcpus && m <= slot->limit_memory_mib && d <= slot->limit_disk_gib;
}

bool
nc_sched_timeline_fits(int64_t now, const NcSchedSlot *slot,
                       const NcSchedInterval *expiring, size_t n_expiring,
                       const NcSchedInterval *reserved, size_t n_reserved,
                       const NcSchedInterval *want, int64_t *ret_when)
{
    int64_t start = MAX(now, want->start);
    if (start >= want->end)
        return true;
    if (!nc_fits_at(start, slot, expiring, n_expiring, reserved, n_reserved, want)) {
        if (ret_when)
            *ret_when = start;
        return false;
    }
    for (size_t i = 0; i < n_reserved; i++) {
        int64_t t = reserved[i].start;
        if (t > start && t < want->end &&
            !nc_fits_at(t, slot, expiring, n_expiring, reserved, n_reserved, want)) {
            if (ret_when)
                *ret_when = t;
            return false;
        }
    }
    return true;
}
