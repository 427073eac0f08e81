"""Shared fleet for tests/security: real redis-servers and one foreshard with
client users configured (password, adminPassword, a read-only user and a
normal user), started on free loopback ports and stopped by PID.

Each *_test.py here is one ctest (label `security`); it builds one SecFleet,
runs its checks as an adversarial client or operator would, and prints
"N passed, M failed" as its last line.

    fl = SecFleet("scripts")             # 3 redis-servers + foreshard
    fl.start()                           # or fl.start(extra_yaml="...")
    c = fl.client("rw")                  # redis-py client AUTHed as a role
    fl.direct(0)                         # redis-py client to backend 0 itself
    fl.stop()
"""
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import fleet as fleetlib  # noqa: E402
import redis  # noqa: E402

# The client users every security test configures (config keys `password`,
# `adminPassword`, `users`). "default" authenticates with PASSWORD alone.
PASSWORD = "client-secret"
ADMIN_PASSWORD = "admin-secret"
USERS = {
    "default": PASSWORD,
    "admin": ADMIN_PASSWORD,
    "reader": "reader-secret",  # readonly: true
    "rw": "rw-secret",
}


class SecFleet:
    """Processes started here, logs in a temporary directory (kept on failure)."""

    def __init__(self, name, backends=3, segment_size=1024, workers=1):
        self.name = name
        self.workdir = tempfile.mkdtemp(prefix="foreshard-sec-%s-" % name)
        self.fleet = fleetlib.Fleet(self.workdir)
        self.backends = backends
        self.segment_size = segment_size
        self.workers = workers
        self.redis_ports = []
        self.redis_args = []
        self.port = None
        self.proc = None
        self.conf = os.path.join(self.workdir, "foreshard.yaml")

    # --- processes -------------------------------------------------------
    def start_redis(self, name, port=None, args=()):
        """A redis-server on loopback; `args` are extra command-line options."""
        port = port or fleetlib.free_port()
        d = os.path.join(self.workdir, name)
        os.makedirs(d, exist_ok=True)
        self.fleet.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                          "", "--appendonly", "no", "--dir", d, *args], name)
        if not fleetlib.wait_ping(port) and not self._wait_up(port):
            raise RuntimeError("redis-server %s did not start on %d" % (name, port))
        return port

    @staticmethod
    def _wait_up(port, tries=200):
        for _ in range(tries):
            try:
                redis.Redis(port=port, socket_timeout=1).ping()
                return True
            except redis.exceptions.AuthenticationError:
                return True  # up, with a password
            except redis.exceptions.ResponseError as e:
                if "NOAUTH" in str(e):
                    return True
            except (redis.exceptions.ConnectionError, OSError):
                pass
            time.sleep(0.05)
        return False

    def config_text(self, extra_yaml=""):
        lines = [
            "listen: 127.0.0.1:%d" % self.port,
            "workers: %d" % self.workers,
            "dataDir: %s/data" % self.workdir,
            "segmentSize: %d" % self.segment_size,
            "password: %s" % PASSWORD,
            "adminPassword: %s" % ADMIN_PASSWORD,
            "users:",
            "  - name: reader",
            "    password: %s" % USERS["reader"],
            "    readonly: true",
            "  - name: rw",
            "    password: %s" % USERS["rw"],
            "migrationPriority: high",
            "validationInterval: 100ms",
            "timeouts:",
            "  request: 2s",
            "  backoffMin: 50ms",
        ]
        text = "\n".join(lines) + "\n"
        if extra_yaml:
            text += extra_yaml.rstrip("\n") + "\n"
        if "\nbackends:" not in "\n" + text:
            text += "backends:\n"
            for i, p in enumerate(self.redis_ports):
                text += "  - name: redis-%d\n    address: 127.0.0.1:%d\n" % (i + 1, p)
        return text

    def start(self, extra_yaml="", redis_args=(), wait=True):
        """Starts the backends (once) and foreshard with the users above."""
        if not self.redis_ports:
            for i in range(self.backends):
                self.redis_ports.append(self.start_redis("redis-%d" % (i + 1), args=redis_args))
        self.port = self.port or fleetlib.free_port()
        with open(self.conf, "w") as f:
            f.write(self.config_text(extra_yaml))
        self.proc = self.fleet.spawn([fleetlib.BIN, "serve", "-c", self.conf], "foreshard")
        if wait and not self.wait_ready():
            raise RuntimeError("foreshard did not start: " + self.log_tail())
        return self.port

    def wait_ready(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                r = redis.Redis(port=self.port, password=PASSWORD, socket_timeout=1)
                if r.ping():
                    return True
            except (redis.exceptions.ConnectionError, OSError,
                    redis.exceptions.ResponseError):
                pass
            time.sleep(0.05)
        return False

    def stop_proxy(self, sig_kill=False):
        if self.proc is not None and self.proc.poll() is None:
            (self.proc.kill if sig_kill else self.proc.terminate)()
            self.proc.wait(timeout=10)

    def stop(self, keep=False):
        self.fleet.stop_all()
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.workdir, "foreshard.log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    # --- clients ---------------------------------------------------------
    def client(self, user="default", **kw):
        """A redis-py client of foreshard, authenticated as `user`."""
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("decode_responses", True)
        if user is None:
            return redis.Redis(port=self.port, **kw)
        if user == "default":
            return redis.Redis(port=self.port, password=PASSWORD, **kw)
        return redis.Redis(port=self.port, username=user, password=USERS[user], **kw)

    def direct(self, i, **kw):
        """A redis-py client of backend i itself (the test's view of the truth)."""
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("decode_responses", True)
        return redis.Redis(port=self.redis_ports[i], **kw)


class Checks:
    """Named checks; a failed one prints its traceback and the run goes on."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        start = time.time()
        try:
            note = fn(*args)
            self.passed += 1
            print("ok   %-60s %5.1fs %s" % (name, time.time() - start, note or ""), flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print("FAIL %-60s %5.1fs" % (name, time.time() - start), flush=True)
            traceback.print_exc()

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1


def expect_error(fn, *fragments):
    """Runs fn; it must raise a redis error whose text has every fragment."""
    try:
        got = fn()
    except redis.exceptions.RedisError as e:
        text = str(e)
        for frag in fragments:
            if frag.lower() not in text.lower():
                raise AssertionError("error %r lacks %r" % (text, frag))
        return text
    raise AssertionError("expected an error with %r, got %r" % (fragments, got))
