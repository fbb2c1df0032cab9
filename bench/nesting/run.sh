#!/bin/bash
# The nesting experiment of the paper (Table I, Fig. 9) in one command: the
# same test application (app/: nginx in front of nc-benchapp) at L0, L1 and
# L2, the same load (nc-loadgen) against each, and a report (docs/NESTING.md,
# docs/nesting-fig9.svg).
#
#   bench/nesting/run.sh [--duration S] [--users N] [--think S]
#                        [--l1 URL] [--l2 URL] [--levels L0,L1,L2]
#                        [--images DIR] [--nested DIR] [--out DIR] [--no-report]
#
# L0: the application is installed on this host (app/setup.sh /) and started
#     on 127.0.0.1:18080.
# L1: the application VM (vm/build.sh, in --images DIR) launched by a
#     private `nestcloud up` on this host, its port 8080 exposed on 18180.
# L2: the same VM launched by the nestcloud inside the Nested Cloud VM
#     (images/nested/build.sh --extra-image DIR, in --nested DIR), which the
#     L0 nestcloud launches; exposed at L1 on 18280, which L1 has L0 forward.
# --l1/--l2 URL instead load an application already running there.  Under
# TCG (no usable /dev/kvm) the overhead measured is that of software
# emulation, not the paper's hardware-assisted nesting; the report says
# which accelerator each level had.  Missing images are built (root).
# Defaults: 64 users, exponential intervals of mean 8 s, 180 s per level.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/../.." && pwd)"
duration=180
users=64
think=8
l1_url=
l2_url=
base=/var/tmp/nc-bench-nesting
out=
images=
nested=
report=yes
levels=L0,L1,L2
boot_timeout=${NC_BENCH_BOOT_TIMEOUT:-900}
# L2 under TCG inside TCG boots at a few per cent of L1's speed
l2_boot_timeout=${NC_BENCH_L2_BOOT_TIMEOUT:-2700}
args="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --think) think=$2; shift 2 ;;
    --l1) l1_url=$2; shift 2 ;;
    --l2) l2_url=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --nested) nested=$2; shift 2 ;;
    --no-report) report=no; shift ;;
    *) sed -n '7,9p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done
out=${out:-$base/results}
images=${images:-$base/app}
nested=${nested:-$base/nested}
# a state dir of its own per run: `nestcloud purge` leaves the cloud's
# libvirt storage pools defined (levels.py down removes them, but not after
# a run that was killed), and a new cloud refuses a pool path that an old
# pool still claims
state=$base/cloud.$$
mkdir -p "$out"
# --levels reruns some levels; the others keep their results in DIR
want() { case ",$levels," in *",$1,"*) return 0 ;; esac; return 1; }
for lv in L0 L1 L2; do
    want $lv && rm -f "$out/$lv.json" "$out/$lv.csv" "$out/$lv.info" "$out/$lv.cloud.json"
done
py=/usr/bin/python3

# The load generator, application and nestcloud, built where the README's
# build puts them, or here.
build="${NESTCLOUD_BUILD:-$top/build}"
if [ ! -x "$build/bench/nesting/nc-benchapp" ] || [ ! -x "$build/src/nestcloud" ]; then
    [ -f "$build/build.ninja" ] || meson setup "$build" "$top"
    ninja -C "$build"
fi
export NESTCLOUD_BUILD=$build
loadgen="$build/bench/nesting/nc-loadgen"
"$loadgen" --self-test

declare -A how note acc

load() { # LEVEL URL
    echo "run.sh: $1: $users users, mean interval $think s, $duration s against $2 (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$out/$1.loadavg"
    "$loadgen" --users "$users" --think "$think" --duration "$duration" --label "$1" \
        --json "$out/$1.json" --csv "$out/$1.csv" "$2"
    echo "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/$1.loadavg"
}

cloud_up=no
cleanup() {
    /opt/nestcloud-bench/stop.sh 2>/dev/null || true
    if [ $cloud_up = yes ]; then
        "$py" "$here/levels.py" down --state "$state" --nestcloud "$build/src/nestcloud" || true
        rm -rf "$state"
    fi
}
trap cleanup EXIT

# The VMs: built when absent (vm/build.sh needs no root; the nested image does).
need_vms=no
{ want L1 && [ -z "$l1_url" ]; } && need_vms=yes
{ want L2 && [ -z "$l2_url" ]; } && need_vms=yes
if [ $need_vms = yes ]; then
    [ -r "$images/app-initrd.img" ] || "$here/vm/build.sh" --out "$images" --bin "$build/bench/nesting/nc-benchapp"
    if want L2 && [ -z "$l2_url" ] && [ ! -r "$nested/nested.qcow2" ]; then
        "$top/images/nested/build.sh" --build "$build" --output "$nested/nested.qcow2" --extra-image "$images"
    fi
    l0_accel=$("$py" "$here/levels.py" up --state "$state" --nestcloud "$build/src/nestcloud")
    cloud_up=yes
fi
accel_name() { case $1 in kvm) echo KVM ;; tcg) echo TCG ;; *) echo "$1" ;; esac; }
info() { # LEVEL KEY: a value of OUT/LEVEL.cloud.json
    "$py" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else (round(v) if isinstance(v, float) else v))' "$out/$1.cloud.json" "$2" 2>/dev/null || true
}

# --- L0 ----------------------------------------------------------------------
if want L0; then
"$here/app/setup.sh" --bin "$build/bench/nesting/nc-benchapp" /
/opt/nestcloud-bench/start.sh --port 18080 --level L0
acc[L0]="none (bare process)"
how[L0]="the application as processes on this host: nginx on 127.0.0.1:18080, nc-benchapp on :18081 (${users} users from nc-loadgen on the same host)."
note[L0]="This host is itself a guest of the provider ($(systemd-detect-virt 2>/dev/null || echo unknown) container, hypervisor CPU flag $(grep -q hypervisor /proc/cpuinfo && echo set || echo clear), /dev/kvm $([ -e /dev/kvm ] && echo 'present but its module (PVM) cannot run ordinary guests' || echo absent)), $(nproc) cores shared with other work."
load L0 http://127.0.0.1:18080/offers
/opt/nestcloud-bench/stop.sh
fi

# --- L1 ----------------------------------------------------------------------
acc[L1]="-"
acc[L2]="-"
if ! want L1; then
    :
elif [ -n "$l1_url" ]; then
    acc[L1]="given by --l1"
    how[L1]="an application already running at $l1_url (--l1)."
    load L1 "$l1_url"
elif url=$("$py" "$here/levels.py" l1 --state "$state" --app "$images" --port 18180 \
        --out "$out" --timeout "$boot_timeout"); then
    a=$(accel_name "$(info L1 accelerator)")
    acc[L1]="QEMU $a (nestcloud)"
    how[L1]="the application VM (vm/build.sh: Debian kernel, initramfs with busybox, nginx, nc-benchapp; $(info L1 vcpus) vCPU, $(info L1 memory_mib) MiB) launched by nestcloud on this host (libvirt, QEMU $a), port 8080 exposed with \`vm expose\` on 127.0.0.1:18180 (nestcloud's relay)."
    note[L1]="Image import to application ready: $(info L1 boot_s) s."
    load L1 "$url"
    "$py" "$here/levels.py" vm-down --state "$state" bench-l1
else
    acc[L1]="QEMU $(accel_name "$l0_accel") (nestcloud)"
    note[L1]="The VM did not serve within $boot_timeout s (console: $out/L1-console.log)."
    "$py" "$here/levels.py" vm-down --state "$state" bench-l1 || true
fi

# --- L2 ----------------------------------------------------------------------
if ! want L2; then
    :
elif [ -n "$l2_url" ]; then
    acc[L2]="given by --l2"
    how[L2]="an application already running at $l2_url (--l2)."
    load L2 "$l2_url"
else
    ok=yes
    url=$("$py" "$here/levels.py" l2 --state "$state" --app "$images" --nested "$nested" \
        --port 18280 --out "$out" --timeout "$l2_boot_timeout") || ok=no
    a0=$(accel_name "$l0_accel")
    a=$(accel_name "$(info L2 accelerator)")
    acc[L2]="QEMU ${a:-?} (nestcloud) in QEMU $a0 (nestcloud)"
    how[L2]="the same application VM ($(info L2 vcpus) vCPU, $(info L2 memory_mib) MiB) launched by the nestcloud inside the Nested Cloud VM (images/nested, 2 vCPUs, 1536 MiB), which the L0 nestcloud launches (QEMU $a0); \`vm expose\` at L1 on port 18280, forwarded by L0 (127.0.0.1:18280 -> L1 -> L2:8080, nestcloud's relays)."
    if [ $ok = yes ]; then
        note[L2]="Nested Cloud VM create to its API ready: $(info L2 l1_boot_s) s; L2 create at L1 to application ready: $(info L2 l2_boot_s) s."
        load L2 "$url"
    else
        note[L2]="L2 did not serve within $l2_boot_timeout s (consoles: $out/L2-l1-console.log, $out/L2-console.log)."
    fi
    "$py" "$here/levels.py" vm-down --state "$state" bench-nest || true
fi

# --- report ------------------------------------------------------------------
for lv in L0 L1 L2; do
    want $lv || continue
    "$py" -c 'import json,sys; print(json.dumps(dict(zip(["accelerator","how","note","loadavg"], sys.argv[1:]))))' \
        "${acc[$lv]:--}" "${how[$lv]:-}" "${note[$lv]:-}" \
        "$(paste -sd'|' "$out/$lv.loadavg" 2>/dev/null | sed 's/|/ -> /')" >"$out/$lv.info"
done
"$py" - "$out" <<'PY'
import json, os, sys
d = {}
for lv in ("L0", "L1", "L2"):
    p = os.path.join(sys.argv[1], lv + ".info")
    if os.path.exists(p):
        d[lv] = json.load(open(p))
json.dump(d, open(os.path.join(sys.argv[1], "levels.json"), "w"), indent=1)
PY
if [ $report = yes ]; then
    "$py" "$here/report.py" --out "$out" --md "$top/docs/NESTING.md" --svg "$top/docs/nesting-fig9.svg" \
        --command "bench/nesting/run.sh${args:+ $args}"
    mkdir -p "$here/results"
    cp "$out"/levels.json "$here/results/"
    for lv in L0 L1 L2; do
        [ -f "$out/$lv.json" ] && cp "$out/$lv.json" "$out/$lv.csv" "$here/results/"
    done
fi
echo "run.sh: results in $out"
