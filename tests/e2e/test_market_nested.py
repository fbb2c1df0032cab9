"""Resale on the real Nested Cloud image (slow tier: make check-slow).

The paper's resale, walked for real on this machine:

  L0  `nestcloud up` here, provider A's backend at the market, with the
      Nested Cloud image imported.  A offers a compute slot big enough for it.
  L1  consumer B buys that slot through the market: the allocation on L0 boots
      the Nested Cloud image with B's seed (its admin token), and the market
      forwards an L0 port to L1's API.  B never sees L0's token.
      B becomes a provider and registers L1 (through that port) as a backend
      resold from the allocation: depth 1, upstream provider A.
  L2  consumer C buys a slice of L1 from B: the VM runs inside L1 (L1's own
      API says so), and L0's libvirt holds only L1.  C never sees L1's token.

Ending the contracts takes everything away: nothing is left on L0.
L2 runs under TCG inside TCG; "running" in L1's libvirt is what is waited
for, not its boot (that takes 10+ minutes on this machine).
"""
import json
import os
import shutil
import time
import urllib.request
import uuid

import pytest

from conftest import Cloud, free_port, listening, virsh, wait_for
from test_market_helpers import IBAN, IBAN2, Market, MarketUser

pytestmark = pytest.mark.slow

IMAGE = os.environ.get("NESTCLOUD_NESTED_IMAGE", "/var/tmp/nestcloud-nested/nested.qcow2")
IMAGE_DIR = os.path.dirname(IMAGE)


class Remote(Cloud):
    """A cloud reached over HTTP only (L1, through L0's forwarded port)."""

    def __init__(self, name, url, token):
        self.name = name
        self.url = url
        self.token = token
        self.proc = None


class Seen(MarketUser):
    """A market user that keeps every answer it got, to check later that no
    backend token ever reached it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen = []

    def request(self, *a, **kw):
        status, out = super().request(*a, **kw)
        self.seen.append(out if isinstance(out, str) else json.dumps(out))
        return status, out

    def saw(self, secret):
        return any(secret in text for text in self.seen)


def health(url):
    try:
        with urllib.request.urlopen(url + "/v1/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def l0():
    if not os.path.exists(IMAGE):
        pytest.fail(f"no Nested Cloud image at {IMAGE}: run `make nested-image` "
                    "(or set NESTCLOUD_NESTED_IMAGE)")
    c = Cloud("mktn-l0")
    c.start(extra=("--heartbeat", "1000", "--no-market"))
    # provider A's own preparation: the Nested Cloud image in L0's pool
    pool = os.path.join(c.state, "images")
    os.makedirs(pool, exist_ok=True)
    for f in ("nested-vmlinuz", "nested-initrd.img"):
        shutil.copy(os.path.join(IMAGE_DIR, f), os.path.join(pool, "import-" + f))
    shutil.copy(IMAGE, os.path.join(pool, "import-nested.qcow2"))
    with open(os.path.join(IMAGE_DIR, "nested.cmdline")) as f:
        cmdline = f.read().strip()
    c.call("POST", "/v1/images", {
        "name": "nested", "path": "import-nested.qcow2", "kernel": "import-nested-vmlinuz",
        "initrd": "import-nested-initrd.img", "cmdline": cmdline, "public": True},
        expect=(200, 201))
    yield c
    cid = c.cloud_id_cached()
    c.destroy()
    left = [n for n in virsh("list", "--all", "--name").split()
            if cid in virsh("metadata", n, "https://nestcloud.dev/xmlns/domain/1", check=False)]
    assert left == [], f"domains left behind on L0: {left}"


@pytest.fixture(scope="module")
def market():
    # probes every 5 s: L1 answers them under TCG on a shared machine
    m = Market("nested", clearing=1, notice=120, probe=5).start()
    yield m
    m.destroy()


def test_resale_on_the_nested_cloud_image(market, l0):
    anon = market.anon()

    # ---- L0: provider A offers a slot big enough for the Nested Cloud image
    a = Seen(market, "a-nested@example.com").register(name="Anna Upstream")
    a.become_provider(company="Upstream Iron AG", iban=IBAN)
    ab = a.add_backend(l0, name="l0-here")
    assert ab["depth"] == 0
    big = a.add_offer(ab["id"], name="nested cloud vm", description="2 vCPUs, 1.5 GiB",
                      vcpus=2, memory_mib=1536, image="nested", ports=1, slots=1,
                      reserve_price=0.10)
    assert big["image"] == "nested" and big["ports"] == 1

    # ---- B buys it, through the market only, with the Nested Cloud's seed
    b = Seen(market, "b-nested@example.com").register(name="Bea Reseller")
    l1_token = "nc_" + uuid.uuid4().hex          # B's own choice, in B's seed
    user_data = ("#cloud-config\n"
                 "nestcloud:\n"
                 "  listen: 0.0.0.0:7400\n"
                 f"  admin_token: {l1_token}\n"
                 f"  market_url: {market.url}\n"
                 "  backend: l1-resold\n"
                 "  depth: 1\n")
    bc = b.bid(big["id"], 0.50, config={"start": True, "user_data": user_data})
    bc = b.wait_contract(bc["id"], "active", timeout=60)
    t0 = time.monotonic()
    balloc = b.wait_allocation(bc["allocation"]["id"], lambda x: x["state"] == "running",
                               "L1 to run on L0", timeout=300)
    assert balloc["vcpus"] == 2 and balloc["memory_mib"] == 1536
    l1_vm = next(v for v in l0.get("/v1/vms")["vms"] if v["name"] == balloc["name"])
    assert l1_vm["image"] in ("nested", l0.get("/v1/images/nested")["id"])

    # B follows L1's boot on its console, through the market
    def api_ready():
        text = b.get(f"/market/v1/allocations/{balloc['id']}/console")["console"]
        return "NC-NESTED api-ready" in text or None
    try:
        wait_for("L1's API inside the allocation", api_ready, timeout=600, interval=5)
    except AssertionError:
        print(b.get(f"/market/v1/allocations/{balloc['id']}/console")["console"][-3000:])
        raise
    print(f"\nL1 API ready {time.monotonic() - t0:.0f} s after the allocation ran")

    # ... and exposes L1's API through L0, through the market
    port = free_port()
    out = b.call("POST", f"/market/v1/allocations/{balloc['id']}/ports",
                 {"guest_port": 7400, "host_port": port}, expect=(202,))
    assert out["port"]["host_port"] == port and out["port"]["guest_port"] == 7400
    assert out["port"]["host"] == "127.0.0.1"
    # the offer allows one forward: a second is refused, and not made
    status, err = b.request("POST", f"/market/v1/allocations/{balloc['id']}/ports",
                            {"guest_port": 22, "host_port": free_port()})
    assert status == 403 and err["error"]["code"] == "quota_exceeded", err
    wait_for("the forward to be active", lambda: [
        p for p in b.get(f"/market/v1/allocations/{balloc['id']}/ports")["ports"]
        if p["host_port"] == port and p["state"] == "active"], timeout=60)
    assert len(l0.get(f"/v1/vms/{l1_vm['id']}/ports")["ports"]) == 1
    l1_url = f"http://127.0.0.1:{port}"
    wait_for("L1's API through L0's port", lambda: health(l1_url), timeout=120, interval=2)
    l1 = Remote("l1", l1_url, l1_token)
    st = l1.get("/v1/status")
    assert st["nested"] is True and st["depth"] == 1
    assert st["nesting"]["backend"] == "l1-resold"
    wait_for("L1's host", lambda: l1.get("/v1/hosts")["hosts"], timeout=300, interval=2)
    assert not b.saw(l0.token), "B saw L0's token"

    # ---- B becomes a provider and resells L1
    b.become_provider(company="Bea Resells UG", iban=IBAN2)
    nb = b.call("POST", "/market/v1/backends",
                {"name": "l1-resold", "url": l1_url, "token": l1_token,
                 "upstream_allocation": balloc["id"]}, expect=(201,))
    assert nb["depth"] == 1 and nb["resale"] is True
    assert nb["upstream"]["provider"]["company"] == "Upstream Iron AG"
    # the market measures it as any backend
    q = wait_for("the market's probes of L1", lambda: (
        x := b.get(f"/market/v1/backends/{nb['id']}"))["quality"]["probes_24h"] >= 2 and x,
        timeout=120, interval=2)
    assert q["state"] == "up" and q["quality"]["availability_24h"] is not None
    assert q["cloud_id"] == st["cloud_id"]

    slice_offer = b.add_offer(nb["id"], name="slice of a nested cloud", vcpus=1,
                              memory_mib=128, slots=2, reserve_price=0.02, image="test")
    found = anon.get("/market/v1/offers?max_depth=1&q=nested")["offers"]
    mine = next(o for o in found if o["id"] == slice_offer["id"])
    assert mine["backend"]["depth"] == 1
    assert mine["backend"]["upstream"]["provider"]["company"] == "Upstream Iron AG"
    assert mine["provider"]["company"] == "Bea Resells UG"
    assert slice_offer["id"] in [o["id"] for o in anon.get("/market/v1/offers?depth=1")["offers"]]

    # ---- C buys a slice: it lands inside L1, not on L0
    c = Seen(market, "c-nested@example.com").register(name="Carl Consumer")
    cc = c.bid(slice_offer["id"], 0.05, config={"start": True})
    cc = c.wait_contract(cc["id"], "active", timeout=60)
    calloc = c.wait_allocation(cc["allocation"]["id"], lambda x: x["state"] == "running",
                               "L2 to run in L1", timeout=900)
    l2 = wait_for("L2 in L1's API", lambda: next(
        (v for v in l1.get("/v1/vms")["vms"] if v["name"] == calloc["name"]), None),
        timeout=60)
    assert l2["state"] == "running"
    assert calloc["backend"]["id"] == nb["id"]
    # L0's libvirt holds L1 and nothing else of this cloud; L2 is not there
    assert set(l0.domains()) == {l1_vm["id"]}
    assert l2["id"] not in virsh("list", "--all", "--uuid").split()
    assert calloc["name"] not in [v["name"] for v in l0.get("/v1/vms")["vms"]]
    assert not c.saw(l1_token) and not c.saw(l0.token), "C saw a backend's token"
    # the other consumer's allocation and ports are not C's
    status, _ = c.request("GET", f"/market/v1/allocations/{balloc['id']}/ports")
    assert status == 404

    # ---- teardown through the market: nothing is left on L0
    c.call("POST", f"/market/v1/contracts/{cc['id']}/end")
    wait_for("L2 to go from L1", lambda: calloc["name"] not in [
        v["name"] for v in l1.get("/v1/vms")["vms"]], timeout=300, interval=2)
    b.call("POST", f"/market/v1/contracts/{bc['id']}/end")
    wait_for("B's allocation to be deleted", lambda: b.get(
        f"/market/v1/allocations/{balloc['id']}")["state"] == "deleted", timeout=300,
        interval=2)
    # the resold backend goes with its upstream allocation, and its offers
    status, _ = b.request("GET", f"/market/v1/backends/{nb['id']}")
    assert status == 404
    assert nb["id"] not in [x["id"] for x in b.get("/market/v1/backends")["backends"]]
    assert slice_offer["id"] not in [o["id"] for o in anon.get("/market/v1/offers")["offers"]]
    assert l0.get("/v1/vms")["vms"] == []
    assert l0.domains() == {}
    wait_for("L0's forwarded port to close", lambda: not listening(port), timeout=60)
    assert not b.saw(l0.token) and not c.saw(l1_token)
