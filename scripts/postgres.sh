#!/bin/bash
# A private PostgreSQL 15 cluster for tests and for trying the PostgreSQL store.
#
#   scripts/postgres.sh start DIR PORT   create (once) and start a cluster in
#                                        DIR/data on 127.0.0.1:PORT; prints its
#                                        URL, postgresql://nestcloud@127.0.0.1:PORT/nestcloud
#   scripts/postgres.sh stop DIR [PORT]  stop it (DIR stays; rm -rf it to forget)
#
# The cluster trusts local connections (loopback and its own socket in DIR):
# role "nestcloud" has no password and owns database "nestcloud".  Run as
# root, the cluster belongs to the postgres user, as Debian's own clusters
# do; run as anyone else, it belongs to that user.  Nothing outside DIR is
# touched, so it never meets the system's clusters.  Needs Debian's
# postgresql package (scripts/deps.sh test installs it).
set -euo pipefail

bindir=/usr/lib/postgresql/15/bin

usage() {
	echo "usage: $0 start|stop DIR PORT" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
port=${3:-}

if [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
	echo "postgres: PostgreSQL 15 is not installed ($bindir); run scripts/deps.sh test" >&2
	exit 1
fi

# as_owner CMD...: runs CMD as the cluster's owner.
if [ "$(id -u)" -eq 0 ]; then
	owner=postgres
	as_owner() { runuser -u postgres -- "$@"; }
else
	owner=$(id -un)
	as_owner() { "$@"; }
fi

data=$dir/data

case "$cmd" in
start)
	[ -n "$port" ] || usage
	[[ "$port" =~ ^[0-9]+$ ]] || { echo "postgres: bad port '$port'" >&2; exit 2; }
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	data=$dir/data
	chown "$owner" "$dir"
	chmod 0700 "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
		# loopback only; the socket lives in DIR, not in /var/run/postgresql
		cat >>"$data/postgresql.conf" <<-EOF
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$dir'
			max_connections = 200
			logging_collector = off
		EOF
	fi
	if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
			-o "-p $port" start >/dev/null || {
			tail -20 "$dir/postgres.log" >&2
			exit 1
		}
	fi
	psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
	if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'nestcloud'")" != 1 ]; then
		"${psql[@]}" -c "CREATE ROLE nestcloud LOGIN"
	fi
	if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'nestcloud'")" != 1 ]; then
		"${psql[@]}" -c "CREATE DATABASE nestcloud OWNER nestcloud"
	fi
	echo "postgresql://nestcloud@127.0.0.1:$port/nestcloud"
	;;
stop)
	if [ -f "$data/PG_VERSION" ] &&
		as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	fi
	;;
*)
	usage
	;;
esac
