'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { benchGenerate, benchRun, scan } = require('..');
const { tmpdir, throwsStatus } = require('./helpers');

test('benchGenerate writes a project a scan meets exactly', (t) => {
  const root = path.join(tmpdir(t), 'project');
  const n = benchGenerate(root, 40, { seed: 7 });
  assert.equal(n, 40);
  let delivered = 0;
  const summary = scan(root, {}, { onFile: () => void (delivered += 1) });
  assert.equal(summary.filesSeen, n);
  assert.equal(delivered + summary.filesSkipped + summary.errors, n);
  throwsStatus(assert, () => benchGenerate(root, 10), 'WTFPERF_ERR_INVALID'); // not empty any more
  throwsStatus(assert, () => benchGenerate(path.join(tmpdir(t), 'x'), 0), 'WTFPERF_ERR_INVALID');
});

test('benchRun returns the parsed JSON report', (t) => {
  const report = benchRun({
    generateFiles: 30,
    runs: 1,
    warmup: 0,
    parallel: 2,
    sampleIntervalS: 0.05,
    workDir: tmpdir(t),
  });
  assert.equal(report.schema, 'wtfperf-bench');
  assert.equal(report.schema_version, 1);
  assert.equal(report.config.runs, 1);
  assert.equal(report.projects[0].name, 'generated-30');
  throwsStatus(assert, () => benchRun({ runs: 0 }), 'WTFPERF_ERR_INVALID', /runs/);
  throwsStatus(assert, () => benchRun({ project: path.join(tmpdir(t), 'missing') }), 'WTFPERF_ERR_IO');
});

test('negative or fractional counts are refused before any native call', (t) => {
  // koffi turns -1 into SIZE_MAX: benchGenerate(root, -1) wrote until the
  // disk was full. The root must stay untouched.
  const root = path.join(tmpdir(t), 'never');
  for (const files of [-1, 1.5, NaN, -1n, 2 ** 64]) {
    assert.throws(() => benchGenerate(root, files), RangeError, String(files));
  }
  assert.throws(() => benchGenerate(root, 10, { seed: -1 }), RangeError);
  assert.throws(() => benchGenerate(root, 10, { maxFileSize: -5 }), RangeError);
  assert.throws(() => benchGenerate(root, '10'), TypeError);
  assert.equal(require('node:fs').existsSync(root), false);
  assert.throws(() => benchRun({ generateFiles: -1 }), RangeError);
  assert.throws(() => benchRun({ runs: 2.5 }), RangeError);
  assert.throws(() => scan(root, { maxFileSize: -1 }), RangeError);
  assert.throws(() => scan(root, { threads: 1.7 }), RangeError);
  const { Cache, Profiler } = require('..');
  assert.throws(() => new Cache({ memoryMaxEntries: -1 }), RangeError);
  assert.throws(() => new Profiler({ maxSamples: -2 }), RangeError);
  // Valid BigInts still go through.
  assert.equal(benchGenerate(root, 3n, { seed: 7n }), 3);
});
