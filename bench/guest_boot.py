#!/usr/bin/env python3
"""Boot time of the test guest: the uncompressed kernel (test-vmlinux, booted
through QEMU's PVH entry point) against the same kernel as Debian ships it
(test-vmlinuz, a bzImage that decompresses itself), same disk, initrd and
command line, launched alternately through the API of one nestcloud.

Times from POST /v1/vms to the guest's first console line (NC-BOOT) and to
its first stats line (NC-STATS: init done, the point most tests wait for).

    NESTCLOUD_BUILD=build bench/guest_boot.py [N]      (N pairs, default 5)
"""
import os
import shutil
import sys
import time

from common import Cloud, median, record, wait_for

IMAGES = os.environ.get("NESTCLOUD_TEST_IMAGE_DIR",
                        os.path.join(os.environ.get("NESTCLOUD_BUILD", "build"), "images"))


def timed_boot(cloud, name, image):
    t0 = time.perf_counter()
    cloud.call("POST", "/v1/vms", {"name": name, "image": image, "memory_mib": 256,
                                   "max_memory_mib": 256}, expect=(202,))
    first = wait_for("NC-BOOT", lambda: "NC-BOOT" in cloud.console(name) and time.perf_counter(),
                     timeout=180, interval=0.05)
    ready = wait_for("NC-STATS", lambda: "NC-STATS" in cloud.console(name) and time.perf_counter(),
                     timeout=180, interval=0.05)
    cloud.delete_vm(name)
    return first - t0, ready - t0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cloud = Cloud("bench-boot").start()
    try:
        pool = os.path.join(cloud.state, "images")
        for f in ("test.qcow2", "test-vmlinuz", "test-initrd.img"):
            shutil.copy(os.path.join(IMAGES, f), os.path.join(pool, "bz-" + f))
        cmdline = open(os.path.join(IMAGES, "test.cmdline")).read().strip()
        cloud.call("POST", "/v1/images", {"name": "bzimage", "path": "bz-test.qcow2",
                                          "kernel": "bz-test-vmlinuz",
                                          "initrd": "bz-test-initrd.img", "cmdline": cmdline},
                   expect=(201,))
        runs = {"vmlinux": [], "bzimage": []}
        for i in range(n + 1):   # the first pair warms the page cache
            for label, image in (("vmlinux", "test"), ("bzimage", "bzimage")):
                t = timed_boot(cloud, f"{label}{i}", image)
                if i:
                    runs[label].append(t)
                time.sleep(1)
    finally:
        cloud.destroy()
    out = {"n": n}
    for label, ts in runs.items():
        out[label] = {"first_line_median_s": round(median([t[0] for t in ts]), 2),
                      "ready_median_s": round(median([t[1] for t in ts]), 2),
                      "first_line_s": [round(t[0], 2) for t in ts],
                      "ready_s": [round(t[1], 2) for t in ts]}
    out["ready_ratio"] = round(out["vmlinux"]["ready_median_s"] / out["bzimage"]["ready_median_s"], 3)
    out["first_line_ratio"] = round(out["vmlinux"]["first_line_median_s"] /
                                    out["bzimage"]["first_line_median_s"], 3)
    record("guest_boot", out)


if __name__ == "__main__":
    main()
