#!/usr/bin/python3
"""A whole clearing round in the running market, store included: read every
open contract, clear, write prices and history in one transaction.

    bench/market_round.py [BIDS] [OFFERS] [ROUNDS]

bench_market_clearing times the auction alone; this times what the market's
ticker does every interval.  A `nestcloud market` (clearing every 2 s,
NESTCLOUD_DEBUG on) gets OFFERS spot offers and BIDS agreed contracts written
straight into its store; their backend is down, so winners wait and every
round is the steady state (all bids cleared, no contract changes state,
OFFERS price points written).  The ticker logs each round's wall and CPU
time (the CPU time of its thread says more on a loaded machine); the
medians and worst of ROUNDS rounds are reported.
"""
import os
import random
import re
import sqlite3
import sys
import time
import uuid

from common import median, record

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from conftest import wait_for  # noqa: E402
from test_market_helpers import Market, MarketUser  # noqa: E402


def main():
    nbids = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    noffers = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    os.environ["NESTCLOUD_DEBUG"] = "1"
    market = Market("round", clearing=2, probe=3600)
    market.start()
    try:
        p = MarketUser(market, "provider@example.com").register()
        p.become_provider()
        c = MarketUser(market, "consumer@example.com").register()
        now = int(time.time() * 1000)
        rnd = random.Random(42)
        db = sqlite3.connect(os.path.join(market.state, "market.db"), timeout=30)
        bid = str(uuid.uuid4())
        db.execute("INSERT INTO backends (id, provider, name, url, token_sealed, state,"
                   " state_since, created_at) VALUES (?,?,?,?,?,?,?,?)",
                   (bid, p.user["id"], "bench", "http://127.0.0.1:9", "x", "down", now, now))
        offers = []
        for i in range(noffers):
            oid = str(uuid.uuid4())
            reserve = rnd.randint(10000, 100000)
            offers.append((oid, reserve))
            db.execute("INSERT INTO offers (id, provider, backend, kind, name, vcpus, memory_mib,"
                       " slots, reserve, pricing, auto_accept, availability_promise, state,"
                       " price, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (oid, p.user["id"], bid, "compute", f"o{i}", 1, 128,
                        rnd.randint(1, 64), reserve, "spot", 1, 990, "active", reserve, now, now))
        rows = []
        for i in range(nbids):
            oid, reserve = offers[rnd.randrange(noffers)]
            rows.append((str(uuid.uuid4()), oid, c.user["id"], p.user["id"], "agreed",
                         reserve // 2 + rnd.randint(0, 200000),
                         rnd.randint(2, 4) if rnd.randrange(10) == 0 else 1, now + i, now + i))
        db.executemany("INSERT INTO contracts (id, offer, consumer, provider, state, max_price,"
                       " units, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        db.commit()
        db.close()
        start = len(market.log())

        def times():
            return [(float(w), float(c)) for w, c in re.findall(
                r"clearing round took ([\d.]+) ms \(cpu ([\d.]+) ms\)", market.log()[start:])]
        # the first round after the insert may have begun before it: skip it
        wait_for(f"{rounds + 1} clearing rounds", lambda: len(times()) >= rounds + 1,
                 timeout=60 + rounds * 30, interval=0.5)
        got = times()[1:rounds + 1]
        ms = sorted(w for w, _ in got)
        cpu = sorted(c for _, c in got)
        n_hist = len(market.anon().get("/market/v1/price-history?max_results=1000")
                     ["price_history"])
    finally:
        market.destroy()
    print(f"clearing round, {nbids} bids over {noffers} offers, {rounds} rounds: "
          f"median {median(ms):.1f} ms, worst {ms[-1]:.1f} ms; CPU median {median(cpu):.1f} ms")
    record("market_round", {"bids": nbids, "offers": noffers, "rounds": rounds,
                            "median_ms": round(median(ms), 3), "worst_ms": round(ms[-1], 3),
                            "cpu_median_ms": round(median(cpu), 3), "cpu_worst_ms": round(cpu[-1], 3),
                            "history_points_seen": n_hist})


if __name__ == "__main__":
    main()
