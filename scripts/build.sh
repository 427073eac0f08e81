#!/usr/bin/env bash
# Configures and builds foreshard into build/ (or $BUILD_DIR).
#   scripts/build.sh [Release|RelWithDebInfo|Debug] [--asan]
# FORESHARD_UNITY=ON|OFF (scripts/test.sh sets ON) sets CMAKE_UNITY_BUILD: half
# the CPU time of a clean build, slower incremental rebuilds. Unset: the build
# dir keeps what it had (OFF for a new one).
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-RelWithDebInfo}
san=OFF
for a in "$@"; do [ "$a" = "--asan" ] && san=ON; done
dir=${BUILD_DIR:-build}
unity=()
[ -n "${FORESHARD_UNITY:-}" ] && unity=(-DCMAKE_UNITY_BUILD="$FORESHARD_UNITY")
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DFORESHARD_SANITIZE="$san" "${unity[@]}" >/dev/null
start=$SECONDS
cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking)' || true
echo "== build $dir: $((SECONDS - start)) s"
test -x "$dir/app/foreshard" || { echo "build failed" >&2; exit 1; }
