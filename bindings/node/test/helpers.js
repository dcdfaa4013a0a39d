'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** A fresh temporary directory, removed when the test ends. */
function tmpdir(t, prefix = 'wtfperf-node-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files { relPath: content } under root, creating directories. */
function writeTree(root, files) {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** Asserts fn throws a WtfperfError with the given status; returns it. */
function throwsStatus(assert, fn, status, message) {
  let caught;
  assert.throws(fn, (e) => {
    caught = e;
    return true;
  });
  assert.equal(caught?.name, 'WtfperfError', `expected a WtfperfError, got ${caught}`);
  assert.equal(caught.status, status, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

module.exports = { tmpdir, writeTree, throwsStatus };
