#!/usr/bin/python3
"""Crash safety of live migration: kill -9 foreshard inside every phase of a
move (preflight, copy, catch-up, switching, cleanup), restart it, and check
that nothing acknowledged was lost; then stop the destination redis-server
in catch-up and check that the move aborts with the source serving (reads of
clean keys sent to the stopped destination are answered by the source).

    FORESHARD_BIN=build/app/foreshard /usr/bin/python3 tests/migration/crash_test.py
    CRASH_KILLS_PER_PHASE=20 ... (longer run; default 5, i.e. 25 kills)

foreshard runs with FORESHARD_FAULT_PHASE_PAUSE_MS (each phase lingers that
long once its state is saved) so every phase can be hit; the kill comes at a
random point inside it. Writers INCR counters and RPUSH unique values, a reader
checks counters never go backwards, all through foreshard, across the kills.
A command whose connection died is "in doubt": it may or may not have been
applied. Checks after each restart: the segment is STABLE, the move was
resumed (owner = destination, the kill came after STABLE(dst) was saved) or
aborted (owner = source), and once the journalled cleanups ran no key of the
segment is left on the other backend. At the end: every acknowledged INCR and
RPUSH is there exactly once (in-doubt ones at most once), TTLs and the big
hash survived, and no client ever got an error reply.
"""
import os
import random
import signal
import sys
import tempfile
import threading
import time

import redis
from redis.crc import key_slot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import fleet as fleetlib  # noqa: E402
sys.path.insert(0, HERE)
import segment_keys  # noqa: E402

KILLS_PER_PHASE = int(os.environ.get("CRASH_KILLS_PER_PHASE", "5"))
PHASES = ["preflight", "copy", "catch-up", "switching", "cleanup"]
PAUSE_MS = 300
SEGMENT_SIZE = 1024
SEGMENT = 0
NAMES = ["redis-1", "redis-2"]


def keys_in_segment(prefix, n):
    return segment_keys.keys_in_segment(prefix, n, SEGMENT_SIZE, SEGMENT)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.incr, self.incr_doubt = {}, {}
        self.pushed, self.push_doubt = {}, {}
        self.reply_errors = []
        self.conn_errors = 0
        self.backwards = 0
        self.ops = 0


def writer(wid, port, counters, lists, st, stop):
    r = redis.Redis(port=port, socket_timeout=10)
    rng = random.Random(wid)
    seq = 0
    while not stop.is_set():
        c, lst = rng.choice(counters), rng.choice(lists)
        value = "w%d-%d" % (wid, seq)
        seq += 1
        for op in ("incr", "rpush"):
            try:
                if op == "incr":
                    r.incr(c)
                else:
                    r.rpush(lst, value)
                with st.lock:
                    if op == "incr":
                        st.incr[c] = st.incr.get(c, 0) + 1
                    else:
                        st.pushed.setdefault(lst, []).append(value)
                    st.ops += 1
            except (redis.ConnectionError, redis.TimeoutError):
                with st.lock:  # the proxy died under it: applied or not, we cannot know
                    st.conn_errors += 1
                    if op == "incr":
                        st.incr_doubt[c] = st.incr_doubt.get(c, 0) + 1
                    else:
                        st.push_doubt.setdefault(lst, set()).add(value)
                time.sleep(0.05)
            except redis.RedisError as e:
                with st.lock:
                    st.reply_errors.append("%.3f writer %d: %r" % (time.time(), wid, e))


def reader(port, counters, st, stop):
    r = redis.Redis(port=port, socket_timeout=10)
    seen = {}
    while not stop.is_set():
        c = random.choice(counters)
        try:
            v = int(r.get(c) or 0)
        except (redis.ConnectionError, redis.TimeoutError):
            time.sleep(0.05)
            continue
        except redis.RedisError as e:
            with st.lock:
                st.reply_errors.append("%.3f reader: %r" % (time.time(), e))
            continue
        if v < seen.get(c, 0):
            with st.lock:
                st.backwards += 1
        seen[c] = max(v, seen.get(c, 0))


class Proxy:
    """foreshard started and restarted on the same config and data dir."""

    def __init__(self, fl, conf, port):
        self.fl, self.conf, self.port, self.proc = fl, conf, port, None
        self.starts = 0

    def start(self):
        os.environ["FORESHARD_FAULT_PHASE_PAUSE_MS"] = str(PAUSE_MS)
        self.starts += 1  # one log per run: foreshard-1.log, foreshard-2.log, ...
        self.proc = self.fl.spawn([fleetlib.BIN, "serve", "-c", self.conf],
                                  "foreshard-%d" % self.starts)
        if not fleetlib.wait_ping(self.port):
            raise RuntimeError("foreshard did not come back")
        self.admin = redis.Redis(port=self.port, decode_responses=True, socket_timeout=10)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def segment(self):
        line = self.admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1 + SEGMENT]
        f = line.split()  # seg N slots A-B owner NAME state [-> dst]
        return f[5], f[6]

    def migrations(self):
        return self.admin.execute_command("FORESHARD", "MIGRATIONS")

    def wait_idle(self, timeout=60):
        """Until no move runs and no journalled cleanup is left."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            head = self.migrations().splitlines()[0]
            if head.startswith("running: 0, queued: 0") and "journalled" not in head:
                return True
            time.sleep(0.05)
        return False


def segment_keys_on(r):
    n = 0
    for k in r.scan_iter(count=1000):
        if key_slot(k) // SEGMENT_SIZE == SEGMENT:
            n += 1
    return n


def kill_in_phase(px, phase, rng):
    """Starts a move, kills foreshard inside `phase`. False if the phase was missed."""
    owner, _ = px.segment()
    dst = NAMES[1 - NAMES.index(owner)]
    finished = lambda head: sum(int(head.split(k)[1].split(",")[0]) for k in ("done: ", "aborted: "))
    before = finished(px.migrations().splitlines()[0])
    px.admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, dst)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = px.migrations()
        now = [l for l in text.splitlines() if l.startswith("now")]
        if now and (" phase %s " % phase) in now[0]:
            time.sleep(rng.uniform(0, PAUSE_MS * 0.8) / 1000.0)
            px.kill9()
            return owner, dst
        if finished(text.splitlines()[0]) > before:
            return None  # the move ended without us seeing the phase
        time.sleep(0.003)
    return None


def crash_loop(px, direct, st, failures):
    rng = random.Random(7)
    schedule = PHASES * KILLS_PER_PHASE
    rng.shuffle(schedule)
    kills = {p: 0 for p in PHASES}
    outcome = {"resumed": 0, "aborted": 0}
    t0 = time.monotonic()
    for i, phase in enumerate(schedule):
        hit = None
        for _ in range(5):
            if not px.wait_idle():
                failures.append("foreshard did not become idle before kill %d" % (i + 1))
                return kills, outcome
            hit = kill_in_phase(px, phase, rng)
            if hit:
                break
        if not hit:
            failures.append("never caught a move in phase %s" % phase)
            continue
        src, dst = hit
        kills[phase] += 1
        px.start()
        if not px.wait_idle():
            failures.append("after the kill in %s: cleanups did not finish" % phase)
            continue
        owner, state = px.segment()
        if state != "stable":
            failures.append("after the kill in %s: segment state %s" % (phase, state))
        outcome["resumed" if owner == dst else "aborted"] += 1
        # The kill in cleanup comes after STABLE(dst) was saved: the move must stand.
        if phase == "cleanup" and owner != dst:
            failures.append("kill in cleanup: the finished move was undone")
        if phase in ("preflight", "copy", "catch-up") and owner != src:
            failures.append("kill in %s: owner %s, expected the source %s" % (phase, owner, src))
        orphans = segment_keys_on(direct[1 - NAMES.index(owner)])
        if orphans:
            failures.append("after the kill in %s: %d keys of the segment left on the non-owner"
                            % (phase, orphans))
        print("  kill %2d/%d in %-9s -> %s owns it (%s), orphans %d, %.0f s" %
              (i + 1, len(schedule), phase, owner, "resumed" if owner == dst else "aborted",
               orphans, time.monotonic() - t0), flush=True)
    return kills, outcome


def static_reader(port, keys, out, stop):
    """Reads keys written once before the move: clean, so read at the destination
    during catch-up; when it is stopped the source must answer instead."""
    r = redis.Redis(port=port, socket_timeout=10)
    while not stop.is_set():
        k = random.choice(keys)
        try:
            got = r.get(k)
            out["reads"] += 1
            if got != b"static-" + k.encode():
                out["errors"].append("%s read %r" % (k, got))
        except redis.RedisError as e:
            out["errors"].append("%s: %r" % (k, e))


def stopped_destination(px, redis_procs, direct, st, failures):
    """SIGSTOP the destination in catch-up (reads of clean keys go to it): the
    move aborts, the source keeps serving, the reads fall back to it."""
    px.wait_idle()
    static = keys_in_segment("static", 20)
    for k in static:
        px.admin.set(k, "static-" + k)
    sr = {"reads": 0, "errors": []}
    sr_stop = threading.Event()
    readers = [threading.Thread(target=static_reader, args=(px.port, static, sr, sr_stop))
               for _ in range(4)]
    for t in readers:
        t.start()
    owner, _ = px.segment()
    dst = NAMES[1 - NAMES.index(owner)]
    head = px.migrations().splitlines()[0]
    aborted_before = int(head.split("aborted: ")[1].split(",")[0])
    with st.lock:
        errors_before, ops_before = len(st.reply_errors), st.ops
    px.admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, dst)
    deadline = time.monotonic() + 30
    while " phase catch-up " not in px.migrations() and time.monotonic() < deadline:
        time.sleep(0.005)
    proc = redis_procs[NAMES.index(dst)]
    dst_reads0 = int(px.admin.info("migrations")["migration_destination_reads"])
    proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 30:
            head = px.migrations().splitlines()[0]
            if int(head.split("aborted: ")[1].split(",")[0]) > aborted_before:
                break
            time.sleep(0.05)
        took = time.monotonic() - t0
        now_owner, state = px.segment()
        time.sleep(1.0)  # the source keeps serving while the destination is stopped
        with st.lock:
            served = st.ops - ops_before
            new_errors = st.reply_errors[errors_before:]
    finally:
        proc.send_signal(signal.SIGCONT)
        sr_stop.set()
        for t in readers:
            t.join()
    dst_reads = int(px.admin.info("migrations")["migration_destination_reads"]) - dst_reads0
    print("  static keys: %d reads, %d sent to the stopped destination (answered by the source), "
          "%d errors" % (sr["reads"], dst_reads, len(sr["errors"])))
    if sr["errors"]:
        failures.append("stopped destination: static reads failed: %s" % sr["errors"][:3])
    if dst_reads == 0:
        failures.append("stopped destination: no read went to the destination in catch-up")
    last = [l for l in px.migrations().splitlines() if l.startswith("past")][0]
    print("  destination %s stopped: move aborted in %.1f s, owner %s (%s), %d client ops meanwhile,"
          " %d errors\n    %s" % (dst, took, now_owner, state, served, len(new_errors), last))
    if now_owner != owner or state != "stable" or "aborted" not in last:
        failures.append("stopped destination: owner %s state %s: %s" % (now_owner, state, last))
    if new_errors:
        failures.append("stopped destination: client errors %s" % new_errors[:3])
    if served == 0:
        failures.append("stopped destination: the source did not serve")
    # Back up, the journalled cleanup (retried every 10 s) removes the partial copy.
    if not px.wait_idle(timeout=40):
        failures.append("stopped destination: cleanup of the partial copy did not finish")
    orphans = segment_keys_on(direct[NAMES.index(dst)])
    print("  destination back: %d keys of the segment left on it" % orphans)
    if orphans:
        failures.append("stopped destination: %d orphan keys on %s" % (orphans, dst))


def verify(px, direct, st, counters, lists, ttl_keys, big_hash, failures):
    owner_name, _ = px.segment()
    owner = direct[NAMES.index(owner_name)]
    wrong = []
    for c in counters:
        v = int(owner.get(c) or 0)
        lo = st.incr.get(c, 0)
        if not lo <= v <= lo + st.incr_doubt.get(c, 0):
            wrong.append((c, v, lo, st.incr_doubt.get(c, 0)))
    list_errors = []
    for lst in lists:
        got = [v.decode() for v in owner.lrange(lst, 0, -1)]
        if len(set(got)) != len(got):
            list_errors.append("%s: duplicates" % lst)
        acked = set(st.pushed.get(lst, []))
        if acked - set(got):
            list_errors.append("%s: %d acknowledged values missing" % (lst, len(acked - set(got))))
        extra = set(got) - acked - st.push_doubt.get(lst, set())
        if extra:
            list_errors.append("%s: %d values never sent" % (lst, len(extra)))
    lost_ttl = [k for k in ttl_keys if owner.ttl(k) <= 0]
    hlen = owner.hlen(big_hash)
    doubt = sum(st.incr_doubt.values()) + sum(len(v) for v in st.push_doubt.values())
    print("verify on %s: acknowledged ops %d, in doubt %d; wrong counters %d, list errors %d, "
          "TTLs lost %d, big hash %d fields, reply errors %d, backwards reads %d" %
          (owner_name, st.ops, doubt, len(wrong), len(list_errors), len(lost_ttl), hlen,
           len(st.reply_errors), st.backwards))
    for ok, msg in [
        (not wrong, "counters outside [acknowledged, +in doubt]: %s" % wrong[:5]),
        (not list_errors, "lists: %s" % list_errors[:5]),
        (not lost_ttl, "TTLs lost: %s" % lost_ttl[:5]),
        (hlen == 50_000, "big hash has %d fields" % hlen),
        (not st.reply_errors, "error replies: %s" % st.reply_errors[:5]),
        (st.backwards == 0, "a reader saw a counter go backwards"),
        (st.ops > 0, "no client op succeeded"),
    ]:
        if not ok:
            failures.append(msg)


def main():
    if not os.access(fleetlib.BIN, os.X_OK):
        print("FORESHARD_BIN is not an executable: %s" % fleetlib.BIN)
        return 1
    workdir = tempfile.mkdtemp(prefix="foreshard-crash.")
    fl = fleetlib.Fleet(workdir)
    failures = []
    try:
        ports = [fl.start_redis(n) for n in NAMES]
        redis_procs = fl.procs[:2]
        port = fleetlib.free_port()
        conf = os.path.join(workdir, "foreshard.yaml")
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:%d\nmetrics: 127.0.0.1:%d\nworkers: 2\n"
                    "dataDir: %s/data\nsegmentSize: %d\nmigrationPriority: high\n"
                    "validationInterval: 100ms\nbackends:\n" %
                    (port, fleetlib.free_port(), workdir, SEGMENT_SIZE))
            for n, p in zip(NAMES, ports):
                f.write("  - name: %s\n    address: 127.0.0.1:%d\n" % (n, p))
        px = Proxy(fl, conf, port)
        px.start()
        direct = [redis.Redis(port=p) for p in ports]
        counters, lists = keys_in_segment("cnt", 30), keys_in_segment("lst", 15)
        ttl_keys, big_hash = keys_in_segment("ttl", 10), keys_in_segment("bighash", 1)[0]
        r = redis.Redis(port=port)
        p = r.pipeline(transaction=False)
        for i in range(50_000):
            p.hset(big_hash, "f%d" % i, "v%d" % i)
            if i % 5000 == 4999:
                p.execute()
        p.execute()
        for k in ttl_keys:
            r.set(k, "t", ex=3600)
        for i in range(2000):  # enough keys that a copy takes a while
            p.set("fill:{%s}:%d" % (counters[0], i), "x" * 100)
        p.execute()
        print("fleet: foreshard port %d, redis %s, dir %s; %d kills per phase, phase pause %d ms"
              % (port, ports, workdir, KILLS_PER_PHASE, PAUSE_MS), flush=True)

        st, stop = Stats(), threading.Event()
        threads = [threading.Thread(target=writer, args=(w, port, counters, lists, st, stop))
                   for w in range(3)]
        threads.append(threading.Thread(target=reader, args=(port, counters, st, stop)))
        for t in threads:
            t.start()
        kills, outcome = crash_loop(px, direct, st, failures)
        print("kills by phase: %s; after restart: %d resumed, %d aborted" %
              (kills, outcome["resumed"], outcome["aborted"]), flush=True)
        for ph, n in kills.items():
            if n < KILLS_PER_PHASE:
                failures.append("only %d kills in phase %s" % (n, ph))
        stopped_destination(px, redis_procs, direct, st, failures)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        verify(px, direct, st, counters, lists, ttl_keys, big_hash, failures)
    finally:
        fl.stop_all()
    for f in failures:
        print("FAIL: " + f)
    print("crash test: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
