#!/bin/sh
# Installs the test application of the nesting experiment into a root:
#   setup.sh [--no-packages] [--bin FILE] /      on this host (L0)
#   setup.sh [--no-packages] [--bin FILE] TREE   into the tree of the app VM
# The same files (nc-benchapp, its database, start.sh/stop.sh and the nginx
# configuration) land at ROOT/opt/nestcloud-bench, so the levels differ only
# in what runs beneath them.  --bin names the built nc-benchapp (default:
# $NESTCLOUD_BUILD/bench/nesting/nc-benchapp); --no-packages skips apt-get
# (nginx must be there already).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
packages=yes
bin=${NESTCLOUD_BUILD:-$here/../../../build}/bench/nesting/nc-benchapp
while [ $# -gt 1 ]; do
    case $1 in
    --no-packages) packages=no; shift ;;
    --bin) bin=$2; shift 2 ;;
    *) break ;;
    esac
done
root=${1:?usage: setup.sh [--no-packages] [--bin FILE] ROOT}
root=${root%/}
prefix=$root/opt/nestcloud-bench
[ -x "$bin" ] || { echo "setup.sh: no nc-benchapp at $bin (ninja builds it; --bin FILE)" >&2; exit 1; }
if [ ! -x "$root/usr/sbin/nginx" ]; then
    if [ $packages = no ] || [ -n "$root" ]; then
        echo "setup.sh: $root lacks nginx" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light
fi
mkdir -p "$prefix/run/tmp"
install -m 0755 "$bin" "$prefix/nc-benchapp"
install -m 0755 "$here/start.sh" "$here/stop.sh" "$prefix/"
install -m 0644 "$here/nginx.conf.in" "$prefix/"
# The database is written here once: SQLite's file format is the same
# everywhere and the contents are seeded, so every level gets the same.
"$bin" --init-db "$prefix/app.db"
echo "setup.sh: installed into $prefix"
