#!/usr/bin/python3
"""L1 and L2 of the nesting experiment through nestcloud itself (run.sh).

    levels.py up    --state DIR --nestcloud BIN          L0: `nestcloud up`
    levels.py l1    --state DIR --app DIR --port P --out DIR
    levels.py l2    --state DIR --app DIR --nested DIR --port P --out DIR
    levels.py vm-down --state DIR NAME                   delete a VM of L0
    levels.py down  --state DIR --nestcloud BIN          stop L0, purge it

L1 is the application VM (bench/nesting/vm/build.sh) launched by the L0
nestcloud; `vm expose` forwards host port P to its port 8080.  L2 is the
same application VM launched by the nestcloud inside the Nested Cloud VM
(images/nested/build.sh --extra-image APP_DIR), which L0 launches; L2's
port is exposed at L1, and L1 asks L0 to forward the same port P, so P on
this host reaches L2.  `l1` and `l2` wait until the application answers,
then print its URL and write OUT/LEVEL.cloud.json (accelerator, boot time).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

APP_VM = {"vcpus": 1, "memory_mib": 256}      # the same at L1 and L2
NESTED_VM = {"vcpus": 2, "max_vcpus": 2, "memory_mib": 1536}


def log(msg):
    print(f"levels.py: {msg}", file=sys.stderr, flush=True)


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None, expect=(200, 201, 202), timeout=120):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        # Reads are retried: under TCG inside TCG the relay to L1's API
        # resets a connection now and then.  Writes are not (no duplicates).
        for attempt in range(10 if method == "GET" else 1):
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    status, text = r.status, r.read().decode()
                break
            except urllib.error.HTTPError as e:
                status, text = e.code, e.read().decode()
                break
            except OSError as e:
                if method != "GET" or attempt == 9:
                    raise
                log(f"{method} {path}: {e}; retrying")
                time.sleep(3)
        if status not in expect:
            raise SystemExit(f"levels.py: {method} {self.url}{path}: {status} {text}")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def wait_op(self, op, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            cur = self.call("GET", f"/v1/operations/{op['id']}")
            if cur["status"] in ("succeeded", "failed"):
                if cur["status"] == "failed":
                    raise SystemExit(f"levels.py: operation {op['kind']} failed: {cur}")
                return cur
            time.sleep(1)
        raise SystemExit(f"levels.py: operation {op['kind']} not done in {timeout} s")

    def console(self, vm):
        try:
            return self.call("GET", f"/v1/vms/{vm}/console?tail=1048576")["console"]
        except (SystemExit, OSError):
            return ""

    def create_vm(self, body, timeout=600):
        # A fresh image can be refused for a while: the scheduler passes
        # over a host whose latest image report lacks the image's file, and
        # under TCG a report taken before the import can arrive after it.
        t0 = time.monotonic()
        while True:
            op = self.call("POST", "/v1/vms", body, expect=(202, 422))
            if "id" in op or time.monotonic() - t0 > 180:
                break
            log(f"create {body['name']} refused, retrying: {op}")
            time.sleep(5)
        if "id" not in op:
            raise SystemExit(f"levels.py: cannot create {body['name']}: {op}")
        self.wait_op(op, timeout)
        return self.call("GET", f"/v1/vms/{op['target']['id']}")

    def expose(self, vm, guest_port, host_port, timeout=300):
        op = self.call("POST", f"/v1/vms/{vm}/ports",
                       {"guest_port": guest_port, "host_port": host_port}, expect=(202,))
        self.wait_op(op, timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def conf_path(state):
    return os.path.join(state, "bench-levels.json")


def load_conf(state):
    with open(conf_path(state)) as f:
        return json.load(f)


def save_conf(state, conf):
    with open(conf_path(state), "w") as f:
        json.dump(conf, f, indent=1)


def l0_api(state):
    c = load_conf(state)
    return Api(f"http://127.0.0.1:{c['port']}", c["token"]), c


def import_app(api, pool, app, level, prefix):
    """Places the application VM's files in @pool and registers them as
    image bench-app at @api; nc_level=@level goes on its command line."""
    api.call("DELETE", "/v1/images/bench-app", expect=(200, 202, 204, 404))
    names = {}
    for f in ("app.qcow2", "app-vmlinuz", "app-initrd.img"):
        dst = f"{prefix}{f}"
        if pool:
            subprocess.run(["cp", os.path.join(app, f), os.path.join(pool, dst)], check=True)
        names[f] = dst
    with open(os.path.join(app, "app.cmdline")) as f:
        cmdline = f.read().strip() + f" nc_level={level}"
    api.call("POST", "/v1/images", {
        "name": "bench-app", "path": names["app.qcow2"], "kernel": names["app-vmlinuz"],
        "initrd": names["app-initrd.img"], "cmdline": cmdline})
    return cmdline


def wait_serving(url, timeout, what, progress=None):
    t0 = time.monotonic()
    last = t0
    while not answers(url):
        if time.monotonic() - t0 > timeout:
            return None
        if progress and time.monotonic() - last > 60:
            last = time.monotonic()
            progress(time.monotonic() - t0)
        time.sleep(5)
    return time.monotonic() - t0


def cmd_up(a):
    os.makedirs(a.state, exist_ok=True)
    port = free_port()
    logf = open(os.path.join(a.state, "daemon.log"), "a")
    # 0.0.0.0: the Nested Cloud VM reaches L0's API as its parent_url
    p = subprocess.Popen([a.nestcloud, "up", "--state-dir", a.state, "--listen",
                          f"0.0.0.0:{port}", "--heartbeat", "1000"],
                         stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    while not answers(f"http://127.0.0.1:{port}/v1/health", 2):
        if p.poll() is not None or time.monotonic() - t0 > 60:
            raise SystemExit(f"levels.py: nestcloud up did not start (log: {a.state}/daemon.log)")
        time.sleep(0.2)
    with open(os.path.join(a.state, "admin.token")) as f:
        token = f.read().strip()
    save_conf(a.state, {"port": port, "token": token, "pid": p.pid})
    api = Api(f"http://127.0.0.1:{port}", token)
    while not any(h.get("state") == "up" for h in api.call("GET", "/v1/hosts")["hosts"]):
        if time.monotonic() - t0 > 90:
            raise SystemExit("levels.py: L0's host did not register")
        time.sleep(0.5)
    st = api.call("GET", "/v1/status")
    log(f"L0 nestcloud on port {port}, accelerator {st.get('accelerator')}")
    print(st.get("accelerator", "?"))


def cmd_l1(a):
    api, conf = l0_api(a.state)
    pool = os.path.join(a.state, "images")
    os.makedirs(pool, exist_ok=True)
    t0 = time.monotonic()
    cmdline = import_app(api, pool, a.app, "L1", "import-")
    api.create_vm({"name": "bench-l1", "image": "bench-app", **APP_VM})
    api.expose("bench-l1", 8080, a.port)
    url = f"http://127.0.0.1:{a.port}"
    took = wait_serving(url + "/health", a.timeout, "L1")
    with open(os.path.join(a.out, "L1-console.log"), "w") as f:
        f.write(api.console("bench-l1"))
    accel = api.call("GET", "/v1/status").get("accelerator", "?")
    json.dump({"accelerator": accel, "boot_s": took, "cmdline": cmdline, **APP_VM},
              open(os.path.join(a.out, "L1.cloud.json"), "w"))
    if took is None:
        raise SystemExit(f"levels.py: L1 did not serve within {a.timeout} s")
    log(f"L1 serving {took:.0f} s after the image import ({accel})")
    print(url + "/offers")


def gateway(api):
    host = api.call("GET", "/v1/hosts")["hosts"][0]
    subnet = host.get("info", {}).get("subnet")
    if not subnet:
        raise SystemExit(f"levels.py: L0 has no NAT network ({host.get('info')})")
    return subnet.split("/")[0].rsplit(".", 1)[0] + ".1"


def cmd_l2(a):
    api, conf = l0_api(a.state)
    pool = os.path.join(a.state, "images")
    os.makedirs(pool, exist_ok=True)
    t0 = time.monotonic()
    for f in ("nested.qcow2", "nested-vmlinuz", "nested-initrd.img"):
        subprocess.run(["cp", os.path.join(a.nested, f), os.path.join(pool, "import-" + f)],
                       check=True)
    with open(os.path.join(a.nested, "nested.cmdline")) as f:
        ncmd = f.read().strip()
    api.call("DELETE", "/v1/images/nested", expect=(200, 202, 204, 404))
    api.call("POST", "/v1/images", {
        "name": "nested", "path": "import-nested.qcow2", "kernel": "import-nested-vmlinuz",
        "initrd": "import-nested-initrd.img", "cmdline": ncmd})
    token = "nc_" + uuid.uuid4().hex
    parent = f"http://{gateway(api)}:{conf['port']}"
    user_data = ("#cloud-config\nnestcloud:\n  listen: 0.0.0.0:7400\n"
                 f"  admin_token: {token}\n  parent_url: {parent}\n"
                 f"  parent_token: {conf['token']}\n  backend: bench-l1\n  depth: 1\n")
    api.create_vm({"name": "bench-nest", "image": "nested", "user_data": user_data, **NESTED_VM})
    console_out = os.path.join(a.out, "L2-l1-console.log")
    deadline = t0 + a.timeout
    while "NC-NESTED api-ready" not in api.console("bench-nest"):
        if time.monotonic() > deadline:
            open(console_out, "w").write(api.console("bench-nest"))
            raise SystemExit(f"levels.py: the Nested Cloud VM was not ready in {a.timeout} s")
        time.sleep(2)
    l1_boot = time.monotonic() - t0
    log(f"Nested Cloud VM (L1) API ready {l1_boot:.0f} s after its create request")
    api_port = free_port()
    api.expose("bench-nest", 7400, api_port)
    l1 = Api(f"http://127.0.0.1:{api_port}", token)
    conf.update(l1_port=api_port, l1_token=token)   # for post-mortems
    save_conf(a.state, conf)
    while not answers(l1.url + "/v1/health", 5) or not any(
            h.get("state") == "up" for h in l1.call("GET", "/v1/hosts")["hosts"]):
        if time.monotonic() > deadline:
            raise SystemExit("levels.py: L1's API did not answer through L0's port")
        time.sleep(2)
    accel = l1.call("GET", "/v1/status").get("accelerator", "?")
    # the application VM's files are in L1's pool already (--extra-image)
    cmdline = import_app(l1, None, a.app, "L2", "")
    t2 = time.monotonic()
    l1.create_vm({"name": "bench-l2", "image": "bench-app", **APP_VM}, timeout=900)
    l1.expose("bench-l2", 8080, a.port)
    url = f"http://127.0.0.1:{a.port}"

    def progress(s):
        lines = [l for l in l1.console("bench-l2").splitlines() if l.strip()]
        log(f"L2 not serving yet, {s:.0f} s; console: {lines[-1][-100:] if lines else '-'}; "
            f"load {os.getloadavg()[0]:.1f}")
    took = wait_serving(url + "/health", max(60, deadline - time.monotonic()), "L2", progress)
    open(console_out, "w").write(api.console("bench-nest"))
    with open(os.path.join(a.out, "L2-console.log"), "w") as f:
        f.write(l1.console("bench-l2"))
    info = {"accelerator": accel, "l0_accelerator": api.call("GET", "/v1/status").get(
        "accelerator", "?"), "l1_boot_s": l1_boot, "l2_boot_s": took, "cmdline": cmdline,
        "nested_vm": NESTED_VM, **APP_VM}
    json.dump(info, open(os.path.join(a.out, "L2.cloud.json"), "w"))
    if took is None:
        raise SystemExit(f"levels.py: L2 did not serve within {a.timeout} s")
    log(f"L2 serving {time.monotonic() - t2:.0f} s after its create request at L1 ({accel})")
    print(url + "/offers")


def cmd_vm_down(a):
    api, _ = l0_api(a.state)
    op = api.call("DELETE", f"/v1/vms/{a.name}", expect=(202, 404))
    if isinstance(op, dict) and "id" in op:
        api.wait_op(op, 120)


def undefine_pools(state, cloud_id):
    """Removes the libvirt storage pools of the cloud @cloud_id, which
    `nestcloud purge` leaves defined, when they point into @state."""
    for kind in ("images", "volumes"):
        name = f"nc-{cloud_id[:8]}-{kind}"
        xml = subprocess.run(["virsh", "-c", "qemu:///system", "pool-dumpxml", name],
                             capture_output=True, text=True).stdout
        if f"<path>{os.path.realpath(state)}/" not in xml:
            continue
        for verb in ("pool-destroy", "pool-undefine"):
            subprocess.run(["virsh", "-c", "qemu:///system", verb, name], capture_output=True)


def cmd_down(a):
    try:
        conf = load_conf(a.state)
    except OSError:
        return
    cloud_id = None
    try:
        cloud_id = Api(f"http://127.0.0.1:{conf['port']}", conf["token"]).call(
            "GET", "/v1/status", timeout=10).get("cloud_id")
    except (OSError, SystemExit, AttributeError):
        pass
    try:
        os.kill(conf["pid"], signal.SIGTERM)
        for _ in range(300):
            os.kill(conf["pid"], 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    subprocess.run([a.nestcloud, "purge", "--state-dir", a.state], capture_output=True)
    if cloud_id:
        undefine_pools(a.state, cloud_id)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("up", "l1", "l2", "vm-down", "down"):
        p = sub.add_parser(name)
        p.add_argument("--state", required=True)
        if name in ("up", "down"):
            p.add_argument("--nestcloud", required=True)
        if name in ("l1", "l2"):
            p.add_argument("--app", required=True)
            p.add_argument("--port", type=int, required=True)
            p.add_argument("--out", required=True)
            p.add_argument("--timeout", type=int, default=900)
        if name == "l2":
            p.add_argument("--nested", required=True)
        if name == "vm-down":
            p.add_argument("name")
    a = ap.parse_args()
    {"up": cmd_up, "l1": cmd_l1, "l2": cmd_l2, "vm-down": cmd_vm_down, "down": cmd_down}[a.cmd](a)


if __name__ == "__main__":
    main()
