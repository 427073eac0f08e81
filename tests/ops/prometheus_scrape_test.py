"""ctest "ops_prometheus" (run under tests/clients/with_fleet.sh): starts
Debian's prometheus on a free loopback port with a generated scrape config
(1 s interval, storage in a temp dir) pointing at foreshard's metrics port,
drives load through foreshard with redis-py, and queries the Prometheus HTTP
API until foreshard_ series with non-zero values appear: request rates on
every backend and all three backends up. Then every query of the Grafana
dashboard (docker/grafana/foreshard-dashboard.json) must be accepted by this
Prometheus, and its request-rate and latency panels must show all three
backends; the alert rules (docker/alerts.yml) must evaluate without error
and none may be pending or firing on this healthy fleet. Stops the
prometheus it started."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
import redis  # noqa: E402
from fleet import free_port  # noqa: E402

DEADLINE_S = 40
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DASHBOARD = os.path.join(ROOT, "docker", "grafana", "foreshard-dashboard.json")
ALERTS = os.path.abspath(os.path.join(ROOT, "docker", "alerts.yml"))


def query(prom_port, expr):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"query {expr!r}: {body}")
    return body["data"]["result"]


def main():
    fs_port = int(os.environ["FS_PORT"])
    metrics_port = int(os.environ["FS_METRICS_PORT"])
    prom_port = free_port()
    work = tempfile.mkdtemp(prefix="foreshard-prom.")
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files: ['{ALERTS}']\n"
                "scrape_configs:\n  - job_name: foreshard\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{metrics_port}']\n")
    log = open(os.path.join(work, "prometheus.log"), "w")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={work}/data",
         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=work)
    try:
        return run(fs_port, prom_port, prom)
    finally:
        prom.terminate()
        try:
            prom.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()
        if os.environ.get("KEEP_PROM_LOG"):
            print("prometheus work dir:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(fs_port, prom_port, prom):
    client = redis.Redis(host="127.0.0.1", port=fs_port)
    start = time.monotonic()
    sent = 0
    checks = {
        # Each: PromQL, how many series must come back with a value > 0.
        "request rate per backend": ('sum by (backend) (rate(foreshard_requests_total{backend!="proxy"}[5s])) > 0', 3),
        "backends up": ("foreshard_backend_up == 1", 3),
        "requests counted": ("sum(foreshard_requests_total) > 0", 1),
        "latency observed": ("sum by (backend) (foreshard_backend_request_duration_seconds_count) > 0", 3),
        "client connections": ("foreshard_client_connections > 0", 1),
    }
    seen = {}
    while time.monotonic() - start < DEADLINE_S:
        if prom.poll() is not None:
            print(f"FAIL: prometheus exited with {prom.returncode}")
            return 1
        pipe = client.pipeline(transaction=False)
        for i in range(200):
            pipe.set(f"ops:prom:{sent + i}", i)
            pipe.get(f"ops:prom:{sent + i}")
        pipe.execute()
        sent += 200
        try:
            for name, (expr, want) in checks.items():
                result = query(prom_port, expr)
                if len(result) >= want and all(float(r["value"][1]) > 0 for r in result):
                    seen.setdefault(name, (time.monotonic() - start, result))
        except OSError:
            pass  # prometheus still starting
        if len(seen) == len(checks):
            break
        time.sleep(0.5)
    for name, (expr, want) in checks.items():
        if name in seen:
            t, result = seen[name]
            values = ", ".join(f"{r['metric'].get('backend', '')}={float(r['value'][1]):.4g}" for r in result)
            print(f"ok   {name}: after {t:.1f} s: {values}")
        else:
            print(f"FAIL {name}: no {want} series > 0 for `{expr}` within {DEADLINE_S} s")
    print(f"{sent * 2} commands sent")
    if len(seen) != len(checks):
        return 1
    return check_dashboard(prom_port) | check_alerts(prom_port)


def check_alerts(prom_port):
    for _ in range(20):  # health is "unknown" until the group's first evaluation
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=5) as r:
            groups = json.load(r)["data"]["groups"]
        rules = [rule for g in groups for rule in g["rules"]]
        if rules and all(r.get("health") != "unknown" for r in rules):
            break
        time.sleep(0.5)
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
    active = [f"{r['name']} ({r['state']})" for r in rules if r.get("state") != "inactive"]
    print(f"alerts: {len(rules)} rules loaded, unhealthy: {bad or 'none'}, "
          f"pending or firing: {active or 'none'}")
    return 1 if not rules or bad or active else 0


def dashboard_queries():
    """(panel title, PromQL) of every panel target, with Grafana's variables
    replaced as Grafana would: $backend = All, $__rate_interval = 4 scrapes."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", "4s").replace("$backend", ".*")
            yield panel["title"], expr


def check_dashboard(prom_port):
    failed = 0
    n = 0
    with_data = {}
    for title, expr in dashboard_queries():
        n += 1
        try:
            result = query(prom_port, expr)
        except (OSError, RuntimeError) as e:
            print(f"FAIL dashboard panel {title!r}: `{expr}`: {e}")
            failed += 1
            continue
        with_data[title] = with_data.get(title, 0) + len(result)
    print(f"dashboard: {n} queries accepted by prometheus: {n - failed}; "
          f"panels with data: {sum(1 for v in with_data.values() if v)} of {len(with_data)}")
    for title in ("Request rate per backend", "Backend latency p99", "Backend latency p50"):
        if with_data.get(title, 0) < 3:
            print(f"FAIL dashboard panel {title!r}: {with_data.get(title, 0)} series, want 3 backends")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
