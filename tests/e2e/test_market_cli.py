"""`nestcloud market VERB`: the market's client, against a real market and
backend.  The catalogue needs no token; bids and contracts need an API
token made in the market, and the cloud's admin token is never sent."""
import json
import os
import subprocess

import pytest

from conftest import NESTCLOUD
from test_market_helpers import Market, MarketUser, backend_cloud


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
        yield market, offer, buyer.api_token()
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
