#!/bin/bash
# Smoke test of the nestcloud test guest image under libvirt (developer tool).
#
#   images/test/smoke.sh OUTDIR          (OUTDIR as given to build.sh)
#
# Boots the image twice under qemu:///system (domain type='qemu', TCG):
#   (a) direct kernel boot (test-vmlinuz + test-initrd.img + test.cmdline),
#       with a '#!/bin/sh' NoCloud user-data; then live vCPU hotplug,
#       live DIMM hotplug, balloon, vCPU hot-unplug (reported, not required)
#       and `virsh shutdown`;
#   (b) BIOS boot from test.qcow2 (SeaBIOS -> SYSLINUX), with a
#       '#cloud-config' user-data carrying two ssh keys; `virsh shutdown`.
# Each domain gets a qcow2 overlay on test.qcow2 and a seed ISO (label cidata).
# Exits non-zero on the first failed check; cleans up domains and files.
#
# Environment: LIBVIRT_URI (default qemu:///system), SMOKE_KEEP=1 keeps the
# work directory (console logs, XML), SMOKE_NAT=1 also boots once on a
# temporary libvirt NAT network and fetches the guest's httpd page from the
# host (needs dnsmasq and iptables).
# Host packages: libvirt-clients, libvirt-daemon(-driver-qemu),
# qemu-system-x86, qemu-utils, genisoimage (libvirtd and virtlogd running).
set -euo pipefail

[ $# -eq 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
OUT="$(cd "$1" && pwd)"
URI="${LIBVIRT_URI:-qemu:///system}"
NAME="nctest-smoke-$$-$(date +%s)"
WORK="$OUT/smoke-$NAME"
KERNEL="$OUT/test-vmlinuz"
INITRD="$OUT/test-initrd.img"
IMAGE="$OUT/test.qcow2"
CMDLINE="$(cat "$OUT/test.cmdline")"
NET=
DOM=

for f in "$KERNEL" "$INITRD" "$IMAGE"; do
	[ -r "$f" ] || {
		echo "smoke: missing $f (run images/test/build.sh $OUT)" >&2
		exit 1
	}
done
for tool in virsh qemu-img genisoimage; do
	command -v "$tool" >/dev/null || {
		echo "smoke: missing $tool" >&2
		exit 1
	}
done

virsh() { command virsh -q -c "$URI" "$@"; }

cleanup() {
	set +e
	if [ -n "$DOM" ]; then
		virsh destroy "$DOM" >/dev/null 2>&1
		virsh undefine "$DOM" >/dev/null 2>&1
	fi
	if [ -n "$NET" ]; then
		virsh net-destroy "$NET" >/dev/null 2>&1
		virsh net-undefine "$NET" >/dev/null 2>&1
	fi
	if [ "${SMOKE_KEEP:-0}" = 1 ]; then
		echo "smoke: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

fail() {
	echo "smoke: FAIL: $*" >&2
	if [ -n "$DOM" ] && [ -r "$WORK/$DOM.console.log" ]; then
		echo "---- last console lines ($DOM) ----" >&2
		tail -n 25 "$WORK/$DOM.console.log" | tr -d '\r' >&2
	fi
	exit 1
}
ok() { echo "smoke: ok: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$WORK"
chmod 755 "$WORK"

# console FILE: the console log with CRs stripped.
console() { tr -d '\r' <"$WORK/$DOM.console.log" 2>/dev/null || true; }

# wait_for REGEX TIMEOUT: wait until the console log matches REGEX.
wait_for() {
	local re="$1" t="$2" start
	start=$(now)
	while ! console | grep -Eq -- "$re"; do
		if [ "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print (b - a > '"$t"') }')" = 1 ]; then
			return 1
		fi
		sleep 0.2
	done
}

# last_stat FIELD: the value of FIELD in the last NC-STATS line.
last_stat() {
	console | grep '^NC-STATS ' | tail -n 1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

# wait_stat FIELD OP VALUE TIMEOUT: wait until the last NC-STATS FIELD OP VALUE
# (OP is an awk comparison operator).
wait_stat() {
	local field="$1" op="$2" val="$3" t="$4" start v
	start=$(now)
	while :; do
		v="$(last_stat "$field")"
		if [ -n "$v" ] && awk -v v="$v" -v w="$val" 'BEGIN { exit !(v '"$op"' w) }'; then
			return 0
		fi
		if [ "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print (b - a > '"$t"') }')" = 1 ]; then
			return 1
		fi
		sleep 0.5
	done
}

# make_seed DIR HOSTNAME USER-DATA-FILE: seed ISO DIR/seed.iso.
make_seed() {
	local dir="$1" host="$2" ud="$3"
	mkdir -p "$dir"
	printf 'instance-id: %s\nlocal-hostname: %s\n' "iid-$host" "$host" >"$dir/meta-data"
	cp "$ud" "$dir/user-data"
	(cd "$dir" && genisoimage -quiet -output seed.iso -volid cidata -joliet -rock user-data meta-data)
}

# domain_xml MODE SEED [NETWORK]: domain XML for boot MODE direct|bios.
domain_xml() {
	local mode="$1" seed="$2" net="${3:-}" os iface
	if [ "$mode" = direct ]; then
		os="<kernel>$KERNEL</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>$CMDLINE</cmdline>"
	else
		os="<boot dev='hd'/>"
	fi
	if [ -n "$net" ]; then
		iface="<interface type='network'><source network='$net'/><model type='virtio'/></interface>"
	else
		iface="<interface type='user'><model type='virtio'/></interface>"
	fi
	cat <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <maxMemory slots='16' unit='MiB'>2048</maxMemory>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    $os
  </os>
  <features><acpi/><apic/></features>
  <cpu><numa><cell id='0' cpus='0-3' memory='256' unit='MiB'/></numa></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$WORK/$DOM.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$seed'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    $iface
    <serial type='pty'>
      <log file='$WORK/$DOM.console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
}

# boot MODE SEED [NETWORK]: create the domain, wait for the first NC-STATS.
BOOT_SECONDS=
boot() {
	local mode="$1" seed="$2" net="${3:-}" start
	DOM="$NAME-$mode${net:+-nat}"
	qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$WORK/$DOM.qcow2"
	domain_xml "$mode" "$seed" "$net" >"$WORK/$DOM.xml"
	start=$(now)
	virsh create "$WORK/$DOM.xml" >/dev/null || fail "virsh create ($mode)"
	wait_for '^NC-STATS ' 180 || fail "$mode boot: no NC-STATS within 180 s"
	BOOT_SECONDS="$(elapsed "$start")"
	ok "$mode boot: first NC-STATS ${BOOT_SECONDS} s after virsh create"
	console | grep -q "^NC-BOOT kernel=" || fail "$mode boot: no NC-BOOT line"
	console | grep -q "^NC-ROOT dev=/dev/vda2" || fail "$mode boot: root disk not used"
}

# shutdown_check: virsh shutdown must power the guest off within 20 s.
shutdown_check() {
	local start
	start=$(now)
	virsh shutdown "$DOM" >/dev/null || fail "virsh shutdown"
	while virsh list --name | grep -qx "$DOM"; do
		if [ "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print (b - a > 20) }')" = 1 ]; then
			fail "virsh shutdown: still running after 20 s"
		fi
		sleep 0.2
	done
	console | grep -q '^NC-POWEROFF' || fail "guest stopped without its ACPI power-off path"
	ok "virsh shutdown: shut off after $(elapsed "$start") s"
	DOM=
}

# ---------------------------------------------------------------- (a) direct
cat >"$WORK/ud-script" <<'EOF'
#!/bin/sh
echo "SMOKE-USERDATA ran as $(id -u) on $(hostname)"
echo "SMOKE-HTTP $(wget -q -O - http://127.0.0.1/ | grep -o '<h1>[^<]*</h1>')"
EOF
make_seed "$WORK/seed-a" smoke-direct "$WORK/ud-script"
boot direct "$WORK/seed-a/seed.iso"
BOOT_DIRECT="$BOOT_SECONDS"

wait_for '^NC-SEED instance-id=iid-smoke-direct hostname=smoke-direct keys=0' 5 ||
	fail "NC-SEED line (direct)"
ok "seed: $(console | grep '^NC-SEED')"
wait_for '^NC-NET eth0 addr=[0-9.]+' 30 || fail "no NC-NET line"
ok "net: $(console | grep '^NC-NET' | head -n 1)"
wait_for '^SMOKE-USERDATA ran as 0 on smoke-direct' 30 || fail "user-data script did not run"
wait_for '^NC-USERDATA rc=0' 10 || fail "no NC-USERDATA rc=0"
ok "user-data: $(console | grep '^SMOKE-USERDATA')"
wait_for '^SMOKE-HTTP <h1>smoke-direct</h1>' 5 || fail "httpd did not serve the hostname"
ok "httpd: $(console | grep '^SMOKE-HTTP')"

# vCPU hotplug 1 -> 3.
t=$(now)
virsh setvcpus "$DOM" 3 --live || fail "setvcpus 3"
wait_stat cpus == 3 30 || fail "guest did not reach cpus=3"
ok "setvcpus 3 --live: cpus=3 after $(elapsed "$t") s"

# DIMM hotplug of 256 MiB.
mem0="$(last_stat mem_kib)"
cat >"$WORK/dimm.xml" <<'EOF'
<memory model='dimm'>
  <target>
    <size unit='MiB'>256</size>
    <node>0</node>
  </target>
</memory>
EOF
t=$(now)
virsh attach-device "$DOM" "$WORK/dimm.xml" --live >/dev/null || fail "attach-device dimm"
wait_stat mem_kib '>=' $((mem0 + 262144 - 8192)) 30 ||
	fail "mem_kib did not grow by ~262144 (was $mem0, now $(last_stat mem_kib))"
mem1="$(last_stat mem_kib)"
ok "DIMM 256 MiB: mem_kib $mem0 -> $mem1 (+$((mem1 - mem0))) after $(elapsed "$t") s"

# Balloon down to 320 MiB (from 512 MiB).
t=$(now)
virsh setmem "$DOM" 320M --live || fail "setmem"
wait_stat mem_kib '<' $((mem1 - 131072)) 30 ||
	fail "balloon: mem_kib did not drop (was $mem1, now $(last_stat mem_kib))"
mem2="$(last_stat mem_kib)"
ok "balloon setmem 320M: mem_kib $mem1 -> $mem2 ($((mem2 - mem1))) after $(elapsed "$t") s"

# vCPU hot-unplug 3 -> 1: reported, not required.
t=$(now)
if virsh setvcpus "$DOM" 1 --live >"$WORK/unplug.log" 2>&1 && wait_stat cpus == 1 20; then
	ok "setvcpus 1 --live (unplug): cpus=1 after $(elapsed "$t") s"
else
	echo "smoke: note: vCPU hot-unplug 3 -> 1 did not complete: $(tr '\n' ' ' <"$WORK/unplug.log")cpus=$(last_stat cpus)"
fi

shutdown_check

# ---------------------------------------------------------------- (b) BIOS
cat >"$WORK/ud-config" <<'EOF'
#cloud-config
hostname: ignored-here
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk1 smoke@one
  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXk2 smoke@two"
runcmd:
  - [ echo, not-run ]
EOF
make_seed "$WORK/seed-b" smoke-bios "$WORK/ud-config"
boot bios "$WORK/seed-b/seed.iso"
BOOT_BIOS="$BOOT_SECONDS"
wait_for '^NC-SEED instance-id=iid-smoke-bios hostname=smoke-bios keys=2' 5 ||
	fail "NC-SEED line (bios, cloud-config with 2 keys)"
ok "seed: $(console | grep '^NC-SEED')"
wait_for '^NC-NET eth0 addr=[0-9.]+' 30 || fail "no NC-NET line (bios)"
shutdown_check

# ---------------------------------------------------------------- (c) NAT
if [ "${SMOKE_NAT:-0}" = 1 ]; then
	NET="ncsm$$"
	NET="${NET:0:15}"
	# A /24 in 192.168.100-199 that no host interface uses yet.
	sub=$((100 + $$ % 100))
	for _ in $(seq 1 100); do
		ip -4 addr show 2>/dev/null | grep -q "inet 192\.168\.$sub\." || break
		sub=$((100 + (sub - 99) % 100))
	done
	cat >"$WORK/net.xml" <<EOF
<network>
  <name>$NET</name>
  <forward mode='nat'/>
  <bridge name='$NET' stp='off'/>
  <ip address='192.168.$sub.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.$sub.10' end='192.168.$sub.100'/></dhcp>
  </ip>
</network>
EOF
	virsh net-create "$WORK/net.xml" >/dev/null || fail "net-create (NAT)"
	boot direct "$WORK/seed-a/seed.iso" "$NET"
	wait_for "^NC-NET eth0 addr=192\\.168\\.$sub\\." 30 || fail "no DHCP lease on the NAT network"
	addr="$(console | sed -n 's/^NC-NET eth0 addr=\([0-9.]*\).*/\1/p' | head -n 1)"
	page="$(wget -q -T 5 -O - "http://$addr/" 2>/dev/null || curl -s -m 5 "http://$addr/" || true)"
	echo "$page" | grep -q '<h1>smoke-direct</h1>' || fail "httpd on $addr answered '$page'"
	ok "NAT network: lease $addr, host fetched http://$addr/ showing the hostname"
	shutdown_check
	virsh net-destroy "$NET" >/dev/null
	NET=
fi

echo "smoke: PASS: direct boot ${BOOT_DIRECT} s, BIOS boot ${BOOT_BIOS} s to first NC-STATS"
