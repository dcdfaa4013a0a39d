'use strict';
// Arguments that used to be taken wrongly without a word: a single string or
// Buffer where a list of paths/names is expected (iterated character by
// character: a dependency '/etc/hostname' made '/' one, a walk of the whole
// filesystem), and a NUL inside a text argument (koffi's 'str' cut it short).

const test = require('node:test');
const assert = require('node:assert/strict');
const { scan, analyze, Cache, Profiler, ProfileManager, debugForcePanic } = require('..');
const { benchOptions } = require('../lib/bench');
const { tmpdir, writeTree, throwsStatus } = require('./helpers');

/** Asserts fn throws a TypeError whose message names `param`. */
function throwsType(fn, param) {
  assert.throws(fn, (e) => e instanceof TypeError && e.message.includes(param), `TypeError naming ${param}`);
}

test('a single string or Buffer where a list of paths or globs is expected is a TypeError', (t) => {
  const root = tmpdir(t);
  writeTree(root, { 'a.js': 'a\n', 'b.txt': 'b\n' });
  const cache = new Cache();
  t.after(() => cache.close());
  // Relative names: if split into characters they would be files 'a' and 'b', not '/'.
  for (const single of ['ab', Buffer.from('ab'), new Uint8Array([97, 98]), new String('ab')]) {
    throwsType(() => cache.set('k', 'v', { deps: single }), 'deps');
    throwsType(() => cache.setMany([['k', 'v', { deps: single }]]), 'deps');
    throwsType(() => cache.checkFileChanges(single), 'paths');
    throwsType(() => scan(root, { include: single }), 'include');
    throwsType(() => scan(root, { exclude: single }), 'exclude');
    throwsType(() => analyze(root, { include: single }, null, 'id', () => null), 'include');
  }
  // Not iterable at all: refused too (Array.from(42) would be an empty list).
  throwsType(() => cache.set('k', 'v', { deps: 42 }), 'deps');
  throwsType(() => cache.checkFileChanges(new URL('file:///etc/hostname')), 'paths');
  assert.equal(cache.get('k'), null);
  // Lists (and other iterables) still work.
  cache.set('k', 'v', { deps: new Set([`${root}/a.js`]) });
  assert.equal(cache.get('k').toString(), 'v');
  assert.deepEqual(cache.checkFileChanges([`${root}/a.js`]), []);
  const seen = [];
  scan(root, { include: ['*.js'], sorted: true }, { onFile: (f) => seen.push(f.relPath) });
  assert.deepEqual(seen, ['a.js']);
});

test('a NUL in a text argument is refused with WTFPERF_ERR_INVALID, not cut short', (t) => {
  const root = tmpdir(t);
  writeTree(root, { 'a.js': 'a\n' });
  throwsStatus(assert, () => analyze(root, {}, null, 'todo@1\0x', () => null), 'WTFPERF_ERR_INVALID', /analyzerId/);
  throwsStatus(assert, () => scan(root, { include: ['*.js\0x'] }), 'WTFPERF_ERR_INVALID', /include/);
  throwsStatus(assert, () => scan(root, { exclude: ['a\0'] }), 'WTFPERF_ERR_INVALID', /exclude/);
  const profiler = new Profiler();
  t.after(() => profiler.close());
  profiler.start();
  throwsStatus(assert, () => profiler.scopeEnter('a\0b'), 'WTFPERF_ERR_INVALID', /name/);
  throwsStatus(assert, () => profiler.scopeId('a\0b'), 'WTFPERF_ERR_INVALID', /name/);
  throwsStatus(assert, () => profiler.scope('a\0b', () => 1), 'WTFPERF_ERR_INVALID', /name/);
  profiler.scopeExit(profiler.scopeEnter('a'));
  const p = profiler.stop();
  t.after(() => p.close());
  assert.deepEqual(p.toJSON().scopes.map((s) => s.name), ['a']);
  const manager = new ProfileManager();
  t.after(() => manager.close());
  throwsStatus(assert, () => manager.add('run\0x', p), 'WTFPERF_ERR_INVALID', /name/);
  assert.deepEqual(Object.keys(manager.summary().profiles ?? {}), []);
  throwsStatus(assert, () => benchOptions({ formats: 'json\0csv' }), 'WTFPERF_ERR_INVALID', /formats/);
  throwsStatus(assert, () => debugForcePanic('boom\0x'), 'WTFPERF_ERR_INVALID', /message/);
  // The same texts without the NUL are fine.
  assert.equal(analyze(root, {}, null, 'todo@1', () => null).filesScanned, 1);
});

test('profiler indexes, ids and tokens out of their C type are refused, not wrapped', (t) => {
  const profiler = new Profiler();
  t.after(() => profiler.close());
  profiler.start();
  const id = profiler.scopeId('a');
  // koffi turned id + 2**32 into id, 0.5 fractions were dropped, 2**64 became 0.
  assert.throws(() => profiler.scopeEnterId(id + 2 ** 32), RangeError);
  assert.throws(() => profiler.scopeEnterId(-1), RangeError);
  const token = profiler.scopeEnter('b');
  assert.throws(() => profiler.scopeExit(typeof token === 'bigint' ? token + 2n ** 64n : token + 0.5), RangeError);
  profiler.scopeExit(token);
  profiler.scopeExit(profiler.scopeEnterId(id));
  const p = profiler.stop();
  t.after(() => p.close());
  assert.throws(() => p.sample(2n ** 64n), RangeError);
  assert.throws(() => p.sample(0.5), RangeError);
  assert.throws(() => p.sample(-1), RangeError);
  assert.equal(p.sample(0).tS >= 0, true);
});
