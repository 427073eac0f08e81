#!/usr/bin/env bash
# Builds foreshard if needed and runs `foreshard forecast eval` on the seven
# development traces at 1 hour and 1 day (the numbers in docs/FORECAST.md).
#   scripts/forecast-eval.sh [extra eval options, e.g. --plot docs/img or --reference or --bench]
# TRACES_DIR defaults to ../shared/data/traces next to the repository;
# BUILD_DIR to build/ (as scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
traces=${TRACES_DIR:-../shared/data/traces}
bin=${BUILD_DIR:-build}/app/foreshard

if [ ! -d "$traces" ]; then
  echo "no traces in $traces (set TRACES_DIR)" >&2
  exit 2
fi
# Rebuild when the binary is missing or older than any forecast source.
if [ ! -x "$bin" ] || [ -n "$(find forecast app -newer "$bin" -name '*.[ch]*' 2>/dev/null | head -n 1)" ]; then
  scripts/build.sh RelWithDebInfo >&2
fi

files=()
for f in nab_ec2_network_in_5abac7 nab_elb_request_count_8c0756 nab_nyc_taxi nab_occupancy_t4013 \
         nab_rds_cpu_utilization_cc0c53 nab_twitter_volume_AMZN nasa_http_5min; do
  files+=("$traces/$f.csv")
done
exec "$bin" forecast eval "${files[@]}" --horizon 1h,1d "$@"
