#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the
# demo (local redis-servers + foreshard with conf/foreshard.yaml + load).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh RelWithDebInfo >/dev/null
exec /usr/bin/python3 scripts/demo.py "$@"
