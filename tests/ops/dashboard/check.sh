#!/usr/bin/env bash
# Type-checks a Grafana dashboard JSON against @grafana/schema with tsc:
#   tests/ops/dashboard/check.sh [dashboard.json]   (default docker/grafana/foreshard-dashboard.json)
# Installs the pinned npm packages (package.json) into node_modules here when
# missing or older than package.json, generates gen/dashboard.ts from the JSON
# and runs tsc over it, types.ts and negative.ts (mistakes tsc must catch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
json=$(realpath "${1:-$here/../../../docker/grafana/foreshard-dashboard.json}")
cd "$here"
if [ ! -f node_modules/.foreshard-installed ] || [ package.json -nt node_modules/.foreshard-installed ]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules/.foreshard-installed
fi
node gen-dashboard-ts.mjs "$json" gen/dashboard.ts
node_modules/.bin/tsc -p tsconfig.json
echo "dashboard OK: $(basename "$json") type-checks against @grafana/schema $(node -p 'require("@grafana/schema/package.json").version')"
