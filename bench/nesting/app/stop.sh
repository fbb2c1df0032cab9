#!/bin/sh
# Stops what start.sh started, by the process ids it recorded.
prefix=$(cd "$(dirname "$0")" && pwd)
if [ -f "$prefix/run/nginx.pid" ]; then
    /usr/sbin/nginx -p "$prefix/run" -c "$prefix/run/nginx.conf" -s quit 2>/dev/null ||
        kill "$(cat "$prefix/run/nginx.pid")" 2>/dev/null
fi
if [ -f "$prefix/run/app.pid" ]; then
    kill "$(cat "$prefix/run/app.pid")" 2>/dev/null
    rm -f "$prefix/run/app.pid"
fi
exit 0
