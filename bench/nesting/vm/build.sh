#!/bin/sh
# Builds the disk of the benchmark VM (the L1 and L2 levels of the nesting
# experiment): a Debian bookworm minbase tree with the kernel, nginx and
# python3, the test application installed by ../app/setup.sh exactly as on
# L0, and ./init as PID 1.  Direct kernel boot; no partitions.
#
#   build.sh [--out DIR] [--with-l2]
#
# Writes DIR/app.img (raw ext4), DIR/vmlinuz, DIR/initrd.img (default DIR:
# /var/tmp/nc-bench-nesting).  --with-l2 also writes DIR/l1host.img: the
# same tree plus QEMU and a copy of the app disk, an L1 that boots the L2
# inside itself.  The debootstrap tree is cached in DIR/tree.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=/var/tmp/nc-bench-nesting
with_l2=no
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --with-l2) with_l2=yes; shift ;;
    *) echo "usage: build.sh [--out DIR] [--with-l2]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "build.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
mkdir -p "$out"
tree=$out/tree
if [ ! -e "$tree/.nc-complete" ]; then
    rm -rf "$tree.tmp"
    echo "build.sh: debootstrap into $tree (log: $out/debootstrap.log)"
    debootstrap --variant=minbase \
        --include=linux-image-amd64,initramfs-tools,kmod,busybox,nginx-light,python3,iproute2 \
        bookworm "$tree.tmp" http://deb.debian.org/debian >"$out/debootstrap.log" 2>&1 ||
        { tail -20 "$out/debootstrap.log" >&2; exit 1; }
    touch "$tree.tmp/.nc-complete"
    mv "$tree.tmp" "$tree"
fi
"$here/../app/setup.sh" --no-packages "$tree"
install -m 0755 "$here/init" "$tree/sbin/nc-bench-init"
echo nc-bench >"$tree/etc/hostname"
kver=$(ls -1 "$tree/lib/modules" | sort -V | tail -n 1)
cp "$tree/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$out/initrd.img"
rm -f "$out/app.img"
truncate -s 2G "$out/app.img"
mkfs.ext4 -q -F -L ncbench -E root_owner=0:0 -d "$tree" "$out/app.img"
echo "build.sh: $out/app.img, kernel $kver"

if [ $with_l2 = yes ]; then
    l1=$out/tree-l1host
    if [ ! -e "$l1/.nc-complete" ]; then
        rm -rf "$l1"
        cp -a "$tree" "$l1"
        rm -f "$l1/.nc-complete"
        printf '#!/bin/sh\nexit 101\n' >"$l1/usr/sbin/policy-rc.d"
        chmod +x "$l1/usr/sbin/policy-rc.d"
        chroot "$l1" apt-get install -y --no-install-recommends qemu-system-x86 >>"$out/debootstrap.log" 2>&1 ||
            { tail -20 "$out/debootstrap.log" >&2; exit 1; }
        rm -f "$l1/usr/sbin/policy-rc.d"
        chroot "$l1" apt-get clean
        touch "$l1/.nc-complete"
    fi
    install -m 0755 "$here/init" "$l1/sbin/nc-bench-init"
    mkdir -p "$l1/opt/nestcloud-bench/l2"
    cp "$out/vmlinuz" "$out/initrd.img" "$l1/opt/nestcloud-bench/l2/"
    qemu-img convert -f raw -O qcow2 "$out/app.img" "$l1/opt/nestcloud-bench/l2/root.qcow2"
    rm -f "$out/l1host.img"
    truncate -s 6G "$out/l1host.img"
    mkfs.ext4 -q -F -L ncl1host -E root_owner=0:0 -d "$l1" "$out/l1host.img"
    echo "build.sh: $out/l1host.img (L1 that boots L2)"
fi
