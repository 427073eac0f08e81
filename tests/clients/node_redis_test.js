// node-redis (npm `redis`) through foreshard with its defaults (node-redis 6:
// RESP3, so the connect sequence is HELLO 3, CLIENT SETINFO LIB-VER/LIB-NAME
// and CLIENT MAINT_NOTIFICATIONS, whose error it ignores), and again with
// RESP: 2. Pipelines, MULTI/EXEC and WATCH, BLPOP woken by another client,
// pub/sub (SUBSCRIBE and PSUBSCRIBE), EVAL/EVALSHA, and scanIterator over
// every backend. Run under with_fleet.sh.
const test = require('node:test');
const assert = require('node:assert');
const { createClient, WatchError } = require('redis');
const { version } = require('redis/package.json');

const port = Number(process.env.FS_PORT);
const redisPorts = process.env.REDIS_PORTS.split(' ').map(Number);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One suite per protocol: node-redis's default (RESP3 in v6) and RESP2.
const variants = [
  { name: 'default', opts: {}, resp: 3, p: 'nr3' },
  { name: 'RESP 2', opts: { RESP: 2 }, resp: 2, p: 'nr2' },
];
console.log(`node-redis ${version}, protocols: ${variants.map((v) => v.name).join(', ')}`);

async function open(options) {
  const c = createClient(options);
  const errors = [];
  c.on('error', (e) => errors.push(e)); // an unhandled 'error' would crash the run
  c.errors = errors;
  await c.connect();
  return c;
}

async function direct() {
  return Promise.all(redisPorts.map((p) => open({ socket: { host: '127.0.0.1', port: p }, RESP: 2 })));
}

// close() waits for pending replies: if one never comes (a failed check),
// destroy() the client after a second so that the test ends.
async function closeAll(...clients) {
  for (const c of clients.flat()) {
    if (!c || !c.isOpen) continue;
    let t;
    const late = new Promise((resolve) => { t = setTimeout(() => resolve('late'), 1000); });
    if (await Promise.race([c.close().catch(() => {}), late]) === 'late') c.destroy();
    clearTimeout(t);
  }
}

async function ownerIndex(backends, key) {
  const held = [];
  for (let i = 0; i < backends.length; i++) {
    if (await backends[i].exists(key)) held.push(i);
  }
  assert.strictEqual(held.length, 1, `${key} is held by backends [${held}], expected exactly one`);
  return held[0];
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms); }),
  ]);
}

for (const { name, opts, resp, p } of variants) {
  const connect = () => open({ socket: { host: '127.0.0.1', port }, ...opts });

  test(`[${name}] node-redis connects with its defaults and runs commands`, async () => {
    const r = await connect();
    try {
      assert.strictEqual(await r.ping(), 'PONG');
      assert.strictEqual(await r.set(`${p}:a`, '1'), 'OK');
      assert.strictEqual(await r.get(`${p}:a`), '1');
      assert.strictEqual(await r.clientSetName('nrtest'), 'OK');
      assert.strictEqual(await r.clientGetName(), 'nrtest');
      const info = await r.sendCommand(['CLIENT', 'INFO']);
      assert.match(String(info), new RegExp(`resp=${resp}\\b`), `CLIENT INFO: ${info}`);
      const hello = await r.hello(String(resp));
      assert.strictEqual(hello.proto, resp);
      assert.strictEqual(r.errors.length, 0, `client errors: ${r.errors}`);
    } finally {
      await closeAll(r);
    }
  });

  test(`[${name}] a pipeline of 3,000 commands keeps its order`, async () => {
    const r = await connect();
    try {
      // multi().execAsPipeline(): one write, no MULTI/EXEC.
      const pl = r.multi();
      for (let i = 0; i < 1000; i++) {
        pl.set(`${p}:p:${i}`, String(i));
        pl.get(`${p}:p:${i}`);
        pl.incrBy(`${p}:pc:${i}`, i);
      }
      const out = await pl.execAsPipeline();
      assert.strictEqual(out.length, 3000);
      for (let i = 0; i < 1000; i++) {
        assert.deepStrictEqual(out.slice(3 * i, 3 * i + 3), ['OK', String(i), i]);
      }
      // Implicit pipelining: many commands issued in the same tick.
      const gets = await Promise.all(Array.from({ length: 1000 }, (_, i) => r.get(`${p}:p:${i}`)));
      assert.deepStrictEqual(gets, Array.from({ length: 1000 }, (_, i) => String(i)));
      const keys = Array.from({ length: 300 }, (_, i) => `${p}:m:${i}`);
      assert.strictEqual(await r.mSet(keys.map((k, i) => [k, `v${i}`])), 'OK');
      assert.deepStrictEqual(await r.mGet(keys.slice().reverse()), keys.map((_, i) => `v${i}`).reverse());
      assert.strictEqual(await r.del(keys.slice(0, 7)), 7);
    } finally {
      await closeAll(r);
    }
  });

  test(`[${name}] MULTI/EXEC on one hash tag`, async () => {
    const r = await connect();
    const t = `{${p}:tx}`;
    try {
      const out = await r.multi().set(`${t}a`, '1').incr(`${t}a`).rPush(`${t}l`, ['x', 'y'])
        .mGet([`${t}a`, `${t}b`]).exec();
      assert.deepStrictEqual(out, ['OK', 2, 2, ['2', null]]);
      await assert.rejects(r.multi().set(`{${p}:tx2}a`, '1').set(`{${p}:other}b`, '1').exec(),
        /EXECABORT|CROSSSLOT/);
      assert.strictEqual(await r.get(`{${p}:tx2}a`), null);
      assert.strictEqual(await r.ping(), 'PONG');
    } finally {
      await closeAll(r);
    }
  });

  test(`[${name}] WATCH: a conflicting write from another client gives WatchError`, async () => {
    const r = await connect();
    const other = await connect();
    const k = `{${p}:w}balance`;
    try {
      await r.set(k, '10');
      assert.strictEqual(await r.watch(k), 'OK');
      const v = Number(await r.get(k));
      assert.strictEqual(await other.set(k, '100'), 'OK'); // the conflict
      await assert.rejects(r.multi().set(k, String(v + 1)).exec(), WatchError);
      assert.strictEqual(await r.get(k), '100');
      // Without a conflict the same sequence commits.
      await r.watch(k);
      const v2 = Number(await r.get(k));
      assert.deepStrictEqual(await r.multi().set(k, String(v2 + 1)).get(k).exec(), ['OK', '101']);
      // UNWATCH releases the watch.
      await r.watch(k);
      assert.strictEqual(await r.unwatch(), 'OK');
      await other.set(k, '7');
      assert.deepStrictEqual(await r.multi().get(k).exec(), ['7']);
    } finally {
      await closeAll(r, other);
    }
  });

  test(`[${name}] BLPOP is woken by an LPUSH from another client`, async () => {
    const r = await connect();
    const other = await connect();
    const k = `${p}:bq`;
    try {
      const start = Date.now();
      const popped = r.blPop(k, 5);
      await sleep(500);
      assert.strictEqual(await other.lPush(k, 'job-1'), 1);
      assert.deepStrictEqual(await popped, { key: k, element: 'job-1' });
      const elapsed = Date.now() - start;
      assert.ok(elapsed < 4000, `BLPOP returned after ${elapsed} ms`);
      assert.ok(elapsed >= 400, `BLPOP returned after ${elapsed} ms, before the push`);
      assert.strictEqual(await r.blPop(`${p}:bq:empty`, 1), null);
      assert.strictEqual(await r.ping(), 'PONG');
    } finally {
      await closeAll(r, other);
    }
  });

  test(`[${name}] pub/sub: a SUBSCRIBE and a PSUBSCRIBE client both get a PUBLISH`, async () => {
    const pub = await connect();
    const sub = await connect();
    const psub = await connect();
    const ch = `${p}:news`;
    try {
      let onMsg;
      let onPmsg;
      const gotMsg = new Promise((resolve) => { onMsg = resolve; });
      const gotPmsg = new Promise((resolve) => { onPmsg = resolve; });
      const pmsgs = [];
      await sub.subscribe(ch, (message, channel) => onMsg([channel, message]));
      await psub.pSubscribe(`${p}:new*`, (message, channel) => {
        pmsgs.push([channel, message]);
        onPmsg();
      });
      assert.strictEqual(await pub.publish(ch, 'hello'), 2);
      assert.deepStrictEqual(await withTimeout(gotMsg, 5000, 'SUBSCRIBE client'), [ch, 'hello']);
      await withTimeout(gotPmsg, 5000, 'PSUBSCRIBE client');
      assert.deepStrictEqual(pmsgs, [[ch, 'hello']]);
      if (resp === 3) {
        // RESP3: a subscribed connection runs ordinary commands too.
        assert.strictEqual(await sub.set(`${p}:while-sub`, 'x'), 'OK');
        assert.strictEqual(await sub.get(`${p}:while-sub`), 'x');
      }
      await sub.unsubscribe(ch);
      // String(): node-redis 6 with RESP2 hands back Buffers on a connection
      // that left subscriber mode (it does the same against redis-server).
      assert.strictEqual(String(await sub.ping()), 'PONG');
      assert.strictEqual(String(await sub.set(`${p}:after-sub`, 'x')), 'OK');
      assert.strictEqual(String(await sub.get(`${p}:after-sub`)), 'x');
      assert.strictEqual(await pub.publish(ch, 'again'), 1);
      const deadline = Date.now() + 5000;
      while (pmsgs.length < 2 && Date.now() < deadline) await sleep(20);
      assert.deepStrictEqual(pmsgs, [[ch, 'hello'], [ch, 'again']]);
      for (const c of [pub, sub, psub]) assert.strictEqual(c.errors.length, 0, `client errors: ${c.errors}`);
    } finally {
      await closeAll(pub, sub, psub);
    }
  });

  // Commands issued in the same tick as a (un)subscribe each get their own
  // reply, in order, as with redis-server. RESP3: SUBSCRIBE, GET and PING
  // together give [undefined, 'v', 'PONG']. RESP2: GET right after the last
  // UNSUBSCRIBE runs (the connection has left subscriber mode by then).
  test(`[${name}] commands issued together with (UN)SUBSCRIBE get their own replies`, async () => {
    const r = await connect();
    const k = `${p}:sub-get`;
    try {
      await r.set(k, 'v');
      if (resp === 3) {
        const all = Promise.all([r.subscribe(`${p}:tick`, () => {}), r.get(k), r.ping()]);
        assert.deepStrictEqual(await withTimeout(all, 3000, 'SUBSCRIBE+GET+PING'), [undefined, 'v', 'PONG']);
        await r.unsubscribe(`${p}:tick`);
      } else {
        await r.subscribe(`${p}:tick`, () => {});
        const all = Promise.all([r.unsubscribe(`${p}:tick`), r.get(k)]);
        const [, got] = await withTimeout(all, 3000, 'UNSUBSCRIBE+GET');
        assert.strictEqual(String(got), 'v');
      }
      assert.strictEqual(String(await r.ping()), 'PONG');
    } finally {
      await closeAll(r);
    }
  });

  test(`[${name}] EVAL on one hash tag, EVALSHA after SCRIPT LOAD on every backend`, async () => {
    const r = await connect();
    const backends = await direct();
    try {
      const lua = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); " +
        "redis.call('RPUSH', KEYS[3], ARGV[1], ARGV[2]); " +
        "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('LLEN', KEYS[3])}";
      const t = `{${p}:ev}`;
      assert.deepStrictEqual(
        await r.eval(lua, { keys: [`${t}a`, `${t}b`, `${t}c`], arguments: ['x', 'y'] }), ['x', 'y', 2]);
      assert.deepStrictEqual(await r.mGet([`${t}a`, `${t}b`]), ['x', 'y']);
      await assert.rejects(r.eval('return 1', { keys: [`${p}:ev:x`, `${p}:ev:y`] }), /CROSSSLOT/);

      const byBackend = new Map();
      for (let i = 0; byBackend.size < backends.length && i < 1000; i++) {
        const k = `${p}:sha:${i}`;
        await r.set(k, '0');
        const idx = await ownerIndex(backends, k);
        if (!byBackend.has(idx)) byBackend.set(idx, k);
      }
      assert.strictEqual(byBackend.size, backends.length, 'keys did not spread over the backends');
      const sha = await r.scriptLoad("return redis.call('INCRBY', KEYS[1], ARGV[1])");
      assert.deepStrictEqual(await r.scriptExists(sha), [1]);
      for (const b of backends) assert.deepStrictEqual(await b.scriptExists(sha), [1]);
      for (const [idx, k] of byBackend) {
        assert.strictEqual(await r.evalSha(sha, { keys: [k], arguments: ['7'] }), 7);
        assert.strictEqual(await backends[idx].get(k), '7');
      }
    } finally {
      await closeAll(r, backends);
    }
  });

  test(`[${name}] scanIterator returns every one of 10,000 keys exactly once`, async () => {
    const r = await connect();
    const backends = await direct();
    const n = 10000;
    try {
      const batch = r.multi();
      for (let i = 0; i < n; i += 500) {
        batch.mSet(Array.from({ length: 500 }, (_, j) => [`${p}:scan:${i + j}`, String(i + j)]));
      }
      assert.ok((await batch.execAsPipeline()).every((x) => x === 'OK'));
      const perBackend = [];
      for (const b of backends) {
        let c = 0;
        for await (const ks of b.scanIterator({ MATCH: `${p}:scan:*`, COUNT: 1000 })) c += ks.length;
        perBackend.push(c);
      }
      assert.strictEqual(perBackend.reduce((a, b) => a + b, 0), n);
      assert.ok(perBackend.every((c) => c > 0), `keys per backend: ${perBackend}`);

      const seen = [];
      for await (const ks of r.scanIterator({ MATCH: `${p}:scan:*`, COUNT: 200 })) seen.push(...ks);
      assert.strictEqual(seen.length, n, 'a key came back twice or was missed');
      const set = new Set(seen);
      assert.strictEqual(set.size, n);
      for (let i = 0; i < n; i++) assert.ok(set.has(`${p}:scan:${i}`), `missing ${p}:scan:${i}`);
    } finally {
      await closeAll(r, backends);
    }
  });
}
