'use strict';
// The binding's koffi declarations against include/wtfperf.h: every struct has
// exactly the header's fields in the header's order, with the same offsets and
// sizes (checked by compiling a C program when a C compiler is available), and
// every exported function of the header is declared and found in the library.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const wtfperf = require('..');
const native = require('../lib/native');
const { koffi } = native;

const HEADER = path.resolve(__dirname, '..', '..', '..', 'include', 'wtfperf.h');
const haveHeader = fs.existsSync(HEADER);

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

/** { structName: [fieldName, ...] } from the header's struct definitions. */
function headerStructs(text) {
  const structs = {};
  for (const m of stripComments(text).matchAll(/typedef struct (\w+) \{([\s\S]*?)\} \1;/g)) {
    structs[m[1]] = m[2]
      .split(';')
      .map((decl) => decl.trim())
      .filter(Boolean)
      .map((decl) => /(\w+)\s*(\[[^\]]*\])?$/.exec(decl)[1]);
  }
  return structs;
}

/** Names of the functions the header declares. */
function headerFunctions(text) {
  const names = new Set();
  for (const m of stripComments(text).matchAll(/^[\w\s*]*?\b(wtfperf_\w+)\s*\(/gm)) names.add(m[1]);
  return names;
}

/** Every koffi struct type the binding declares, by name. */
function bindingStructs() {
  const all = { ...native.types };
  for (const mod of ['../lib/profiler', '../lib/cache', '../lib/scan', '../lib/bench']) {
    let types = {};
    try {
      types = require(mod).types ?? {};
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
    Object.assign(all, types);
  }
  for (const [name, t] of Object.entries(all)) if (!t.members) delete all[name];
  return all;
}

test('every header struct is declared with the same fields in the same order', { skip: !haveHeader }, () => {
  require('..');
  const header = headerStructs(fs.readFileSync(HEADER, 'utf8'));
  const mine = bindingStructs();
  assert.deepEqual(Object.keys(mine).sort(), Object.keys(header).sort(), 'struct sets differ');
  for (const [name, t] of Object.entries(mine)) {
    assert.deepEqual(Object.keys(t.members), header[name], `fields of ${name}`);
  }
});

test('every header function is declared and exported by the library', { skip: !haveHeader }, () => {
  require('..');
  const fns = headerFunctions(fs.readFileSync(HEADER, 'utf8'));
  const missing = [...fns].filter((f) => native.declared.get(f) !== true);
  assert.deepEqual(missing, [], 'functions of the header the binding does not wrap (or the library lacks)');
});

function haveCompiler() {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('struct offsets and sizes match the C compiler', { skip: !haveHeader || !haveCompiler() }, () => {
  const structs = bindingStructs();
  const lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "wtfperf.h"', 'int main(void) {'];
  const expected = [];
  for (const [name, t] of Object.entries(structs)) {
    lines.push(`  printf("${name} %zu %zu\\n", sizeof(${name}), _Alignof(${name}));`);
    expected.push(`${name} ${koffi.sizeof(t)} ${koffi.alignof(t)}`);
    for (const [field, m] of Object.entries(t.members)) {
      lines.push(
        `  printf("${name}.${field} %zu %zu\\n", offsetof(${name}, ${field}), sizeof(((${name} *)0)->${field}));`,
      );
      expected.push(`${name}.${field} ${m.offset} ${m.type.size}`);
    }
  }
  lines.push('  return 0;', '}');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtfperf-node-abi-'));
  try {
    fs.writeFileSync(path.join(dir, 'layout.c'), lines.join('\n'));
    const exe = path.join(dir, 'layout');
    execFileSync('cc', ['-std=c11', '-I', path.dirname(HEADER), '-o', exe, path.join(dir, 'layout.c')]);
    const actual = execFileSync(exe, { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(expected, actual);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('status constants match the header', { skip: !haveHeader }, () => {
  const text = fs.readFileSync(HEADER, 'utf8');
  const defs = Object.fromEntries(
    [...text.matchAll(/#define (WTFPERF_(?:OK|MISS|ABORTED|ERR_\w+)) (-?\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
  assert.deepEqual({ ...wtfperf.Status }, defs);
});

test('index.d.ts declares exactly what index.js exports', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  const declared = new Set([...dts.matchAll(/^export declare (?:function|class|const) (\w+)/gm)].map((m) => m[1]));
  assert.deepEqual([...declared].sort(), Object.keys(wtfperf).sort());
});
