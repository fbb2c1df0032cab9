#!/usr/bin/python3
"""Boot time of the Nested Cloud image to API-ready, the way the slow test
boots it: an L0 `nestcloud up` on this machine creates VM L1 (2 vCPUs,
1.5 GiB, direct kernel boot, a seed with the test's settings) and reads the
phases off L1's console (NC-* lines, kernel uptime in seconds).

    NESTCLOUD_BUILD=BUILD images/nested/bench-boot.py [--runs N] DIR [DIR...]

DIR holds nested.qcow2, nested-vmlinuz, nested-initrd.img, nested.cmdline
(images/nested/build.sh --output DIR/nested.qcow2).  With several DIRs the
boots alternate between them, so that they share the machine's load.  Prints
one line per boot and the median per DIR, with the load average.
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e"))
from conftest import Cloud  # noqa: E402

PHASES = [("init", r"NC-NESTED boot kernel=\S+ uptime=([0-9.]+)"),
          ("seed", r"NC-SEED .*uptime=([0-9.]+)"),
          ("network", r"NC-NESTED network uptime=([0-9.]+)"),
          ("libvirtd", r"NC-NESTED libvirtd up uptime=([0-9.]+)"),
          ("nestcloud", r"NC-NESTED nestcloud starting uptime=([0-9.]+)"),
          ("api", r"NC-NESTED api-ready listen=\S+ uptime=([0-9.]+)")]


def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    l0 = Cloud("bench-boot-l0")
    l0.start(extra=("--heartbeat", "1000", "--listen", f"0.0.0.0:{l0.port}"))
    results = {d: [] for d in a.dirs}
    try:
        pool = os.path.join(l0.state, "images")
        os.makedirs(pool, exist_ok=True)
        for i, d in enumerate(a.dirs):
            for f in ("nested.qcow2", "nested-vmlinuz", "nested-initrd.img"):
                shutil.copy(os.path.join(d, f), os.path.join(pool, f"import-{i}-{f}"))
            with open(os.path.join(d, "nested.cmdline")) as f:
                cmdline = f.read().strip()
            l0.call("POST", "/v1/images", {
                "name": f"nested-{i}", "path": f"import-{i}-nested.qcow2",
                "kernel": f"import-{i}-nested-vmlinuz", "initrd": f"import-{i}-nested-initrd.img",
                "cmdline": cmdline}, expect=(200, 201))
        host = l0.get("/v1/hosts")["hosts"][0]
        gw = host.get("info", {}).get("subnet", "10.213.0.0/24").split("/")[0].rsplit(".", 1)[0]
        for run in range(a.runs):
            for i, d in enumerate(a.dirs):
                user_data = ("#cloud-config\nnestcloud:\n  listen: 0.0.0.0:7400\n"
                             f"  admin_token: nc_{uuid.uuid4().hex}\n"
                             f"  parent_url: http://{gw}.1:{l0.port}\n"
                             f"  parent_token: {l0.token}\n  backend: bench\n  depth: 1\n")
                load0 = load()
                t0 = time.monotonic()
                l0.create_vm("l1", image=f"nested-{i}", vcpus=2, max_vcpus=4, memory_mib=1536,
                             max_memory_mib=3072, user_data=user_data)
                l0.wait_console("l1", "NC-NESTED api-ready", timeout=600)
                wall = time.monotonic() - t0
                con = l0.console("l1")
                ph = {}
                for name, rx in PHASES:
                    m = re.search(rx, con)
                    ph[name] = float(m.group(1)) if m else float("nan")
                results[d].append((ph["api"], wall, load0, load()))
                print(f"{d}: run {run + 1}: api-ready uptime {ph['api']:.1f} s, "
                      f"create->ready {wall:.1f} s, load {load0:.1f}->{load():.1f}; "
                      + " ".join(f"{k} {v:.1f}" for k, v in ph.items()), flush=True)
                l0.delete_vm("l1")
    finally:
        l0.destroy()
    for d, rs in results.items():
        if rs:
            print(f"{d}: median api-ready uptime {statistics.median(r[0] for r in rs):.1f} s, "
                  f"create->ready {statistics.median(r[1] for r in rs):.1f} s over {len(rs)} "
                  f"boots, load {min(r[2] for r in rs):.1f}-{max(r[3] for r in rs):.1f}")


if __name__ == "__main__":
    main()
