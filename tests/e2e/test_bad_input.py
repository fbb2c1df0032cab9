"""Bad input gets a clear 4xx and changes nothing: no VM row, no domain, no
file outside the state directory, and the daemon keeps serving."""
import os
import subprocess

import pytest

from conftest import IMAGES, virsh


def snapshot(cloud):
    vms = sorted(v["id"] for v in cloud.get("/v1/vms")["vms"])
    images = sorted(i["id"] for i in cloud.get("/v1/images")["images"])
    return vms, images, sorted(cloud.domains()), sorted(os.listdir(cloud.state))


BAD_CREATES = [
    ("malformed json", b"{\"name\": \"x\",", 400, "invalid_argument"),
    ("not an object", b"[1, 2]", 400, "invalid_argument"),
    ("empty", b"", 400, "invalid_argument"),
    ("unknown field", {"name": "a", "image": "test", "colour": "red"}, 400, "invalid_argument"),
    ("uppercase name", {"name": "Demo", "image": "test"}, 400, "invalid_argument"),
    ("name with <", {"name": "a<b", "image": "test"}, 400, "invalid_argument"),
    ("name with quote", {"name": "a'b", "image": "test"}, 400, "invalid_argument"),
    ("name with slash", {"name": "a/b", "image": "test"}, 400, "invalid_argument"),
    ("name ..", {"name": "..", "image": "test"}, 400, "invalid_argument"),
    ("name too long", {"name": "a" * 64, "image": "test"}, 400, "invalid_argument"),
    ("vcpus 0", {"name": "a", "image": "test", "vcpus": 0}, 400, "invalid_argument"),
    ("vcpus negative", {"name": "a", "image": "test", "vcpus": -2}, 400, "invalid_argument"),
    ("vcpus above max", {"name": "a", "image": "test", "vcpus": 4, "max_vcpus": 2}, 400, "invalid_argument"),
    ("vcpus above host", {"name": "a", "image": "test", "vcpus": 200, "max_vcpus": 200}, 422, "insufficient_capacity"),
    ("memory 0", {"name": "a", "image": "test", "memory_mib": 0}, 400, "invalid_argument"),
    ("memory negative", {"name": "a", "image": "test", "memory_mib": -512}, 400, "invalid_argument"),
    ("memory above max", {"name": "a", "image": "test", "memory_mib": 1024, "max_memory_mib": 512}, 400, "invalid_argument"),
    ("memory above host", {"name": "a", "image": "test", "memory_mib": 4000000}, 422, "insufficient_capacity"),
    ("memory as text", {"name": "a", "image": "test", "memory_mib": "512M"}, 400, "invalid_argument"),
    ("disk above host", {"name": "a", "image": "test", "disk_gib": 65536}, 422, "insufficient_capacity"),
    ("image path traversal", {"name": "a", "image": "../../etc/shadow"}, 400, "invalid_argument"),
    ("image absolute path", {"name": "a", "image": "/etc/shadow"}, 400, "invalid_argument"),
    ("missing image", {"name": "a", "image": "nosuch"}, 422, "unprocessable"),
    ("priority 11", {"name": "a", "image": "test", "cpu_priority": 11}, 400, "invalid_argument"),
    ("bad nic", {"name": "a", "image": "test", "nics": [{"network": "host"}]}, 400, "invalid_argument"),
    ("bad ssh key", {"name": "a", "image": "test", "ssh_keys": ["$(reboot)"]}, 400, "invalid_argument"),
]


@pytest.mark.parametrize("what,body,status,code", BAD_CREATES, ids=[c[0] for c in BAD_CREATES])
def test_bad_create(cloud, what, body, status, code):
    before = snapshot(cloud)
    if isinstance(body, bytes):
        got, out = cloud.request("POST", "/v1/vms", raw=body,
                                 headers={"Content-Type": "application/json"})
    else:
        got, out = cloud.request("POST", "/v1/vms", body)
    assert got == status, out
    assert out["error"]["code"] == code
    assert len(out["error"]["message"]) > 10
    assert snapshot(cloud) == before
    assert cloud.alive()


def test_body_over_limit(cloud):
    before = snapshot(cloud)
    big = b"{\"name\": \"a\", \"image\": \"test\", \"user_data\": \"" + b"x" * (70 * 1024) + b"\"}"
    status, out = cloud.request("POST", "/v1/vms", raw=big, headers={"Content-Type": "application/json"})
    assert status == 413 and out["error"]["code"] == "payload_too_large"
    assert snapshot(cloud) == before


def test_duplicate_name(cloud):
    cloud.create_vm("twin", memory_mib=256)
    before = snapshot(cloud)
    status, out = cloud.request("POST", "/v1/vms", {"name": "twin", "image": "test"})
    assert status == 409 and "twin" in out["error"]["message"]
    assert snapshot(cloud) == before


def test_actions_that_make_no_sense(cloud):
    status, out = cloud.request("POST", "/v1/vms/twin/actions", {"action": "explode"})
    assert status == 400
    status, out = cloud.request("POST", "/v1/vms/twin/actions", {"action": "start"})
    assert status == 409
    status, out = cloud.request("POST", "/v1/vms/nosuch/actions", {"action": "stop"})
    assert status == 404
    status, out = cloud.request("PUT", "/v1/vms/twin", {})
    assert status == 405
    status, out = cloud.request("GET", "/v1/nothing")
    assert status == 404


def test_resize_deleted_vm(cloud):
    vm = cloud.vm("twin")
    cloud.delete_vm("twin")
    for method, path, body in (("PATCH", f"/v1/vms/{vm['id']}", {"vcpus": 2}),
                               ("POST", f"/v1/vms/{vm['id']}/actions", {"action": "start"}),
                               ("DELETE", f"/v1/vms/{vm['id']}", None),
                               ("GET", f"/v1/vms/{vm['id']}/console", None)):
        status, out = cloud.request(method, path, body)
        assert status == 404, (method, path, out)
    assert vm["id"] not in cloud.domains()


def test_delete_twice_while_deleting(cloud):
    cloud.create_vm("goner", memory_mib=256)
    op = cloud.delete_vm("goner", wait=False)
    status, out = cloud.request("DELETE", "/v1/vms/goner")
    assert status in (409, 404)
    cloud.wait_op(op)
    assert cloud.request("GET", "/v1/vms/goner")[0] == 404


def upload(cloud, data, query):
    return cloud.request("POST", "/v1/images?" + query, raw=data,
                         headers={"Content-Type": "application/octet-stream"})


def test_image_with_backing_file_outside_pool(cloud, tmp_path):
    evil = tmp_path / "evil.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow",
                    str(evil), "1G"], check=True)
    before = snapshot(cloud)
    status, out = upload(cloud, evil.read_bytes(), "name=evil")
    assert status == 400 and "backing file outside" in out["error"]["message"]
    assert snapshot(cloud) == before
    pool = os.path.join(cloud.state, "images")
    assert not [f for f in os.listdir(pool) if f.startswith(".upload")]


def test_raw_file_claiming_qcow2(cloud, tmp_path):
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\0" * (1 << 20))
    status, out = upload(cloud, raw.read_bytes(), "name=liar&format=qcow2")
    assert status == 400 and "declared qcow2" in out["error"]["message"]


def test_image_import_paths(cloud):
    before = snapshot(cloud)
    for path in ("../../etc/shadow", "/etc/shadow", "a/../../b", ".hidden", ""):
        status, out = cloud.request("POST", "/v1/images", {"name": "x", "path": path})
        assert status in (400, 404), (path, out)
    status, out = cloud.request("POST", "/v1/images", {"name": "Bad Name", "path": "x.qcow2"})
    assert status == 400
    assert snapshot(cloud) == before


def test_image_in_use_cannot_be_deleted(cloud):
    cloud.create_vm("user", memory_mib=256)
    status, out = cloud.request("DELETE", "/v1/images/test")
    assert status == 409 and "used by" in out["error"]["message"]
    assert any(i["name"] == "test" for i in cloud.get("/v1/images")["images"])
    cloud.delete_vm("user")


def test_daemon_survived_everything(cloud):
    assert cloud.alive()
    assert cloud.get("/v1/health" if False else "/v1/status")["hosts"]["up"] == 1
    # nothing of ours was written outside the state dir: no stray domains
    for name in virsh("list", "--all", "--name").split():
        assert "evil" not in name and "liar" not in name
