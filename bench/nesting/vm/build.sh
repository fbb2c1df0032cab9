#!/bin/bash
# Builds the application VM of the nesting experiment (the VM that serves
# at L1 and L2): a Debian kernel booted directly with an initramfs that is
# the whole system.  No disk root, no systemd: busybox, ./init as PID 1,
# the kernel's virtio-net and virtio-rng modules, nginx (this host's Debian binary and its
# libraries) and the test application installed by ../app/setup.sh exactly
# as on L0.  Under TCG inside TCG every megabyte and every service counts:
# the initramfs is left uncompressed (the guest would inflate it at a few
# per cent of native speed).
#
#   build.sh [--out DIR] [--bin FILE]
#
# Writes to DIR (default /var/tmp/nc-bench-nesting):
#   app-vmlinuz, app-initrd.img   direct kernel boot
#   app.cmdline                   its command line (add nc_level=L1|L2)
#   app.qcow2                     a small empty disk: nestcloud's images have
#                                 one; the guest does not use it
# --bin names the built nc-benchapp (as for app/setup.sh).  Needs no root;
# the kernel package is fetched with apt-get download into DIR/cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=/var/tmp/nc-bench-nesting
bin=${NESTCLOUD_BUILD:-$here/../../../build}/bench/nesting/nc-benchapp
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "usage: build.sh [--out DIR] [--bin FILE]" >&2; exit 2 ;;
    esac
done
die() { echo "build.sh: $*" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
for t in apt-get apt-cache dpkg-deb depmod modprobe cpio ldd qemu-img; do
    command -v $t >/dev/null || die "missing tool $t"
done
[ -x /usr/sbin/nginx ] || die "no /usr/sbin/nginx on this host (apt-get install nginx-light)"
busybox=$(command -v busybox || true)
case "$(ldd "$busybox" 2>&1 || true)" in
*"not a dynamic"*) ;;
*) die "needs a static busybox (busybox-static)" ;;
esac
mkdir -p "$out/cache"
out=$(cd "$out" && pwd)
work=$out/.work-app
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# --- the kernel (Debian's, as in images/test) --------------------------------
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
deb=$(ls -1 "$out/cache/${kpkg:-linux-image-[0-9]*-amd64}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
    [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
    (cd "$out/cache" && apt-get download -q=2 -o APT::Sandbox::User="$(id -un)" "$kpkg") ||
        die "apt-get download $kpkg failed"
    deb=$(ls -1 "$out/cache/${kpkg}"_*.deb | tail -n 1)
fi
kx=$work/kpkg
dpkg-deb -x "$deb" "$kx"
kver=$(ls -1 "$kx/lib/modules" | head -n 1)
depmod -b "$kx" "$kver"

# --- the initramfs tree --------------------------------------------------------
ird=$work/ird
mkdir -p "$ird"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var/log/nginx,var/lib/nginx,root}
install -m 0755 "$busybox" "$ird/bin/busybox"
for a in sh mount umount mkdir cat echo sleep ip udhcpc insmod setsid sed wget kill \
    ls cut hostname ps grep tail usleep ipcalc; do
    ln -s busybox "$ird/bin/$a"
done
: >"$ird/etc/modules.list"
for m in virtio_pci virtio_net virtio_rng; do
    modprobe -d "$kx" -S "$kver" --show-depends $m 2>/dev/null
done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r ko; do
    ko=${ko#"$kx"}
    mkdir -p "$ird$(dirname "$ko")"
    cp "$kx$ko" "$ird$ko"
    echo "$ko" >>"$ird/etc/modules.list"
done
grep -q virtio_net "$ird/etc/modules.list" || die "no virtio_net module in $deb"
# nginx and the libraries it and the application link against
copy_libs() {
    ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
        mkdir -p "$ird$(dirname "$lib")"
        cp -L "$lib" "$ird$lib"
    done
}
install -m 0755 /usr/sbin/nginx "$ird/usr/sbin/nginx"
copy_libs /usr/sbin/nginx
[ -x "$bin" ] || die "no nc-benchapp at $bin (--bin FILE)"
copy_libs "$bin"
mkdir -p "$ird/lib64"
[ -e "$ird/lib64/ld-linux-x86-64.so.2" ] || die "no dynamic loader copied"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\n' >"$ird/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\n' >"$ird/etc/group"
"$here/../app/setup.sh" --no-packages --bin "$bin" "$ird"
install -m 0755 "$here/init" "$ird/init"
install -m 0755 "$here/../../../images/test/guest/udhcpc.script" "$ird/etc/udhcpc.script"
(cd "$ird" && find . | cpio -o -H newc --quiet) >"$out/app-initrd.img"
cp "$kx/boot/vmlinuz-$kver" "$out/app-vmlinuz"
# Skips work a VM does not need (timer checks, TSC watchdog, mitigations).
# ACPI stays on: nestcloud's q35 domains put their devices behind PCIe root
# ports, which without ACPI leave them in D3cold.
echo "console=ttyS0 quiet mitigations=off nokaslr tsc=reliable no_timer_check" >"$out/app.cmdline"
rm -f "$out/app.qcow2"
qemu-img create -q -f qcow2 "$out/app.qcow2" 64M
echo "build.sh: $out/app-vmlinuz (kernel $kver), app-initrd.img ($(du -m "$out/app-initrd.img" | cut -f1) MiB), app.cmdline, app.qcow2"
