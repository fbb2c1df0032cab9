#!/usr/bin/python3
"""The market's service page under load: time to first byte and requests
per second, against nginx serving the very same bytes as a static file, in
one run.

    bench/market_page.py [SECONDS] [CONNECTIONS] [SAMPLES]

A `nestcloud up` backend (its market off) and a `nestcloud market` with one
provider, one spot offer and a price history of HISTORY points (the page
embeds the newest 300).  Measures, for /offers/{id} (the HTML page with its
data), /market/v1/offers/{id}/page (the same data as JSON) and the catalogue
API /market/v1/offers:
  - TTFB: SAMPLES sequential requests with curl, median and p90;
  - throughput: wrk -t2 -cCONNECTIONS for SECONDS, twice, alternating with
    nginx on the same page, best of two each.
"""
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

from api import nginx, wrk
from common import free_port_for_nginx, median, record

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from test_market_helpers import Market, MarketUser, backend_cloud  # noqa: E402

HISTORY = 5000


def ttfb(url, samples):
    out = []
    for _ in range(samples):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer}",
                            url], capture_output=True, text=True, check=True)
        out.append(float(r.stdout) * 1000)
    out.sort()
    return {"median_ms": round(median(out), 3), "p90_ms": round(out[int(len(out) * 0.9)], 3)}


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    cloud = backend_cloud("bench-market")
    market = Market("bench", clearing=3600, probe=60)
    market.start()
    root = tempfile.mkdtemp(prefix="nc-nginx-")
    os.chmod(root, 0o755)
    pidfile = None
    try:
        p = MarketUser(market, "bench@example.com").register()
        p.become_provider()
        b = p.add_backend(cloud)
        offer = p.add_offer(b["id"], name="bench vm", slots=64)
        # a price history as after days of clearings, written straight into
        # the market's store while it runs (WAL): the page shows the newest
        now = int(time.time() * 1000)
        db = sqlite3.connect(os.path.join(market.state, "market.db"), timeout=30)
        db.executemany("INSERT INTO price_history (offer, time, price, bids, winners, filled,"
                       " slots, backend_up, interruptions) VALUES (?,?,?,?,?,?,?,1,0)",
                       [(offer["id"], now - (HISTORY - i) * 60000, 10000 + (i * 37) % 5000,
                         i % 50, i % 40, i % 64, 64) for i in range(HISTORY)])
        db.commit()
        db.close()
        page = f"{market.url}/offers/{offer['id']}"
        api_page = f"{market.url}/market/v1/offers/{offer['id']}/page"
        catalogue = f"{market.url}/market/v1/offers"
        body = subprocess.run(["curl", "-fsS", page], capture_output=True, check=True).stdout
        os.makedirs(os.path.join(root, "www"))
        with open(os.path.join(root, "www", "offer.html"), "wb") as f:
            f.write(body)
        port = free_port_for_nginx()
        pidfile = nginx(root, port)
        static = f"http://127.0.0.1:{port}/offer.html"

        result = {"seconds": seconds, "connections": conns, "samples": samples,
                  "history_points": HISTORY, "page_bytes": len(body)}
        result["ttfb"] = {"page": ttfb(page, samples), "page_json": ttfb(api_page, samples),
                          "catalogue": ttfb(catalogue, samples),
                          "nginx_static": ttfb(static, samples)}
        runs = {"page": [], "page_json": [], "catalogue": [], "nginx_static": []}
        for _ in range(2):
            runs["page"].append(wrk(page, seconds, conns))
            runs["nginx_static"].append(wrk(static, seconds, conns))
            runs["page_json"].append(wrk(api_page, seconds, conns))
            runs["catalogue"].append(wrk(catalogue, seconds, conns))
        result["wrk"] = runs
        best = {k: max(r["rps"] for r in v) for k, v in runs.items()}
        result["best_rps"] = best
        result["page_vs_nginx"] = round(best["page"] / best["nginx_static"], 3)
    finally:
        if pidfile and os.path.exists(pidfile):
            subprocess.run(["kill", open(pidfile).read().strip()])
        market.destroy()
        cloud.destroy()
        subprocess.run(["rm", "-rf", root])
    record("market_page", result)


if __name__ == "__main__":
    main()
