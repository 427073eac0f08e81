#!/usr/bin/env bash
# Regenerates proxy/commands_fallback.resp: the raw RESP2 bytes of a local Redis 7.0 server's reply
# to COMMAND, captured verbatim. It starts a throw-away redis-server on a free loopback port (no
# persistence), sends COMMAND, writes exactly the reply bytes and stops that server by its PID.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(dirname "$here")/proxy/commands_fallback.resp}"
server="${REDIS_SERVER:-redis-server}"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
workdir="$(mktemp -d)"
"$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$workdir" \
  --logfile "$workdir/redis.log" --daemonize no &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

# Waits for the server, sends COMMAND and reads until one complete RESP value has arrived (the
# scanner below counts elements; the bytes themselves are written untouched).
"$py" - "$port" "$out.tmp" <<'EOF'
import socket, sys, time

port, out = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 10
while True:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("gen_commands_fallback: redis-server did not start")
        time.sleep(0.05)

def end_of_value(buf, pos):
    """Returns the index just past the RESP value starting at pos, or None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:nl]
    pos = nl + 2
    if kind in (b"+", b"-", b":"):
        return pos
    if kind == b"$":
        n = int(line)
        if n < 0:
            return pos
        return pos + n + 2 if len(buf) >= pos + n + 2 else None
    if kind == b"*":
        for _ in range(max(int(line), 0)):
            pos = end_of_value(buf, pos)
            if pos is None:
                return None
        return pos
    sys.exit("gen_commands_fallback: unexpected RESP type %r" % kind)

# Wait until the server answers (it may still be loading), then ask for the table.
sock.sendall(b"*1\r\n$4\r\nPING\r\n")
buf = b""
while b"\r\n" not in buf:
    buf += sock.recv(4096)
if not buf.startswith(b"+PONG"):
    sys.exit("gen_commands_fallback: unexpected PING reply %r" % buf[:80])

sock.sendall(b"*1\r\n$7\r\nCOMMAND\r\n")
buf = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        sys.exit("gen_commands_fallback: connection closed mid-reply")
    buf += chunk
    end = end_of_value(buf, 0)
    if end is not None:
        break
if end != len(buf) or not buf.startswith(b"*"):
    sys.exit("gen_commands_fallback: reply is not exactly one array")
with open(out, "wb") as f:
    f.write(buf)
EOF
mv "$out.tmp" "$out"
echo "gen_commands_fallback: wrote $(wc -c <"$out") bytes from $("$server" --version | cut -d' ' -f3) to $out"
