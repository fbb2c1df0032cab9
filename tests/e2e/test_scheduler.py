"""The scheduler on many hosts: simulated hosts (libvirt's test driver) in
a worker process beside the central node, sharing its store."""
import glob
import json
import os
import shutil
import signal
import threading
import time

import pytest

from conftest import Cloud, QemuWorker, SimWorker, virsh, wait_for

HOSTS = 10


@pytest.fixture(scope="module")
def sim_cloud():
    c = Cloud("sched", command="serve").start(extra=("--host-timeout", "4"))
    w = SimWorker(c, HOSTS).start()
    wait_for("the simulated hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == HOSTS, timeout=60)
    c.sim = w
    yield c
    w.stop()
    c.destroy()


def create(cloud, name, **spec):
    body = {"name": name, "image": "test", "memory_mib": 64, "max_memory_mib": 64,
            "max_vcpus": 1, **spec}
    return cloud.request("POST", "/v1/vms", body)


def test_hosts_register_with_their_capacity(sim_cloud):
    hosts = sim_cloud.get("/v1/hosts")["hosts"]
    assert {h["accel"] for h in hosts} == {"sim"}
    for h in hosts:
        assert h["capacity"]["vcpus"] == 2 and h["limit"]["vcpus"] == 8
        assert h["state"] == "up"


def test_concurrent_creates_never_overcommit(sim_cloud):
    """1000 creates race for 80 vCPUs: exactly 80 win, no host passes its ratio."""
    results = []
    lock = threading.Lock()

    def burst(k):
        for i in range(100):
            status, body = create(sim_cloud, f"race-{k}-{i}")
            with lock:
                results.append(status)

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(202) == HOSTS * 8, sorted(set(results))
    assert results.count(422) == 1000 - HOSTS * 8
    for h in sim_cloud.get("/v1/hosts")["hosts"]:
        assert h["allocated"]["vcpus"] <= h["limit"]["vcpus"]
        assert len(h["vms"]) == 8
    wait_for("every VM running", lambda: all(
        v["state"] == "running" for v in sim_cloud.get("/v1/vms")["vms"]), timeout=120)
    status, body = create(sim_cloud, "one-too-many")
    assert status == 422 and "needs 1 vCPUs, best host" in body["error"]["message"]


def test_delete_frees_room(sim_cloud):
    vms = sim_cloud.get("/v1/vms")["vms"]
    for v in vms[:20]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("20 deletions", lambda: len(sim_cloud.get("/v1/vms")["vms"]) == len(vms) - 20, 60)
    total = sum(h["allocated"]["vcpus"] for h in sim_cloud.get("/v1/hosts")["hosts"])
    assert total == HOSTS * 8 - 20


def test_anti_affinity_and_placement_explained(sim_cloud):
    for v in sim_cloud.get("/v1/vms")["vms"]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)
    hosts = set()
    for i in range(HOSTS):
        status, op = create(sim_cloud, f"db-{i}", anti_affinity="db")
        assert status == 202, op
        vm = sim_cloud.get(f"/v1/vms/{op['target']['id']}")
        assert "spread choice" in vm["placement"]
        hosts.add(vm["host"])
    assert len(hosts) == HOSTS
    status, body = create(sim_cloud, "db-extra", anti_affinity="db")
    assert status == 422 and "anti-affinity" in body["error"]["message"]


def test_count_that_does_not_fit_leaves_the_room(sim_cloud):
    """A "count" request that fails half-way has claimed room for the VMs it
    placed first; the store rolls back and the scheduler's view must follow,
    or the next request finds the hosts full."""
    for v in sim_cloud.get("/v1/vms")["vms"]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)
    status, body = create(sim_cloud, "lot", count=HOSTS * 8 + 1)
    assert status == 422, body
    assert sim_cloud.get("/v1/vms")["vms"] == []
    status, body = create(sim_cloud, "lot", count=HOSTS * 2)
    assert status == 202, body
    per_host = [len(h["vms"]) for h in sim_cloud.get("/v1/hosts")["hosts"]]
    assert per_host == [2] * HOSTS, per_host   # spread, as on an empty cloud
    for op in body["operations"]:
        sim_cloud.delete_vm(op["target"]["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)


def test_count_keeps_anti_affinity_among_its_own_vms(sim_cloud):
    """The VMs of one "count" request share the scheduler's excluded hosts;
    each one placed in an anti-affinity group must still keep the next one
    off its host."""
    status, body = create(sim_cloud, "ring", count=HOSTS + 1, anti_affinity="ring")
    assert status == 422 and "anti-affinity" in body["error"]["message"], body
    assert sim_cloud.get("/v1/vms")["vms"] == []
    status, body = create(sim_cloud, "ring", count=HOSTS, anti_affinity="ring")
    assert status == 202, body
    hosts = [sim_cloud.get(f"/v1/vms/{op['target']['id']}")["host"] for op in body["operations"]]
    assert len(set(hosts)) == HOSTS, hosts
    for op in body["operations"]:
        sim_cloud.delete_vm(op["target"]["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)


def test_count_respects_the_project_quota():
    """--max-vms-per-project: a request of "count": N that would pass it is
    refused whole (403, with what is left); one that fits is made."""
    c = Cloud("sched-quota", command="serve").start(extra=("--max-vms-per-project", "5"))
    w = SimWorker(c, 1).start()
    try:
        wait_for("the simulated host", lambda: len(c.get("/v1/hosts")["hosts"]) == 1, timeout=60)
        status, body = create(c, "q", count=6)
        assert status == 403 and "may have 5" in body["error"]["message"], body
        assert c.get("/v1/vms")["vms"] == []
        for bad in (0, -1, 1001, "3", True):
            status, body = create(c, "q", count=bad)
            assert status == 400 and "count" in body["error"]["message"], (bad, body)
        status, body = create(c, "q", count=4)
        assert status == 202 and len(body["operations"]) == 4
        status, body = create(c, "one")
        assert status == 202 and "operations" not in body and body["kind"] == "vm.create"
        status, body = create(c, "six")
        assert status == 403
        wait_for("5 VMs running", lambda: [v["state"] for v in c.get("/v1/vms")["vms"]] ==
                 ["running"] * 5, timeout=60)
        r = c.cli("vm", "create", "cli", "--image", "test", "--count", "2", check=False)
        assert r.returncode != 0 and "may have 5" in r.stderr, r.stderr
    finally:
        w.stop()
        c.destroy()


def test_host_without_the_image_is_passed_over():
    """A host whose heartbeat does not list an image's file gets no VM of
    that image, however much room it has; once the file is there, it does."""
    c = Cloud("sched-image", command="serve").start()
    have = SimWorker(c, 1, name="have").start()
    bare = SimWorker(c, 1, name="bare", memory_mib=65536)
    bare_images = c.state + "-bare-images"
    os.makedirs(bare_images, exist_ok=True)
    bare.args[bare.args.index("--image-dir") + 1] = bare_images
    bare.start()
    try:
        wait_for("both hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == 2, timeout=60)
        time.sleep(2.5)   # a heartbeat of each, with its image list
        for i in range(3):
            status, op = create(c, f"img-{i}")
            assert status == 202, op
            vm = c.get(f"/v1/vms/{op['target']['id']}")
            assert vm["host"] == "have-0000", vm
            assert "1 passed over" in vm["placement"], vm["placement"]
        for name in os.listdir(os.path.join(c.state, "images")):
            src = os.path.join(c.state, "images", name)
            if os.path.isfile(src):
                os.link(src, os.path.join(bare_images, name))
        time.sleep(2.5)
        status, op = create(c, "img-bare")
        assert status == 202, op
        vm = c.get(f"/v1/vms/{op['target']['id']}")
        assert vm["host"] == "bare-0000", vm   # spread: the roomier host
    finally:
        bare.stop()
        have.stop()
        shutil.rmtree(bare_images, ignore_errors=True)
        c.destroy()


def test_a_host_that_is_gone_can_be_removed():
    """DELETE /v1/hosts/{id}: only for a host that is down and holds no VM
    and no reservation to come; a worker that comes back registers anew."""
    c = Cloud("sched-remove", command="serve").start(extra=("--host-timeout", "3"))
    a = SimWorker(c, 1, name="a").start()
    b = SimWorker(c, 1, name="b").start()
    try:
        wait_for("two hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == 2, timeout=60)
        c.call("PATCH", "/v1/hosts/b-0000", {"enabled": False})
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90000))
        res = c.call("POST", "/v1/reservations", {
            "name": "later", "image": "test", "memory_mib": 64, "max_memory_mib": 64,
            "max_vcpus": 1, "start_at": start, "end_at": end}, expect=(201,))
        assert res["host"] == "a-0000"
        status, op = create(c, "on-a")
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        vm_id = op["target"]["id"]
        assert c.vm(vm_id)["host"] == "a-0000"

        status, body = c.request("DELETE", "/v1/hosts/b-0000")
        assert status == 409 and "is up" in body["error"]["message"], body
        p = c.call("POST", "/v1/projects", {"name": "remove-tenant"}, expect=(201,))
        status, body = c.request("DELETE", "/v1/hosts/a-0000", token=p["token"])
        assert status == 403, body
        status, body = c.request("DELETE", "/v1/hosts/no-such-host")
        assert status == 404, body

        a.kill9()
        wait_for("host a down", lambda: c.get("/v1/hosts/a-0000")["state"] == "down", 30)
        status, body = c.request("DELETE", "/v1/hosts/a-0000")
        assert status == 409, body
        assert body["error"]["message"].startswith(
            "host 'a-0000' still holds 1 VM, 1 scheduled or active reservation and "), body
        assert c.get("/v1/hosts/a-0000")["state"] == "down"

        # back up, its VM deleted and its reservation cancelled, then gone for good
        a.start()
        wait_for("host a up", lambda: c.get("/v1/hosts/a-0000")["state"] == "up", 30)
        c.delete_vm(vm_id)
        c.call("DELETE", f"/v1/reservations/{res['id']}")
        # what the admin set on it is to go with the host
        c.call("PATCH", "/v1/hosts/a-0000", {"enabled": False, "disabled_reason": "retired",
                                             "cpu_ratio": 2})
        a.kill9()
        wait_for("host a down", lambda: c.get("/v1/hosts/a-0000")["state"] == "down", 30)
        r = c.cli("host", "delete", "a-0000")
        assert "host a-0000 removed" in r.stdout
        assert c.request("GET", "/v1/hosts/a-0000")[0] == 404
        assert [h["name"] for h in c.get("/v1/hosts")["hosts"]] == ["b-0000"]
        assert c.get(f"/v1/reservations/{res['id']}")["host"] is None
        status, body = create(c, "on-a-again", host="a-0000")
        assert status == 422 and "host 'a-0000' does not exist" in body["error"]["message"], body

        # the scheduler forgot it: with b enabled, VMs go to b
        c.call("PATCH", "/v1/hosts/b-0000", {"enabled": True})
        status, op = create(c, "on-b")
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        assert c.vm(op["target"]["id"])["host"] == "b-0000"

        # a worker that comes back registers its host again, enabled and empty
        a.start()
        wait_for("host a registered again", lambda: c.request("GET", "/v1/hosts/a-0000")[0] ==
                 200, 30)
        h = c.get("/v1/hosts/a-0000")
        assert h["state"] == "up" and h["enabled"] is True and h["disabled_reason"] is None
        assert h["overcommit"]["cpu"] == 4.0 and h["vms"] == [], h
    finally:
        a.stop()
        b.stop()
        c.destroy()


def test_a_host_gone_for_good_is_given_up():
    """DELETE /v1/hosts/{id}?force=true for a host that died holding VMs:
    its VMs are lost, a delete waiting for it completes, its other work
    and its reservations fail; nothing is left waiting for it."""
    c = Cloud("sched-giveup", command="serve").start(extra=("--host-timeout", "3"))
    a = SimWorker(c, 1, name="a").start()
    b = SimWorker(c, 1, name="b").start()
    try:
        wait_for("two hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == 2, timeout=60)
        ops = {}
        for name in ("lost", "doomed"):
            status, op = create(c, name, host="a-0000")
            assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
            ops[name] = op["target"]["id"]
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90000))
        res = c.call("POST", "/v1/reservations", {
            "name": "later", "image": "test", "memory_mib": 64, "max_memory_mib": 64,
            "max_vcpus": 1, "start_at": start, "end_at": end, "host": "a-0000"}, expect=(201,))
        vms_before = c.get("/v1/status")["vms"]["total"]

        a.kill9()
        wait_for("host a down", lambda: c.get("/v1/hosts/a-0000")["state"] == "down", 30)
        deleting = c.call("DELETE", f"/v1/vms/{ops['doomed']}")
        assert c.get(f"/v1/operations/{deleting['id']}")["status"] == "pending"
        status, body = c.request("DELETE", "/v1/hosts/a-0000")
        assert status == 409 and "force its removal" in body["error"]["message"], body
        status, body = c.request("DELETE", "/v1/hosts/a-0000?force=maybe")
        assert status == 400, body
        assert c.get("/v1/hosts/a-0000")["state"] == "down"

        r = c.cli("host", "delete", "a-0000", "--force")
        assert "host a-0000 removed; 1 VMs lost" in r.stdout, r.stdout
        for vm_id in ops.values():
            assert c.request("GET", f"/v1/vms/{vm_id}")[0] == 404
        assert c.get(f"/v1/operations/{deleting['id']}")["status"] == "succeeded"
        r = c.get(f"/v1/reservations/{res['id']}")
        assert r["state"] == "failed" and r["error"] == "its host was removed", r
        assert [h["name"] for h in c.get("/v1/hosts")["hosts"]] == ["b-0000"]
        assert c.get("/v1/status")["vms"]["total"] == vms_before - 2
        # nothing waits for the host: every operation is settled
        assert all(o["status"] in ("succeeded", "failed")
                   for o in c.get("/v1/operations?limit=1000")["operations"])
        status, op = create(c, "after")
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        assert c.vm(op["target"]["id"])["host"] == "b-0000"
    finally:
        a.stop()
        b.stop()
        c.destroy()


def worker_domains(worker, host):
    """{vm id: state} of one simulated host of @worker, as it lists them."""
    try:
        with open(os.path.join(worker.state, "sim", host + ".domains.json")) as f:
            return {d["id"]: d["state"] for d in json.load(f)}
    except (OSError, ValueError):
        return {}


def test_a_dead_host_is_evacuated():
    """POST /v1/hosts/{id}/evacuate for a host that stopped answering: its
    VMs are made again on other hosts from their images, each in the state
    it was meant to have; one that fits nowhere stays.  When the host
    answers again, the copies it still runs of the VMs that left are
    removed, and the VMs run once, on their new host."""
    c = Cloud("sched-evac", command="serve").start(extra=("--host-timeout", "3"))
    a = SimWorker(c, 1, name="a").start()
    b = SimWorker(c, 1, name="b").start()
    try:
        wait_for("two hosts", lambda: len(c.get("/v1/hosts")["hosts"]) == 2, timeout=60)
        ids = {}
        for name, extra in (("runner", {}), ("sleeper", {}), ("doomed", {}),
                            ("g1", {"anti_affinity": "g"})):
            status, op = create(c, name, host="a-0000", **extra)
            assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
            ids[name] = op["target"]["id"]
        status, op = create(c, "g2", host="b-0000", anti_affinity="g")
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        c.action(ids["sleeper"], "stop")
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90000))
        res = c.call("POST", "/v1/reservations", {
            "name": "tomorrow", "image": "test", "memory_mib": 64, "max_memory_mib": 64,
            "max_vcpus": 1, "start_at": start, "end_at": end, "host": "a-0000"}, expect=(201,))
        wait_for("a's domains", lambda: worker_domains(a, "a-0000") == {
            ids["runner"]: "running", ids["sleeper"]: "stopped", ids["doomed"]: "running",
            ids["g1"]: "running"}, 30)

        # the host stops answering, its domains still there (a hung host)
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            wait_for("host a down", lambda: c.get("/v1/hosts/a-0000")["state"] == "down", 30)
            assert c.vm(ids["runner"])["state"] == "unknown"
            # a delete waits for the host, as every operation does
            waiting = c.call("DELETE", f"/v1/vms/{ids['doomed']}")

            status, body = c.request("POST", "/v1/hosts/b-0000/evacuate")
            assert status == 409 and "is up" in body["error"]["message"], body
            p = c.call("POST", "/v1/projects", {"name": "evac-tenant"}, expect=(201,))
            status, body = c.request("POST", "/v1/hosts/a-0000/evacuate", token=p["token"])
            assert status == 403, body
            assert c.request("POST", "/v1/hosts/no-such-host/evacuate")[0] == 404

            r = c.cli("host", "evacuate", "a-0000")
            assert "host a-0000 evacuated and disabled: 2 VMs moving, 1 left" in r.stdout, r.stdout
            assert "g1  left: no host can take this VM" in r.stdout, r.stdout
            assert "reservation tomorrow  moved to host b-0000" in r.stdout, r.stdout
            assert c.get(f"/v1/reservations/{res['id']}")["host"] == "b-0000"
            ops = [o for o in c.get("/v1/operations?limit=100")["operations"]
                   if o["kind"] == "vm.evacuate"]
            assert sorted(o["target"]["name"] for o in ops) == ["runner", "sleeper"]
            for o in ops:
                assert c.wait_op(o)["status"] == "succeeded", o
            # settled first: the VM went with the host
            assert c.get(f"/v1/operations/{waiting['id']}")["status"] == "succeeded"
            assert c.request("GET", f"/v1/vms/{ids['doomed']}")[0] == 404
            for name, want in (("runner", "running"), ("sleeper", "stopped")):
                vm = c.vm(ids[name])
                assert vm["host"] == "b-0000" and vm["state"] == want, vm
                assert vm["placement"].startswith("evacuated from host 'a-0000'; now on"), vm
            wait_for("the VMs on b", lambda: {
                k: v for k, v in worker_domains(b, "b-0000").items() if k != ids["g1"]
            } == {ids["runner"]: "running", ids["sleeper"]: "stopped",
                  c.vm("g2")["id"]: "running"}, 30)
            assert c.vm(ids["g1"])["host"] == "a-0000"
            h = c.get("/v1/hosts/a-0000")
            assert h["enabled"] is False and h["disabled_reason"] == "evacuated", h
            assert h["allocated"]["vcpus"] == 1, h
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)

        # back: the copies of the VMs that left or were deleted are
        # removed, the one that stayed runs
        wait_for("host a up", lambda: c.get("/v1/hosts/a-0000")["state"] == "up", 30)
        wait_for("a keeps g1 alone", lambda: worker_domains(a, "a-0000") == {
            ids["g1"]: "running"}, 30)
        wait_for("g1 running", lambda: c.vm(ids["g1"])["state"] == "running", 30)
        assert worker_domains(b, "b-0000")[ids["runner"]] == "running"
        assert c.vm(ids["runner"])["state"] == "running"
        # a host that comes back is not ours to judge for VMs it never had
        assert c.vm("g2")["state"] == "running"
    finally:
        a.stop()
        b.stop()
        c.destroy()


def test_hosts_sharing_one_libvirt_are_not_evacuated_while_one_is_up():
    """Two workers on one libvirt daemon are two hosts that see each other's
    domains.  With one of them down and the other up, the machine is alive:
    an evacuation of the one down is refused and changes nothing, and its VM
    runs on in libvirt.  With both down, the evacuation goes ahead, to
    another machine, and the worker that comes back removes its copy."""
    # not 3 s: twin2 must not miss its heartbeats while twin1 is down
    c = Cloud("sched-twins", command="serve").start(extra=("--host-timeout", "6"))
    t1 = QemuWorker(c, "twin1").start()
    t2 = QemuWorker(c, "twin2").start()
    far = SimWorker(c, 1, name="far").start()
    try:
        wait_for("three hosts up", lambda: sorted(
            h["name"] for h in c.get("/v1/hosts")["hosts"] if h["state"] == "up") == [
            "far-0000", "twin1", "twin2"], timeout=60)
        hosts = {h["name"]: h for h in c.get("/v1/hosts")["hosts"]}
        daemon = hosts["twin1"]["info"]["libvirt"]
        assert daemon.startswith("QEMU /system on "), daemon
        assert hosts["twin2"]["info"]["libvirt"] == daemon
        assert "libvirt" not in hosts["far-0000"]["info"]   # a simulated host shares nothing
        # one libvirt, two workers with a directory of volumes each: a pool
        # over each (they started at once; neither took the other's)
        short = c.cloud_short()
        pools = {}
        for name in virsh("pool-list", "--all", "--name").split():
            if name.startswith(f"nc-{short}-volumes"):
                xml = virsh("pool-dumpxml", name)
                pools[name] = xml.split("<path>")[1].split("</path>")[0]
        assert sorted(pools.values()) == [t1.state + "/volumes", t2.state + "/volumes"], pools
        assert f"nc-{short}-volumes" in pools, pools

        status, op = create(c, "shared", host="twin1", memory_mib=256, max_memory_mib=256)
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        vm_id = op["target"]["id"]
        assert c.domains().get(vm_id) == "running"

        # a volume of a VM on twin2 lies in twin2's directory, in its pool
        status, op = create(c, "other", host="twin2", memory_mib=256, max_memory_mib=256)
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        vol = c.call("POST", "/v1/volumes", {"name": "d2", "size_gib": 1, "vm": "other"},
                     expect=(202,))
        assert c.wait_op(vol)["status"] == "succeeded", vol
        # one made on twin1 does not attach to a VM on twin2
        vol = c.call("POST", "/v1/volumes", {"name": "d1", "size_gib": 1, "vm": "shared"},
                     expect=(202,))
        assert c.wait_op(vol)["status"] == "succeeded", vol
        status, body = c.request("POST", "/v1/vms/other/volumes", {"volume": "d1"})
        assert status == 409, body
        assert ("volume 'd1' is a file on host 'twin1' and VM 'other' runs on host 'twin2'"
                in body["error"]["message"]), body
        d1 = c.get("/v1/volumes/d1")
        assert d1["state"] == "available" and d1["host"] == "twin1", d1
        assert c.get("/v1/volumes/d2")["host"] == "twin2"
        assert "twin1" in c.cli("volume", "list").stdout
        pool1 = next(n for n, d in pools.items() if d == t1.state + "/volumes")
        assert f"{c.get('/v1/volumes/d1')['id']}.raw" in virsh("vol-list", pool1)
        att = c.call("POST", "/v1/vms/other/volumes", {"volume": "d2"}, expect=(202,))
        done = c.wait_op(att)
        assert done["status"] == "succeeded", done
        d2 = c.get("/v1/volumes/d2")
        pool2 = next(n for n, d in pools.items() if d == t2.state + "/volumes")
        assert f"{d2['id']}.raw" in virsh("vol-list", pool2)
        assert os.path.exists(os.path.join(t2.state, "volumes", f"{d2['id']}.raw"))
        status, op = c.request("DELETE", "/v1/vms/other")
        assert status == 202 and c.wait_op(op)["status"] == "succeeded", op
        assert c.get("/v1/volumes/d2")["state"] == "available"


        t1.kill9()
        wait_for("twin1 down", lambda: c.get("/v1/hosts/twin1")["state"] == "down", 30)
        assert c.get("/v1/hosts/twin2")["state"] == "up"
        status, body = c.request("POST", "/v1/hosts/twin1/evacuate")
        assert status == 409, body
        msg = body["error"]["message"]
        assert f"shares its libvirt ({daemon}) with host 'twin2', which is up" in msg, msg
        r = c.cli("host", "evacuate", "twin1", check=False)
        assert r.returncode != 0 and "restart the worker of 'twin1'" in r.stderr, r
        # nothing changed, and twin2's heartbeats leave twin1's domain alone
        seen = [c.get("/v1/hosts/twin2")["last_seen"]]

        def beats():
            now = c.get("/v1/hosts/twin2")["last_seen"]
            if now != seen[-1]:
                seen.append(now)
            return len(seen) >= 3
        wait_for("two more heartbeats of twin2", beats, 15)
        h = c.get("/v1/hosts/twin1")
        assert h["enabled"] is True, h
        vm = c.vm(vm_id)
        assert vm["host"] == "twin1" and vm["state"] == "unknown", vm
        assert c.domains().get(vm_id) == "running"

        # the machine's workers both gone: it counts as dead
        t2.kill9()
        wait_for("twin2 down", lambda: c.get("/v1/hosts/twin2")["state"] == "down", 30)
        r = c.cli("host", "evacuate", "twin1")
        assert "evacuated and disabled: 1 VM moving, 0 left" in r.stdout, r.stdout
        wait_for("the VM running on far-0000", lambda: (
            lambda v: v["host"] == "far-0000" and v["state"] == "running")(c.vm(vm_id)), 30)
        # twin1 back: it removes the copy it held; the VM runs on, elsewhere
        t1.start()
        wait_for("twin1's copy removed", lambda: vm_id not in c.domains(), 60)
        # far-0000 writes the domains it runs at its next heartbeat
        wait_for("the VM among far-0000's domains",
                 lambda: worker_domains(far, "far-0000") == {vm_id: "running"}, 15)
        # and the copy's end did not stop the VM (a report of another host)
        time.sleep(2)
        vm = c.vm(vm_id)
        assert vm["state"] == "running" and vm["desired"] == "running", vm
    finally:
        for w in (t1, t2, far):
            w.stop()
        c.destroy()


def sim_domain_states(cloud):
    """{vm id: state}, from the simulated hosts' own domain lists."""
    out = {}
    for path in glob.glob(os.path.join(cloud.sim.state, "sim", "*.domains.json")):
        try:
            with open(path) as f:
                doms = json.load(f)
        except (OSError, ValueError):
            continue
        out.update({d["id"]: d["state"] for d in doms})
    return out


def test_simulated_vm_stays_defined_when_stopped(sim_cloud):
    """A simulated host starts its domains transient (one parse in libvirt's
    test driver); a stop must first define them, or they would vanish."""
    for v in sim_cloud.get("/v1/vms")["vms"]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)
    status, op = create(sim_cloud, "pausable")
    assert status == 202, op
    vm_id = op["target"]["id"]
    assert sim_cloud.wait_op(op)["status"] == "succeeded"
    wait_for("the domain running", lambda: sim_domain_states(sim_cloud).get(vm_id) == "running", 30)
    for action in ("stop", "start", "force-stop", "start", "reboot"):
        sim_cloud.action(vm_id, action)
        want = "stopped" if action.endswith("stop") else "running"
        wait_for(f"the domain {want} after {action}",
                 lambda: sim_domain_states(sim_cloud).get(vm_id) == want, 30)
        assert sim_cloud.vm(vm_id)["state"] == want
    # heartbeats come each second: the stopped domain stays as it is
    sim_cloud.action(vm_id, "stop")
    time.sleep(3)
    assert sim_domain_states(sim_cloud).get(vm_id) == "stopped"
    assert sim_cloud.vm(vm_id)["state"] == "stopped"
    # and no repair was needed on the way: a domain that vanished at a stop
    # would have been defined again by the reconciler (vm.define)
    kinds = [o["kind"] for o in sim_cloud.get(f"/v1/operations?target={vm_id}")["operations"]]
    assert sorted(set(kinds)) == ["vm.create", "vm.force-stop", "vm.reboot", "vm.start",
                                  "vm.stop"], kinds
    sim_cloud.delete_vm(vm_id)
    wait_for("the domain gone", lambda: vm_id not in sim_domain_states(sim_cloud), 30)


def host_domains(cloud, host):
    """{vm id: state} of one simulated host's domains, as it lists them."""
    try:
        with open(os.path.join(cloud.sim.state, "sim", host + ".domains.json")) as f:
            return {d["id"]: d["state"] for d in json.load(f)}
    except (OSError, ValueError):
        return {}


def test_disabled_host_takes_no_new_vms(sim_cloud):
    """Maintenance: a disabled host keeps its VMs, which still grow and stop,
    and the scheduler places nothing new there until it is enabled again."""
    for v in sim_cloud.get("/v1/vms")["vms"]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)
    status, op = create(sim_cloud, "tenant-vm", max_vcpus=2)
    assert status == 202 and sim_cloud.wait_op(op)["status"] == "succeeded", op
    vm_id = op["target"]["id"]
    host = sim_cloud.vm(vm_id)["host"]

    # a tenant may not; bad input is refused and changes nothing
    p = sim_cloud.call("POST", "/v1/projects", {"name": "maint-tenant"}, expect=(201,))
    status, body = sim_cloud.request("PATCH", f"/v1/hosts/{host}", {"enabled": False},
                                     token=p["token"])
    assert status == 403, body
    for bad in ({"enabled": "no"}, {"disabled_reason": "alone"},
                {"enabled": True, "disabled_reason": "enabled, yet a reason"},
                {"enabled": False, "disabled_reason": "x" * 257},
                {"enabled": False, "disabled_reason": "bell\u0007"},
                {"enabled": False, "state": "down"}):
        status, body = sim_cloud.request("PATCH", f"/v1/hosts/{host}", bad)
        assert status == 400, (bad, body)
        assert sim_cloud.get(f"/v1/hosts/{host}")["enabled"] is True

    r = sim_cloud.cli("host", "disable", host, "--reason", "new disks, ticket #42")
    h = json.loads(r.stdout)
    assert h["enabled"] is False and h["disabled_reason"] == "new disks, ticket #42"
    assert h["state"] == "up"
    assert sim_cloud.get("/v1/status")["hosts"] == {"total": HOSTS, "up": HOSTS, "disabled": 1}
    metrics = sim_cloud.request("GET", "/metrics")[1]
    assert f'nestcloud_host_enabled{{host="{host}"}} 0' in metrics, metrics
    listing = sim_cloud.cli("host", "list").stdout
    assert any(line.startswith(host + " ") and "up,disabled" in line
               for line in listing.splitlines()), listing

    # new VMs go elsewhere, though the disabled host is the emptiest
    status, body = create(sim_cloud, "after", count=HOSTS)
    assert status == 202, body
    for o in body["operations"]:
        assert sim_cloud.wait_op(o)["status"] == "succeeded"
    new_ids = [o["target"]["id"] for o in body["operations"]]
    assert all(sim_cloud.vm(i)["host"] != host for i in new_ids)
    wait_for("the new domains running", lambda: all(
        sim_domain_states(sim_cloud).get(i) == "running" for i in new_ids), 30)
    wait_for("the disabled host's list", lambda: host_domains(sim_cloud, host) ==
             {vm_id: "running"}, 30)

    # its own VM still grows (the room is checked there) and stops
    status, body = sim_cloud.request("PATCH", f"/v1/vms/{vm_id}", {"vcpus": 2})
    assert status == 202 and sim_cloud.wait_op(body)["status"] == "succeeded", body
    assert sim_cloud.get(f"/v1/hosts/{host}")["allocated"]["vcpus"] == 2
    sim_cloud.action(vm_id, "stop")
    wait_for("the domain stopped", lambda: host_domains(sim_cloud, host).get(vm_id) == "stopped",
             30)

    # with every host disabled nothing is placed, and the error says why
    for h in sim_cloud.get("/v1/hosts")["hosts"]:
        sim_cloud.call("PATCH", f"/v1/hosts/{h['id']}", {"enabled": False})
    status, body = create(sim_cloud, "nowhere")
    assert status == 422, body
    assert "every host considered that is up is disabled (10)" in body["error"]["message"], body
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90000))
    status, body = sim_cloud.request("POST", "/v1/reservations", {
        "name": "later", "image": "test", "memory_mib": 64, "max_memory_mib": 64,
        "max_vcpus": 1, "start_at": start, "end_at": end})
    assert status == 422, body
    assert body["error"]["message"] == ("no host can hold the reservation: every host considered "
                                        "that is up is disabled (10)"), body
    assert sim_cloud.get("/v1/reservations")["reservations"] == []

    # enabled again, the host takes VMs; the reason is gone
    h = sim_cloud.call("PATCH", f"/v1/hosts/{host}", {"enabled": True})
    assert h["enabled"] is True and h["disabled_reason"] is None
    status, op = create(sim_cloud, "back")
    assert status == 202 and sim_cloud.wait_op(op)["status"] == "succeeded", op
    back = op["target"]["id"]
    assert sim_cloud.vm(back)["host"] == host
    wait_for("the domain on the enabled host", lambda: host_domains(sim_cloud, host).get(back) ==
             "running", 30)
    for h in sim_cloud.get("/v1/hosts")["hosts"]:
        sim_cloud.cli("host", "enable", h["name"])
    assert all(h["enabled"] for h in sim_cloud.get("/v1/hosts")["hosts"])
    sim_cloud.action(vm_id, "start")


def test_an_admin_names_the_host(sim_cloud):
    """"host" in a create: the VM goes there, through the same checks, or
    the create fails saying which; a tenant may not choose."""
    for v in sim_cloud.get("/v1/vms")["vms"]:
        sim_cloud.delete_vm(v["id"], wait=False)
    wait_for("an empty cloud", lambda: sim_cloud.get("/v1/vms")["vms"] == [], 60)
    target = "sim-0007"
    status, body = create(sim_cloud, "pinned", host=target, count=3)
    assert status == 202, body
    ids = [o["target"]["id"] for o in body["operations"]]
    for o in body["operations"]:
        assert sim_cloud.wait_op(o)["status"] == "succeeded"
    for i in ids:
        vm = sim_cloud.vm(i)
        assert vm["host"] == target and "named by an admin" in vm["placement"], vm
    wait_for("the domains on the named host", lambda: all(
        host_domains(sim_cloud, target).get(i) == "running" for i in ids), 30)

    r = sim_cloud.cli("vm", "create", "pinned-cli", "--image", "test", "--memory", "64M",
                      "--max-memory", "64M", "--max-vcpus", "1", "--host", "sim-0002")
    assert sim_cloud.vm("pinned-cli")["host"] == "sim-0002", r.stdout

    before = len(sim_cloud.get("/v1/vms")["vms"])
    p = sim_cloud.call("POST", "/v1/projects", {"name": "pin-tenant"}, expect=(201,))
    status, body = sim_cloud.request("POST", "/v1/vms", {
        "name": "mine", "image": "test", "memory_mib": 64, "max_memory_mib": 64,
        "max_vcpus": 1, "host": target}, token=p["token"])
    assert status == 403, body
    for bad, code, words in (("no-such-host", 422, "host 'no-such-host' does not exist"),
                             ("Bad Name", 400, "field 'host'"),
                             (7, 400, "field 'host'")):
        status, body = create(sim_cloud, "bad-host", host=bad)
        assert status == code and words in body["error"]["message"], (bad, body)
    # the host's 8 vCPUs: 3 taken, 6 more do not fit, and nothing is made
    status, body = create(sim_cloud, "too-many", host=target, count=6)
    assert status == 422, body
    assert f"host '{target}' cannot take this VM: needs 1 vCPUs, best host '{target}' has 0 free" \
        in body["error"]["message"], body
    status, body = create(sim_cloud, "grouped", host=target, anti_affinity="g", count=2)
    assert status == 422 and "anti-affinity" in body["error"]["message"], body
    sim_cloud.call("PATCH", f"/v1/hosts/{target}", {"enabled": False})
    status, body = create(sim_cloud, "on-disabled", host=target)
    assert status == 422 and body["error"]["message"] == \
        f"host '{target}' cannot take this VM: it is disabled", body
    sim_cloud.call("PATCH", f"/v1/hosts/{target}", {"enabled": True})
    assert len(sim_cloud.get("/v1/vms")["vms"]) == before
    assert len(host_domains(sim_cloud, target)) == 3

    # a reservation too: on the named host, where the spread would not go
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90000))
    window = {"image": "test", "memory_mib": 64, "max_memory_mib": 64, "max_vcpus": 1,
              "start_at": start, "end_at": end}
    r = sim_cloud.call("POST", "/v1/reservations", {"name": "pinned-later", "host": target,
                                                     "vcpus": 1, **window}, expect=(201,))
    assert r["host"] == target
    status, body = sim_cloud.request("POST", "/v1/reservations", {
        "name": "wide", "host": target, **window, "vcpus": 6, "max_vcpus": 6})
    assert status == 422 and f"host '{target}', is full at" in body["error"]["message"], body
    status, body = sim_cloud.request("POST", "/v1/reservations", {
        "name": "theirs", "host": target, **window}, token=p["token"])
    assert status == 403, body
    r2 = sim_cloud.cli("reservation", "create", "pinned-cli", "--image", "test", "--memory",
                       "64M", "--start", start, "--end", end, "--host", "sim-0002", "--json")
    assert json.loads(r2.stdout)["host"] == "sim-0002"
    names = sorted(x["name"] for x in sim_cloud.get("/v1/reservations")["reservations"])
    assert names == ["pinned-cli", "pinned-later"], names
    for x in sim_cloud.get("/v1/reservations")["reservations"]:
        sim_cloud.call("DELETE", f"/v1/reservations/{x['id']}")


def test_silent_host_goes_down_and_comes_back(sim_cloud):
    wait_for("VMs running", lambda: all(
        v["state"] == "running" for v in sim_cloud.get("/v1/vms")["vms"]), 60)
    sim_cloud.sim.kill9()
    wait_for("hosts down", lambda: all(
        h["state"] == "down" for h in sim_cloud.get("/v1/hosts")["hosts"]), timeout=30)
    assert all(v["state"] == "unknown" for v in sim_cloud.get("/v1/vms")["vms"])
    status, body = create(sim_cloud, "nowhere")
    assert status == 422 and "no host is up" in body["error"]["message"]
    sim_cloud.sim.start()
    wait_for("hosts up", lambda: all(
        h["state"] == "up" for h in sim_cloud.get("/v1/hosts")["hosts"]), timeout=30)
    # the test driver keeps no state across processes: the domains are gone,
    # so the reconciler defines and starts them again
    wait_for("VMs running again", lambda: all(
        v["state"] == "running" for v in sim_cloud.get("/v1/vms")["vms"]), timeout=60)
