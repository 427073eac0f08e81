#!/usr/bin/python3
"""ctest "ops_reload": config hot reload while clients run.

    FORESHARD_BIN=build/app/foreshard /usr/bin/python3 tests/ops/reload_test.py

Four redis-servers; foreshard starts with three in its config. While writer
threads SET and INCR keys across the whole keyspace through foreshard:
1. a reload that changes `listen` is refused with the reason, and nothing
   changes (still three backends);
2. SIGHUP with a fourth backend appended, a new capacity for redis-1 and a new
   limits.maxClients: INFO shows the fourth backend, the capacity and the
   limit; /metrics has the new backend up;
3. FORESHARD RELOAD with an unchanged file answers "no changes";
4. FORESHARD MIGRATE moves three segments to the new backend.
Then: the clients saw no error, every key holds its last acknowledged value
(read through foreshard), and the new backend holds exactly the keys of the
segments it now owns.
"""
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.request

import redis
from redis.crc import key_slot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import fleet as fleetlib  # noqa: E402

SEGMENT_SIZE = 1024
KEYS_PER_WRITER = 400
WRITERS = 3
MOVE = [0, 6, 12]  # segments to move to the new backend


def write_config(path, port, metrics, workdir, backends, capacity1=1000, max_clients=10000,
                 listen_port=None):
    with open(path, "w") as f:
        f.write("listen: 127.0.0.1:%d\nmetrics: 127.0.0.1:%d\nworkers: 2\n"
                "dataDir: %s/data\nsegmentSize: %d\nmigrationPriority: high\n"
                "validationInterval: 100ms\nbalancer:\n  enabled: false\n  interval: 1s\n"
                "limits:\n  maxClients: %d\nbackends:\n" %
                (listen_port or port, metrics, workdir, SEGMENT_SIZE, max_clients))
        for i, p in enumerate(backends, 1):
            cap = capacity1 if i == 1 else 1000
            f.write("  - name: redis-%d\n    address: 127.0.0.1:%d\n    capacity: %d\n" % (i, p, cap))


class Load:
    """Writers each own their keys: the last acknowledged value is known."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.errors = []
        self.values = {}
        self.ops = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.writer, args=(w,)) for w in range(WRITERS)]

    def writer(self, w):
        r = redis.Redis(port=self.port)
        seq = 0
        keys = ["rl:%d:%d" % (w, i) for i in range(KEYS_PER_WRITER)]
        while not self.stop.is_set():
            k = keys[seq % len(keys)]
            seq += 1
            try:
                if seq % 4 == 0:
                    got = r.get(k)
                    want = self.values.get(k)
                    if want is not None and got is not None and int(got) != want:
                        with self.lock:
                            self.errors.append("read %s: %r, expected %r" % (k, got, want))
                r.set(k, seq)
                self.values[k] = seq
                with self.lock:
                    self.ops += 1
            except redis.RedisError as e:
                with self.lock:
                    self.errors.append("writer %d: %r" % (w, e))
                time.sleep(0.01)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def wait_for(what, fn, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def owners(r):
    """segment index -> owner name of the segments that are not moving
    (FORESHARD SEGMENTS lines: "seg N slots A-B owner NAME STATE")."""
    out = {}
    for line in r.execute_command("FORESHARD", "SEGMENTS").splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[0] == "seg":
            out[int(parts[1])] = parts[5]
    return out


def main():
    if not os.access(fleetlib.BIN, os.X_OK):
        print("FORESHARD_BIN is not an executable: %s" % fleetlib.BIN)
        return 1
    workdir = tempfile.mkdtemp(prefix="foreshard-reload.")
    fl = fleetlib.Fleet(workdir)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    try:
        ports = [fl.start_redis("redis-%d" % i) for i in (1, 2, 3, 4)]
        port, metrics = fleetlib.free_port(), fleetlib.free_port()
        conf = os.path.join(workdir, "foreshard.yaml")
        write_config(conf, port, metrics, workdir, ports[:3])
        proc = fl.spawn([fleetlib.BIN, "serve", "-c", conf], "foreshard")
        if not fleetlib.wait_ping(port):
            print(open(os.path.join(workdir, "foreshard.log")).read())
            return 1
        r = redis.Redis(port=port, decode_responses=True)
        with Load(port) as load:
            time.sleep(1)
            # 1. a refused reload changes nothing
            write_config(conf, port, metrics, workdir, ports, listen_port=port + 1)
            try:
                r.execute_command("FORESHARD", "RELOAD")
                check(False, "a reload that changes listen is refused")
            except redis.ResponseError as e:
                check("listen" in str(e) and "nothing changed" in str(e),
                      "a reload that changes listen is refused with the reason: %s" % e)
            check(r.info("backends").get("backends") == 3, "still 3 backends after the refusal")

            # 2. SIGHUP: a fourth backend, a capacity, a limit
            write_config(conf, port, metrics, workdir, ports, capacity1=2000, max_clients=500)
            proc.send_signal(signal.SIGHUP)
            b = wait_for("4 backends in INFO", lambda: (
                lambda i: i if i.get("backends") == 4 else None)(r.info("backends")))
            check(b["backend3"]["name"] == "redis-4", "INFO names the new backend: %s" % b["backend3"])
            check(b["backend0"]["capacity"] == 2000, "redis-1's capacity is 2000 now")
            check(r.info("clients").get("maxclients") == 500, "maxclients is 500 now")
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics, timeout=5).read()
            check(b'foreshard_backend_up{backend="redis-4"} 1' in body,
                  "/metrics: foreshard_backend_up{backend=\"redis-4\"} 1")

            # the balancer (planning only) has sampled segment sizes meanwhile
            check("segment bytes sampled" in wait_for("a plan with sampled sizes", lambda: (
                lambda t: t if "segment bytes sampled" in t else None)(
                    r.execute_command("FORESHARD", "PLAN")), timeout=10),
                  "FORESHARD PLAN uses sampled segment sizes")

            # 3. the same file again: nothing to do
            check("no changes" in r.execute_command("FORESHARD", "RELOAD"),
                  "FORESHARD RELOAD of an unchanged file: no changes")

            # 4. segments move to the new backend under load
            def migrate(seg):
                try:
                    return r.execute_command("FORESHARD", "MIGRATE", seg, "redis-4")
                except redis.ResponseError as e:
                    if "still joining" in str(e):
                        return None  # the map learns the backend on the next control tick
                    raise
            for seg in MOVE:
                wait_for("MIGRATE %d accepted" % seg, lambda: migrate(seg), timeout=10)
            wait_for("the moves to finish", lambda: all(
                owners(r).get(s) == "redis-4" for s in MOVE), timeout=60)
            time.sleep(0.5)
        print("client ops: %d" % load.ops)
        check(load.ops > 1000, "the load ran (%d ops)" % load.ops)
        check(not load.errors, "clients saw no error (%s)" % load.errors[:3])
        wrong = [k for k, v in load.values.items() if int(r.get(k) or -1) != v]
        check(not wrong, "every key holds its last acknowledged value (%d wrong)" % len(wrong))
        d = redis.Redis(port=ports[3], decode_responses=True)
        on4 = set(d.keys("rl:*"))
        want = {k for k in load.values if key_slot(k.encode()) // SEGMENT_SIZE in MOVE}
        check(on4 == want and want, "redis-4 holds exactly the keys of segments %s (%d keys)" %
              (MOVE, len(want)))
    finally:
        fl.stop_all()
    if failures:
        print("FAILED: %d checks" % len(failures))
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
