'use strict';
// The README's example, run as written (twice: the second run is all cached).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tmpdir, writeTree } = require('./helpers');

const PKG = path.resolve(__dirname, '..');

function readmeExample() {
  const text = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8');
  const section = text.split('## Example')[1];
  return /```js\n([\s\S]*?)```/.exec(section)[1];
}

test('the README example runs as written', (t) => {
  const work = tmpdir(t);
  // `require('wtfperf')` resolves to this package through NODE_PATH.
  const modules = path.join(work, 'modules');
  fs.mkdirSync(modules);
  fs.symlinkSync(PKG, path.join(modules, 'wtfperf'), 'dir');
  const project = path.join(work, 'project');
  writeTree(project, {
    'a.js': '// TODO one\n// TODO two\n',
    'lib/b.js': 'module.exports = 1; // TODO\n',
    'c.py': '# TODO not counted: not *.js\n',
    'node_modules/x/index.js': '// TODO excluded\n',
  });
  fs.writeFileSync(path.join(work, 'example.js'), readmeExample());
  const runIt = () =>
    execFileSync(process.execPath, [path.join(work, 'example.js')], {
      cwd: project,
      env: { ...process.env, NODE_PATH: modules },
      encoding: 'utf8',
    });
  const first = runIt();
  assert.match(first, /^2 files, 0 from cache, 3 TODOs$/m);
  assert.match(first, /^peak \d+\.\d MB in \d+\.\d\d s$/m);
  const second = runIt();
  assert.match(second, /^2 files, 2 from cache, 3 TODOs$/m);
});

test('the benchmark example runs (tiny project, one repetition)', () => {
  const out = execFileSync(process.execPath, [path.join(PKG, 'examples', 'bench_scan.js'), '40', '1'], {
    encoding: 'utf8',
  });
  assert.match(out, /^project: 40 files/m);
  const counts = [...out.matchAll(/x vs peer\s+\((\d+) files\)/g)].map((m) => Number(m[1]));
  assert.equal(counts.length, 4);
  assert.ok(counts.every((n) => n === counts[0]), `every variant walks the same files: ${out}`);
});
