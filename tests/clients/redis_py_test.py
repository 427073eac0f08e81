"""redis-py (Debian python3-redis) through foreshard, with its defaults.

Run under with_fleet.sh: FS_PORT is the proxy, REDIS_PORTS the backends.
Checks what an application does: connect, pipeline, multi-key commands over
several backends, hash tags, errors that leave the connection usable.
"""
import os
import sys
import unittest

import redis


class RedisPyThroughForeshard(unittest.TestCase):
    def setUp(self):
        self.r = redis.Redis(host="127.0.0.1", port=int(os.environ["FS_PORT"]))

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


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
