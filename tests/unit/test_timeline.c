/* test_timeline.c: capacity over time. */
#include "sched/timeline.h"

#define H (3600 * 1000LL)

static void
test_reservation_next_week(void)
{
    int64_t now = 1000 * H;
    NcSchedSlot host = { 8, 8192, 100, 2, 2048, 10, true };
    NcSchedInterval next_week[] = { { now + 168 * H, now + 170 * H, 6, 4096, 10 } };
    /* a VM for ever does not fit: next week it would collide */
    NcSchedInterval forever = { now, NC_TIME_FOREVER, 4, 1024, 1 };
    int64_t when = 0;
    g_assert_false(nc_sched_timeline_fits(now, &host, NULL, 0, next_week, 1, &forever, &when));
    g_assert_cmpint(when, ==, now + 168 * H);
    /* a VM that ends before it does */
    NcSchedInterval until_friday = { now, now + 100 * H, 4, 1024, 1 };
    g_assert_true(nc_sched_timeline_fits(now, &host, NULL, 0, next_week, 1, &until_friday, NULL));
    /* a VM now that expires before next week's window also frees room */
    NcSchedSlot busy = { 8, 8192, 100, 6, 2048, 10, true };
    NcSchedInterval expiring[] = { { 0, now + 24 * H, 4, 1024, 1 } };
    NcSchedInterval later = { now + 48 * H, now + 50 * H, 5, 1024, 1 };
    g_assert_false(nc_sched_timeline_fits(now, &busy, NULL, 0, NULL, 0, &later, NULL));
    g_assert_true(nc_sched_timeline_fits(now, &busy, expiring, 1, NULL, 0, &later, NULL));
}

static void
test_overlapping_reservations(void)
{
    int64_t now = 0;
    NcSchedSlot host = { 8, 8192, 100, 0, 0, 0, true };
    NcSchedInterval r[] = { { 10 * H, 20 * H, 4, 1024, 1 }, { 15 * H, 30 * H, 3, 1024, 1 } };
    NcSchedInterval a = { 16 * H, 18 * H, 2, 1024, 1 };   /* 4+3+2 = 9 > 8 */
    NcSchedInterval b = { 16 * H, 18 * H, 1, 1024, 1 };   /* 8: fits exactly */
    NcSchedInterval c = { 20 * H, 25 * H, 5, 1024, 1 };   /* 3+5 = 8 after the first ends */
    NcSchedInterval d = { 5 * H, 12 * H, 5, 1024, 1 };    /* 4+5 at 10h */
    g_assert_false(nc_sched_timeline_fits(now, &host, NULL, 0, r, 2, &a, NULL));
    g_assert_true(nc_sched_timeline_fits(now, &host, NULL, 0, r, 2, &b, NULL));
    g_assert_true(nc_sched_timeline_fits(now, &host, NULL, 0, r, 2, &c, NULL));
    int64_t when = 0;
    g_assert_false(nc_sched_timeline_fits(now, &host, NULL, 0, r, 2, &d, &when));
    g_assert_cmpint(when, ==, 10 * H);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/timeline/reservation-next-week", test_reservation_next_week);
    g_test_add_func("/timeline/overlapping", test_overlapping_reservations);
    return g_test_run();
}
