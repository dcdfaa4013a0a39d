'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const wtfperf = require('..');
const native = require('../lib/native');

test('version is loaded and matches the binding', () => {
  assert.match(wtfperf.version(), /^0\.1\.\d+/);
  assert.ok(wtfperf.libraryPath.length > 0);
});

test('version check refuses another MAJOR.MINOR', () => {
  assert.doesNotThrow(() => native.checkVersion('0.1.7'));
  assert.throws(() => native.checkVersion('0.2.0', '/x/libwtfperf.so'), /0\.2\.0.*needs 0\.1\.x/);
  assert.throws(() => native.checkVersion('1.1.0'), /needs 0\.1/);
  assert.throws(() => native.checkVersion('garbage'), /needs 0\.1/);
});

test('WTFPERF_LIB overrides the lookup', () => {
  assert.deepEqual(native.candidatePaths({ WTFPERF_LIB: '/a/b.so' }), [{ path: '/a/b.so', explicit: true }]);
  const paths = native.candidatePaths({}).map((c) => c.path);
  assert.equal(paths.at(-1), 'libwtfperf.so');
});

test('status names agree with the library', () => {
  for (const [name, code] of Object.entries(wtfperf.Status)) {
    assert.equal(native.core.status_str(code), name);
    assert.equal(wtfperf.statusName(code), name);
  }
  assert.equal(native.core.status_str(1234), 'WTFPERF_UNKNOWN');
});

test('a forced panic comes back as a thrown WtfperfError', () => {
  assert.throws(
    () => wtfperf.debugForcePanic('boom from node'),
    (e) => {
      assert.ok(e instanceof wtfperf.WtfperfError);
      assert.ok(e instanceof Error);
      assert.equal(e.status, 'WTFPERF_ERR_PANIC');
      assert.equal(e.code, wtfperf.Status.WTFPERF_ERR_PANIC);
      assert.match(e.message, /boom from node/);
      return true;
    },
  );
  // The library stays usable after a caught panic.
  assert.throws(() => wtfperf.debugForcePanic(), { status: 'WTFPERF_ERR_PANIC', message: /forced panic/ });
  assert.match(wtfperf.version(), /^0\.1\./);
});

test('buffers: zero-length and copies are independent of native memory', () => {
  assert.equal(native.copyBytes(null, 0).length, 0);
  assert.deepEqual(native.toBytes('hé'), Buffer.from('hé'));
  assert.throws(() => native.toBytes(42), TypeError);
});

test('wtfperf_buf_free accepts a zeroed buffer', () => {
  const buf = { data: null, len: 0 };
  native.core.buf_free(buf);
  native.core.buf_free(null);
});

test('the ESM entry point exports the same objects', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.default, wtfperf);
  for (const name of Object.keys(wtfperf)) assert.equal(esm[name], wtfperf[name], name);
});

test('a function the library lacks throws a clear WtfperfError when called', () => {
  const fn = native.declare('int32_t wtfperf_no_such_function(void)');
  assert.equal(native.declared.get('wtfperf_no_such_function'), false);
  assert.throws(fn, { name: 'WtfperfError', status: 'WTFPERF_ERR_STATE', message: /does not export wtfperf_no_such_function/ });
  native.declared.delete('wtfperf_no_such_function');
  assert.throws(() => native.declare('int32_t wtfperf_version(no_such_type x)'), /no_such_type/);
});
