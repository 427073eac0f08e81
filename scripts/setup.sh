#!/usr/bin/env bash
# Installs the Debian packages foreshard needs to build, run and test, only
# when some are missing (a no-op costs one dpkg query). Used by both README
# commands and by CI on a fresh machine. prometheus (with promtool) and
# docker-compose serve the ops checks (tests/ops, scripts/check-ops.sh).
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  libuv1-dev libhiredis-dev libyaml-cpp-dev prometheus-cpp-dev libcivetweb-dev
  doctest-dev libeigen3-dev libcli11-dev libspdlog-dev libfmt-dev libxxhash-dev
  redis-server redis-tools nutcracker python3-redis
  prometheus docker-compose
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's redis-server package starts a system instance on 6379; we never use
# it and must not depend on it, so leave it alone (tests pick free ports).
