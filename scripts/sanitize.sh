#!/usr/bin/env bash
# Builds foreshard and its tests under the sanitizers and runs them.
#   scripts/sanitize.sh [asan|tsan|all]      (default: all)
#
#   asan  ASan + UBSan (-DFORESHARD_SANITIZE=ON, -O1 -g1: half the compile
#         time of -O2 -g, stacks still name file and line) in build-asan/; runs
#         the ctest labels unit and integration with leak detection on and every
#         UBSan finding fatal, then the migration test (10 moves).
#   tsan  ThreadSanitizer in build-tsan/. The top-level CMakeLists.txt has no
#         option for it, so the flags are given on the command line
#         (CMAKE_CXX_FLAGS / CMAKE_EXE_LINKER_FLAGS). Runs the integration label:
#         those tests start foreshard with `workers: 2`, so two worker loops,
#         the main thread and the metrics (civetweb) threads all run.
#         Third-party suppressions only: tests/abuse/tsan.supp.
#
# Both then run the abuse test (tests/abuse/abuse_test.py) against their own
# foreshard: 1,000 connections, floods, limits, /metrics and INFO scraped
# while the workers and the control plane run, which the integration tests do
# not do. Its memory and latency bounds are reported, not asserted, under a
# sanitizer (ABUSE_SANITIZER); every functional check still is. SANITIZE_ABUSE=0
# skips it.
#
# Every sanitized process (the test binaries and each foreshard they start)
# writes its report to <build>/sanitizer-logs/<kind>.<pid> via log_path, so a
# report from a child foreshard is not lost in a temp log the test never reads:
# any such file fails the run and is printed here.
#
# Environment: ASAN_BUILD_DIR, TSAN_BUILD_DIR (build dirs, default under the
# repo, gitignored by /build*/), JOBS (default nproc), CTEST_ARGS (extra ctest
# arguments, e.g. "-R integration_tests"), CXX (compiler, as for cmake),
# FORESHARD_UNITY (ON|OFF: CMAKE_UNITY_BUILD, as in scripts/build.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-all}
jobs=${JOBS:-$(nproc)}
asan_dir=${ASAN_BUILD_DIR:-$root/build-asan}
tsan_dir=${TSAN_BUILD_DIR:-$root/build-tsan}
supp=$root/tests/abuse/tsan.supp
read -r -a ctest_extra <<<"${CTEST_ARGS:-}"
# Sanitized processes start slowly on a busy machine (TSan maps its shadow
# memory; the history ring is 64 MB): give the integration tests' proxies 60 s.
export FORESHARD_START_TIMEOUT_MS=${FORESHARD_START_TIMEOUT_MS:-60000}
abuse=${SANITIZE_ABUSE:-1}

case "$mode" in
  asan | tsan | all) ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac

build() {  # dir cmake-args...
  local dir=$1; shift
  echo "== configure $dir"
  local unity=()
  [ -n "${FORESHARD_UNITY:-}" ] && unity=(-DCMAKE_UNITY_BUILD="$FORESHARD_UNITY")
  nice cmake -S "$root" -B "$dir" -DFORESHARD_TESTS=ON "${unity[@]}" "$@" >/dev/null
  echo "== build $dir (-j$jobs)"
  local start=$SECONDS
  # Only warnings, errors and the final status: the progress lines are noise.
  if ! nice cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    grep -vE '^\[ *[0-9]+%\] (Building|Linking)' "$dir/build.log" | tail -60 >&2
    echo "== build failed: $dir (full log: $dir/build.log)" >&2
    return 1
  fi
  echo "== built $dir in $((SECONDS - start)) s"
  test -x "$dir/app/foreshard" || { echo "no $dir/app/foreshard" >&2; return 1; }
}

# Prints and counts sanitizer reports left in $1/sanitizer-logs.
reports() {  # dir kind
  local logs=$1/sanitizer-logs n=0 f
  for f in "$logs"/*; do
    [ -s "$f" ] || continue
    n=$((n + 1))
    echo "---- $2 report: $f"
    cat "$f"
  done
  return $n
}

# The abuse test against this build's foreshard; the sanitizer options in the
# environment (log_path included) apply to it.
run_abuse() {  # dir kind [wrapper...]
  local dir=$1 kind=$2
  shift 2
  [ "$abuse" = 1 ] || return 0
  echo "== abuse test against $dir/app/foreshard ($kind)"
  FORESHARD_BIN="$dir/app/foreshard" ABUSE_SANITIZER="$kind" \
    "$@" /usr/bin/python3 "$root/tests/abuse/abuse_test.py"
}

run_ctest() {  # dir label
  local dir=$1 label=$2 rc=0
  rm -rf "$dir/sanitizer-logs"
  mkdir -p "$dir/sanitizer-logs"
  echo "== ctest -L '$label' in $dir"
  ctest --test-dir "$dir" -L "$label" --output-on-failure --timeout 900 "${ctest_extra[@]}" || rc=$?
  run_abuse "$dir" "$3" || rc=1
  if [ "$3" = asan ]; then
    echo "== migration test (10 moves) against $dir/app/foreshard ($3)"
    FORESHARD_BIN="$dir/app/foreshard" MIGRATION_MOVES=10 \
      /usr/bin/python3 "$root/tests/migration/migration_test.py" || rc=1
  fi
  local found=0
  reports "$dir" "$3" || found=$?
  if [ "$found" -gt 0 ]; then
    echo "== $3: $found sanitizer report file(s) in $dir/sanitizer-logs" >&2
    rc=1
  fi
  return $rc
}

status=0

if [ "$mode" = asan ] || [ "$mode" = all ]; then
  build "$asan_dir" -DFORESHARD_SANITIZE=ON -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -g1" -DCMAKE_C_FLAGS="-O1 -g1"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$asan_dir/sanitizer-logs/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$asan_dir/sanitizer-logs/ubsan"
  run_ctest "$asan_dir" 'unit|integration' asan || status=1
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [ "$mode" = tsan ] || [ "$mode" = all ]; then
  # FORESHARD_TSAN: not an option of the top-level CMakeLists.txt (owned
  # elsewhere); these flags are the whole of it. FORESHARD_SANITIZE stays OFF:
  # ASan and TSan cannot be combined.
  build "$tsan_dir" -DFORESHARD_SANITIZE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1 -g -fno-omit-frame-pointer" \
    -DCMAKE_C_FLAGS="-fsanitize=thread -O1 -g -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
  tsan_opts="halt_on_error=1:second_deadlock_stack=1:log_path=$tsan_dir/sanitizer-logs/tsan"
  [ -f "$supp" ] && tsan_opts="$tsan_opts:suppressions=$supp"
  export TSAN_OPTIONS="$tsan_opts"
  # TSan's shadow memory needs a fixed layout; kernels with high mmap
  # randomisation (vm.mmap_rnd_bits > 28) make it fail at start with
  # "unexpected memory mapping". setarch -R turns randomisation off for the
  # run (inherited by every child) when that applies.
  wrap=()
  bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)
  if [ "$bits" -gt 28 ] && command -v setarch >/dev/null; then
    wrap=(setarch "$(uname -m)" -R)
  fi
  rm -rf "$tsan_dir/sanitizer-logs"; mkdir -p "$tsan_dir/sanitizer-logs"
  echo "== ctest -L integration in $tsan_dir ${wrap[*]:+(under ${wrap[*]})}"
  rc=0
  "${wrap[@]}" ctest --test-dir "$tsan_dir" -L integration --output-on-failure --timeout 1800 \
    "${ctest_extra[@]}" || rc=$?
  run_abuse "$tsan_dir" tsan "${wrap[@]}" || rc=1
  found=0
  reports "$tsan_dir" tsan || found=$?
  if [ "$found" -gt 0 ]; then
    echo "== tsan: $found sanitizer report file(s) in $tsan_dir/sanitizer-logs" >&2
    rc=1
  fi
  [ "$rc" -eq 0 ] || status=1
  unset TSAN_OPTIONS
fi

if [ "$status" -eq 0 ]; then
  echo "sanitize.sh $mode: clean"
else
  echo "sanitize.sh $mode: FAILED (see above)" >&2
fi
exit $status
