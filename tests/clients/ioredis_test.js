// ioredis (npm) through foreshard with its defaults: the connect sequence
// (ready check with INFO), pipelines, multi-key commands over several
// backends, errors that keep the connection usable. Run under with_fleet.sh.
const test = require('node:test');
const assert = require('node:assert');
const Redis = require('ioredis');

const port = Number(process.env.FS_PORT);

test('ioredis connects with its defaults and runs commands', async () => {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: false });
  try {
    assert.strictEqual(await r.ping(), 'PONG');
    assert.strictEqual(await r.set('io:a', '1'), 'OK');
    assert.strictEqual(await r.get('io:a'), '1');
    await r.client('SETNAME', 'iotest');
    assert.strictEqual(await r.client('GETNAME'), 'iotest');
  } finally {
    r.disconnect();
  }
});

test('ioredis pipelines keep order and multi-key commands merge', async () => {
  const r = new Redis({ port, host: '127.0.0.1' });
  try {
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) {
      p.set(`io:p:${i}`, String(i));
      p.get(`io:p:${i}`);
    }
    const out = await p.exec();
    assert.strictEqual(out.length, 2000);
    for (let i = 0; i < 1000; i++) {
      assert.strictEqual(out[2 * i + 1][1], String(i));
    }
    const keys = Array.from({ length: 300 }, (_, i) => `io:m:${i}`);
    await r.mset(...keys.flatMap((k, i) => [k, `v${i}`]));
    const vals = await r.mget(...keys.slice().reverse());
    assert.deepStrictEqual(vals, keys.map((_, i) => `v${i}`).reverse());
    assert.strictEqual(await r.del(...keys.slice(0, 7)), 7);
  } finally {
    r.disconnect();
  }
});

test('a refused command errors and the connection stays usable', async () => {
  const r = new Redis({ port, host: '127.0.0.1' });
  try {
    await assert.rejects(r.call('SWAPDB', '0', '1'), /not supported by foreshard/);
    await assert.rejects(r.rename('io:a', 'io:b'), /CROSSSLOT/);
    assert.strictEqual(await r.ping(), 'PONG');
  } finally {
    r.disconnect();
  }
});
