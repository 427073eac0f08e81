#!/usr/bin/env bash
# The one test command (README, CI): installs missing Debian packages, builds,
# and runs every test through ctest: unit tests, integration tests against
# real redis-servers on free loopback ports, real client libraries and a
# redis-benchmark run. Everything it starts it stops (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-node.sh
bash scripts/build.sh RelWithDebInfo
cmake --build build -j"$(nproc)" >/dev/null
ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@"
