#!/usr/bin/python3
"""C1M-style end to end through RabbitMQ: VMs per second from the API call
to "running" on simulated hosts, with `nestcloud serve --bus amqp://` and
separate `nestcloud worker --bus amqp:// --sim-hosts N` processes.

    bench/c1m_amqp.py [VMS] [HOSTS] [WORKER_PROCESSES] [CLIENT_THREADS]
    (defaults: 100000 1000 4 8; NESTCLOUD_BUILD selects the build;
    C1M_STORE=postgres puts the central node's store in a private
    PostgreSQL cluster started with scripts/postgres.sh, else SQLite;
    C1M_PER_REQUEST=N asks for N VMs per POST with "count" (default 100,
    as C1M submitted jobs of many instances; 1: one VM per POST);
    C1M_POLICY=pack|spread, the placement policy (default pack, Nomad's
    default bin-packing); C1M_IDLE=S first measures for S seconds the CPU
    the processes use with every host up and no work (default 0: skip);
    C1M_TICK_MS, the broker's quorum_tick_interval (default 60000);
    C1M_LOG=PATH keeps a copy of the central node's log;
    C1M_ALT_BIN=PATH runs the odd worker processes with another build's
    nestcloud program, and reports the CPU of the even and the odd ones
    apart: two builds side by side, under the same machine and the same
    load; run it again with the builds swapped);
    C1M_WORKER_NICE=N, the nice value of the worker processes (default
    10: on a machine shared with the central node, its store transaction,
    which every create and every result passes through one at a time, goes
    first, and the workers take the CPU left; 0: as the central node)

Also measured, just before and just after the run: libvirt's test driver
alone creating 1,000 domains (bench_sim_launch), in microseconds of CPU
per create.  It tells the machine's speed at the time of the run.

Clock: from the first POST /v1/vms to the moment /v1/status counts every
VM running (each VM is "running" only after its worker's op.result, sent
after libvirt's test driver started the domain, was applied by the
central node).  Also reported: the API's intake rate (POSTs answered 202
per second).  Anchor: Nomad's C1M placed 3,750 containers per second
with 5 servers.
"""
import http.client
import json
import os
import re
import shutil
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from conftest import BUILD, TOP, Cloud, free_port, wait_for  # noqa: E402
from test_amqp import Broker, Worker  # noqa: E402

from common import record  # noqa: E402


def _proc_stat(pid):
    """/proc/PID/stat's fields after the command name ([0] is field 3)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _proc_cpu(pid):
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def minor_faults(procs):
    """Page faults served without I/O so far, summed over processes."""
    return sum(int(f[7]) for f in map(_proc_stat, procs) if f)


def cpu_seconds(cloud, workers, broker):
    """utime+stime so far of the central node, the workers and the broker."""
    out = {"serve": _proc_cpu(cloud.proc.pid),
           "workers": sum(_proc_cpu(w.proc.pid) for w in workers)}
    if os.environ.get("C1M_ALT_BIN"):
        out["workers_even"] = sum(_proc_cpu(w.proc.pid) for w in workers[0::2])
        out["workers_odd_alt"] = sum(_proc_cpu(w.proc.pid) for w in workers[1::2])
    r = subprocess.run(["pgrep", "-f", f"beam.smp.*{broker.dir}"], capture_output=True, text=True)
    out["rabbitmq"] = sum(_proc_cpu(int(p)) for p in r.stdout.split())
    return out


def steal_seconds():
    """CPU time the hypervisor gave to others while this machine's vCPUs
    wanted it, so far, summed over the vCPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time every vCPU of the machine spent on anything but idling or
    waiting for I/O, so far, summed (/proc/stat: user, nice, system, irq,
    softirq): with the processes' own CPU it shows what else ran."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds():
    """utime+stime of this process (the client threads, the status reads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_probe():
    """Microseconds of CPU per create in libvirt's test driver alone
    (bench_sim_launch, 3 x 1,000 creates): how fast one core of the machine
    is at this moment, on these shared machines.  (A run can still be slow
    with a normal probe: on 2026-11-27 the same build took 26-34 s with the
    probe at 160-170 µs.)  None without the benchmark program."""
    exe = os.path.join(BUILD, "bench", "bench_sim_launch")
    if not os.path.exists(exe):
        return None
    out = subprocess.run([exe, "-n", "1000", "-r", "3"], capture_output=True, text=True).stdout
    m = re.search(r"libvirt create \(transient\)\s+([\d.]+) us", out)
    return float(m.group(1)) if m else None


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    procs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    per_request = int(os.environ.get("C1M_PER_REQUEST", "100"))
    policy = os.environ.get("C1M_POLICY", "pack")
    idle_s = float(os.environ.get("C1M_IDLE", "0"))
    worker_nice = int(os.environ.get("C1M_WORKER_NICE", "10"))
    per_host = -(-n // hosts)
    # room for per_host VMs of 1 vCPU / 64 MiB on each host (ratio 4 for CPUs)
    sim_vcpus = max(2, -(-per_host // 4))
    sim_memory = 512 + per_host * 64 + 256

    # quorum queues tick every 60 s, not 5: 2,000 of them ticking cost the
    # idle broker 0.09 of a core (scripts/rabbitmq.sh; C1M_TICK_MS overrides)
    tick_ms = os.environ.get("C1M_TICK_MS", "60000")
    os.environ["NC_RABBITMQ_QUORUM_TICK_MS"] = tick_ms
    broker = Broker("c1m").start()
    cloud = Cloud("c1m", command="serve")
    workers = []
    pg_dir = None
    store = ()
    if os.environ.get("C1M_STORE") == "postgres":
        pg_dir = cloud.state + "-pg"
        port = str(free_port())
        url = subprocess.run([os.path.join(TOP, "scripts", "postgres.sh"), "start", pg_dir, port],
                             check=True, capture_output=True, text=True).stdout.strip().split()[-1]
        store = ("--store", url)
    try:
        cloud.start(extra=("--bus", broker.url(), "--host-timeout", "60", "--policy", policy,
                           "--max-vms-per-project", str(max(n, 10000)), *store))
        for k in range(procs):
            count = hosts // procs + (1 if k < hosts % procs else 0)
            # the default 5 s heartbeat: 1,000 hosts send 200 a second
            w = Worker(cloud, broker.url(), f"c{k}", sim_hosts=count, sim_vcpus=sim_vcpus,
                       sim_memory=sim_memory, heartbeat_ms=5000)
            if os.environ.get("C1M_ALT_BIN") and k % 2 == 1:
                w.args[0] = os.environ["C1M_ALT_BIN"]
            if worker_nice:
                w.args[:0] = ["nice", "-n", str(worker_nice)]
            workers.append(w.start())
        wait_for(f"{hosts} hosts up", lambda: cloud.get("/v1/status")["hosts"]["up"] >= hosts,
                 timeout=600, interval=1)

        def body_of(first, count):
            spec = {"name": f"c1m-{first}", "image": "test", "memory_mib": 64,
                    "max_memory_mib": 64, "max_vcpus": 1}
            if per_request > 1:
                spec["count"] = count
            return json.dumps(spec)
        accepted = [0] * threads
        failed = []
        # request k: VMs [k * per_request, ...), handed out round robin
        requests = [(i, min(per_request, n - i)) for i in range(0, n, per_request)]

        def post(k):
            conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=300)
            hdrs = {"Authorization": f"Bearer {cloud.token}", "Content-Type": "application/json"}
            for first, count in requests[k::threads]:
                conn.request("POST", "/v1/vms", body_of(first, count), hdrs)
                r = conn.getresponse()
                text = r.read()
                if r.status != 202:
                    failed.append((r.status, text[:200]))
                    return
                accepted[k] += count
            conn.close()

        idle = None
        if idle_s > 0:
            c0, i0 = cpu_seconds(cloud, workers, broker), time.monotonic()
            time.sleep(idle_s)
            c1, dt = cpu_seconds(cloud, workers, broker), time.monotonic() - i0
            idle = {k: round((c1[k] - c0.get(k, 0)) / dt, 3) for k in c1}
            print(f"  idle, in cores: {idle}", flush=True)
        probe0 = machine_probe()
        cpu0 = cpu_seconds(cloud, workers, broker)
        steal0 = steal_seconds()
        busy0, client0 = machine_busy_seconds(), client_cpu_seconds()
        faults0 = minor_faults([w.proc.pid for w in workers])
        t0 = time.monotonic()
        ts = [threading.Thread(target=post, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        progress = []

        def running():
            st = cloud.get("/v1/status")
            r = st["vms"]["by_state"].get("running", 0)
            progress.append((round(time.monotonic() - t0, 1), sum(accepted), r))
            print(f"  {progress[-1][0]:7.1f} s: {progress[-1][1]} accepted, {r} running",
                  flush=True)
            if failed:
                raise AssertionError(f"creates refused: {failed[:3]}")
            return r >= n
        # every 2 s while the API takes creates (a status read counts the
        # VMs by state and lists the hosts), then every 0.1 s: the clock
        # stops within 0.1 s of the last VM running, not within 2 s
        deadline = time.monotonic() + 7200
        while not running():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {n} VMs running")
            time.sleep(2 if sum(accepted) < n else 0.1)
        t_run = time.monotonic() - t0
        cpu1 = cpu_seconds(cloud, workers, broker)
        steal1 = steal_seconds()
        busy1, client1 = machine_busy_seconds(), client_cpu_seconds()
        faults1 = minor_faults([w.proc.pid for w in workers])
        for t in ts:
            t.join()
        probe1 = machine_probe()
        t_accept = max(p[0] for p in progress if p[1] < n) if any(p[1] < n for p in progress) \
            else t_run
        # precise end of intake: when the last POST returned (threads joined)
        result = {
            "vms": n, "hosts": hosts, "worker_processes": procs, "client_threads": threads,
            "vms_per_request": per_request, "policy": policy,
            "quorum_tick_ms": int(tick_ms),
            "store": cloud.get("/v1/status")["store"],
            "odd_workers_binary": os.environ.get("C1M_ALT_BIN"),
            "worker_nice": worker_nice,
            "seconds_to_all_running": round(t_run, 2),
            "vms_per_second": round(n / t_run, 1),
            "intake_seconds_upper_bound": t_accept,
            "nomad_c1m_anchor_per_second": 3750,
            # CPU seconds spent during the run, by process (2 cores shared)
            "cpu_seconds": {k: round(cpu1[k] - cpu0.get(k, 0), 1) for k in cpu1},
            "worker_minor_faults": faults1 - faults0,
            "load_average_1min_at_end": os.getloadavg()[0],
            "steal_seconds": round(steal1 - steal0, 1),
            "client_cpu_seconds": round(client1 - client0, 1),
            "machine_busy_seconds": round(busy1 - busy0, 1),
            # the machine's speed just before and just after the run
            "probe_libvirt_create_us": [probe0, probe1],
        }
        if idle is not None:
            result["idle_cores_before"] = idle
        record("c1m_amqp", result)
    finally:
        for w in workers:
            w.stop()
            shutil.rmtree(w.state, ignore_errors=True)
        if os.environ.get("C1M_LOG"):
            shutil.copy(cloud.log_path, os.environ["C1M_LOG"])
        cloud.destroy()
        broker.destroy()
        if pg_dir:
            subprocess.run([os.path.join(TOP, "scripts", "postgres.sh"), "stop", pg_dir],
                           check=False)
            shutil.rmtree(pg_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
