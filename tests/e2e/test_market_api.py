"""The market's JSON API (/market/v1) against a real `nestcloud up` backend.

One backend cloud and one market daemon (clearing every second) for the
module; each test makes its own users so that tests do not share state
beyond the backend.  Effects are checked where they happen: the VM in
libvirt (virsh), the sealed token in the market's database file.
"""
import os
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, virsh, wait_for
from test_market_helpers import IBAN, IBAN2, Market, MarketUser, backend_cloud

ZERO = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def backend():
    c = backend_cloud("mkt-api")
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def market():
    m = Market("api", clearing=1, notice=3).start()
    yield m
    m.destroy()


_n = 0


def user(market, tag="u"):
    global _n
    _n += 1
    return MarketUser(market, f"{tag}{_n}-{os.getpid()}@example.com").register()


@pytest.fixture(scope="module")
def provider(market, backend):
    """A provider with the real backend registered."""
    p = user(market, "prov")
    p.become_provider()
    p.backend = p.add_backend(backend, name="local")
    return p


def err_code(out):
    return out["error"]["code"] if isinstance(out, dict) and "error" in out else None


# ---- accounts ----

def test_register_login_logout(market):
    anon = market.anon()
    email = f"alice-{os.getpid()}@example.com"
    a = MarketUser(market, email).register(name="Alice")
    assert a.user["email"] == email and a.user["provider"] is False
    me = a.get("/market/v1/me")
    assert me["user"]["id"] == a.user["id"] and me["auth"] == "session"

    # the session cookie is HttpOnly and SameSite
    status, _ = anon.request("POST", "/market/v1/users",
                             {"email": email, "password": "another password", "name": "x"})
    assert status == 409
    cookies = {c.name: c for c in a.jar}
    assert cookies, "no session cookie"
    c = next(iter(cookies.values()))
    assert c.has_nonstandard_attr("HttpOnly") or c._rest.get("HttpOnly") is not None
    assert any(k.lower() == "samesite" for k in c._rest)

    # a state-changing call by cookie without the CSRF token is refused
    status, out = a.request("POST", "/market/v1/tokens", {"name": "t"}, csrf=False)
    assert status == 403, out
    assert a.get("/market/v1/tokens")["tokens"] == []

    # wrong password, unknown user: the same answer
    b = MarketUser(market, email)
    s1, o1 = b.request("POST", "/market/v1/session", {"email": email, "password": "wrong one!"})
    s2, o2 = b.request("POST", "/market/v1/session",
                       {"email": "nobody@example.com", "password": "wrong one!"})
    assert s1 == s2 == 401 and o1["error"]["message"] == o2["error"]["message"]
    b.login()
    assert b.get("/market/v1/me")["user"]["id"] == a.user["id"]

    a.call("DELETE", "/market/v1/session")
    status, _ = a.request("GET", "/market/v1/me")
    assert status == 401
    # the other session lives on
    assert b.get("/market/v1/me")["user"]["id"] == a.user["id"]

    # an API token works without a cookie or CSRF, and is shown once
    tok = b.api_token("script")
    assert tok.startswith("nc")
    s = MarketUser(market, email, token=tok)
    assert s.get("/market/v1/me")["auth"] == "token"
    listed = b.get("/market/v1/tokens")["tokens"]
    assert len(listed) == 1 and tok not in str(listed)


def test_register_bad_input(market):
    anon = market.anon()
    cases = [
        {"email": "not-an-email", "password": "long enough pw", "name": "x"},
        {"email": "a@example.com", "password": "short", "name": "x"},
        {"email": "a@example.com", "password": "x" * 2000, "name": "x"},
        {"email": "a@example.com", "password": "long enough pw", "name": "x" * 500},
        {"email": "a@example.com", "password": "long enough pw", "name": "x", "admin": True},
        {"email": "<script>@example.com", "password": "long enough pw", "name": "x"},
    ]
    for body in cases:
        status, out = anon.request("POST", "/market/v1/users", body)
        assert status == 400, (body, out)
        assert err_code(out) == "invalid_argument" and out["error"]["message"]
    status, out = anon.request("POST", "/market/v1/users", raw=b"{not json")
    assert status == 400
    status, out = anon.request("POST", "/market/v1/users", raw=b"x" * (100 * 1024))
    assert status == 413, out
    status, _ = anon.request("POST", "/market/v1/session",
                             {"email": "a@example.com", "password": "long enough pw"})
    assert status == 401   # nothing was registered


def test_become_provider_checks_iban(market, backend):
    u = user(market)
    # a consumer cannot offer or register backends
    status, out = u.request("POST", "/market/v1/backends",
                            {"name": "b", "url": backend.url, "token": backend.token})
    assert status == 403, out
    bad = [
        {"iban": "DE89 3704 0044 0532 0130 01"},        # check digits wrong
        {"iban": "XX00"},
        {"iban": "DE89<script>"},
        {"company": ""},
        {"company": "c" * 1000},
        {"address": "a" * 5000},
    ]
    for b in bad:
        body = {"company": "Acme", "tax_number": "DE1", "iban": IBAN, "address": "Street 1",
                **b}
        status, out = u.request("POST", "/market/v1/me/provider", body)
        assert status == 400, (b, out)
        assert out["error"]["message"]
    assert u.get("/market/v1/me")["user"]["provider"] is False
    out = u.become_provider(iban=IBAN2)
    assert out["user"]["provider"] is True
    # the IBAN is masked in what comes back
    assert IBAN2.replace(" ", "") not in out["user"]["provider_profile"]["iban"].replace(" ", "")


# ---- backends ----

def test_backend_token_sealed(market, backend, provider):
    b = provider.backend
    assert b["state"] == "up" and b["token_stored"] is True
    assert "token" not in b and backend.token not in str(b)
    got = provider.get(f"/market/v1/backends/{b['id']}")
    assert backend.token not in str(got)
    assert backend.token not in str(provider.get("/market/v1/backends"))
    # sealed in the store: the raw database holds no copy of the token
    db = os.path.join(market.state, "market.db")
    for path in (db, db + "-wal"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert backend.token.encode() not in f.read()
    # a wrong token or an unreachable URL is refused and records nothing
    before = len(provider.get("/market/v1/backends")["backends"])
    status, out = provider.request("POST", "/market/v1/backends",
                                   {"name": "bad", "url": backend.url, "token": "nc_wrong"})
    assert 400 <= status < 500 and status != 404, out
    status, out = provider.request("POST", "/market/v1/backends",
                                   {"name": "bad", "url": "file:///etc/passwd", "token": "x"})
    assert status == 400, out
    status, out = provider.request("POST", "/market/v1/backends",
                                   {"name": "bad", "url": "http://127.0.0.1:1/x;rm -rf /",
                                    "token": "x"})
    assert status == 400, out
    assert len(provider.get("/market/v1/backends")["backends"]) == before


# ---- offers, bids, clearing ----

def test_offer_bad_input(market, provider):
    bid = provider.backend["id"]
    base = {"backend": bid, "kind": "compute", "name": "o", "vcpus": 1, "memory_mib": 128,
            "slots": 1, "reserve_price": 0.01, "pricing": "spot"}
    bad = [
        {"reserve_price": -1}, {"reserve_price": 1e12}, {"reserve_price": "NaN"},
        {"reserve_price": "abc"}, {"slots": 0}, {"slots": 10 ** 9}, {"vcpus": -1},
        {"kind": "gold"}, {"pricing": "free"}, {"backend": ZERO}, {"name": "x" * 1000},
        {"description": "d" * 100000}, {"memory_mib": 10 ** 12},
        {"ports": -1}, {"ports": 17}, {"ports": "2"}, {"ports": 1.5},
    ]
    before = provider.get("/market/v1/offers?mine=true&limit=1000")["count"]
    for b in bad:
        status, out = provider.request("POST", "/market/v1/offers", {**base, **b})
        assert status in (400, 404, 413, 422), (b, status, out)
        assert out["error"]["message"], b
    # a storage offer has no VM to forward ports to
    status, out = provider.request("POST", "/market/v1/offers", {
        "backend": bid, "kind": "storage", "name": "s", "storage_gib": 1, "slots": 1,
        "reserve_price": 0.01, "ports": 1})
    assert status == 400, out
    assert provider.get("/market/v1/offers?mine=true&limit=1000")["count"] == before


def test_spot_clearing_uniform_price(market, backend, provider):
    """Two slots, three bids: the two highest win and pay the highest losing bid."""
    offer = provider.add_storage_offer(provider.backend["id"], name="disk slots", slots=2,
                                       reserve_price=0.01)
    bidders = [user(market, "bid") for _ in range(3)]
    cs = [b.bid(offer["id"], p) for b, p in zip(bidders, (0.05, 0.03, 0.02))]
    c0 = bidders[0].wait_contract(cs[0]["id"], "active", timeout=30)
    c1 = bidders[1].wait_contract(cs[1]["id"], "active", timeout=30)
    c2 = bidders[2].contract(cs[2]["id"])
    assert c2["state"] == "agreed"
    # the winners' volumes exist on the backend
    a0 = bidders[0].wait_allocation(c0["allocation"]["id"], lambda a: a["state"] == "available",
                                    "the volume to be available", timeout=60)
    assert a0["name"] in {v["name"] for v in backend.get("/v1/volumes")["volumes"]}
    # uniform price: both winners pay the highest losing bid, not their own
    assert c0["price"] == c1["price"] == 0.02
    o = market.anon().get(f"/market/v1/offers/{offer['id']}")
    assert o["price"] == 0.02 and o["slots_free"] == 0
    hist = market.anon().get(f"/market/v1/price-history?offer={offer['id']}")["price_history"]
    assert hist and hist[0]["price"] == 0.02 and hist[0]["winners"] == 2

    # the loser outbids the cheapest winner: the winner gets notice, then ends
    bidders[2].call("PATCH", f"/market/v1/contracts/{cs[2]['id']}", {"max_price": 0.04})
    n = bidders[1].wait_contract(cs[1]["id"], "notice", timeout=30)
    assert n["notice_until"] and n["notice_reason"]
    bidders[1].wait_contract(cs[1]["id"], "ended", timeout=30)
    bidders[2].wait_contract(cs[2]["id"], "active", timeout=30)
    # the outbid contract ended: no losing bid is left, so the price falls to the reserve
    wait_for("the new uniform price",
             lambda: market.anon().get(f"/market/v1/offers/{offer['id']}")["price"] == 0.01,
             timeout=30)
    # the bids are private: the anonymous catalogue shows no bidders
    page = market.anon().get(f"/market/v1/offers/{offer['id']}/page")
    assert bidders[0].email not in str(page)
    names = [bidders[0].contract(cs[0]["id"])["allocation"]["name"]]
    for b, c in zip(bidders, cs):
        if b.contract(c["id"])["state"] != "ended":
            b.call("POST", f"/market/v1/contracts/{c['id']}/end")
    # the volumes go away on the backend with their contracts
    wait_for("the volumes to be deleted", lambda: not set(names) & {
        v["name"] for v in backend.get("/v1/volumes")["volumes"]}, timeout=60)


def test_bid_bad_input(market, provider):
    offer = provider.add_offer(provider.backend["id"], name="bad bids", slots=1,
                               reserve_price=0.05)
    u = user(market)
    cases = [
        ({"offer": ZERO, "max_price": 1}, 404),
        ({"offer": "../../etc", "max_price": 1}, (400, 404)),
        ({"offer": offer["id"], "max_price": -0.5}, 400),
        ({"offer": offer["id"], "max_price": 1e15}, 400),
        ({"offer": offer["id"], "max_price": "1; DROP TABLE contracts"}, 400),
        ({"offer": offer["id"], "max_price": 0.01}, (400, 422)),   # below reserve
        ({"offer": offer["id"], "max_price": 1, "units": 0}, 400),
        ({"offer": offer["id"], "max_price": 1, "units": 10 ** 6}, (400, 422)),
        ({"offer": offer["id"], "max_price": 1, "extra": 1}, 400),
    ]
    for body, want in cases:
        status, out = u.request("POST", "/market/v1/contracts", body)
        assert status in (want if isinstance(want, tuple) else (want,)), (body, status, out)
        assert out["error"]["message"]
    assert u.get("/market/v1/contracts")["contracts"] == []
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


def test_script_in_names_is_escaped(market, provider):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    offer = provider.add_offer(provider.backend["id"], name=evil[:60], description=evil,
                               slots=1)
    # JSON carries the text as text ...
    got = market.anon().get(f"/market/v1/offers/{offer['id']}")
    assert got["name"] == evil[:60] and got["description"] == evil
    # ... and no page the server renders contains it unescaped
    for path in ("/", f"/offers/{offer['id']}", "/market/v1/offers"):
        status, body = market.anon().request("GET", path)
        assert status == 200
        if isinstance(body, str):
            assert "<script>alert" not in body and "<img src=x" not in body, (path, body)
    # the pages set a CSP that forbids inline script
    import urllib.request
    with urllib.request.urlopen(market.url + "/") as r:
        csp = r.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


# ---- the contract lifecycle with a real VM ----

def test_contract_lifecycle_vm(market, backend, provider):
    offer = provider.add_offer(provider.backend["id"], name="vm by hand", slots=2,
                               reserve_price=0.5, auto_accept=False)
    u = user(market, "buyer")
    c = u.bid(offer["id"], 1.0)
    assert c["state"] == "requested"
    # the buyer cannot decide its own request; another provider cannot either
    status, _ = u.request("POST", f"/market/v1/contracts/{c['id']}/accept")
    assert status in (403, 404)
    other = user(market, "prov")
    other.become_provider()
    status, _ = other.request("POST", f"/market/v1/contracts/{c['id']}/accept")
    assert status == 404
    assert u.contract(c["id"])["state"] == "requested"
    seen = provider.get("/market/v1/contracts?role=provider")["contracts"]
    assert c["id"] in [x["id"] for x in seen]
    provider.call("POST", f"/market/v1/contracts/{c['id']}/accept")
    c = u.wait_contract(c["id"], "active", timeout=30)
    assert [e["to"] for e in c["log"]][:3] == ["requested", "agreed", "active"]
    assert c["price"] == 0.5      # alone: the reserve
    aid = c["allocation"]["id"]
    a = u.wait_allocation(aid, lambda a: a["state"] == "stopped", "built (stopped)")
    assert "token" not in str(a) and backend.token not in str(a)

    # the VM exists on the backend, under the market's name for it
    vms = {v["name"]: v for v in backend.get("/v1/vms")["vms"]}
    assert a["name"] in vms
    vm_id = vms[a["name"]]["id"]
    assert virsh("domstate", vm_id).strip() == "shut off"

    # the offer allows no forwarded ports: nothing is asked of the backend
    status, out = u.request("POST", f"/market/v1/allocations/{aid}/ports",
                            {"guest_port": 8080})
    assert status == 403 and err_code(out) == "forbidden", out
    assert backend.get(f"/v1/vms/{vm_id}/ports")["ports"] == []

    u.action(aid, "start")
    u.wait_allocation(aid, lambda a: a["state"] == "running", "running")
    wait_for("the domain to run", lambda: virsh("domstate", vm_id).strip() == "running")
    # the market measured the launch: buyers see it as the backend's quality
    q = wait_for("a launch sample", lambda: (q := provider.get(
        f"/market/v1/backends/{provider.backend['id']}")["quality"])["launch_samples"] and q)
    assert q["launch_ms"] > 0

    # rescale in place: two units = 2 vCPUs on the backend
    out = u.call("PATCH", f"/market/v1/allocations/{aid}", {"units": 2}, expect=(202,))
    assert out["allocation"]["units"] == 2
    wait_for("the backend VM to have 2 vCPUs",
             lambda: backend.vm(vm_id)["vcpus"] == 2, timeout=120)
    status, out = u.request("PATCH", f"/market/v1/allocations/{aid}", {"units": 3})
    assert status in (409, 422, 503), out    # the offer has 2 slots
    assert backend.vm(vm_id)["vcpus"] == 2

    time.sleep(2)
    u.action(aid, "stop")
    u.wait_allocation(aid, lambda a: a["state"] == "stopped", "stopped")
    assert virsh("domstate", vm_id).strip() == "shut off"

    # metering: the consumer pays, the provider earns, the same amount
    st = u.get("/market/v1/statements")
    line = next(l for l in st["lines"] if l["contract"] == c["id"])
    assert line["seconds"] >= 2 and line["amount"] > 0
    ps = provider.get("/market/v1/statements?role=provider")
    pline = next(l for l in ps["lines"] if l["contract"] == c["id"])
    assert pline["amount"] == line["amount"] or abs(pline["amount"] - line["amount"]) < 0.01
    status, _ = u.request("GET", "/market/v1/statements?from=2030-01-01T00:00:00Z"
                                 "&to=2020-01-01T00:00:00Z")
    assert status == 400

    u.call("POST", f"/market/v1/contracts/{c['id']}/end")
    c = u.contract(c["id"])
    assert c["state"] == "ended"
    wait_for("the VM to be deleted on the backend",
             lambda: a["name"] not in [v["name"] for v in backend.get("/v1/vms")["vms"]],
             timeout=120)
    assert virsh("domstate", vm_id, check=False).strip() == ""
    # an ended contract cannot be started again
    status, _ = u.request("POST", f"/market/v1/allocations/{aid}/actions", {"action": "start"})
    assert status in (404, 409)
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


def http_get(port, path="/hostname", timeout=5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def test_allocation_port_forward(market, backend, provider):
    """A buyer forwards a port of the backend's host to its VM through the
    market (what a reseller needs for its Nested Cloud's API), within the
    offer's limit, without the backend's token."""
    offer = provider.add_offer(provider.backend["id"], name="vm with a port", slots=1,
                               reserve_price=0.01, memory_mib=256, ports=1)
    assert offer["ports"] == 1
    u = user(market, "fwd")
    c = u.bid(offer["id"], 0.5, config={"start": True})
    c = u.wait_contract(c["id"], "active", timeout=30)
    aid = c["allocation"]["id"]
    a = u.wait_allocation(aid, lambda a: a["state"] == "running", "running", timeout=180)
    vm_id = next(v["id"] for v in backend.get("/v1/vms")["vms"] if v["name"] == a["name"])
    path = f"/market/v1/allocations/{aid}/ports"
    assert u.get(path) == {"allocation": aid, "allowed": 1, "ports": []}

    # bad input changes nothing, on the market or on the backend
    port = free_port()
    for bad in ({}, {"guest_port": 0}, {"guest_port": 70000}, {"guest_port": "80"},
                {"guest_port": 80}, {"guest_port": 80, "host_port": 80},
                {"guest_port": 80, "host_port": 70000}, {"guest_port": 80, "host_port": port,
                                                         "bind": "0.0.0.0"},
                {"guest_port": 80, "host_port": -port}):
        status, out = u.request("POST", path, bad)
        assert status == 400 and err_code(out) == "invalid_argument", (bad, out)
    status, out = u.request("POST", path, raw=b"[1, 2]")
    assert status == 400, out
    assert backend.get(f"/v1/vms/{vm_id}/ports")["ports"] == []

    # someone else's allocation is not there; nobody gets 401
    thief = user(market, "thief")
    for method, p, body in (("GET", path, None), ("POST", path, {"guest_port": 80,
                                                                   "host_port": port}),
                            ("DELETE", f"{path}/{port}", None)):
        status, out = thief.request(method, p, body)
        assert status == 404, (method, p, out)
        status, out = market.anon().request(method, p, body)
        assert status == 401, (method, p, out)
    assert backend.get(f"/v1/vms/{vm_id}/ports")["ports"] == []

    out = u.call("POST", path, {"guest_port": 80, "host_port": port}, expect=(202,))
    assert out["port"]["host_port"] == port and out["port"]["guest_port"] == 80
    assert out["port"]["host"] == "127.0.0.1"
    assert backend.token not in str(out)
    fwd = backend.get(f"/v1/vms/{vm_id}/ports")["ports"]
    assert [(p["guest_port"], p["host_port"]) for p in fwd] == [(80, port)]
    # it reaches the guest's web server
    assert wait_for("the guest's page through the forwarded port",
                    lambda: http_get(port), timeout=240, interval=1).strip() == a["name"]
    listed = u.get(path)["ports"]
    assert [(p["guest_port"], p["host_port"], p["state"]) for p in listed] == \
        [(80, port, "active")]

    # one port is all the offer allows
    status, out = u.request("POST", path, {"guest_port": 22, "host_port": free_port()})
    assert status == 403 and err_code(out) == "quota_exceeded", out
    assert len(backend.get(f"/v1/vms/{vm_id}/ports")["ports"]) == 1

    # removal: by host port number only
    for bad in ("abc", "80", "70000", "1e3", "%2e%2e"):
        status, out = u.request("DELETE", f"{path}/{bad}")
        assert status in (400, 404), (bad, out)
    assert len(backend.get(f"/v1/vms/{vm_id}/ports")["ports"]) == 1
    status, out = u.request("DELETE", f"{path}/{free_port()}")
    assert status == 404, out
    u.call("DELETE", f"{path}/{port}", expect=(202,))
    wait_for("the backend to drop the forward",
             lambda: backend.get(f"/v1/vms/{vm_id}/ports")["ports"] == [], timeout=60)
    wait_for("the port to close", lambda: http_get(port, timeout=2) is None, timeout=30)

    u.call("POST", f"/market/v1/contracts/{c['id']}/end")
    status, out = u.request("POST", path, {"guest_port": 80, "host_port": port})
    assert status == 409, out
    wait_for("the VM to be deleted on the backend",
             lambda: a["name"] not in [v["name"] for v in backend.get("/v1/vms")["vms"]],
             timeout=120)
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


# ---- price history ----

def test_price_history_range_and_paging(market, provider):
    offer = provider.add_storage_offer(provider.backend["id"], name="history", slots=1,
                                       reserve_price=0.02)
    anon = market.anon()
    wait_for("five price points", lambda: len(anon.get(
        f"/market/v1/offers/{offer['id']}/price-history?max_results=5")["price_history"]) == 5,
        timeout=30)
    first = anon.get(f"/market/v1/offers/{offer['id']}/price-history?max_results=2")
    assert len(first["price_history"]) == 2 and first["next_token"]
    second = anon.get(f"/market/v1/offers/{offer['id']}/price-history?max_results=2"
                      f"&next_token={first['next_token']}")
    ts1 = [p["timestamp"] for p in first["price_history"]]
    ts2 = [p["timestamp"] for p in second["price_history"]]
    assert ts1 == sorted(ts1, reverse=True) and not set(ts1) & set(ts2)
    assert max(ts2) <= min(ts1)
    # a time range: only the points inside it
    lo, hi = ts2[-1], ts1[0]
    q = urllib.parse.urlencode({"offer": offer["id"], "start_time": lo, "end_time": hi,
                                "max_results": 1000})
    inside = anon.get(f"/market/v1/price-history?{q}")["price_history"]
    assert all(lo <= p["timestamp"] <= hi for p in inside) and len(inside) >= 4
    q = urllib.parse.urlencode({"offer": offer["id"], "start_time": "2099-01-01T00:00:00Z"})
    assert anon.get(f"/market/v1/price-history?{q}")["price_history"] == []
    for bad in ("start_time=yesterday", "max_results=0", "max_results=100000",
                "next_token=abc", "kind=gold",
                "start_time=2030-01-01T00:00:00Z&end_time=2020-01-01T00:00:00Z"):
        status, out = anon.request("GET", f"/market/v1/price-history?{bad}")
        assert status == 400, (bad, out)
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


# ---- who sees what ----

def test_cross_account_access_denied(market, provider):
    offer = provider.add_storage_offer(provider.backend["id"], name="private", slots=1,
                                       reserve_price=0.01)
    owner = user(market, "own")
    c = owner.bid(offer["id"], 0.1)
    c = owner.wait_contract(c["id"], "active", timeout=30)
    aid = c["allocation"]["id"]
    tok_id = owner.get("/market/v1/tokens")["tokens"]
    owner.api_token("mine")
    tok_id = owner.get("/market/v1/tokens")["tokens"][0]["id"]

    thief = user(market, "thief")
    thief.become_provider(company="Thief Ltd")
    anon = market.anon()
    b = provider.backend["id"]
    o = offer["id"]
    routes = [
        ("GET", f"/market/v1/contracts/{c['id']}", None),
        ("PATCH", f"/market/v1/contracts/{c['id']}", {"max_price": 5}),
        ("POST", f"/market/v1/contracts/{c['id']}/end", None),
        ("POST", f"/market/v1/contracts/{c['id']}/accept", None),
        ("POST", f"/market/v1/contracts/{c['id']}/reject", None),
        ("GET", f"/market/v1/allocations/{aid}", None),
        ("PATCH", f"/market/v1/allocations/{aid}", {"units": 1}),
        ("POST", f"/market/v1/allocations/{aid}/actions", {"action": "stop"}),
        ("GET", f"/market/v1/allocations/{aid}/console", None),
        ("GET", f"/market/v1/backends/{b}", None),
        ("DELETE", f"/market/v1/backends/{b}", None),
        ("GET", f"/market/v1/backends/{b}/break-even", None),
        ("PATCH", f"/market/v1/offers/{o}", {"reserve_price": 9}),
        ("DELETE", f"/market/v1/offers/{o}", None),
        ("DELETE", f"/market/v1/tokens/{tok_id}", None),
    ]
    for method, path, body in routes:
        status, out = thief.request(method, path, body)
        assert status in (403, 404), (method, path, status, out)
        status, out = anon.request(method, path, body)
        assert status in (401, 403, 404), ("anon", method, path, status, out)
    for path in ("/market/v1/me", "/market/v1/contracts", "/market/v1/allocations",
                 "/market/v1/statements", "/market/v1/tokens", "/market/v1/backends"):
        status, _ = anon.request("GET", path)
        assert status == 401, path
    # lists are the caller's own
    assert thief.get("/market/v1/contracts")["contracts"] == []
    assert thief.get("/market/v1/allocations")["allocations"] == []
    assert thief.get("/market/v1/backends")["backends"] == []
    assert thief.get("/market/v1/statements")["lines"] == []
    assert thief.get("/market/v1/statements?role=provider")["lines"] == []
    # nothing changed
    assert owner.contract(c["id"])["state"] == "active"
    assert owner.contract(c["id"])["max_price"] == 0.1
    assert market.anon().get(f"/market/v1/offers/{o}")["state"] == "active"
    assert provider.get(f"/market/v1/backends/{b}")["id"] == b
    assert len(owner.get("/market/v1/tokens")["tokens"]) == 1
    # the public catalogue is open to all
    assert o in [x["id"] for x in anon.get("/market/v1/offers?kind=storage")["offers"]]
    owner.call("POST", f"/market/v1/contracts/{c['id']}/end")
    provider.call("DELETE", f"/market/v1/offers/{o}")


def test_catalogue_search(market, provider):
    offer = provider.add_offer(provider.backend["id"], name="searchable", slots=1,
                               reserve_price=0.07)
    anon = market.anon()
    found = anon.get("/market/v1/offers?q=searchable")["offers"]
    assert [x["id"] for x in found] == [offer["id"]]
    assert found[0]["backend"]["depth"] == 0 and found[0]["backend"]["upstream"] is None
    assert offer["id"] not in [x["id"] for x in anon.get("/market/v1/offers?max_price=0.05")
                               ["offers"]]
    assert offer["id"] in [x["id"] for x in anon.get("/market/v1/offers?max_price=0.07")
                           ["offers"]]
    assert offer["id"] not in [x["id"] for x in anon.get("/market/v1/offers?kind=storage")
                               ["offers"]]
    for bad in ("kind=gold", "max_price=-1", "min_vcpus=-3", "limit=0", "q=" + "x" * 500,
                "min_availability=101", "provider=xyz"):
        status, out = anon.request("GET", f"/market/v1/offers?{bad}")
        assert status == 400, (bad, out)
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")


def test_login_attempts_limited(market):
    email = f"locked-{os.getpid()}@example.com"
    u = MarketUser(market, email).register()
    anon = market.anon()
    for _ in range(10):
        status, _ = anon.request("POST", "/market/v1/session",
                                 {"email": email, "password": "not the password"})
        assert status == 401
    # the eleventh attempt is refused before the password is even checked,
    # the right password included, until the window passes
    status, out = anon.request("POST", "/market/v1/session",
                               {"email": email, "password": "correct horse battery"})
    assert status == 429, out
    assert u.get("/market/v1/me")["user"]["email"] == email     # sessions live on


def test_up_runs_the_market_beside_the_api():
    """`nestcloud up` serves the market on the API's port + 1 (DESIGN.md)."""
    import json as _json
    import urllib.request
    from conftest import Cloud, free_port
    c = Cloud("mkt-up")
    # the next port must be free: pick a pair that is
    for _ in range(20):
        c.port = free_port()
        try:
            import socket
            with socket.socket() as s:
                s.bind(("127.0.0.1", c.port + 1))
            break
        except OSError:
            continue
    c.url = f"http://127.0.0.1:{c.port}"
    try:
        c.start()
        # the market starts once the API is up: its URL file follows shortly
        path = os.path.join(c.state, "market.url")
        wait_for("market.url", lambda: os.path.exists(path), timeout=30)
        murl = open(path).read().strip()
        assert murl == f"http://127.0.0.1:{c.port + 1}"
        with urllib.request.urlopen(murl + "/market/v1/health", timeout=10) as r:
            assert _json.load(r)["status"] == "ok"
        with urllib.request.urlopen(murl + "/", timeout=10) as r:
            assert "nestcloud market" in r.read().decode()
    finally:
        c.destroy()


def test_backend_outage_is_measured(market, backend, provider):
    """Runs last: it stops the shared backend.  The market's probes see the
    outage, buyers see it in the backend's quality, and the backend comes
    back up in the market when it does."""
    bid = provider.backend["id"]
    offer = provider.add_offer(bid, name="outage watch", slots=1)
    backend.stop()
    try:
        wait_for("the backend to be down", lambda: provider.get(
            f"/market/v1/backends/{bid}")["state"] == "down", timeout=60)
        seen = market.anon().get(f"/market/v1/offers/{offer['id']}")["backend"]
        assert seen["state"] == "down"
        assert seen["quality"]["failed_probes_24h"] >= 2
        assert seen["quality"]["availability_24h"] < 100
        assert provider.get(f"/market/v1/backends/{bid}")["last_error"]
    finally:
        backend.start(extra=("--heartbeat", "1000", "--no-market"))
    wait_for("the backend to be up again", lambda: provider.get(
        f"/market/v1/backends/{bid}")["state"] == "up", timeout=60)
    provider.call("DELETE", f"/market/v1/offers/{offer['id']}")
