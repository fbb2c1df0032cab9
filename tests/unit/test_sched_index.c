/* test_sched_index.c: the in-memory placement index. */
#include "sched/sched_index.h"

#include <string.h>

static NcSchedSlot
slot(int64_t vcpus, int64_t mem, int64_t used_v, int64_t used_m)
{
    NcSchedSlot s = { vcpus, mem, 1000, used_v, used_m, 0, true };
    return s;
}

static void
test_spread_and_pack(void)
{
    g_autoptr(NcSchedIndex) spread = nc_sched_index_new(NC_SCHED_SPREAD, 4);
    g_autoptr(NcSchedIndex) pack = nc_sched_index_new(NC_SCHED_PACK, 4);
    NcSchedSlot a = slot(8, 8192, 6, 6144), b = slot(8, 8192, 2, 2048), c = slot(8, 8192, 4, 4096);
    nc_sched_index_set(spread, "a", &a);
    nc_sched_index_set(spread, "b", &b);
    nc_sched_index_set(spread, "c", &c);
    nc_sched_index_set(pack, "a", &a);
    nc_sched_index_set(pack, "b", &b);
    nc_sched_index_set(pack, "c", &c);
    NcSchedRequest r = { 1, 1024, 1 };
    const char *key = NULL;
    g_assert_true(nc_sched_index_pick(spread, &r, NULL, false, &key));
    g_assert_cmpstr(key, ==, "b");
    g_assert_true(nc_sched_index_pick(pack, &r, NULL, false, &key));
    g_assert_cmpstr(key, ==, "a");
    /* exclusion */
    g_autoptr(GHashTable) ex = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(ex, "b");
    g_assert_true(nc_sched_index_pick(spread, &r, ex, false, &key));
    g_assert_cmpstr(key, ==, "c");
}

static void
test_claims_fill_evenly_and_never_overcommit(void)
{
    g_autoptr(NcSchedIndex) idx = nc_sched_index_new(NC_SCHED_SPREAD, 100);
    for (int i = 0; i < 100; i++) {
        g_autofree char *k = g_strdup_printf("h%d", i);
        NcSchedSlot s = slot(4, 4096, 0, 0);
        nc_sched_index_set(idx, k, &s);
    }
    NcSchedRequest r = { 1, 512, 1 };
    int placed = 0;
    const char *key;
    while (nc_sched_index_pick(idx, &r, NULL, true, &key))
        placed++;
    /* 4 vCPUs per host, 100 hosts: exactly 400, then nothing fits */
    g_assert_cmpint(placed, ==, 400);
    nc_sched_index_release(idx, "h42", &r);
    g_assert_true(nc_sched_index_pick(idx, &r, NULL, true, &key));
    g_assert_cmpstr(key, ==, "h42");
    g_assert_false(nc_sched_index_pick(idx, &r, NULL, true, &key));
}

static void
test_down_and_remove(void)
{
    g_autoptr(NcSchedIndex) idx = nc_sched_index_new(NC_SCHED_SPREAD, 2);
    NcSchedSlot up = slot(2, 1024, 1, 512), down = slot(64, 65536, 0, 0);
    down.up = false;
    nc_sched_index_set(idx, "up", &up);
    nc_sched_index_set(idx, "down", &down);
    NcSchedRequest r = { 1, 256, 1 };
    const char *key;
    g_assert_true(nc_sched_index_pick(idx, &r, NULL, false, &key));
    g_assert_cmpstr(key, ==, "up");
    nc_sched_index_remove(idx, "up");
    g_assert_cmpuint(nc_sched_index_size(idx), ==, 1);
    g_assert_false(nc_sched_index_pick(idx, &r, NULL, false, &key));
    down.up = true;
    nc_sched_index_set(idx, "down", &down);
    g_assert_true(nc_sched_index_pick(idx, &r, NULL, false, &key));
    g_assert_cmpstr(key, ==, "down");
    /* a big request that only a deep host can take is still found */
    g_autoptr(NcSchedIndex) many = nc_sched_index_new(NC_SCHED_SPREAD, 1000);
    for (int i = 0; i < 1000; i++) {
        g_autofree char *k = g_strdup_printf("s%d", i);
        NcSchedSlot s = slot(4, 1024, 0, i == 777 ? 0 : 512);
        if (i == 777)
            s.limit_memory_mib = 65536;
        nc_sched_index_set(many, k, &s);
    }
    NcSchedRequest big = { 1, 4096, 1 };
    g_assert_true(nc_sched_index_pick(many, &big, NULL, false, &key));
    g_assert_cmpstr(key, ==, "s777");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sched_index/spread-and-pack", test_spread_and_pack);
    g_test_add_func("/sched_index/claims", test_claims_fill_evenly_and_never_overcommit);
    g_test_add_func("/sched_index/down-and-remove", test_down_and_remove);
    return g_test_run();
}
