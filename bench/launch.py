#!/usr/bin/python3
"""Launch overhead: POST /v1/vms until the operation reports the domain
running, against `virsh create` of the same domain XML, interleaved in one
run, median of N (default 20).

    bench/launch.py [N]
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

from common import Cloud, median, record, virsh


def timed_api_create(cloud, name):
    t0 = time.perf_counter()
    op = cloud.call("POST", "/v1/vms", {"name": name, "image": "test", "memory_mib": 256,
                                        "max_memory_mib": 512}, expect=(202,))
    while True:
        cur = cloud.get(f"/v1/operations/{op['id']}")
        if cur["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    assert cur["status"] == "succeeded", cur
    return elapsed, op["target"]["id"]


def baseline_xml(cloud, vm_id, workdir):
    """The VM's own domain XML, renamed, with a fresh UUID and its own
    overlay (made beforehand: virsh create does not make disks)."""
    xml = virsh("dumpxml", "--inactive", vm_id)
    new = str(uuid.uuid4())
    disk = os.path.join(workdir, f"{new}.qcow2")
    base = re.search(r"<source file='([^']*root\.qcow2)'", xml).group(1)
    backing = subprocess.run(["qemu-img", "info", "-U", "--output=json", base],
                             capture_output=True, text=True, check=True).stdout
    backing_file = re.search(r'"backing-filename": "([^"]+)"', backing).group(1)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    backing_file, disk, "1G"], check=True)
    xml = re.sub(r"<uuid>[^<]*</uuid>", f"<uuid>{new}</uuid>", xml)
    xml = re.sub(r"<name>[^<]*</name>", f"<name>bench-{new[:8]}</name>", xml)
    xml = xml.replace(base, disk)
    seed = base.replace("root.qcow2", "seed.iso")
    subprocess.run(["cp", seed, os.path.join(workdir, f"{new}.iso")], check=True)
    xml = xml.replace(seed, os.path.join(workdir, f"{new}.iso"))
    xml = re.sub(r"<log file='[^']*'", f"<log file='{workdir}/{new}.log'", xml)
    xml = re.sub(r"<metadata[^>]*>.*?</metadata>", "", xml, flags=re.S)
    path = os.path.join(workdir, f"{new}.xml")
    with open(path, "w") as f:
        f.write(xml)
    return path, f"bench-{new[:8]}"


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cloud = Cloud("bench-launch").start(extra=("--heartbeat", "5000"))
    workdir = tempfile.mkdtemp(dir="/var/tmp", prefix="nc-bench-")
    os.chmod(workdir, 0o755)
    api, base = [], []
    try:
        # one warm-up of each, not counted
        _, first = timed_api_create(cloud, "warm")
        xml_path, dom = baseline_xml(cloud, first, workdir)
        cloud.delete_vm("warm")
        for i in range(n):
            t, vm_id = timed_api_create(cloud, f"b{i}")
            api.append(t)
            cloud.delete_vm(vm_id)
            time.sleep(1)   # let libvirt finish tearing the last guest down
            t0 = time.perf_counter()
            r = subprocess.run(["virsh", "-c", "qemu:///system", "create", xml_path],
                               capture_output=True, text=True)
            if r.returncode != 0:
                log = open(f"/var/log/libvirt/qemu/{dom}.log").read()[-1500:]
                raise SystemExit(f"virsh create failed: {r.stderr}\n{log}")
            base.append(time.perf_counter() - t0)
            virsh("destroy", dom)
            time.sleep(1)
    finally:
        cloud.destroy()
        subprocess.run(["rm", "-rf", workdir])
    ma, mb = median(api), median(base)
    record("launch", {
        "n": n, "accelerator": "tcg",
        "api_median_ms": round(ma * 1000, 1), "virsh_create_median_ms": round(mb * 1000, 1),
        "ratio": round(ma / mb, 3), "added_ms": round((ma - mb) * 1000, 1),
        "api_ms": [round(x * 1000, 1) for x in api],
        "virsh_ms": [round(x * 1000, 1) for x in base],
    })


if __name__ == "__main__":
    main()
