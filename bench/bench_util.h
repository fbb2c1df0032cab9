/* bench_util.h: what the C benchmarks share: this process's CPU time, the
 * order of doubles for medians, and the -n COUNT -r ROUNDS options. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Returns: the CPU time this process has used, in seconds. */
static inline double
nc_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* qsort()'s comparison for doubles, ascending. */
static inline int
nc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads "-n COUNT -r ROUNDS" into @n and @rounds (their defaults on entry),
 * COUNT 1 to 1,000,000 and ROUNDS 1 to 101; @what names COUNT in the usage.
 * Returns: 0, or 2 (the exit status) after saying what was wrong. */
static inline int
nc_bench_args(int argc, char **argv, const char *what, int *n, int *rounds)
{
    int opt;
    while ((opt = getopt(argc, argv, "n:r:")) != -1) {
        if (opt == 'n') {
            *n = atoi(optarg);
        } else if (opt == 'r') {
            *rounds = atoi(optarg);
        } else {
            fprintf(stderr, "usage: %s [-n %s] [-r ROUNDS]\n", argv[0], what);
            return 2;
        }
    }
    if (*n < 1 || *n > 1000000 || *rounds < 1 || *rounds > 101) {
        fprintf(stderr, "%s must be 1 to 1000000 and ROUNDS 1 to 101\n", what);
        return 2;
    }
    return 0;
}
