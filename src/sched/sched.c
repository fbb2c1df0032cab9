/* sched.c: filter and weigh hosts. */
#include "sched.h"

#include <string.h>

static const char *const nc_sched_policy_names[NC_SCHED_POLICY_MAX] = {
    [NC_SCHED_SPREAD] = "spread",
    [NC_SCHED_PACK] = "pack",
};

const char *
nc_sched_policy_name(NcSchedPolicy p)
{
    g_assert((unsigned)p < NC_SCHED_POLICY_MAX);
    return nc_sched_policy_names[p];
}

NcSchedPolicy
nc_sched_policy_from_name(const char *name)
{
    for (int i = 0; name && i < NC_SCHED_POLICY_MAX; i++) {
        if (strcmp(name, nc_sched_policy_names[i]) == 0)
            return (NcSchedPolicy)i;
    }
    return NC_SCHED_POLICY_MAX;
}

void
nc_sched_result_clear(NcSchedResult *r)
{
    if (r->candidates)
        g_ptr_array_unref(r->candidates);
    g_free(r->nearest_miss);
    memset(r, 0, sizeof(*r));
}

/* Free share of the scarcest dimension after placing @req, in [0, 1]. */
static double
nc_sched_free_after(const NcHost *h, const NcSchedRequest *req)
{
    double lv = (double)nc_host_limit_vcpus(h), lm = (double)nc_host_limit_memory_mib(h);
    double fv = lv > 0 ? (lv - (double)(h->alloc_vcpus + req->vcpus)) / lv : 0;
    double fm = lm > 0 ? (lm - (double)(h->alloc_memory_mib + req->memory_mib)) / lm : 0;
    return MIN(fv, fm);
}

typedef struct {
    NcSchedPolicy policy;
    const NcSchedRequest *req;
} NcSchedSort;

static gint
nc_sched_compare(gconstpointer a, gconstpointer b, gpointer data)
{
    const NcSchedSort *s = data;
    const NcHost *ha = *(NcHost *const *)a, *hb = *(NcHost *const *)b;
    double fa = nc_sched_free_after(ha, s->req), fb = nc_sched_free_after(hb, s->req);
    if (fa != fb) {
        bool a_first = s->policy == NC_SCHED_SPREAD ? fa > fb : fa < fb;
        return a_first ? -1 : 1;
    }
    return strcmp(ha->name, hb->name);
}

int
nc_sched_rank(GPtrArray *hosts, const NcSchedRequest *req, NcSchedPolicy policy,
              NcSchedResult *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->candidates = g_ptr_array_new();
    double best_miss = -1;
    const NcHost *miss_host = NULL;
    int disabled = 0;   /* up, but disabled by an admin */

    for (guint i = 0; i < hosts->len; i++) {
        NcHost *h = g_ptr_array_index(hosts, i);
        ret->considered++;
        if (!nc_host_schedulable(h)) {
            disabled += g_strcmp0(h->state, "up") == 0;
            continue;
        }
        int64_t free_v = nc_host_limit_vcpus(h) - h->alloc_vcpus;
        int64_t free_m = nc_host_limit_memory_mib(h) - h->alloc_memory_mib;
        int64_t free_d = nc_host_limit_disk_gib(h) - h->alloc_disk_gib;
        if (free_v >= req->vcpus && free_m >= req->memory_mib && free_d >= req->disk_gib) {
            g_ptr_array_add(ret->candidates, h);
            continue;
        }
        /* how close it came: the fraction of the request it could hold */
        double fit = MIN(MIN(req->vcpus ? (double)free_v / (double)req->vcpus : 1.0,
                             req->memory_mib ? (double)free_m / (double)req->memory_mib : 1.0),
                         req->disk_gib ? (double)free_d / (double)req->disk_gib : 1.0);
        if (fit > best_miss) {
            best_miss = fit;
            miss_host = h;
        }
    }
    if (ret->candidates->len > 1) {
        NcSchedSort s = { policy, req };
        g_ptr_array_sort_with_data(ret->candidates, nc_sched_compare, &s);
    }
    if (ret->candidates->len == 0) {
        if (!miss_host && disabled) {
            ret->nearest_miss = g_strdup_printf("every host considered that is up is "
                                                "disabled (%d)", disabled);
        } else if (!miss_host) {
            ret->nearest_miss = g_strdup("no host is up");
        } else {
            const NcHost *h = miss_host;
            int64_t free_v = MAX(0, nc_host_limit_vcpus(h) - h->alloc_vcpus);
            int64_t free_m = MAX(0, nc_host_limit_memory_mib(h) - h->alloc_memory_mib);
            int64_t free_d = MAX(0, nc_host_limit_disk_gib(h) - h->alloc_disk_gib);
            g_autoptr(GString) s = g_string_new(NULL);
            if (free_v < req->vcpus)
                g_string_append_printf(s, "needs %" G_GINT64_FORMAT " vCPUs, best host '%s' "
                                       "has %" G_GINT64_FORMAT " free", req->vcpus, h->name, free_v);
            if (free_m < req->memory_mib)
                g_string_append_printf(s, "%sneeds %" G_GINT64_FORMAT " MiB, best host '%s' "
                                       "has %" G_GINT64_FORMAT, s->len ? "; " : "",
                                       req->memory_mib, h->name, free_m);
            if (free_d < req->disk_gib)
                g_string_append_printf(s, "%sneeds %" G_GINT64_FORMAT " GiB of disk, best "
                                       "host '%s' has %" G_GINT64_FORMAT, s->len ? "; " : "",
                                       req->disk_gib, h->name, free_d);
            if (disabled)
                g_string_append_printf(s, "; %d disabled %s not considered", disabled,
                                       disabled == 1 ? "host was" : "hosts were");
            ret->nearest_miss = g_string_free(g_steal_pointer(&s), FALSE);
        }
    }
    return (int)ret->candidates->len;
}

char *
nc_sched_explain(const NcHost *h, const NcSchedRequest *req, NcSchedPolicy policy,
                 const NcSchedResult *res)
{
    return g_strdup_printf("host '%s' (%s): %u of %d hosts fit; after placement it has "
                           "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " vCPUs, %" G_GINT64_FORMAT
                           "/%" G_GINT64_FORMAT " MiB and %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                           " GiB allocated; policy %s",
                           h->name, h->accel, res->candidates->len, res->considered,
                           h->alloc_vcpus + req->vcpus, nc_host_limit_vcpus(h),
                           h->alloc_memory_mib + req->memory_mib, nc_host_limit_memory_mib(h),
                           h->alloc_disk_gib + req->disk_gib, nc_host_limit_disk_gib(h),
                           nc_sched_policy_name(policy));
}
