'use strict';
// scan() and analyze() over wtfperf_scan / wtfperf_analyze_with. Workers in
// the library read and hash files in parallel; every callback is delivered on
// this (the JS) thread, one at a time. callbacks_parallel is never set.

const { koffi, declare, check, copyBytes, num, toBytes, toPath, toText, many, wantsBuffers, cBytes, uint } = require('./native');
const { Status, WtfperfError } = require('./errors');
const { Trampolines } = require('./callbacks');
const { Cache } = require('./cache');

koffi.opaque('wtfperf_sink');

// Field order and types exactly as in include/wtfperf.h.
const wtfperf_scan_options = koffi.struct('wtfperf_scan_options', {
  threads: 'size_t',
  chunk_size: 'size_t',
  max_file_size: 'uint64_t',
  include_content: 'bool',
  follow_links: 'bool',
  respect_ignore_files: 'bool',
  include_hidden: 'bool',
  include_globs: 'const char **',
  include_globs_len: 'size_t',
  exclude_globs: 'const char **',
  exclude_globs_len: 'size_t',
  callbacks_parallel: 'bool',
  sorted: 'bool',
  max_depth: 'size_t',
  same_file_system: 'bool',
});
const FILE_FIELDS = {
  path: 'const char *',
  rel_path: 'const char *',
  size: 'uint64_t',
  mtime_ns: 'int64_t',
  content_hash: koffi.array('uint8_t', 16),
  content: 'const uint8_t *',
  content_len: 'size_t',
  language: 'const char *',
  inode: 'uint64_t',
};
const wtfperf_file = koffi.struct('wtfperf_file', FILE_FIELDS);
// The same layout with the paths as raw pointers, read byte for byte
// (encoding: 'buffer'); the 'utf8' default decodes wtfperf_file as before.
const wtfperf_file_bytes = koffi.struct('wtfperf_file_bytes', {
  ...FILE_FIELDS,
  path: 'const void *',
  rel_path: 'const void *',
});
const wtfperf_progress = koffi.struct('wtfperf_progress', {
  files_done: 'uint64_t',
  files_total: 'uint64_t',
  bytes_done: 'uint64_t',
});
const wtfperf_scan_summary = koffi.struct('wtfperf_scan_summary', {
  files_seen: 'uint64_t',
  files_scanned: 'uint64_t',
  files_skipped: 'uint64_t',
  errors: 'uint64_t',
  bytes_read: 'uint64_t',
  cache_hits: 'uint64_t',
  duration_s: 'double',
});
const wtfperf_file_cb = koffi.proto('int32_t wtfperf_file_cb(void *userdata, const wtfperf_file *file)');
const wtfperf_error_cb = koffi.proto(
  'void wtfperf_error_cb(void *userdata, const char *path, wtfperf_status code, const char *message)',
);
// wtfperf_error_cb with the path as a raw pointer (encoding: 'buffer').
const wtfperf_error_cb_bytes = koffi.proto(
  'void wtfperf_error_cb_bytes(void *userdata, const void *path, wtfperf_status code, const char *message)',
);
const wtfperf_progress_cb = koffi.proto('void wtfperf_progress_cb(void *userdata, const wtfperf_progress *progress)');
const wtfperf_analyze_fn = koffi.proto(
  'int32_t wtfperf_analyze_fn(void *userdata, const wtfperf_file *file, wtfperf_sink *result)',
);
const wtfperf_result_cb = koffi.proto(
  'void wtfperf_result_cb(void *userdata, const wtfperf_file *file, const uint8_t *result, size_t len, bool cached)',
);
const wtfperf_scan_callbacks = koffi.struct('wtfperf_scan_callbacks', {
  on_file: koffi.pointer(wtfperf_file_cb),
  on_error: koffi.pointer(wtfperf_error_cb),
  on_progress: koffi.pointer(wtfperf_progress_cb),
  userdata: 'void *',
});
const wtfperf_analyze_callbacks = koffi.struct('wtfperf_analyze_callbacks', {
  analyze: koffi.pointer(wtfperf_analyze_fn),
  on_result: koffi.pointer(wtfperf_result_cb),
  on_error: koffi.pointer(wtfperf_error_cb),
  on_progress: koffi.pointer(wtfperf_progress_cb),
  userdata: 'void *',
});

const c = {
  options_default: declare('wtfperf_scan_options wtfperf_scan_options_default(void)'),
  scan: declare(
    'wtfperf_status wtfperf_scan(const char *root, const wtfperf_scan_options *options, const wtfperf_scan_callbacks *callbacks, _Out_ wtfperf_scan_summary *out)',
  ),
  sink_write: declare('wtfperf_status wtfperf_sink_write(wtfperf_sink *sink, const uint8_t *data, size_t len)'),
  analyze: declare(
    'wtfperf_status wtfperf_analyze(const char *root, const wtfperf_scan_options *options, wtfperf_cache *cache, const char *analyzer_id, wtfperf_analyze_fn *analyze, wtfperf_result_cb *on_result, void *userdata, _Out_ wtfperf_scan_summary *out)',
  ),
  analyze_with: declare(
    'wtfperf_status wtfperf_analyze_with(const char *root, const wtfperf_scan_options *options, wtfperf_cache *cache, const char *analyzer_id, const wtfperf_analyze_callbacks *callbacks, _Out_ wtfperf_scan_summary *out)',
  ),
};

const OPTION_FIELDS = {
  threads: 'threads',
  chunkSize: 'chunk_size',
  maxFileSize: 'max_file_size',
  includeContent: 'include_content',
  followLinks: 'follow_links',
  respectIgnoreFiles: 'respect_ignore_files',
  includeHidden: 'include_hidden',
  sorted: 'sorted',
  maxDepth: 'max_depth',
  sameFileSystem: 'same_file_system',
};

/**
 * Options struct from the library's defaults with the given fields set.
 * `include` / `exclude` are glob lists. callbacks_parallel always stays
 * false: JS callbacks must run on the JS thread.
 */
function scanOptions(opts = {}) {
  const o = c.options_default();
  for (const [js, field] of Object.entries(OPTION_FIELDS)) {
    if (opts[js] === undefined) continue;
    o[field] = typeof o[field] === 'boolean' ? Boolean(opts[js]) : uint(opts[js], js);
  }
  if (opts.include !== undefined) {
    o.include_globs = many(opts.include, 'include', (g) => toText(g, 'include glob'));
    o.include_globs_len = o.include_globs.length;
  }
  if (opts.exclude !== undefined) {
    o.exclude_globs = many(opts.exclude, 'exclude', (g) => toText(g, 'exclude glob'));
    o.exclude_globs_len = o.exclude_globs.length;
  }
  o.callbacks_parallel = false;
  return o;
}

/**
 * Converts a wtfperf_file (valid only during the callback) into a JS object
 * owning its data; with `bytes` (encoding 'buffer'), path and relPath are
 * Buffers of the exact bytes instead of strings decoded as UTF-8.
 */
function fromFile(ptr, bytes = false) {
  const f = koffi.decode(ptr, bytes ? wtfperf_file_bytes : wtfperf_file);
  return {
    path: bytes ? cBytes(f.path) : f.path,
    relPath: bytes ? cBytes(f.rel_path) : f.rel_path,
    size: num(f.size),
    mtimeNs: BigInt(f.mtime_ns),
    contentHash: Buffer.from(f.content_hash),
    content: f.content ? copyBytes(f.content, f.content_len) : null,
    language: f.language,
    inode: num(f.inode),
  };
}

function fromProgress(ptr) {
  const p = koffi.decode(ptr, wtfperf_progress);
  return { filesDone: num(p.files_done), filesTotal: num(p.files_total), bytesDone: num(p.bytes_done) };
}

function fromSummary(s, status) {
  return {
    filesSeen: num(s.files_seen),
    filesScanned: num(s.files_scanned),
    filesSkipped: num(s.files_skipped),
    errors: num(s.errors),
    bytesRead: num(s.bytes_read),
    cacheHits: num(s.cache_hits),
    durationS: s.duration_s,
    aborted: status === Status.WTFPERF_ABORTED,
  };
}

function errorCallback(tramp, onError, buffers) {
  if (!onError) return null;
  if (buffers) {
    return tramp.register((_ud, path, code, message) => {
      onError(new WtfperfError(code, message ?? ''), cBytes(path));
    }, wtfperf_error_cb_bytes);
  }
  return tramp.register((_ud, path, code, message) => {
    onError(new WtfperfError(code, message ?? ''), path);
  }, wtfperf_error_cb);
}

function progressCallback(tramp, onProgress) {
  if (!onProgress) return null;
  return tramp.register((_ud, p) => {
    onProgress(fromProgress(p));
  }, wtfperf_progress_cb);
}

/**
 * Walks `root` and calls `onFile(file)` for every file, on this thread. Return
 * `false` from onFile to stop (the summary then has `aborted: true`). An
 * exception thrown by any callback stops the scan and is re-thrown once it
 * returned. `onError(error, path)` gets files that could not be read (they
 * never stop the scan); `onProgress(progress)` reports progress.
 * `root` is a string or a Buffer/Uint8Array (its bytes as they are); with
 * `opts.encoding === 'buffer'` every path handed to a callback is a Buffer of
 * the exact bytes instead of a string decoded as UTF-8.
 */
function scan(root, opts = {}, callbacks = {}) {
  const { onFile, onError, onProgress } = callbacks ?? {};
  const buffers = wantsBuffers(opts?.encoding);
  const rootArg = toPath(root, 'root');
  const decodeFile = (f) => fromFile(f, buffers);
  const tramp = new Trampolines();
  try {
    // With only onError/onProgress, on_file is still registered (doing
    // nothing) so that an exception they throw stops the walk at the next file.
    const cbs = {
      on_file:
        onFile || onError || onProgress
          ? tramp.register((_ud, f) => (onFile && onFile(decodeFile(f)) === false ? 1 : 0), wtfperf_file_cb, 1)
          : null,
      on_error: errorCallback(tramp, onError, buffers),
      on_progress: progressCallback(tramp, onProgress),
      userdata: null,
    };
    const out = {};
    const status = c.scan(rootArg, scanOptions(opts ?? {}), cbs, out);
    tramp.rethrow();
    check(status, 'wtfperf_scan');
    return fromSummary(out, status);
  } finally {
    tramp.close();
  }
}

/**
 * Incremental analysis: walks `root` and runs `analyzeFn(file)` for every
 * file whose result is not in `cache` (keyed by analyzer id, relative path and
 * content hash). analyzeFn returns the result as a Buffer/Uint8Array/string
 * (null/undefined: empty), or `false` when it could not analyze the file
 * (reported to onError with WTFPERF_ERR_CALLBACK, counted in `errors`, not
 * cached; the run goes on). `onResult(file, result, cached)` is called for
 * every file (`file.content` is null for cached files). `callbacks` may be
 * just onResult, or `{ onResult, onError, onProgress }`. `cache` may be null.
 * An exception thrown by a callback is re-thrown after the run; analyzeFn's
 * stops it at once (the library's WTFPERF_ABORTED), the others' at the next
 * file that needs analyzing (no callback runs in between). `root` and
 * `opts.encoding` as in scan(): with 'buffer', `file.path`, `file.relPath` and
 * onError's path are Buffers.
 */
function analyze(root, opts, cache, analyzerId, analyzeFn, callbacks = {}) {
  if (typeof callbacks === 'function') callbacks = { onResult: callbacks };
  const { onResult, onError, onProgress } = callbacks ?? {};
  if (typeof analyzeFn !== 'function') throw new TypeError('analyzeFn must be a function');
  if (cache !== null && cache !== undefined && !(cache instanceof Cache)) {
    throw new TypeError('cache must be a Cache or null');
  }
  const buffers = wantsBuffers(opts?.encoding);
  const rootArg = toPath(root, 'root');
  const aid = toText(analyzerId, 'analyzerId');
  const run = (cachePtr) => runAnalyze(rootArg, scanOptions(opts ?? {}), cachePtr, aid, analyzeFn, {
    onResult,
    onError,
    onProgress,
    buffers,
  });
  // Pinned: a cache.close() from a callback frees the handle only after the run.
  return cache ? cache._pinned(run) : run(null);
}

function runAnalyze(root, options, cachePtr, analyzerId, analyzeFn, { onResult, onError, onProgress, buffers }) {
  const decodeFile = (f) => fromFile(f, buffers);
  const tramp = new Trampolines();
  try {
    const analyzeCb = tramp.register(
      (_ud, f, sink) => {
        const result = analyzeFn(decodeFile(f));
        if (result === false) return 1; // this file failed: reported to onError, not cached
        if (result === undefined || result === null) return 0;
        const bytes = toBytes(result, 'analyzer result');
        check(c.sink_write(sink, bytes, bytes.length), 'wtfperf_sink_write');
        return 0;
      },
      wtfperf_analyze_fn,
      Status.WTFPERF_ABORTED, // stops the whole run; any other nonzero is a per-file failure
    );
    const resultCb = onResult
      ? tramp.register((_ud, f, data, len, cached) => {
          onResult(decodeFile(f), copyBytes(data, len), cached);
        }, wtfperf_result_cb)
      : null;
    const out = {};
    let status;
    if (onError || onProgress) {
      const cbs = {
        analyze: analyzeCb,
        on_result: resultCb,
        on_error: errorCallback(tramp, onError, buffers),
        on_progress: progressCallback(tramp, onProgress),
        userdata: null,
      };
      status = c.analyze_with(root, options, cachePtr, analyzerId, cbs, out);
      tramp.rethrow();
      check(status, 'wtfperf_analyze_with');
    } else {
      status = c.analyze(root, options, cachePtr, analyzerId, analyzeCb, resultCb, null, out);
      tramp.rethrow();
      check(status, 'wtfperf_analyze');
    }
    return fromSummary(out, status);
  } finally {
    tramp.close();
  }
}

module.exports = {
  scan,
  analyze,
  scanOptions,
  types: {
    wtfperf_scan_options,
    wtfperf_file,
    wtfperf_progress,
    wtfperf_scan_summary,
    wtfperf_scan_callbacks,
    wtfperf_analyze_callbacks,
  },
};
