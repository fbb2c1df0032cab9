/* test_sched.c: filter and weigh, and the nearest miss. */
#include "sched/sched.h"

#include <string.h>

static NcHost *
host(const char *name, const char *state, int64_t vcpus, int64_t mem, int64_t av, int64_t am)
{
    NcHost *h = nc_host_new();
    h->id = g_strdup(name);
    h->name = g_strdup(name);
    h->state = g_strdup(state);
    h->accel = g_strdup("tcg");
    h->vcpus = vcpus;
    h->memory_mib = mem;
    h->disk_gib = 100;
    h->cpu_ratio = 1000;
    h->alloc_vcpus = av;
    h->alloc_memory_mib = am;
    return h;
}

static void
test_rank(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
    g_ptr_array_add(hosts, host("full", "up", 4, 4096, 4, 4096));
    g_ptr_array_add(hosts, host("busy", "up", 4, 4096, 3, 1024));
    g_ptr_array_add(hosts, host("idle", "up", 4, 4096, 0, 0));
    g_ptr_array_add(hosts, host("down", "down", 64, 65536, 0, 0));
    NcSchedRequest req = { 1, 1024, 1 };

    g_auto(NcSchedResult) spread = { 0 };
    g_assert_cmpint(nc_sched_rank(hosts, &req, NC_SCHED_SPREAD, &spread), ==, 2);
    g_assert_cmpstr(((NcHost *)g_ptr_array_index(spread.candidates, 0))->name, ==, "idle");
    g_assert_cmpint(spread.considered, ==, 4);

    g_auto(NcSchedResult) pack = { 0 };
    g_assert_cmpint(nc_sched_rank(hosts, &req, NC_SCHED_PACK, &pack), ==, 2);
    g_assert_cmpstr(((NcHost *)g_ptr_array_index(pack.candidates, 0))->name, ==, "busy");

    g_autofree char *why = nc_sched_explain(g_ptr_array_index(spread.candidates, 0), &req,
                                            NC_SCHED_SPREAD, &spread);
    g_assert_nonnull(strstr(why, "idle"));
    g_assert_nonnull(strstr(why, "2 of 4 hosts fit"));
}

static void
test_nearest_miss(void)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
    g_ptr_array_add(hosts, host("small", "up", 8, 2048, 0, 0));
    g_ptr_array_add(hosts, host("medium", "up", 8, 4096, 0, 1024));
    NcSchedRequest req = { 2, 4096, 1 };
    g_auto(NcSchedResult) res = { 0 };
    g_assert_cmpint(nc_sched_rank(hosts, &req, NC_SCHED_SPREAD, &res), ==, 0);
    g_assert_cmpstr(res.nearest_miss, ==, "needs 4096 MiB, best host 'medium' has 3072");

    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify)nc_host_free);
    g_ptr_array_add(none, host("off", "down", 8, 8192, 0, 0));
    g_auto(NcSchedResult) res2 = { 0 };
    g_assert_cmpint(nc_sched_rank(none, &req, NC_SCHED_SPREAD, &res2), ==, 0);
    g_assert_cmpstr(res2.nearest_miss, ==, "no host is up");

    /* a disabled host is no candidate, however empty, and the miss says so */
    NcHost *spare = host("spare", "up", 64, 65536, 0, 0);
    spare->disabled = true;
    g_ptr_array_add(hosts, spare);
    g_auto(NcSchedResult) res3 = { 0 };
    g_assert_cmpint(nc_sched_rank(hosts, &req, NC_SCHED_SPREAD, &res3), ==, 0);
    g_assert_cmpstr(res3.nearest_miss, ==, "needs 4096 MiB, best host 'medium' has 3072; "
                    "1 disabled host was not considered");
    spare->disabled = false;
    g_auto(NcSchedResult) res4 = { 0 };
    g_assert_cmpint(nc_sched_rank(hosts, &req, NC_SCHED_SPREAD, &res4), ==, 1);

    NcHost *off = host("maint", "up", 8, 8192, 0, 0);
    off->disabled = true;
    g_ptr_array_add(none, off);
    g_auto(NcSchedResult) res5 = { 0 };
    g_assert_cmpint(nc_sched_rank(none, &req, NC_SCHED_SPREAD, &res5), ==, 0);
    g_assert_cmpstr(res5.nearest_miss, ==, "every host considered that is up is disabled (1)");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sched/rank", test_rank);
    g_test_add_func("/sched/nearest-miss", test_nearest_miss);
    return g_test_run();
}
