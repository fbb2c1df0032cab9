"""Authentication, projects, images, events and metrics."""
import json
import os
import shutil
import threading
import urllib.request

from conftest import IMAGES, wait_for


def test_auth_required(cloud):
    assert cloud.request("GET", "/v1/health", token=None)[0] == 200
    for path in ("/v1/vms", "/v1/status", "/v1/hosts", "/metrics", "/v1/events"):
        status, body = cloud.request("GET", path, token=None)
        assert status == 401 and body["error"]["code"] == "unauthenticated", path
    status, body = cloud.request("GET", "/v1/vms", token="nc_wrong")
    assert status == 401
    status, body = cloud.request("POST", "/v1/vms", {"name": "x", "image": "test"}, token=None)
    assert status == 401
    assert cloud.get("/v1/vms")["vms"] == []


def test_admin_token_file(cloud):
    path = os.path.join(cloud.state, "admin.token")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert cloud.token.startswith("nc_")


def test_projects_are_isolated(cloud):
    p = cloud.call("POST", "/v1/projects", {"name": "tenant"}, expect=(201,))
    tok = p["token"]
    mine = cloud.create_vm("adminvm", memory_mib=256)
    # a member sees neither the admin's VMs nor can it touch them
    assert cloud.call("GET", "/v1/vms", token=tok)["vms"] == []
    for method, path, body in (("GET", f"/v1/vms/{mine['id']}", None),
                               ("GET", "/v1/vms/adminvm", None),
                               ("DELETE", f"/v1/vms/{mine['id']}", None),
                               ("PATCH", f"/v1/vms/{mine['id']}", {"vcpus": 2}),
                               ("POST", f"/v1/vms/{mine['id']}/actions", {"action": "stop"}),
                               ("GET", f"/v1/vms/{mine['id']}/console", None)):
        status, _ = cloud.request(method, path, body, token=tok)
        assert status == 404, (method, path)
    assert cloud.request("POST", "/v1/projects", {"name": "x"}, token=tok)[0] == 403
    assert cloud.request("PATCH", "/v1/hosts/" + cloud.get("/v1/hosts")["hosts"][0]["id"],
                         {"cpu_ratio": 8}, token=tok)[0] == 403
    # the public test image is usable by the tenant; its own VM is its own
    op = cloud.call("POST", "/v1/vms", {"name": "adminvm", "image": "test", "memory_mib": 128,
                                        "max_memory_mib": 128}, token=tok, expect=(202,))
    theirs = op["target"]["id"]
    assert [v["id"] for v in cloud.call("GET", "/v1/vms", token=tok)["vms"]] == [theirs]
    ops = cloud.call("GET", "/v1/operations", token=tok)["operations"]
    assert all(o["target"]["id"] == theirs for o in ops)
    wait_for("the tenant VM", lambda: cloud.get(f"/v1/vms/{theirs}")["state"] == "running", 120)
    cloud.delete_vm(theirs)
    cloud.delete_vm(mine["id"])


def test_upload_image_and_boot_it_by_bios(cloud):
    r = cloud.cli("image", "import", os.path.join(IMAGES, "test.qcow2"), "--name", "biosdisk")
    assert "imported image biosdisk" in r.stdout
    img = cloud.get("/v1/images/biosdisk")
    assert img["format"] == "qcow2" and img["boot"] == "bios"
    vm = cloud.create_vm("bios", image="biosdisk", memory_mib=256)
    cloud.wait_console("bios", "NC-STATS", timeout=120)
    assert "<kernel>" not in os.popen(f"virsh -c qemu:///system dumpxml {vm['id']}").read()
    cloud.delete_vm("bios")
    cloud.call("DELETE", "/v1/images/biosdisk")
    assert cloud.request("GET", "/v1/images/biosdisk")[0] == 404
    assert not [f for f in os.listdir(os.path.join(cloud.state, "images")) if img["id"] in f]


def test_events_stream(cloud):
    seen = []
    url = cloud.url + "/v1/events"

    def follow():
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {cloud.token}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            for line in r:
                line = line.decode().strip()
                if line.startswith("data: "):
                    ev = json.loads(line[6:])
                    seen.append(ev)
                    if ev["type"] == "vm.deleted":
                        return

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    wait_for("the stream to open", lambda: cloud.get("/metrics") is not None, timeout=5)
    import time
    time.sleep(1)
    vm = cloud.create_vm("streamed", memory_mib=128, max_memory_mib=128)
    cloud.delete_vm("streamed")
    t.join(timeout=60)
    kinds = [(e["type"], e["data"].get("state")) for e in seen if e["object"]["id"] == vm["id"]]
    assert ("vm.created", "scheduled") in kinds
    assert ("vm.state", "running") in kinds
    assert ("vm.deleted", "deleting") in kinds
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs)


def test_metrics(cloud):
    status, text = cloud.request("GET", "/metrics")
    assert status == 200
    assert "nestcloud_up 1" in text
    assert 'nestcloud_vms{state="running"}' in text
    assert "nestcloud_host_capacity_vcpus{host=" in text


def test_fresh_store_adopts_a_given_admin_token(fresh_cloud):
    """A Nested Cloud VM gets its admin token through its seed."""
    token = "nc_" + "x" * 40
    with open(os.path.join(fresh_cloud.state, "admin.token"), "w") as f:
        f.write(token + "\n")
    fresh_cloud.start()
    assert fresh_cloud.token == token
    assert fresh_cloud.request("GET", "/v1/status", token=token)[0] == 200
    # a later start keeps it; a replaced file is not adopted again
    fresh_cloud.stop()
    with open(os.path.join(fresh_cloud.state, "admin.token"), "w") as f:
        f.write("nc_" + "y" * 40 + "\n")
    fresh_cloud.start()
    assert fresh_cloud.token != "nc_" + "y" * 40
    assert fresh_cloud.request("GET", "/v1/status", token="nc_" + "y" * 40)[0] == 401


def test_import_from_pool_with_a_kernel(cloud):
    """Direct kernel boot for an imported image: kernel, initrd, cmdline from the pool."""
    src = os.environ.get("NESTCLOUD_TEST_IMAGE_DIR", IMAGES)
    pool = os.path.join(cloud.state, "images")
    for f in ("test.qcow2", "test-vmlinuz", "test-initrd.img"):
        shutil.copy(os.path.join(src, f), os.path.join(pool, "k-" + f))
    bad = [
        {"kernel": "k-test-vmlinuz"},                                   # no initrd
        {"cmdline": "console=ttyS0"},                                   # no kernel
        {"kernel": "k-test-vmlinuz", "initrd": "../etc/passwd"},        # outside the pool
        {"kernel": "k-test-vmlinuz", "initrd": "k-test-initrd.img", "cmdline": "a\nb"},
    ]
    for extra in bad:
        status, out = cloud.request("POST", "/v1/images",
                                    {"name": "kboot", "path": "k-test.qcow2", **extra})
        assert status == 400, (extra, out)
    status, out = cloud.request("POST", "/v1/images", {
        "name": "kboot", "path": "k-test.qcow2", "kernel": "k-test-vmlinuz", "initrd": "k-missing"})
    assert status == 404, out
    assert cloud.request("GET", "/v1/images/kboot")[0] == 404
    img = cloud.call("POST", "/v1/images", {
        "name": "kboot", "path": "k-test.qcow2", "kernel": "k-test-vmlinuz",
        "initrd": "k-test-initrd.img", "cmdline": "console=ttyS0 root=/dev/vda2 quiet"},
        expect=(201,))
    assert img["boot"] == "kernel"
    vm = cloud.create_vm("kboot", image="kboot", memory_mib=256)
    xml = os.popen(f"virsh -c qemu:///system dumpxml {vm['id']}").read()
    assert "<kernel>" in xml and "root=/dev/vda2 quiet" in xml
    cloud.wait_console("kboot", "NC-STATS", timeout=120)
    cloud.delete_vm("kboot")
    cloud.call("DELETE", "/v1/images/kboot")
