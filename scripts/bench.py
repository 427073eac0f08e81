#!/usr/bin/python3
"""Proxy benchmark: foreshard vs nutcracker (twemproxy) vs a direct redis-server.

Starts 3 redis-servers, nutcracker (ketama over the same 3) and foreshard
(workers=1 and workers=2) on free loopback ports, runs redis-benchmark GET and
SET with 50 clients, random keys, -P 1 and -P 16, each run repeated, and
prints median ops/s, p99 latency, ratios to nutcracker and to direct, and each
proxy's CPU microseconds per request (utime+stime from /proc/PID/stat).
Everything started here is stopped here, by PID.

  scripts/bench.py [--requests N] [--repeat R] [--markdown]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fleet import BIN, Fleet, free_port, wait_ping  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def start_nutcracker(fleet, backends):
    port, stats = free_port(), free_port()
    conf = os.path.join(fleet.dir, "nutcracker.yml")
    with open(conf, "w") as f:
        f.write("bench:\n  listen: 127.0.0.1:%d\n  hash: fnv1a_64\n  distribution: ketama\n"
                "  redis: true\n  auto_eject_hosts: false\n  timeout: 2000\n  servers:\n" % port)
        for i, b in enumerate(backends):
            f.write("   - 127.0.0.1:%d:1 redis-%d\n" % (b, i + 1))
    p = fleet.spawn(["nutcracker", "-c", conf, "-s", str(stats), "-o",
                     os.path.join(fleet.dir, "nutcracker.out")], "nutcracker")
    assert wait_ping(port), "nutcracker did not start"
    return port, p.pid


def start_foreshard(fleet, backends, workers):
    port, metrics = free_port(), free_port()
    d = os.path.join(fleet.dir, f"foreshard-w{workers}")
    os.makedirs(d)
    conf = os.path.join(d, "foreshard.yaml")
    with open(conf, "w") as f:
        f.write(f"listen: 127.0.0.1:{port}\nmetrics: 127.0.0.1:{metrics}\nworkers: {workers}\n"
                f"dataDir: {d}/data\nignoreExistingData: true\nlogLevel: warn\nbackends:\n")
        for i, b in enumerate(backends):
            f.write(f"  - name: redis-{i + 1}\n    address: 127.0.0.1:{b}\n")
    p = fleet.spawn([BIN, "serve", "-c", conf], f"foreshard-w{workers}")
    assert wait_ping(port), "foreshard did not start"
    return port, p.pid


def run_benchmark(port, test, pipeline, requests, pid):
    before = cpu_ticks(pid) if pid else 0
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests),
                          "-c", "50", "-r", "1000000", "-P", str(pipeline), "--csv"],
                         capture_output=True, text=True, timeout=600).stdout
    after = cpu_ticks(pid) if pid else 0
    rows = [l for l in out.splitlines() if l.startswith('"' + test.upper())]
    if not rows:
        raise RuntimeError(f"no result from redis-benchmark on {port}: {out[-300:]}")
    cols = [c.strip('"') for c in rows[0].split(",")]
    rps, p99 = float(cols[1]), float(cols[6])
    cpu_us = (after - before) * 1e6 / TICK / requests if pid else None
    return rps, p99, cpu_us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="foreshard-bench-")
    fleet = Fleet(work)
    try:
        backends = [fleet.start_redis(f"redis{i}") for i in range(3)]
        targets = [("direct", backends[0], None)]
        targets.append(("nutcracker",) + start_nutcracker(fleet, backends))
        targets.append(("foreshard w1",) + start_foreshard(fleet, backends, 1))
        targets.append(("foreshard w2",) + start_foreshard(fleet, backends, 2))
        results = {}
        total = 2 * 2 * len(targets) * args.repeat
        done = 0
        for test in ("set", "get"):
            for pipeline in (1, 16):
                # Interleave targets within each repeat so drift hits them alike.
                for _ in range(args.repeat):
                    for name, port, pid in targets:
                        r = run_benchmark(port, test, pipeline, args.requests, pid)
                        results.setdefault((name, test, pipeline), []).append(r)
                        done += 1
                        print(f"\r[{done}/{total}] {name} {test.upper()} -P {pipeline}: "
                              f"{r[0]:,.0f} ops/s", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        report(results, targets, args)
    finally:
        fleet.stop_all()


def report(results, targets, args):
    def med(key, i):
        vals = [r[i] for r in results[key] if r[i] is not None]
        return statistics.median(vals) if vals else None

    head = ("| test | -P | target | ops/s (median) | p99 ms | vs nutcracker | vs direct | CPU us/req |"
            if args.markdown else
            f"{'test':5} {'-P':>3} {'target':14} {'ops/s':>10} {'p99 ms':>7} {'vs nc':>6} "
            f"{'vs direct':>9} {'CPU us/req':>10}")
    print(head)
    if args.markdown:
        print("|---|---|---|---|---|---|---|---|")
    for test in ("set", "get"):
        for pipeline in (1, 16):
            nc = med(("nutcracker", test, pipeline), 0)
            direct = med(("direct", test, pipeline), 0)
            for name, _, _ in targets:
                key = (name, test, pipeline)
                rps, p99, cpu = med(key, 0), med(key, 1), med(key, 2)
                cpu_s = f"{cpu:.2f}" if cpu is not None else "-"
                if args.markdown:
                    print(f"| {test.upper()} | {pipeline} | {name} | {rps:,.0f} | {p99:.3f} | "
                          f"{rps / nc:.2f} | {rps / direct:.2f} | {cpu_s} |")
                else:
                    print(f"{test.upper():5} {pipeline:>3} {name:14} {rps:>10,.0f} {p99:>7.3f} "
                          f"{rps / nc:>6.2f} {rps / direct:>9.2f} {cpu_s:>10}")


if __name__ == "__main__":
    main()
