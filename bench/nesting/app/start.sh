#!/bin/sh
# Starts the test application (nginx on PORT in front of nc-benchapp on
# PORT+1), without systemd.  Run where setup.sh installed it
# (/opt/nestcloud-bench); a busybox shell is enough (the app VM has no more).
#   start.sh [--port PORT] [--level NAME]
# Prints the URL to load once nginx answers.
set -eu
prefix=$(cd "$(dirname "$0")" && pwd)
port=8080
level=${NC_BENCH_LEVEL:-?}
while [ $# -gt 0 ]; do
    case $1 in
    --port) port=$2; shift 2 ;;
    --level) level=$2; shift 2 ;;
    *) echo "usage: start.sh [--port PORT] [--level NAME]" >&2; exit 2 ;;
    esac
done
app_port=$((port + 1))
"$prefix/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$prefix/run/tmp"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@APP_PORT@|$app_port|g" \
    "$prefix/nginx.conf.in" > "$prefix/run/nginx.conf"
setsid "$prefix/nc-benchapp" --db "$prefix/app.db" --port "$app_port" --level "$level" \
    </dev/null >"$prefix/run/app.log" 2>&1 &
echo $! > "$prefix/run/app.pid"
/usr/sbin/nginx -p "$prefix/run" -c "$prefix/run/nginx.conf"
# under TCG inside TCG the first answer takes a while
i=0
until "$prefix/nc-benchapp" --check "$port"; do
    i=$((i + 1))
    if [ $i -gt 600 ]; then
        echo "start.sh: the application did not answer on port $port" >&2
        cat "$prefix/run/app.log" "$prefix/run/nginx-error.log" >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "http://127.0.0.1:$port/offers"
