#!/usr/bin/python3
"""Block storage, each against a baseline in the same run, interleaved,
medians of N (default 5):

1. create and format a 10 GiB volume (POST /v1/volumes until the operation
   succeeds) against `qemu-img create -f raw` plus `mkfs` run by hand on
   the same filesystem, for ext4 and xfs;
2. launch from a snapshot against launch from the base image: POST /v1/vms
   until the domain runs, and until the guest prints its first line.

    bench/storage.py [N]
"""
import os
import subprocess
import sys
import tempfile
import time

from common import Cloud, median, record, wait_for

GIB = 10


def timed_op(cloud, method, path, body):
    t0 = time.perf_counter()
    op = cloud.call(method, path, body, expect=(202,))
    while True:
        cur = cloud.get(f"/v1/operations/{op['id']}")
        if cur["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.002)
    assert cur["status"] == "succeeded", cur
    return time.perf_counter() - t0, cur


def by_hand(workdir, fs):
    path = os.path.join(workdir, "hand.raw")
    t0 = time.perf_counter()
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", path, f"{GIB}G"], check=True)
    mkfs = ["mkfs.ext4", "-q", "-F"] if fs == "ext4" else ["mkfs.xfs", "-q", "-f"]
    subprocess.run(mkfs + [path], check=True)
    elapsed = time.perf_counter() - t0
    os.unlink(path)
    return elapsed


def bench_volumes(cloud, n):
    # the baseline writes where the block pool is, so both pay the same disk
    workdir = tempfile.mkdtemp(dir=os.path.join(cloud.state, "volumes"), prefix=".bench-")
    out = {}
    try:
        for fs in ("ext4", "xfs"):
            api, hand = [], []
            for i in range(n + 1):
                t, op = timed_op(cloud, "POST", "/v1/volumes",
                                 {"name": f"v{fs}{i}", "size_gib": GIB, "filesystem": fs})
                h = by_hand(workdir, fs)
                timed_op(cloud, "DELETE", f"/v1/volumes/{op['target']['id']}", None)
                if i:   # the first of each is a warm-up
                    api.append(t)
                    hand.append(h)
            ma, mh = median(api), median(hand)
            out[fs] = {"api_median_ms": round(ma * 1000, 1), "by_hand_median_ms": round(mh * 1000, 1),
                       "ratio": round(ma / mh, 3),
                       "api_ms": [round(x * 1000, 1) for x in api],
                       "by_hand_ms": [round(x * 1000, 1) for x in hand]}
    finally:
        subprocess.run(["rm", "-rf", workdir])
    return out


def timed_launch(cloud, name, **spec):
    body = {"name": name, "memory_mib": 256, "max_memory_mib": 256, **spec}
    if "snapshot" not in spec:
        body["image"] = "test"
    t0 = time.perf_counter()
    t_run, op = timed_op(cloud, "POST", "/v1/vms", body)
    wait_for("the guest's first line", lambda: "NC-BOOT" in cloud.console(name),
             timeout=180, interval=0.05)
    t_boot = time.perf_counter() - t0
    cloud.delete_vm(name)
    return t_run, t_boot


def bench_snapshot_launch(cloud, n):
    cloud.create_vm("origin", memory_mib=256, max_memory_mib=256)
    cloud.wait_console("origin", "NC-STATS", timeout=180)
    timed_op(cloud, "POST", "/v1/vms/origin/snapshots", {"name": "snap"})
    cloud.delete_vm("origin")
    base_run, base_boot, snap_run, snap_boot = [], [], [], []
    for i in range(n + 1):
        r1, b1 = timed_launch(cloud, f"base{i}")
        time.sleep(1)
        r2, b2 = timed_launch(cloud, f"snap{i}", snapshot="snap")
        time.sleep(1)
        if i:
            base_run.append(r1)
            base_boot.append(b1)
            snap_run.append(r2)
            snap_boot.append(b2)
    ms = lambda xs: [round(x * 1000, 1) for x in xs]  # noqa: E731
    return {
        "base_to_running_median_ms": round(median(base_run) * 1000, 1),
        "snapshot_to_running_median_ms": round(median(snap_run) * 1000, 1),
        "running_ratio": round(median(snap_run) / median(base_run), 3),
        "base_to_first_line_median_ms": round(median(base_boot) * 1000, 1),
        "snapshot_to_first_line_median_ms": round(median(snap_boot) * 1000, 1),
        "first_line_ratio": round(median(snap_boot) / median(base_boot), 3),
        "base_run_ms": ms(base_run), "snapshot_run_ms": ms(snap_run),
    }


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cloud = Cloud("bench-storage").start()
    try:
        volumes = bench_volumes(cloud, n)
        launch = bench_snapshot_launch(cloud, n)
    finally:
        cloud.destroy()
    record("storage", {"n": n, "volume_gib": GIB, "volume_create_format": volumes,
                       "launch_from_snapshot": launch})


if __name__ == "__main__":
    main()
