#!/usr/bin/env bash
# Installs the Node.js client libraries the client tests use (ioredis, redis)
# into tests/clients/node_modules from package.json, once.
set -euo pipefail
cd "$(dirname "$0")/../tests/clients"
[ -f package.json ] || exit 0
if [ ! -d node_modules/ioredis ] || [ ! -d node_modules/redis ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
