"""Allocations scheduled at a future time, on simulated hosts: capacity is
held as a timeline, windows that do not fit are refused, VMs appear at
start_at and go at end_at, and a restart in between changes nothing."""
import datetime
import time

import pytest

from conftest import Cloud, SimWorker, wait_for


def at(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def sim2(request):
    c = Cloud("resv", command="serve").start()
    w = SimWorker(c, 2).start()   # 2 hosts, 8 vCPUs each after overcommit
    wait_for("2 hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == 2, timeout=60)
    c.sim = w
    yield c
    w.stop()
    c.destroy()


def reserve(cloud, name, vcpus, start, end, **extra):
    return cloud.request("POST", "/v1/reservations", {
        "name": name, "image": "test", "vcpus": vcpus, "memory_mib": 64, "max_memory_mib": 64,
        "start_at": start, "end_at": end, **extra})


def test_windows_that_do_not_fit_are_refused(sim2):
    s, e = at(3600), at(7200)
    st, a = reserve(sim2, "a", 6, s, e)
    assert st == 201, a
    st, b = reserve(sim2, "b", 6, s, e)
    assert st == 201, b
    assert a["host_id"] != b["host_id"]
    st, c = reserve(sim2, "c", 6, at(5400), at(9000))      # overlaps both: no room
    assert st == 422 and c["error"]["code"] == "insufficient_capacity"
    assert "is full at" in c["error"]["message"]
    st, d = reserve(sim2, "d", 6, at(7300), at(9000))      # after them: fine
    assert st == 201, d
    # a VM for ever would collide with the reservations; one that ends
    # before them does not
    st, body = sim2.request("POST", "/v1/vms", {"name": "forever", "image": "test", "vcpus": 4,
                                               "max_vcpus": 4, "memory_mib": 64,
                                               "max_memory_mib": 64})
    assert st == 422, body
    st, body = sim2.request("POST", "/v1/vms", {"name": "brief", "image": "test", "vcpus": 4,
                                               "max_vcpus": 4, "memory_mib": 64,
                                               "max_memory_mib": 64, "expires_at": at(1800)})
    assert st == 202, body
    # bad input changes nothing
    for bad in ({"start_at": at(-7200), "end_at": at(60)}, {"start_at": at(600), "end_at": at(300)},
                {"start_at": "tomorrow", "end_at": at(300)}):
        st, out = sim2.request("POST", "/v1/reservations", {"name": "bad", "image": "test", **bad})
        assert st == 400, out
    names = sorted(r["name"] for r in sim2.get("/v1/reservations")["reservations"])
    assert names == ["a", "b", "d"]
    # cancelling gives the window back
    sim2.call("DELETE", "/v1/reservations/a")
    assert sim2.get("/v1/reservations/a")["state"] == "cancelled"
    st, again = reserve(sim2, "a2", 6, s, e)
    assert st == 201, again
    assert again["host_id"] == a["host_id"]


def test_start_and_end_survive_a_restart(sim2):
    st, r = reserve(sim2, "soon", 2, at(4), at(14))
    assert st == 201, r
    st, k = reserve(sim2, "kept", 1, at(4), at(10), keep=True)
    assert st == 201, k
    assert sim2.get("/v1/vms")["vms"] == []
    sim2.kill9()
    time.sleep(5)           # start_at passes while the central node is down
    sim2.start()
    wait_for("the reservation to start",
             lambda: sim2.get("/v1/reservations/soon")["state"] == "active", timeout=30)
    res = sim2.get("/v1/reservations/soon")
    vm = wait_for("its VM running", lambda: (lambda v: v if v["state"] == "running" else None)(
        sim2.get(f"/v1/vms/{res['vm']}")), timeout=30)
    assert vm["host_id"] == res["host_id"] and vm["name"] == "soon"
    assert vm["expires_at"] is not None
    wait_for("the kept VM stopped",
             lambda: sim2.get("/v1/vms/kept")["state"] == "stopped", timeout=30)
    assert sim2.get("/v1/reservations/kept")["state"] == "ended"
    wait_for("the reservation to end",
             lambda: sim2.get("/v1/reservations/soon")["state"] == "ended", timeout=30)
    wait_for("its VM gone", lambda: sim2.request("GET", f"/v1/vms/{res['vm']}")[0] == 404,
             timeout=30)
