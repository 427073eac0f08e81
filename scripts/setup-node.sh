#!/usr/bin/env bash
# Installs the npm packages of the Node.js test folders into their
# node_modules from package.json, again whenever package.json changes:
# tests/clients (ioredis, redis) and tests/ops/dashboard (typescript,
# @grafana/schema, dockerfilelint for scripts/check-ops.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for dir in tests/clients tests/ops/dashboard; do
  cd "$root/$dir"
  [ -f package.json ] || continue
  if [ ! -f node_modules/.foreshard-installed ] || [ package.json -nt node_modules/.foreshard-installed ]; then
    npm install --no-audit --no-fund --loglevel=error >/dev/null
    touch node_modules/.foreshard-installed
  fi
done
