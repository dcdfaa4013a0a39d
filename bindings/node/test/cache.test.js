'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Cache } = require('..');
const { tmpdir, throwsStatus } = require('./helpers');

test('memory cache round trip with bytes and strings', () => {
  const cache = new Cache();
  try {
    assert.equal(cache.get('absent'), null);
    const value = Buffer.from([0, 1, 2, 255, 0]);
    cache.set(Buffer.from('k\u0000bin'), value);
    assert.deepEqual(cache.get(Buffer.from('k\u0000bin')), value);
    cache.set('text', 'héllo');
    const got = cache.get(new Uint8Array(Buffer.from('text')));
    assert.ok(Buffer.isBuffer(got));
    assert.equal(got.toString(), 'héllo');
    cache.set('empty', Buffer.alloc(0));
    assert.deepEqual(cache.get('empty'), Buffer.alloc(0));
    cache.invalidate('text');
    assert.equal(cache.get('text'), null);
    cache.invalidate('never-set');
    const s = cache.stats();
    assert.ok(s.memoryHits >= 3, JSON.stringify(s));
    assert.ok(s.memoryMisses >= 2, JSON.stringify(s));
    assert.ok(s.hitRate > 0 && s.hitRate <= 1);
    assert.equal(typeof cache.statsJson(), 'object');
    cache.clear();
    assert.equal(cache.get('empty'), null);
    assert.throws(() => cache.set(42, 'x'), TypeError);
  } finally {
    cache.close();
  }
});

test('persistent cache round trip with file invalidation', (t) => {
  const dir = tmpdir(t);
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const a = path.join(src, 'a.js');
  const b = path.join(src, 'b.js');
  const dep = path.join(src, 'dep.json');
  fs.writeFileSync(a, 'let a = 1;\n');
  fs.writeFileSync(b, 'let b = 1;\n');
  fs.writeFileSync(dep, '{}\n');
  const cacheDir = path.join(dir, 'cache');

  let cache = new Cache({ dir: cacheDir });
  cache.set('result:a', JSON.stringify({ findings: ['a1'] }), { filePath: a });
  cache.set('result:b', 'B', { filePath: b, deps: [dep] });
  cache.set('free', 'F');
  assert.deepEqual(JSON.parse(cache.get('result:a')), { findings: ['a1'] });
  cache.close();

  // Entries survive the handle (and the process: they were committed).
  cache = new Cache({ dir: cacheDir });
  try {
    assert.equal(cache.get('result:b').toString(), 'B');
    assert.equal(cache.get('free').toString(), 'F');
    assert.ok(cache.stats().persistentEntries >= 3);
    assert.deepEqual(cache.checkFileChanges([a, b, dep]), []);

    // Changing a file's content invalidates what was bound to it.
    fs.writeFileSync(a, 'let a = 2; // changed\n');
    assert.deepEqual(cache.checkFileChanges([a, b, dep]), [a]);
    assert.equal(cache.get('result:a'), null);

    // A dependency change invalidates its dependents.
    fs.writeFileSync(dep, '{"changed": true}\n');
    assert.deepEqual(cache.checkFileChanges([dep]), [dep]);
    assert.equal(cache.get('result:b'), null);
    assert.equal(cache.get('free').toString(), 'F');

    // invalidateFile drops what is bound to a file, and counts it.
    cache.set('result:a2', 'A2', { filePath: a });
    cache.set('result:a3', 'A3', { filePath: a });
    assert.equal(cache.invalidateFile(a), 2);
    assert.equal(cache.get('result:a2'), null);
    assert.equal(cache.invalidateFile(a), 0);
    assert.ok(cache.stats().invalidations >= 2);
  } finally {
    cache.close();
  }
});

test('expired entries are cleaned up', async () => {
  const cache = new Cache();
  try {
    cache.set('short', 'x', { ttlS: 0.05 });
    cache.set('long', 'y');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(cache.cleanupExpired() >= 1, true);
    assert.equal(cache.get('short'), null);
    assert.equal(cache.get('long').toString(), 'y');
  } finally {
    cache.close();
  }
});

test('cache errors are WtfperfErrors; handles close idempotently', (t) => {
  const dir = tmpdir(t);
  const notADir = path.join(dir, 'file');
  fs.writeFileSync(notADir, 'x');
  assert.throws(
    () => new Cache({ dir: path.join(notADir, 'sub') }),
    (e) => e.name === 'WtfperfError' && ['WTFPERF_ERR_IO', 'WTFPERF_ERR_STORE'].includes(e.status) && e.message.length > 0,
  );
  throwsStatus(assert, () => new Cache({ memoryTtlS: Number.NaN }), 'WTFPERF_ERR_INVALID');
  const cache = Cache.open();
  cache.close();
  cache.close();
  throwsStatus(assert, () => cache.get('k'), 'WTFPERF_ERR_STATE', /closed/);
  throwsStatus(assert, () => cache.set('k', 'v'), 'WTFPERF_ERR_STATE');
});

test('setMany stores entries in one call; explainMiss says why a key missed', (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'bound.js');
  fs.writeFileSync(file, 'v1\n');
  const cache = new Cache({ dir: path.join(dir, 'cache') });
  t.after(() => cache.close());
  cache.setMany([
    ['k1', 'v1'],
    [Buffer.from('k2'), Buffer.from([2, 2]), { filePath: file }],
    ['k3', 'v3', { ttlS: 100, deps: [file] }],
  ]);
  cache.setMany([]);
  assert.equal(cache.get('k1').toString(), 'v1');
  assert.deepEqual(cache.get('k2'), Buffer.from([2, 2]));
  assert.equal(cache.get('k3').toString(), 'v3');
  assert.equal(cache.stats().sets, 3);
  fs.writeFileSync(file, 'v2, longer\n');
  assert.equal(cache.get('k2'), null);
  assert.equal(cache.get('k3'), null);
  const why = cache.explainMiss('k2');
  assert.equal(why.last_reason, 'file_changed');
  assert.equal(why.stored_in_memory, false);
  assert.equal(cache.explainMiss('never').last_reason, null);
  const s = cache.stats();
  assert.ok(s.invalidationsFileChanged >= 1, JSON.stringify(s));
  assert.equal(s.recovered, false);
  // All or nothing: a bad entry stores none of the batch.
  throwsStatus(assert, () => cache.setMany([['ok', 'x'], ['bad', 'y', { filePath: path.join(dir, 'missing') }]]), 'WTFPERF_ERR_IO');
  assert.equal(cache.get('ok'), null);
});
