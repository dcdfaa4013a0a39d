'use strict';
// Loads libwtfperf, checks its version and declares the C types and functions.
// Everything that talks to koffi directly lives here and in the part modules.

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');
const { Status, WtfperfError } = require('./errors');

/** MAJOR.MINOR of the C API this binding is written against. */
const EXPECTED_API = '0.1';

function libraryFileName() {
  if (process.platform === 'darwin') return 'libwtfperf.dylib';
  if (process.platform === 'win32') return 'wtfperf.dll';
  return 'libwtfperf.so';
}

/**
 * Where the library is looked for, in order: `WTFPERF_LIB` (a path to the
 * shared library) if set; else the build tree this package sits in
 * (`<repo>/target/release`, then `<repo>/target/debug`); else the system
 * library path (plain file name, resolved by the dynamic loader).
 */
function candidatePaths(env = process.env) {
  if (env.WTFPERF_LIB) return [{ path: env.WTFPERF_LIB, explicit: true }];
  const repo = path.resolve(__dirname, '..', '..', '..');
  const file = libraryFileName();
  const tree = ['release', 'debug']
    .map((profile) => path.join(repo, 'target', profile, file))
    .filter((p) => fs.existsSync(p))
    .map((p) => ({ path: p, explicit: false }));
  return [...tree, { path: file, explicit: false }];
}

/** Throws unless `version` ("0.1.3") has the MAJOR.MINOR this binding expects. */
function checkVersion(version, libPath = 'libwtfperf') {
  const m = /^(\d+)\.(\d+)\./.exec(String(version));
  if (!m || `${m[1]}.${m[2]}` !== EXPECTED_API) {
    throw new Error(
      `wtfperf: ${libPath} has version ${JSON.stringify(version)}, but this binding needs ` +
        `${EXPECTED_API}.x; rebuild the library (cargo build) or point WTFPERF_LIB at a matching one`,
    );
  }
}

function openLibrary() {
  const tried = [];
  for (const c of candidatePaths()) {
    try {
      return { lib: koffi.load(c.path), path: c.path };
    } catch (e) {
      tried.push(`${c.path}: ${e.message}`);
      if (c.explicit) break;
    }
  }
  throw new Error(`wtfperf: cannot load libwtfperf (set WTFPERF_LIB to its path)\n  ${tried.join('\n  ')}`);
}

const { lib, path: libraryPath } = openLibrary();

// ---- core types --------------------------------------------------------------------------

const wtfperf_status = koffi.alias('wtfperf_status', 'int32_t');
const wtfperf_buf = koffi.struct('wtfperf_buf', { data: 'uint8_t *', len: 'size_t' });

/** Function name -> whether the library exports it (for the ABI test). */
const declared = new Map();

/**
 * Declares a C function from a prototype string. A symbol the library does
 * not export (an older build) gives a function that throws a clear
 * WtfperfError when called, so the rest of the binding still loads; any
 * other declaration error is a bug here and throws at load.
 */
function declare(proto) {
  const name = /(\w+)\s*\(/.exec(proto)?.[1] ?? proto;
  try {
    const fn = lib.func(proto);
    declared.set(name, true);
    return fn;
  } catch (e) {
    if (!/Cannot find function/.test(e.message)) throw e;
    declared.set(name, false);
    const missing = () => {
      throw new WtfperfError(
        Status.WTFPERF_ERR_STATE,
        `${libraryPath} does not export ${name}: the library is older than this binding; rebuild it`,
        name,
      );
    };
    missing.missing = true;
    return missing;
  }
}

const core = {
  version: declare('const char *wtfperf_version(void)'),
  status_str: declare('const char *wtfperf_status_str(wtfperf_status status)'),
  last_error: declare('const char *wtfperf_last_error(void)'),
  buf_free: declare('void wtfperf_buf_free(wtfperf_buf *buf)'),
  debug_force_panic: declare('wtfperf_status wtfperf_debug_force_panic(const char *message)'),
};

const libraryVersion = core.version();
checkVersion(libraryVersion, libraryPath);

// ---- calling helpers ---------------------------------------------------------------------

/** The message of the last failing call on this thread. */
function lastError() {
  return core.last_error() ?? '';
}

/**
 * Checks a status just returned by `fn`: negative codes throw a WtfperfError
 * carrying the message read right now (same thread, no call in between).
 * Non-error outcomes (OK, MISS, ABORTED) are returned.
 */
function check(status, fn) {
  if (status < 0) throw new WtfperfError(status, lastError(), fn);
  return status;
}

/** Copies `len` bytes at native address `ptr` into a fresh Buffer. */
function copyBytes(ptr, len) {
  len = Number(len);
  if (!ptr || len === 0) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, len)));
}

/**
 * Runs `call(out)` with a zeroed wtfperf_buf out-param; on success copies the
 * bytes into a Buffer and frees the library's buffer. Returns
 * `{ status, bytes }` (bytes is null unless status is OK).
 */
function withBuf(call, fn) {
  const out = {};
  const status = check(call(out), fn);
  if (status !== Status.WTFPERF_OK) return { status, bytes: null };
  try {
    return { status, bytes: copyBytes(out.data, out.len) };
  } finally {
    core.buf_free(out);
  }
}

/**
 * A value for a size_t/uint64_t argument or field: a non-negative safe
 * integer Number or a BigInt up to 2^64 - 1. Anything else throws: koffi
 * would turn -1 into SIZE_MAX and 1.7 into 1 without a word (a negative file
 * count for wtfperf_bench_generate wrote until the disk was full).
 */
function uint(v, what) {
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${what} must be between 0 and 2^64 - 1, got ${v}`);
    return v;
  }
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  return v;
}

/** Converts a size_t/uint64 value (Number or BigInt) to a Number. */
function num(v) {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Bytes argument: Buffer/Uint8Array as is, strings as UTF-8. */
function toBytes(value, what = 'value') {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`${what} must be a Buffer, Uint8Array or string`);
}

// ---- paths -------------------------------------------------------------------------------
//
// The C API takes and gives paths as NUL-terminated byte strings (Linux file
// names are bytes, not necessarily UTF-8). Like Node's fs: a path argument is a
// string (encoded as UTF-8) or a Buffer/Uint8Array (passed byte for byte), and
// functions that give paths take `encoding: 'utf8' | 'buffer'`.

/** strlen(3), resolved through the library's own dependencies (libc), else the process. */
const strlen = (() => {
  const proto = 'size_t strlen(const void *s)';
  try {
    return lib.func(proto);
  } catch {
    return koffi.load(process.platform === 'win32' ? 'msvcrt.dll' : null).func(proto);
  }
})();

function invalidPath(what, detail) {
  return new WtfperfError(Status.WTFPERF_ERR_INVALID, `${what} ${detail}`);
}

/**
 * A path argument for a `const char *` parameter or field: a string as is (koffi
 * encodes it as UTF-8), a Buffer/Uint8Array as a NUL-terminated copy of its
 * bytes, anything else through String(). An embedded NUL (which would silently
 * cut the path short) is refused with WTFPERF_ERR_INVALID.
 */
function toPath(value, what = 'path') {
  if (typeof value !== 'string') {
    if (value instanceof Uint8Array) {
      if (value.includes(0)) throw invalidPath(what, 'contains a NUL byte');
      const out = Buffer.allocUnsafe(value.length + 1);
      out.set(value);
      out[value.length] = 0;
      return out;
    }
    value = String(value);
  }
  if (value.includes('\0')) throw invalidPath(what, 'contains a NUL character');
  return value;
}

/**
 * A text argument for a `const char *` parameter or field that is not a path
 * (an analyzer id, a scope or profile name, a glob, bench formats): String()
 * of it, which koffi encodes as UTF-8. An embedded NUL (which would silently
 * cut the text short) is refused with WTFPERF_ERR_INVALID.
 */
function toText(value, what) {
  value = String(value);
  if (value.includes('\0')) throw invalidPath(what, 'contains a NUL character');
  return value;
}

/**
 * `items` (an array or other iterable of paths, names or globs) as an array,
 * each converted with `convert`. A single string or Buffer/Uint8Array (or
 * anything not iterable, such as a URL) is refused with a TypeError naming
 * `what`: Array.from('/etc/hostname') would be '/', 'e', 't'... and a
 * dependency '/' stands for the whole filesystem.
 */
function many(items, what, convert) {
  if (
    typeof items === 'string' ||
    items instanceof String ||
    ArrayBuffer.isView(items) ||
    items instanceof ArrayBuffer ||
    items === null ||
    items === undefined ||
    typeof items[Symbol.iterator] !== 'function'
  ) {
    const kind = items === null ? 'null' : items?.constructor?.name ?? typeof items;
    throw new TypeError(`${what} must be an array of paths or names, not a single ${kind}: pass [value]`);
  }
  return Array.from(items, convert);
}

/** toPath, with null/undefined kept as null (an optional path). */
function toPathOrNull(value, what = 'path') {
  return value === null || value === undefined ? null : toPath(value, what);
}

/**
 * Whether the `encoding` option asks for paths as Buffers: 'buffer' -> true;
 * 'utf8' / 'utf-8' / absent -> false (strings); anything else is refused.
 */
function wantsBuffers(encoding) {
  if (encoding === undefined || encoding === null || encoding === 'utf8' || encoding === 'utf-8') return false;
  if (encoding === 'buffer') return true;
  throw new WtfperfError(
    Status.WTFPERF_ERR_INVALID,
    `encoding must be 'utf8' or 'buffer', not ${JSON.stringify(String(encoding))}`,
  );
}

/** The exact bytes of the NUL-terminated string at `ptr` (a `const void *`), or null for NULL. */
function cBytes(ptr) {
  if (!ptr) return null;
  return copyBytes(ptr, strlen(ptr));
}

module.exports = {
  uint,
  koffi,
  lib,
  libraryPath,
  libraryVersion,
  EXPECTED_API,
  candidatePaths,
  checkVersion,
  declare,
  declared,
  core,
  types: { wtfperf_status, wtfperf_buf },
  lastError,
  check,
  copyBytes,
  withBuf,
  num,
  toBytes,
  toPath,
  toPathOrNull,
  toText,
  many,
  wantsBuffers,
  cBytes,
};
