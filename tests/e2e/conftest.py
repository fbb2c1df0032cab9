"""End-to-end fixtures: real `nestcloud up` daemons on real libvirt/QEMU.

Each Cloud is a daemon with its own state directory and port.  Tests talk
to it through the HTTP API and the CLI, and check effects where they
happen: in libvirt (virsh) and inside the guest (its serial console).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("NESTCLOUD_BUILD", os.path.join(TOP, "build"))
NESTCLOUD = os.path.join(BUILD, "src", "nestcloud")
IMAGES = os.path.join(BUILD, "images")
# QEMU runs as libvirt-qemu and must reach VM files: not under a 0700 /tmp dir
STATE_ROOT = os.environ.get("NESTCLOUD_TEST_ROOT", "/var/tmp/nestcloud-tests")
LIBVIRT = "qemu:///system"


def listening(port):
    """Whether something accepts connections on 127.0.0.1:PORT."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-c", LIBVIRT, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def wait_for(what, fn, timeout=60, interval=0.25):
    """Polls fn() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Cloud:
    def __init__(self, name, command="up"):
        self.name = name
        self.command = command
        self.state = os.path.join(STATE_ROOT, f"{name}-{uuid.uuid4().hex[:8]}")
        os.makedirs(self.state, mode=0o755)
        os.chmod(STATE_ROOT, 0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.state, "daemon.log")
        self.proc = None
        self.token = None

    # ---- daemon ----
    def start(self, env=None, wait=True, extra=()):
        e = dict(os.environ)
        e.pop("NESTCLOUD_FAULT", None)
        if env:
            e.update(env)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [NESTCLOUD, self.command, "--state-dir", self.state,
             "--listen", f"127.0.0.1:{self.port}",
             *(extra or (("--heartbeat", "1000") if self.command == "up" else ()))],
            stdout=log, stderr=subprocess.STDOUT, env=e)
        log.close()
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for("the API", ok, timeout=timeout, interval=0.1)
        with open(os.path.join(self.state, "admin.token")) as f:
            self.token = f.read().strip()
        if self.command == "up":
            # the worker's first heartbeat registers the host
            wait_for("the host to register", lambda: self.get("/v1/hosts")["hosts"], timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def wait_exit(self, timeout=60):
        self.proc.wait(timeout=timeout)
        code = self.proc.returncode
        self.proc = None
        return code

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def cloud_id(self):
        return self.get("/v1/status")["cloud_id"]

    def destroy(self):
        self.stop()
        if os.environ.get("NESTCLOUD_TEST_KEEP"):
            return   # for post-mortems: state and domains stay
        subprocess.run([NESTCLOUD, "purge", "--state-dir", self.state], capture_output=True)
        shutil.rmtree(self.state, ignore_errors=True)

    # ---- API ----
    def request(self, method, path, body=None, token="admin", raw=None, headers=None):
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if raw is not None:
            data = raw
        tok = self.token if token == "admin" else token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def call(self, method, path, body=None, expect=(200, 201, 202), **kw):
        status, out = self.request(method, path, body, **kw)
        if status not in expect:
            raise ApiError(status, out)
        return out

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def wait_op(self, op, timeout=120):
        def done():
            cur = self.get(f"/v1/operations/{op['id']}")
            return cur if cur["status"] in ("succeeded", "failed") else None
        return wait_for(f"operation {op['kind']}", done, timeout=timeout)

    def create_vm(self, name, wait=True, **spec):
        body = {"name": name, "image": "test", **spec}
        op = self.call("POST", "/v1/vms", body, expect=(202,))
        if wait:
            done = self.wait_op(op)
            assert done["status"] == "succeeded", done
        return self.get(f"/v1/vms/{op['target']['id']}")

    def vm(self, key):
        return self.get(f"/v1/vms/{key}")

    def action(self, key, action, wait=True, **extra):
        op = self.call("POST", f"/v1/vms/{key}/actions", {"action": action, **extra}, expect=(202,))
        if wait:
            done = self.wait_op(op)
            assert done["status"] == "succeeded", done
            return done
        return op

    def delete_vm(self, key, wait=True):
        op = self.call("DELETE", f"/v1/vms/{key}", expect=(202,))
        if wait:
            done = self.wait_op(op)
            assert done["status"] == "succeeded", done
        return op

    def console(self, key):
        return self.get(f"/v1/vms/{key}/console?tail=1048576")["console"]

    def wait_console(self, key, text, timeout=90, after=0):
        return wait_for(f"'{text}' on the console of {key}",
                        lambda: text in self.console(key)[after:], timeout=timeout, interval=0.5)

    def last_stats(self, key):
        """The newest NC-STATS line the guest printed, as a dict."""
        lines = [l for l in self.console(key).splitlines() if l.startswith("NC-STATS")]
        if not lines:
            return None
        return dict(kv.split("=", 1) for kv in lines[-1].split()[1:])

    # ---- CLI ----
    def cli(self, *args, check=True, env=None):
        e = dict(os.environ)
        e.pop("NESTCLOUD_URL", None)
        e.pop("NESTCLOUD_TOKEN", None)
        if env:
            e.update(env)
        r = subprocess.run([NESTCLOUD, *args, "--state-dir", self.state], capture_output=True,
                           text=True, env=e, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"nestcloud {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    # ---- libvirt ----
    def domains(self):
        """{uuid: state} of every libvirt domain of this cloud."""
        cid = self.cloud_id_cached()
        out = {}
        for name in virsh("list", "--all", "--name").split():
            meta = virsh("metadata", name, "https://nestcloud.dev/xmlns/domain/1", check=False)
            if f'cloud="{cid}"' in meta or f"cloud='{cid}'" in meta:
                dom_uuid = virsh("domuuid", name).strip()
                out[dom_uuid] = virsh("domstate", name).strip()
        return out

    def cloud_short(self):
        """The eight hex digits of the cloud id in its libvirt names (nc_uuid_short):
        the last eight of a version 7 id, the first eight of an older one."""
        cid = self.cloud_id_cached()
        return cid[-8:] if cid[14] == "7" else cid[:8]

    def cloud_id_cached(self):
        if not hasattr(self, "_cid"):
            self._cid = self.cloud_id()
        return self._cid


class SimWorker:
    """`nestcloud worker --sim-hosts N` sharing a cloud's store (local bus)."""

    def __init__(self, cloud, hosts, name="sim", vcpus=2, memory_mib=8192, extra=()):
        self.cloud = cloud
        self.state = cloud.state + "-" + name
        os.makedirs(self.state, exist_ok=True)
        self.args = [NESTCLOUD, "worker", "--sim-hosts", str(hosts), "--name", name,
                     "--sim-vcpus", str(vcpus), "--sim-memory", str(memory_mib),
                     "--store", os.path.join(cloud.state, "nestcloud.db"),
                     "--image-dir", os.path.join(cloud.state, "images"),
                     "--state-dir", self.state, "--heartbeat", "1000", *extra]
        self.log_path = os.path.join(cloud.state, name + "-worker.log")
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
        shutil.rmtree(self.state, ignore_errors=True)


class QemuWorker(SimWorker):
    """`nestcloud worker` on this machine's libvirt (qemu:///system), sharing
    a cloud's store (local bus).  Several of them share one libvirt."""

    def __init__(self, cloud, name, extra=()):
        super().__init__(cloud, 0, name=name)
        self.args = [NESTCLOUD, "worker", "--name", name, "--lanes", "2",
                     "--store", os.path.join(cloud.state, "nestcloud.db"),
                     "--image-dir", os.path.join(cloud.state, "images"),
                     "--state-dir", self.state, "--heartbeat", "1000", *extra]

    def stop(self):
        super().stop()
        purge_worker(self.cloud, self.state)


def purge_worker(cloud, state):
    """`nestcloud purge` for a QEMU worker with its own state dir: the
    cloud's domains, and the storage pools the worker made over its
    directories (the cloud's own purge knows only the cloud's)."""
    if os.environ.get("NESTCLOUD_TEST_KEEP"):
        return
    subprocess.run([NESTCLOUD, "purge", "--store", os.path.join(cloud.state, "nestcloud.db"),
                    "--state-dir", state, "--image-dir", os.path.join(cloud.state, "images")],
                   capture_output=True)


@pytest.fixture(scope="module")
def cloud(request):
    c = Cloud(request.module.__name__.split(".")[-1].replace("_", "-"))
    c.start()
    yield c
    c.destroy()


@pytest.fixture
def fresh_cloud(request):
    c = Cloud(request.node.name[:20].replace("_", "-").replace("[", "-").replace("]", ""))
    yield c
    c.destroy()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running tests (make check-slow)")
