"""redis-py (Debian python3-redis) through foreshard, with its defaults.

Run under with_fleet.sh: FS_PORT is the proxy, REDIS_PORTS the backends.
Checks what an application does: connect, pipeline, multi-key commands over
several backends, hash tags, errors that leave the connection usable,
MULTI/EXEC and WATCH, BLPOP woken by another client, pub/sub (SUBSCRIBE and
PSUBSCRIBE), EVAL/EVALSHA, and scan_iter over every backend.
"""
import os
import sys
import threading
import time
import unittest

import redis

FS_PORT = int(os.environ["FS_PORT"])
REDIS_PORTS = [int(p) for p in os.environ["REDIS_PORTS"].split()]


def proxy():
    return redis.Redis(host="127.0.0.1", port=FS_PORT)


def backends():
    return [redis.Redis(host="127.0.0.1", port=p) for p in REDIS_PORTS]


def owner_index(direct, key):
    """Index of the backend that holds key (read directly, not through foreshard)."""
    holders = [i for i, b in enumerate(direct) if b.exists(key)]
    if len(holders) != 1:
        raise AssertionError(f"{key!r} is held by backends {holders}, expected exactly one")
    return holders[0]


class RedisPyThroughForeshard(unittest.TestCase):
    def setUp(self):
        self.r = proxy()

    def tearDown(self):
        self.r.close()

    def test_connect_and_simple_commands(self):
        self.assertTrue(self.r.ping())
        self.assertTrue(self.r.set("py:a", "1"))
        self.assertEqual(self.r.get("py:a"), b"1")
        self.assertEqual(self.r.incr("py:counter"), 1)
        self.r.client_setname("pytest")
        self.assertEqual(self.r.client_getname(), "pytest")
        info = self.r.info()
        self.assertIn("redis_version", info)

    def test_pipeline_keeps_order(self):
        p = self.r.pipeline(transaction=False)
        for i in range(2000):
            p.set(f"py:p:{i}", i)
            p.get(f"py:p:{i}")
        out = p.execute()
        self.assertEqual(len(out), 4000)
        for i in range(2000):
            self.assertTrue(out[2 * i])
            self.assertEqual(out[2 * i + 1], str(i).encode())

    def test_pipeline_mixed_commands_over_backends(self):
        # Replies of different types, from different backends, in request order.
        p = self.r.pipeline(transaction=False)
        for i in range(300):
            p.rpush(f"py:pl:{i}", "a", "b", i)
            p.lrange(f"py:pl:{i}", 0, -1)
            p.incrby(f"py:pc:{i}", i)
            p.exists(f"py:pl:{i}", f"py:pc:{i}", f"py:none:{i}")
        out = p.execute()
        self.assertEqual(len(out), 1200)
        for i in range(300):
            self.assertEqual(out[4 * i], 3)
            self.assertEqual(out[4 * i + 1], [b"a", b"b", str(i).encode()])
            self.assertEqual(out[4 * i + 2], i)
            self.assertEqual(out[4 * i + 3], 2)

    def test_mset_mget_over_backends(self):
        data = {f"py:m:{i}": f"v{i}" for i in range(500)}
        self.assertTrue(self.r.mset(data))
        keys = list(reversed(list(data)))
        self.assertEqual(self.r.mget(keys), [data[k].encode() for k in keys])
        self.assertEqual(self.r.delete(*keys[:10]), 10)
        self.assertEqual(self.r.exists(*keys[:20]), 10)

    def test_hash_tags_and_crossslot(self):
        self.r.sadd("{py}.a", "x", "y")
        self.r.sadd("{py}.b", "y")
        self.assertEqual(self.r.sinter("{py}.a", "{py}.b"), {b"y"})
        with self.assertRaises(redis.ResponseError) as e:
            self.r.rename("py:a", "py:b")
        self.assertIn("CROSSSLOT", str(e.exception))
        self.assertTrue(self.r.ping())

    def test_refused_command_keeps_connection(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.execute_command("DEBUG", "SLEEP", "0")
        self.assertIn("not supported by foreshard", str(e.exception))
        self.assertTrue(self.r.ping())

    # --- transactions ---

    def test_multi_exec(self):
        p = self.r.pipeline()  # transaction=True: MULTI ... EXEC
        p.set("{py:tx}a", "1")
        p.incr("{py:tx}a")
        p.rpush("{py:tx}l", "x", "y")
        p.mget("{py:tx}a", "{py:tx}b")
        p.get("{py:tx}a")
        self.assertEqual(p.execute(), [True, 2, 2, [b"2", None], b"2"])
        self.assertEqual(self.r.lrange("{py:tx}l", 0, -1), [b"x", b"y"])

    def test_multi_exec_crossslot_aborts(self):
        p = self.r.pipeline()
        p.set("{py:tx2}a", "1")
        p.set("{py:other}b", "1")
        with self.assertRaises(redis.ResponseError) as e:
            p.execute()
        self.assertIn("CROSSSLOT", str(e.exception))
        self.assertIsNone(self.r.get("{py:tx2}a"))  # nothing of the block ran
        self.assertTrue(self.r.ping())

    def test_watch_without_conflict_commits(self):
        self.r.set("{py:w0}balance", 10)
        with self.r.pipeline() as p:
            p.watch("{py:w0}balance")
            v = int(p.get("{py:w0}balance"))
            p.multi()
            p.set("{py:w0}balance", v + 5)
            p.get("{py:w0}balance")
            self.assertEqual(p.execute(), [True, b"15"])

    def test_watch_conflicting_write_aborts_exec(self):
        other = proxy()
        try:
            self.r.set("{py:w}balance", 10)
            with self.r.pipeline() as p:
                p.watch("{py:w}balance")
                v = int(p.get("{py:w}balance"))
                self.assertEqual(other.set("{py:w}balance", 100), True)  # the conflict
                p.multi()
                p.set("{py:w}balance", v + 1)
                with self.assertRaises(redis.WatchError):
                    p.execute()
            self.assertEqual(self.r.get("{py:w}balance"), b"100")
            # The classic retry loop then succeeds.
            with self.r.pipeline() as p:
                while True:
                    try:
                        p.watch("{py:w}balance")
                        v = int(p.get("{py:w}balance"))
                        p.multi()
                        p.set("{py:w}balance", v + 1)
                        p.execute()
                        break
                    except redis.WatchError:
                        continue
            self.assertEqual(self.r.get("{py:w}balance"), b"101")
        finally:
            other.close()

    # --- blocking ---

    def test_blpop_woken_by_lpush_from_another_client(self):
        other = proxy()
        key = "py:bq"

        def push():
            time.sleep(0.5)
            other.lpush(key, "job-1")

        t = threading.Thread(target=push)
        try:
            start = time.monotonic()
            t.start()
            got = self.r.blpop([key], timeout=5)
            elapsed = time.monotonic() - start
            self.assertEqual(got, (key.encode(), b"job-1"))
            self.assertLess(elapsed, 4.0, "BLPOP returned only at its timeout")
            self.assertGreaterEqual(elapsed, 0.4)
            # The session is usable again, and a timeout gives None.
            self.assertIsNone(self.r.blpop(["py:bq:empty"], timeout=1))
            self.assertTrue(self.r.ping())
        finally:
            t.join()
            other.close()

    # --- pub/sub ---

    def _next_message(self, ps, deadline):
        while time.monotonic() < deadline:
            m = ps.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if m is not None:
                return m
        return None

    def test_pubsub_subscribe_and_psubscribe(self):
        sub = self.r.pubsub()
        psub = proxy().pubsub()
        try:
            sub.subscribe("py:news")
            psub.psubscribe("py:new*")
            # Wait for both confirmations before publishing.
            for ps, kind in ((sub, "subscribe"), (psub, "psubscribe")):
                m = ps.get_message(timeout=5)
                self.assertIsNotNone(m, f"no {kind} confirmation")
                self.assertEqual(m["type"], kind)
                self.assertEqual(m["data"], 1)
            self.assertEqual(self.r.publish("py:news", "hello"), 2)
            deadline = time.monotonic() + 5
            m1 = self._next_message(sub, deadline)
            m2 = self._next_message(psub, deadline)
            self.assertIsNotNone(m1, "SUBSCRIBE client got nothing")
            self.assertIsNotNone(m2, "PSUBSCRIBE client got nothing")
            self.assertEqual((m1["type"], m1["channel"], m1["data"]),
                             ("message", b"py:news", b"hello"))
            self.assertEqual((m2["type"], m2["pattern"], m2["channel"], m2["data"]),
                             ("pmessage", b"py:new*", b"py:news", b"hello"))
            # PING is allowed while subscribed (RESP2: ["pong", ""]).
            sub.ping()
            m = sub.get_message(timeout=5)
            self.assertIsNotNone(m)
            self.assertEqual(m["type"], "pong")
            # Unsubscribing ends stream mode; the next publish reaches one.
            sub.unsubscribe("py:news")
            m = sub.get_message(timeout=5)
            self.assertEqual((m["type"], m["data"]), ("unsubscribe", 0))
            self.assertEqual(self.r.publish("py:news", "again"), 1)
            m2 = self._next_message(psub, time.monotonic() + 5)
            self.assertEqual(m2["data"], b"again")
        finally:
            sub.close()
            psub.close()
        self.assertTrue(self.r.ping())

    def test_pipelined_subscribe_mode_keeps_reply_order(self):
        # redis-py's own Connection, commands written in one go: the replies
        # come back in request order, and the GET after the last UNSUBSCRIBE
        # runs, exactly as redis-server answers the same bytes.
        self.r.set("py:ord:k", "v")
        c = redis.Redis(host="127.0.0.1", port=FS_PORT, socket_timeout=3)
        conn = c.connection_pool.get_connection("_")
        replies = []
        try:
            conn.send_packed_command(conn.pack_commands([
                ("SUBSCRIBE", "py:ord"), ("PING",), ("GET", "py:ord:k"),
                ("UNSUBSCRIBE",), ("GET", "py:ord:k")]))
            for _ in range(5):
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as e:
                    replies.append(f"error: {e}")
                except redis.TimeoutError:
                    replies.append("timeout")
                    break
        finally:
            conn.disconnect()
            c.connection_pool.release(conn)
            c.close()
        self.assertEqual(replies, [
            [b"subscribe", b"py:ord", 1],
            [b"pong", b""],
            "error: Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
            "QUIT / RESET are allowed in this context",
            [b"unsubscribe", b"py:ord", 0],
            b"v",
        ])

    # --- scripts ---

    def test_eval_with_keys_in_one_slot(self):
        lua = ("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); "
               "redis.call('RPUSH', KEYS[3], ARGV[1], ARGV[2]); "
               "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), "
               "redis.call('LLEN', KEYS[3])}")
        keys = ["{py:ev}a", "{py:ev}b", "{py:ev}c"]
        self.assertEqual(self.r.eval(lua, 3, *keys, "x", "y"), [b"x", b"y", 2])
        self.assertEqual(self.r.mget("{py:ev}a", "{py:ev}b"), [b"x", b"y"])
        with self.assertRaises(redis.ResponseError) as e:
            self.r.eval("return 1", 2, "py:ev:x", "py:ev:y")
        self.assertIn("CROSSSLOT", str(e.exception))
        self.assertEqual(self.r.eval("return ARGV[1]", 0, "nokeys"), b"nokeys")

    def test_evalsha_after_script_load_on_every_backend(self):
        direct = backends()
        try:
            # Keys that live on different backends.
            by_backend = {}
            i = 0
            while len(by_backend) < len(direct) and i < 1000:
                k = f"py:sha:{i}"
                self.r.set(k, "0")
                by_backend.setdefault(owner_index(direct, k), k)
                i += 1
            self.assertEqual(len(by_backend), len(direct), "keys did not spread over the backends")
            lua = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
            sha = self.r.script_load(lua)
            self.assertEqual(self.r.script_exists(sha), [True])
            for b in direct:  # SCRIPT LOAD reached every backend
                self.assertEqual(b.script_exists(sha), [True])
            for idx, k in sorted(by_backend.items()):
                self.assertEqual(self.r.evalsha(sha, 1, k, 7), 7)
                self.assertEqual(direct[idx].get(k), b"7")
            # redis-py's Script object (EVALSHA, SCRIPT LOAD on NOSCRIPT).
            script = self.r.register_script("return redis.call('GET', KEYS[1])")
            for k in by_backend.values():
                self.assertEqual(script(keys=[k]), b"7")
        finally:
            for b in direct:
                b.close()

    # --- SCAN ---

    def test_scan_iter_returns_every_key_once(self):
        n = 10000
        p = self.r.pipeline(transaction=False)
        for i in range(0, n, 500):
            p.mset({f"py:scan:{j}": j for j in range(i, i + 500)})
        self.assertTrue(all(p.execute()))
        direct = backends()
        try:
            per_backend = [len(list(b.scan_iter(match="py:scan:*", count=1000))) for b in direct]
            self.assertEqual(sum(per_backend), n)
            self.assertTrue(all(c > 0 for c in per_backend), f"keys per backend: {per_backend}")
        finally:
            for b in direct:
                b.close()
        seen = list(self.r.scan_iter(match="py:scan:*", count=200))
        self.assertEqual(len(seen), n, "a key came back twice or was missed")
        self.assertEqual(set(seen), {f"py:scan:{j}".encode() for j in range(n)})
        # Default COUNT, no MATCH: the scan keys are among all keys, each once.
        everything = list(self.r.scan_iter())
        self.assertEqual(len(everything), len(set(everything)))
        self.assertEqual(len(everything), self.r.dbsize())


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"redis-py {redis.__version__}: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
