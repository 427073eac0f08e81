#!/usr/bin/python3
"""Big-key and key-count costs of a live move (docs/MIGRATION.md, "Big keys").

  FORESHARD_BIN=build/app/foreshard /usr/bin/python3 scripts/bench_big_keys.py [--fields N]
  FORESHARD_BIN=... /usr/bin/python3 scripts/bench_big_keys.py --count-keys 1000000

Default: one hash of N fields (1,000,000) in segment 0 (slots 0-1023), moved
once with `bigKeyElements: 0` (one DUMP/RESTORE, the old path) and once with
the default (chunks through a staging key), each on a fresh fleet of two
redis-servers + foreshard. For each: the move's time, the longest commands the
source and the destination ran during the move (SLOWLOG, every command over
1 ms) and the worst PING round trip of a client pinging each backend in a loop.

--count-keys N: N small keys (100-byte values) in segment 0, moved once; the
whole-range key count's time is read from foreshard's log ("key count").
--big-key-elements 0 with it: no TYPE/size pass before the DUMPs (its cost).

Everything runs on 127.0.0.1, free ports, a tmp dir (kept), stopped by PID.
"""
import argparse
import os
import re
import sys
import tempfile
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
import fleet as fleetlib  # noqa: E402
import bench_migration as bm  # noqa: E402

SEGMENT_SIZE = 1024


class Pinger(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.r = redis.Redis(port=port)
        self.stop = threading.Event()
        self.worst = 0.0
        self.count = 0
        self.busy = 0

    def run(self):
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                self.r.ping()
            except redis.ResponseError:  # BUSY: a script ran past lua-time-limit
                self.busy += 1
                time.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t)
            self.count += 1


def fleet_with(workdir, extra):
    fl = fleetlib.Fleet(workdir)
    ports = [fl.start_redis("redis-%d" % i) for i in (1, 2)]
    port = fleetlib.free_port()
    conf = os.path.join(workdir, "foreshard.yaml")
    with open(conf, "w") as f:
        f.write("listen: 127.0.0.1:%d\nmetrics: 127.0.0.1:%d\nworkers: 2\ndataDir: %s/data\n"
                "segmentSize: %d\nmigrationPriority: high\n%sbackends:\n" %
                (port, fleetlib.free_port(), workdir, SEGMENT_SIZE, extra))
        for i, p in enumerate(ports, 1):
            f.write("  - name: redis-%d\n    address: 127.0.0.1:%d\n" % (i, p))
    fl.spawn([fleetlib.BIN, "serve", "-c", conf], "foreshard")
    if not fleetlib.wait_ping(port):
        raise RuntimeError(open(os.path.join(workdir, "foreshard.log")).read())
    return fl, ports, port


def move(port):
    """Moves segment 0 to the other backend; returns (seconds, result line)."""
    admin = redis.Redis(port=port, decode_responses=True)
    owner = admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1].split()[5]
    dst = "redis-2" if owner == "redis-1" else "redis-1"
    t0 = time.monotonic()
    admin.execute_command("FORESHARD", "MIGRATE", 0, dst)
    while True:
        text = admin.execute_command("FORESHARD", "MIGRATIONS")
        if bm.count_finished(text.splitlines()[0]) > 0:
            return time.monotonic() - t0, [l for l in text.splitlines() if l.startswith("past")][0]
        time.sleep(0.01)


def slowest(port):
    """The 3 longest commands in SLOWLOG (name and ms), and how many ran over 1 ms."""
    r = redis.Redis(port=port)
    while True:
        try:
            entries = r.slowlog_get(100000)
            break
        except redis.ResponseError:  # BUSY: wait for the script to end
            time.sleep(0.1)
    if not entries:
        return "none over 1 ms"
    entries.sort(key=lambda x: -x["duration"])
    top = ", ".join("%s %.1f ms" % (e["command"].split(b" ")[0].decode(errors="replace"),
                                    e["duration"] / 1000) for e in entries[:3])
    return "%s; %d commands over 1 ms" % (top, len(entries))


def big_key_run(fields, extra, label):
    workdir = tempfile.mkdtemp(prefix="foreshard-bigkey.")
    fl, ports, port = fleet_with(workdir, extra)
    try:
        key = bm.make_keys(1, b"bighash", True)[0]
        owner = redis.Redis(port=ports[0])
        t0 = time.monotonic()
        p = owner.pipeline(transaction=False)
        for at in range(0, fields, 1000):
            p.hset(key, mapping={b"f%d" % i: b"v%d" % i for i in range(at, min(fields, at + 1000))})
            if at % 100000 == 0:
                p.execute()
        p.execute()
        loaded = time.monotonic() - t0
        for pt in ports:
            r = redis.Redis(port=pt)
            r.config_set("slowlog-log-slower-than", 1000)
            r.config_set("slowlog-max-len", 100000)
            r.slowlog_reset()
        pingers = [Pinger(pt) for pt in ports]
        for pg in pingers:
            pg.start()
        secs, result = move(port)
        for pg in pingers:
            pg.stop.set()
            pg.join()
        print("  result: %s" % result)
        new_owner = redis.Redis(port=ports[1])
        ok = new_owner.hlen(key) == fields and new_owner.hget(key, b"f%d" % (fields - 1)) == \
            b"v%d" % (fields - 1)
        print("%s: %d-field hash (loaded in %.1f s) moved in %.2f s, copy %s" %
              (label, fields, loaded, secs, "intact on the destination" if ok else "NOT on the destination"))
        for side, i in (("source:     ", 0), ("destination:", 1)):
            print("  %s longest commands: %s; worst PING %.1f ms over %d, %d BUSY replies" %
                  (side, slowest(ports[i]), pingers[i].worst * 1000, pingers[i].count,
                   pingers[i].busy))
    finally:
        fl.stop_all()


def count_run(n, extra):
    workdir = tempfile.mkdtemp(prefix="foreshard-count.")
    fl, ports, port = fleet_with(workdir, extra)
    try:
        keys = bm.make_keys(n, b"mk", True)
        path = os.path.join(workdir, "load.resp")
        bm.write_load_file(path, keys)
        print("loaded %d keys in %.1f s" % (n, bm.load(ports[0], path)))
        secs, result = move(port)
        log = open(os.path.join(workdir, "foreshard.log")).read()
        counts = re.findall(r"key count .*", log)
        print("moved in %.2f s: %s" % (secs, result))
        for c in counts:
            print("  " + c)
    finally:
        fl.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fields", type=int, default=1_000_000)
    ap.add_argument("--count-keys", type=int, default=0)
    ap.add_argument("--big-key-elements", type=int, default=None,
                    help="with --count-keys: bigKeyElements (0 skips the TYPE pass)")
    args = ap.parse_args()
    if args.count_keys:
        count_run(args.count_keys, "" if args.big_key_elements is None else
                  "bigKeyElements: %d\n" % args.big_key_elements)
        return 0
    big_key_run(args.fields, "bigKeyElements: 0\n", "before (one DUMP/RESTORE)")
    big_key_run(args.fields, "", "after (chunks through a staging key)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
