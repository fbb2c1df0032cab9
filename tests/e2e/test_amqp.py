"""The distributed mode: `nestcloud serve --bus amqp://...` and separate
`nestcloud worker --bus amqp://...` processes that talk only through a
private RabbitMQ node (scripts/rabbitmq.sh), and the faults it survives.

Two clouds, each with its own broker:
- `mixed`: one real QEMU worker (boots the test image) beside simulated
  workers (libvirt's test:/// driver).  A VM too big for the simulated
  hosts can only land on the QEMU host.
- `sim`: simulated workers only, one of them in its own network namespace
  so that its link can be cut.

Effects are checked where they happen: libvirt (virsh) for the QEMU host,
and for simulated hosts the domain list each worker writes at every
heartbeat (STATE_DIR/sim/HOST.domains.json), read straight from its
in-process libvirt test driver.
"""
import glob
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

from conftest import NESTCLOUD, STATE_ROOT, TOP, Cloud, purge_worker, virsh, wait_for

RABBITMQ_SH = os.path.join(TOP, "scripts", "rabbitmq.sh")
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server"),
                                reason="rabbitmq-server is not installed (scripts/deps.sh test)")

SIM_MEMORY = 2048           # MiB per simulated host; 512 of it reserved
QEMU_VM_MEMORY = 1792       # more than a simulated host can give: only QEMU fits
SIM_VM = {"memory_mib": 64, "max_memory_mib": 64, "max_vcpus": 1}
# more vCPUs than the 2-core QEMU host may give (2 x 4): only simulated fits
MIXED_SIM_VM = {"vcpus": 12, "max_vcpus": 12, "memory_mib": 64, "max_memory_mib": 64}


def _ports_free(*ports):
    for p in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def _broker_port():
    """A port P with P, P+1 and P+2 free (AMQP, distribution, epmd)."""
    import random
    for _ in range(200):
        p = random.randrange(21000, 29000)
        if _ports_free(p, p + 1, p + 2):
            return p
    raise AssertionError("no free port triple for RabbitMQ")


class Broker:
    """A private RabbitMQ node: its own directory and ports."""

    def __init__(self, name, listen=()):
        self.dir = os.path.join(STATE_ROOT, f"{name}-rabbit-{uuid.uuid4().hex[:8]}")
        os.makedirs(self.dir, mode=0o755)
        os.chmod(STATE_ROOT, 0o755)
        self.port = _broker_port()
        self.node = f"nc{self.port}@localhost"
        if listen:
            # extra listeners (a namespace's peer address); guest may then
            # log in from outside the loopback interface
            lines = [f"listeners.tcp.1 = 127.0.0.1:{self.port}"]
            lines += [f"listeners.tcp.{i + 2} = {a}:{self.port}" for i, a in enumerate(listen)]
            lines += ["loopback_users = none", "disk_free_limit.absolute = 50MB",
                      "log.file.level = warning", "log.console = false"]
            with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
                f.write("\n".join(lines) + "\n")

    def url(self, host="127.0.0.1"):
        return f"amqp://guest:guest@{host}:{self.port}/"

    def start(self):
        subprocess.run([RABBITMQ_SH, "start", self.dir, str(self.port)], check=True,
                       timeout=120)
        return self

    def stop(self):
        subprocess.run([RABBITMQ_SH, "stop", self.dir, str(self.port)], check=False,
                       timeout=120)

    def ctl(self, *args):
        env = dict(os.environ, HOME=self.dir)
        r = subprocess.run(["runuser", "-u", "rabbitmq", "--", "env", f"HOME={self.dir}",
                            "ERL_EPMD_PORT=" + str(self.port + 2),
                            "/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "-q", *args],
                           capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def queues(self):
        """{name: {type, durable, messages, arguments}}"""
        out = self.ctl("list_queues", "--formatter", "json", "name", "type", "durable",
                       "messages", "arguments")
        return {q["name"]: q for q in json.loads(out)}

    def destroy(self):
        # its data goes next: an orderly stop would only cost seconds
        subprocess.run([RABBITMQ_SH, "kill", self.dir, str(self.port)], check=False, timeout=60)
        if not os.environ.get("NESTCLOUD_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """`nestcloud worker --bus amqp://...`: its own process and state dir;
    QEMU (qemu:///system) or N simulated hosts.  `netns` runs it inside
    that network namespace."""

    def __init__(self, cloud, url, name, sim_hosts=0, netns=None, sim_vcpus=2,
                 sim_memory=SIM_MEMORY, heartbeat_ms=1000):
        self.cloud = cloud
        self.name = name
        self.sim_hosts = sim_hosts
        self.state = f"{cloud.state}-{name}"
        os.makedirs(self.state, exist_ok=True)
        os.chmod(self.state, 0o755)
        args = [NESTCLOUD, "worker", "--bus", url, "--name", name,
                "--cloud-id", cloud.cloud_id(), "--state-dir", self.state,
                "--image-dir", os.path.join(cloud.state, "images"),
                "--heartbeat", str(heartbeat_ms)]
        if sim_hosts:
            args += ["--sim-hosts", str(sim_hosts), "--sim-vcpus", str(sim_vcpus),
                     "--sim-memory", str(sim_memory)]
        else:
            args += ["--lanes", "4"]
        self.args = (["ip", "netns", "exec", netns] if netns else []) + args
        self.log_path = os.path.join(cloud.state, f"{name}-worker.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def host_names(self):
        if not self.sim_hosts:
            return [self.name]
        return [f"{self.name}-{i:04d}" for i in range(self.sim_hosts)]

    def sim_domains(self):
        """{vm id: [states]} read from the simulated hosts' own reports."""
        out = {}
        for path in glob.glob(os.path.join(self.state, "sim", "*.domains.json")):
            try:
                with open(path) as f:
                    doms = json.load(f)
            except (OSError, ValueError):
                continue
            for d in doms:
                out.setdefault(d["id"], []).append(d["state"])
        return out


def sim_domains(workers):
    """{vm id: [state per domain]} over every simulated host of @workers."""
    out = {}
    for w in workers:
        for k, v in w.sim_domains().items():
            out.setdefault(k, []).extend(v)
    return out


def hosts_by_name(cloud):
    return {h["name"]: h for h in cloud.get("/v1/hosts")["hosts"]}


def wait_hosts_up(cloud, names, timeout=60):
    wait_for(f"hosts {sorted(names)[:3]}... up", lambda: all(
        hosts_by_name(cloud).get(n, {}).get("state") == "up" for n in names), timeout=timeout)


def post_vm(cloud, name, **spec):
    return cloud.call("POST", "/v1/vms", {"name": name, "image": "test", **spec},
                      expect=(202,))


def create_many(cloud, prefix, n, threads=8, **spec):
    """POSTs n VMs from several threads; returns {vm id: operation id}."""
    made = {}
    lock = threading.Lock()
    errors = []

    def run(k):
        for i in range(k, n, threads):
            try:
                op = post_vm(cloud, f"{prefix}-{i}", **spec)
            except Exception as e:   # noqa: BLE001 -- reported below
                errors.append(e)
                return
            with lock:
                made[op["target"]["id"]] = op["id"]

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    return made


def vms_running(cloud, ids):
    states = {v["id"]: v["state"] for v in cloud.get("/v1/vms")["vms"]}
    return all(states.get(i) == "running" for i in ids)


def assert_sim_exactly_once(workers, ids):
    """Every VM of @ids is one domain on one simulated host, and runs."""
    doms = sim_domains(workers)
    for vm_id in ids:
        assert doms.get(vm_id) == ["running"], (vm_id, doms.get(vm_id))


def wait_sim_exactly_once(workers, ids, timeout=120):
    def ok():
        doms = sim_domains(workers)
        return all(doms.get(i) == ["running"] for i in ids)
    wait_for(f"{len(ids)} VMs running once each on simulated hosts", ok, timeout=timeout,
             interval=0.5)
    assert_sim_exactly_once(workers, ids)


def ops_all_succeeded(cloud, ids):
    vms = {v["id"]: v for v in cloud.get("/v1/vms")["vms"]}
    return all(vms.get(i, {}).get("state") == "running" for i in ids)


def delete_all(cloud, ids, timeout=120):
    for vm_id in ids:
        cloud.call("DELETE", f"/v1/vms/{vm_id}", expect=(202, 404))
    wait_for("the VMs deleted", lambda: not (set(ids) & {
        v["id"] for v in cloud.get("/v1/vms")["vms"]}), timeout=timeout)


# ---- the mixed cloud: one QEMU worker, simulated workers ----

@pytest.fixture(scope="module")
def mixed():
    broker = Broker("amqp-mixed").start()
    cloud = Cloud("amqp-mixed", command="serve")
    try:
        cloud.start(extra=("--bus", broker.url(), "--host-timeout", "5"))
        qemu = Worker(cloud, broker.url(), "qemu1").start()
        sims = [Worker(cloud, broker.url(), f"msim{k}", sim_hosts=3, sim_vcpus=16).start()
                for k in range(2)]
        wait_hosts_up(cloud, ["qemu1"] + [n for s in sims for n in s.host_names()], timeout=90)
        cloud.broker, cloud.qemu, cloud.sims = broker, qemu, sims
        yield cloud
    finally:
        for w in [getattr(cloud, "qemu", None)] + getattr(cloud, "sims", []):
            if w:
                w.stop()
        if getattr(cloud, "qemu", None):
            purge_worker(cloud, cloud.qemu.state)
        cloud.destroy()
        for w in [getattr(cloud, "qemu", None)] + getattr(cloud, "sims", []):
            if w:
                shutil.rmtree(w.state, ignore_errors=True)
        broker.destroy()


def test_queues_are_durable_quorum_queues(mixed):
    """One command queue per host, one event queue, each with a dead-letter
    queue; all durable quorum queues."""
    hosts = mixed.get("/v1/hosts")["hosts"]
    assert len(hosts) == 7
    queues = mixed.broker.queues()
    names = ["central"] + [f"host.{h['id']}" for h in hosts]
    for n in names:
        for q in (n, "dead." + n):
            assert q in queues, (q, sorted(queues))
            assert queues[q]["type"] == "quorum" and queues[q]["durable"], queues[q]
        args = queues[n]["arguments"]
        if isinstance(args, list):   # rabbitmqctl's JSON: [[key, type, value], ...]
            args = {a[0]: a[-1] for a in args}
        assert args.get("x-dead-letter-routing-key") == "dead." + n, args
        assert args.get("x-delivery-limit", 0) > 0, args


def test_status_names_the_bus(mixed):
    assert mixed.get("/v1/status")["bus"] == "amqp"


def test_worker_rejects_a_bad_bus_url(mixed):
    r = subprocess.run([NESTCLOUD, "worker", "--bus", "amqp://guest:guest@127.0.0.1:notaport/",
                        "--name", "bad", "--cloud-id", mixed.cloud_id(),
                        "--state-dir", mixed.state + "-bad", "--sim-hosts", "1"],
                       capture_output=True, text=True, timeout=60)
    shutil.rmtree(mixed.state + "-bad", ignore_errors=True)
    assert r.returncode != 0
    assert "AMQP URL" in r.stderr + r.stdout, r.stderr


def test_real_guest_boots_on_the_qemu_worker(mixed):
    vm = mixed.create_vm("real1", memory_mib=QEMU_VM_MEMORY, max_memory_mib=QEMU_VM_MEMORY)
    assert vm["host"] == "qemu1", vm
    assert mixed.domains().get(vm["id"]) == "running"
    # the guest's serial console, where the QEMU worker keeps it (the
    # central node's console API reads its own instances dir, which the
    # hosts would have to share)
    console = os.path.join(mixed.qemu.state, "instances", vm["id"], "console.log")

    def read():
        try:
            with open(console, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
    wait_for("the guest's seed on its console",
             lambda: "NC-SEED instance-id=" + vm["id"] in read(), timeout=120, interval=0.5)
    assert "hostname=real1" in read()
    mixed.delete_vm("real1")
    assert vm["id"] not in mixed.domains()


def test_small_vms_run_on_simulated_workers(mixed):
    ids = create_many(mixed, "small", 12, **MIXED_SIM_VM)
    wait_for("12 VMs running", lambda: vms_running(mixed, ids), timeout=60)
    on = {v["host"] for v in mixed.get("/v1/vms")["vms"] if v["id"] in ids}
    assert "qemu1" not in on
    wait_sim_exactly_once(mixed.sims, ids)
    delete_all(mixed, ids)
    wait_for("the simulated domains gone", lambda: not set(ids) & set(sim_domains(mixed.sims)),
             timeout=30)


def test_kill9_qemu_worker_mid_creates(mixed):
    """kill -9 the QEMU worker while it works on creates: the broker gives
    its unacknowledged commands to the restarted worker, and every VM ends
    as exactly one running libvirt domain."""
    spec = {"memory_mib": QEMU_VM_MEMORY, "max_memory_mib": QEMU_VM_MEMORY}
    ops = [post_vm(mixed, f"kq-{i}", **spec) for i in range(3)]
    ids = [op["target"]["id"] for op in ops]
    # the worker has taken at least one command (started) but not all are done
    wait_for("a create to start", lambda: any(
        v["state"] in ("building", "running") for v in mixed.get("/v1/vms")["vms"]
        if v["id"] in ids), timeout=60, interval=0.05)
    mixed.qemu.kill9()
    mixed.qemu.start()
    for op in ops:
        assert mixed.wait_op(op, timeout=180)["status"] == "succeeded"
    # libvirt keys domains by UUID (= VM id): one domain per VM, running,
    # and no domain of this cloud that is not a VM of it
    doms = mixed.domains()
    for vm_id in ids:
        assert doms.get(vm_id) == "running", (vm_id, doms)
    assert set(doms) == {v["id"] for v in mixed.get("/v1/vms")["vms"]}, doms
    delete_all(mixed, ids, timeout=180)
    assert not set(ids) & set(mixed.domains())


# ---- the simulated cloud, one worker in its own network namespace ----

NETNS = f"ncaq{os.getpid() % 10000}"
VETH_HOST, VETH_NS = f"{NETNS}h", f"{NETNS}n"
NET_PREFIX = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
HOST_ADDR, NS_ADDR = f"{NET_PREFIX}.1", f"{NET_PREFIX}.2"


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def netns_make():
    _ip("netns", "add", NETNS)
    _ip("link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS)
    _ip("link", "set", VETH_NS, "netns", NETNS)
    _ip("addr", "add", f"{HOST_ADDR}/30", "dev", VETH_HOST)
    _ip("link", "set", VETH_HOST, "up")
    _ip("-n", NETNS, "addr", "add", f"{NS_ADDR}/30", "dev", VETH_NS)
    _ip("-n", NETNS, "link", "set", VETH_NS, "up")
    _ip("-n", NETNS, "link", "set", "lo", "up")


def netns_remove():
    _ip("link", "del", VETH_HOST, check=False)
    _ip("netns", "del", NETNS, check=False)


@pytest.fixture(scope="module")
def sim():
    netns_remove()
    netns_make()
    broker = Broker("amqp-sim", listen=(HOST_ADDR,)).start()
    cloud = Cloud("amqp-sim", command="serve")
    workers = []
    try:
        cloud.start(extra=("--bus", broker.url(), "--host-timeout", "4"))
        # 14 hosts of 64 VMs each (16 vCPUs x 4, 7.5 GiB / 64 MiB)
        big = {"sim_vcpus": 16, "sim_memory": 8192}
        workers = [Worker(cloud, broker.url(), f"sim{k}", sim_hosts=4, **big).start()
                   for k in range(3)]
        workers.append(Worker(cloud, broker.url(HOST_ADDR), "cut", sim_hosts=2, netns=NETNS,
                              **big).start())
        wait_hosts_up(cloud, [n for w in workers for n in w.host_names()], timeout=90)
        cloud.broker, cloud.workers = broker, workers
        yield cloud
    finally:
        for w in workers:
            w.stop()
        cloud.destroy()
        for w in workers:
            shutil.rmtree(w.state, ignore_errors=True)
        broker.destroy()
        netns_remove()


def test_kill9_sim_worker_mid_creates(sim):
    """Commands a killed worker held come back to it after its restart;
    VMs it had made (gone with its in-process test driver) are made again
    by the reconciler: each VM ends running once."""
    w = sim.workers[0]
    ids = create_many(sim, "ks", 40, **SIM_VM)
    w.kill9()
    time.sleep(0.5)
    w.start()
    wait_for("40 VMs running", lambda: vms_running(sim, ids), timeout=120)
    wait_sim_exactly_once(sim.workers, ids)
    delete_all(sim, ids)


def test_count_makes_many_all_or_none(sim):
    """"count": N makes N VMs in one request, named NAME-1..NAME-N.  The
    relay sends each host its commands as one batch message and the
    worker reports their results in one: every VM runs once.  A request
    that does not fit as a whole makes none."""
    status, body = sim.request("POST", "/v1/vms", {"name": "lot", "image": "test", "count": 5000,
                                                   **SIM_VM})
    assert status == 400 and "count" in body["error"]["message"]
    status, body = sim.request("POST", "/v1/vms", {"name": "lot", "image": "test", "count": 1000,
                                                   **SIM_VM})
    # 14 hosts of 64 VMs: 1,000 do not fit, and none is made
    assert status == 422 and "no host can take" in body["error"]["message"], body
    assert not [v for v in sim.get("/v1/vms")["vms"] if v["name"].startswith("lot-")]
    status, body = sim.request("POST", "/v1/vms", {"name": "lot", "image": "test", "count": 150,
                                                   **SIM_VM})
    assert status == 202, body
    ops = body["operations"]
    assert {op["target"]["name"] for op in ops} == {f"lot-{i}" for i in range(1, 151)}
    ids = [op["target"]["id"] for op in ops]
    wait_for("150 VMs running", lambda: vms_running(sim, ids), timeout=120)
    wait_sim_exactly_once(sim.workers, ids)
    assert ops_all_succeeded(sim, ids)
    delete_all(sim, ids)


def test_rabbitmq_restart_with_creates_in_flight(sim):
    """Stop and start the broker while creates flow: nothing is lost (every
    VM runs), nothing is doubled (one domain per VM)."""
    ids = {}
    refused = []
    done = threading.Event()

    def load():
        i = 0
        while not done.is_set() and i < 3000:
            # the API keeps accepting while the broker is away: the command
            # waits in the store's outbox.  Once the hosts' silence passes
            # --host-timeout they count as down, and a create has nowhere
            # to go: 422, accepted nowhere, changed nothing.
            status, body = sim.request("POST", "/v1/vms", {"name": f"rr-{i}", "image": "test",
                                                           **SIM_VM})
            if status == 202:
                ids[body["target"]["id"]] = body["id"]
            else:
                assert status == 422, body
                refused.append(body)
            i += 1
            time.sleep(0.05)

    t = threading.Thread(target=load)
    t.start()
    wait_for("50 creates accepted", lambda: len(ids) >= 50, timeout=60, interval=0.01)
    before = len(ids)
    sim.broker.stop()
    time.sleep(2.0)
    during = len(ids)
    sim.broker.start()
    wait_for("creates after the restart", lambda: len(ids) >= during + 30 or not t.is_alive(),
             timeout=120, interval=0.05)
    print(f"broker restart: {before} creates before, {during - before} while it stopped, "
          f"{len(ids) - during} after, {len(refused)} refused (hosts down)")
    done.set()
    t.join()
    assert during > before, "no create was accepted while the broker was down"
    assert len(ids) > during, "no create was accepted after the broker came back"
    wait_for(f"{len(ids)} VMs running", lambda: vms_running(sim, ids), timeout=180)
    wait_sim_exactly_once(sim.workers, ids, timeout=120)
    assert all(q["messages"] == 0 for n, q in sim.broker.queues().items()
               if n.startswith("dead.")), "a command was dead-lettered"
    delete_all(sim, ids, timeout=180)


def test_kill9_central_with_hundreds_in_flight(sim):
    """kill -9 the central node while creates pour in: after a restart on
    the same store, every create it had accepted (answered 202) completes,
    and each VM runs once."""
    accepted = {}
    lock = threading.Lock()
    stop = threading.Event()

    def run(k):
        for i in range(k, 600, 8):
            if stop.is_set():
                return
            try:
                op = post_vm(sim, f"kc-{i}", **SIM_VM)
            except Exception:   # noqa: BLE001 -- the node died under this request
                return
            with lock:
                accepted[op["target"]["id"]] = op["id"]

    ts = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    wait_for("200 creates accepted", lambda: len(accepted) >= 200, timeout=120, interval=0.01)
    sim.kill9()
    stop.set()
    for t in ts:
        t.join()
    # the store at the moment of death: accepted creates not yet running
    db = sqlite3.connect(os.path.join(sim.state, "nestcloud.db"))
    states = dict(db.execute("SELECT id, state FROM vms").fetchall())
    db.close()
    assert set(accepted) <= set(states)
    unfinished = [i for i in accepted if states[i] != "running"]
    assert unfinished, "every create had finished before the kill; nothing was in flight"

    sim.start(extra=("--bus", sim.broker.url(), "--host-timeout", "4"))
    wait_for(f"{len(accepted)} VMs running", lambda: vms_running(sim, accepted), timeout=240)
    for op_id in accepted.values():
        assert sim.get(f"/v1/operations/{op_id}")["status"] == "succeeded"
    wait_sim_exactly_once(sim.workers, accepted, timeout=120)
    print(f"central killed with {len(unfinished)} of {len(accepted)} accepted creates unfinished")
    delete_all(sim, list(states), timeout=240)


def test_cut_worker_off_and_back(sim):
    """Link down on a worker's namespace: its hosts go down and their VMs
    unknown; link up: hosts up, VMs running again, nothing doubled."""
    cut = sim.workers[-1]
    names = cut.host_names()
    # VMs on the cut worker's hosts: fill them (other hosts take the rest)
    ids = create_many(sim, "cut", 40, **SIM_VM)
    wait_for("40 VMs running", lambda: vms_running(sim, ids), timeout=120)
    vms = {v["id"]: v for v in sim.get("/v1/vms")["vms"] if v["id"] in ids}
    on_cut = [i for i, v in vms.items() if v["host"] in names]
    assert on_cut, "no VM landed on the cut worker's hosts"

    _ip("link", "set", VETH_HOST, "down")
    try:
        wait_hosts_state = lambda s: all(hosts_by_name(sim)[n]["state"] == s for n in names)
        wait_for("the cut hosts down", lambda: wait_hosts_state("down"), timeout=60)
        states = {v["id"]: v["state"] for v in sim.get("/v1/vms")["vms"]}
        assert all(states[i] == "unknown" for i in on_cut), [states[i] for i in on_cut]
        # the other hosts still take work
        more = create_many(sim, "during", 4, **SIM_VM)
        wait_for("VMs made during the cut", lambda: vms_running(sim, more), timeout=60)
        assert not {v["host"] for v in sim.get("/v1/vms")["vms"] if v["id"] in more} & set(names)
    finally:
        _ip("link", "set", VETH_HOST, "up")
    wait_hosts_up(sim, names, timeout=120)
    wait_for("the cut VMs running again", lambda: vms_running(sim, on_cut), timeout=120)
    wait_sim_exactly_once(sim.workers, list(ids) + list(more))
    delete_all(sim, list(ids) + list(more))


def test_removing_a_host_deletes_its_queues(sim):
    """DELETE /v1/hosts/{id} of a host that is gone also deletes its command
    queue and its dead letters' queue from RabbitMQ; a worker that comes
    back as that host declares them again."""
    gone = Worker(sim, sim.broker.url(), "gone", sim_hosts=1).start()
    try:
        (name,) = gone.host_names()
        wait_hosts_up(sim, [name])
        # keep the other tests' VMs off it, should they run after this one
        sim.call("PATCH", f"/v1/hosts/{name}", {"enabled": False})
        host_id = hosts_by_name(sim)[name]["id"]
        queues = sim.broker.queues()
        assert f"host.{host_id}" in queues and f"dead.host.{host_id}" in queues

        gone.kill9()
        wait_for("host gone down", lambda: hosts_by_name(sim)[name]["state"] == "down", 30)
        sim.call("DELETE", f"/v1/hosts/{name}")
        assert name not in hosts_by_name(sim)
        queues = sim.broker.queues()
        assert f"host.{host_id}" not in queues and f"dead.host.{host_id}" not in queues, \
            sorted(q for q in queues if host_id in q)
        assert "central" in queues and len([q for q in queues if q.startswith("host.")]) == 14

        gone.start()
        wait_hosts_up(sim, [name])
        queues = sim.broker.queues()
        assert f"host.{host_id}" in queues and f"dead.host.{host_id}" in queues
        sim.call("PATCH", f"/v1/hosts/{name}", {"enabled": False})
    finally:
        gone.stop()
        shutil.rmtree(gone.state, ignore_errors=True)
