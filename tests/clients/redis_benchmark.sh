#!/usr/bin/env bash
# redis-benchmark through foreshard with the test list of the proxy-core
# issue, pipelined (-P 16) and not (-P 1); fails on any error line or a
# missing test. Run under with_fleet.sh.
set -euo pipefail
tests=set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset
for p in 1 16; do
  out=$(redis-benchmark -p "$FS_PORT" -q -t "$tests" -n 20000 -c 50 -r 100000 -P "$p" 2>&1)
  echo "-P $p:"
  echo "$out" | tr '\r' '\n' | grep -E 'requests per second' || true
  if echo "$out" | grep -qiE 'error|ERR '; then
    echo "FAIL: redis-benchmark -P $p reported errors:" >&2
    echo "$out" | tr '\r' '\n' | grep -iE 'error|ERR ' | head >&2
    exit 1
  fi
  n=$(echo "$out" | tr '\r' '\n' | grep -c 'requests per second' || true)
  if [ "$n" -lt 14 ]; then  # 13 tests; lrange_100 also reports its LPUSH fill
    echo "FAIL: only $n results from redis-benchmark -P $p" >&2
    exit 1
  fi
done
echo "redis-benchmark: 1 passed, 0 failed"
