'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { scan, WtfperfError } = require('..');
const { tmpdir, writeTree, throwsStatus } = require('./helpers');

// 6 regular files the walk meets with the default filters: 4 small ones, one
// over max_file_size (skipped), plus the two identical files; hidden and
// git-ignored files are not met.
const SMALL = {
  'a.js': 'console.log("a");\n',
  'b.py': 'print("b")\n',
  'sub/c.rs': 'fn main() {}\n',
  'sub/deeper/d.txt': 'plain text\n',
  'twin1.txt': 'same bytes\n',
  'twin2.txt': 'same bytes\n',
};
const BIG = { 'big.bin': Buffer.alloc(4096, 7) };
const HIDDEN = { '.hidden/e.js': 'hidden\n', '.dotfile': 'x\n' };
const IGNORED = { '.gitignore': 'ignored.js\nbuild/\n', 'ignored.js': 'ignored\n', 'build/out.js': 'built\n' };

function makeTree(t) {
  const root = tmpdir(t);
  writeTree(root, { ...SMALL, ...BIG, ...HIDDEN, ...IGNORED });
  return root;
}

test('scan a small tree with exact counts and file data', (t) => {
  const root = makeTree(t);
  const files = [];
  const errors = [];
  const progress = [];
  const summary = scan(
    root,
    { maxFileSize: 1024, sorted: true },
    {
      onFile: (f) => {
        files.push(f);
      },
      onError: (e, p) => errors.push({ e, p }),
      onProgress: (p) => progress.push(p),
    },
  );
  const rels = Object.keys(SMALL).sort();
  assert.deepEqual(
    files.map((f) => f.relPath),
    rels,
  );
  assert.equal(summary.filesSeen, 7);
  assert.equal(summary.filesScanned, 6);
  assert.equal(summary.filesSkipped, 1);
  assert.equal(summary.errors, 0);
  assert.equal(summary.bytesRead, Object.values(SMALL).reduce((n, s) => n + Buffer.byteLength(s), 0));
  assert.equal(summary.aborted, false);
  assert.ok(summary.durationS >= 0);

  for (const f of files) {
    assert.equal(f.path, path.join(root, f.relPath));
    assert.ok(Buffer.isBuffer(f.content));
    assert.equal(f.content.toString(), SMALL[f.relPath]);
    assert.equal(f.size, f.content.length);
    assert.equal(typeof f.mtimeNs, 'bigint');
    assert.ok(f.mtimeNs > 0n);
    assert.equal(f.contentHash.length, 16);
  }
  const byRel = Object.fromEntries(files.map((f) => [f.relPath, f]));
  assert.equal(byRel['a.js'].language, 'javascript');
  assert.equal(byRel['b.py'].language, 'python');
  assert.equal(byRel['sub/c.rs'].language, 'rust');
  assert.deepEqual(byRel['twin1.txt'].contentHash, byRel['twin2.txt'].contentHash);
  assert.notDeepEqual(byRel['a.js'].contentHash, byRel['b.py'].contentHash);
  // The skipped file is reported (it is not an error of the scan).
  assert.equal(errors.length, 1);
  assert.ok(errors[0].e instanceof WtfperfError);
  assert.equal(errors[0].e.status, 'WTFPERF_ERR_INVALID');
  assert.match(errors[0].e.message, /^skipped:/);
  assert.equal(errors[0].p, path.join(root, 'big.bin'));
  assert.ok(files.every((f) => f.inode > 0));
  if (progress.length > 0) assert.ok(progress.at(-1).filesDone <= 7);
});

test('scan options: hidden files, ignore files, globs, no content', (t) => {
  const root = makeTree(t);
  const rels = (opts) => {
    const out = [];
    scan(root, { sorted: true, ...opts }, { onFile: (f) => void out.push(f.relPath) });
    return out;
  };
  assert.deepEqual(rels({ include: ['*.js'] }), ['a.js']);
  assert.deepEqual(rels({ include: ['*.js'], includeHidden: true }), ['.hidden/e.js', 'a.js']);
  assert.deepEqual(rels({ include: ['*.js'], respectIgnoreFiles: false }), ['a.js', 'build/out.js', 'ignored.js']);
  assert.deepEqual(rels({ exclude: ['sub', '*.txt', '*.bin'] }), ['a.js', 'b.py']);

  const seen = [];
  const summary = scan(root, { includeContent: false }, { onFile: (f) => void seen.push(f) });
  assert.equal(seen.length, 7);
  assert.equal(summary.bytesRead, 0);
  for (const f of seen) {
    assert.equal(f.content, null);
    assert.deepEqual(f.contentHash, Buffer.alloc(16));
    assert.ok(f.size > 0);
  }
  // No callbacks at all is fine too.
  assert.equal(scan(root).filesScanned, 6 + 1);
  assert.equal(scan(root, null, null).filesSeen, 7);
});

test('onFile returning false stops the scan', (t) => {
  const root = makeTree(t);
  let calls = 0;
  const summary = scan(root, { threads: 2 }, { onFile: () => (++calls === 2 ? false : undefined) });
  assert.equal(calls, 2);
  assert.equal(summary.aborted, true);
});

test('an exception thrown in onFile stops the scan and is re-thrown', (t) => {
  const root = makeTree(t);
  const boom = new Error('boom from onFile');
  let calls = 0;
  assert.throws(
    () =>
      scan(root, { threads: 2 }, {
        onFile: () => {
          calls += 1;
          throw boom;
        },
      }),
    (e) => e === boom,
  );
  assert.equal(calls, 1, 'no callback after the one that threw');

  class Custom extends Error {}
  assert.throws(
    () =>
      scan(root, {}, {
        onProgress: () => {
          throw new Custom('from onProgress');
        },
        onFile: () => {},
      }),
    Custom,
  );
});

test('scan errors are WtfperfErrors', (t) => {
  const root = tmpdir(t);
  const e = throwsStatus(assert, () => scan(path.join(root, 'does-not-exist')), 'WTFPERF_ERR_IO');
  assert.match(e.message, /does-not-exist/);
  throwsStatus(assert, () => scan(root, { chunkSize: 0 }), 'WTFPERF_ERR_INVALID');
  throwsStatus(assert, () => scan(root, { include: ['a/[b'] }), 'WTFPERF_ERR_INVALID');
});

test('a dangling link is reported to onError and counted, not thrown', (t) => {
  const root = tmpdir(t);
  writeTree(root, { 'ok.txt': 'ok\n' });
  fs.symlinkSync('nowhere', path.join(root, 'dangling'));
  const errors = [];
  const summary = scan(root, { followLinks: true }, { onError: (e, p) => errors.push({ e, p }) });
  assert.equal(summary.errors, 1);
  assert.equal(summary.filesScanned, 1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].e.status, 'WTFPERF_ERR_IO');
  assert.match(errors[0].p, /dangling$/);
  // Not followed, the link is not a regular file: nothing to report.
  assert.equal(scan(root, {}, { onError: () => assert.fail('no error expected') }).errors, 0);
});

test('an exception thrown in onError stops the scan at the next file', (t) => {
  const root = tmpdir(t);
  writeTree(root, { 'a.txt': 'x', 'b.txt': 'x', 'c.txt': 'x', 'big.bin': Buffer.alloc(100) });
  const oops = new Error('from onError');
  const files = [];
  assert.throws(
    () =>
      scan(root, { sorted: true, maxFileSize: 10 }, {
        onFile: (f) => void files.push(f.relPath),
        onError: () => {
          throw oops;
        },
      }),
    (e) => e === oops,
  );
  // Path order: a.txt, b.txt, big.bin (reported), c.txt (never delivered).
  assert.deepEqual(files, ['a.txt', 'b.txt']);
});

test('an unreadable file is reported to onError and counted, not thrown', { skip: process.getuid?.() === 0 && 'root reads everything' }, (t) => {
  const root = tmpdir(t);
  writeTree(root, { 'ok.txt': 'ok\n', 'secret.txt': 'no\n' });
  fs.chmodSync(path.join(root, 'secret.txt'), 0o000);
  const errors = [];
  const summary = scan(root, {}, { onError: (e, p) => errors.push({ e, p }) });
  assert.equal(summary.errors, 1);
  assert.equal(summary.filesScanned, 1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].e.status, 'WTFPERF_ERR_IO');
  assert.match(errors[0].p, /secret\.txt$/);
});

test('a non-UTF-8 file name is delivered (decoded lossily)', (t) => {
  const root = tmpdir(t);
  const raw = Buffer.concat([Buffer.from(root + '/bad'), Buffer.from([0xff]), Buffer.from('.js')]);
  fs.writeFileSync(raw, 'x');
  const rels = [];
  const summary = scan(root, {}, { onFile: (f) => void rels.push(f.relPath) });
  assert.equal(summary.filesScanned, 1);
  assert.deepEqual(rels, ['bad\ufffd.js']);
});

test('scan works inside a worker_threads Worker (callbacks on the worker thread)', async (t) => {
  const { Worker } = require('node:worker_threads');
  const root = makeTree(t);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { scan } = require(workerData.pkg);
    const rels = [];
    const s = scan(workerData.root, { sorted: true }, { onFile: (f) => void rels.push(f.relPath) });
    parentPort.postMessage({ rels, seen: s.filesSeen });`;
  const worker = new Worker(code, { eval: true, workerData: { pkg: path.resolve(__dirname, '..'), root } });
  const msg = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(msg.seen, 7);
  assert.deepEqual(msg.rels, [...Object.keys(SMALL), ...Object.keys(BIG)].sort());
});
