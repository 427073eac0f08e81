#!/usr/bin/env bash
# ctest "ops_metrics_lint" (run under tests/clients/with_fleet.sh): drives a few
# commands through foreshard, fetches its /metrics and checks that
#  - `promtool check metrics` finds no problem in the exposition,
#  - the per-backend request counters count what was sent,
#  - every foreshard_* family exposed is documented in docs/METRICS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${FS_PORT:?run me under tests/clients/with_fleet.sh}" "${FS_METRICS_PORT:?}"

# 300 SETs and 300 GETs over distinct keys, so every backend owns some.
for i in $(seq 1 300); do echo "SET ops:lint:$i v$i"; echo "GET ops:lint:$i"; done \
  | redis-cli -p "$FS_PORT" >/dev/null

metrics=$(/usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode())' \
  "$FS_METRICS_PORT")

echo "--- promtool check metrics"
if ! printf '%s\n' "$metrics" | promtool check metrics; then
  echo "FAIL: promtool check metrics reported the problems above" >&2
  exit 1
fi

# Sum of foreshard_requests_total over backends (not "proxy") and class.
sent=$(printf '%s\n' "$metrics" | awk '/^foreshard_requests_total\{/ && !/backend="proxy"/ { s += $NF } END { print s + 0 }')
backends=$(printf '%s\n' "$metrics" | grep '^foreshard_requests_total{' | grep -v 'backend="proxy"' \
  | sed 's/.*backend="\([^"]*\)".*/\1/' | sort -u | wc -l)
echo "requests counted on backends: $sent over $backends backends"
if [ "${sent%.*}" -lt 600 ] || [ "$backends" -ne 3 ]; then
  echo "FAIL: expected >= 600 requests spread over 3 backends" >&2
  exit 1
fi

undocumented=()
for f in $(printf '%s\n' "$metrics" | sed -n 's/^# TYPE \(foreshard_[a-z_]*\) .*/\1/p' | sort -u); do
  grep -q "\`$f\`" "$root/docs/METRICS.md" || undocumented+=("$f")
done
if [ ${#undocumented[@]} -gt 0 ]; then
  echo "FAIL: exposed but not in docs/METRICS.md: ${undocumented[*]}" >&2
  exit 1
fi
echo "OK: /metrics passes promtool; every foreshard_* family is documented"
