#!/bin/bash
# `make run`: starts nestcloud (if it is not running yet) and a demo VM,
# then says how to reach both.  Safe to run again.
#
#   STATE_DIR   state directory (default /var/lib/nestcloud)
#   LISTEN      API address (default 127.0.0.1:7400)
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nc="$top/build/src/nestcloud"
state="${STATE_DIR:-/var/lib/nestcloud}"
listen="${LISTEN:-127.0.0.1:7400}"
export NESTCLOUD_URL="http://$listen"
mkdir -p "$state"

healthy() { curl -fsS "$NESTCLOUD_URL/v1/health" >/dev/null 2>&1; }

if healthy; then
	echo "nestcloud is already running at $NESTCLOUD_URL"
else
	echo "starting nestcloud up (state in $state, log in $state/nestcloud.log)"
	nohup "$nc" up --state-dir "$state" --listen "$listen" >>"$state/nestcloud.log" 2>&1 &
	echo $! >"$state/nestcloud.pid"
	for _ in $(seq 1 100); do
		healthy && break
		if ! kill -0 "$(cat "$state/nestcloud.pid")" 2>/dev/null; then
			echo "nestcloud did not start; the end of its log:" >&2
			tail -20 "$state/nestcloud.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	healthy || { echo "nestcloud is not answering at $NESTCLOUD_URL" >&2; exit 1; }
fi

cli() { "$nc" "$@" --state-dir "$state"; }
if ! cli vm show demo >/dev/null 2>&1; then
	cli vm create demo --image test --vcpus 1 --memory 512M
fi
# On a second run the VM is there already, with its address from before:
# it counts once it runs again (its host's first heartbeat says so; the
# reconciler boots it again if the machine restarted).  A demo VM someone
# stopped is started.
field() { cli vm show demo --json | sed -n "s/^  \"$1\": \"\([^\"]*\)\".*/\1/p" | head -1; }
echo "waiting for the demo VM to boot and take an address..."
addr=""
started=""
for _ in $(seq 1 120); do
	st=$(field state)
	if [ "$st" = stopped ] && [ -z "$started" ]; then
		cli vm start demo >/dev/null && started=yes
	fi
	addr=$(field address)
	[ "$st" = running ] && [ -n "$addr" ] && break
	sleep 1
done
echo
cli status
echo
cli vm list
echo
echo "The guest's console (last lines):"
cli vm console demo | tail -3
cat <<EOT

nestcloud runs at $NESTCLOUD_URL; the admin token is in $state/admin.token.
Try:
  build/src/nestcloud vm show demo --state-dir $state
  build/src/nestcloud vm resize demo --vcpus 2 --memory 1G --state-dir $state   # live
  build/src/nestcloud vm console demo --follow --state-dir $state
EOT
if [ -n "$addr" ]; then
	echo "  curl http://$addr/        # the demo guest's web page"
fi
if [ -s "$state/market.url" ]; then
	echo "The market (web UI and /market/v1) runs at $(cat "$state/market.url")."
fi
echo "Stop it with: make stop"
