'use strict';
// File names that are not UTF-8 (Linux names are bytes): with encoding
// 'buffer' every path arrives as a Buffer of its exact bytes, and Buffer
// arguments are passed byte for byte.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { scan, analyze, Cache, benchGenerate } = require('..');
const { tmpdir, throwsStatus } = require('./helpers');
const { koffi } = require('../lib/native');
const scanModule = require('../lib/scan');

const skip = process.platform === 'win32' || process.platform === 'darwin'; // names must be arbitrary bytes

/** Concatenates strings (as UTF-8) and byte arrays into one Buffer. */
function bytes(...parts) {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
}

const REL_FF = bytes('bad', [0xff], '.js');
const REL_FE = bytes('bad', [0xfe], '.js');
const SUB_FF = bytes('sub', [0xff], '/inner', [0xfe], '.txt');

/** A temp tree with bad\xff.js, bad\xfe.js, sub\xff/inner\xfe.txt and ok.js; returns [rootString, rootBytes]. */
function makeTree(t) {
  const root = tmpdir(t);
  const rootBytes = Buffer.from(root, 'utf8');
  fs.writeFileSync(bytes(root, '/', REL_FF), 'let ff = 1;\n');
  fs.writeFileSync(bytes(root, '/', REL_FE), 'let fe = 22;\n');
  fs.mkdirSync(bytes(root, '/sub', [0xff]));
  fs.writeFileSync(bytes(root, '/', SUB_FF), 'inner text\n');
  fs.writeFileSync(path.join(root, 'ok.js'), 'ok\n');
  return [root, rootBytes];
}

const EXPECTED_RELS = [REL_FE, REL_FF, Buffer.from('ok.js'), SUB_FF].sort(Buffer.compare);

test('scan with encoding buffer: distinct, byte-exact paths that exist', { skip }, (t) => {
  const [root, rootBytes] = makeTree(t);
  for (const r of [root, rootBytes, new Uint8Array(rootBytes)]) {
    const files = [];
    const summary = scan(r, { encoding: 'buffer', sorted: true }, { onFile: (f) => files.push(f) });
    assert.equal(summary.filesScanned, 4);
    assert.equal(summary.errors, 0);
    assert.ok(files.every((f) => Buffer.isBuffer(f.path) && Buffer.isBuffer(f.relPath)));
    assert.deepEqual(files.map((f) => f.relPath).sort(Buffer.compare), EXPECTED_RELS);
    for (const f of files) {
      assert.deepEqual(f.path, bytes(rootBytes, '/', f.relPath));
      assert.ok(!f.path.includes(0), 'no NUL in a path');
      assert.ok(fs.existsSync(f.path), `${f.path.toString('hex')} exists`);
      assert.deepEqual(f.content, fs.readFileSync(f.path));
      assert.equal(typeof f.language === 'string' || f.language === null, true);
    }
  }
});

test('default and utf8 encodings are unchanged: strings, non-UTF-8 bytes as U+FFFD', { skip }, (t) => {
  const [root] = makeTree(t);
  for (const opts of [{ sorted: true }, { sorted: true, encoding: 'utf8' }, { sorted: true, encoding: 'utf-8' }]) {
    const rels = [];
    scan(root, opts, {
      onFile: (f) => {
        assert.equal(typeof f.path, 'string');
        assert.equal(f.path, path.join(root, f.relPath));
        rels.push(f.relPath);
      },
    });
    assert.deepEqual(rels.sort(), ['bad\uFFFD.js', 'bad\uFFFD.js', 'ok.js', 'sub\uFFFD/inner\uFFFD.txt']);
  }
});

test('onError hands the path in the requested encoding', { skip }, (t) => {
  const [root, rootBytes] = makeTree(t);
  const errors = [];
  scan(root, { encoding: 'buffer', maxFileSize: 6 }, { onError: (e, p) => errors.push({ e, p }) });
  assert.equal(errors.length, 3); // every file over 6 bytes but ok.js
  assert.ok(errors.every(({ e }) => e.status === 'WTFPERF_ERR_INVALID' && /^skipped:/.test(e.message)));
  assert.deepEqual(
    errors.map(({ p }) => p).sort(Buffer.compare),
    [REL_FE, REL_FF, SUB_FF].map((r) => bytes(rootBytes, '/', r)).sort(Buffer.compare),
  );
  const strings = [];
  scan(root, { maxFileSize: 6 }, { onError: (_e, p) => strings.push(p) });
  assert.ok(strings.length === 3 && strings.every((p) => typeof p === 'string'));
});

test('analyze twice with encoding buffer: distinct relPaths, second run all cached', { skip }, (t) => {
  const [, rootBytes] = makeTree(t);
  const cache = new Cache({ dir: path.join(tmpdir(t), 'cache') });
  t.after(() => cache.close());
  const run = () => {
    const analyzed = [];
    const results = [];
    const summary = analyze(
      rootBytes,
      { encoding: 'buffer' },
      cache,
      'len@1',
      (file) => {
        assert.ok(Buffer.isBuffer(file.relPath) && Buffer.isBuffer(file.path));
        assert.ok(fs.existsSync(file.path));
        analyzed.push(file.relPath);
        return Buffer.concat([file.relPath, Buffer.from(`:${file.content.length}`)]);
      },
      {
        onResult: (file, result, cached) => results.push({ rel: file.relPath, path: file.path, result, cached }),
        onError: (e) => assert.fail(e),
      },
    );
    results.sort((a, b) => Buffer.compare(a.rel, b.rel));
    return { summary, analyzed, results };
  };

  const first = run();
  assert.deepEqual(first.analyzed.sort(Buffer.compare), EXPECTED_RELS);
  assert.equal(first.summary.cacheHits, 0);
  assert.deepEqual(
    first.results.map((r) => r.rel),
    EXPECTED_RELS,
  );
  assert.ok(first.results.every((r) => r.cached === false));

  const second = run();
  assert.deepEqual(second.analyzed, [], 'no file analyzed again');
  assert.equal(second.summary.cacheHits, 4);
  assert.equal(second.summary.errors, 0);
  assert.deepEqual(
    second.results.map((r) => r.rel),
    EXPECTED_RELS,
  );
  for (const [i, r] of second.results.entries()) {
    assert.equal(r.cached, true);
    assert.deepEqual(r.result, first.results[i].result, 'each file keeps its own result');
    assert.deepEqual(r.path, bytes(rootBytes, '/', r.rel));
    assert.ok(fs.existsSync(r.path));
  }
  // The two names that both decode to bad\uFFFD.js kept their own results.
  const ff = second.results.find((r) => r.rel.equals(REL_FF));
  const fe = second.results.find((r) => r.rel.equals(REL_FE));
  assert.deepEqual(ff.result, bytes(REL_FF, ':12'));
  assert.deepEqual(fe.result, bytes(REL_FE, ':13'));
});

test('a cache entry bound to a Buffer filePath (and deps) invalidates when the file changes', { skip }, (t) => {
  const [, rootBytes] = makeTree(t);
  const ff = bytes(rootBytes, '/', REL_FF);
  const fe = bytes(rootBytes, '/', REL_FE);
  const cache = new Cache({ dir: path.join(tmpdir(t), 'cache'), root: rootBytes });
  t.after(() => cache.close());

  cache.set('by-ff', 'FF', { filePath: ff });
  cache.set('by-fe', 'FE', { filePath: new Uint8Array(fe) });
  cache.setMany([['dep-on-fe', 'D', { filePath: path.join(rootBytes.toString(), 'ok.js'), deps: [fe] }]]);
  assert.equal(cache.get('by-ff').toString(), 'FF');
  assert.equal(cache.get('by-fe').toString(), 'FE');
  assert.equal(cache.get('dep-on-fe').toString(), 'D');
  assert.deepEqual(cache.checkFileChanges([ff, fe]), []);

  // Changing bad\xfe.js invalidates what is bound to it, not what is bound to bad\xff.js.
  fs.writeFileSync(fe, 'let fe = 333;\n');
  const changed = cache.checkFileChanges([ff, fe, 'never-recorded-and-absent']);
  assert.equal(changed.length, 1);
  assert.equal(changed[0], fe, 'reported as the very Buffer passed');
  assert.equal(cache.get('by-fe'), null);
  assert.equal(cache.get('dep-on-fe'), null);
  assert.equal(cache.get('by-ff').toString(), 'FF');

  // Same type as passed: a string in, a string out; or all in one encoding.
  fs.writeFileSync(ff, 'let ff = 4444;\n');
  const asString = path.join(rootBytes.toString(), 'ok.js');
  cache.set('by-ok', 'OK', { filePath: asString });
  fs.writeFileSync(asString, 'ok, changed\n');
  const mixed = cache.checkFileChanges([asString, ff]);
  assert.deepEqual(mixed, [asString, ff]);
  assert.equal(typeof mixed[0], 'string');
  fs.writeFileSync(ff, 'let ff = 55555;\n');
  assert.deepEqual(cache.checkFileChanges([new Uint8Array(ff)], { encoding: 'buffer' }), [ff]);
  fs.writeFileSync(asString, 'ok, changed again\n');
  assert.deepEqual(cache.checkFileChanges([Buffer.from(asString)], { encoding: 'utf8' }), [asString]);

  // invalidateFile takes the bytes too.
  cache.set('again-ff', 'FF2', { filePath: ff });
  assert.ok(cache.invalidateFile(ff) >= 1);
  assert.equal(cache.get('again-ff'), null);
});

test('a path with an embedded NUL is refused with WTFPERF_ERR_INVALID, not truncated', { skip }, (t) => {
  const [root, rootBytes] = makeTree(t);
  const withNul = bytes(rootBytes, [0], 'x');
  throwsStatus(assert, () => scan(withNul), 'WTFPERF_ERR_INVALID', /NUL/);
  throwsStatus(assert, () => scan(`${root}\0x`), 'WTFPERF_ERR_INVALID', /NUL/);
  throwsStatus(assert, () => analyze(new Uint8Array(withNul), {}, null, 'id', () => null), 'WTFPERF_ERR_INVALID', /NUL/);
  throwsStatus(assert, () => new Cache({ dir: withNul }), 'WTFPERF_ERR_INVALID', /dir/);
  throwsStatus(assert, () => new Cache({ root: withNul }), 'WTFPERF_ERR_INVALID', /root/);
  const cache = new Cache();
  t.after(() => cache.close());
  throwsStatus(assert, () => cache.set('k', 'v', { filePath: withNul }), 'WTFPERF_ERR_INVALID', /filePath/);
  throwsStatus(assert, () => cache.set('k', 'v', { deps: [rootBytes, withNul] }), 'WTFPERF_ERR_INVALID', /deps/);
  throwsStatus(assert, () => cache.setMany([['k', 'v', { filePath: withNul }]]), 'WTFPERF_ERR_INVALID');
  throwsStatus(assert, () => cache.invalidateFile(withNul), 'WTFPERF_ERR_INVALID');
  throwsStatus(assert, () => cache.checkFileChanges([rootBytes, withNul]), 'WTFPERF_ERR_INVALID');
  throwsStatus(assert, () => benchGenerate(bytes(tmpdir(t), '/gen', [0]), 3), 'WTFPERF_ERR_INVALID');
  assert.equal(cache.get('k'), null);
  // An unknown encoding is refused too.
  throwsStatus(assert, () => scan(root, { encoding: 'latin1' }), 'WTFPERF_ERR_INVALID', /encoding/);
  throwsStatus(assert, () => cache.checkFileChanges([root], { encoding: 'hex' }), 'WTFPERF_ERR_INVALID');
});

test('benchGenerate takes a Buffer root', { skip }, (t) => {
  const target = bytes(tmpdir(t), '/gen', [0xff]);
  const n = benchGenerate(target, 5, { seed: 7 });
  let seen = 0;
  scan(target, { encoding: 'buffer' }, {
    onFile: (f) => {
      assert.ok(f.path.subarray(0, target.length).equals(target));
      seen += 1;
    },
  });
  assert.equal(seen, n);
});

test('the bytes variant of wtfperf_file has the same layout', () => {
  // Not exported in `types` (the ABI test compares those with the header), so checked here.
  const { wtfperf_file } = scanModule.types;
  const bytesType = 'wtfperf_file_bytes';
  assert.equal(koffi.sizeof(bytesType), koffi.sizeof(wtfperf_file));
  assert.equal(koffi.alignof(bytesType), koffi.alignof(wtfperf_file));
  for (const field of Object.keys(wtfperf_file.members)) {
    assert.equal(koffi.offsetof(bytesType, field), koffi.offsetof(wtfperf_file, field), field);
  }
});
