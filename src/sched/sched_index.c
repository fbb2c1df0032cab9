/* sched_index.c: a heap of hosts ordered by free capacity. */
#include "sched_index.h"

#include <string.h>

/* Hosts looked at from the top of the heap before a full scan. */
#define NC_SCHED_PROBES 64

typedef struct {
    char *key;
    NcSchedSlot slot;
    double score;       /* free share of the scarcest dimension, 0..1 */
    bool full;          /* cannot take even the smallest request seen */
    size_t pos;         /* place in the heap */
} NcSchedEntry;

struct NcSchedIndex {
    NcSchedPolicy policy;
    GArray *entries;     /* NcSchedEntry, stable indices */
    GArray *heap;        /* guint entry indices */
    GHashTable *by_key;  /* key -> GUINT_TO_POINTER(entry index + 1) */
    GArray *free_list;   /* entry indices to reuse */
    /* the smallest request seen in each dimension: packing puts hosts that
     * cannot take even that below the rest, or they would sit at the top */
    NcSchedRequest smallest;
};

static bool nc_sched_fits(const NcSchedSlot *s, const NcSchedRequest *r);

static NcSchedEntry *
nc_entry(NcSchedIndex *idx, guint i)
{
    return &g_array_index(idx->entries, NcSchedEntry, i);
}

static double
nc_sched_score(const NcSchedSlot *s)
{
    double fv = s->limit_vcpus > 0 ? (double)(s->limit_vcpus - s->used_vcpus) / (double)s->limit_vcpus : 0;
    double fm = s->limit_memory_mib > 0
                    ? (double)(s->limit_memory_mib - s->used_memory_mib) / (double)s->limit_memory_mib : 0;
    return MIN(fv, fm);
}

/* Whether entry @a belongs above entry @b. */
static bool
nc_sched_above(NcSchedIndex *idx, guint a, guint b)
{
    NcSchedEntry *ea = nc_entry(idx, a), *eb = nc_entry(idx, b);
    if (ea->slot.up != eb->slot.up)
        return ea->slot.up;
    if (idx->policy == NC_SCHED_PACK && ea->full != eb->full)
        return !ea->full;
    if (ea->score != eb->score)
        return idx->policy == NC_SCHED_PACK ? ea->score < eb->score : ea->score > eb->score;
    return a < b;
}

static void
nc_heap_swap(NcSchedIndex *idx, size_t i, size_t j)
{
    guint *h = (guint *)idx->heap->data;
    guint t = h[i];
    h[i] = h[j];
    h[j] = t;
    nc_entry(idx, h[i])->pos = i;
    nc_entry(idx, h[j])->pos = j;
}

static void
nc_heap_up(NcSchedIndex *idx, size_t i)
{
    guint *h = (guint *)idx->heap->data;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!nc_sched_above(idx, h[i], h[parent]))
            break;
        nc_heap_swap(idx, i, parent);
        i = parent;
    }
}

static void
nc_heap_down(NcSchedIndex *idx, size_t i)
{
    guint *h = (guint *)idx->heap->data;
    size_t n = idx->heap->len;
    for (;;) {
        size_t best = i, l = 2 * i + 1, r = l + 1;
        if (l < n && nc_sched_above(idx, h[l], h[best]))
            best = l;
        if (r < n && nc_sched_above(idx, h[r], h[best]))
            best = r;
        if (best == i)
            break;
        nc_heap_swap(idx, i, best);
        i = best;
    }
}

static void
nc_heap_fix(NcSchedIndex *idx, guint e)
{
    size_t pos = nc_entry(idx, e)->pos;
    nc_heap_up(idx, pos);
    nc_heap_down(idx, nc_entry(idx, e)->pos);
}

NcSchedIndex *
nc_sched_index_new(NcSchedPolicy policy, size_t capacity)
{
    NcSchedIndex *idx = g_new0(NcSchedIndex, 1);
    idx->policy = policy;
    idx->entries = g_array_sized_new(FALSE, TRUE, sizeof(NcSchedEntry), (guint)capacity);
    idx->heap = g_array_sized_new(FALSE, FALSE, sizeof(guint), (guint)capacity);
    idx->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    idx->free_list = g_array_new(FALSE, FALSE, sizeof(guint));
    idx->smallest = (NcSchedRequest){ G_MAXINT64, G_MAXINT64, G_MAXINT64 };
    return idx;
}

void
nc_sched_index_free(NcSchedIndex *idx)
{
    if (!idx)
        return;
    for (guint i = 0; i < idx->entries->len; i++)
        g_free(nc_entry(idx, i)->key);
    g_array_unref(idx->entries);
    g_array_unref(idx->heap);
    g_hash_table_destroy(idx->by_key);
    g_array_unref(idx->free_list);
    g_free(idx);
}

static gint64
nc_sched_find(NcSchedIndex *idx, const char *key)
{
    gpointer v = g_hash_table_lookup(idx->by_key, key);
    return v ? (gint64)GPOINTER_TO_UINT(v) - 1 : -1;
}

void
nc_sched_index_set(NcSchedIndex *idx, const char *key, const NcSchedSlot *slot)
{
    gint64 found = nc_sched_find(idx, key);
    if (found >= 0) {
        NcSchedEntry *e = nc_entry(idx, (guint)found);
        e->slot = *slot;
        e->score = nc_sched_score(slot);
        e->full = !nc_sched_fits(slot, &idx->smallest);
        nc_heap_fix(idx, (guint)found);
        return;
    }
    guint i;
    if (idx->free_list->len) {
        i = g_array_index(idx->free_list, guint, idx->free_list->len - 1);
        g_array_set_size(idx->free_list, idx->free_list->len - 1);
    } else {
        i = idx->entries->len;
        g_array_set_size(idx->entries, i + 1);
    }
    NcSchedEntry *e = nc_entry(idx, i);
    e->key = g_strdup(key);
    e->slot = *slot;
    e->score = nc_sched_score(slot);
    e->full = !nc_sched_fits(slot, &idx->smallest);
    e->pos = idx->heap->len;
    g_array_append_val(idx->heap, i);
    g_hash_table_insert(idx->by_key, e->key, GUINT_TO_POINTER(i + 1));
    nc_heap_up(idx, e->pos);
}

void
nc_sched_index_remove(NcSchedIndex *idx, const char *key)
{
    gint64 found = nc_sched_find(idx, key);
    if (found < 0)
        return;
    guint i = (guint)found;
    NcSchedEntry *e = nc_entry(idx, i);
    size_t pos = e->pos, last = idx->heap->len - 1;
    if (pos != last)
        nc_heap_swap(idx, pos, last);
    g_array_set_size(idx->heap, (guint)last);
    if (pos < idx->heap->len) {
        guint moved = g_array_index(idx->heap, guint, pos);
        nc_heap_fix(idx, moved);
    }
    g_hash_table_remove(idx->by_key, key);
    g_free(e->key);
    memset(e, 0, sizeof(*e));
    g_array_append_val(idx->free_list, i);
}

size_t
nc_sched_index_size(NcSchedIndex *idx)
{
    return idx->heap->len;
}

static bool
nc_sched_fits(const NcSchedSlot *s, const NcSchedRequest *r)
{
    /* as room left, not used + asked: the smallest request of an empty
     * index asks for INT64_MAX, and the sum would overflow */
    return s->up && r->vcpus <= s->limit_vcpus - s->used_vcpus &&
           r->memory_mib <= s->limit_memory_mib - s->used_memory_mib &&
           r->disk_gib <= s->limit_disk_gib - s->used_disk_gib;
}

static void
nc_sched_apply(NcSchedIndex *idx, guint i, const NcSchedRequest *r, int sign)
{
    NcSchedEntry *e = nc_entry(idx, i);
    e->slot.used_vcpus += sign * r->vcpus;
    e->slot.used_memory_mib += sign * r->memory_mib;
    e->slot.used_disk_gib += sign * r->disk_gib;
    e->score = nc_sched_score(&e->slot);
    e->full = !nc_sched_fits(&e->slot, &idx->smallest);
    nc_heap_fix(idx, i);
}

/* Learns a smaller smallest request; every host's "full" mark is then
 * recomputed and the heap rebuilt, which happens a handful of times. */
static void
nc_sched_learn(NcSchedIndex *idx, const NcSchedRequest *r)
{
    NcSchedRequest *m = &idx->smallest;
    if (r->vcpus >= m->vcpus && r->memory_mib >= m->memory_mib && r->disk_gib >= m->disk_gib)
        return;
    m->vcpus = MIN(m->vcpus, r->vcpus);
    m->memory_mib = MIN(m->memory_mib, r->memory_mib);
    m->disk_gib = MIN(m->disk_gib, r->disk_gib);
    for (guint k = 0; k < idx->heap->len; k++) {
        NcSchedEntry *e = nc_entry(idx, g_array_index(idx->heap, guint, k));
        e->full = !nc_sched_fits(&e->slot, m);
    }
    for (size_t k = idx->heap->len / 2 + 1; k-- > 0;)
        nc_heap_down(idx, k);
}

bool
nc_sched_index_pick(NcSchedIndex *idx, const NcSchedRequest *req, GHashTable *exclude,
                    bool claim, const char **ret_key)
{
    /* The heap's top is the policy's favourite.  Walk down the heap in
     * breadth order for a few hosts: good enough hosts are near the top. */
    gint64 chosen = -1;
    nc_sched_learn(idx, req);
    /* a lookup hashes its key even in an empty table: up to 128 of them
     * per pick, 2 % of the central node's CPU at C1M size */
    if (exclude && g_hash_table_size(exclude) == 0)
        exclude = NULL;
    guint *h = (guint *)idx->heap->data;
    size_t n = idx->heap->len;
    size_t probes = MIN(n, (size_t)NC_SCHED_PROBES);
    for (size_t k = 0; k < probes && chosen < 0; k++) {
        NcSchedEntry *e = nc_entry(idx, h[k]);
        if (nc_sched_fits(&e->slot, req) && !(exclude && g_hash_table_contains(exclude, e->key)))
            chosen = h[k];
    }
    if (chosen < 0 && n > probes) {
        /* rare: scan everything for the policy's best fitting host */
        for (size_t k = probes; k < n; k++) {
            NcSchedEntry *e = nc_entry(idx, h[k]);
            if (!nc_sched_fits(&e->slot, req) || (exclude && g_hash_table_contains(exclude, e->key)))
                continue;
            if (chosen < 0 || nc_sched_above(idx, h[k], (guint)chosen))
                chosen = h[k];
        }
    }
    if (chosen < 0)
        return false;
    /* among the probed ones, breadth order is not heap order: prefer the
     * best fitting of them by the policy */
    for (size_t k = 0; k < probes; k++) {
        NcSchedEntry *e = nc_entry(idx, h[k]);
        if (h[k] != (guint)chosen && nc_sched_fits(&e->slot, req) &&
            !(exclude && g_hash_table_contains(exclude, e->key)) &&
            nc_sched_above(idx, h[k], (guint)chosen))
            chosen = h[k];
    }
    *ret_key = nc_entry(idx, (guint)chosen)->key;
    if (claim)
        nc_sched_apply(idx, (guint)chosen, req, +1);
    return true;
}

void
nc_sched_index_claim(NcSchedIndex *idx, const char *key, const NcSchedRequest *req)
{
    gint64 i = nc_sched_find(idx, key);
    if (i >= 0)
        nc_sched_apply(idx, (guint)i, req, +1);
}

void
nc_sched_index_release(NcSchedIndex *idx, const char *key, const NcSchedRequest *req)
{
    gint64 i = nc_sched_find(idx, key);
    if (i >= 0)
        nc_sched_apply(idx, (guint)i, req, -1);
}
