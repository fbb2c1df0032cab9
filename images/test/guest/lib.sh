# nestcloud test guest: shared shell helpers (sourced by /init and /sbin/init).

# nc_load_modules LIST: insmod every module named in LIST, in order.
# LIST holds one path per line, relative to /lib/modules/$(uname -r); the
# build computed the order (dependencies first) from the kernel package's
# modules.dep. Modules already loaded are skipped; failures are ignored
# (the device may simply be absent).
nc_load_modules() {
	_kv="$(uname -r)"
	[ -r "$1" ] || return 0
	while read -r _p; do
		[ -n "$_p" ] || continue
		_n="${_p##*/}"
		_n="${_n%.ko}"
		_n="${_n//-/_}"
		[ -d "/sys/module/$_n" ] && continue
		insmod "/lib/modules/$_kv/$_p" 2>/dev/null
	done <"$1"
}

# nc_console MSG...: one line to the serial console.
nc_console() {
	echo "$*" >/dev/console
}

# nc_mounted DIR: true when DIR is a mount point.
nc_mounted() {
	grep -q " $1 " /proc/mounts 2>/dev/null
}
