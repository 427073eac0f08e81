#!/usr/bin/python3
"""Two edges of a live move (DESIGN §6) that used to abort it:

1. A write whose reply is lost. The source is paused for writes (CLIENT PAUSE
   WRITE) during the copy and an INCR through foreshard times out
   (timeouts.request 300 ms): the worker's link to the source fails with the
   write in flight. The move must kill that connection on the source (CLIENT
   KILL ID), copy the key again and complete. The INCR is applied once or not
   at all (its client got an error); every acknowledged INCR is on the
   destination.
2. Blocking calls on the moving segment: BLPOP (timeout 0 and 30 s) and
   XREAD BLOCK 0 waiting on the source before the move, and a BLPOP sent
   during it. At the switch they are unblocked on the source and re-issued on
   the new owner: the move completes, the calls are still waiting afterwards,
   and an RPUSH/XADD through foreshard wakes each with its value. No error, no
   spurious nil.

Then the same segment moves back with 30 BLPOPs waiting across that switch.

    FORESHARD_BIN=build/app/foreshard /usr/bin/python3 tests/migration/switch_edges_test.py

foreshard runs with FORESHARD_FAULT_PHASE_PAUSE_MS=600 (each phase lingers
600 ms once its state is saved) so the test can act inside the copy phase.
"""
import os
import sys
import tempfile
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import fleet as fleetlib  # noqa: E402
sys.path.insert(0, HERE)
import segment_keys  # noqa: E402

SEGMENT_SIZE = 1024
SEGMENT = 0
NAMES = ["redis-1", "redis-2"]
PAUSE_MS = 600
BACK_CALLS = 30


def keys(prefix, n):
    return segment_keys.keys_in_segment(prefix, n, SEGMENT_SIZE, SEGMENT)


class Blocked(threading.Thread):
    """One blocking call through foreshard on its own connection."""

    def __init__(self, port, *cmd):
        super().__init__(daemon=True)
        self.port, self.cmd = port, cmd
        self.reply, self.error, self.took = None, None, None

    def run(self):
        r = redis.Redis(port=self.port, decode_responses=True, socket_timeout=60)
        t0 = time.monotonic()
        try:
            self.reply = plain(r.execute_command(*self.cmd))
        except Exception as e:  # noqa: BLE001 - reported as a failure
            self.error = repr(e)
        self.took = time.monotonic() - t0


def plain(v):
    """redis-py's tuples as lists, for comparison."""
    return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v


def wait_phase(admin, phase, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = [l for l in admin.execute_command("FORESHARD", "MIGRATIONS").splitlines()
               if l.startswith("now")]
        if now and (" phase %s " % phase) in now[0]:
            return True
        time.sleep(0.005)
    return False


def wait_done(admin, before, timeout=60):
    """The describe line of the move that finished after `before` moves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = admin.execute_command("FORESHARD", "MIGRATIONS")
        head = text.splitlines()[0]
        n = sum(int(head.split(k)[1].split(",")[0]) for k in ("done: ", "aborted: "))
        if n > before and head.startswith("running: 0"):
            return [l for l in text.splitlines() if l.startswith("past")][0]
        time.sleep(0.02)
    return None


def check_move(admin, before, label, counts, failures):
    """Waits for the move, checks it completed with at least `counts` (describe
    field -> minimum) and returns its describe line."""
    line = wait_done(admin, before)
    print("%s: %s" % (label, line), flush=True)
    if line is None or "result: moved" not in line:
        failures.append("%s did not complete: %s" % (label, line))
        return line
    for name, least in counts.items():
        if field(line, name) < least:
            failures.append("%s: %s below %d: %s" % (label, name, least, line))
    return line


def finished(admin):
    head = admin.execute_command("FORESHARD", "MIGRATIONS").splitlines()[0]
    return sum(int(head.split(k)[1].split(",")[0]) for k in ("done: ", "aborted: "))


def owner(admin):
    line = admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1 + SEGMENT]
    return line.split()[5]


def field(line, name):
    """The integer after `name` in a describe line, 0 if absent."""
    at = line.find(name + " ")
    return int(line[at + len(name) + 1:].split()[0]) if at >= 0 else 0


def main():
    if not os.access(fleetlib.BIN, os.X_OK):
        print("FORESHARD_BIN is not an executable: %s" % fleetlib.BIN)
        return 1
    workdir = tempfile.mkdtemp(prefix="foreshard-edges.")
    fl = fleetlib.Fleet(workdir)
    failures = []
    t_start = time.monotonic()
    try:
        ports = [fl.start_redis(n) for n in NAMES]
        port = fleetlib.free_port()
        conf = os.path.join(workdir, "foreshard.yaml")
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:%d\nworkers: 1\ndataDir: %s/data\nsegmentSize: %d\n"
                    "migrationPriority: high\nvalidationInterval: 100ms\nmaxSwitchPause: 5s\n"
                    "timeouts:\n  request: 300ms\n  backoffMin: 50ms\nbackends:\n"
                    % (port, workdir, SEGMENT_SIZE))
            for n, p in zip(NAMES, ports):
                f.write("  - name: %s\n    address: 127.0.0.1:%d\n" % (n, p))
        os.environ["FORESHARD_FAULT_PHASE_PAUSE_MS"] = str(PAUSE_MS)
        fl.spawn([fleetlib.BIN, "serve", "-c", conf], "foreshard")
        if not fleetlib.wait_ping(port):
            raise RuntimeError("foreshard did not start")
        admin = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        direct = [redis.Redis(port=p, decode_responses=True) for p in ports]
        counter, q_forever, q_timed, q_late, stream = keys("edge", 5)
        acked, other_errors, lost_error = 0, [], None
        for _ in range(20):
            r.incr(counter)
            acked += 1
        for i in range(300):
            r.set("fill:{%s}:%d" % (counter, i), "x" * 50)
        r.xadd(stream, {"f": "old"})

        # Blocked before the move starts (registered when the tracker arrives).
        calls = {
            "blpop forever": (Blocked(port, "BLPOP", q_forever, 0), q_forever, "v-forever"),
            "blpop 30 s": (Blocked(port, "BLPOP", q_timed, 30), q_timed, "v-timed"),
            "xread block 0": (Blocked(port, "XREAD", "BLOCK", 0, "STREAMS", stream, "$"), stream,
                              None),
        }
        for t, _, _ in calls.values():
            t.start()
        time.sleep(0.3)

        # Move 1: redis-1 -> redis-2, a lost reply during the copy.
        src = owner(admin)
        dst = NAMES[1 - NAMES.index(src)]
        before = finished(admin)
        admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, dst)
        if not wait_phase(admin, "copy"):
            failures.append("move 1: never saw the copy phase")
        late = Blocked(port, "BLPOP", q_late, 0)  # sent while the segment migrates
        calls["blpop during the move"] = (late, q_late, "v-late")
        late.start()
        time.sleep(0.05)
        direct[NAMES.index(src)].execute_command("CLIENT", "PAUSE", 1000, "WRITE")
        try:
            r.incr(counter)
            acked += 1
            failures.append("the INCR sent while the source was paused got a reply")
        except redis.ResponseError as e:
            lost_error = str(e)
        check_move(admin, before, "move 1", {"connections killed": 1,
                                             "blocked calls moved": len(calls)}, failures)
        if owner(admin) != dst:
            failures.append("move 1: owner is %s, expected %s" % (owner(admin), dst))
        if lost_error is None or "timed out" not in lost_error:
            failures.append("the paused INCR's error was not a timeout: %s" % lost_error)
        for name, (t, _, _) in calls.items():
            if not t.is_alive():
                failures.append("%s returned during the move: %r %s" % (name, t.reply, t.error))
        # Writes through foreshard now go to the new owner and wake the calls.
        for name, (t, key, value) in calls.items():
            if value is not None:
                r.rpush(key, value)
        new_id = r.xadd(stream, {"f": "new"})
        for name, (t, key, value) in calls.items():
            t.join(10)
            want = [key, value] if value is not None else [[stream, [[new_id, {"f": "new"}]]]]
            if t.is_alive():
                failures.append("%s still blocked after the push" % name)
            elif t.error is not None:
                failures.append("%s: error %s" % (name, t.error))
            elif t.reply != want:
                failures.append("%s: reply %r, expected %r" % (name, t.reply, want))

        # The lost INCR ran once or not at all; every acknowledged one is there.
        value = int(direct[NAMES.index(dst)].get(counter) or 0)
        if value not in (acked, acked + 1):
            failures.append("counter %d on %s, acknowledged %d (+1 in doubt)" % (value, dst, acked))
        for _ in range(10):
            try:
                r.incr(counter)
                acked += 1
            except redis.RedisError as e:
                other_errors.append("INCR after move 1: %s" % e)
        print("lost INCR: %s; counter %d, acknowledged %d" % (lost_error, value, acked - 10),
              flush=True)

        # Move 2: back, with 30 BLPOPs waiting across this switch (one pipeline
        # of CLIENT UNBLOCKs).
        backs = [(Blocked(port, "BLPOP", k, 0), k) for k in keys("back", BACK_CALLS)]
        for t, _ in backs:
            t.start()
        time.sleep(0.3)
        before = finished(admin)
        admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, src)
        check_move(admin, before, "move 2", {"blocked calls moved": BACK_CALLS}, failures)
        early = [(k, t.reply, t.error) for t, k in backs if not t.is_alive()]
        if early:
            failures.append("BLPOPs across move 2 returned early: %r" % early[:3])
        for _, k in backs:
            r.rpush(k, "v-" + k)
        for t, k in backs:
            t.join(10)
            if t.reply != [k, "v-" + k] or t.error is not None:
                failures.append("BLPOP %s across move 2: %r %s" % (k, t.reply, t.error))
        value = int(direct[NAMES.index(src)].get(counter) or 0)
        if value not in (acked, acked + 1):
            failures.append("after move 2: counter %d, acknowledged %d (+1)" % (value, acked))
        if direct[NAMES.index(dst)].exists(counter):
            failures.append("after move 2 the counter is still on %s" % dst)
        metrics = admin.execute_command("INFO", "migrations")
        print("INFO migrations: %s" % metrics.get("migration_connections_killed"), flush=True)
        failures.extend(other_errors)
    finally:
        fl.stop_all()
    for f in failures:
        print("FAIL: " + f)
    print("switch edges test: %s (%.1f s)" % ("FAILED" if failures else "ok",
                                               time.monotonic() - t_start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
