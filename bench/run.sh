#!/bin/bash
# Runs the benchmarks of docs/BENCHMARKS.md; results are appended to
# bench/results/*.jsonl.  Each compares against a baseline in the same run.
set -euo pipefail
cd "$(dirname "$0")"
py=/usr/bin/python3
$py launch.py "${LAUNCH_N:-20}"
$py footprint.py "${FOOTPRINT_SECONDS:-60}"
$py api.py "${API_SECONDS:-10}" "${API_CONNECTIONS:-32}"
$py storage.py "${STORAGE_N:-5}"
NESTCLOUD_BUILD="${NESTCLOUD_BUILD:-../build}" $py guest_boot.py "${BOOT_N:-5}"
"${NESTCLOUD_BUILD:-../build}/bench/bench_sched" "${SCHED_HOSTS:-10000}" "${SCHED_VMS:-1000000}"
"${NESTCLOUD_BUILD:-../build}/bench/bench_sim_launch" -n 2000 -r 5
"${NESTCLOUD_BUILD:-../build}/bench/bench_json_dump" -n 100000 -r 7
"${NESTCLOUD_BUILD:-../build}/bench/bench_market_clearing" 100000 1000 21
NESTCLOUD_BUILD="${NESTCLOUD_BUILD:-../build}" $py market_round.py 100000 1000 7
NESTCLOUD_BUILD="${NESTCLOUD_BUILD:-../build}" $py market_page.py 5 32 100
