/* bench_spec.h: the VM the C1M run creates (bench/c1m_amqp.py: 1 vCPU,
 * 64 MiB, the "test" image), for the C benchmarks that time a part of it. */
#pragma once

#include "conf/vm_conf.h"
#include "util/nc_valid.h"

/* Returns: (transfer full): a spec named "c1m-@i" with a fresh id. */
static inline NcVmSpec *
nc_bench_spec(int i)
{
    NcVmSpec *s = nc_vm_spec_new();
    s->id = nc_uuid_new();
    s->name = g_strdup_printf("c1m-%d", i);
    s->project = g_strdup("default");
    s->image = g_strdup("3f0c8a4e-7d1b-4c55-9a86-0d1e2f3a4b5c");
    s->vcpus = s->max_vcpus = 1;
    s->memory_mib = s->max_memory_mib = 64;
    s->cpu_priority = 5;
    s->disk_gib = 1;
    return s;
}
