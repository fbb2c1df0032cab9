#!/bin/bash
# Makes sure libvirtd and virtlogd run, on machines with or without systemd.
#
#   scripts/libvirt.sh
#
# Without systemd (containers, CI) the daemons are started by hand; they
# refuse to start unless the libvirt-qemu user and the kvm group exist.
set -euo pipefail

uri=qemu:///system

# detached CMD...: starts CMD in a new session, in the background, with no
# descriptor of ours but stdio (to libvirt's log): a daemon that kept a pipe
# of its caller open would keep that caller's reader waiting for its end
detached() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null || true
		done
		exec setsid -f "$@"
	) </dev/null >>/var/log/libvirt/libvirtd.out 2>&1
}

# /dev/kvm as udev leaves it on Debian (50-udev-default.rules: group kvm,
# mode 0660).  Without udev it can be root's alone: QEMU, which runs as
# libvirt-qemu, then cannot open it, while libvirt's capability probe finds
# KVM.  libvirt 9.0 takes that disagreement for stale capabilities and probes
# QEMU again on every lookup (seconds each, under one lock), until every
# call waits on it.  Whether KVM runs guests is still decided by trying one.
if [ -c /dev/kvm ] && [ "$(id -u)" -eq 0 ] && [ -z "$(find /dev/kvm -perm -0060 -group kvm 2>/dev/null)" ]; then
	getent group kvm >/dev/null || groupadd -r kvm
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
	echo "libvirt: /dev/kvm set to group kvm, mode 0660, as udev would" >&2
fi

# libvirtd starts each QEMU with its console going through virtlogd, so a
# libvirtd that answers is not enough: without systemd, virtlogd may have
# gone on its own
without_systemd() {
	! { [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }
}
virtlogd_up() {
	pgrep -x virtlogd >/dev/null && [ -S /run/libvirt/virtlogd-sock ]
}

if virsh -c "$uri" version >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && without_systemd && ! virtlogd_up; then
		detached virtlogd -d
		echo "libvirt: virtlogd was not running; started it" >&2
	fi
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "libvirt: libvirtd is not reachable at $uri; run as root to start it" >&2
	exit 1
fi
if ! without_systemd; then
	systemctl start virtlogd.socket libvirtd.socket libvirtd.service 2>/dev/null || true
else
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt >/dev/null || groupadd -r libvirt
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	id libvirt-qemu >/dev/null 2>&1 ||
		useradd -r -g kvm -G libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt
	virtlogd_up || detached virtlogd -d
	# libvirtd daemonizes each QEMU, which then belongs to PID 1, and it
	# waits for the QEMU to be reaped whenever it stops a domain.  A
	# container's PID 1 may reap late: 1.4 s per stopped domain was seen
	# here.  tini -s, a child subreaper above libvirtd, reaps them at once.
	if ! pgrep -x libvirtd >/dev/null; then
		if command -v tini >/dev/null; then
			detached tini -s -- libvirtd
		else
			detached libvirtd -d
		fi
	fi
fi
for _ in $(seq 1 50); do
	if virsh -c "$uri" version >/dev/null 2>&1; then
		exit 0
	fi
	sleep 0.2
done
echo "libvirt: libvirtd did not come up at $uri" >&2
exit 1
