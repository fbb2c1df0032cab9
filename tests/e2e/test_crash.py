"""Crashes lose nothing: kill -9 the daemon at each step of a create, start
it again, and the VM ends running exactly once, with no orphan in libvirt.

The steps are named crash points (NESTCLOUD_FAULT): the daemon sends itself
SIGKILL exactly there.  A last test kills it at arbitrary moments too."""
import random
import time

import pytest

from conftest import wait_for

POINTS = [
    # the API committed the VM, its operation and the command, then died
    # before answering: the request was accepted and must complete
    "api-after-commit",
    # the worker made the disk and seed but had not defined the domain
    "worker-before-define",
    # started as a transient domain, not yet defined (persistent)
    "worker-before-persist",
    # started and defined, result not yet reported
    "worker-after-define",
    # started, result not yet reported
    "worker-before-report",
    # reported, command not yet acknowledged: it will come again
    "worker-before-ack",
    # the central node died while applying the result
    "central-apply-result",
]


def settle(cloud, name, timeout=120):
    def done():
        status, vm = cloud.request("GET", f"/v1/vms/{name}")
        return vm if status == 200 and vm["state"] in ("running", "error") and not vm["operation"] else None
    return wait_for(f"VM {name} to settle", done, timeout=timeout)


@pytest.mark.parametrize("point", POINTS)
def test_crash_during_create(fresh_cloud, point):
    cloud = fresh_cloud
    cloud.start(env={"NESTCLOUD_FAULT": point})
    try:
        status, _ = cloud.request("POST", "/v1/vms", {"name": "phoenix", "image": "test",
                                                       "memory_mib": 256})
    except OSError:
        status = None   # the daemon died before answering
    assert cloud.wait_exit(timeout=60) != 0, "the crash point was never reached"
    assert "fault point" in cloud.log()

    cloud.start()
    vm = settle(cloud, "phoenix")
    assert vm["state"] == "running", vm
    doms = cloud.domains()
    assert doms == {vm["id"]: "running"}, doms
    ops = cloud.get(f"/v1/operations?target={vm['id']}")["operations"]
    creates = [o for o in ops if o["kind"] == "vm.create"]
    assert len(creates) == 1 and creates[0]["status"] == "succeeded"
    assert len(cloud.get("/v1/vms")["vms"]) == 1
    host = cloud.get("/v1/hosts")["hosts"][0]
    assert host["allocated"]["memory_mib"] == 256
    # and the VM is a real, working guest
    cloud.wait_console("phoenix", "NC-BOOT", timeout=120)
    cloud.delete_vm("phoenix")
    assert cloud.domains() == {}


def test_kill9_at_random_moments(fresh_cloud):
    cloud = fresh_cloud.start()
    rng = random.Random(20261125)
    names = [f"burst-{i}" for i in range(6)]
    for i, name in enumerate(names):
        try:
            cloud.request("POST", "/v1/vms", {"name": name, "image": "test", "memory_mib": 128,
                                              "max_memory_mib": 128})
        except OSError:
            pass
        if i % 2 == 1:
            time.sleep(rng.uniform(0.0, 0.6))
            cloud.kill9()
            cloud.start()
    accepted = {v["name"]: v for v in cloud.get("/v1/vms")["vms"]}
    for name in accepted:
        settle(cloud, name)
    vms = cloud.get("/v1/vms")["vms"]
    assert all(v["state"] == "running" for v in vms), vms
    doms = cloud.domains()
    assert sorted(doms) == sorted(v["id"] for v in vms)
    assert all(s == "running" for s in doms.values()), doms
    # every accepted create ended exactly once
    for v in vms:
        ops = [o for o in cloud.get(f"/v1/operations?target={v['id']}")["operations"]
               if o["kind"] == "vm.create"]
        assert len(ops) == 1 and ops[0]["status"] == "succeeded"
