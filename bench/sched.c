/* bench/sched.c: scheduler core, placements per second.
 *
 * 10,000 hosts, 1,000,000 VM placements (mixed sizes) through the
 * in-memory index (sched_index.h), against the linear filter-and-sort of
 * nc_sched_rank() -- what a scheduler without an index does -- on the same
 * hosts for a smaller number of placements, in the same run.
 *
 *   build/bench/bench_sched [HOSTS] [VMS]
 */
#include "sched/sched.h"
#include "sched/sched_index.h"

#include <stdio.h>
#include <stdlib.h>

static const NcSchedRequest sizes[] = {
    { 1, 512, 10 }, { 1, 1024, 10 }, { 2, 2048, 20 }, { 2, 4096, 20 }, { 4, 8192, 40 },
};

static double
now(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static void
run(NcSchedPolicy policy, int hosts, int vms)
{
    g_autoptr(NcSchedIndex) idx = nc_sched_index_new(policy, (size_t)hosts);
    for (int i = 0; i < hosts; i++) {
        char key[32];
        snprintf(key, sizeof(key), "host-%05d", i);
        /* 64 cores x 4.0, 768 GiB, 10 TiB */
        NcSchedSlot s = { 256, 786432, 10240, 0, 0, 0, true };
        nc_sched_index_set(idx, key, &s);
    }
    GRand *rng = g_rand_new_with_seed(42);
    int placed = 0;
    const char *key;
    double t0 = now();
    for (int i = 0; i < vms; i++) {
        const NcSchedRequest *r = &sizes[g_rand_int_range(rng, 0, G_N_ELEMENTS(sizes))];
        if (nc_sched_index_pick(idx, r, NULL, true, &key))
            placed++;
    }
    double dt = now() - t0;
    printf("index  %-6s %6d hosts %8d VMs: %8d placed in %7.3f s = %9.0f placements/s\n",
           nc_sched_policy_name(policy), hosts, vms, placed, dt, placed / dt);
    g_rand_free(rng);
}

static void
run_linear(int hosts, int vms)
{
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
    for (int i = 0; i < hosts; i++) {
        NcHost *h = nc_host_new();
        h->id = g_strdup_printf("host-%05d", i);
        h->name = g_strdup(h->id);
        h->state = g_strdup("up");
        h->accel = g_strdup("sim");
        h->vcpus = 64;
        h->memory_mib = 786432;
        h->disk_gib = 10240;
        g_ptr_array_add(list, h);
    }
    GRand *rng = g_rand_new_with_seed(42);
    int placed = 0;
    double t0 = now();
    for (int i = 0; i < vms; i++) {
        const NcSchedRequest *r = &sizes[g_rand_int_range(rng, 0, G_N_ELEMENTS(sizes))];
        g_auto(NcSchedResult) res = { 0 };
        if (nc_sched_rank(list, r, NC_SCHED_SPREAD, &res) > 0) {
            NcHost *h = g_ptr_array_index(res.candidates, 0);
            h->alloc_vcpus += r->vcpus;
            h->alloc_memory_mib += r->memory_mib;
            h->alloc_disk_gib += r->disk_gib;
            placed++;
        }
    }
    double dt = now() - t0;
    printf("linear spread %6d hosts %8d VMs: %8d placed in %7.3f s = %9.0f placements/s\n",
           hosts, vms, placed, dt, placed / dt);
    g_rand_free(rng);
}

int
main(int argc, char **argv)
{
    int hosts = argc > 1 ? atoi(argv[1]) : 10000;
    int vms = argc > 2 ? atoi(argv[2]) : 1000000;
    run(NC_SCHED_SPREAD, hosts, vms);
    run(NC_SCHED_PACK, hosts, vms);
    run_linear(hosts, MAX(vms / 500, 100));
    return 0;
}
