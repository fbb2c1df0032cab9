"""Resale, the point of the paper: a consumer becomes a provider of slices of
what it rents.

Two `nestcloud up` backends on this machine: `upstream` belongs to the
first provider; `nested` stands for the Nested Cloud that runs inside the
VM the consumer rents from it (booting the real nested image is the slow
tier's job; the market only sees a nestcloud API either way).  The consumer
registers `nested` as a backend resold from its allocation, offers slices,
and a buyer sees nesting depth 1 and the upstream provider, buys a slice
that lands on `nested`, and gets the upstream's notice passed down when
the reseller is outbid.
"""
import pytest

from conftest import virsh, wait_for
from test_market_helpers import IBAN, IBAN2, Market, MarketUser, backend_cloud


@pytest.fixture(scope="module")
def upstream():
    c = backend_cloud("mkt-upstream")
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def nested():
    c = backend_cloud("mkt-nested")
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def market():
    m = Market("resale", clearing=1, notice=4).start()
    yield m
    m.destroy()


def test_resale_depth_upstream_and_notice(market, upstream, nested):
    anon = market.anon()
    # the first provider rents out a big VM on its own cloud
    p = MarketUser(market, "upstream@example.com").register()
    p.become_provider(company="Upstream Cloud AG", iban=IBAN)
    pb = p.add_backend(upstream, name="upstream-1")
    assert pb["depth"] == 0 and pb["resale"] is False
    big = p.add_offer(pb["id"], name="big vm", slots=1, reserve_price=0.10)

    # a consumer rents it
    r = MarketUser(market, "reseller@example.com").register(name="Rita Reseller")
    rc = r.bid(big["id"], 0.50)
    rc = r.wait_contract(rc["id"], "active", timeout=30)
    ralloc = r.wait_allocation(rc["allocation"]["id"], lambda a: a["state"] == "stopped",
                               "the rented VM to be built")
    rvm = next(v for v in upstream.get("/v1/vms")["vms"] if v["name"] == ralloc["name"])
    assert virsh("domstate", rvm["id"]).strip() == "shut off"

    # ... and resells it: only with provider data, only its own allocation,
    # and the depth follows from the upstream, whatever the caller claims
    status, _ = r.request("POST", "/market/v1/backends",
                          {"name": "nested", "url": nested.url, "token": nested.token,
                           "upstream_allocation": ralloc["id"]})
    assert status == 403
    r.become_provider(company="Rita Resells UG", iban=IBAN2)
    stranger = MarketUser(market, "stranger@example.com").register()
    stranger.become_provider(company="Stranger Ltd")
    status, out = stranger.request("POST", "/market/v1/backends",
                                   {"name": "nested", "url": nested.url, "token": nested.token,
                                    "upstream_allocation": ralloc["id"]})
    assert status == 404, out
    status, out = r.request("POST", "/market/v1/backends",
                            {"name": "nested", "url": nested.url, "token": nested.token,
                             "upstream_allocation": ralloc["id"], "nesting_depth": 3})
    assert status == 400, out
    nb = r.add_backend(nested, name="nested-in-big-vm", upstream_allocation=ralloc["id"])
    assert nb["depth"] == 1 and nb["resale"] is True
    assert nb["upstream"]["provider"]["company"] == "Upstream Cloud AG"
    slice_offer = r.add_offer(nb["id"], name="slice of a nested cloud", slots=2,
                              reserve_price=0.05)

    # buyers see the nesting depth and the upstream provider, and can filter on them
    found = anon.get("/market/v1/offers?q=slice")["offers"]
    assert [o["id"] for o in found] == [slice_offer["id"]]
    assert found[0]["backend"]["depth"] == 1
    assert found[0]["backend"]["upstream"]["provider"]["company"] == "Upstream Cloud AG"
    assert found[0]["provider"]["company"] == "Rita Resells UG"
    assert slice_offer["id"] in [o["id"] for o in anon.get("/market/v1/offers?depth=1")["offers"]]
    direct = [o["id"] for o in anon.get("/market/v1/offers?max_depth=0")["offers"]]
    assert slice_offer["id"] not in direct and big["id"] in direct
    status, page = anon.request("GET", f"/offers/{slice_offer['id']}")
    assert status == 200 and '"depth":1' in page and "Upstream Cloud AG" in page

    # a buyer buys a slice: its VM lands on the nested cloud
    b = MarketUser(market, "buyer@example.com").register()
    bc = b.bid(slice_offer["id"], 0.08)
    bc = b.wait_contract(bc["id"], "active", timeout=30)
    balloc = b.wait_allocation(bc["allocation"]["id"], lambda a: a["state"] == "stopped",
                               "the slice's VM to be built")
    assert balloc["name"] in [v["name"] for v in nested.get("/v1/vms")["vms"]]
    assert balloc["name"] not in [v["name"] for v in upstream.get("/v1/vms")["vms"]]

    # the reseller's break-even: rental against revenue
    be = r.get(f"/market/v1/backends/{nb['id']}/break-even")
    assert be["rental_cost_per_hour"] == 0.10 and be["slots_sold"] == 1 and be["slots"] == 2
    assert be["revenue_per_hour"] == 0.05

    # the reseller is outbid upstream: its notice passes down to the buyer
    rival = MarketUser(market, "rival@example.com").register()
    rival.bid(big["id"], 0.90)
    rn = r.wait_contract(rc["id"], "notice", timeout=30)
    bn = b.wait_contract(bc["id"], "notice", timeout=30)
    assert "upstream" in bn["notice_reason"]
    assert bn["notice_until"] <= rn["notice_until"]
    # when the upstream contract ends, so does everything resold from it
    r.wait_contract(rc["id"], "ended", timeout=30)
    ended = b.wait_contract(bc["id"], "ended", timeout=30)
    assert "upstream" in ended["end_reason"]
    assert slice_offer["id"] not in [o["id"] for o in anon.get("/market/v1/offers?q=slice")
                                     ["offers"]]
