//! C boundary for the cache part: thin conversions around
//! [`crate::cache::Cache`].

use super::args::{self, out_ptr, write_out};
use super::buf::wtfperf_buf;
use super::guard::{guard, guard_value};
use super::status::{WTFPERF_MISS, WTFPERF_OK, wtfperf_status};
use crate::cache::{Cache, CacheOptions, EntryOptions, Stats};
use crate::error::{Error, Result};
use std::ffi::{CString, c_char, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// An analysis cache: an in-memory LRU tier (16 shards) over an optional
/// persistent SQLite tier in `dir`.
///
/// Thread safety: a `wtfperf_cache` may be used from several threads at once
/// (every function taking it is thread-safe); close it once, after every
/// other call on it has returned. Several processes may open the same `dir`
/// at once: all their writes land (each `set` is its own committed
/// transaction), and a process killed at any moment loses nothing it was
/// told was stored and never corrupts the database.
pub struct wtfperf_cache {
    pub(crate) inner: Cache,
}

/// The cache behind a nullable handle, for other parts of the boundary
/// (`wtfperf_analyze` takes an optional `wtfperf_cache *`).
///
/// # Safety
/// `cache` is NULL or a live handle from `wtfperf_cache_open`, valid for `'a`.
pub unsafe fn cache_of<'a>(cache: *const wtfperf_cache) -> Option<&'a Cache> {
    // SAFETY: NULL or a live handle per the caller's contract.
    unsafe { args::opt_ref(cache) }.map(|h| &h.inner)
}

/// Options of `wtfperf_cache_open`; start from `wtfperf_cache_options_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_cache_options {
    /// Directory of the persistent tier, created (mode 0700) if missing;
    /// NULL: memory only. Holds `cache.db` (SQLite, WAL). A relative path
    /// is taken from the working directory at open, once (a later chdir
    /// does not move the cache).
    pub dir: *const c_char,
    /// Bound of the memory tier in entries; 0 disables the memory tier.
    pub memory_max_entries: usize,
    /// Default time to live of the memory tier's copies, seconds; 0: none.
    pub memory_ttl_s: f64,
    /// Default time to live of persistent entries, seconds; 0: none.
    pub persistent_ttl_s: f64,
    /// Bound of the memory tier in bytes of keys and values, plus 96 bytes
    /// of bookkeeping per entry; 0: none.
    pub memory_max_bytes: u64,
    /// Bound of the persistent tier in bytes of keys and values; 0: none.
    /// When exceeded, the least recently used entries (across every process
    /// using `dir`) are evicted down to 90% of it.
    pub persistent_max_bytes: u64,
    /// NULL, or a directory (must exist): paths inside it (file_path, deps,
    /// check/invalidate arguments) are stored relative to it, so a cache
    /// moved with its checkout (another CI workspace, a git worktree) still
    /// hits.
    pub root: *const c_char,
    /// How often, at most, a read checks whether other processes changed
    /// the database, seconds (default 0.01): when one did, the keys it
    /// overwrote or deleted leave this handle's memory tier. So a process
    /// may serve, for at most this long, a memory copy another process just
    /// invalidated. 0: check on every read (one cheap SQLite query).
    /// File-bound entries are checked against their files on every read
    /// regardless.
    pub sync_interval_s: f64,
}

/// Options of one stored entry; start from `wtfperf_entry_options_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_entry_options {
    /// NULL, or the file the value was computed from (must exist): its size,
    /// mtime, inode, ctime and XXH3-128 are recorded, and a later `get` misses
    /// once its content differs (a changed ctime alone costs a re-hash). A
    /// directory stands for its tree (the files a default scan of it finds): a
    /// `get` then walks it, one `stat` per file, and misses once a file was
    /// added, removed or changed.
    pub file_path: *const c_char,
    /// `deps_len` paths the value also depends on (files or directories; they
    /// may not exist yet: then their appearing invalidates). Dependencies recorded by cached
    /// entries bound to these files are followed transitively.
    pub deps: *const *const c_char,
    /// Number of paths in `deps` (`deps` may be NULL when 0).
    pub deps_len: usize,
    /// Time to live in seconds for both tiers; < 0: the tier defaults;
    /// 0: never expires.
    pub ttl_s: f64,
}

/// Statistics of a cache handle (`wtfperf_cache_stats`). The fields up to
/// `hit_rate` and those without the `total_` prefix count this handle's
/// lifetime; `total_*` count every handle and process that used the
/// directory (for a memory-only cache, the same as this handle).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wtfperf_cache_statistics {
    pub memory_hits: u64,
    /// Lookups the memory tier could not answer (including invalid entries).
    pub memory_misses: u64,
    /// Hits of the persistent tier (including `wtfperf_analyze`'s).
    pub persistent_hits: u64,
    pub persistent_misses: u64,
    /// Entries in this handle's memory tier now.
    pub memory_entries: u64,
    /// Entries in the persistent tier now (0 for a memory-only cache).
    pub persistent_entries: u64,
    /// Entries removed because their file or a dependency changed, they
    /// expired, were evicted, or were invalidated explicitly.
    pub invalidations: u64,
    /// Hits / lookups (0 when there were none).
    pub hit_rate: f64,
    /// Bytes of keys and values in the memory tier (plus bookkeeping).
    pub memory_bytes: u64,
    /// Bytes of keys and values in the persistent tier.
    pub persistent_bytes: u64,
    pub sets: u64,
    pub invalidations_file_changed: u64,
    pub invalidations_dependency_changed: u64,
    pub invalidations_expired: u64,
    pub invalidations_evicted: u64,
    pub invalidations_explicit: u64,
    pub total_hits: u64,
    pub total_misses: u64,
    pub total_sets: u64,
    pub total_invalidations: u64,
    pub total_hit_rate: f64,
    /// Stored `wtfperf_analyze` results.
    pub analysis_entries: u64,
    /// True when a corrupt database was moved aside and replaced at open
    /// (`wtfperf_cache_stats_json` has the message under "recovered").
    pub recovered: bool,
}

/// Called with each changed path. `path` is valid only during the call.
pub type wtfperf_path_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, path: *const c_char)>;

/// The defaults: `dir = NULL` (memory only), `memory_max_entries = 1000`,
/// `memory_ttl_s = 3600`, `persistent_ttl_s = 86400`, `memory_max_bytes = 0`,
/// `persistent_max_bytes = 0` (unbounded), `root = NULL`, `sync_interval_s = 0.01`.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_cache_options_default() -> wtfperf_cache_options {
    let d = CacheOptions::default();
    wtfperf_cache_options {
        dir: std::ptr::null(),
        memory_max_entries: d.memory_max_entries,
        memory_ttl_s: d.memory_ttl_s,
        persistent_ttl_s: d.persistent_ttl_s,
        memory_max_bytes: d.memory_max_bytes,
        persistent_max_bytes: d.persistent_max_bytes,
        root: std::ptr::null(),
        sync_interval_s: d.sync_interval_s,
    }
}

/// The defaults: `file_path = NULL`, `deps = NULL`, `deps_len = 0`,
/// `ttl_s = -1` (the tier defaults).
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_entry_options_default() -> wtfperf_entry_options {
    wtfperf_entry_options {
        file_path: std::ptr::null(),
        deps: std::ptr::null(),
        deps_len: 0,
        ttl_s: -1.0,
    }
}

/// # Safety
/// `opts` is NULL or valid, with valid strings.
unsafe fn cache_options(opts: *const wtfperf_cache_options) -> Result<CacheOptions> {
    // SAFETY: NULL or valid per the caller's contract.
    let Some(o) = (unsafe { args::opt_ref(opts) }) else {
        return Ok(CacheOptions::default());
    };
    // SAFETY: the strings are NULL or NUL-terminated per the contract.
    let dir = unsafe { args::opt_path(o.dir, "options.dir")? };
    // SAFETY: as above.
    let root = unsafe { args::opt_path(o.root, "options.root")? };
    Ok(CacheOptions {
        dir: dir.map(PathBuf::from),
        memory_max_entries: o.memory_max_entries,
        memory_ttl_s: args::finite(o.memory_ttl_s, "options.memory_ttl_s")?,
        persistent_ttl_s: args::finite(o.persistent_ttl_s, "options.persistent_ttl_s")?,
        memory_max_bytes: o.memory_max_bytes,
        persistent_max_bytes: o.persistent_max_bytes,
        root: root.map(PathBuf::from),
        sync_interval_s: args::finite(o.sync_interval_s, "options.sync_interval_s")?,
    })
}

/// # Safety
/// `opts` is NULL or valid, with valid strings and a valid `deps` array.
unsafe fn entry_options(opts: *const wtfperf_entry_options, name: &str) -> Result<EntryOptions> {
    // SAFETY: NULL or valid per the caller's contract.
    let Some(o) = (unsafe { args::opt_ref(opts) }) else {
        return Ok(EntryOptions::new());
    };
    // SAFETY: NULL or NUL-terminated per the contract.
    let file_path = unsafe { args::opt_path(o.file_path, &format!("{name}.file_path"))? };
    // SAFETY: `deps` points to `deps_len` valid strings per the contract.
    let deps = unsafe { args::paths(o.deps, o.deps_len, &format!("{name}.deps"))? };
    Ok(EntryOptions {
        file_path: file_path.map(PathBuf::from),
        deps: deps.into_iter().map(PathBuf::from).collect(),
        ttl_s: args::finite(o.ttl_s, &format!("{name}.ttl_s"))?,
    })
}

/// # Safety
/// `cache` is NULL or a live handle.
pub(crate) unsafe fn handle<'a>(cache: *const wtfperf_cache) -> Result<&'a Cache> {
    // SAFETY: NULL or a live handle per the caller's contract.
    Ok(&unsafe { args::as_ref(cache, "cache")? }.inner)
}

/// Opens a cache and writes its handle to `*out` (close it with
/// `wtfperf_cache_close`).
///
/// `options` may be NULL (the defaults). A `dir` whose database is corrupt or
/// not a database gets it moved aside (`cache.db.corrupt-<time>`) and a fresh
/// one: the call still returns `WTFPERF_OK`, `wtfperf_last_error()` then holds
/// the message, and the statistics report it (`recovered`). Errors:
/// `WTFPERF_ERR_NULL` (out), `WTFPERF_ERR_INVALID` (a non-finite or negative
/// TTL, an empty path), `WTFPERF_ERR_IO` (dir or root cannot be created or
/// found), `WTFPERF_ERR_STORE` (SQLite failed; e.g. a database written by a
/// newer wtfperf).
///
/// # Safety
/// `options` is NULL or a valid struct whose strings are NULL or
/// NUL-terminated; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_open(
    options: *const wtfperf_cache_options,
    out: *mut *mut wtfperf_cache,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: per the caller's contract.
        let opts = unsafe { cache_options(options)? };
        let inner = Cache::open(opts)?;
        if let Some(msg) = inner.recovered() {
            super::status::set_last_error(&Error::store(msg));
        }
        // SAFETY: `out` was checked non-NULL and is valid for writes.
        unsafe { write_out(out, args::into_handle(wtfperf_cache { inner })) };
        Ok(WTFPERF_OK)
    })
}

/// Closes a cache (pending statistics are written first). NULL is a no-op.
///
/// # Safety
/// `cache` is NULL or a handle from `wtfperf_cache_open`, not closed yet, and
/// no other call on it is running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_close(cache: *mut wtfperf_cache) {
    guard_value((), || {
        // SAFETY: NULL or a live handle we own, per the contract.
        unsafe { args::free_handle(cache) }
    })
}

/// Stores `value` under `key` in both tiers; returns once the entry is
/// committed to the persistent tier (it survives the process being killed
/// right after). `key` and `value` are arbitrary bytes (NULs included;
/// `(NULL, 0)` is empty); values of at least 64 MB are supported.
/// `options` may be NULL (defaults). A `file_path` that cannot be read gives
/// `WTFPERF_ERR_IO`; a bad TTL `WTFPERF_ERR_INVALID`; SQLite failures
/// `WTFPERF_ERR_STORE` (nothing is stored then).
///
/// # Safety
/// `cache` is a live handle; `key`/`value` are valid for their lengths (or
/// NULL with length 0); `options` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_set(
    cache: *mut wtfperf_cache,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    options: *const wtfperf_entry_options,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let key = unsafe { args::bytes(key, key_len, "key")? };
        // SAFETY: per the caller's contract.
        let value = unsafe { args::bytes(value, value_len, "value")? };
        // SAFETY: per the caller's contract.
        let opts = unsafe { entry_options(options, "options")? };
        cache.set(key, value, &opts)?;
        Ok(WTFPERF_OK)
    })
}

/// Stores `n` entries committed in ONE transaction (much faster than `n`
/// calls of `wtfperf_cache_set`; all or nothing). Entry `i` is
/// `keys[i]`/`key_lens[i]`, `values[i]`/`value_lens[i]`, with options
/// `options[i]`; `options` may be NULL (defaults for all) and so may any
/// `options[i]`. A `(keys[i], key_lens[i]) = (NULL, 0)` pair is the empty key.
///
/// # Safety
/// `cache` is a live handle; `keys`, `key_lens`, `values`, `value_lens` point
/// to `n` elements each (or are NULL with `n == 0`), each pointer valid for
/// its length; `options` is NULL or points to `n` pointers, each NULL or
/// valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_set_many(
    cache: *mut wtfperf_cache,
    keys: *const *const u8,
    key_lens: *const usize,
    values: *const *const u8,
    value_lens: *const usize,
    options: *const *const wtfperf_entry_options,
    n: usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: each array has `n` elements per the contract.
        let (keys, key_lens, values, value_lens) = unsafe {
            (
                args::slice(keys, n, "keys")?,
                args::slice(key_lens, n, "key_lens")?,
                args::slice(values, n, "values")?,
                args::slice(value_lens, n, "value_lens")?,
            )
        };
        let opts: Option<&[*const wtfperf_entry_options]> = if options.is_null() {
            None
        } else {
            // SAFETY: non-NULL `options` has `n` elements per the contract.
            Some(unsafe { args::slice(options, n, "options")? })
        };
        // Argument names (`keys[3]`) are formatted only for an error.
        let defaults = EntryOptions::new();
        let mut owned = Vec::new();
        if let Some(opts) = opts {
            owned.reserve(n);
            for (i, &o) in opts.iter().enumerate() {
                // SAFETY: NULL or valid per the contract.
                owned.push(unsafe { entry_options(o, "options[]") }.or_else(|_| {
                    // SAFETY: as above (the same call, for its message).
                    unsafe { entry_options(o, &format!("options[{i}]")) }
                })?);
            }
        }
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let bytes = |ptrs: &[*const u8], lens: &[usize], name: &str| {
                // SAFETY: each pointer is valid for its length per the contract.
                unsafe { args::bytes(ptrs[i], lens[i], name) }.or_else(|_| {
                    // SAFETY: as above (the same call, for its message).
                    unsafe { args::bytes(ptrs[i], lens[i], &format!("{name}[{i}]")) }
                })
            };
            let k = bytes(keys, key_lens, "keys")?;
            let v = bytes(values, value_lens, "values")?;
            items.push((k, v, owned.get(i).unwrap_or(&defaults)));
        }
        cache.set_many(&items)?;
        Ok(WTFPERF_OK)
    })
}

/// Looks `key` up: memory tier, then the persistent tier (promoting a hit to
/// memory). An entry bound to files is checked first: one `stat` per file
/// when its metadata is unchanged, a re-hash otherwise; changed content,
/// expiry or a changed dependency makes it a miss and removes it.
///
/// Returns `WTFPERF_OK` with the value in `*out` (free it with
/// `wtfperf_buf_free`), or `WTFPERF_MISS` with `*out` set to the empty buffer
/// (`wtfperf_cache_explain_miss` says why).
///
/// # Safety
/// `cache` is a live handle; `key` is valid for `key_len` bytes (or NULL with
/// 0); `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_get(
    cache: *mut wtfperf_cache,
    key: *const u8,
    key_len: usize,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let key = unsafe { args::bytes(key, key_len, "key")? };
        // The output is written where the value is found (a memory hit:
        // under the shard lock), so nothing but a flag travels back.
        let found = cache.get_into(
            key,
            // SAFETY: `out` was checked non-NULL.
            |v| unsafe { write_out(out, wtfperf_buf::from_slice(v)) },
            // SAFETY: as above.
            |v| unsafe { write_out(out, wtfperf_buf::from_vec(v)) },
        )?;
        if found.is_none() {
            // SAFETY: as above.
            unsafe { write_out(out, wtfperf_buf::empty()) };
            return Ok(WTFPERF_MISS);
        }
        Ok(WTFPERF_OK)
    })
}

/// Removes `key` from both tiers. `WTFPERF_OK` whether or not it existed.
///
/// # Safety
/// `cache` is a live handle; `key` is valid for `key_len` bytes (or NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_invalidate(
    cache: *mut wtfperf_cache,
    key: *const u8,
    key_len: usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let key = unsafe { args::bytes(key, key_len, "key")? };
        cache.invalidate(key)?;
        Ok(WTFPERF_OK)
    })
}

/// Removes every entry bound to `path` or depending on it (directly, or
/// through a cached file that depends on it). `*out_removed` (when
/// `out_removed` is not NULL) receives how many entries were removed.
///
/// # Safety
/// `cache` is a live handle; `path` is a NUL-terminated string; `out_removed`
/// is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_invalidate_file(
    cache: *mut wtfperf_cache,
    path: *const c_char,
    out_removed: *mut usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let path = unsafe { args::path(path, "path")? };
        let n = cache.invalidate_file(path)?;
        if !out_removed.is_null() {
            // SAFETY: non-NULL and valid for writes per the contract.
            unsafe { write_out(out_removed, n) };
        }
        Ok(WTFPERF_OK)
    })
}

/// Reports which of `paths` changed since they were last recorded: by a
/// previous call of this function, or else by the cached entries bound to or
/// depending on them. A path never recorded counts as changed when it exists
/// (a vanished one when it was recorded present). The current state of each
/// path is recorded for the next call. `on_changed` (may be NULL) is called,
/// on this thread, once per changed path with the path as given (valid only
/// during the call); `*out_changed` (when not NULL) receives the count.
///
/// # Safety
/// `cache` is a live handle; `paths` points to `n` NUL-terminated strings
/// (or is NULL with `n == 0`); `out_changed` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_check_file_changes(
    cache: *mut wtfperf_cache,
    paths: *const *const c_char,
    n: usize,
    on_changed: wtfperf_path_cb,
    userdata: *mut c_void,
    out_changed: *mut usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let list = unsafe { args::paths(paths, n, "paths")? };
        let changed = cache.check_file_changes(&list)?;
        if let Some(cb) = on_changed {
            for &i in &changed {
                let c = CString::new(list[i].as_os_str().as_bytes()).unwrap_or_default();
                // SAFETY: host callback; the string lives during the call.
                unsafe { cb(userdata, c.as_ptr()) };
            }
        }
        if !out_changed.is_null() {
            // SAFETY: non-NULL and valid for writes per the contract.
            unsafe { write_out(out_changed, changed.len()) };
        }
        Ok(WTFPERF_OK)
    })
}

/// Removes every expired entry from both tiers (and expired analysis
/// results); `*out_removed` (when not NULL) receives how many entries.
///
/// # Safety
/// `cache` is a live handle; `out_removed` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_cleanup_expired(
    cache: *mut wtfperf_cache,
    out_removed: *mut usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        let n = cache.cleanup_expired()?;
        if !out_removed.is_null() {
            // SAFETY: non-NULL and valid for writes per the contract.
            unsafe { write_out(out_removed, n) };
        }
        Ok(WTFPERF_OK)
    })
}

/// Removes every entry, analysis result and recorded path from both tiers
/// (for every process using the directory).
///
/// # Safety
/// `cache` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_clear(cache: *mut wtfperf_cache) -> wtfperf_status {
    guard(|| {
        // SAFETY: per the caller's contract.
        unsafe { handle(cache)? }.clear()?;
        Ok(WTFPERF_OK)
    })
}

fn statistics(s: &Stats) -> wtfperf_cache_statistics {
    let h = &s.handle;
    let t = &s.total;
    wtfperf_cache_statistics {
        memory_hits: h.memory_hits,
        memory_misses: h.memory_misses,
        persistent_hits: h.persistent_hits + h.analysis_hits,
        persistent_misses: h.persistent_misses + h.analysis_misses,
        memory_entries: s.memory_entries,
        persistent_entries: s.persistent_entries,
        invalidations: h.invalidations(),
        hit_rate: h.hit_rate(),
        memory_bytes: s.memory_bytes,
        persistent_bytes: s.persistent_bytes,
        sets: h.sets,
        invalidations_file_changed: h.invalidations_file_changed,
        invalidations_dependency_changed: h.invalidations_dependency_changed,
        invalidations_expired: h.invalidations_expired,
        invalidations_evicted: h.invalidations_evicted,
        invalidations_explicit: h.invalidations_explicit,
        total_hits: t.hits(),
        total_misses: t.misses(),
        total_sets: t.sets,
        total_invalidations: t.invalidations(),
        total_hit_rate: t.hit_rate(),
        analysis_entries: s.analysis_entries,
        recovered: s.recovered.is_some(),
    }
}

/// Writes the statistics to `*out`.
///
/// # Safety
/// `cache` is a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_stats(
    cache: *mut wtfperf_cache,
    out: *mut wtfperf_cache_statistics,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: per the caller's contract.
        let stats = unsafe { handle(cache)? }.stats()?;
        // SAFETY: `out` was checked non-NULL.
        unsafe { write_out(out, statistics(&stats)) };
        Ok(WTFPERF_OK)
    })
}

/// The statistics as a JSON object in `*out` (free with `wtfperf_buf_free`):
/// `handle` and `total` (each with memory/persistent/analysis hits and
/// misses, sets, invalidations by reason, `hits`, `misses`, `hit_rate`,
/// `invalidations`), `memory_entries`, `memory_bytes`, `persistent_entries`,
/// `persistent_bytes`, `analysis_entries`, and `recovered` (the message of a
/// corrupt database replaced at open, or null).
///
/// # Safety
/// `cache` is a live handle; `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_stats_json(
    cache: *mut wtfperf_cache,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: per the caller's contract.
        let stats = unsafe { handle(cache)? }.stats()?;
        let text = crate::cache::stats::to_json(&stats);
        // SAFETY: `out` was checked non-NULL.
        unsafe { write_out(out, wtfperf_buf::from_vec(text.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}

/// Why the last lookups of `key` missed, as JSON in `*out` (free with
/// `wtfperf_buf_free`): `last_reason` (null when no miss was recorded, else
/// one of "not_found", "expired", "file_changed", "file_missing",
/// "dependency_changed", "evicted", "invalidated", "cleared"), `misses` (the
/// last few, oldest first, each with `reason`, `detail` and `age_s`), and
/// whether the key is stored now (`stored_in_memory`,
/// `stored_in_persistent`). This handle remembers the misses of the last
/// 1024 keys that missed.
///
/// # Safety
/// `cache` is a live handle; `key` is valid for `key_len` bytes (or NULL with
/// 0); `out` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_cache_explain_miss(
    cache: *mut wtfperf_cache,
    key: *const u8,
    key_len: usize,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: per the caller's contract.
        let cache = unsafe { handle(cache)? };
        // SAFETY: per the caller's contract.
        let key = unsafe { args::bytes(key, key_len, "key")? };
        let text = cache.explain_miss(key)?;
        // SAFETY: `out` was checked non-NULL.
        unsafe { write_out(out, wtfperf_buf::from_vec(text.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}
