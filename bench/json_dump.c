/* json_dump.c: our compact JSON writer (nc_json_dumps) against jansson's
 * json_dumps(JSON_COMPACT), in the same run, on what the central node
 * writes for every VM it creates: the VM's spec, its worker command and an
 * event.
 *
 *   build/bench/bench_json_dump [-n VALUES] [-r ROUNDS]
 *
 * Each figure is the median over ROUNDS of the CPU time per value.
 */
#include "bench_spec.h"
#include "bench_util.h"
#include "util/nc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* the three values a create writes: spec, command, event */
static json_t *
nc_bench_values(void)
{
    g_autoptr(NcVmSpec) s = nc_bench_spec(12345);
    json_t *spec = nc_vm_spec_to_json(s);
    json_t *cmd = json_pack("{s:s, s:s, s:O, s:{s:s, s:s, s:s, s:I}}",
                            "type", "vm.create", "op", "9b1f6a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                            "spec", spec, "image", "id", s->image, "name", "debian-12",
                            "format", "qcow2", "size", (json_int_t)2147483648);
    json_t *event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:I}",
                              "id", s->id, "name", s->name, "project", s->project,
                              "state", "running", "host", "sim-0042", "error",
                              "created_at", (json_int_t)1795000000000);
    return json_pack("[o, o, o]", spec, cmd, event);
}

int
main(int argc, char **argv)
{
    int n = 100000, rounds = 7;
    int rc = nc_bench_args(argc, argv, "VALUES", &n, &rounds);
    if (rc)
        return rc;
    g_autoptr(json_t) values = nc_bench_values();
    size_t nv = json_array_size(values);
    double theirs[101], ours[101];
    size_t bytes = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = nc_cpu_now();
        for (int i = 0; i < n; i++) {
            char *text = json_dumps(json_array_get(values, (size_t)i % nv), JSON_COMPACT);
            bytes += text[0] != '\0';
            free(text);
        }
        double t1 = nc_cpu_now();
        for (int i = 0; i < n; i++) {
            char *text = nc_json_dumps(json_array_get(values, (size_t)i % nv));
            bytes += text[0] != '\0';
            g_free(text);
        }
        double t2 = nc_cpu_now();
        theirs[r] = (t1 - t0) / n * 1e6;
        ours[r] = (t2 - t1) / n * 1e6;
    }
    qsort(theirs, (size_t)rounds, sizeof(double), nc_cmp_double);
    qsort(ours, (size_t)rounds, sizeof(double), nc_cmp_double);
    double a = theirs[rounds / 2], b = ours[rounds / 2];
    printf("%d values per round (spec, command, event in turn), %d rounds, CPU per value (median):\n",
           n, rounds);
    printf("  jansson json_dumps(JSON_COMPACT)   %6.2f us\n", a);
    printf("  nc_json_dumps                      %6.2f us\n", b);
    printf("  ratio ours / jansson               %6.2f\n", b / a);
    return bytes == (size_t)n * 2 * (size_t)rounds ? 0 : 1;
}
