'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { NativeHandle } = require('../lib/handle');
const { Cache, Profiler } = require('..');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

test('close() frees once; pinned handles are freed when the pin ends', () => {
  const freed = [];
  const h = new NativeHandle(11n, (p) => freed.push(p), 'Thing');
  assert.equal(h._ptr, 11n);
  h.close();
  h.close();
  assert.deepEqual(freed, [11n]);
  assert.throws(() => h._ptr, { status: 'WTFPERF_ERR_STATE', message: 'Thing is closed' });

  const p = new NativeHandle(12n, (x) => freed.push(x), 'Thing');
  p._pinned((ptr) => {
    assert.equal(ptr, 12n);
    p.close();
    assert.equal(p.closed, true);
    assert.deepEqual(freed, [11n], 'not freed while pinned');
  });
  assert.deepEqual(freed, [11n, 12n]);
});

test('the FinalizationRegistry frees handles that were never closed', async () => {
  const freed = [];
  (() => {
    for (let i = 0; i < 10; i++) new NativeHandle(BigInt(100 + i), (p) => freed.push(p), 'Leaked');
  })();
  for (let i = 0; i < 50 && freed.length < 10; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(freed.length, 10);
  const closed = new NativeHandle(200n, (p) => freed.push(p), 'Closed');
  closed.close();
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(freed.filter((p) => p === 200n).length, 1, 'a closed handle is not freed again');
});

test('real handles left to the garbage collector do not crash the process', async () => {
  (() => {
    for (let i = 0; i < 20; i++) {
      const c = new Cache();
      c.set('k', 'v');
      new Profiler();
    }
  })();
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
});

if (typeof Symbol.dispose === 'symbol') {
  test('handles are disposable', () => {
    const c = new Cache();
    c[Symbol.dispose]();
    assert.equal(c.closed, true);
  });
}
