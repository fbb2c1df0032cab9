#!/bin/bash
# Build the nestcloud test guest image.
#
#   images/test/build.sh OUTDIR
#
# Produces in OUTDIR:
#   test.qcow2       MBR disk (<= 256 MiB virtual): p1 FAT + SYSLINUX + kernel +
#                    initrd (bootable, BIOS/SeaBIOS), p2 ext4 root (busybox)
#   test-vmlinuz     the kernel as Debian ships it (bzImage, xz inside)
#   test-vmlinux     the same kernel uncompressed (ELF, PVH entry point): what
#                    nestcloud boots directly, ~5 s sooner under TCG
#   test-initrd.img  the initrd, for direct kernel boot
#   test.cmdline     the recommended kernel command line for direct boot
# and keeps downloaded Debian packages in OUTDIR/cache (reused when present).
#
# No loop devices, no mounts, no root needed. The only network use is
# `apt-get download` of the Debian kernel and busybox-static packages.
# Host packages needed: see DEPENDS beside this script.
set -euo pipefail

usage() {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GUEST="$HERE/guest"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
CACHE="$OUT/cache"
WORK="$OUT/.work-test"
T0=$(date +%s)

# Geometry (512-byte sectors). Partition 1 starts at 1 MiB.
DISK_MIB=128
BOOT_MIB=32
BOOT_START=2048
BOOT_SECTORS=$((BOOT_MIB * 2048))
ROOT_START=$((BOOT_START + BOOT_SECTORS))
ROOT_SECTORS=$((DISK_MIB * 2048 - ROOT_START))

CMDLINE="console=ttyS0 root=/dev/vda2 quiet memhp_default_state=online swiotlb=2048"

# Modules loaded by the initramfs (root disk, then CD-ROM / seed drives).
STAGE1_MODULES="virtio_pci virtio_blk crc32c_generic crc16 ext4 virtio_scsi sd_mod ata_piix ahci sr_mod cdrom isofs"
# Modules loaded by the real init before it prints NC-BOOT ...
STAGE2_MODULES="virtio_net virtio_balloon evdev button isofs virtio_rng e1000"
# ... and right after it, in the background (xfs takes ~1 s under TCG).
STAGE3_MODULES="xfs"

die() {
	echo "build.sh: error: $*" >&2
	exit 1
}

export PATH="$PATH:/usr/sbin:/sbin"
missing=
for tool in apt-get apt-cache dpkg-deb depmod cpio gzip mkfs.ext4 debugfs mkfs.fat mcopy syslinux sfdisk qemu-img xz readelf; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || die "missing tools:$missing (install the packages in $HERE/DEPENDS)"
MBR_BIN=
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/SYSLINUX/mbr.bin /usr/share/syslinux/mbr.bin; do
	[ -r "$f" ] && MBR_BIN="$f" && break
done
[ -n "$MBR_BIN" ] || die "syslinux mbr.bin not found (package syslinux-common)"

rm -rf "$WORK"
mkdir -p "$CACHE" "$WORK"
trap 'rm -rf "$WORK"' EXIT

# fetch PKG: path of PKG's .deb in the cache, downloading it when absent.
fetch() {
	local pkg="$1" deb
	deb="$(ls -1 "$CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
	if [ -z "$deb" ]; then
		(cd "$CACHE" && apt-get download -q=2 -o APT::Sandbox::User="$(id -un)" "$pkg" \
			>"$WORK/apt.log" 2>&1) ||
			{
				cat "$WORK/apt.log" >&2
				die "apt-get download $pkg failed (run apt-get update?)"
			}
		deb="$(ls -1 "$CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
	fi
	echo "$deb"
}

# --- Kernel package ---------------------------------------------------------
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)"
if [ -z "$KPKG" ]; then
	# Offline / no apt lists: use a cached kernel package if there is one.
	KPKG="$(ls -1 "$CACHE"/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
	KPKG="${KPKG##*/}"
	KPKG="${KPKG%%_*}"
	[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 (run apt-get update)"
fi
KDEB="$(fetch "$KPKG")"
BBDEB="$(fetch busybox-static)"
# Drop superseded packages from the cache.
for f in "$CACHE"/linux-image-*.deb "$CACHE"/busybox-static_*.deb; do
	if [ -e "$f" ] && [ "$f" != "$KDEB" ] && [ "$f" != "$BBDEB" ]; then
		rm -f "$f"
	fi
done

KX="$WORK/kpkg"
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$WORK" --one-top-level=kpkg \
	--wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*' 2>/dev/null ||
	dpkg-deb -x "$KDEB" "$KX"
KVER="$(ls -1 "$KX/lib/modules" | head -n 1)"
[ -n "$KVER" ] && [ -r "$KX/boot/vmlinuz-$KVER" ] || die "no kernel found in $KDEB"
KCONFIG="$KX/boot/config-$KVER"
KMODS="$KX/lib/modules/$KVER"
# The package ships no modules.dep (depmod runs at install): generate it.
[ -s "$KMODS/modules.dep" ] || depmod -b "$KX" "$KVER" 2>/dev/null
[ -s "$KMODS/modules.dep" ] || die "depmod produced no modules.dep"

# Sanity checks of the kernel configuration the guest relies on.
for sym in CONFIG_DEVTMPFS CONFIG_SERIAL_8250_CONSOLE CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP \
	CONFIG_HOTPLUG_CPU CONFIG_MEMORY_HOTPLUG CONFIG_ACPI_HOTPLUG_MEMORY; do
	grep -q "^$sym=y" "$KCONFIG" || die "kernel $KVER lacks $sym=y"
done

# --- Module dependency resolution (from modules.dep) --------------------------
declare -A MPATH MDEPS SEEN
while IFS= read -r line; do
	path="${line%%:*}"
	deps="${line#*:}"
	name="${path##*/}"
	name="${name%%.ko*}"
	name="${name//-/_}"
	MPATH[$name]="$path"
	MDEPS[$name]="$deps"
done <"$KMODS/modules.dep"
declare -A BUILTIN
while IFS= read -r path; do
	name="${path##*/}"
	name="${name%%.ko*}"
	BUILTIN[${name//-/_}]=1
done <"$KMODS/modules.builtin"

ORDER=()
visit() {
	local name="$1" dep dname
	[ -z "${SEEN[$name]:-}" ] || return 0
	SEEN[$name]=1
	for dep in ${MDEPS[$name]}; do
		dname="${dep##*/}"
		dname="${dname%%.ko*}"
		visit "${dname//-/_}"
	done
	ORDER+=("${MPATH[$name]}")
}

# resolve LISTFILE MODULE...: write the load order (dependencies first) of
# the modular ones among MODULE... (skipping those already listed earlier).
resolve() {
	local out="$1" m i start
	shift
	start=${#ORDER[@]}
	for m in "$@"; do
		m="${m//-/_}"
		if [ -n "${BUILTIN[$m]:-}" ]; then
			continue
		elif [ -n "${MPATH[$m]:-}" ]; then
			visit "$m"
		else
			die "module $m is neither built in nor in $KPKG"
		fi
	done
	: >"$out"
	for ((i = start; i < ${#ORDER[@]}; i++)); do
		echo "${ORDER[$i]}" >>"$out"
	done
}

# --- Root tree (also the initramfs) -------------------------------------------
TREE="$WORK/tree"
mkdir -p "$TREE"/{bin,sbin,etc/nc,etc/acpi/PWRF,proc,sys,dev,tmp,run,newroot,root,www,mnt,var,lib/modules/"$KVER"}
chmod 1777 "$TREE/tmp"
chmod 700 "$TREE/root"
ln -s /run "$TREE/var/run"
mkdir -p "$TREE/usr"
ln -s ../bin "$TREE/usr/bin"
ln -s ../sbin "$TREE/usr/sbin"

# shellcheck disable=SC2086 # word splitting of the module lists is intended
resolve "$TREE/etc/nc/modules.stage1" $STAGE1_MODULES
resolve "$TREE/etc/nc/modules.stage2" $STAGE2_MODULES
resolve "$TREE/etc/nc/modules.stage3" $STAGE3_MODULES
for p in "${ORDER[@]}"; do
	mkdir -p "$TREE/lib/modules/$KVER/${p%/*}"
	cp "$KMODS/$p" "$TREE/lib/modules/$KVER/$p"
done
cp "$KMODS"/modules.builtin "$KMODS"/modules.builtin.modinfo "$KMODS"/modules.order \
	"$TREE/lib/modules/$KVER/"
depmod -b "$TREE" "$KVER" 2>/dev/null || true # for interactive modprobe in the guest

# busybox (static) and its applets as symlinks.
dpkg-deb --fsys-tarfile "$BBDEB" | tar -x -O ./bin/busybox >"$TREE/bin/busybox"
chmod 755 "$TREE/bin/busybox"
for applet in $("$TREE/bin/busybox" --list); do
	case "$applet" in busybox | init | linuxrc) continue ;; esac
	ln -s busybox "$TREE/bin/$applet"
done
for applet in modprobe insmod rmmod lsmod depmod switch_root poweroff reboot halt; do
	ln -s ../bin/busybox "$TREE/sbin/$applet"
done

install -m 755 "$GUEST/init" "$TREE/init"
install -m 755 "$GUEST/nc-init" "$TREE/sbin/init"
install -m 644 "$GUEST/lib.sh" "$TREE/etc/nc/lib.sh"
install -m 755 "$GUEST/udhcpc.script" "$TREE/etc/nc/udhcpc.script"
install -m 755 "$GUEST/acpi-power" "$TREE/etc/acpi/PWRF/00000080"
echo "nc-test" >"$TREE/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$TREE/etc/passwd"
printf 'root:x:0:\n' >"$TREE/etc/group"
printf 'root::0:0:99999:7:::\n' >"$TREE/etc/shadow"
chmod 600 "$TREE/etc/shadow"
printf '127.0.0.1\tlocalhost\n' >"$TREE/etc/hosts"
: >"$TREE/etc/resolv.conf"
printf '<html><body>nc-test</body></html>\n' >"$TREE/www/index.html"
echo "$KVER" >"$TREE/etc/nc/kernel-version"

# --- Kernel and initrd ------------------------------------------------------------
cp "$KX/boot/vmlinuz-$KVER" "$WORK/vmlinuz"

# The ELF inside the bzImage.  QEMU boots it through its PVH entry point:
# no real-mode setup and no decompression, which under TCG is about 5 s of
# every boot.  The payload is xz (Debian's choice); xz stops at the end of
# the stream and complains of what follows, hence the ignored status.
extract_vmlinux() {
	local off
	for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | cut -d: -f1); do
		tail -c +$((off + 1)) "$1" | xz -dcq >"$2" 2>/dev/null || true
		[ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] && return 0
	done
	return 1
}
extract_vmlinux "$WORK/vmlinuz" "$WORK/vmlinux" || die "no xz-compressed ELF in vmlinuz-$KVER"
# QEMU loads an ELF kernel only through its PVH note (Xen note type 0x12)
readelf -n "$WORK/vmlinux" | grep -q 'Unknown note type: (0x00000012)\|XEN_ELFNOTE_PHYS32_ENTRY' ||
	die "vmlinuz-$KVER has no PVH entry point (CONFIG_PVH)"
(cd "$TREE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -n -6 >"$WORK/initrd.img"

# --- Partition 1: FAT + SYSLINUX --------------------------------------------------
cat >"$WORK/syslinux.cfg" <<EOF
DEFAULT nestcloud
PROMPT 0
TIMEOUT 0
LABEL nestcloud
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND $CMDLINE
EOF
export MTOOLS_SKIP_CHECK=1
truncate -s $((BOOT_SECTORS * 512)) "$WORK/boot.img"
mkfs.fat -F 16 -n NCBOOT -i 4e430001 -h "$BOOT_START" "$WORK/boot.img" >/dev/null
mcopy -i "$WORK/boot.img" "$WORK/vmlinuz" ::/vmlinuz
mcopy -i "$WORK/boot.img" "$WORK/initrd.img" ::/initrd.img
mcopy -i "$WORK/boot.img" "$WORK/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$WORK/boot.img" >/dev/null

# --- Partition 2: ext4 root -----------------------------------------------------------
truncate -s $((ROOT_SECTORS * 512)) "$WORK/root.img"
mkfs.ext4 -q -F -L ncroot -E root_owner=0:0 -d "$TREE" "$WORK/root.img"
if [ "$(id -u)" != 0 ]; then
	# mkfs.ext4 -d copies the builder's uid/gid: make everything root's.
	(cd "$TREE" && find . -mindepth 1 | sed -e 's|^\.||' \
		-e 's|.*|sif "&" uid 0\nsif "&" gid 0|') >"$WORK/chown.debugfs"
	debugfs -w -f "$WORK/chown.debugfs" "$WORK/root.img" >/dev/null 2>&1 ||
		die "debugfs could not set file owners"
fi

# --- Disk: MBR + partitions -> qcow2 -------------------------------------------------
truncate -s "${DISK_MIB}M" "$WORK/disk.raw"
sfdisk --quiet --no-reread --no-tell-kernel "$WORK/disk.raw" >/dev/null <<EOF
label: dos
label-id: 0x4e430001
start=$BOOT_START, size=$BOOT_SECTORS, type=e, bootable
start=$ROOT_START, size=$ROOT_SECTORS, type=83
EOF
dd if="$MBR_BIN" of="$WORK/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/boot.img" of="$WORK/disk.raw" bs=512 seek="$BOOT_START" conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$WORK/disk.raw" bs=512 seek="$ROOT_START" conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$WORK/test.qcow2"

# --- Install the results ----------------------------------------------------------------
mv -f "$WORK/test.qcow2" "$OUT/test.qcow2"
mv -f "$WORK/vmlinuz" "$OUT/test-vmlinuz"
mv -f "$WORK/vmlinux" "$OUT/test-vmlinux"
mv -f "$WORK/initrd.img" "$OUT/test-initrd.img"
echo "$CMDLINE" >"$OUT/test.cmdline"

size() { du -k --apparent-size "$1" | cut -f1; }
echo "test image: kernel $KVER, $OUT/test.qcow2 ($(size "$OUT/test.qcow2") KiB, ${DISK_MIB} MiB virtual)," \
	"initrd $(size "$OUT/test-initrd.img") KiB, vmlinuz $(size "$OUT/test-vmlinuz") KiB," \
	"vmlinux $(size "$OUT/test-vmlinux") KiB, $(($(date +%s) - T0)) s"
