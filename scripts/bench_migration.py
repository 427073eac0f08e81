#!/usr/bin/python3
"""Migration benchmark: one segment of 1 M keys (100-byte values) moved live by
foreshard, and the same keys / slots moved by Redis Cluster resharding.

foreshard side: two redis-servers behind foreshard (`segmentSize: 1024`, so
segment 0 is slots 0-1023); the keys are generated so that every one hashes into
slots 0-1023 and are loaded with `redis-cli --pipe` straight into the backend
that owns segment 0. Then, under client load, segment 0 is moved back and forth
(`FORESHARD MIGRATE 0 <other>`); FORESHARD MIGRATIONS gives keys, bytes and the
switch pause of each move.

Redis Cluster side: three redis-servers in cluster mode, `redis-cli --cluster
create`; the same keys loaded into the node owning slots 0-1023; then
`redis-cli --cluster reshard --cluster-slots 1024` moves those slots back and
forth between two nodes (reshard takes a source's lowest slots first).

Client load on both sides, over the whole run: (1) redis-benchmark (SET+GET,
-P 1, 20 clients, random keys over all slots, 100-byte values) run in chunks,
`--cluster` on the cluster side; each chunk's p99 is classed "before" or
"during" a move; (2) one Python client (redis-py; RedisCluster on the cluster
side) doing GET/SET, half on loaded keys of the moving slots, half on keys
elsewhere, timing each call and counting the errors it sees: exceptions raised
to it and, on the cluster side, the MOVED/ASK/TRYAGAIN replies redis-py handled
(it logs each on the `redis.cluster` logger). foreshard's own error counter
(foreshard_request_errors_total at its metrics port) is read at the end.

Everything started here runs on 127.0.0.1, free ports, a tmp dir (kept, with
the logs), and is stopped here by PID. Exit status 1 when a move did not finish
(e.g. an aborted foreshard move) or a client of foreshard saw an error.

  scripts/bench_migration.py [--keys N] [--quick] [--moves M] [--repeat R]
                             [--side both|foreshard|cluster] [--markdown]
"""
import argparse
import binascii
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fleet import BIN, Fleet, free_port, port_is_free, redis_cli, wait_ping  # noqa: E402

import redis  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402

SLOTS = (0, 1023)        # segment 0 with segmentSize 1024; the slots resharded
VALUE = 100              # bytes per value
BENCH_CLIENTS = 20


def slot(k):
    return binascii.crc_hqx(k, 0) & 16383  # keys here carry no hash tag


def make_keys(n, prefix, inside):
    """n keys "prefix:i" whose slot is inside (or outside) SLOTS."""
    out, i = [], 0
    lo, hi = SLOTS
    while len(out) < n:
        k = b"%s:%d" % (prefix, i)
        if (lo <= slot(k) <= hi) == inside:
            out.append(k)
        i += 1
    return out


def write_load_file(path, keys):
    """RESP SET commands with 100-byte random values, for redis-cli --pipe."""
    rng = random.Random(1)
    with open(path, "wb") as f:
        buf = []
        for k in keys:
            v = b"%0100x" % rng.getrandbits(VALUE * 4)
            buf.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, VALUE, v))
            if len(buf) == 10000:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))


def load(port, path):
    t0 = time.monotonic()
    with open(path, "rb") as f:
        r = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True,
                           text=True, timeout=900)
    if "errors: 0" not in r.stdout:
        raise RuntimeError("load into %d failed: %s" % (port, r.stdout[-300:] + r.stderr[-300:]))
    return time.monotonic() - t0


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- client load

# redis-benchmark lines that are not errors: the CSV header, --cluster's node
# list, and its note that -e is ignored in cluster mode.
NOT_ERROR = re.compile(r'^"test"|^Cluster has|^Master \d|-e option has no effect')


REFETCH = "Cluster slots configuration changed"  # --cluster saw MOVED or ASK


class BenchLoop(threading.Thread):
    """redis-benchmark SET+GET in chunks until stopped; each chunk's window,
    p99s and error lines (-e prints server errors, at most one a second)."""

    def __init__(self, port, cluster, requests):
        super().__init__(daemon=True)
        self.args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get",
                     "-n", str(requests), "-c", str(BENCH_CLIENTS), "-r", "1000000", "-P", "1",
                     "-d", str(VALUE), "--csv", "-e"] + (["--cluster"] if cluster else [])
        self.stop = threading.Event()
        self.chunks = []          # (t0, t1, {test: (rps, p99)}, error_lines)
        self.proc = None

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
            out, _ = self.proc.communicate()
            t1 = time.monotonic()
            res, errors = {}, []
            for line in out.splitlines():
                cols = [c.strip('"') for c in line.split(",")]
                if cols[0] in ("SET", "GET") and len(cols) >= 7:
                    res[cols[0]] = (float(cols[1]), float(cols[6]))
                elif NOT_ERROR.search(line) is None and line.strip():
                    errors.append(line.strip())
            self.chunks.append((t0, t1, res, errors))


class PyClient(threading.Thread):
    """GET/SET alternating between loaded keys of the moving slots and keys
    elsewhere; latency of every call, errors counted by kind."""

    def __init__(self, make_client, inside, outside):
        super().__init__(daemon=True)
        self.make_client = make_client
        self.inside, self.outside = inside, outside
        self.stop = threading.Event()
        self.samples = []          # (t, seconds)
        self.errors = {}           # kind -> count
        self.ops = 0

    def run(self):
        c = self.make_client()
        rng = random.Random(7)
        value = b"v" * VALUE
        while not self.stop.is_set():
            k = rng.choice(self.inside if self.ops % 2 == 0 else self.outside)
            t0 = time.monotonic()
            try:
                if (self.ops // 2) % 2 == 0:
                    c.get(k)
                else:
                    c.set(k, value)
            except Exception as e:  # every kind counts as a client-visible error
                kind = type(e).__name__ + ": " + str(e)[:60]
                self.errors[kind] = self.errors.get(kind, 0) + 1
            t1 = time.monotonic()
            self.samples.append((t0, t1 - t0))
            self.ops += 1


class RedirectCounter(logging.Handler):
    """redis-py's RedisCluster logs each MOVED/ASK/TRYAGAIN it handles."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.counts = {}

    def emit(self, record):
        kind = str(record.msg)
        self.counts[kind] = self.counts.get(kind, 0) + 1


# ------------------------------------------------------------- measurement

def in_windows(t0, t1, windows):
    """Share of [t0, t1] inside the union of windows (windows do not overlap)."""
    inside = sum(max(0.0, min(t1, b) - max(t0, a)) for a, b in windows)
    return inside / max(t1 - t0, 1e-9)


def summarize_load(bench, py, baseline_end, moves, log_fn=print):
    """p99 figures before (t < baseline_end) and during the moves."""
    windows = [(m["t0"], m["t1"]) for m in moves]
    out = {}
    for test in ("SET", "GET"):
        before = [c[2][test][1] for c in bench.chunks if test in c[2] and c[1] <= baseline_end]
        during = [c[2][test][1] for c in bench.chunks
                  if test in c[2] and in_windows(c[0], c[1], windows) >= 0.5]
        rps_b = [c[2][test][0] for c in bench.chunks if test in c[2] and c[1] <= baseline_end]
        rps_d = [c[2][test][0] for c in bench.chunks
                 if test in c[2] and in_windows(c[0], c[1], windows) >= 0.5]
        out[test] = {"p99_before": statistics.median(before) if before else float("nan"),
                     "p99_during": statistics.median(during) if during else float("nan"),
                     "p99_during_max": max(during) if during else float("nan"),
                     "rps_before": statistics.median(rps_b) if rps_b else float("nan"),
                     "rps_during": statistics.median(rps_d) if rps_d else float("nan"),
                     "chunks": (len(before), len(during))}
    lines = [e for c in bench.chunks for e in c[3]]
    out["bench_refetch"] = sum(1 for e in lines if REFETCH in e)
    out["bench_errors"] = [e for e in lines if REFETCH not in e]
    out["bench_lost_chunks"] = sum(1 for c in bench.chunks if len(c[2]) < 2)
    lat_b = [s for t, s in py.samples if t < baseline_end]
    lat_d = [s for t, s in py.samples if any(a <= t <= b for a, b in windows)]
    slow = max(((s, t) for t, s in py.samples if any(a <= t <= b for a, b in windows)),
               default=None)
    if slow and moves:  # where the slowest call fell within its move
        n, m = max((i, m) for i, m in enumerate(moves) if m["t0"] <= slow[1])
        log_fn("  slowest Python call during the moves: %.1f ms, started %.2f s into move %d "
               "(%.2f s long%s)" % (slow[0] * 1e3, slow[1] - m["t0"], n + 1, m["secs"],
                                   ", owner changed at %.2f s" % m["switch_secs"]
                                   if "switch_secs" in m else ""))
    out["py"] = {"p99_before": pct(lat_b, 0.99) * 1e3, "p99_during": pct(lat_d, 0.99) * 1e3,
                 "max_during": max(lat_d) * 1e3 if lat_d else float("nan"),
                 "ops": py.ops, "errors": dict(py.errors)}
    return out


def run_load(port, cluster, make_client, inside, outside, chunk, baseline_s, moves_fn):
    bench = BenchLoop(port, cluster, chunk)
    py = PyClient(make_client, inside, outside)
    py.start()
    bench.start()
    t_start = time.monotonic()
    while time.monotonic() - t_start < baseline_s or len(bench.chunks) < 2:
        time.sleep(0.1)
    baseline_end = time.monotonic()
    load_before = loadavg()
    try:
        moves = moves_fn()
    finally:
        load_during = loadavg()
        bench.stop.set()
        py.stop.set()
        bench.join(timeout=120)
        py.join(timeout=30)
    s = summarize_load(bench, py, baseline_end, moves)
    s["moves"] = moves
    s["loadavg"] = (load_before, load_during)
    return s


# ---------------------------------------------------------------- foreshard

def metric_sum(port, name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith(name + "{") or l.startswith(name + " "))


def foreshard_run(args, keys_file, inside, outside, log):
    fleet = Fleet(tempfile.mkdtemp(prefix="foreshard-benchmig."))
    try:
        ports = [fleet.start_redis("redis-%d" % i) for i in (1, 2)]
        port, metrics = free_port(), free_port()
        conf = os.path.join(fleet.dir, "foreshard.yaml")
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:%d\nmetrics: 127.0.0.1:%d\nworkers: 2\ndataDir: %s/data\n"
                    "segmentSize: 1024\nmigrationPriority: %s\nbackends:\n" %
                    (port, metrics, fleet.dir, args.priority))
            for i, p in enumerate(ports, 1):
                f.write("  - name: redis-%d\n    address: 127.0.0.1:%d\n" % (i, p))
        fleet.spawn([BIN, "serve", "-c", conf], "foreshard")
        if not wait_ping(port):
            raise RuntimeError("foreshard did not start; log in " + fleet.dir)
        names = ["redis-1", "redis-2"]

        def owner():
            return redis_cli(port, "FORESHARD", "SEGMENTS").splitlines()[1].split()[5]

        src = owner()
        took = load(ports[names.index(src)], keys_file)
        log("foreshard: %s loaded %d keys into %s (segment 0) in %.1f s; dir %s" %
            (loadavg(), len(inside_all(args)), src, took, fleet.dir))

        admin = redis.Redis(port=port, decode_responses=True)

        def moves_fn():
            moves = []
            for n in range(args.moves):
                cur = owner()
                dst = names[1 - names.index(cur)]
                before = admin.execute_command("FORESHARD", "MIGRATIONS").splitlines()[0]
                finished = count_finished(before)
                t0 = time.monotonic()
                admin.execute_command("FORESHARD", "MIGRATE", 0, dst)
                t_switch = None   # first seen in cleanup: the destination owns the segment
                while True:
                    text = admin.execute_command("FORESHARD", "MIGRATIONS")
                    if t_switch is None and " phase cleanup " in text:
                        t_switch = time.monotonic()
                    if count_finished(text.splitlines()[0]) > finished:
                        break
                    time.sleep(0.01)
                t1 = time.monotonic()
                last = [l for l in text.splitlines() if l.startswith("past")][0]
                m = {"t0": t0, "t1": t1, "secs": t1 - t0, "line": last,
                     "switch_secs": (t_switch or t1) - t0,
                     "keys": int(last.split(" keys ")[1].split()[0]),
                     "bytes": int(last.split(" bytes ")[1].split()[0]),
                     "pause_ms": (float(last.split("switch pause ")[1].split()[0])
                                  if "switch pause" in last else None),
                     "ok": owner() == dst}
                moves.append(m)
                log("  move %d %s -> %s: %.2f s (owner after %.2f s), %d keys, pause %s ms, "
                    "ok=%s (load %s)" % (n + 1, cur, dst, m["secs"], m["switch_secs"], m["keys"],
                                         m["pause_ms"], m["ok"], loadavg()))
                log("    " + last)
                time.sleep(args.gap)
            return moves

        s = run_load(port, False, lambda: redis.Redis(port=port), inside, outside, args.chunk,
                     args.baseline, moves_fn)
        s["proxy_errors"] = metric_sum(metrics, "foreshard_request_errors_total")
        return s
    finally:
        fleet.stop_all()


def count_finished(head):
    d = int(head.split("done: ")[1].split(",")[0])
    a = int(head.split("aborted: ")[1].split(",")[0])
    return d + a


# ------------------------------------------------------------ Redis Cluster

def free_pair():
    """A free port for clients and another for the cluster bus."""
    while True:
        p, b = free_port(), free_port()
        if p != b and port_is_free(p) and port_is_free(b):
            return p, b


def cluster_ok(ports):
    for p in ports:
        if "cluster_state:ok" not in redis_cli(p, "CLUSTER", "INFO"):
            return False
    r = subprocess.run(["redis-cli", "--cluster", "check", "127.0.0.1:%d" % ports[0]],
                       capture_output=True, text=True)
    return r.returncode == 0 and "[ERR]" not in r.stdout


def wait_cluster(ports, timeout=60):
    t0 = time.monotonic()
    while not cluster_ok(ports):
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("cluster did not converge")
        time.sleep(0.2)


def slot_owner(port, s):
    c = redis.Redis(port=port)
    for lo, hi, master, *_ in c.execute_command("CLUSTER", "SLOTS"):
        if lo <= s <= hi:
            return int(master[1])
    return None


def keys_in_slots(port):
    p = redis.Redis(port=port).pipeline(transaction=False)
    for s in range(SLOTS[0], SLOTS[1] + 1):
        p.execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
    return sum(p.execute())


def cluster_run(args, keys_file, inside, outside, log):
    fleet = Fleet(tempfile.mkdtemp(prefix="cluster-benchmig."))
    try:
        ports = []
        for i in range(3):
            p, bus = free_pair()
            d = os.path.join(fleet.dir, "node-%d" % i)
            os.makedirs(d)
            fleet.spawn(["redis-server", "--port", str(p), "--bind", "127.0.0.1",
                         "--cluster-enabled", "yes", "--cluster-port", str(bus),
                         "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                         "--save", "", "--appendonly", "no", "--dir", d], "node-%d" % i)
            if not wait_ping(p):
                raise RuntimeError("cluster node %d did not start" % p)
            ports.append(p)
        r = subprocess.run(["redis-cli", "--cluster", "create"] +
                           ["127.0.0.1:%d" % p for p in ports] +
                           ["--cluster-replicas", "0", "--cluster-yes"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("cluster create failed: " + r.stdout[-500:] + r.stderr[-500:])
        wait_cluster(ports)
        ids = {p: redis_cli(p, "CLUSTER", "MYID") for p in ports}
        src = slot_owner(ports[0], SLOTS[0])
        if slot_owner(ports[0], SLOTS[1]) != src:
            raise RuntimeError("slots %d-%d are not on one node" % SLOTS)
        took = load(src, keys_file)
        log("cluster: %s loaded %d keys into node %d (slots %d-%d) in %.1f s; dir %s" %
            (loadavg(), len(inside_all(args)), src, SLOTS[0], SLOTS[1], took, fleet.dir))
        other = [p for p in ports if p != src][0]
        nslots = SLOTS[1] - SLOTS[0] + 1

        def moves_fn():
            moves = []
            for n in range(args.moves):
                cur = slot_owner(ports[0], SLOTS[0])
                dst = other if cur == src else src
                wait_cluster(ports)
                t0 = time.monotonic()
                r = subprocess.run(["redis-cli", "--cluster", "reshard", "127.0.0.1:%d" % cur,
                                    "--cluster-from", ids[cur], "--cluster-to", ids[dst],
                                    "--cluster-slots", str(nslots), "--cluster-yes",
                                    "--cluster-pipeline", str(args.cluster_pipeline)],
                                   capture_output=True, text=True, timeout=1800)
                t1 = time.monotonic()
                moved = keys_in_slots(dst)
                ok = (r.returncode == 0 and slot_owner(dst, SLOTS[0]) == dst and
                      slot_owner(dst, SLOTS[1]) == dst)
                with open(os.path.join(fleet.dir, "reshard-%d.log" % (n + 1)), "w") as f:
                    f.write(r.stdout + r.stderr)
                m = {"t0": t0, "t1": t1, "secs": t1 - t0, "keys": moved, "bytes": None,
                     "pause_ms": None, "ok": ok}
                moves.append(m)
                log("  reshard %d %d -> %d: %.2f s, %d keys, rc %d, ok=%s (load %s)" %
                    (n + 1, cur, dst, m["secs"], moved, r.returncode, ok, loadavg()))
                if not ok:
                    log("    " + (r.stdout + r.stderr)[-400:].replace("\n", "\n    "))
                time.sleep(args.gap)
            return moves

        counter = RedirectCounter()
        lg = logging.getLogger("redis.cluster")
        lg.addHandler(counter)
        lg.setLevel(logging.ERROR)
        lg.propagate = False
        try:
            s = run_load(ports[0], True, lambda: RedisCluster(host="127.0.0.1", port=ports[0]),
                         inside, outside, args.chunk, args.baseline, moves_fn)
        finally:
            lg.removeHandler(counter)
        s["redirects"] = counter.counts
        return s
    finally:
        fleet.stop_all()


# -------------------------------------------------------------------- report

_INSIDE = {}


def inside_all(args):
    return _INSIDE["keys"]


def fmt(x, spec="%.2f"):
    return "-" if x is None or x != x else spec % x


def side_summary(runs):
    moves = [m for r in runs for m in r["moves"]]
    ok = [m for m in moves if m["ok"]]
    secs = [m["secs"] for m in ok]
    kps = [m["keys"] / m["secs"] for m in ok]
    mbs = [m["keys"] * VALUE / 1e6 / m["secs"] for m in ok]
    pauses = sorted(m["pause_ms"] for m in ok if m["pause_ms"] is not None)

    def med(key, test=None):
        vals = [(r[test][key] if test else r["py"][key]) for r in runs]
        return statistics.median(vals)

    errors = {}
    for r in runs:
        for k, v in r["py"]["errors"].items():
            errors[k] = errors.get(k, 0) + v
    redirects = {}
    for r in runs:
        for k, v in r.get("redirects", {}).items():
            redirects[k] = redirects.get(k, 0) + v
    return {
        "moves": len(moves), "ok": len(ok),
        "keys": statistics.median([m["keys"] for m in ok]) if ok else float("nan"),
        "secs": statistics.median(secs) if ok else float("nan"),
        "switch_secs": (statistics.median(m["switch_secs"] for m in ok)
                        if ok and "switch_secs" in ok[0] else float("nan")),
        "kps": statistics.median(kps) if ok else float("nan"),
        "mbs": statistics.median(mbs) if ok else float("nan"),
        "pause": (statistics.median(pauses), pct(pauses, 0.99), pauses[-1]) if pauses else None,
        "set_p99": (med("p99_before", "SET"), med("p99_during", "SET"), max(
            r["SET"]["p99_during_max"] for r in runs)),
        "get_p99": (med("p99_before", "GET"), med("p99_during", "GET"), max(
            r["GET"]["p99_during_max"] for r in runs)),
        "rps": (med("rps_before", "SET") + med("rps_before", "GET"),
                med("rps_during", "SET") + med("rps_during", "GET")),
        "py_p99": (med("p99_before"), med("p99_during"), max(r["py"]["max_during"] for r in runs)),
        "py_ops": sum(r["py"]["ops"] for r in runs),
        "py_errors": errors,
        "bench_errors": [e for r in runs for e in r["bench_errors"]],
        "bench_refetch": sum(r["bench_refetch"] for r in runs),
        "bench_lost_chunks": sum(r["bench_lost_chunks"] for r in runs),
        "proxy_errors": sum(r.get("proxy_errors", 0) for r in runs) if "proxy_errors" in runs[0]
        else None,
        "redirects": redirects,
        "loadavg": [r["loadavg"] for r in runs],
    }


def print_table(sides, markdown):
    names = list(sides)
    rows = [
        ("moves done / tried", lambda s: "%d / %d" % (s["ok"], s["moves"])),
        ("keys moved per move (median)",
         lambda s: "{:,.0f}".format(s["keys"]) if s["keys"] == s["keys"] else "-"),
        ("time per move incl. source cleanup, s", lambda s: fmt(s["secs"])),
        ("time until the destination owns it, s", lambda s: fmt(s["switch_secs"])),
        ("keys/s", lambda s: "{:,.0f}".format(s["kps"]) if s["kps"] == s["kps"] else "-"),
        ("MB/s (100-byte values)", lambda s: fmt(s["mbs"], "%.1f")),
        ("switch pause p50 / p99 / max, ms",
         lambda s: "%.1f / %.1f / %.1f" % s["pause"] if s["pause"] else "none (per-slot ASK window)"),
        ("redis-benchmark ops/s before / during",
         lambda s: "{:,.0f} / {:,.0f}".format(*s["rps"])),
        ("redis-benchmark SET p99 ms before / during (worst chunk)",
         lambda s: "%s / %s (%s)" % tuple(fmt(x, "%.1f") for x in s["set_p99"])),
        ("redis-benchmark GET p99 ms before / during (worst chunk)",
         lambda s: "%s / %s (%s)" % tuple(fmt(x, "%.1f") for x in s["get_p99"])),
        ("redis-benchmark error lines / runs ended without a result",
         lambda s: "%d / %d" % (len(s["bench_errors"]), s["bench_lost_chunks"])),
        ("redis-benchmark --cluster slot-map refetches (after MOVED/ASK)",
         lambda s: str(s["bench_refetch"])),
        ("Python client p99 ms before / during (max)",
         lambda s: "%s / %s (%s)" % tuple(fmt(x, "%.1f") for x in s["py_p99"])),
        ("Python client ops / exceptions", lambda s: "{:,} / {}".format(
            s["py_ops"], sum(s["py_errors"].values()))),
        ("redirections handled by the client", lambda s: ", ".join(
            "%s %d" % kv for kv in sorted(s["redirects"].items())) or "0"),
        ("proxy error replies (foreshard_request_errors_total)",
         lambda s: "-" if s["proxy_errors"] is None else "%.0f" % s["proxy_errors"]),
    ]
    if markdown:
        print("| | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for label, f in rows:
            print("| %s | %s |" % (label, " | ".join(f(sides[n]) for n in names)))
    else:
        w = max(len(r[0]) for r in rows)
        print("%-*s  %s" % (w, "", "  ".join("%-34s" % n for n in names)))
        for label, f in rows:
            print("%-*s  %s" % (w, label, "  ".join("%-34s" % f(sides[n]) for n in names)))
    for n in names:
        s = sides[n]
        for k, v in s["py_errors"].items():
            print("%s Python client error: %dx %s" % (n, v, k))
        for e in sorted(set(s["bench_errors"]))[:10]:
            print("%s redis-benchmark: %s" % (n, e))
        print("%s load average (1/5/15 min) before / at the end of the moves: %s" %
              (n, "; ".join("%s / %s" % la for la in s["loadavg"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="sanity check: 100,000 keys, 2 moves")
    ap.add_argument("--moves", type=int, default=3, help="moves per run (back and forth)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per side (fresh fleet each)")
    ap.add_argument("--side", choices=["both", "foreshard", "cluster"], default="both")
    ap.add_argument("--priority", default="high", help="foreshard migrationPriority")
    ap.add_argument("--cluster-pipeline", type=int, default=1000,
                    help="keys per MIGRATE in redis-cli --cluster reshard")
    ap.add_argument("--chunk", type=int, default=20000,
                    help="requests per redis-benchmark test in one chunk")
    ap.add_argument("--baseline", type=float, default=8.0, help="seconds of load before moves")
    ap.add_argument("--gap", type=float, default=2.0, help="seconds between moves")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.keys, args.moves, args.baseline, args.chunk = 100_000, 2, 4.0, 10000
    if args.side != "cluster" and not os.access(BIN, os.X_OK):
        sys.exit("no foreshard binary at %s (set FORESHARD_BIN)" % BIN)

    def log(msg):
        print(msg, flush=True)

    t0 = time.monotonic()
    inside = make_keys(args.keys, b"mk", True)
    outside = make_keys(10000, b"ok", False)
    _INSIDE["keys"] = inside
    tmp = tempfile.mkdtemp(prefix="benchmig-keys.")
    keys_file = os.path.join(tmp, "load.resp")
    write_load_file(keys_file, inside)
    log("%d keys in slots %d-%d generated in %.1f s (load average %s)" %
        (len(inside), SLOTS[0], SLOTS[1], time.monotonic() - t0, loadavg()))
    sample = random.Random(3).sample(inside, min(10000, len(inside)))
    sides = {}
    try:
        for rep in range(args.repeat):
            if args.side in ("both", "foreshard"):
                log("== foreshard run %d" % (rep + 1))
                sides.setdefault("foreshard", []).append(
                    foreshard_run(args, keys_file, sample, outside, log))
            if args.side in ("both", "cluster"):
                log("== Redis Cluster run %d" % (rep + 1))
                sides.setdefault("Redis Cluster", []).append(
                    cluster_run(args, keys_file, sample, outside, log))
    finally:
        os.remove(keys_file)
        os.rmdir(tmp)
    summary = {n: side_summary(r) for n, r in sides.items()}
    print()
    print_table(summary, args.markdown)
    bad = [n for n, s in summary.items() if s["ok"] < s["moves"]]
    fs = summary.get("foreshard")
    if fs and (fs["py_errors"] or fs["bench_errors"] or fs["proxy_errors"]):
        bad.append("foreshard client errors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
