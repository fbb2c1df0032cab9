/* bench/nesting/lg_stats.h: the arithmetic of the load generator.
 *
 * Kept apart from the socket code so that tests/ can check it without a
 * server: percentiles, the per-user request schedule with its correction for
 * coordinated omission, the exponential think time and the per-second series.
 *
 * Coordinated omission.  Each simulated user owns a schedule of *intended*
 * send times: t[0] is a random offset, t[k+1] = t[k] + Exp(think_mean).  A
 * request is sent at max(t[k], done[k-1]) because a user has one request in
 * flight.  If the server stalls, the requests the user meant to send during
 * the stall go out late; a generator that measured from the actual send time
 * would never see that waiting (it "coordinates" with the server and omits
 * the bad samples).  We measure the response time from t[k], the intended
 * send time, so the stall is charged to every request it delayed.  The time
 * from the actual send (the service time) is recorded too, so the report can
 * show how much the correction changes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One finished request: times in seconds from the start of the run. */
typedef struct {
    double intended;  /* when the schedule wanted it sent */
    double sent;      /* when the first byte was written */
    double done;      /* when the last byte of the response arrived */
    int status;       /* HTTP status, or 0 on a transport error */
} NcLgSample;

/* A summary of a set of response times, in seconds. */
typedef struct {
    size_t n;
    double mean;
    double p50;
    double p80;
    double p90;
    double p99;
    double max;
} NcLgSummary;

/* One second of the time series, by intended send time. */
typedef struct {
    double t;      /* start of the second, from the start of the run */
    size_t n;      /* requests intended in this second that completed */
    double mean;   /* mean corrected response time */
    double p90;
    double max;
} NcLgSecond;

/* Returns the p-th percentile (0 < p <= 100) of the n values in sorted,
 * ascending order, by the nearest-rank method: the smallest value such that
 * at least p percent of the values are less than or equal to it.  Returns 0
 * when n is 0. */
double nc_lg_percentile_sorted(const double *sorted, size_t n, double p);

/* Summarises n values.  Sorts values in place.  ret_summary is filled with
 * zeros when n is 0. */
void nc_lg_summarise(double *values, size_t n, NcLgSummary *ret_summary);

/* Returns the response time of a sample corrected for coordinated omission:
 * from the intended send time to the end of the response. */
double nc_lg_corrected(const NcLgSample *s);

/* Returns the service time of a sample: from the actual send to the end of
 * the response (what an uncorrected generator reports). */
double nc_lg_service(const NcLgSample *s);

/* Returns the actual send time of a request intended at `intended` by a user
 * whose previous response completed at `prev_done` (one request in flight
 * per user). */
double nc_lg_send_time(double intended, double prev_done);

/* splitmix64: a small generator with a seed, so runs can be repeated. */
uint64_t nc_lg_rand_next(uint64_t *state);

/* Returns a uniform double in [0, 1). */
double nc_lg_rand_unit(uint64_t *state);

/* Returns an exponentially distributed think time with the given mean;
 * mean <= 0 yields 0 (users send back to back). */
double nc_lg_think(uint64_t *state, double mean);

/* Builds the per-second series of the n samples (successful ones only) over
 * `seconds` seconds by intended send time.  ret_series must hold `seconds`
 * entries.  Returns 0, or -1 when memory runs out. */
int nc_lg_series(const NcLgSample *samples, size_t n, size_t seconds, NcLgSecond *ret_series);
