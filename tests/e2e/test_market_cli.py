"""`nestcloud market VERB`: the market's client, against a real market and
backend.  The catalogue needs no token; bids and contracts need an API
token made in the market, and the cloud's admin token is never sent."""
import json
import os
import subprocess
import urllib.request

import pytest

from conftest import NESTCLOUD, free_port, wait_for
from test_market_helpers import Market, MarketUser, backend_cloud


class World(tuple):
    """(market, offer, buyer's token), with the provider and backend beside."""


@pytest.fixture(scope="module")
def world():
    backend = backend_cloud("mkt-cli")
    market = Market("cli", clearing=1).start()
    try:
        prov = MarketUser(market, f"prov-{os.getpid()}@example.com").register()
        prov.become_provider()
        b = prov.add_backend(backend, name="local")
        offer = prov.add_offer(b["id"], name="cli offer", slots=1, reserve_price=0.02)
        buyer = MarketUser(market, f"buyer-{os.getpid()}@example.com").register()
        w = World((market, offer, buyer.api_token()))
        w.prov, w.backend, w.backend_id = prov, backend, b["id"]
        yield w
    finally:
        market.destroy()
        backend.destroy()


def market_cli(market, *args, token=None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NESTCLOUD_")}
    env["NESTCLOUD_MARKET_URL"] = market.url
    env["NESTCLOUD_TOKEN"] = "nc_the_cloud_admin_token_must_not_travel"
    if token:
        env["NESTCLOUD_MARKET_TOKEN"] = token
    r = subprocess.run([NESTCLOUD, "market", *args], capture_output=True, text=True, env=env,
                       timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"nestcloud market {' '.join(args)} -> {r.returncode}\n{r.stderr}")
    return r


def test_catalogue_is_public(world):
    market, offer, _ = world
    out = market_cli(market, "offers").stdout
    assert "cli offer" in out and offer["id"] in out and "spot" in out
    listed = json.loads(market_cli(market, "offers", "--json").stdout)["offers"]
    assert [o["id"] for o in listed] == [offer["id"]]
    shown = json.loads(market_cli(market, "offer", offer["id"]).stdout)
    assert shown["name"] == "cli offer"
    history = json.loads(market_cli(market, "prices", offer["id"]).stdout)
    assert isinstance(history["price_history"], list) and "next_token" in history


def test_bid_needs_a_market_token(world):
    market, offer, _ = world
    r = market_cli(market, "bid", offer["id"], "--max-price", "0.05", check=False)
    assert r.returncode == 1 and "log in" in r.stderr


def test_bid_and_end_with_a_token(world):
    market, offer, token = world
    c = json.loads(market_cli(market, "bid", offer["id"], "--max-price", "0.05",
                              token=token).stdout)
    assert c["offer"]["id"] == offer["id"] and float(c["max_price"]) == 0.05
    out = market_cli(market, "contracts", token=token).stdout
    assert c["id"] in out and "cli offer" in out and "consumer" in out
    market_cli(market, "end", c["id"], token=token)
    got = json.loads(market_cli(market, "contract", c["id"], token=token).stdout)
    assert got["state"] == "ended"


def test_bad_input_is_refused(world):
    market, offer, token = world
    r = market_cli(market, "bid", offer["id"], "--max-price", "-1", token=token, check=False)
    assert r.returncode == 1 and "max_price" in r.stderr
    r = market_cli(market, "bid", "00000000-0000-4000-8000-000000000000", "--max-price", "0.05",
                   token=token, check=False)
    assert r.returncode == 1
    assert market_cli(market, "bid", token=token, check=False).returncode == 2
    assert market_cli(market, "nosuchverb", check=False).returncode == 2
    contracts = json.loads(market_cli(market, "contracts", "--json", token=token).stdout)
    assert all(c["state"] == "ended" for c in contracts["contracts"])


def http_get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def test_bid_with_a_seed_and_expose_a_port(world, tmp_path):
    market, _, token = world
    offer = world.prov.add_offer(world.backend_id, name="cli ports", slots=1,
                                 reserve_price=0.02, memory_mib=256, ports=1)
    seed = tmp_path / "user-data"
    seed.write_text("#cloud-config\n")
    big = tmp_path / "big"
    big.write_text("x" * (33 * 1024))
    for bad in (["--user-data", str(tmp_path / "missing")], ["--user-data", str(big)]):
        r = market_cli(market, "bid", offer["id"], "--max-price", "0.05", *bad, token=token,
                       check=False)
        assert r.returncode == 2, r.stderr
    c = json.loads(market_cli(market, "bid", offer["id"], "--max-price", "0.05", "--start",
                              "--user-data", str(seed), token=token).stdout)
    assert c["config"]["start"] is True and c["config"]["user_data"] == "#cloud-config\n"

    def running():
        allocs = json.loads(market_cli(market, "allocations", "--json", token=token).stdout)
        return next((a for a in allocs["allocations"]
                     if a["contract"] == c["id"] and a["state"] == "running"), None)
    a = wait_for("the VM to run", running, timeout=240, interval=2)
    aid = a["id"]

    port = free_port()
    for bad in (["abc"], ["0"], ["80", "--port", "80"], ["80", "--port", "x"], []):
        r = market_cli(market, "expose", aid, *bad, token=token, check=False)
        assert r.returncode == 2, (bad, r.stderr)
    r = market_cli(market, "expose", aid, "80", token=token, check=False)
    assert r.returncode == 1 and "host_port" in r.stderr
    assert market_cli(market, "unexpose", aid, "80", token=token, check=False).returncode == 2
    assert json.loads(market_cli(market, "ports", aid, "--json", token=token).stdout)[
        "ports"] == []

    out = json.loads(market_cli(market, "expose", aid, "80", "--port", str(port),
                                token=token).stdout)
    assert out["port"]["host_port"] == port
    table = market_cli(market, "ports", aid, token=token).stdout
    assert str(port) in table and "127.0.0.1" in table
    assert wait_for("the guest's page", lambda: http_get(port), timeout=240,
                    interval=1).strip() == a["name"]
    market_cli(market, "unexpose", aid, str(port), token=token)
    wait_for("the forward to go", lambda: json.loads(market_cli(
        market, "ports", aid, "--json", token=token).stdout)["ports"] == [], timeout=60)
    market_cli(market, "end", c["id"], token=token)
