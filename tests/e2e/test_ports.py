"""Port forwards (nestcloud vm expose): a host port of L0 reaching a guest
port, with every input checked at the edge."""
import socket
import time
import urllib.request

import pytest

from conftest import ApiError, free_port, wait_for


def http_get(port, path="/hostname", timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read().decode()


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def web(cloud):
    vm = cloud.create_vm("web", memory_mib=256)
    cloud.wait_console("web", "NC-NET ", timeout=120)
    wait_for("the VM's address", lambda: cloud.vm("web").get("addresses"), timeout=60)
    return vm


def expose(cloud, vm, guest, host=None, expect=(202,)):
    body = {"guest_port": guest}
    if host is not None:
        body["host_port"] = host
    return cloud.request("POST", f"/v1/vms/{vm}/ports", body)


def test_expose_reaches_the_guest_http_server(cloud, web):
    port = free_port()
    status, op = expose(cloud, "web", 80, port)
    assert status == 202, op
    assert op["port"]["public_port"] == port and op["port"]["state"] == "pending"
    done = cloud.wait_op(op)
    assert done["status"] == "succeeded", done
    ports = cloud.get("/v1/vms/web/ports")["ports"]
    assert [(p["guest_port"], p["host_port"], p["state"]) for p in ports] == [(80, port, "active")]
    assert wait_for("the guest's page through the host port",
                    lambda: http_get(port).strip(), timeout=30) == "web"
    # many sequential connections through one forward
    for _ in range(5):
        assert http_get(port).strip() == "web"

    # the CLI lists it, and removes it: the port closes
    out = cloud.cli("vm", "ports", "web").stdout
    assert str(port) in out and "active" in out
    cloud.cli("vm", "unexpose", "web", str(port))
    assert wait_for("the port to close", lambda: refused(port), timeout=20)
    assert cloud.get("/v1/vms/web/ports")["ports"] == []


def test_expose_cli(cloud, web):
    port = free_port()
    r = cloud.cli("vm", "expose", "web", "80", "--port", str(port))
    assert f"public port {port}" in r.stdout
    assert wait_for("the page", lambda: http_get(port).strip(), timeout=30) == "web"
    cloud.cli("vm", "unexpose", "web", str(port))


@pytest.mark.parametrize("body", [
    {},                                        # guest_port missing
    {"guest_port": 0},
    {"guest_port": 65536},
    {"guest_port": "80"},
    {"guest_port": 80},                        # < 1024 and no host_port
    {"guest_port": 80, "host_port": 80},       # privileged host port
    {"guest_port": 80, "host_port": 1023},
    {"guest_port": 80, "host_port": 70000},
    {"guest_port": 80, "host_port": 8080, "address": "0.0.0.0"},
])
def test_bad_requests_change_nothing(cloud, web, body):
    status, out = cloud.request("POST", "/v1/vms/web/ports", body)
    assert status == 400, out
    assert out["error"]["code"] == "invalid_argument"
    assert cloud.get("/v1/vms/web/ports")["ports"] == []


def test_conflicts_and_missing(cloud, web):
    port = free_port()
    op = cloud.wait_op(expose(cloud, "web", 80, port)[1])
    assert op["status"] == "succeeded"
    # the same host port again: 409, whatever the guest port
    status, out = expose(cloud, "web", 81, port)
    assert status == 409 and "already forwards" in out["error"]["message"], out
    # a port something else holds: the operation fails, the forward says why
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        op = cloud.wait_op(expose(cloud, "web", 22, busy)[1])
        assert op["status"] == "failed"
        bad = [p for p in cloud.get("/v1/vms/web/ports")["ports"] if p["host_port"] == busy][0]
        assert bad["state"] == "error" and "in use" in bad["error"]
        cloud.wait_op(cloud.call("DELETE", f"/v1/vms/web/ports/{busy}", expect=(202,)))
    assert cloud.request("POST", "/v1/vms/nosuchvm/ports", {"guest_port": 8080})[0] == 404
    assert cloud.request("DELETE", "/v1/vms/web/ports/4242")[0] == 404
    assert cloud.request("DELETE", "/v1/vms/web/ports/80")[0] == 400
    assert cloud.request("DELETE", "/v1/vms/web/ports/abc")[0] == 400
    # deleting the VM closes its forwards
    cloud.delete_vm("web")
    assert wait_for("the port to close", lambda: refused(port), timeout=20)
