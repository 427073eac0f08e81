#!/usr/bin/env bash
# Configures and builds foreshard into build/ (or $BUILD_DIR).
#   scripts/build.sh [Release|RelWithDebInfo|Debug] [--asan]
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-RelWithDebInfo}
san=OFF
for a in "$@"; do [ "$a" = "--asan" ] && san=ON; done
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DFORESHARD_SANITIZE="$san" >/dev/null
cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking)' || true
test -x "$dir/app/foreshard" || { echo "build failed" >&2; exit 1; }
