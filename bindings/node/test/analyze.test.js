'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { analyze, Cache } = require('..');
const { tmpdir, writeTree, throwsStatus } = require('./helpers');

const TREE = {
  'a.js': 'let a = 1;\n// TODO: a\n',
  'b.py': 'b = 2\n',
  'lib/c.rs': 'fn c() {} // TODO\n',
  'lib/d.go': 'package d\n',
};

/** A toy analyzer: counts TODOs; JSON result. */
function todoAnalyzer(calls) {
  return (file) => {
    calls.push(file.relPath);
    const todos = (file.content.toString().match(/TODO/g) ?? []).length;
    return JSON.stringify({ file: file.relPath, language: file.language, todos });
  };
}

function run(root, cache, analyzerId, calls) {
  const results = new Map();
  const summary = analyze(root, { sorted: true }, cache, analyzerId, todoAnalyzer(calls), (file, result, cached) => {
    results.set(file.relPath, { result: JSON.parse(result), cached, content: file.content });
  });
  return { summary, results };
}

test('analyze twice: the second run is all cached', (t) => {
  const root = tmpdir(t);
  writeTree(root, TREE);
  const cache = new Cache({ dir: path.join(tmpdir(t), 'cache') });
  t.after(() => cache.close());

  const calls1 = [];
  const first = run(root, cache, 'todo@1', calls1);
  assert.deepEqual(calls1.sort(), Object.keys(TREE).sort());
  assert.equal(first.summary.filesSeen, 4);
  assert.equal(first.summary.cacheHits, 0);
  assert.equal(first.summary.errors, 0);
  assert.equal(first.results.size, 4);
  assert.deepEqual(first.results.get('a.js').result, { file: 'a.js', language: 'javascript', todos: 1 });
  assert.ok([...first.results.values()].every((r) => r.cached === false && Buffer.isBuffer(r.content)));

  const calls2 = [];
  const second = run(root, cache, 'todo@1', calls2);
  assert.deepEqual(calls2, [], 'no file analyzed again');
  assert.equal(second.summary.cacheHits, 4);
  assert.ok([...second.results.values()].every((r) => r.cached === true && r.content === null));
  for (const [rel, r] of second.results) assert.deepEqual(r.result, first.results.get(rel).result);

  // A changed file is analyzed again; so is everything for a new analyzer id.
  fs.writeFileSync(path.join(root, 'b.py'), 'b = 3  # TODO\n');
  const calls3 = [];
  const third = run(root, cache, 'todo@1', calls3);
  assert.deepEqual(calls3, ['b.py']);
  assert.equal(third.summary.cacheHits, 3);
  assert.equal(third.results.get('b.py').result.todos, 1);
  const calls4 = [];
  run(root, cache, 'todo@2', calls4);
  assert.equal(calls4.length, 4);
});

test('analyze without a cache analyzes everything; results may be bytes', (t) => {
  const root = tmpdir(t);
  writeTree(root, TREE);
  let n = 0;
  const got = [];
  const summary = analyze(root, null, null, 'bytes', (f) => {
    n += 1;
    return f.relPath.endsWith('.go') ? null : new Uint8Array([1, 2, f.size]);
  }, {
    onResult: (f, result) => got.push([f.relPath, result]),
  });
  assert.equal(n, 4);
  assert.equal(summary.filesScanned, 4);
  const byRel = Object.fromEntries(got);
  assert.deepEqual(byRel['lib/d.go'], Buffer.alloc(0));
  assert.deepEqual(byRel['b.py'], Buffer.from([1, 2, 6]));
});

test('an exception thrown by the analyzer stops the run and is re-thrown', (t) => {
  const root = tmpdir(t);
  writeTree(root, TREE);
  const cache = new Cache();
  t.after(() => cache.close());
  const boom = new TypeError('analyzer failed');
  let calls = 0;
  let results = 0;
  assert.throws(
    () =>
      analyze(root, { sorted: true }, cache, 'throws', () => {
        calls += 1;
        throw boom;
      }, () => {
        results += 1;
      }),
    (e) => e === boom,
  );
  assert.equal(calls, 1);
  // Nothing was cached for the failing analyzer: a fresh run analyzes all files.
  let again = 0;
  analyze(root, {}, cache, 'throws', () => {
    again += 1;
    return 'ok';
  });
  assert.equal(again, 4);

  const fromResult = new Error('from onResult');
  assert.throws(
    () => analyze(root, {}, null, 'x', () => 'r', () => {
      throw fromResult;
    }),
    (e) => e === fromResult,
  );
});

test('analyze errors are WtfperfErrors', (t) => {
  const root = tmpdir(t);
  throwsStatus(assert, () => analyze(path.join(root, 'missing'), {}, null, 'id', () => null), 'WTFPERF_ERR_IO');
  throwsStatus(assert, () => analyze(root, { chunkSize: 0 }, null, 'id', () => null), 'WTFPERF_ERR_INVALID');
  const cache = new Cache();
  cache.close();
  throwsStatus(assert, () => analyze(root, {}, cache, 'id', () => null), 'WTFPERF_ERR_STATE', /closed/);
  assert.throws(() => analyze(root, {}, {}, 'id', () => null), TypeError);
});

test('closing the cache from a callback is safe: freed after the run', (t) => {
  const root = tmpdir(t);
  writeTree(root, TREE);
  const cache = new Cache({ dir: path.join(tmpdir(t), 'cache') });
  let results = 0;
  const summary = analyze(root, {}, cache, 'closer', () => 'r', () => {
    results += 1;
    cache.close();
    throwsStatus(assert, () => cache.get('k'), 'WTFPERF_ERR_STATE', /closed/);
  });
  assert.equal(results, 4);
  assert.equal(summary.filesSeen, 4);
  assert.equal(cache.closed, true);
  cache.close();
});

test('callbacks may call back into the library (same cache, nested scan)', (t) => {
  const root = tmpdir(t);
  writeTree(root, TREE);
  const cache = new Cache();
  t.after(() => cache.close());
  let nested = 0;
  analyze(root, {}, cache, 'reentrant', (f) => {
    cache.set(`seen:${f.relPath}`, 'yes');
    nested += analyze(root, {}, null, 'inner', () => 'i').filesSeen;
    return cache.get(`seen:${f.relPath}`);
  }, (f, result) => assert.equal(result.toString(), 'yes'));
  assert.equal(nested, 16);
});

test('analyze with onError and onProgress: skipped files and failed analyses', (t) => {
  const root = tmpdir(t);
  writeTree(root, { ...TREE, 'huge.txt': Buffer.alloc(2048, 120) });
  const cache = new Cache();
  t.after(() => cache.close());
  const errors = [];
  const progress = [];
  const results = [];
  const callbacks = {
    onResult: (f) => results.push(f.relPath),
    onError: (e, p) => errors.push([e.status, path.relative(root, p)]),
    onProgress: (p) => progress.push(p),
  };
  const failing = (f) => (f.relPath === 'b.py' ? false : 'ok');
  const summary = analyze(root, { maxFileSize: 1024, sorted: true }, cache, 'partial', failing, callbacks);
  assert.equal(summary.filesSeen, 5);
  assert.equal(summary.filesSkipped, 1);
  assert.equal(summary.errors, 1);
  assert.deepEqual(errors.sort(), [
    ['WTFPERF_ERR_CALLBACK', 'b.py'],
    ['WTFPERF_ERR_INVALID', 'huge.txt'],
  ]);
  assert.deepEqual(results.sort(), ['a.js', 'lib/c.rs', 'lib/d.go']);
  for (const p of progress) assert.ok(p.filesDone <= 5 && p.bytesDone >= 0);
  // The failed file was not cached: it is analyzed again, the others are not.
  const again = [];
  analyze(root, { maxFileSize: 1024 }, cache, 'partial', (f) => {
    again.push(f.relPath);
    return 'ok';
  }, {});
  assert.deepEqual(again, ['b.py']);
});
