/* sim_launch.c: what a simulated host's create costs, against libvirt's
 * test driver alone, in the same run.
 *
 *   build/bench/bench_sim_launch [-n VMS] [-r ROUNDS]
 *
 * Measured, each as CPU time per VM of this process (median of ROUNDS,
 * fresh test:/// connection each round):
 *   - "libvirt define + start": virDomainDefineXML() and virDomainCreate()
 *     of the very XML the simulated driver writes, nothing else: how the
 *     driver launched until it created its domains transient.  libvirt's
 *     test driver parses a definition at define and copies it (format and
 *     parse again) at start;
 *   - "libvirt create": virDomainCreateXML() of that XML, one parse: the
 *     floor of the end-to-end C1M run (bench/c1m_amqp.py);
 *   - "libvirt create, 2 threads at once": the same creates split between
 *     two threads with a connection each, running together on the two
 *     cores: what the same work costs when both cores are busy, as they are
 *     in the end-to-end run (the ratio to "libvirt create" is the machine's,
 *     not libvirt's: the two threads share no lock that shows in a profile);
 *   - "sim driver": the simulated hypervisor's vm_launch (nc_hv_sim_driver),
 *     what a worker does for one vm.create, without the bus.
 * The figure "ceiling on 2 cores" is how many
 * VMs per second two cores could launch if nothing else ran: not the API,
 * the store, the broker or the scheduler.
 */
#include "bench_spec.h"
#include "bench_util.h"
#include "conf/domain.h"
#include "hv/hv.h"

#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The XML the simulated driver writes for @s (hv_sim.c). */
static char *
nc_bench_xml(const NcVmSpec *s)
{
    NcDomainEnv env = {
        .cloud_id = "bench",
        .host = "sim-0000",
        .domain_type = "test",
        .disk_path = "/sim/root.qcow2",
        .console_path = "/sim/console.log",
        .bare = true,
    };
    return nc_domain_xml_format(s, &env);
}

/* Seconds of CPU per VM: libvirt's test driver alone. */
static double
nc_bench_libvirt(const char *uri, int n, bool transient)
{
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) {
        fprintf(stderr, "cannot open %s\n", uri);
        exit(1);
    }
    GPtrArray *xmls = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < n; i++) {
        g_autoptr(NcVmSpec) s = nc_bench_spec(i);
        g_ptr_array_add(xmls, nc_bench_xml(s));
    }
    double t0 = nc_cpu_now();
    for (int i = 0; i < n; i++) {
        const char *xml = g_ptr_array_index(xmls, i);
        virDomainPtr d = transient ? virDomainCreateXML(conn, xml, 0)
                                   : virDomainDefineXML(conn, xml);
        if (!d || (!transient && virDomainCreate(d) < 0)) {
            fprintf(stderr, "libvirt refused domain %d\n", i);
            exit(1);
        }
        virDomainFree(d);
    }
    double t = (nc_cpu_now() - t0) / n;
    g_ptr_array_unref(xmls);
    virConnectClose(conn);
    return t;
}

typedef struct {
    const char *uri;
    GPtrArray *xmls;   /* this thread's share */
} NcBenchHalf;

static gpointer
nc_bench_half_run(gpointer data)
{
    NcBenchHalf *h = data;
    virConnectPtr conn = virConnectOpen(h->uri);
    if (!conn) {
        fprintf(stderr, "cannot open %s\n", h->uri);
        exit(1);
    }
    for (guint i = 0; i < h->xmls->len; i++) {
        virDomainPtr d = virDomainCreateXML(conn, g_ptr_array_index(h->xmls, i), 0);
        if (!d) {
            fprintf(stderr, "libvirt refused domain %u\n", i);
            exit(1);
        }
        virDomainFree(d);
    }
    virConnectClose(conn);
    return NULL;
}

/* Seconds of CPU per VM: libvirt's transient create, @n VMs split between
 * two threads that run at once, each on its own connection (its own test
 * driver, as two simulated hosts are).  The process's CPU time counts both
 * threads; the connections' opening and closing is counted too, and is
 * small against @n creates. */
static double
nc_bench_libvirt_two(const char *uri, int n)
{
    NcBenchHalf half[2];
    for (int k = 0; k < 2; k++) {
        half[k].uri = uri;
        half[k].xmls = g_ptr_array_new_with_free_func(g_free);
    }
    for (int i = 0; i < n; i++) {
        g_autoptr(NcVmSpec) s = nc_bench_spec(i);
        g_ptr_array_add(half[i % 2].xmls, nc_bench_xml(s));
    }
    double t0 = nc_cpu_now();
    GThread *t[2];
    for (int k = 0; k < 2; k++)
        t[k] = g_thread_new("bench-half", nc_bench_half_run, &half[k]);
    for (int k = 0; k < 2; k++)
        g_thread_join(t[k]);
    double t1 = (nc_cpu_now() - t0) / n;
    for (int k = 0; k < 2; k++)
        g_ptr_array_unref(half[k].xmls);
    return t1;
}

/* Seconds of CPU per VM: the simulated driver's launch. */
static double
nc_bench_sim(const char *uri, const char *dir, int n)
{
    NcHvConfig hc = { .uri = uri, .cloud_id = "bench", .host_name = "sim-0000",
                      .state_dir = dir, .instances_dir = dir, .image_dir = dir,
                      .volume_dir = dir, .accel = "auto", .network = "none" };
    g_autoptr(GError) err = NULL;
    NcHv *hv = nc_hv_open(&nc_hv_sim_driver, &hc, &err);
    if (!hv) {
        fprintf(stderr, "cannot open the simulated host: %s\n", err->message);
        exit(1);
    }
    GPtrArray *specs = g_ptr_array_new_with_free_func((GDestroyNotify)nc_vm_spec_free);
    for (int i = 0; i < n; i++)
        g_ptr_array_add(specs, nc_bench_spec(i));
    NcImage img = { .id = "3f0c8a4e-7d1b-4c55-9a86-0d1e2f3a4b5c", .name = "test",
                    .format = "qcow2", .file = "test.qcow2" };
    double t0 = nc_cpu_now();
    for (int i = 0; i < n; i++) {
        if (nc_hv_driver(hv)->vm_launch(hv, g_ptr_array_index(specs, i), &img, NULL, &err) < 0) {
            fprintf(stderr, "launch %d: %s\n", i, err->message);
            exit(1);
        }
    }
    double t = (nc_cpu_now() - t0) / n;
    g_ptr_array_unref(specs);
    nc_hv_close(hv);
    return t;
}

int
main(int argc, char **argv)
{
    int n = 2000, rounds = 5;
    int rc = nc_bench_args(argc, argv, "VMS", &n, &rounds);
    if (rc)
        return rc;
    char dir[] = "/tmp/nc-bench-sim-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    g_autofree char *node = g_build_filename(dir, "node.xml", NULL);
    g_autofree char *xml = g_strdup_printf(
        "<node>\n  <cpu><mhz>2000</mhz><model>sim</model><active>%d</active><nodes>1</nodes>"
        "<sockets>1</sockets><cores>%d</cores><threads>1</threads></cpu>\n"
        "  <memory>%lld</memory>\n</node>\n", n, n, (long long)n * 65536 + 1048576);
    if (!g_file_set_contents(node, xml, -1, NULL))
        return 1;
    g_autofree char *uri = g_strconcat("test://", node, NULL);

    double *lv = g_new(double, rounds), *cr = g_new(double, rounds);
    double *sim = g_new(double, rounds), *two = g_new(double, rounds);
    for (int r = 0; r < rounds; r++) {
        /* alternate, so that drift in the machine's load hits all four */
        lv[r] = nc_bench_libvirt(uri, n, false);
        cr[r] = nc_bench_libvirt(uri, n, true);
        two[r] = nc_bench_libvirt_two(uri, n);
        sim[r] = nc_bench_sim(uri, dir, n);
    }
    qsort(lv, rounds, sizeof *lv, nc_cmp_double);
    qsort(cr, rounds, sizeof *cr, nc_cmp_double);
    qsort(two, rounds, sizeof *two, nc_cmp_double);
    qsort(sim, rounds, sizeof *sim, nc_cmp_double);
    double l = lv[rounds / 2], c = cr[rounds / 2], s = sim[rounds / 2], c2 = two[rounds / 2];
    printf("%d VMs per round, %d rounds, CPU per VM (median):\n", n, rounds);
    printf("  libvirt define + start          %7.1f us   ceiling on 2 cores %6.0f VMs/s\n",
           l * 1e6, 2.0 / l);
    printf("  libvirt create (transient)      %7.1f us   ceiling on 2 cores %6.0f VMs/s\n",
           c * 1e6, 2.0 / c);
    printf("  libvirt create, 2 threads at once %5.1f us   ceiling on 2 cores %6.0f VMs/s\n",
           c2 * 1e6, 2.0 / c2);
    printf("  sim driver launch               %7.1f us   ceiling on 2 cores %6.0f VMs/s\n",
           s * 1e6, 2.0 / s);
    printf("  ratio sim / libvirt define + start  %5.2f\n", s / l);
    printf("  ratio sim / libvirt create          %5.2f\n", s / c);
    printf("  ratio 2 threads at once / 1 thread  %5.2f (what busy cores cost each other)\n",
           c2 / c);
    printf("  Nomad's C1M anchor: 3750 VMs/s, a budget of %.0f us of CPU per VM on 2 cores\n",
           2.0 / 3750 * 1e6);
    g_free(lv);
    g_free(cr);
    g_free(sim);
    g_free(two);
    unlink(node);
    rmdir(dir);
    return 0;
}
