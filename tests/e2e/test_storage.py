"""Block volumes and snapshots, checked inside real guests.

The test guest mounts every data disk it is given and prints
`NC-DISK vdX size_kib=N fs=F marker=M`, where the marker is a file on the
volume it writes the first time ("new:written-by=HOST") and reads later.
"""
import os
import re
import threading

import pytest

from conftest import virsh, wait_for

MARK = """#!/bin/sh
if [ -e /data-mark ]; then
    echo "NC-MARK $(cat /data-mark)" >/dev/console
else
    echo "made-on-$(hostname)" >/data-mark
    sync
    echo "NC-MARK new" >/dev/console
fi
"""


def disk_lines(cloud, vm):
    return [l for l in cloud.console(vm).splitlines() if l.startswith("NC-DISK")]


def wait_disk(cloud, vm, pattern, timeout=60):
    rx = re.compile(pattern)
    return wait_for(f"'{pattern}' on {vm}'s console",
                    lambda: next((l for l in disk_lines(cloud, vm) if rx.search(l)), None),
                    timeout=timeout, interval=0.5)


def op_ok(cloud, method, path, body=None):
    op = cloud.call(method, path, body, expect=(202,))
    done = cloud.wait_op(op)
    assert done["status"] == "succeeded", done
    return done


def test_volumes_are_formatted_files_in_a_libvirt_pool(cloud):
    op_ok(cloud, "POST", "/v1/volumes", {"name": "data", "size_gib": 2})
    op_ok(cloud, "POST", "/v1/volumes", {"name": "xdata", "size_gib": 1, "filesystem": "xfs"})
    vols = {v["name"]: v for v in cloud.get("/v1/volumes")["volumes"]}
    assert vols["data"]["state"] == "available" and vols["data"]["filesystem"] == "ext4"
    pool = f"nc-{cloud.cloud_short()}-volumes"
    listed = virsh("vol-list", pool)
    for v in vols.values():
        assert f"{v['id']}.raw" in listed
        path = os.path.join(cloud.state, "volumes", f"{v['id']}.raw")
        assert os.path.getsize(path) == v["size_gib"] << 30
    blkid = os.popen(f"blkid -o value -s TYPE {cloud.state}/volumes/{vols['xdata']['id']}.raw").read()
    assert blkid.strip() == "xfs"


def test_attach_live_and_data_lasts_across_vms(cloud):
    cloud.create_vm("writer", memory_mib=256)
    cloud.create_vm("reader", memory_mib=256)
    cloud.wait_console("writer", "NC-STATS")
    op_ok(cloud, "POST", "/v1/vms/writer/volumes", {"volume": "data"})
    op_ok(cloud, "POST", "/v1/vms/writer/volumes", {"volume": "xdata"})
    wait_disk(cloud, "writer", r"NC-DISK vdb size_kib=2097152 fs=ext4 marker=new:written-by=writer")
    wait_disk(cloud, "writer", r"NC-DISK vdc size_kib=1048576 fs=xfs marker=new:written-by=writer")
    v = cloud.get("/v1/volumes/data")
    assert v["state"] == "in-use" and v["attached_to_name"] == "writer" and v["device"] == "vdb"
    assert f"{v['id']}.raw" in virsh("dumpxml", cloud.vm("writer")["id"])

    # one VM at a time, and no deleting what is in use
    status, body = cloud.request("POST", "/v1/vms/reader/volumes", {"volume": "data"})
    assert status == 409 and "attached to writer" in body["error"]["message"]
    assert cloud.request("DELETE", "/v1/volumes/data")[0] == 409

    # grow live: the guest sees the bigger disk
    op_ok(cloud, "PATCH", "/v1/volumes/data", {"size_gib": 3})
    wait_disk(cloud, "writer", r"NC-DISK vdb size_kib=3145728 ")
    assert cloud.get("/v1/volumes/data")["size_gib"] == 3
    assert cloud.request("PATCH", "/v1/volumes/data", {"size_gib": 1, "shrink": True})[0] == 409

    # detach live, attach to another VM: the data is there
    op_ok(cloud, "DELETE", "/v1/vms/writer/volumes/data")
    wait_disk(cloud, "writer", r"NC-DISK-GONE vdb")
    assert cloud.get("/v1/volumes/data")["state"] == "available"
    cloud.wait_console("reader", "NC-STATS")
    op_ok(cloud, "POST", "/v1/vms/reader/volumes", {"volume": "data"})
    wait_disk(cloud, "reader", r"NC-DISK vdb size_kib=3145728 fs=ext4 marker=written-by=writer$")


def test_attach_to_a_stopped_vm_and_after_a_restart(cloud):
    cloud.action("writer", "stop", timeout=30)
    op_ok(cloud, "DELETE", "/v1/vms/writer/volumes/xdata")
    op_ok(cloud, "DELETE", "/v1/vms/reader/volumes/data")
    op_ok(cloud, "POST", "/v1/vms/writer/volumes", {"volume": "data"})
    xml = virsh("dumpxml", "--inactive", cloud.vm("writer")["id"])
    assert "volumes" in xml and cloud.get("/v1/volumes/data")["id"] in xml
    cloud.stop()
    cloud.start()
    assert cloud.get("/v1/volumes/data")["attached_to_name"] == "writer"
    mark = len(cloud.console("writer"))
    cloud.action("writer", "start")
    wait_for("the disk after boot", lambda: "marker=written-by=writer" in cloud.console("writer")[mark:],
             timeout=90)


def test_shrink_rules(cloud):
    op_ok(cloud, "DELETE", "/v1/vms/writer/volumes/data")
    status, body = cloud.request("PATCH", "/v1/volumes/data", {"size_gib": 1})
    assert status == 400 and "shrink" in body["error"]["message"]
    op_ok(cloud, "PATCH", "/v1/volumes/data", {"size_gib": 1, "shrink": True})
    assert cloud.get("/v1/volumes/data")["size_gib"] == 1
    status, body = cloud.request("PATCH", "/v1/volumes/xdata", {"size_gib": 1, "shrink": True})
    assert status == 400   # same size
    op_ok(cloud, "PATCH", "/v1/volumes/xdata", {"size_gib": 2})
    status, body = cloud.request("PATCH", "/v1/volumes/xdata", {"size_gib": 1, "shrink": True})
    assert status == 422 and "xfs" in body["error"]["message"]


@pytest.mark.parametrize("body", [
    {"name": "z", "size_gib": 0}, {"name": "z", "size_gib": -1}, {"name": "z", "size_gib": "10G"},
    {"name": "z", "size_gib": 20000}, {"name": "Bad", "size_gib": 1}, {"name": "a/b", "size_gib": 1},
    {"name": "z", "size_gib": 1, "filesystem": "ntfs"}, {"name": "z"}, {"size_gib": 1},
    {"name": "z", "size_gib": 1, "pool": "/etc"},
])
def test_bad_volume_requests_change_nothing(cloud, body):
    before = cloud.get("/v1/volumes")["volumes"]
    status, out = cloud.request("POST", "/v1/volumes", body)
    assert status == 400, out
    assert cloud.get("/v1/volumes")["volumes"] == before


@pytest.mark.parametrize("vm, status", [("no-such-vm", 404), (7, 400), ("x" * 300, 400)])
def test_volume_on_a_missing_vm_host_changes_nothing(cloud, vm, status):
    before = cloud.get("/v1/volumes")["volumes"]
    got, out = cloud.request("POST", "/v1/volumes", {"name": "z", "size_gib": 1, "vm": vm})
    assert got == status, out
    assert cloud.get("/v1/volumes")["volumes"] == before


def test_attach_to_deleted_vm_and_racing_attaches(cloud):
    vm = cloud.create_vm("short", memory_mib=128, max_memory_mib=128, start=False)
    cloud.delete_vm("short")
    assert cloud.request("POST", f"/v1/vms/{vm['id']}/volumes", {"volume": "data"})[0] == 404
    op_ok(cloud, "POST", "/v1/volumes", {"name": "contested", "size_gib": 1, "filesystem": "none"})
    results = []
    def attach(target):
        results.append(cloud.request("POST", f"/v1/vms/{target}/volumes", {"volume": "contested"})[0])
    threads = [threading.Thread(target=attach, args=(t,)) for t in ("writer", "reader") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(202) == 1 and results.count(409) == 7, results


def test_quota(cloud):
    p = cloud.call("POST", "/v1/projects", {"name": "quota-team"}, expect=(201,))
    cloud.call("PATCH", f"/v1/projects/{p['id']}", {"quota_volumes": 2, "quota_volume_gib": 3})
    tok = p["token"]
    assert cloud.call("POST", "/v1/volumes", {"name": "q1", "size_gib": 2}, token=tok, expect=(202,))
    status, body = cloud.request("POST", "/v1/volumes", {"name": "q2", "size_gib": 2}, token=tok)
    assert status == 403 and body["error"]["code"] == "quota_exceeded"
    assert "1 volumes and 1 GiB are left" in body["error"]["message"]
    assert len(cloud.call("GET", "/v1/volumes", token=tok)["volumes"]) == 1


def test_snapshots(cloud):
    cloud.create_vm("orig", memory_mib=256, user_data=MARK)
    cloud.wait_console("orig", "NC-MARK new", timeout=120)
    # running: the VM is paused for the copy and carries on
    op_ok(cloud, "POST", "/v1/vms/orig/snapshots", {"name": "snap1"})
    snap = cloud.get("/v1/snapshots/snap1")
    assert snap["state"] == "available" and snap["size_bytes"] > 0
    assert cloud.vm("orig")["state"] == "running"
    assert os.path.exists(os.path.join(cloud.state, "images", "snapshots", f"{snap['id']}.qcow2"))

    # a VM launched from the snapshot has the original's disk, and so has one
    # launched from the snapshot published as an image.  The three boots
    # below (clone, fromimg, orig restored) run side by side: the checks on
    # their consoles come at the end
    cloud.create_vm("clone", snapshot="snap1", memory_mib=256, user_data=MARK)
    status, body = cloud.request("DELETE", "/v1/snapshots/snap1")
    assert status == 409 and "clone" in body["error"]["message"]

    # published as an image
    op_ok(cloud, "POST", "/v1/snapshots/snap1/actions", {"action": "publish", "image": "frozen"})
    assert cloud.get("/v1/images/frozen")["state"] == "available"
    cloud.create_vm("fromimg", image="frozen", memory_mib=256, user_data=MARK)

    # exported into a volume
    op_ok(cloud, "POST", "/v1/snapshots/snap1/actions", {"action": "export", "volume": "snapvol"})
    v = cloud.get("/v1/volumes/snapvol")
    assert v["state"] == "available" and v["filesystem"] == "none"

    # restore needs a stopped VM
    status, _ = cloud.request("POST", "/v1/snapshots/snap1/actions", {"action": "restore"})
    assert status == 409
    cloud.action("orig", "stop", timeout=60)
    op_ok(cloud, "POST", "/v1/snapshots/snap1/actions", {"action": "restore"})
    mark = len(cloud.console("orig"))
    cloud.action("orig", "start")

    cloud.wait_console("clone", "NC-MARK made-on-orig", timeout=180)
    cloud.wait_console("fromimg", "NC-MARK made-on-orig", timeout=180)
    wait_for("the restored disk", lambda: "NC-MARK made-on-orig" in cloud.console("orig")[mark:],
             timeout=180)

    for name in ("clone", "fromimg", "orig"):
        cloud.delete_vm(name)
    op_ok(cloud, "DELETE", "/v1/snapshots/snap1")
    assert cloud.request("GET", "/v1/snapshots/snap1")[0] == 404


def test_cleanup_leaves_nothing(cloud):
    for name in ("writer", "reader"):
        cloud.delete_vm(name)
    for v in cloud.get("/v1/volumes")["volumes"]:
        if v["state"] == "in-use":
            continue
        op_ok(cloud, "DELETE", f"/v1/volumes/{v['id']}")
    left = [v for v in cloud.get("/v1/volumes")["volumes"] if v["project"] == "admin"]
    assert left == []
    assert [f for f in os.listdir(os.path.join(cloud.state, "volumes"))
            if not f.startswith(".")] == [
        f"{v['id']}.raw" for v in cloud.get("/v1/volumes")["volumes"]]
