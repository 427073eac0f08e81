// ioredis (npm) through foreshard with its defaults (ioredis 6: HELLO 3, i.e.
// RESP3, then CLIENT SETINFO, then the INFO ready check), and again with
// protocol: 2 (RESP2). Pipelines, multi-key commands over several backends,
// errors that keep the connection usable, MULTI/EXEC and WATCH, BLPOP woken
// by another client, pub/sub (SUBSCRIBE and PSUBSCRIBE), EVAL/EVALSHA, and
// scanStream over every backend. Run under with_fleet.sh.
const test = require('node:test');
const assert = require('node:assert');
const Redis = require('ioredis');
const { version } = require('ioredis/package.json');

const port = Number(process.env.FS_PORT);
const redisPorts = process.env.REDIS_PORTS.split(' ').map(Number);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One suite per protocol: the default (whatever ioredis picks: 3 in v6) and
// RESP2 explicitly. Each suite uses its own key prefix.
const variants = [
  { name: 'default', opts: {}, p: 'io3' },
  { name: 'protocol 2', opts: { protocol: 2 }, p: 'io2' },
];
console.log(`ioredis ${version}, protocols: ${variants.map((v) => v.name).join(', ')}`);

const direct = () => redisPorts.map((p) => new Redis({ port: p, host: '127.0.0.1', protocol: 2 }));

async function ownerIndex(backends, key) {
  const held = [];
  for (let i = 0; i < backends.length; i++) {
    if (await backends[i].exists(key)) held.push(i);
  }
  assert.strictEqual(held.length, 1, `${key} is held by backends [${held}], expected exactly one`);
  return held[0];
}

// Resolves with the first event 'name' of emitter, rejects after ms.
function once(emitter, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${name}' event within ${ms} ms`)), ms);
    emitter.once(name, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

for (const { name, opts, p } of variants) {
  const connect = (extra = {}) => new Redis({ port, host: '127.0.0.1', ...opts, ...extra });

  test(`[${name}] ioredis connects with its defaults and runs commands`, async () => {
    const r = connect({ lazyConnect: false });
    try {
      assert.strictEqual(await r.ping(), 'PONG');
      assert.strictEqual(await r.set(`${p}:a`, '1'), 'OK');
      assert.strictEqual(await r.get(`${p}:a`), '1');
      await r.client('SETNAME', 'iotest');
      assert.strictEqual(await r.client('GETNAME'), 'iotest');
      // The handshake (HELLO 3 unless protocol 2, CLIENT SETINFO) set the
      // session's protocol.
      const info = await r.client('INFO');
      assert.match(String(info), new RegExp(`resp=${opts.protocol ?? 3}\\b`));
    } finally {
      r.disconnect();
    }
  });

  test(`[${name}] ioredis pipelines keep order and multi-key commands merge`, async () => {
    const r = connect();
    try {
      const pl = r.pipeline();
      for (let i = 0; i < 1000; i++) {
        pl.set(`${p}:p:${i}`, String(i));
        pl.get(`${p}:p:${i}`);
        pl.incrby(`${p}:pc:${i}`, i);
      }
      const out = await pl.exec();
      assert.strictEqual(out.length, 3000);
      for (let i = 0; i < 1000; i++) {
        assert.deepStrictEqual(out[3 * i], [null, 'OK']);
        assert.deepStrictEqual(out[3 * i + 1], [null, String(i)]);
        assert.deepStrictEqual(out[3 * i + 2], [null, i]);
      }
      const keys = Array.from({ length: 300 }, (_, i) => `${p}:m:${i}`);
      await r.mset(...keys.flatMap((k, i) => [k, `v${i}`]));
      const vals = await r.mget(...keys.slice().reverse());
      assert.deepStrictEqual(vals, keys.map((_, i) => `v${i}`).reverse());
      assert.strictEqual(await r.del(...keys.slice(0, 7)), 7);
    } finally {
      r.disconnect();
    }
  });

  test(`[${name}] a refused command errors and the connection stays usable`, async () => {
    const r = connect();
    try {
      await assert.rejects(r.call('SWAPDB', '0', '1'), /not supported by foreshard/);
      await assert.rejects(r.rename(`${p}:a`, `${p}:b`), /CROSSSLOT/);
      assert.strictEqual(await r.ping(), 'PONG');
    } finally {
      r.disconnect();
    }
  });

  test(`[${name}] MULTI/EXEC on one hash tag`, async () => {
    const r = connect();
    const t = `{${p}:tx}`;
    try {
      const out = await r.multi().set(`${t}a`, '1').incr(`${t}a`).rpush(`${t}l`, 'x', 'y')
        .mget(`${t}a`, `${t}b`).exec();
      assert.deepStrictEqual(out, [[null, 'OK'], [null, 2], [null, 2], [null, ['2', null]]]);
      // A command of another slot inside the block: EXECABORT, nothing ran.
      await assert.rejects(
        r.multi().set(`{${p}:tx2}a`, '1').set(`{${p}:other}b`, '1').exec(),
        /EXECABORT|CROSSSLOT/);
      assert.strictEqual(await r.get(`{${p}:tx2}a`), null);
      assert.strictEqual(await r.ping(), 'PONG');
    } finally {
      r.disconnect();
    }
  });

  test(`[${name}] WATCH: a conflicting write from another client makes exec() null`, async () => {
    const r = connect();
    const other = connect();
    const k = `{${p}:w}balance`;
    try {
      await r.set(k, '10');
      assert.strictEqual(await r.watch(k), 'OK');
      const v = Number(await r.get(k));
      assert.strictEqual(await other.set(k, '100'), 'OK'); // the conflict
      const res = await r.multi().set(k, String(v + 1)).exec();
      assert.strictEqual(res, null, 'EXEC should be aborted by the conflicting write');
      assert.strictEqual(await r.get(k), '100');
      // Without a conflict the same sequence commits.
      await r.watch(k);
      const v2 = Number(await r.get(k));
      const ok = await r.multi().set(k, String(v2 + 1)).get(k).exec();
      assert.deepStrictEqual(ok, [[null, 'OK'], [null, '101']]);
      // UNWATCH releases the watch: a later write does not abort.
      await r.watch(k);
      assert.strictEqual(await r.unwatch(), 'OK');
      await other.set(k, '7');
      assert.deepStrictEqual(await r.multi().get(k).exec(), [[null, '7']]);
    } finally {
      r.disconnect();
      other.disconnect();
    }
  });

  test(`[${name}] BLPOP is woken by an LPUSH from another client`, async () => {
    const r = connect();
    const other = connect();
    const k = `${p}:bq`;
    try {
      await r.ping();
      await other.ping();
      const start = Date.now();
      const popped = r.blpop(k, 5);
      await sleep(500);
      assert.strictEqual(await other.lpush(k, 'job-1'), 1);
      assert.deepStrictEqual(await popped, [k, 'job-1']);
      const elapsed = Date.now() - start;
      assert.ok(elapsed < 4000, `BLPOP returned after ${elapsed} ms`);
      assert.ok(elapsed >= 400, `BLPOP returned after ${elapsed} ms, before the push`);
      // A timeout gives null; the connection is usable afterwards.
      assert.strictEqual(await r.blpop(`${p}:bq:empty`, 1), null);
      assert.strictEqual(await r.ping(), 'PONG');
    } finally {
      r.disconnect();
      other.disconnect();
    }
  });

  test(`[${name}] pub/sub: a SUBSCRIBE and a PSUBSCRIBE client both get a PUBLISH`, async () => {
    const pub = connect();
    const sub = connect();
    const psub = connect();
    const ch = `${p}:news`;
    try {
      assert.strictEqual(await sub.subscribe(ch), 1);
      assert.strictEqual(await psub.psubscribe(`${p}:new*`), 1);
      const gotMsg = once(sub, 'message');
      const gotPmsg = once(psub, 'pmessage');
      assert.strictEqual(await pub.publish(ch, 'hello'), 2);
      assert.deepStrictEqual(await gotMsg, [ch, 'hello']);
      assert.deepStrictEqual(await gotPmsg, [`${p}:new*`, ch, 'hello']);
      // Unsubscribe: the connection leaves subscriber mode and runs commands.
      assert.strictEqual(await sub.unsubscribe(ch), 0);
      assert.strictEqual(await sub.set(`${p}:after-sub`, 'x'), 'OK');
      const again = once(psub, 'pmessage');
      assert.strictEqual(await pub.publish(ch, 'again'), 1);
      assert.deepStrictEqual(await again, [`${p}:new*`, ch, 'again']);
    } finally {
      pub.disconnect();
      sub.disconnect();
      psub.disconnect();
    }
  });

  if ((opts.protocol ?? 3) === 3) {
    // RESP3 lets a subscribed connection run ordinary commands; issued in the
    // same tick as SUBSCRIBE, each must get its own reply, in order (as
    // redis-server does: [1, 'v', 'PONG']).
    // A race in the proxy would show only sometimes: five fresh connections.
    test(`[${name}] SUBSCRIBE, GET and PING issued together each get their own reply`, async () => {
      const k = `${p}:sub-get`;
      const w = connect();
      await w.set(k, 'v');
      w.disconnect();
      for (let i = 0; i < 5; i++) {
        const r = connect();
        try {
          await r.ping();
          const all = Promise.all([r.subscribe(`${p}:tick`), r.get(k), r.ping()]);
          const timeout = sleep(3000).then(() => 'no reply within 3 s');
          assert.deepStrictEqual(await Promise.race([all, timeout]), [1, 'v', 'PONG'], `round ${i}`);
        } finally {
          r.disconnect();
        }
      }
    });
  }

  test(`[${name}] EVAL on one hash tag, EVALSHA after SCRIPT LOAD on every backend`, async () => {
    const r = connect();
    const backends = direct();
    try {
      const lua = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); " +
        "redis.call('RPUSH', KEYS[3], ARGV[1], ARGV[2]); " +
        "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('LLEN', KEYS[3])}";
      const t = `{${p}:ev}`;
      assert.deepStrictEqual(await r.eval(lua, 3, `${t}a`, `${t}b`, `${t}c`, 'x', 'y'), ['x', 'y', 2]);
      assert.deepStrictEqual(await r.mget(`${t}a`, `${t}b`), ['x', 'y']);
      await assert.rejects(r.eval('return 1', 2, `${p}:ev:x`, `${p}:ev:y`), /CROSSSLOT/);

      // Keys that live on different backends.
      const byBackend = new Map();
      for (let i = 0; byBackend.size < backends.length && i < 1000; i++) {
        const k = `${p}:sha:${i}`;
        await r.set(k, '0');
        const idx = await ownerIndex(backends, k);
        if (!byBackend.has(idx)) byBackend.set(idx, k);
      }
      assert.strictEqual(byBackend.size, backends.length, 'keys did not spread over the backends');
      const sha = await r.script('LOAD', "return redis.call('INCRBY', KEYS[1], ARGV[1])");
      for (const b of backends) assert.deepStrictEqual(await b.script('EXISTS', sha), [1]);
      for (const [idx, k] of byBackend) {
        assert.strictEqual(await r.evalsha(sha, 1, k, 7), 7);
        assert.strictEqual(await backends[idx].get(k), '7');
      }
      // ioredis's own script helper (EVALSHA, EVAL on NOSCRIPT).
      r.defineCommand('getIt', { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
      for (const k of byBackend.values()) assert.strictEqual(await r.getIt(k), '7');
    } finally {
      r.disconnect();
      for (const b of backends) b.disconnect();
    }
  });

  test(`[${name}] scanStream returns every one of 10,000 keys exactly once`, async () => {
    const r = connect();
    const backends = direct();
    const n = 10000;
    try {
      const pl = r.pipeline();
      for (let i = 0; i < n; i += 500) {
        pl.mset(...Array.from({ length: 500 }, (_, j) => [`${p}:scan:${i + j}`, String(i + j)]).flat());
      }
      for (const [err, res] of await pl.exec()) assert.deepStrictEqual([err, res], [null, 'OK']);
      const perBackend = [];
      for (const b of backends) {
        let c = 0;
        for await (const ks of b.scanStream({ match: `${p}:scan:*`, count: 1000 })) c += ks.length;
        perBackend.push(c);
      }
      assert.strictEqual(perBackend.reduce((a, b) => a + b, 0), n);
      assert.ok(perBackend.every((c) => c > 0), `keys per backend: ${perBackend}`);

      const seen = [];
      for await (const ks of r.scanStream({ match: `${p}:scan:*`, count: 200 })) seen.push(...ks);
      assert.strictEqual(seen.length, n, 'a key came back twice or was missed');
      const set = new Set(seen);
      assert.strictEqual(set.size, n);
      for (let i = 0; i < n; i++) assert.ok(set.has(`${p}:scan:${i}`), `missing ${p}:scan:${i}`);
    } finally {
      r.disconnect();
      for (const b of backends) b.disconnect();
    }
  });
}
