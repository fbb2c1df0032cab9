#!/bin/sh
# Installs the test application of the nesting experiment into a Debian root:
#   setup.sh /            on this host (L0), or inside a VM (L1, L2)
#   setup.sh /path/tree   into a debootstrap tree for the nested image
# The same files, the same database and the same nginx configuration land at
# ROOT/opt/nestcloud-bench at every level, so the levels differ only in what
# runs beneath them.  --no-packages skips apt-get (the tree has nginx and
# python3 already, or has no network).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
packages=yes
[ "${1:-}" = --no-packages ] && { packages=no; shift; }
root=${1:?usage: setup.sh [--no-packages] ROOT}
root=${root%/}
prefix=$root/opt/nestcloud-bench
pkgs="nginx-light python3"

missing=""
for p in $pkgs; do
    if [ "$p" = nginx-light ]; then
        [ -x "$root/usr/sbin/nginx" ] && continue
    else
        [ -x "$root/usr/bin/$p" ] && continue
    fi
    missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ $packages = no ]; then
        echo "setup.sh: $root lacks:$missing" >&2
        exit 1
    fi
    if [ -z "$root" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
    else
        # a debootstrap tree: install through its own apt, without starting services
        printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
        chmod +x "$root/usr/sbin/policy-rc.d"
        chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
        rm -f "$root/usr/sbin/policy-rc.d"
    fi
fi

mkdir -p "$prefix/run/tmp"
install -m 0755 "$here/app.py" "$here/start.sh" "$here/stop.sh" "$prefix/"
install -m 0644 "$here/nginx.conf.in" "$prefix/"
# The database is written by this host's Python: SQLite's file format is the
# same everywhere and the contents are seeded, so every level gets the same.
py=/usr/bin/python3
[ -x $py ] || py=python3
$py "$here/app.py" --init-db "$prefix/app.db"
echo "setup.sh: installed into $prefix"
