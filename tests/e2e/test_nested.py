"""The Nested Cloud VM, inside out (slow tier: make check-slow).

L0 is `nestcloud up` on this machine.  It launches the Nested Cloud image
(images/nested/build.sh; `make nested-image`) as VM L1 and forwards a host
port to L1's API.  L1 is a cloud of its own: it runs L2 from the small test
image, rescales it, and forwards L2's web server up through L0.  L1 grows
live through L0 and sees its own capacity grow.  Nothing is left on L0.
"""
import os
import re
import shutil
import time
import urllib.request
import uuid

import pytest

from conftest import Cloud, free_port, listening, virsh, wait_for

pytestmark = pytest.mark.slow

IMAGE = os.environ.get("NESTCLOUD_NESTED_IMAGE", "/var/tmp/nestcloud-nested/nested.qcow2")
IMAGE_DIR = os.path.dirname(IMAGE)


def need_image():
    if not os.path.exists(IMAGE):
        pytest.fail(f"no Nested Cloud image at {IMAGE}: run `make nested-image` "
                    "(or set NESTCLOUD_NESTED_IMAGE)")


class Remote(Cloud):
    """A cloud reached over HTTP only (L1, through L0's port forward)."""

    def __init__(self, name, url, token):
        self.name = name
        self.url = url
        self.token = token
        self.proc = None


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read().decode()


def try_http(port, path):
    try:
        return http_get(port, path)
    except OSError:
        return None


def gateway_of(l0):
    """L0's address on its NAT network, as guests see it."""
    host = l0.get("/v1/hosts")["hosts"][0]
    subnet = host.get("info", {}).get("subnet")
    assert subnet, f"L0 has no NAT network (info: {host.get('info')})"
    net = subnet.split("/")[0].rsplit(".", 1)[0]
    return net + ".1"


@pytest.fixture(scope="module")
def l0():
    need_image()
    c = Cloud("nested-l0")
    # listen where L1 can reach it (its parent_url); tokens guard the API
    c.start(extra=("--heartbeat", "1000", "--listen", f"0.0.0.0:{c.port}"))
    yield c
    cid = c.cloud_id_cached()
    c.destroy()
    # nothing of this cloud is left in libvirt
    left = [n for n in virsh("list", "--all", "--name").split()
            if cid in virsh("metadata", n, "https://nestcloud.dev/xmlns/domain/1", check=False)]
    assert left == [], f"domains left behind on L0: {left}"


@pytest.fixture(scope="module")
def l1(l0):
    # the image and its kernel go into L0's pool, then import (direct boot)
    pool = os.path.join(l0.state, "images")
    os.makedirs(pool, exist_ok=True)
    for f in ("nested.qcow2", "nested-vmlinuz", "nested-initrd.img"):
        shutil.copy(os.path.join(IMAGE_DIR, f) if f != "nested.qcow2" else IMAGE,
                    os.path.join(pool, "import-" + f))
    with open(os.path.join(IMAGE_DIR, "nested.cmdline")) as f:
        cmdline = f.read().strip()
    img = l0.call("POST", "/v1/images", {
        "name": "nested", "path": "import-nested.qcow2", "kernel": "import-nested-vmlinuz",
        "initrd": "import-nested-initrd.img", "cmdline": cmdline}, expect=(200, 201))
    assert img["name"] == "nested"

    token = "nc_" + uuid.uuid4().hex   # adopted by a fresh store: nc_ and >= 24 chars
    parent = f"http://{gateway_of(l0)}:{l0.port}"
    user_data = ("#cloud-config\n"
                 "nestcloud:\n"
                 "  listen: 0.0.0.0:7400\n"
                 f"  admin_token: {token}\n"
                 f"  parent_url: {parent}\n"
                 f"  parent_token: {l0.token}\n"
                 "  backend: l1-test\n"
                 "  depth: 1\n")
    t0 = time.monotonic()
    vm = l0.create_vm("l1", image="nested", vcpus=2, max_vcpus=4, memory_mib=1536,
                      max_memory_mib=3072, user_data=user_data)
    assert vm["state"] == "running"
    l0.wait_console("l1", "NC-NESTED api-ready", timeout=240)
    boot_s = time.monotonic() - t0
    m = re.search(r"NC-NESTED api-ready listen=\S+ uptime=([0-9.]+)", l0.console("l1"))
    print(f"\nL1 API ready {float(m.group(1)):.1f} s after its kernel started "
          f"({boot_s:.1f} s after the create request)")

    # L0 forwards a host port to L1's API
    api_port = free_port()
    op = l0.call("POST", "/v1/vms/l1/ports", {"guest_port": 7400, "host_port": api_port},
                 expect=(202,))
    assert l0.wait_op(op)["status"] == "succeeded"
    r = Remote("l1", f"http://127.0.0.1:{api_port}", token)
    print(f"L1: {l0.vm('l1').get('addresses')} token {token}")
    wait_for("L1's API through L0's port",
             lambda: try_http(api_port, "/v1/health") is not None, timeout=60)
    r.api_port = api_port
    r.parent = parent
    yield r


def test_l1_status_reports_nesting(l0, l1):
    st = l1.get("/v1/status")
    assert st["nested"] is True
    assert st["depth"] == 1
    assert st["nesting"]["parent"] == l1.parent
    assert st["nesting"]["backend"] == "l1-test"
    assert "parent_token" not in st["nesting"]
    # L1 has no KVM under TCG; with nesting on real hardware it would
    l0_accel = l0.get("/v1/status")["accelerator"]
    wait_for("L1's host", lambda: l1.get("/v1/hosts")["hosts"], timeout=60)
    st = l1.get("/v1/status")
    assert st["accelerator"] in ("kvm", "tcg")
    if l0_accel == "tcg":
        assert st["accelerator"] == "tcg"
    # L0 itself is not nested in a nestcloud
    assert l0.get("/v1/status")["depth"] == 0


def test_l2_boots_and_rescales_through_l1(l1):
    t0 = time.monotonic()
    vm = l1.create_vm("l2", memory_mib=256, vcpus=1, max_vcpus=2)
    assert vm["state"] == "running"
    try:
        # TCG inside TCG on a shared 2-core machine: minutes, not seconds
        l1.wait_console("l2", "NC-NET ", timeout=900)
        print(f"\nL2 up (NC-NET) {time.monotonic() - t0:.0f} s after the create request")
    except AssertionError:
        print("L2 console:\n" + l1.console("l2")[-3000:])
        print("L1 hosts:", l1.get("/v1/hosts"))
        raise
    assert "NC-SEED instance-id=" + vm["id"] in l1.console("l2")
    op = l1.call("PATCH", "/v1/vms/l2", {"vcpus": 2}, expect=(202,))
    assert l1.wait_op(op, timeout=180)["status"] == "succeeded"
    wait_for("2 vCPUs inside L2", lambda: (l1.last_stats("l2") or {}).get("cpus") == "2",
             timeout=120, interval=1)


def test_l2_port_reaches_l0(l0, l1):
    port = free_port()
    op = l1.call("POST", "/v1/vms/l2/ports", {"guest_port": 80, "host_port": port},
                 expect=(202,))
    assert op["port"]["public_port"] == port
    assert op["port"]["parent"]["state"] == "active"
    assert l1.wait_op(op, timeout=60)["status"] == "succeeded"
    # L0 forwards the same port to L1
    up = [p for p in l0.get("/v1/vms/l1/ports")["ports"] if p["host_port"] == port]
    assert up and up[0]["guest_port"] == port and up[0]["state"] == "active"
    # L2's web server answers on L0's port
    assert wait_for("L2's page through L0", lambda: try_http(port, "/hostname"),
                    timeout=60, interval=1).strip() == "l2"
    # a port L0 already forwards is refused at L1, and nothing stays behind
    status, out = l1.request("POST", "/v1/vms/l2/ports",
                             {"guest_port": 80, "host_port": l1.api_port})
    assert status == 409, out
    assert [p["host_port"] for p in l1.get("/v1/vms/l2/ports")["ports"]] == [port]
    # removing it at L1 removes it at L0
    op = l1.call("DELETE", f"/v1/vms/l2/ports/{port}", expect=(202,))
    assert l1.wait_op(op)["status"] == "succeeded"
    wait_for("L0 to drop the forward",
             lambda: all(p["host_port"] != port for p in l0.get("/v1/vms/l1/ports")["ports"]),
             timeout=30)
    wait_for("the port to close", lambda: not listening(port), timeout=30)


def test_l1_grows_live_through_l0(l0, l1):
    def l1_host():
        hs = l1.get("/v1/hosts")["hosts"]
        return hs[0] if hs else None
    before = wait_for("L1's host", l1_host, timeout=60)
    cap0 = before["capacity"] if "capacity" in before else before
    v0 = cap0.get("vcpus")
    m0 = cap0.get("memory_mib")
    op = l0.call("PATCH", "/v1/vms/l1", {"vcpus": 3, "memory_mib": 2048}, expect=(202,))
    assert l0.wait_op(op, timeout=180)["status"] == "succeeded"
    wait_for("3 vCPUs inside L1", lambda: (l0.last_stats("l1") or {}).get("cpus") == "3",
             timeout=120, interval=1)

    def grown():
        h = l1_host()
        cap = h["capacity"] if "capacity" in h else h
        return cap if cap.get("vcpus") == 3 and cap.get("memory_mib") > m0 + 256 else None
    cap = wait_for("L1's own capacity to grow", grown, timeout=120, interval=1)
    assert v0 == 2 and cap["vcpus"] == 3
    # the same daemon: no restart happened
    assert "restarting" not in l0.console("l1")


def test_bios_boot(l0, l1):
    """The same image without a kernel: SeaBIOS -> SYSLINUX -> kernel -> init."""
    shutil.copy(IMAGE, os.path.join(l0.state, "images", "import-bios.qcow2"))
    img = l0.call("POST", "/v1/images", {"name": "nested-bios", "path": "import-bios.qcow2"},
                  expect=(200, 201))
    assert img["boot"] == "bios"
    t0 = time.monotonic()
    l0.create_vm("l1-bios", image="nested-bios", vcpus=1, memory_mib=1024)
    l0.wait_console("l1-bios", "NC-NESTED boot", timeout=300)
    print(f"\nBIOS boot reached the init {time.monotonic() - t0:.0f} s after the create request")
    l0.delete_vm("l1-bios")


def test_teardown_leaves_nothing(l0, l1):
    l1.delete_vm("l2")
    l0.delete_vm("l1")
    assert l0.get("/v1/vms")["vms"] == []
    wait_for("L1's API port to close", lambda: not listening(l1.api_port), timeout=30)
    assert l0.domains() == {}
