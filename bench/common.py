"""Shared helpers for the benchmarks: a nestcloud daemon of our own, timing,
medians.  Benchmarks print a table and append a JSON line to results/."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from conftest import Cloud, virsh, wait_for  # noqa: E402,F401

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def median(xs):
    return statistics.median(xs)


def record(name, data):
    os.makedirs(RESULTS, exist_ok=True)
    data = {"bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    with open(os.path.join(RESULTS, f"{name}.jsonl"), "a") as f:
        f.write(json.dumps(data) + "\n")
    print(json.dumps(data, indent=2))


def free_port_for_nginx():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
