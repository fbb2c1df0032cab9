#!/bin/bash
# Starts or stops Debian's rabbitmq-server as a private node, for tests and
# benchmarks: its own data directory, its own ports and its own epmd, so it
# never meets the machine's broker (if any) or another test's.
#
#   scripts/rabbitmq.sh start DIR PORT   AMQP on 127.0.0.1:PORT; returns once
#                                        the node answers the AMQP handshake
#   scripts/rabbitmq.sh stop DIR PORT    stops the node and its epmd
#   scripts/rabbitmq.sh kill DIR PORT    kills them (SIGKILL): for a node whose
#                                        DIR is about to be removed, where an
#                                        orderly stop only costs seconds
#
# Ports used: PORT (AMQP), PORT+1 (Erlang distribution), PORT+2 (epmd).
# Everything the node writes lives in DIR (mnesia, logs, cookie, pid files),
# so a stop followed by a start on the same DIR and PORT brings the same node
# back with its durable queues.  The URL is amqp://guest:guest@127.0.0.1:PORT/.
#
# As root the node runs as the `rabbitmq` user (the server refuses root's
# files otherwise); as anyone else it runs as that user.
#
# NC_RABBITMQ_QUORUM_TICK_MS sets how often each quorum queue ticks (default
# 5000, RabbitMQ's).  A tick also refreshes the queue's message counts that
# `rabbitmqctl list_queues` shows, so tests keep the default; the 1,000-host
# benchmark sets 60000, for which the idle broker used 0.02 of a core instead
# of 0.11 (docs/BENCHMARKS.md).  Applies to a DIR started for the first time.
set -euo pipefail

usage() {
	echo "usage: $0 start|stop|kill DIR PORT" >&2
	exit 2
}
[ $# -eq 3 ] || usage
action=$1
dir=$2
port=$3
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] && [ "$port" -lt 65534 ] || usage
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

node="nc${port}@localhost"
epmd_pid_file="$dir/epmd.pid"

export HOME="$dir"
export RABBITMQ_NODENAME="$node"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT=$((port + 1))
export ERL_EPMD_PORT=$((port + 2))
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_FEATURE_FLAGS_FILE="$dir/feature_flags"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"   # .conf is appended
export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
export ERL_CRASH_DUMP="$dir/log/erl_crash.dump"

as_owner=(env)
if [ "$(id -u)" -eq 0 ]; then
	# runuser resets HOME to the user's own; the cookie lives in $dir
	as_owner=(runuser -u rabbitmq -- env HOME="$dir")
fi

# True once something on PORT answers the AMQP 0-9-1 protocol header with
# a method frame (connection.start): the broker is up, not just its socket.
amqp_ready() {
	local byte
	{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
	printf 'AMQP\x00\x00\x09\x01' >&3
	if ! IFS= read -r -t 2 -N 1 byte <&3; then
		exec 3>&-
		return 1
	fi
	exec 3>&-
	[ "$byte" = $'\x01' ]
}

# PID of the process in pid file $1 if it still runs, else nothing.
live_pid() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
	if ! command -v /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null; then
		echo "rabbitmq: rabbitmq-server is not installed (scripts/deps.sh test)" >&2
		exit 1
	fi
	if amqp_ready; then
		echo "rabbitmq: something already answers AMQP on port $port" >&2
		exit 1
	fi
	mkdir -p "$dir/mnesia" "$dir/log"
	[ -f "$dir/enabled_plugins" ] || echo '[].' >"$dir/enabled_plugins"
	# statistics every 60 s instead of 5: with a thousand hosts (2,000
	# quorum queues, 1,000 connections) the idle broker used 0.157 of a
	# core, 0.109 with this (BENCHMARKS.md)
	[ -f "$dir/rabbitmq.conf" ] || cat >"$dir/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$port
		loopback_users.guest = true
		disk_free_limit.absolute = 50MB
		log.file.level = warning
		log.console = false
		collect_statistics_interval = 60000
	EOF
	: >"$dir/rabbitmq-env.conf"
	tick="${NC_RABBITMQ_QUORUM_TICK_MS:-5000}"
	[[ "$tick" =~ ^[0-9]+$ ]] || { echo "rabbitmq: NC_RABBITMQ_QUORUM_TICK_MS must be a number" >&2; exit 2; }
	[ -f "$dir/advanced.config" ] ||
		echo "[{rabbit, [{quorum_tick_interval, $tick}]}]." >"$dir/advanced.config"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R rabbitmq:rabbitmq "$dir"
		if ! "${as_owner[@]}" test -x "$dir" -a -w "$dir"; then
			echo "rabbitmq: the rabbitmq user cannot reach $dir (is a parent directory closed?)" >&2
			exit 1
		fi
	fi
	cd "$dir"

	if ! live_pid "$epmd_pid_file" >/dev/null; then
		"${as_owner[@]}" epmd -port "$ERL_EPMD_PORT" -address 127.0.0.1 \
			>>"$dir/log/epmd.log" 2>&1 </dev/null &
		echo $! >"$epmd_pid_file"
	fi
	"${as_owner[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server \
		>>"$dir/log/startup.log" 2>&1 </dev/null &
	local launcher=$!

	for _ in $(seq 1 300); do
		if amqp_ready; then
			return 0
		fi
		if ! kill -0 "$launcher" 2>/dev/null; then
			echo "rabbitmq: the node exited while starting; see $dir/log" >&2
			tail -n 20 "$dir/log/startup.log" >&2 || true
			stop
			exit 1
		fi
		sleep 0.2
	done
	echo "rabbitmq: the node did not accept AMQP on port $port within 60 s; see $dir/log" >&2
	stop
	exit 1
}

stop() {
	local pid
	if pid=$(live_pid "$RABBITMQ_PID_FILE"); then
		if ! timeout 60 "${as_owner[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$node" \
			stop "$RABBITMQ_PID_FILE" >>"$dir/log/stop.log" 2>&1; then
			kill -9 "$pid" 2>/dev/null || true
		fi
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if pid=$(live_pid "$epmd_pid_file"); then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$epmd_pid_file"
}

kill_node() {
	local f pid
	for f in "$RABBITMQ_PID_FILE" "$epmd_pid_file"; do
		pid=$(live_pid "$f") || continue
		kill -9 "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
	rm -f "$epmd_pid_file"
}

case "$action" in
start) start ;;
stop) stop ;;
kill) kill_node ;;
*) usage ;;
esac
