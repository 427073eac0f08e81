#!/usr/bin/env bash
# Throughput of foreshard-load next to redis-benchmark on the same target in the same run
# (docs/LOADGEN.md), then a seasonal run through foreshard while segments move live.
#   loadgen/bench.sh [seconds per run, default 5] [rounds, default 2]
# Targets: a plain redis-server, then foreshard in front of 3 redis-servers (all on free
# loopback ports, stopped by PID at the end). Both tools use 8 connections, 16 requests in
# flight each, 64-byte values, 100,000 keys, half GET half SET; foreshard-load is asked for
# far more than it can do (--peak-ops 1e6, --amplitude 0) so that it runs flat out. Each
# line also gives the tool's own CPU time per request (user + sys), which depends much less
# than ops/s on what else the machine runs.
# Environment: FORESHARD_BIN, LOADGEN_BIN (defaults under build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/fleet.sh"
LOADGEN_BIN=${LOADGEN_BIN:-$root/build/loadgen/foreshard-load}
secs=${1:-5}
rounds=${2:-2}
dir=$(mktemp -d /tmp/foreshard-loadgen-bench.XXXXXX)
trap 'fleet_stop "$dir/fleet"; fleet_stop "$dir"; rm -rf "$dir"' EXIT
: >"$dir/pids"

cpu() {  # file written by /usr/bin/time -f "%U %S" (last line) -> CPU seconds
  tail -1 "$1" | awk '{print $1 + $2}'
}

compare() {  # label port
  local label=$1 port=$2 r n c
  n=$((secs * 60000))
  for ((r = 1; r <= rounds; r++)); do
    echo "== $label, round $r (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    /usr/bin/time -f "%U %S" -o "$dir/time" redis-benchmark -p "$port" -c 8 -P 16 -t set,get \
      -n "$n" -r 100000 -d 64 -q 2>&1 | tr '\r' '\n' | grep 'per second' >"$dir/rb"
    c=$(cpu "$dir/time")
    echo "redis-benchmark: $(awk '{printf "%s %s/s  ", $1, $2}' "$dir/rb")CPU $(awk -v c="$c" -v n="$n" \
      'BEGIN {printf "%.2f us/op", c * 1e6 / (2 * n)}')"
    /usr/bin/time -f "%U %S" -o "$dir/time" "$LOADGEN_BIN" --port "$port" -c 8 -P 16 \
      --duration "$secs" --day-seconds "$secs" --peak-ops 1000000 --amplitude 0 --keys 100000 \
      --value-size 64 --read-ratio 0.5 -q --json "$dir/run.json" >/dev/null
    summary "$dir/run.json" "$(cpu "$dir/time")"
  done
}

summary() {  # json file [cpu seconds] -> "ops/s errors p50 p99 [CPU per op]"
  /usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
line = "foreshard-load:  %.0f ops/s, errors %d, p50 %.3f ms, p99 %.3f ms" % (s["ops_per_sec"],
       s["errors"]["total"], s["latency_ms"]["p50"], s["latency_ms"]["p99"])
if len(sys.argv) > 2:
    line += ", CPU %.2f us/op" % (float(sys.argv[2]) * 1e6 / max(1, s["total_ops"]))
print(line)' "$@"
}

p=$(free_port)
redis_start "$dir" "$p"
compare "redis-server (direct)" "$p"

fleet_start "$dir/fleet" 3
compare "foreshard + 3 redis-servers" "$FS_PORT"

# Seasonal load through foreshard while segments 0..7 move to another backend one after the
# other: every request must be answered (errors 0), the switches only add latency.
echo "== seasonal run through foreshard, 8 live moves"
"$LOADGEN_BIN" --port "$FS_PORT" -c 8 -P 16 --duration $((secs * 2)) --day-seconds $((secs * 2)) \
  --peak-ops 20000 --keys 100000 --groups 4 --prefill -q --json "$dir/move.json" >/dev/null &
lg=$!
sleep 2
finished() {  # moves done + aborted so far
  redis-cli -p "$FS_PORT" FORESHARD MIGRATIONS | head -1 |
    sed -E 's/.*done: ([0-9]+), aborted: ([0-9]+).*/\1 \2/' | awk '{print $1 + $2}'
}
for seg in 0 1 2 3 4 5 6 7; do
  owner=$(redis-cli -p "$FS_PORT" FORESHARD SEGMENTS | sed -n "$((seg + 2))p" | awk '{print $6}')
  dst=redis-1; [ "$owner" = redis-1 ] && dst=redis-2
  before=$(finished)
  redis-cli -p "$FS_PORT" FORESHARD MIGRATE "$seg" "$dst" >/dev/null
  for _ in $(seq 400); do
    [ "$(finished)" -gt "$before" ] && break
    sleep 0.05
  done
done
redis-cli -p "$FS_PORT" FORESHARD MIGRATIONS | head -1
wait "$lg"
summary "$dir/move.json"
