#!/usr/bin/env bash
# Runs one client test against a fresh fleet (3 redis-servers + foreshard on
# free ports): with_fleet.sh COMMAND... ; the command sees FS_PORT and
# REDIS_PORTS (space separated). Stops what it started, whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/fleet.sh"
dir=$(mktemp -d /tmp/foreshard-clients.XXXXXX)
trap 'fleet_stop "$dir"; rm -rf "$dir"' EXIT
fleet_start "$dir" 3
# An array cannot be exported: turn it into a plain string first.
ports="${REDIS_PORTS[*]}"
unset REDIS_PORTS
export REDIS_PORTS="$ports" FLEET_DIR="$dir"
"$@"
