"""Python helpers to run a local fleet for scripts (bench, demo): free ports,
readiness by PING, processes started with a log file and stopped by PID."""
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FORESHARD_BIN", os.path.join(ROOT, "build", "app", "foreshard"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_is_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_ping(port, tries=200):
    for _ in range(tries):
        r = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return True
        time.sleep(0.05)
    return False


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), *map(str, args)], capture_output=True,
                       text=True)
    return r.stdout.strip()


class Fleet:
    """Processes started here, with logs in `workdir`; stop_all() ends them."""

    def __init__(self, workdir):
        self.dir = workdir
        self.procs = []

    def spawn(self, args, name):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def start_redis(self, name, port=None):
        port = port or free_port()
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        self.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", d], name)
        if not wait_ping(port):
            raise RuntimeError(f"redis-server {name} did not start on {port}")
        return port

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
