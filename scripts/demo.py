#!/usr/bin/python3
"""foreshard's main job on this machine: local redis-servers for the backends
of conf/foreshard.yaml, foreshard with that config (compressed time: a day
lasts 30 s), and the project's load generator driving a seasonal load whose
hot slot ranges move across the day. Shows each backend's load against its
capacity, the forecasts, the balancer's plans and the moves it makes, and
ends with a summary and a check of every key's placement. Stops what it
started.

  scripts/demo.py [--config conf/foreshard.yaml] [--days 6] [--keep]
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fleet import BIN, ROOT, Fleet, port_is_free, redis_cli, wait_ping  # noqa: E402
import live_experiment as live  # noqa: E402


def read_config(path):
    text = open(path).read()
    listen = int(re.search(r"^listen:\s*[\w.]+:(\d+)", text, re.M).group(1))
    metrics = int(re.search(r"^metrics:\s*[\w.]+:(\d+)", text, re.M).group(1))
    backends = re.findall(r"-\s*name:\s*(\S+)\s*\n\s*address:\s*127\.0\.0\.1:(\d+)", text)
    caps = [float(c) for c in re.findall(r"^\s+capacity:\s*([\d.]+)", text, re.M)]
    scale = int((re.search(r"^\s+timeScale:\s*(\d+)", text, re.M) or [0, 1])[1])
    threshold = float((re.search(r"^loadThreshold:\s*([\d.]+)", text, re.M) or [0, 0.8])[1])
    return listen, metrics, [(n, int(p)) for n, p in backends], caps, scale, threshold


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(ROOT, "conf", "foreshard.yaml"))
    ap.add_argument("--days", type=float, default=6, help="simulated days of load")
    ap.add_argument("--keep", action="store_true", help="keep the fleet up until Ctrl-C")
    args = ap.parse_args()
    listen, metrics, backends, caps, scale, threshold = read_config(args.config)
    if [n for n, _ in backends] != live.NAMES or len(caps) != len(backends) or scale == 1:
        sys.exit("demo: expects redis-1..3 with capacities and telemetry.timeScale > 1, as in "
                 "conf/foreshard.yaml")
    busy = [p for p in [listen, metrics] + [p for _, p in backends] if not port_is_free(p)]
    if busy:
        sys.exit(f"demo: ports {busy} of {args.config} are in use; stop what uses them first")
    a = types.SimpleNamespace(day_seconds=86400 // scale, capacity=caps[0], threshold=threshold,
                              peak_ops=int(0.75 * sum(caps)), keys=100000, report_every=3,
                              show_plans=True)
    work = tempfile.mkdtemp(prefix="foreshard-demo-")
    fleet = Fleet(work)
    try:
        for name, port in backends:
            fleet.start_redis(name, port)
        # A fresh data dir: the backends start empty, so the map starts fresh too.
        shutil.rmtree(os.path.join(ROOT, "data"), ignore_errors=True)
        proxy = fleet.spawn([BIN, "serve", "-c", args.config], "foreshard")
        if not wait_ping(listen):
            sys.exit("foreshard did not start; see " + os.path.join(work, "foreshard.log"))
        print(f"3 redis-servers ({', '.join(f'{n}@{p}' for n, p in backends)}), capacity "
              f"{a.capacity:,.0f} ops/s each; foreshard on 127.0.0.1:{listen} (pid {proxy.pid}), "
              f"metrics http://127.0.0.1:{metrics}/metrics, log {work}/foreshard.log")
        print(f"load: foreshard-load, 4 slot groups peaking at 08:00, 12:00, 16:00 and 20:00 "
              f"(time zones), {a.peak_ops:,} ops/s at the daily peak; a simulated day lasts "
              f"{a.day_seconds} s. The first days teach the forecaster; the balancer (mode "
              f"predictive) moves segments off a backend whose forecast crosses "
              f"{threshold:.0%} of capacity. '*' = over capacity.\n", flush=True)
        res = live.drive(a, listen, metrics, work, int(args.days * a.day_seconds), "demo", True)
        ports = [p for _, p in backends]
        res["misplaced"], res["keys"], res["expected_keys"] = live.check_placement(
            listen, ports, a.keys)
        s = live.score(res, a)
        print("\nsummary:")
        for k, v in s.items():
            print(f"  {k:34} {v:,.2f}" if isinstance(v, float) else f"  {k:34} {v:,}")
        print("\n" + redis_cli(listen, "FORESHARD", "MIGRATIONS"))
        print(redis_cli(listen, "FORESHARD", "FORECAST"))
        print(redis_cli(listen, "INFO", "balancer"))
        ok = s["client_errors"] == 0 and s["misplaced_keys"] == 0 and s["keys_on_backends"] == a.keys
        print("\nevery key on the owner the map names, none lost, no client error: " +
              ("yes" if ok else "NO"))
        if args.keep:
            print(f"\nfleet up: redis-cli -p {listen} (Ctrl-C stops it)")
            while True:
                time.sleep(3600)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        fleet.stop_all()


if __name__ == "__main__":
    sys.exit(main())
