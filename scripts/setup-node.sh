#!/usr/bin/env bash
# Installs the Node.js client libraries the client tests use (ioredis, redis)
# into tests/clients/node_modules from package.json, again whenever
# package.json changes.
set -euo pipefail
cd "$(dirname "$0")/../tests/clients"
[ -f package.json ] || exit 0
if [ ! -f node_modules/.foreshard-installed ] || [ package.json -nt node_modules/.foreshard-installed ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules/.foreshard-installed
fi
