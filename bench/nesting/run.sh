#!/bin/bash
# The nesting experiment of the paper (Table I, Fig. 9) in one command: the
# same test application (app/) at L0, L1 and L2, the same load (nc-loadgen)
# against each, and a report (docs/NESTING.md, docs/nesting-fig9.svg).
#
#   bench/nesting/run.sh [--duration S] [--users N] [--think S]
#                        [--l1 URL] [--l2 URL] [--vm | --no-vm] [--no-l2-vm]
#                        [--levels L0,L1,L2] [--out DIR] [--no-report]
#
# L0: the application is installed on this host (app/setup.sh /) and started
#     on 127.0.0.1:18080.
# L1, L2: --l1/--l2 URL load an application that is already running there
#     (installed with app/setup.sh in that VM).  Otherwise, with --vm (the
#     default when the disks of vm/build.sh exist), run.sh boots them itself
#     with QEMU: L1 = the benchmark VM on this host (port 18180), L2 = the
#     same VM inside an L1 VM that runs QEMU (port 18280, forwarded through
#     both levels).  Under TCG (no /dev/kvm) the overhead measured is that
#     of software emulation, not the paper's hardware-assisted nesting; the
#     report says which accelerator each level had.
# Defaults: 64 users, exponential intervals of mean 8 s (8 requests/s in all,
# which L1 under TCG on 2 shared cores sustains; 1 s saturates it), 180 s
# per level.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/../.." && pwd)"
duration=180
users=64
think=8
l1_url=
l2_url=
vm=auto
l2_vm=yes
out=/var/tmp/nc-bench-nesting/results
images=/var/tmp/nc-bench-nesting
report=yes
levels=L0,L1,L2
boot_timeout=${NC_BENCH_BOOT_TIMEOUT:-900}
# L2 under TCG inside TCG boots its kernel at a few per cent of L1's speed
l2_boot_timeout=${NC_BENCH_L2_BOOT_TIMEOUT:-2700}
args="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --think) think=$2; shift 2 ;;
    --l1) l1_url=$2; shift 2 ;;
    --l2) l2_url=$2; shift 2 ;;
    --vm) vm=yes; shift ;;
    --no-vm) vm=no; shift ;;
    --no-l2-vm) l2_vm=no; shift ;;
    --out) out=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --no-report) report=no; shift ;;
    *) sed -n '5,8p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
# --levels reruns some levels; the others keep their results in DIR
want() { case ",$levels," in *",$1,"*) return 0 ;; esac; return 1; }
for lv in L0 L1 L2; do
    want $lv && rm -f "$out/$lv.json" "$out/$lv.csv" "$out/$lv.info"
done
py=/usr/bin/python3

# The load generator, built where the README's build puts it, or here.
build="${NESTCLOUD_BUILD:-$top/build}"
loadgen="$build/bench/nesting/nc-loadgen"
if [ ! -x "$loadgen" ]; then
    build=/var/tmp/build-bench
    loadgen="$build/bench/nesting/nc-loadgen"
    [ -f "$build/build.ninja" ] || meson setup "$build" "$top" -Dtest_image=false
    ninja -C "$build" bench/nesting/nc-loadgen
fi
"$loadgen" --self-test

accel=TCG
[ -w /dev/kvm ] && accel=KVM
declare -A how note acc

load() { # LEVEL URL
    echo "run.sh: $1: $users users, mean interval $think s, $duration s against $2"
    "$loadgen" --users "$users" --think "$think" --duration "$duration" --label "$1" \
        --json "$out/$1.json" --csv "$out/$1.csv" "$2"
}

wait_http() { # URL TIMEOUT PIDFILE
    local t0
    t0=$(date +%s)
    until "$py" -c "import urllib.request; urllib.request.urlopen('$1', timeout=10)" 2>/dev/null; do
        if [ $(($(date +%s) - t0)) -gt "$2" ] ||
            { [ -n "${3:-}" ] && ! kill -0 "$(cat "$3" 2>/dev/null)" 2>/dev/null; }; then
            return 1
        fi
        sleep 5
    done
}

qemu_pids=()
cleanup() {
    for p in "${qemu_pids[@]}"; do
        kill "$(cat "$p" 2>/dev/null)" 2>/dev/null || true
    done
    /opt/nestcloud-bench/stop.sh 2>/dev/null || true
}
trap cleanup EXIT

boot_vm() { # NAME DISK MEM PORT CMDLINE-EXTRA -> pidfile in $out/NAME.pid
    local pid="$out/$1.pid"
    local a=tcg,thread=multi
    [ "$accel" = KVM ] && a=kvm
    rm -f "$pid"
    qemu-system-x86_64 -accel "$a" -smp 2 -m "$3" -nographic -nodefaults \
        -kernel "$images/vmlinuz" -initrd "$images/initrd.img" \
        -append "console=ttyS0 root=/dev/vda rw init=/sbin/nc-bench-init quiet $5" \
        -drive "file=$2,format=raw,if=virtio,snapshot=on" \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$4-:8080" -device virtio-net-pci,netdev=n0 \
        -serial "file:$out/$1-console.log" -daemonize -pidfile "$pid"
    qemu_pids+=("$pid")
}

stop_vm() { # NAME
    kill "$(cat "$out/$1.pid" 2>/dev/null)" 2>/dev/null || true
    sleep 1
}

# --- L0 ----------------------------------------------------------------------
if want L0; then
"$here/app/setup.sh" /
/opt/nestcloud-bench/start.sh --port 18080 --level L0
acc[L0]="none (bare process)"
how[L0]="the application as processes on this host: nginx on 127.0.0.1:18080, app.py on :18081 (${users} users from nc-loadgen on the same host)."
note[L0]="This host is itself a guest of the provider ($(systemd-detect-virt 2>/dev/null || echo unknown) container, hypervisor CPU flag $(grep -q hypervisor /proc/cpuinfo && echo set || echo clear), no /dev/kvm), $(nproc) cores shared with other work."
load L0 http://127.0.0.1:18080/offers
/opt/nestcloud-bench/stop.sh
fi

# --- L1 ----------------------------------------------------------------------
if [ "$vm" = auto ]; then
    vm=no
    [ -z "$l1_url" ] && [ -r "$images/app.img" ] && vm=yes
fi
acc[L1]="-"
acc[L2]="-"
if ! want L1; then
    :
elif [ -n "$l1_url" ]; then
    acc[L1]="given by --l1"
    how[L1]="an application already running at $l1_url (--l1)."
    load L1 "$l1_url"
elif [ "$vm" = yes ]; then
    acc[L1]="QEMU $accel"
    how[L1]="the benchmark VM (vm/build.sh: Debian bookworm, the same app/setup.sh), 2 vCPUs, 1 GiB, started by run.sh with QEMU ($accel), virtio disk and net, user-mode network with a host port forward 127.0.0.1:18180 -> 8080."
    boot_vm L1 "$images/app.img" 1024 18180 nc_level=L1
    t0=$(date +%s)
    if wait_http http://127.0.0.1:18180/health "$boot_timeout" "$out/L1.pid"; then
        note[L1]="Boot to application ready: $(($(date +%s) - t0)) s."
        load L1 http://127.0.0.1:18180/offers
    else
        note[L1]="The VM did not serve within $boot_timeout s (console: $out/L1-console.log)."
    fi
    stop_vm L1
else
    note[L1]="No --l1 URL and no benchmark VM disk in $images (bench/nesting/vm/build.sh builds it)."
fi

# --- L2 ----------------------------------------------------------------------
if ! want L2; then
    :
elif [ -n "$l2_url" ]; then
    acc[L2]="given by --l2"
    how[L2]="an application already running at $l2_url (--l2)."
    load L2 "$l2_url"
elif [ "$vm" = yes ] && [ "$l2_vm" = yes ] && [ -r "$images/l1host.img" ]; then
    acc[L2]="QEMU $accel in QEMU $accel"
    how[L2]="the same benchmark VM booted by QEMU ($accel) inside an L1 VM (2 vCPUs, 3 GiB, QEMU $accel on this host); ports forwarded 127.0.0.1:18280 -> L1:8080 -> L2:8080."
    boot_vm L2 "$images/l1host.img" 3072 18280 nc_role=host-l2
    t0=$(date +%s)
    if wait_http http://127.0.0.1:18280/health "$l2_boot_timeout" "$out/L2.pid"; then
        note[L2]="Boot of L1 and L2 to application ready: $(($(date +%s) - t0)) s."
        load L2 http://127.0.0.1:18280/offers
    else
        note[L2]="L2 did not serve within $l2_boot_timeout s of starting L1 (console: $out/L2-console.log)."
    fi
    stop_vm L2
else
    note[L2]="${note[L2]:-No --l2 URL and no L1-host disk in $images (vm/build.sh --with-l2 builds it).}"
fi

# --- report ------------------------------------------------------------------
for lv in L0 L1 L2; do
    want $lv || continue
    "$py" -c 'import json,sys; print(json.dumps(dict(zip(["accelerator","how","note"], sys.argv[1:]))))' \
        "${acc[$lv]:--}" "${how[$lv]:-}" "${note[$lv]:-}" >"$out/$lv.info"
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
