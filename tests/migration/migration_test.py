#!/usr/bin/python3
"""Live migration correctness: clients write and read through foreshard while
one segment moves back and forth between two redis-servers, then every key is
read straight from the backends.

    FORESHARD_BIN=build/app/foreshard /usr/bin/python3 tests/migration/migration_test.py
    MIGRATION_MOVES=500 ... (longer run; default 50)
    MIGRATION_BIG_KEY_ELEMENTS=0 ... (no chunked copies: the old path; the
        staging-key checks then fail)

Writers INCR counters (a third of them through EVAL) and RPUSH unique values to lists (some keys with TTLs,
one 100k-field hash and one 100k-member sorted set in the moving segment);
readers check that no counter ever goes backwards (also slow counters, written
every 5 s, so clean between writes and read at the destination during
catch-up) and that keys written once before the moves keep their value. Big keys (the two above, a
12k-member set and a 12k-element list, all over bigKeyElements) are copied in
chunks through staging keys while a writer adds to them in bursts. Afterwards:
every acknowledged INCR, RPUSH and big-key write is there exactly once, every
key lives only on the owner the map names, the TTLs survived, the big keys are
intact, no client saw an error, a staging key was seen during a move and none
is left after any move. Last, a key planted on the destination behind
foreshard's back must make the whole-range key count abort the move. Reads
answered by the destination must have happened (INFO
migration_destination_reads > 0) with no validation mismatch before the
planted key.
Uses redis-py (Debian python3-redis).
"""
import os
import random
import sys
import tempfile
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
import fleet as fleetlib  # noqa: E402
sys.path.insert(0, HERE)
import segment_keys  # noqa: E402

MOVES = int(os.environ.get("MIGRATION_MOVES", "50"))
SEGMENT_SIZE = 1024
SEGMENT = 0                     # slots 0-1023
COUNTERS, LISTS, TTL_KEYS = 40, 20, 10
BIG = 100_000
BIG_SMALL = 12_000              # the big set and list: still over bigKeyElements (10,000)
STAGING = b"__foreshard_staging:"
WRITERS, READERS = 3, 1
# Slow counters: each INCRed every SLOW_PERIOD s. Few and rare, so the dirty
# backlog stays under catch-up's switch target (64) with the 60 busy keys.
SLOW_COUNTERS, SLOW_PERIOD, STATIC_KEYS = 10, 5.0, 50


def keys_in_segment(prefix, n):
    return segment_keys.keys_in_segment(prefix, n, SEGMENT_SIZE, SEGMENT)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.incr = {}           # counter -> acknowledged INCRs
        self.pushed = {}         # list -> acknowledged values
        self.errors = []
        self.backwards = 0
        self.reads = 0
        self.ops = 0
        self.big_acked = []      # values added to each big key (acknowledged)


def big_writer(port, big, stats, stop):
    """Adds one new element to each big key, in bursts (a big key written all
    the time would be copied again inside every switch's write hold)."""
    big_hash, big_zset, big_set, big_list = big
    r = redis.Redis(port=port)
    seq = 0
    while not stop.is_set():
        for _ in range(20):
            v = "b%d" % seq
            seq += 1
            try:
                r.hset(big_hash, v, v)
                r.zadd(big_zset, {v: BIG + seq})
                r.sadd(big_set, v)
                r.rpush(big_list, v)
                with stats.lock:
                    stats.big_acked.append(v)
                    stats.ops += 4
            except redis.RedisError as e:
                with stats.lock:
                    stats.errors.append("big writer: %r" % e)
        stop.wait(3.0)


def writer(wid, port, counters, lists, stats, stop):
    r = redis.Redis(port=port)
    rng = random.Random(wid)
    seq = 0
    while not stop.is_set():
        c = rng.choice(counters)
        lst = rng.choice(lists)
        value = "w%d-%d" % (wid, seq)
        seq += 1
        try:
            if seq % 3 == 0:  # a script writes too (EVAL is not flagged write)
                r.eval("return redis.call('INCR', KEYS[1])", 1, c)
            else:
                r.incr(c)
            with stats.lock:
                stats.incr[c] = stats.incr.get(c, 0) + 1
            r.rpush(lst, value)
            with stats.lock:
                stats.pushed.setdefault(lst, []).append(value)
                stats.ops += 2
        except redis.RedisError as e:
            with stats.lock:
                stats.errors.append("writer %d: %r" % (wid, e))


def slow_writer(port, counters, stats, stop):
    """INCRs each counter every SLOW_PERIOD s: between writes they are clean,
    so their reads go to the destination during catch-up."""
    r = redis.Redis(port=port)
    while not stop.is_set():
        for c in counters:
            try:
                r.incr(c)
                with stats.lock:
                    stats.incr[c] = stats.incr.get(c, 0) + 1
                    stats.ops += 1
            except redis.RedisError as e:
                with stats.lock:
                    stats.errors.append("slow writer: %r" % e)
            stop.wait(SLOW_PERIOD / len(counters))


def reader(port, counters, static, stats, stop):
    r = redis.Redis(port=port)
    seen = {}
    n = 0
    while not stop.is_set():
        c = random.choice(counters)
        n += 1
        try:
            if n % 2 == 0:
                k = random.choice(static)
                got = r.get(k)
                if got != b"static-" + k.encode():
                    with stats.lock:
                        stats.errors.append("reader: %s read %r" % (k, got))
                with stats.lock:
                    stats.reads += 1
                continue
            v = int(r.get(c) or 0)
            with stats.lock:
                stats.reads += 1
        except redis.RedisError as e:
            with stats.lock:
                stats.errors.append("reader: %r" % e)
            continue
        if v < seen.get(c, 0):
            with stats.lock:
                stats.backwards += 1
        seen[c] = max(v, seen.get(c, 0))


def main():
    if not os.access(fleetlib.BIN, os.X_OK):
        print("FORESHARD_BIN is not an executable: %s" % fleetlib.BIN)
        return 1
    workdir = tempfile.mkdtemp(prefix="foreshard-migration.")
    fl = fleetlib.Fleet(workdir)
    failures = []
    try:
        ports = [fl.start_redis("redis-%d" % i) for i in (1, 2)]
        port = fleetlib.free_port()
        conf = os.path.join(workdir, "foreshard.yaml")
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:%d\nmetrics: 127.0.0.1:%d\nworkers: 2\n"
                    "dataDir: %s/data\nsegmentSize: %d\nmigrationPriority: high\n"
                    "validationInterval: 100ms\nbigKeyElements: %s\nbackends:\n" %
                    (port, fleetlib.free_port(), workdir, SEGMENT_SIZE,
                     os.environ.get("MIGRATION_BIG_KEY_ELEMENTS", "10000")))
            for i, p in enumerate(ports, 1):
                f.write("  - name: redis-%d\n    address: 127.0.0.1:%d\n" % (i, p))
        fl.spawn([fleetlib.BIN, "serve", "-c", conf], "foreshard")
        if not fleetlib.wait_ping(port):
            print(open(os.path.join(workdir, "foreshard.log")).read())
            return 1
        print("fleet: foreshard port %d, redis %s, dir %s; %d moves of segment %d" %
              (port, ports, workdir, MOVES, SEGMENT))
        r = redis.Redis(port=port)
        counters = keys_in_segment("cnt", COUNTERS)
        lists = keys_in_segment("lst", LISTS)
        ttl_keys = keys_in_segment("ttl", TTL_KEYS)
        big_hash, big_zset = keys_in_segment("bighash", 1)[0], keys_in_segment("bigzset", 1)[0]
        big_set, big_list = keys_in_segment("bigset", 1)[0], keys_in_segment("big}list", 1)[0]
        t0 = time.monotonic()
        p = r.pipeline(transaction=False)
        for i in range(BIG):
            p.hset(big_hash, "f%d" % i, "v%d" % i)
            p.zadd(big_zset, {"m%d" % i: i})
            if i < BIG_SMALL:
                p.sadd(big_set, "s%d" % i)
                p.rpush(big_list, "l%d" % i)
            if i % 5000 == 4999:
                p.execute()
        p.execute()
        for k in ttl_keys:
            r.set(k, "t", ex=3600)
        slow = keys_in_segment("slow", SLOW_COUNTERS)
        static = keys_in_segment("static", STATIC_KEYS)
        for k in static:
            r.set(k, "static-" + k)
        print("loaded 2 x %d-element and 2 x %d-element keys and %d TTL keys in %.1f s" %
              (BIG, BIG_SMALL, TTL_KEYS, time.monotonic() - t0))
        direct = [redis.Redis(port=p) for p in ports]

        def staging_keys(i):
            return list(direct[i].scan_iter(match=STAGING + b"*", count=1000))

        stats, stop = Stats(), threading.Event()
        threads = [threading.Thread(target=writer, args=(w, port, counters, lists, stats, stop))
                   for w in range(WRITERS)]
        threads += [threading.Thread(target=reader, args=(port, counters + slow, static, stats,
                                                          stop))
                    for _ in range(READERS)]
        threads.append(threading.Thread(target=slow_writer, args=(port, slow, stats, stop)))
        threads.append(threading.Thread(target=big_writer, args=(
            port, (big_hash, big_zset, big_set, big_list), stats, stop)))
        for t in threads:
            t.start()
        admin = redis.Redis(port=port, decode_responses=True)
        names = ["redis-1", "redis-2"]
        done = aborted = 0
        pauses = []
        staging_seen, staging_left = 0, []
        t0 = time.monotonic()
        for move in range(MOVES):
            seg = admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1 + SEGMENT]
            owner = seg.split()[5]
            dst = names[1 - names.index(owner)]
            admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, dst)
            seen_this_move = False
            while True:
                if not seen_this_move and staging_keys(names.index(dst)):
                    seen_this_move = True   # a chunked copy in progress
                    staging_seen += 1
                text = admin.execute_command("FORESHARD", "MIGRATIONS")
                head = text.splitlines()[0]
                d = int(head.split("done: ")[1].split(",")[0])
                a = int(head.split("aborted: ")[1].split(",")[0])
                if d + a > done + aborted:
                    last = [l for l in text.splitlines() if l.startswith("past")][0]
                    if d > done:
                        pauses.append(float(last.split("switch pause ")[1].split()[0]))
                    else:
                        print("  move %d aborted: %s" % (move + 1, last))
                    done, aborted = d, a
                    break
                time.sleep(0.01)
            for i in (0, 1):
                staging_left += staging_keys(i)
            if (move + 1) % 10 == 0 or move + 1 == MOVES:
                with stats.lock:
                    ops, errs = stats.ops, len(stats.errors)
                print("  %d/%d moves (%d done, %d aborted) in %.1f s; %d client ops, %d errors" %
                      (move + 1, MOVES, done, aborted, time.monotonic() - t0, ops, errs),
                      flush=True)
        # ---- a key planted on the destination behind foreshard's back (so not
        # dirty) during the copy: the whole-range key count must abort the move.
        planted_key = keys_in_segment("planted", 1)[0]
        mism0 = int(admin.info("migrations")["migration_validation_mismatches"])
        dst_reads = int(admin.info("migrations")["migration_destination_reads"])
        with stats.lock:
            reads = stats.reads
        compared = 0
        with open(os.path.join(workdir, "foreshard.log"), errors="replace") as log:
            for line in log:
                if "of them compared" in line:
                    compared += int(line.split(" reads at the destination, ")[1].split()[0])
        print("reads: %d by the reader, %d answered by a destination, %d of those compared "
              "with the source, %d validation mismatches" % (reads, dst_reads, compared, mism0))
        planted, planted_result = False, ""
        for _ in range(5):  # until the copy phase was caught
            seg = admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1 + SEGMENT]
            dst = names[1 - names.index(seg.split()[5])]
            admin.execute_command("FORESHARD", "MIGRATE", SEGMENT, dst)
            while True:
                text = admin.execute_command("FORESHARD", "MIGRATIONS")
                if not planted and " phase copy " in text:
                    direct[names.index(dst)].set(planted_key, "planted")
                    planted = True
                head = text.splitlines()[0]
                d = int(head.split("done: ")[1].split(",")[0])
                a = int(head.split("aborted: ")[1].split(",")[0])
                if d + a > done + aborted:
                    planted_result = [l for l in text.splitlines() if l.startswith("past")][0]
                    planted_aborted = a > aborted
                    done, aborted = d, a
                    break
                time.sleep(0.002)
            if planted:
                break
        mismatches = int(admin.info("migrations")["migration_validation_mismatches"]) - mism0
        print("planted key on the destination: %s" % planted_result)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        pauses.sort()
        if pauses:
            print("switch pause: p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
                  (pauses[len(pauses) // 2], pauses[min(len(pauses) - 1, int(len(pauses) * 0.99))],
                   pauses[-1]))

        # ---- verification, straight from the backends
        seg = admin.execute_command("FORESHARD", "SEGMENTS").splitlines()[1 + SEGMENT]
        owner = names.index(seg.split()[5])
        other = 1 - owner
        all_keys = (counters + slow + static + lists + ttl_keys +
                    [big_hash, big_zset, big_set, big_list])
        misplaced = [k for k in all_keys if direct[other].exists(k)]
        missing = [k for k in all_keys if not direct[owner].exists(k)]
        wrong_counts = [(c, int(direct[owner].get(c) or 0), n) for c, n in stats.incr.items()
                        if int(direct[owner].get(c) or 0) != n]
        list_errors = []
        for lst, values in stats.pushed.items():
            got = [v.decode() for v in direct[owner].lrange(lst, 0, -1)]
            if sorted(got) != sorted(values):
                list_errors.append("%s: %d values, %d acknowledged" % (lst, len(got), len(values)))
            if len(set(got)) != len(got):
                list_errors.append("%s: duplicates" % lst)
        lost_ttl = [k for k in ttl_keys if direct[owner].ttl(k) <= 0]
        hlen, zcard = direct[owner].hlen(big_hash), direct[owner].zcard(big_zset)
        hsample = direct[owner].hget(big_hash, "f77777")
        o, acked = direct[owner], stats.big_acked
        big_sizes = (hlen, zcard, o.scard(big_set), o.llen(big_list))
        want_sizes = (BIG + len(acked), BIG + len(acked), BIG_SMALL + len(acked),
                      BIG_SMALL + len(acked))
        big_missing = 0
        for at in range(0, len(acked), 1000):
            part = acked[at:at + 1000]
            big_missing += sum(1 for v, w in zip(o.hmget(big_hash, part), part)
                               if v != w.encode())
            big_missing += sum(1 for x in o.zmscore(big_zset, part) if x is None)
            big_missing += sum(1 for x in o.smismember(big_set, part) if not x)
        list_tail = [v.decode() for v in o.lrange(big_list, BIG_SMALL, -1)]
        staging_left += staging_keys(0) + staging_keys(1)
        print("big keys: %d acknowledged additions each; sizes %s (want %s); %d additions "
              "missing; staging key seen during %d moves, left after a move: %d" %
              (len(acked), big_sizes, want_sizes, big_missing, staging_seen, len(staging_left)))
        print("moves: %d done, %d aborted; client ops %d, errors %d, counters seen going "
              "backwards %d" % (done, aborted, stats.ops, len(stats.errors), stats.backwards))
        print("verify on the owner redis-%d: misplaced %d, missing %d, wrong counters %d, list "
              "errors %d, TTLs lost %d, big hash %d fields, big zset %d members" %
              (owner + 1, len(misplaced), len(missing), len(wrong_counts), len(list_errors),
               len(lost_ttl), hlen, zcard))
        checks = [
            (done >= MOVES * 0.9, "fewer than 90%% of the moves completed (%d of %d)" %
             (done, MOVES)),
            (not stats.errors, "client errors: %s" % stats.errors[:5]),
            (stats.backwards == 0, "a reader saw a counter go backwards"),
            (dst_reads > 0 and compared > 0, "no read answered by a destination (%d) or none "
             "compared (%d)" % (dst_reads, compared)),
            (mism0 == 0, "%d validation mismatches during the moves" % mism0),
            (not misplaced, "keys on the non-owner: %s" % misplaced[:5]),
            (not missing, "keys missing on the owner: %s" % missing[:5]),
            (not wrong_counts, "counters differ from acknowledged INCRs: %s" % wrong_counts[:5]),
            (not list_errors, "lists: %s" % list_errors[:5]),
            (not lost_ttl, "TTLs lost: %s" % lost_ttl[:5]),
            (big_sizes == want_sizes and hsample == b"v77777" and big_missing == 0 and
             list_tail == acked, "big keys damaged"),
            (len(acked) > 0, "no write to the big keys was acknowledged"),
            (staging_seen > 0, "no staging key seen: big keys not copied in chunks?"),
            (not staging_left, "staging keys left: %s" % staging_left[:5]),
            (planted and planted_aborted and "key count" in planted_result and mismatches > 0,
             "a key planted on the destination did not abort the move by key count "
             "(planted %s, %d mismatches counted): %s" % (planted, mismatches, planted_result)),
        ]
        for ok, msg in checks:
            if not ok:
                failures.append(msg)
    finally:
        fl.stop_all()
    for f in failures:
        print("FAIL: " + f)
    print("migration test: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
