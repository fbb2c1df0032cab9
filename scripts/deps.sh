#!/bin/bash
# Installs the Debian packages nestcloud needs that are missing.
#
#   scripts/deps.sh GROUP...     groups from scripts/packages.txt
#                                (build, run, test, bench), plus the test
#                                image's own list (images/test/DEPENDS)
#
# Idempotent: with everything present it only reads the package database.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(dirname "$here")"

want=()
for group in "$@"; do
	while read -r g pkg; do
		[[ -z "$g" || "$g" == \#* ]] && continue
		[[ "$g" == "$group" ]] && want+=("$pkg")
	done < "$here/packages.txt"
done
if [[ " $* " == *" build "* ]] && [ -f "$top/images/test/DEPENDS" ]; then
	while read -r pkg; do
		[[ -z "$pkg" || "$pkg" == \#* ]] || want+=("$pkg")
	done < "$top/images/test/DEPENDS"
fi

missing=()
for pkg in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/nestcloud-apt.log 2>&1; then
	apt-get update >>/tmp/nestcloud-apt.log 2>&1
	apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/nestcloud-apt.log 2>&1 || {
		tail -20 /tmp/nestcloud-apt.log >&2
		exit 1
	}
fi
