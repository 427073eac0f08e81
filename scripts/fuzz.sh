#!/usr/bin/env bash
# Builds the RESP fuzz target (tests/fuzz/resp_fuzz.cc) with clang++ and libFuzzer under
# ASan+UBSan, then runs it for a bounded time: scripts/fuzz.sh [seconds, default 60] [jobs, 1].
# FUZZ_FAST=1 builds without ASan/UBSan but with libstdc++ assertions (bounds-checked
# containers) and the target's own invariants: several times more inputs per second, for
# long runs; the sanitized build stays the default.
# Seeds come from tests/fuzz/corpus; the growing corpus, log and crash files stay in build-fuzz/.
set -euo pipefail

secs="${1:-60}"
jobs="${2:-1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${FUZZ_BUILD_DIR:-$root/build-fuzz}"

cxx=""
for c in clang++ clang++-14 clang++-15 clang++-16; do
  if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
done
if [ -z "$cxx" ]; then
  echo "fuzz: installing clang (Debian's clang 14 ships libFuzzer in libclang-rt-14-dev)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    clang libclang-rt-14-dev >/dev/null
  cxx=clang++
fi

mkdir -p "$out/corpus" "$out/artifacts"
if [ "${FUZZ_FAST:-0}" = 1 ]; then
  san=(-O2 -fsanitize=fuzzer -D_GLIBCXX_ASSERTIONS)
  bin="$out/resp_fuzz_fast"
else
  san=(-O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  bin="$out/resp_fuzz"
fi
"$cxx" -std=c++20 -g -fno-omit-frame-pointer "${san[@]}" \
  -I"$root" \
  "$root/tests/fuzz/resp_fuzz.cc" \
  "$root/proxy/resp_parser.cc" "$root/proxy/resp_scanner.cc" "$root/proxy/resp_writer.cc" \
  -o "$bin"

# RESP tokens help the mutator build headers, escapes and RESP3 types.
cat >"$out/resp.dict" <<'DICT'
"\x0D\x0A"
"*1\x0D\x0A"
"*2\x0D\x0A"
"*-1\x0D\x0A"
"*0\x0D\x0A"
"$1\x0D\x0A"
"$0\x0D\x0A\x0D\x0A"
"$-1\x0D\x0A"
"$?\x0D\x0A"
"+OK\x0D\x0A"
"-ERR\x0D\x0A"
":1\x0D\x0A"
"_\x0D\x0A"
",1.5\x0D\x0A"
"#t\x0D\x0A"
"(1\x0D\x0A"
"!3\x0D\x0AERR\x0D\x0A"
"=8\x0D\x0Atxt:abcd\x0D\x0A"
"%1\x0D\x0A"
"~1\x0D\x0A"
">1\x0D\x0A"
"|1\x0D\x0A"
"\\x4f"
"\\\""
"\\'"
"\""
"'"
"9223372036854775808"
"4097"
"257"
"65"
DICT

extra=()
if [ "$jobs" -gt 1 ]; then extra+=("-fork=$jobs"); fi
log="$out/fuzz.log"
# -max_len: room for several pipelined commands under the fuzz target's small limits.
set +e
"$bin" "$out/corpus" "$root/tests/fuzz/corpus" \
  -dict="$out/resp.dict" -max_total_time="$secs" -max_len=4096 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
  "${extra[@]}" >"$log" 2>&1
status=$?
set -e
if [ "$status" -ne 0 ]; then
  grep -v '^#[0-9]' "$log" | tail -n 80 >&2
  echo "fuzz: FAILED (exit $status); log $log, crash inputs in $out/artifacts/" >&2
  exit "$status"
fi
grep -E '^(#[0-9]+.*DONE|stat::|Done )' "$log" | tail -n 12
echo "fuzz: ok (${secs}s, log $log)"
