#!/usr/bin/python3
"""A whole clearing round in the running market, store included: read every
open contract, clear, write prices and history in one transaction.

    bench/market_round.py [BIDS] [OFFERS] [ROUNDS] [--baseline BUILD] [--repeat K]

bench_market_clearing times the auction alone; this times what the market's
ticker does every interval.  A `nestcloud market` (clearing every 2 s,
NESTCLOUD_DEBUG on) gets OFFERS spot offers and BIDS agreed contracts written
straight into its store; their backend is down, so winners wait and every
round is the steady state (all bids cleared, no contract changes state,
OFFERS price points written).  The ticker logs each round's wall and CPU
time (the CPU time of its thread says more on a loaded machine); the
medians and worst of ROUNDS rounds are reported.

With --baseline BUILD (another build tree, e.g. of the last commit before a
change), the same workload runs against both binaries in turn, K times each
(--repeat, default 3), in the same run: the medians of both and their ratio
are reported, so that the machine's load, which changes from minute to
minute here, weighs on both alike.
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
import test_market_helpers  # noqa: E402
from conftest import NESTCLOUD, wait_for  # noqa: E402
from test_market_helpers import Market, MarketUser  # noqa: E402


def run(binary, nbids, noffers, rounds):
    """One market from @binary: returns the rounds' (wall ms, CPU ms) and
    the number of price-history points seen."""
    test_market_helpers.NESTCLOUD = binary
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
        n_hist = len(market.anon().get("/market/v1/price-history?max_results=1000")
                     ["price_history"])
    finally:
        market.destroy()
    return got, n_hist


def main():
    args = sys.argv[1:]
    baseline, repeat = None, 3
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = os.path.join(os.path.abspath(args[i + 1]), "src", "nestcloud")
        del args[i:i + 2]
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    nbids = int(args[0]) if len(args) > 0 else 100000
    noffers = int(args[1]) if len(args) > 1 else 1000
    rounds = int(args[2]) if len(args) > 2 else 9
    os.environ["NESTCLOUD_DEBUG"] = "1"
    if baseline:
        compare(baseline, nbids, noffers, rounds, repeat)
        return
    got, n_hist = run(NESTCLOUD, nbids, noffers, rounds)
    ms = sorted(w for w, _ in got)
    cpu = sorted(c for _, c in got)
    print(f"clearing round, {nbids} bids over {noffers} offers, {rounds} rounds: "
          f"median {median(ms):.1f} ms, worst {ms[-1]:.1f} ms; CPU median {median(cpu):.1f} ms")
    record("market_round", {"bids": nbids, "offers": noffers, "rounds": rounds,
                            "median_ms": round(median(ms), 3), "worst_ms": round(ms[-1], 3),
                            "cpu_median_ms": round(median(cpu), 3), "cpu_worst_ms": round(cpu[-1], 3),
                            "history_points_seen": n_hist})


def compare(baseline, nbids, noffers, rounds, repeat):
    builds = (("baseline", baseline), ("this build", NESTCLOUD))
    got = {label: [] for label, _ in builds}
    hist = {}
    for k in range(repeat):
        for label, binary in (builds if k % 2 == 0 else builds[::-1]):
            rs, hist[label] = run(binary, nbids, noffers, rounds)
            got[label] += rs
            print(f"  pass {k + 1}/{repeat} {label}: CPU median "
                  f"{median([c for _, c in rs]):.1f} ms, wall median "
                  f"{median([w for w, _ in rs]):.1f} ms", flush=True)
    out = {"bids": nbids, "offers": noffers, "rounds": rounds, "repeat": repeat,
           "baseline": baseline, "build": NESTCLOUD}
    print(f"clearing round, {nbids} bids over {noffers} offers, {repeat} x {rounds} rounds each:")
    print("| build | CPU median | CPU worst | wall median | wall worst |")
    print("| --- | --- | --- | --- | --- |")
    for label, _ in builds:
        cpu = sorted(c for _, c in got[label])
        ms = sorted(w for w, _ in got[label])
        print(f"| {label} | {median(cpu):.1f} ms | {cpu[-1]:.1f} ms | {median(ms):.1f} ms "
              f"| {ms[-1]:.1f} ms |")
        key = "baseline" if label == "baseline" else "new"
        out.update({f"{key}_cpu_median_ms": round(median(cpu), 3),
                    f"{key}_cpu_worst_ms": round(cpu[-1], 3),
                    f"{key}_median_ms": round(median(ms), 3),
                    f"{key}_worst_ms": round(ms[-1], 3),
                    f"{key}_history_points_seen": hist[label]})
    ratio = out["baseline_cpu_median_ms"] / out["new_cpu_median_ms"]
    wratio = out["baseline_median_ms"] / out["new_median_ms"]
    print(f"baseline / this build: CPU {ratio:.2f}x, wall {wratio:.2f}x")
    out.update({"cpu_ratio": round(ratio, 3), "wall_ratio": round(wratio, 3)})
    record("market_round_compare", out)


if __name__ == "__main__":
    main()
