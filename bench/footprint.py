#!/usr/bin/python3
"""Footprint: resident memory and idle CPU of `nestcloud up` with 0 VMs and
with 50 VMs defined (stopped: 50 booting guests would swamp 2 cores),
beside libvirtd's own figures from the same run.

    bench/footprint.py [SECONDS]     idle window per measurement (default 60)
"""
import os
import subprocess
import sys
import time

from common import Cloud, record


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def idle(pid, seconds):
    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    return 100.0 * (c1 - c0) / hz / (t1 - t0)


def libvirtd_pid():
    return int(subprocess.run(["pgrep", "-o", "-x", "libvirtd"], capture_output=True,
                              text=True).stdout.split()[0])


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    cloud = Cloud("bench-footprint")
    cloud.start(extra=("--heartbeat", "5000", "--cpu-ratio", "64"))
    lv = libvirtd_pid()
    try:
        time.sleep(5)
        r0 = {"rss_kib": rss_kib(cloud.proc.pid), "cpu_pct": round(idle(cloud.proc.pid, seconds), 3),
              "libvirtd_rss_kib": rss_kib(lv)}
        for i in range(50):
            cloud.create_vm(f"idle-{i}", start=False, memory_mib=128, max_memory_mib=256)
        time.sleep(5)
        r50 = {"rss_kib": rss_kib(cloud.proc.pid), "cpu_pct": round(idle(cloud.proc.pid, seconds), 3),
               "libvirtd_rss_kib": rss_kib(lv)}
    finally:
        cloud.destroy()
    record("footprint", {"idle_seconds": seconds, "heartbeat_ms": 5000, "vms_0": r0,
                         "vms_50_defined": r50})


if __name__ == "__main__":
    main()
