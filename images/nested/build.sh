#!/bin/bash
# Build the Nested Cloud VM image: Debian bookworm (minbase) with its kernel
# and initramfs, QEMU, libvirt, dnsmasq, nestcloud and the small test image,
# booting straight into libvirtd + `nestcloud up` (guest/nc-nested-init).
#
#   images/nested/build.sh [--output FILE] [--build DIR] [--test-images DIR]
#                          [--cache DIR] [--disk-gib N] [--mirror URL] [--no-prime]
#                          [--extra-image DIR]
#
# Writes FILE (default /var/tmp/nestcloud-nested/nested.qcow2), a compressed
# qcow2 MBR disk: p1 FAT + SYSLINUX + kernel + initramfs (BIOS boot), p2 the
# ext4 root (root=/dev/vda2).  Beside it, for direct kernel boot:
# nested-vmlinuz, nested-initrd.img and nested.cmdline.
# --extra-image DIR copies DIR's files into the inner cloud's image pool
# (/var/lib/nestcloud/images), where an admin's `POST /v1/images {"path"}`
# adopts them (bench/nesting/run.sh ships its application VM so).
#
# Needs root (debootstrap, chroot).  The debootstrap tree is cached in
# --cache (default /var/tmp/nestcloud-nested-cache), keyed by the package
# list, so a rebuild after a nestcloud change takes well under a minute.
# No loop device, no mount of the image: mkfs.ext4 -d and mtools.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
OUTPUT=/var/tmp/nestcloud-nested/nested.qcow2
BUILD="${NESTCLOUD_BUILD:-$TOP/build}"
TEST_IMAGES=
EXTRA_IMAGE=
CACHE="${NESTCLOUD_NESTED_CACHE:-/var/tmp/nestcloud-nested-cache}"
DISK_GIB=4
MIRROR=http://deb.debian.org/debian
SUITE=bookworm
PRIME=1

usage() {
	sed -n '6,8p' "$0" | sed 's/^# *//' >&2
	exit 2
}
die() {
	echo "build.sh: error: $*" >&2
	exit 1
}
while [ $# -gt 0 ]; do
	case "$1" in
	--output) OUTPUT="$2"; shift 2 ;;
	--build) BUILD="$2"; shift 2 ;;
	--test-images) TEST_IMAGES="$2"; shift 2 ;;
	--cache) CACHE="$2"; shift 2 ;;
	--disk-gib) DISK_GIB="$2"; shift 2 ;;
	--mirror) MIRROR="$2"; shift 2 ;;
	--extra-image) EXTRA_IMAGE="$2"; shift 2 ;;
	--no-prime) PRIME=0; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot)"
case "$DISK_GIB" in [2-9] | [1-9][0-9]) ;; *) die "--disk-gib must be 2..99" ;; esac
NC_BIN="$BUILD/src/nestcloud"
[ -x "$NC_BIN" ] || die "no nestcloud binary at $NC_BIN (build first, or --build DIR)"
[ -n "$TEST_IMAGES" ] || TEST_IMAGES="${NESTCLOUD_TEST_IMAGE_DIR:-$BUILD/images}"
[ -r "$TEST_IMAGES/test.qcow2" ] || die "no test image in $TEST_IMAGES (--test-images DIR)"
missing=
for tool in debootstrap chroot mkfs.ext4 mkfs.fat mcopy syslinux sfdisk qemu-img; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || die "missing tools:$missing (install the packages in $HERE/DEPENDS)"
MBR_BIN=
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/SYSLINUX/mbr.bin /usr/share/syslinux/mbr.bin; do
	[ -r "$f" ] && MBR_BIN="$f" && break
done
[ -n "$MBR_BIN" ] || die "syslinux mbr.bin not found (package syslinux-common)"

T0=$(date +%s)
OUTDIR="$(dirname "$OUTPUT")"
mkdir -p "$OUTDIR" "$CACHE"
OUTDIR="$(cd "$OUTDIR" && pwd)"
WORK="$(mktemp -d "$CACHE/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- 1. The Debian tree (cached) --------------------------------------------
# Everything nestcloud links against, QEMU and libvirt; busybox for DHCP;
# iptables for libvirt's NAT network.
PACKAGES="linux-image-amd64 initramfs-tools kmod qemu-system-x86 qemu-utils
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients dnsmasq-base iproute2
iptables busybox ca-certificates libglib2.0-0 libjansson4 libsqlite3-0
libmicrohttpd12 libcurl4 libsodium23 libuuid1 librabbitmq4 libpq5
libjemalloc2"
# bump RECIPE when step 1 below changes
RECIPE=1
KEY="$(echo "$SUITE $RECIPE $PACKAGES" | sha256sum | cut -c1-16)"
BASE="$CACHE/base-$KEY"
if [ ! -e "$BASE/.nc-complete" ]; then
	echo "build.sh: debootstrap $SUITE (minbase) into $BASE (cached for later builds)"
	if [ ! -e "$BASE.tmp/.nc-debootstrapped" ]; then
		rm -rf "$BASE.tmp"
		debootstrap --variant=minbase --include="$(echo $PACKAGES | tr ' ' ,)" \
			"$SUITE" "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
			{ tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
		touch "$BASE.tmp/.nc-debootstrapped"
	fi
	# An initramfs with just what a virtio guest needs (MODULES=most is 30 MB).
	cat >"$BASE.tmp/etc/initramfs-tools/conf.d/nestcloud" <<-'CONF'
	MODULES=list
	COMPRESS=gzip
	CONF
	cat >"$BASE.tmp/etc/initramfs-tools/modules" <<-'MODS'
	virtio_pci
	virtio_blk
	virtio_scsi
	sd_mod
	ext4
	crc32c_generic
	MODS
	chroot "$BASE.tmp" update-initramfs -u -k all >>"$CACHE/debootstrap.log" 2>&1 ||
		die "update-initramfs failed (log: $CACHE/debootstrap.log)"
	# libvirtd refuses to start without these (no libvirt-daemon-system here)
	chroot "$BASE.tmp" sh -c 'getent group kvm >/dev/null || groupadd -r kvm;
		getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu;
		getent passwd libvirt-qemu >/dev/null ||
			useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu'
	chroot "$BASE.tmp" apt-get clean
	touch "$BASE.tmp/.nc-complete"
	rm -rf "$BASE"
	mv "$BASE.tmp" "$BASE"
	# older trees are of no further use
	for old in "$CACHE"/base-*; do
		[ "$old" = "$BASE" ] || rm -rf "$old"
	done
fi

# --- 2. The image's tree: the cached one, slimmed, plus nestcloud ------------
TREE="$WORK/tree"
cp -a "$BASE" "$TREE"
rm -f "$TREE/.nc-complete" "$TREE/.nc-debootstrapped"
KVER="$(ls -1 "$TREE/lib/modules" | sort -V | tail -n 1)"
[ -n "$KVER" ] && [ -r "$TREE/boot/vmlinuz-$KVER" ] || die "no kernel in the tree"
cp "$TREE/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
# Nothing a headless cloud needs: docs, locales, firmware, the boot files
# (they live on p1), and kernel drivers for hardware no VM has.
rm -rf "$TREE"/usr/share/{doc,man,info,locale,lintian,linda,bash-completion} \
	"$TREE"/var/cache/apt/* "$TREE"/var/lib/apt/lists/* "$TREE"/var/log/* \
	"$TREE"/boot/* "$TREE"/lib/firmware "$TREE"/usr/lib/firmware
KD="$TREE/lib/modules/$KVER/kernel"
rm -rf "$KD"/sound "$KD"/drivers/{gpu,media,infiniband,net/wireless,net/ethernet,bluetooth,staging,isdn,iio,hid,input/touchscreen,input/joystick,input/misc,input/tablet,usb,mmc,scsi/qla2xxx,scsi/lpfc,scsi/mpt3sas,scsi/megaraid,scsi/bfa,scsi/be2iscsi,scsi/qedi,scsi/qedf,scsi/aacraid,scsi/fnic,mtd,comedi,thunderbolt,platform/x86,video,leds,power/supply,hwmon,w1,rtc,spi,i2c,nfc,misc,pinctrl,gnss,fpga,ata/pata_*} \
	"$KD"/net/{wireless,mac80211,bluetooth,nfc,wimax,6lowpan,ieee802154,mac802154} \
	"$KD"/fs/{btrfs,xfs,ocfs2,gfs2,nfs,nfsd,ceph,cifs,smb,f2fs,jfs,reiserfs,ntfs3,ubifs,nilfs2,orangefs,afs,coda,dlm,erofs}
# keep e1000 (a common emulated NIC) though ethernet drivers went
mkdir -p "$KD/drivers/net/ethernet/intel"
cp -a "$BASE/lib/modules/$KVER/kernel/drivers/net/ethernet/intel/e1000" "$KD/drivers/net/ethernet/intel/" 2>/dev/null || true
chroot "$TREE" depmod -a "$KVER"

# Our own initramfs: Debian's (initramfs-tools) runs udev, whose coldplug
# and settle took 16 s of a 35 s boot under TCG.  This one is busybox, the
# virtio disk and ext4 modules from the Debian kernel, and guest/initramfs-init.
IRD="$WORK/initramfs"
mkdir -p "$IRD/bin" "$IRD/etc" "$IRD/lib64" "$IRD/lib/x86_64-linux-gnu"
cp "$TREE/bin/busybox" "$IRD/bin/busybox"
for lib in $(chroot "$TREE" ldd /bin/busybox | grep -o '/lib[^ ]*'); do
	cp -L "$TREE$lib" "$IRD$lib"
done
for applet in $(chroot "$TREE" /bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$IRD/bin/$applet"
done
: >"$IRD/etc/modules.list"
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	chroot "$TREE" modprobe -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	mkdir -p "$IRD$(dirname "$ko")"
	cp "$TREE$ko" "$IRD$ko"
	echo "$ko" >>"$IRD/etc/modules.list"
done
grep -q virtio_blk "$IRD/etc/modules.list" || die "no virtio_blk module for the initramfs"
install -m 0755 "$HERE/guest/initramfs-init" "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -9) >"$WORK/initrd.img"
# QEMU data nobody boots here (other architectures' firmware, keymaps), and
# the 32-bit and microvm emulators: nestcloud's guests are x86_64 q35, and
# libvirtd probes every qemu-system-* it finds (13 s for i386 under TCG).
rm -f "$TREE"/usr/bin/qemu-system-i386 "$TREE"/usr/bin/qemu-system-x86_64-microvm
# libvirtd loads and starts every driver it finds.  nestcloud uses the qemu,
# network and storage drivers and directory pools only; the node device
# driver alone enumerates every PCI device at each start.
LVD="$TREE/usr/lib/x86_64-linux-gnu/libvirt"
rm -f "$LVD"/connection-driver/libvirt_driver_{interface,nodedev,nwfilter,secret}.so \
	"$LVD"/storage-backend/libvirt_storage_backend_{disk,iscsi,logical,mpath,scsi}.so
rm -rf "$TREE"/usr/share/qemu/{keymaps,openbios-*,u-boot*,skiboot.lid,palcode-clipper,s390-*,hppa-firmware.img,opensbi-*,qemu_vga.ndrv,slof.bin,canyonlands.dtb,petalogix-*,bamboo.dtb}

install -m 0755 "$NC_BIN" "$TREE/usr/local/bin/nestcloud"
strip --strip-unneeded "$TREE/usr/local/bin/nestcloud" 2>/dev/null || true
mkdir -p "$TREE/usr/local/share/nestcloud/images" "$TREE/etc/nestcloud" "$TREE/var/lib/nestcloud"
install -d -m 0700 "$TREE/root/.ssh"
for f in test.qcow2 test-vmlinuz test-vmlinux test-initrd.img test.cmdline; do
	install -m 0644 "$TEST_IMAGES/$f" "$TREE/usr/local/share/nestcloud/images/$f"
done
if [ -n "$EXTRA_IMAGE" ]; then
	mkdir -p "$TREE/var/lib/nestcloud/images"
	find "$EXTRA_IMAGE" -maxdepth 1 -type f ! -name '.*' -exec install -m 0644 -t "$TREE/var/lib/nestcloud/images" {} +
fi
install -m 0755 "$HERE/guest/nc-nested-init" "$TREE/sbin/init"
# nestcloud's network, defined at build time (step 5) in 'open' mode; the
# hook adds its NAT in one iptables-restore instead of libvirt's ~50 runs
mkdir -p "$TREE/etc/libvirt/hooks"
install -m 0755 "$HERE/guest/libvirt-network-hook" "$TREE/etc/libvirt/hooks/network"
cat >"$TREE/usr/local/share/nestcloud/network.xml" <<'NET'
<network>
  <name>nestcloud</name>
  <forward mode='open'/>
  <bridge name='ncbr0' stp='off'/>
  <ip address='10.213.1.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.213.1.10' end='10.213.1.250'/>
    </dhcp>
  </ip>
</network>
NET
install -m 0755 "$HERE/guest/udhcpc.script" "$TREE/etc/nestcloud/udhcpc.script"
echo nestcloud >"$TREE/etc/hostname"
printf '/dev/vda2 / ext4 rw,relatime 0 1\n' >"$TREE/etc/fstab"
# libvirt: no TLS/TCP listener; QEMU runs as root (its files live under
# the root-owned state dir; the guest is the only tenant of this VM)
cat >>"$TREE/etc/libvirt/qemu.conf" <<'CONF'
user = "root"
group = "root"
CONF
# The build dir's binary must find its libraries in the tree.
if ! chroot "$TREE" /usr/local/bin/nestcloud --version >/dev/null 2>&1; then
	chroot "$TREE" ldd /usr/local/bin/nestcloud | grep 'not found' >&2 || true
	die "nestcloud does not run inside the image (missing libraries above?)"
fi

# --- 3. Partition 1: FAT + SYSLINUX + kernel + initramfs (BIOS boot) ---------
CMDLINE="console=ttyS0 root=/dev/vda2 rw quiet memhp_default_state=online"
BOOT_START=2048
BOOT_MIB=64
BOOT_SECTORS=$((BOOT_MIB * 2048))
ROOT_START=$((BOOT_START + BOOT_SECTORS))
DISK_SECTORS=$((DISK_GIB * 1024 * 2048))
ROOT_SECTORS=$((DISK_SECTORS - ROOT_START))
cat >"$WORK/syslinux.cfg" <<CFG
DEFAULT nested
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL nested
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $CMDLINE
CFG
export MTOOLS_SKIP_CHECK=1
truncate -s $((BOOT_SECTORS * 512)) "$WORK/boot.img"
mkfs.fat -F 16 -n NCBOOT -h "$BOOT_START" "$WORK/boot.img" >/dev/null
mcopy -i "$WORK/boot.img" "$WORK/vmlinuz" ::/vmlinuz
mcopy -i "$WORK/boot.img" "$WORK/initrd.img" ::/initrd.img
mcopy -i "$WORK/boot.img" "$WORK/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$WORK/boot.img" >/dev/null

# --- 4. Partition 2: the ext4 root, then the disk -> compressed qcow2 ---------
truncate -s $((ROOT_SECTORS * 512)) "$WORK/root.img"
mkfs.ext4 -q -F -L ncroot -E root_owner=0:0 -d "$TREE" "$WORK/root.img"
truncate -s $((DISK_SECTORS * 512)) "$WORK/disk.raw"
sfdisk --quiet --no-reread --no-tell-kernel "$WORK/disk.raw" >/dev/null <<PARTS
label: dos
start=$BOOT_START, size=$BOOT_SECTORS, type=6, bootable
start=$ROOT_START, size=$ROOT_SECTORS, type=83
PARTS
dd if="$MBR_BIN" of="$WORK/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/boot.img" of="$WORK/disk.raw" bs=1M seek=$((BOOT_START * 512)) oflag=seek_bytes \
	conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$WORK/disk.raw" bs=1M seek=$((ROOT_START * 512)) oflag=seek_bytes \
	conv=notrunc,sparse status=none
rm -f "$WORK/root.img" "$WORK/boot.img"

# --- 5. One boot of the finished disk to fill libvirt's caches ---------------
# (guest/nc-nested-init, nc.prime).  Under TCG and with the CPU model that
# nestcloud gives TCG guests (qemu64 without SVM), so that the L1 it boots
# finds the cache valid.  Without QEMU here the image works, just slower.
if [ "$PRIME" = 1 ] && command -v qemu-system-x86_64 >/dev/null 2>&1; then
	P0=$(date +%s)
	timeout 900 qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64,-svm -m 1024 -smp 2 \
		-nographic -nodefaults -no-reboot -monitor none -serial "file:$WORK/prime.log" \
		-drive "file=$WORK/disk.raw,format=raw,if=virtio" -nic none \
		-kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" -append "$CMDLINE nc.prime" \
		>"$WORK/prime.out" 2>&1 || true
	grep -q "NC-PRIME ok" "$WORK/prime.log" ||
		{ tail -n 20 "$WORK/prime.log" "$WORK/prime.out" >&2; die "priming boot failed"; }
	echo "build.sh: libvirt caches primed ($(grep -o 'caps=[0-9]*' "$WORK/prime.log")," \
		"$(($(date +%s) - P0)) s)"
else
	echo "build.sh: warning: libvirt's caches not primed (no qemu-system-x86_64, or --no-prime):" \
		"the first boot probes QEMU" >&2
fi
qemu-img convert -c -f raw -O qcow2 "$WORK/disk.raw" "$WORK/nested.qcow2"
mv "$WORK/nested.qcow2" "$OUTPUT"
install -m 0644 "$WORK/vmlinuz" "$OUTDIR/nested-vmlinuz"
install -m 0644 "$WORK/initrd.img" "$OUTDIR/nested-initrd.img"
echo "$CMDLINE" >"$OUTDIR/nested.cmdline"
echo "build.sh: $OUTPUT: $(($(stat -c %s "$OUTPUT") / 1048576)) MiB qcow2," \
	"${DISK_GIB} GiB virtual, tree $(du -sm "$TREE" | cut -f1) MiB, kernel $KVER," \
	"$(($(date +%s) - T0)) s"
