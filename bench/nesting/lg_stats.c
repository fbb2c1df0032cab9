/* bench/nesting/lg_stats.c: percentiles, schedule and series of the load
 * generator; see lg_stats.h for the coordinated-omission correction. */
#include "lg_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double
nc_lg_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0)
        return sorted[0];
    /* nearest rank: ceil(p/100 * n), 1-based */
    double r = ceil(p / 100.0 * (double)n - 1e-9);
    size_t rank = r < 1 ? 1 : (size_t)r;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void
nc_lg_summarise(double *values, size_t n, NcLgSummary *ret_summary)
{
    memset(ret_summary, 0, sizeof(*ret_summary));
    if (n == 0)
        return;
    qsort(values, n, sizeof(double), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += values[i];
    ret_summary->n = n;
    ret_summary->mean = sum / (double)n;
    ret_summary->p50 = nc_lg_percentile_sorted(values, n, 50);
    ret_summary->p80 = nc_lg_percentile_sorted(values, n, 80);
    ret_summary->p90 = nc_lg_percentile_sorted(values, n, 90);
    ret_summary->p99 = nc_lg_percentile_sorted(values, n, 99);
    ret_summary->max = values[n - 1];
}

double
nc_lg_corrected(const NcLgSample *s)
{
    return s->done - s->intended;
}

double
nc_lg_service(const NcLgSample *s)
{
    return s->done - s->sent;
}

double
nc_lg_send_time(double intended, double prev_done)
{
    return intended > prev_done ? intended : prev_done;
}

uint64_t
nc_lg_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double
nc_lg_rand_unit(uint64_t *state)
{
    return (double)(nc_lg_rand_next(state) >> 11) * 0x1.0p-53;
}

double
nc_lg_think(uint64_t *state, double mean)
{
    if (mean <= 0)
        return 0;
    /* inverse transform; 1 - u is in (0, 1], so the log is finite */
    return -mean * log(1.0 - nc_lg_rand_unit(state));
}

int
nc_lg_series(const NcLgSample *samples, size_t n, size_t seconds, NcLgSecond *ret_series)
{
    size_t *count = calloc(seconds + 1, sizeof(size_t));
    size_t *start = calloc(seconds + 1, sizeof(size_t));
    double *vals = malloc((n ? n : 1) * sizeof(double));
    if (!count || !start || !vals) {
        free(count);
        free(start);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (samples[i].status < 200 || samples[i].status >= 400 || samples[i].intended < 0)
            continue;
        size_t s = (size_t)samples[i].intended;
        if (s < seconds)
            count[s]++;
    }
    for (size_t s = 1; s <= seconds; s++)
        start[s] = start[s - 1] + count[s - 1];
    memset(count, 0, (seconds + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        if (samples[i].status < 200 || samples[i].status >= 400 || samples[i].intended < 0)
            continue;
        size_t s = (size_t)samples[i].intended;
        if (s < seconds)
            vals[start[s] + count[s]++] = nc_lg_corrected(&samples[i]);
    }
    for (size_t s = 0; s < seconds; s++) {
        NcLgSummary sum;
        nc_lg_summarise(vals + start[s], count[s], &sum);
        ret_series[s] = (NcLgSecond){ (double)s, sum.n, sum.mean, sum.p90, sum.max };
    }
    free(count);
    free(start);
    free(vals);
    return 0;
}
