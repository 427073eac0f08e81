#!/usr/bin/env bash
# The one test command (README, CI): installs missing Debian packages, builds,
# and runs every test through ctest: unit tests, integration tests against
# real redis-servers on free loopback ports, real client libraries, a
# redis-benchmark run, the abuse and the live-migration tests; then the same
# under ASan + UBSan. Everything it starts it stops (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-node.sh
# Unity builds (CMAKE_UNITY_BUILD) for both builds: a clean build takes about
# half the time (docs/BENCHMARKS.md, "CI build time"). FORESHARD_UNITY=OFF to not.
export FORESHARD_UNITY=${FORESHARD_UNITY:-ON}
bash scripts/build.sh RelWithDebInfo
cmake --build build -j"$(nproc)" >/dev/null
ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@"
# Then the unit, integration and migration tests again under ASan + UBSan (and
# the abuse test's functional checks): scripts/sanitize.sh asan. Skipped when
# ctest arguments narrow the run, or with SANITIZE=0.
if [ $# -eq 0 ] && [ "${SANITIZE:-1}" = 1 ]; then
  bash scripts/sanitize.sh asan
fi
