# Bash functions to run a local fleet: N redis-servers and foreshard on free
# loopback ports, all PIDs recorded in the fleet directory so that only what
# was started here is stopped. Source it, then:
#   fleet_start DIR N [extra-yaml]   sets FS_PORT FS_METRICS_PORT REDIS_PORTS (array)
#   fleet_stop DIR
FORESHARD_ROOT=${FORESHARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FORESHARD_BIN=${FORESHARD_BIN:-$FORESHARD_ROOT/build/app/foreshard}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ping() {  # port, tries (x 50 ms)
  local i
  for ((i = 0; i < ${2:-200}; i++)); do
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = "PONG" ] && return 0
    sleep 0.05
  done
  return 1
}

redis_start() {  # dir port
  mkdir -p "$1/redis-$2"
  redis-server --port "$2" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$1/redis-$2" --protected-mode no >"$1/redis-$2/log" 2>&1 &
  echo $! >>"$1/pids"
  wait_ping "$2"
}

foreshard_start() {  # dir config
  "$FORESHARD_BIN" serve -c "$2" >>"$1/foreshard.log" 2>&1 &
  echo $! >"$1/foreshard.pid"
  echo $! >>"$1/pids"
}

fleet_start() {
  local dir=$1 n=$2 extra=${3:-}
  mkdir -p "$dir"
  : >"$dir/pids"
  REDIS_PORTS=()
  local i p
  for ((i = 1; i <= n; i++)); do
    p=$(free_port)
    redis_start "$dir" "$p" || { echo "redis-server on $p did not start" >&2; return 1; }
    REDIS_PORTS+=("$p")
  done
  FS_PORT=$(free_port)
  FS_METRICS_PORT=$(free_port)
  {
    echo "listen: 127.0.0.1:$FS_PORT"
    echo "metrics: 127.0.0.1:$FS_METRICS_PORT"
    echo "dataDir: $dir/data"
    echo "backends:"
    for ((i = 1; i <= n; i++)); do
      echo "  - name: redis-$i"
      echo "    address: 127.0.0.1:${REDIS_PORTS[$((i - 1))]}"
      echo "    capacity: 100000"
    done
    [ -n "$extra" ] && printf '%s\n' "$extra"
  } >"$dir/foreshard.yaml"
  foreshard_start "$dir" "$dir/foreshard.yaml"
  wait_ping "$FS_PORT" || { echo "foreshard did not start:" >&2; cat "$dir/foreshard.log" >&2; return 1; }
  export FS_PORT FS_METRICS_PORT
}

fleet_stop() {
  local dir=$1 pid
  [ -f "$dir/pids" ] || return 0
  # foreshard first (it is last in the file), then the redis-servers.
  for pid in $(tac "$dir/pids"); do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $(cat "$dir/pids"); do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
}
