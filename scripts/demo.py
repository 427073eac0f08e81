#!/usr/bin/python3
"""foreshard's main job on this machine: local redis-servers for the backends
of conf/foreshard.yaml, foreshard with that config, a client load through it,
and a live view of routing (requests per second and keys per backend, from
foreshard's /metrics and from the backends themselves). Stops what it started.

  scripts/demo.py [--config conf/foreshard.yaml] [--seconds 20] [--keep]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fleet import BIN, ROOT, Fleet, port_is_free, redis_cli, wait_ping  # noqa: E402


def read_config(path):
    text = open(path).read()
    listen = int(re.search(r"^listen:\s*[\w.]+:(\d+)", text, re.M).group(1))
    metrics = int(re.search(r"^metrics:\s*[\w.]+:(\d+)", text, re.M).group(1))
    backends = re.findall(r"-\s*name:\s*(\S+)\s*\n\s*address:\s*127\.0\.0\.1:(\d+)", text)
    return listen, metrics, [(n, int(p)) for n, p in backends]


def scrape(metrics_port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read()
    per_backend = {}
    for line in body.decode().splitlines():
        m = re.match(r'foreshard_requests_total\{backend="([^"]+)",class="[^"]+"\} ([0-9.e+]+)', line)
        if m:
            per_backend[m.group(1)] = per_backend.get(m.group(1), 0) + float(m.group(2))
    return per_backend


def move_one_segment(listen, rates):
    """Moves one segment of the busiest backend to the least busy one, live,
    under the load: what an operator (and, next, the balancer) does."""
    hot = max(rates, key=rates.get)
    cold = min(rates, key=rates.get)
    if hot == cold:
        return False
    segs = [l.split() for l in redis_cli(listen, "FORESHARD", "SEGMENTS").splitlines()[1:]]
    mine = [s for s in segs if len(s) >= 7 and s[5] == hot and s[6] == "stable"]
    if not mine:
        return False
    seg = mine[len(mine) // 2][1]
    print(f"\n  moving segment {seg} ({mine[len(mine) // 2][3]}) {hot} -> {cold}, live, under "
          f"load:\n  FORESHARD MIGRATE {seg} {cold}: " +
          redis_cli(listen, "FORESHARD", "MIGRATE", seg, cold), flush=True)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(ROOT, "conf", "foreshard.yaml"))
    ap.add_argument("--seconds", type=int, default=75)
    ap.add_argument("--keep", action="store_true", help="keep running until Ctrl-C")
    args = ap.parse_args()
    listen, metrics, backends = read_config(args.config)
    busy = [p for p in [listen, metrics] + [p for _, p in backends] if not port_is_free(p)]
    if busy:
        sys.exit(f"demo: ports {busy} of {args.config} are in use; stop what uses them first")
    work = tempfile.mkdtemp(prefix="foreshard-demo-")
    fleet = Fleet(work)
    try:
        for name, port in backends:
            fleet.start_redis(name, port)
        print(f"started {len(backends)} redis-servers: " +
              ", ".join(f"{n}@{p}" for n, p in backends))
        # A fresh data dir: the backends start empty, so the map starts fresh too.
        data = os.path.join(ROOT, "data")
        shutil.rmtree(data, ignore_errors=True)
        proxy = fleet.spawn([BIN, "serve", "-c", args.config], "foreshard")
        if not wait_ping(listen):
            sys.exit("foreshard did not start; see " + os.path.join(work, "foreshard.log"))
        print(f"foreshard on 127.0.0.1:{listen} (pid {proxy.pid}), metrics "
              f"http://127.0.0.1:{metrics}/metrics, log {work}/foreshard.log\n")
        print(redis_cli(listen, "INFO", "backends"))
        print()
        load = subprocess.Popen(
            ["redis-benchmark", "-p", str(listen), "-t", "set,get,incr,mset,lpush", "-c", "20",
             "-r", "100000", "-n", "100000000", "-P", "8", "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fleet.procs.append(load)
        print("load: redis-benchmark set/get/incr/mset/lpush, 20 clients, 100k random keys\n")
        print(f"{'time':>5}  " + "  ".join(f"{n + ' ops/s':>16} {'keys':>8}" for n, _ in backends))
        prev = scrape(metrics)
        start = time.time()
        tick = 0
        moving = False
        while args.keep or time.time() - start < args.seconds:
            time.sleep(1)
            cur = scrape(metrics)
            cols = []
            for name, port in backends:
                rate = cur.get(name, 0) - prev.get(name, 0)
                cols.append(f"{rate:>16,.0f} {redis_cli(port, 'DBSIZE'):>8}")
            print(f"{time.time() - start:>4.0f}s  " + "  ".join(cols), flush=True)
            rates = {name: cur.get(name, 0) - prev.get(name, 0) for name, _ in backends}
            prev = cur
            tick += 1
            if moving:
                text = redis_cli(listen, "FORESHARD", "MIGRATIONS").splitlines()
                now = [l for l in text if l.startswith("now")]
                if now:
                    print("        " + now[0], flush=True)
                else:
                    moving = False
                    past = [l for l in text if l.startswith("past")]
                    print("        " + (past[0] if past else "move finished"), flush=True)
            elif tick % 20 == 10:
                moving = move_one_segment(listen, rates)
            if tick % 15 == 0:
                print("\n  FORESHARD FORECAST (per backend, over predictionHorizon):")
                for line in redis_cli(listen, "FORESHARD", "FORECAST").splitlines():
                    print("  " + line)
                print(flush=True)
        load.terminate()
        print()
        print(redis_cli(listen, "INFO", "stats"))
        print(f"\nkeys through foreshard: DBSIZE = {redis_cli(listen, 'DBSIZE')}")
        print("\n" + redis_cli(listen, "FORESHARD", "STATUS"))
        print("\nFORESHARD MIGRATIONS:\n" + redis_cli(listen, "FORESHARD", "MIGRATIONS"))
        detail = redis_cli(listen, "FORESHARD", "FORECAST", backends[0][0]).splitlines()
        print("\n".join(detail[:24]))  # recent actuals and the first forecast steps
        if len(detail) > 24:
            print(f"... {len(detail) - 24} more forecast steps "
                  f"(redis-cli -p {listen} FORESHARD FORECAST {backends[0][0]})")
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop_all()


if __name__ == "__main__":
    main()
