#!/usr/bin/python3
"""The balancer live, in compressed time: 3 local redis-servers, foreshard,
and foreshard-load driving a seasonal load whose hot slot ranges move across
the day (4 groups peaking at 08:00, 12:00, 16:00, 20:00: time zones).

  scripts/live_experiment.py                      # static vs reactive vs predictive
  scripts/live_experiment.py --repeat 3           # each mode 3 times, medians
  scripts/live_experiment.py --modes predictive --warm-days 3 --days 2   (the demo)

1. Warm-up: the load runs for --warm-days simulated days with the balancer in
   static mode, so the forecaster has days of history (a day lasts
   --day-seconds real seconds; foreshard runs with telemetry.timeScale =
   86400 / day-seconds). The history file is kept.
2. Each mode: fresh redis-servers, a fresh data dir holding only that history
   (so the map starts from the same initial placement), foreshard with
   balancer.mode = the mode, and the same load for --days simulated days.
   Per second: each backend's ops/s from foreshard's /metrics.
3. Per mode: backend-seconds over capacity and over loadThreshold x capacity,
   the max/mean backend load (mean and p95 over seconds), moves, client p99
   and errors (foreshard-load's JSON); afterwards every key is checked on
   the backends: it lives only on the owner the map names, none is missing.
   A table, a JSON file and an SVG plot (load per backend over time per mode).
Stops everything it started.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fleet import BIN, ROOT, Fleet, free_port, redis_cli, wait_ping  # noqa: E402

import redis  # noqa: E402
from redis.crc import key_slot  # noqa: E402

LOADGEN = os.environ.get("FORESHARD_LOAD_BIN",
                         os.path.join(os.path.dirname(BIN), "..", "loadgen", "foreshard-load"))
NAMES = ["redis-1", "redis-2", "redis-3"]


def write_config(path, port, metrics, data, ports, a):
    scale = 86400 // a.day_seconds
    with open(path, "w") as f:
        f.write(f"""listen: 127.0.0.1:{port}
metrics: 127.0.0.1:{metrics}
workers: 2
dataDir: {data}
segmentSize: {a.segment_size}
loadThreshold: {a.threshold}
predictionHorizon: {a.horizon_hours}h
migrationPriority: high
validationInterval: 100ms
telemetry:
  step: 1s
  refit: {a.refit}s
  save: 60s      # a save of this history stalls the control loop about 0.5 s
  memory: 192mb  # about 3,000 one-second points: the warm-up stays in reach of a --repeat 3's last run
  timeScale: {scale}
balancer:
  mode: {a.mode}
  interval: {a.interval}s
backends:
""")
        for n, p in zip(NAMES, ports):
            f.write(f"  - name: {n}\n    address: 127.0.0.1:{p}\n    capacity: {a.capacity}\n")


def scrape(metrics_port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read()
    per = {}
    for line in body.decode().splitlines():
        m = re.match(r'foreshard_requests_total\{backend="([^"]+)",class="[^"]+"\} ([0-9.e+]+)', line)
        if m:
            per[m.group(1)] = per.get(m.group(1), 0) + float(m.group(2))
    return per


def sim_hour_now(day_seconds):
    """The forecaster's clock (unix time x timeScale) as an hour of day."""
    return ((time.time() * (86400 / day_seconds)) % 86400) / 3600.0


# Real seconds from starting foreshard to the end of the prefill, measured
# each run (the next run starts foreshard that long before its start hour).
START_LEAD_S = [5.0]


def wait_for_sim_hour(hour, day_seconds):
    """Sleeps until the simulated clock next reads `hour`; not at all if it
    passed that hour less than a tenth of a day ago (a slow prefill)."""
    left = (hour - sim_hour_now(day_seconds)) % 24
    if left < 24 * 0.9:
        time.sleep(left * 3600 * day_seconds / 86400)


def owners(port):
    out = {}
    for line in redis_cli(port, "FORESHARD", "SEGMENTS").splitlines()[1:]:
        f = line.split()  # seg N slots A-B owner NAME state
        a, b = map(int, f[3].split("-"))
        out[(a, b)] = f[5]
    return out


def check_placement(port, ports, expected_keys):
    """Every key on exactly the owner the map names; the count matches."""
    segs = owners(port)
    def owner_of(slot):
        for (a, b), o in segs.items():
            if a <= slot <= b:
                return o
    misplaced = total = 0
    for name, p in zip(NAMES, ports):
        r = redis.Redis(port=p)
        for k in r.scan_iter(count=2000):
            total += 1
            if owner_of(key_slot(k)) != name:
                misplaced += 1
    return misplaced, total, expected_keys


def drive(a, port, metrics, workdir, seconds, label, show, start_hour=None, started=None):
    """Prefills the keyspace, runs foreshard-load for `seconds` (from the
    simulated `start_hour` if given) and samples each backend's ops/s every
    second; moves and plans are printed as they come."""
    out_json = os.path.join(workdir, "load.json")
    # Prefill first (its SETs are not part of the measured load).
    subprocess.run([LOADGEN, "--port", str(port), "--duration", "1", "--peak-ops", "1",
                    "--keys", str(a.keys), "--value-size", "100", "--groups", "4",
                    "--prefill", "-q"], stdout=subprocess.DEVNULL, check=True)
    if started is not None:
        START_LEAD_S[0] = time.time() - started
    if start_hour is not None:
        # Idle time here is counted as zero load in the history: keep it short.
        wait_for_sim_hour(start_hour, a.day_seconds)
    load = subprocess.Popen(
        [LOADGEN, "--port", str(port), "--duration", str(seconds), "--day-seconds",
         str(a.day_seconds), "--start-hour", "%.3f" % sim_hour_now(a.day_seconds),
         "--peak-ops", str(a.peak_ops), "--keys", str(a.keys), "--value-size", "100",
         "--groups", "4", "--amplitude", "0.9", "--connections", "8", "--pipeline", "8",
         "--timeout-ms", "5000", "--seed", "7", "--json", out_json, "-q"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "load.log"), "w"))
    series, moves_seen = [], set()
    prev, t0 = scrape(metrics), time.time()
    while load.poll() is None:
        time.sleep(1)
        cur = scrape(metrics)
        rates = [cur.get(n, 0) - prev.get(n, 0) for n in NAMES]
        prev = cur
        t = time.time() - t0
        hour = sim_hour_now(a.day_seconds)
        series.append({"t": round(t, 1), "hour": round(hour, 2), "load": rates})
        for l in redis_cli(port, "FORESHARD", "MIGRATIONS").splitlines():
            if l.startswith("past") and l not in moves_seen:
                moves_seen.add(l)
                m = re.search(r"slots (\d+-\d+) (\S+) -> (\S+) phase (\S+)", l)
                series[-1].setdefault("moves", []).append(m.groups() if m else l)
                if show and m:
                    print(f"        {label}: moved slots {m.group(1)} {m.group(2)} -> {m.group(3)} "
                          f"({m.group(4)}) at sim {int(hour):02d}:{int(hour % 1 * 60):02d}", flush=True)
        if show and len(series) % a.report_every == 0:
            bar = "  ".join(f"{n} {r:7,.0f}/s{'*' if r > a.capacity else ' '}"
                            for n, r in zip(NAMES, rates))
            print(f"  {label} t={t:5.0f}s sim {int(hour):02d}:{int(hour % 1 * 60):02d}  {bar}",
                  flush=True)
        if show and a.show_plans and len(series) % (a.report_every * 4) == 0:
            fc = [l for l in redis_cli(port, "INFO", "forecast").splitlines() if ":" in l]
            print("        forecast over the horizon: " + "; ".join(
                re.sub(r"forecast_(\S+):load_ops=([\d.]+),peak_ops=([\d.]+).*",
                       lambda m: f"{m.group(1)} now {float(m.group(2)):,.0f} peak "
                                 f"{float(m.group(3)):,.0f}", l) for l in fc), flush=True)
            for line in redis_cli(port, "FORESHARD", "PLAN").splitlines()[:3]:
                print("        " + line, flush=True)
    return {"series": series, "load": json.load(open(out_json))}


def run_phase(a, mode, seconds, history_in, workdir, label, show):
    """One fleet + foreshard + load; returns the per-second series and summary."""
    fl = Fleet(workdir)
    try:
        ports = [fl.start_redis(n) for n in NAMES]
        port, metrics = free_port(), free_port()
        data = os.path.join(workdir, "data")
        os.makedirs(data, exist_ok=True)
        if history_in:
            shutil.copy(history_in, os.path.join(data, "history"))
        conf = os.path.join(workdir, "foreshard.yaml")
        a.mode = mode
        align = a.start_hour >= 0 and history_in
        if align:
            # Every mode's load starts at the same simulated hour: foreshard
            # starts the last measured start-up + prefill time (+1 s) before it.
            wait_for_sim_hour(a.start_hour - (START_LEAD_S[0] + 1) * 24 / a.day_seconds,
                              a.day_seconds)
        started = time.time()
        write_config(conf, port, metrics, data, ports, a)
        proxy = fl.spawn([BIN, "serve", "-c", conf], "foreshard")
        if not wait_ping(port):
            sys.exit("foreshard did not start: " + open(os.path.join(workdir, "foreshard.log")).read())
        res = drive(a, port, metrics, workdir, seconds, label, show,
                    a.start_hour if align else None, started)
        misplaced, total, expected = check_placement(port, ports, a.keys)
        migr = redis_cli(port, "FORESHARD", "MIGRATIONS").splitlines()[0]
        plan = redis_cli(port, "FORESHARD", "PLAN")
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=30)
        return {"series": res["series"], "load": res["load"], "misplaced": misplaced, "keys": total,
                "expected_keys": expected, "migrations": migr, "plan": plan,
                "history": os.path.join(data, "history")}
    finally:
        fl.stop_all()


def score(res, a):
    cap, thr = a.capacity, a.capacity * a.threshold
    over = sum(1 for s in res["series"] for r in s["load"] if r > cap)
    over_thr = sum(1 for s in res["series"] for r in s["load"] if r > thr)
    ratios = []
    for s in res["series"]:
        mean = sum(s["load"]) / len(s["load"])
        if mean > 0:
            ratios.append(max(s["load"]) / mean)
    ratios.sort()
    lg = res["load"]
    return {
        "backend_seconds_over_capacity": over,
        "backend_seconds_over_threshold": over_thr,
        "imbalance_mean": sum(ratios) / max(len(ratios), 1),
        "imbalance_p95": ratios[int(0.95 * (len(ratios) - 1))] if ratios else 0,
        "peak_backend_ops": max((max(s["load"]) for s in res["series"]), default=0),
        "moves": sum(len(s.get("moves", [])) for s in res["series"]),
        "client_ops": lg["total_ops"], "client_errors": lg["errors"]["total"],
        "client_p99_ms": lg["latency_ms"]["p99"], "client_max_ms": lg["latency_ms"]["max"],
        "misplaced_keys": res["misplaced"], "keys_on_backends": res["keys"],
        "keys_expected": res["expected_keys"],
    }


def median_scores(runs):
    """Per metric the median over runs; errors and misplaced keys are summed
    (any one counts), keys on the backends is the minimum."""
    out = {}
    for k in runs[0]:
        vals = sorted(r[k] for r in runs)
        if k in ("client_errors", "misplaced_keys"):
            out[k] = sum(vals)
        elif k in ("keys_on_backends", "keys_expected"):
            out[k] = vals[0] if k == "keys_on_backends" else vals[-1]
        else:
            n = len(vals)
            out[k] = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return out


def svg(results, a, path):
    """Load per backend over time, one panel per mode, capacity dashed."""
    w, h, pad = 900, 170, 40
    colors = ["#1f77b4", "#d62728", "#2ca02c"]
    peak = max(max(max(s["load"]) for s in r["series"]) for r in results.values()) * 1.05
    peak = max(peak, a.capacity * 1.1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{(h + 30) * len(results) + 44}"'
           ' font-family="sans-serif" font-size="12">']
    out.append('<text x="10" y="18">ops/s per backend through foreshard; dashed: capacity; '
               'triangles: moves finished</text>')
    for i, (mode, r) in enumerate(results.items()):
        y0 = 44 + i * (h + 30)
        n = len(r["series"])
        def X(k):
            return pad + (w - 2 * pad) * k / max(n - 1, 1)
        def Y(v):
            return y0 + h - h * v / peak
        out.append(f'<text x="{pad}" y="{y0 - 4}" font-weight="bold">{mode}</text>')
        out.append(f'<rect x="{pad}" y="{y0}" width="{w - 2 * pad}" height="{h}" fill="none" stroke="#999"/>')
        out.append(f'<line x1="{pad}" x2="{w - pad}" y1="{Y(a.capacity):.1f}" y2="{Y(a.capacity):.1f}" '
                   'stroke="#000" stroke-dasharray="5,4"/>')
        for b in range(len(NAMES)):
            pts = " ".join(f"{X(k):.1f},{Y(s['load'][b]):.1f}" for k, s in enumerate(r["series"]))
            out.append(f'<polyline fill="none" stroke="{colors[b]}" stroke-width="1.5" points="{pts}"/>')
        for k, s in enumerate(r["series"]):
            for _ in s.get("moves", []):
                out.append(f'<path d="M{X(k):.1f},{y0 + h} l-4,8 h8 z" fill="#555"/>')
    for b, n in enumerate(NAMES):
        out.append(f'<text x="{w - pad - 240 + b * 80}" y="18" fill="{colors[b]}">{n}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--modes", default="static,reactive,predictive")
    ap.add_argument("--day-seconds", type=int, default=60)
    ap.add_argument("--warm-days", type=float, default=4)
    ap.add_argument("--days", type=float, default=2)
    ap.add_argument("--peak-ops", type=int, default=9000)
    ap.add_argument("--capacity", type=int, default=4000)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--segment-size", type=int, default=1024)
    ap.add_argument("--horizon-hours", type=int, default=4)
    ap.add_argument("--interval", type=int, default=2)
    ap.add_argument("--refit", type=int, default=5)
    ap.add_argument("--start-hour", type=float, default=0,
                    help="each mode's load starts at this simulated hour (-1: at once)")
    ap.add_argument("--report-every", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of every mode (after one warm-up); the summary gives medians")
    ap.add_argument("--show-plans", action="store_true", help="print FORESHARD PLAN now and then")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "live_balancer"))
    a = ap.parse_args()
    if 86400 % a.day_seconds:
        sys.exit("--day-seconds must divide 86400")
    for exe in (BIN, LOADGEN):
        if not os.access(exe, os.X_OK):
            sys.exit(f"not built: {exe} (scripts/build.sh)")
    base = tempfile.mkdtemp(prefix="foreshard-live-")
    print(f"3 redis-servers, capacity {a.capacity} ops/s each, loadThreshold {a.threshold}; "
          f"load peaks at {a.peak_ops} ops/s; a simulated day lasts {a.day_seconds} s; "
          f"work dir {base}\n", flush=True)
    t0 = time.time()
    print(f"warm-up: {a.warm_days:g} simulated days with the balancer static, so the forecaster "
          "has history", flush=True)
    warm = run_phase(a, "static", int(a.warm_days * a.day_seconds), None,
                     os.path.join(base, "warm"), "warm-up", True)
    history = os.path.join(base, "history")
    shutil.copy(warm["history"], history)
    modes = a.modes.split(",")
    results, runs = {}, []  # results: the first run's (plotted); runs: scores of every run
    for rep in range(a.repeat):
        # Each repetition starts from the same history; the order of the modes
        # rotates so that no mode always runs first (the machine warms up).
        order = modes[rep % len(modes):] + modes[:rep % len(modes)]
        run = {}
        for mode in order:
            print(f"\n{mode} (run {rep + 1} of {a.repeat}): {a.days:g} simulated days from the "
                  "same history and initial map", flush=True)
            res = run_phase(a, mode, int(a.days * a.day_seconds), history,
                            os.path.join(base, f"{mode}-{rep}"), mode, True)
            run[mode] = score(res, a)
            if rep == 0:
                results[mode] = res
        runs.append(run)
    scores = {m: median_scores([r[m] for r in runs]) for m in modes}
    print(f"\nsummary ({time.time() - t0:.0f} s in all; backend-seconds: one backend for one "
          "real second = 24 simulated minutes at 60 s/day)" +
          (f"; medians of {a.repeat} runs, errors and misplaced keys summed" if a.repeat > 1 else ""))
    cols = ["backend_seconds_over_capacity", "backend_seconds_over_threshold", "imbalance_mean",
            "imbalance_p95", "peak_backend_ops", "moves", "client_ops", "client_errors",
            "client_p99_ms", "client_max_ms", "misplaced_keys", "keys_on_backends"]
    print(f"{'':34}" + "".join(f"{m:>12}" for m in scores))
    for c in cols:
        print(f"{c:34}" + "".join(
            f"{scores[m][c]:>12.2f}" if isinstance(scores[m][c], float) else f"{scores[m][c]:>12}"
            for m in scores))
    if a.repeat > 1:
        for c in ("backend_seconds_over_threshold", "imbalance_mean", "moves", "client_p99_ms"):
            print(f"{c + ' by run':34}" + "".join(
                f"{'/'.join(f'{r[m][c]:g}' for r in runs):>20}" for m in modes))
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    svg(results, a, a.out + ".svg")
    json.dump({"args": vars(a), "scores": scores, "runs": runs,
               "series": {m: r["series"] for m, r in results.items()}},
              open(a.out + ".json", "w"), indent=1)
    print(f"\nplot {a.out}.svg (run 1), data {a.out}.json")
    for m, r in results.items():
        print(f"\n{m}: {r['migrations']}\n" + "\n".join("  " + l for l in r["plan"].splitlines()[:6]))
    bad = [m for m, s in scores.items()
           if s["client_errors"] or s["misplaced_keys"] or s["keys_on_backends"] < s["keys_expected"]]
    if bad:
        print(f"\nFAILED checks in: {bad}")
        return 1
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
