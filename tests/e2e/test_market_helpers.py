"""Helpers for the market's end-to-end and browser tests (no tests here).

A Market is a real `nestcloud market` daemon with its own state directory;
a MarketUser talks to it as a browser would (session cookie and CSRF token)
or as a script would (an API token).  Backends are real `nestcloud up`
daemons from conftest.Cloud.
"""
import http.cookiejar
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from conftest import NESTCLOUD, STATE_ROOT, Cloud, free_port, wait_for

# A valid IBAN (the ISO 13616 example) and a second one for other providers
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN2 = "GB82 WEST 1234 5698 7654 32"


class Market:
    def __init__(self, name, clearing=1, notice=120, probe=1, extra=()):
        self.name = name
        self.state = os.path.join(STATE_ROOT, f"market-{name}-{uuid.uuid4().hex[:8]}")
        os.makedirs(self.state, mode=0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.state, "market.log")
        self.args = ["--clearing-interval", str(clearing), "--notice", str(notice),
                     "--probe-interval", str(probe), "--sync-interval", "2", *extra]
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [NESTCLOUD, "market", "--state-dir", self.state, "--listen",
             f"127.0.0.1:{self.port}", *self.args], stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"market exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/market/v1/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for("the market", up, timeout=30, interval=0.1)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self):
        self.stop()
        if not os.environ.get("NESTCLOUD_TEST_KEEP"):
            shutil.rmtree(self.state, ignore_errors=True)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def anon(self):
        return MarketUser(self, None)


class MarketError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class MarketUser:
    """A browser-like client: cookies, and the CSRF token of its session."""

    def __init__(self, market, email, token=None):
        self.market = market
        self.email = email
        self.token = token
        self.csrf = None
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.user = None

    def request(self, method, path, body=None, raw=None, headers=None, csrf=True,
                content_type="application/json"):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        if raw is not None:
            data = raw
        if data is not None and content_type:
            hdrs.setdefault("Content-Type", content_type)
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            hdrs.setdefault("X-CSRF-Token", self.csrf)
        req = urllib.request.Request(self.market.url + path, data=data, method=method,
                                     headers=hdrs)
        try:
            with self.opener.open(req, timeout=60) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text.strip()[:1] in ("{", "[") else text)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def call(self, method, path, body=None, expect=(200, 201, 202), **kw):
        status, out = self.request(method, path, body, **kw)
        if status not in expect:
            raise MarketError(status, out)
        return out

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    # ---- accounts ----
    def register(self, name=None, password="correct horse battery"):
        out = self.call("POST", "/market/v1/users",
                        {"email": self.email, "password": password,
                         "name": name or self.email.split("@")[0]}, expect=(201,))
        self.csrf = out["csrf_token"]
        self.user = out["user"]
        return self

    def login(self, password="correct horse battery"):
        out = self.call("POST", "/market/v1/session", {"email": self.email, "password": password})
        self.csrf = out["csrf_token"]
        self.user = out["user"]
        return out

    def become_provider(self, company="Example Cloud GmbH", iban=IBAN):
        out = self.call("POST", "/market/v1/me/provider",
                        {"company": company, "tax_number": "DE123456789", "iban": iban,
                         "address": "Nöthnitzer Str. 46\n01187 Dresden"})
        self.user = out["user"]
        return out

    def api_token(self, name="script"):
        return self.call("POST", "/market/v1/tokens", {"name": name}, expect=(201,))["token"]

    # ---- provider ----
    def add_backend(self, cloud, name="backend", **extra):
        return self.call("POST", "/market/v1/backends",
                         {"name": name, "url": cloud.url, "token": cloud.token, **extra},
                         expect=(201,))

    def add_offer(self, backend_id, **spec):
        body = {"backend": backend_id, "kind": "compute", "name": "small vm",
                "description": "1 vCPU, 128 MiB", "vcpus": 1, "memory_mib": 128,
                "slots": 2, "reserve_price": 0.01, "pricing": "spot", **spec}
        return self.call("POST", "/market/v1/offers", body, expect=(201,))

    def add_storage_offer(self, backend_id, **spec):
        body = {"backend": backend_id, "kind": "storage", "name": "volumes",
                "description": "1 GiB volumes", "storage_gib": 1, "slots": 2,
                "reserve_price": 0.01, "pricing": "spot", **spec}
        return self.call("POST", "/market/v1/offers", body, expect=(201,))

    # ---- consumer ----
    def bid(self, offer_id, max_price, **extra):
        return self.call("POST", "/market/v1/contracts",
                         {"offer": offer_id, "max_price": max_price, **extra}, expect=(201,))

    def contract(self, cid):
        return self.get(f"/market/v1/contracts/{cid}")

    def wait_contract(self, cid, state, timeout=60):
        return wait_for(f"contract {cid} to be {state}",
                        lambda: (c := self.contract(cid))["state"] == state and c,
                        timeout=timeout, interval=0.25)

    def wait_allocation(self, aid, pred, what, timeout=120):
        return wait_for(f"allocation {aid}: {what}",
                        lambda: (a := self.get(f"/market/v1/allocations/{aid}")) and pred(a) and a,
                        timeout=timeout, interval=0.5)

    def action(self, aid, action):
        return self.call("POST", f"/market/v1/allocations/{aid}/actions", {"action": action},
                         expect=(202,))


def backend_cloud(name):
    """A `nestcloud up` backend without its own market (the test runs one)."""
    c = Cloud(name)
    c.start(extra=("--heartbeat", "1000", "--no-market"))
    return c


def events(market, path, count, timeout=30, headers=None):
    """Reads up to @count SSE events from @path; returns them as dicts."""
    req = urllib.request.Request(market.url + path, headers=headers or {})
    out = []
    deadline = time.monotonic() + timeout
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event = {}
        while len(out) < count and time.monotonic() < deadline:
            line = r.readline().decode()
            if not line:
                break
            line = line.rstrip("\n")
            if not line:
                if "data" in event:
                    out.append(event)
                event = {}
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("id: "):
                event["id"] = int(line[4:])
    return out
