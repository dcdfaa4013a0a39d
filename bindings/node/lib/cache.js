'use strict';
// Cache over wtfperf_cache_*: an in-memory LRU tier with TTL over an optional
// persistent SQLite tier; entries bound to a file's content and dependencies.

const { koffi, declare, check, withBuf, num, toBytes, toPath, toPathOrNull, many, wantsBuffers, cBytes, uint } = require('./native');
const { NativeHandle } = require('./handle');
const { Status } = require('./errors');
const { Trampolines } = require('./callbacks');

koffi.opaque('wtfperf_cache');

// Field order and types exactly as in include/wtfperf.h.
const wtfperf_cache_options = koffi.struct('wtfperf_cache_options', {
  dir: 'const char *',
  memory_max_entries: 'size_t',
  memory_ttl_s: 'double',
  persistent_ttl_s: 'double',
  memory_max_bytes: 'uint64_t',
  persistent_max_bytes: 'uint64_t',
  root: 'const char *',
  sync_interval_s: 'double',
});
const wtfperf_entry_options = koffi.struct('wtfperf_entry_options', {
  file_path: 'const char *',
  deps: 'const char **',
  deps_len: 'size_t',
  ttl_s: 'double',
});
const wtfperf_cache_statistics = koffi.struct('wtfperf_cache_statistics', {
  memory_hits: 'uint64_t',
  memory_misses: 'uint64_t',
  persistent_hits: 'uint64_t',
  persistent_misses: 'uint64_t',
  memory_entries: 'uint64_t',
  persistent_entries: 'uint64_t',
  invalidations: 'uint64_t',
  hit_rate: 'double',
  memory_bytes: 'uint64_t',
  persistent_bytes: 'uint64_t',
  sets: 'uint64_t',
  invalidations_file_changed: 'uint64_t',
  invalidations_dependency_changed: 'uint64_t',
  invalidations_expired: 'uint64_t',
  invalidations_evicted: 'uint64_t',
  invalidations_explicit: 'uint64_t',
  total_hits: 'uint64_t',
  total_misses: 'uint64_t',
  total_sets: 'uint64_t',
  total_invalidations: 'uint64_t',
  total_hit_rate: 'double',
  analysis_entries: 'uint64_t',
  recovered: 'bool',
});
const wtfperf_path_cb = koffi.proto('void wtfperf_path_cb(void *userdata, const char *path)');
// wtfperf_path_cb with the path as a raw pointer, read byte for byte.
const wtfperf_path_cb_bytes = koffi.proto('void wtfperf_path_cb_bytes(void *userdata, const void *path)');

const c = {
  options_default: declare('wtfperf_cache_options wtfperf_cache_options_default(void)'),
  entry_options_default: declare('wtfperf_entry_options wtfperf_entry_options_default(void)'),
  open: declare('wtfperf_status wtfperf_cache_open(const wtfperf_cache_options *options, _Out_ wtfperf_cache **out)'),
  close: declare('void wtfperf_cache_close(wtfperf_cache *cache)'),
  set: declare(
    'wtfperf_status wtfperf_cache_set(wtfperf_cache *cache, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, const wtfperf_entry_options *options)',
  ),
  set_many: declare(
    'wtfperf_status wtfperf_cache_set_many(wtfperf_cache *cache, const uint8_t **keys, const size_t *key_lens, const uint8_t **values, const size_t *value_lens, const wtfperf_entry_options **options, size_t n)',
  ),
  explain_miss: declare('wtfperf_status wtfperf_cache_explain_miss(wtfperf_cache *cache, const uint8_t *key, size_t key_len, _Out_ wtfperf_buf *out)'),
  get: declare('wtfperf_status wtfperf_cache_get(wtfperf_cache *cache, const uint8_t *key, size_t key_len, _Out_ wtfperf_buf *out)'),
  invalidate: declare('wtfperf_status wtfperf_cache_invalidate(wtfperf_cache *cache, const uint8_t *key, size_t key_len)'),
  invalidate_file: declare(
    'wtfperf_status wtfperf_cache_invalidate_file(wtfperf_cache *cache, const char *path, _Out_ size_t *out_removed)',
  ),
  check_file_changes: declare(
    'wtfperf_status wtfperf_cache_check_file_changes(wtfperf_cache *cache, const char **paths, size_t n, wtfperf_path_cb *on_changed, void *userdata, _Out_ size_t *out_changed)',
  ),
  cleanup_expired: declare('wtfperf_status wtfperf_cache_cleanup_expired(wtfperf_cache *cache, _Out_ size_t *out_removed)'),
  clear: declare('wtfperf_status wtfperf_cache_clear(wtfperf_cache *cache)'),
  stats: declare('wtfperf_status wtfperf_cache_stats(wtfperf_cache *cache, _Out_ wtfperf_cache_statistics *out)'),
  stats_json: declare('wtfperf_status wtfperf_cache_stats_json(wtfperf_cache *cache, _Out_ wtfperf_buf *out)'),
};

/** Options struct from the library's defaults, with the given fields set. */
function cacheOptions(opts = {}) {
  const o = c.options_default();
  if (opts.dir !== undefined) o.dir = toPathOrNull(opts.dir, 'dir');
  if (opts.memoryMaxEntries !== undefined) o.memory_max_entries = uint(opts.memoryMaxEntries, 'memoryMaxEntries');
  if (opts.memoryTtlS !== undefined) o.memory_ttl_s = opts.memoryTtlS;
  if (opts.persistentTtlS !== undefined) o.persistent_ttl_s = opts.persistentTtlS;
  if (opts.memoryMaxBytes !== undefined) o.memory_max_bytes = uint(opts.memoryMaxBytes, 'memoryMaxBytes');
  if (opts.persistentMaxBytes !== undefined) o.persistent_max_bytes = uint(opts.persistentMaxBytes, 'persistentMaxBytes');
  if (opts.root !== undefined) o.root = toPathOrNull(opts.root, 'root');
  if (opts.syncIntervalS !== undefined) o.sync_interval_s = opts.syncIntervalS;
  return o;
}

function entryOptions(opts) {
  if (!opts) return null;
  const o = c.entry_options_default();
  if (opts.filePath !== undefined && opts.filePath !== null) o.file_path = toPath(opts.filePath, 'filePath');
  if (opts.deps !== undefined && opts.deps !== null) {
    o.deps = many(opts.deps, 'deps', (d) => toPath(d, 'deps entry'));
    o.deps_len = o.deps.length;
  }
  if (opts.ttlS !== undefined && opts.ttlS !== null) o.ttl_s = opts.ttlS;
  return o;
}

/** snake_case struct fields to camelCase, 64-bit counters as Numbers. */
function fromStats(s) {
  const out = {};
  for (const [field, value] of Object.entries(s)) {
    out[field.replace(/_([a-z])/g, (_m, ch) => ch.toUpperCase())] = num(value);
  }
  return out;
}

/**
 * The analysis-result cache. Keys and values are bytes (Buffer/Uint8Array, or
 * strings taken as UTF-8); get() returns a Buffer. With `dir`, entries persist
 * in SQLite there (several processes may open the same directory).
 */
class Cache extends NativeHandle {
  /**
   * @param {{dir?: string|null, memoryMaxEntries?: number, memoryTtlS?: number,
   *          persistentTtlS?: number}} [opts]
   */
  constructor(opts = {}) {
    const out = [null];
    check(c.open(cacheOptions(opts), out), 'wtfperf_cache_open');
    super(out[0], c.close, 'Cache');
  }

  /** Same as `new Cache(opts)`. */
  static open(opts = {}) {
    return new Cache(opts);
  }

  /**
   * Stores `value` under `key`; returns once committed. `filePath` binds the
   * entry to that file's content, `deps` to those files too; `ttlS` overrides
   * the default time to live.
   */
  set(key, value, opts = undefined) {
    const k = toBytes(key, 'key');
    const v = toBytes(value, 'value');
    check(c.set(this._ptr, k, k.length, v, v.length, entryOptions(opts)), 'wtfperf_cache_set');
  }

  /**
   * Stores many entries in one transaction (all or nothing), much faster than
   * as many set() calls. `entries` is an iterable of `[key, value]` or
   * `[key, value, entryOptions]`.
   */
  setMany(entries) {
    const keys = [];
    const values = [];
    const options = [];
    for (const [key, value, opts] of entries) {
      keys.push(toBytes(key, 'key'));
      values.push(toBytes(value, 'value'));
      options.push(entryOptions(opts));
    }
    const n = keys.length;
    const anyOptions = options.some((o) => o !== null);
    check(
      c.set_many(
        this._ptr,
        keys,
        keys.map((k) => k.length),
        values,
        values.map((v) => v.length),
        anyOptions ? options : null,
        n,
      ),
      'wtfperf_cache_set_many',
    );
  }

  /**
   * Why the last lookups of `key` missed (parsed JSON: `last_reason`,
   * `misses`, `stored_in_memory`, `stored_in_persistent`).
   */
  explainMiss(key) {
    const k = toBytes(key, 'key');
    return JSON.parse(
      withBuf((out) => c.explain_miss(this._ptr, k, k.length, out), 'wtfperf_cache_explain_miss').bytes.toString('utf8'),
    );
  }

  /** The value stored under `key` as a Buffer, or null on a miss. */
  get(key) {
    const k = toBytes(key, 'key');
    const { status, bytes } = withBuf((out) => c.get(this._ptr, k, k.length, out), 'wtfperf_cache_get');
    return status === Status.WTFPERF_OK ? bytes : null;
  }

  /** Removes the entry for `key` (no error when there is none). */
  invalidate(key) {
    const k = toBytes(key, 'key');
    check(c.invalidate(this._ptr, k, k.length), 'wtfperf_cache_invalidate');
  }

  /**
   * Removes every entry bound to `path` (as file or dependency); returns how
   * many. `path` is a string or a Buffer/Uint8Array (its exact bytes).
   */
  invalidateFile(path) {
    const out = [0];
    check(c.invalidate_file(this._ptr, toPath(path), out), 'wtfperf_cache_invalidate_file');
    return num(out[0]);
  }

  /**
   * The paths among `paths` (strings or Buffers/Uint8Arrays) whose content
   * changed since entries were bound to them, each as the caller gave it (the
   * same string or object). `opts.encoding` ('utf8' or 'buffer') instead gives
   * them all as strings or all as Buffers of the exact bytes.
   */
  checkFileChanges(paths, opts = undefined) {
    const encoding = opts?.encoding;
    const given = many(paths, 'paths', (p) => (p instanceof Uint8Array ? p : String(p)));
    const list = given.map((p) => toPath(p));
    if (wantsBuffers(encoding)) return this.#changed(list, wtfperf_path_cb_bytes, cBytes);
    if ((encoding !== undefined && encoding !== null) || list.every((p) => typeof p === 'string')) {
      return this.#changed(list, wtfperf_path_cb, (p) => p);
    }
    // Mixed or byte inputs, reported as given: map each reported path back to
    // the caller's value with the same bytes (in order, for repeated paths).
    const byBytes = new Map();
    list.forEach((p, i) => {
      const key = (typeof p === 'string' ? Buffer.from(p, 'utf8') : p.subarray(0, -1)).toString('latin1');
      const values = byBytes.get(key);
      if (values) values.push(given[i]);
      else byBytes.set(key, [given[i]]);
    });
    return this.#changed(list, wtfperf_path_cb_bytes, (ptr) => {
      const bytes = cBytes(ptr);
      const values = byBytes.get(bytes.toString('latin1'));
      if (!values) return bytes; // not among the arguments (never expected)
      return values.length > 1 ? values.shift() : values[0];
    });
  }

  /** Runs wtfperf_cache_check_file_changes, converting each reported path with `convert`. */
  #changed(list, proto, convert) {
    const changed = [];
    const tramp = new Trampolines();
    try {
      const cb = tramp.register((_ud, path) => {
        changed.push(convert(path));
      }, proto);
      const out = [0];
      const status = c.check_file_changes(this._ptr, list, list.length, cb, null, out);
      tramp.rethrow();
      check(status, 'wtfperf_cache_check_file_changes');
    } finally {
      tramp.close();
    }
    return changed;
  }

  /** Removes expired entries from both tiers; returns how many. */
  cleanupExpired() {
    const out = [0];
    check(c.cleanup_expired(this._ptr, out), 'wtfperf_cache_cleanup_expired');
    return num(out[0]);
  }

  /** Removes every entry. */
  clear() {
    check(c.clear(this._ptr), 'wtfperf_cache_clear');
  }

  /** Hit/miss counters and entry counts. */
  stats() {
    const out = {};
    check(c.stats(this._ptr, out), 'wtfperf_cache_stats');
    return fromStats(out);
  }

  /** The library's statistics as JSON, parsed. */
  statsJson() {
    return JSON.parse(withBuf((out) => c.stats_json(this._ptr, out), 'wtfperf_cache_stats_json').bytes.toString('utf8'));
  }
}

module.exports = {
  Cache,
  cacheOptions,
  types: { wtfperf_cache_options, wtfperf_entry_options, wtfperf_cache_statistics },
};
