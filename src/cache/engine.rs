//! The cache handle: reads go memory -> SQLite (promoting), writes go to
//! both; entries bound to files and dependencies are checked on every read.

use super::entry::{Binding, Entry};
use super::memory::{Lookup, MemoryTier};
use super::paths::PathMap;
use super::stamp::{self, FileStamp, now_ns};
use super::stats::{Counters, MissLog, Reason, Totals};
use super::store::{self, Put, Store};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a cache is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheOptions {
    /// Directory of the persistent tier (created with mode 0700); `None`:
    /// memory only. A relative path is made absolute at open, from the
    /// working directory then.
    pub dir: Option<PathBuf>,
    /// Bound of the memory tier in entries (0 disables the memory tier).
    pub memory_max_entries: usize,
    /// Default time to live in the memory tier, seconds (0: none).
    pub memory_ttl_s: f64,
    /// Default time to live in the persistent tier, seconds (0: none).
    pub persistent_ttl_s: f64,
    /// Bound of the memory tier in bytes of keys + values, plus
    /// [`ENTRY_OVERHEAD`](super::memory::ENTRY_OVERHEAD) bytes per entry (0:
    /// none).
    pub memory_max_bytes: u64,
    /// Bound of the persistent tier in bytes of keys + values (0: none);
    /// least recently used entries are evicted down to 90% of it.
    pub persistent_max_bytes: u64,
    /// Paths inside this directory are stored relative to it.
    pub root: Option<PathBuf>,
    /// How often, at most, a read checks whether other processes changed
    /// the database (then drops the keys they changed from this handle's
    /// memory tier), seconds; 0: on every read.
    pub sync_interval_s: f64,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            dir: None,
            memory_max_entries: 1000,
            memory_ttl_s: 3600.0,
            persistent_ttl_s: 86400.0,
            memory_max_bytes: 0,
            persistent_max_bytes: 0,
            root: None,
            sync_interval_s: 0.01,
        }
    }
}

/// How one entry is stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntryOptions {
    /// Bind the entry to this file's content.
    pub file_path: Option<PathBuf>,
    /// Files the value also depends on (may not exist yet).
    pub deps: Vec<PathBuf>,
    /// Time to live in seconds for both tiers; negative: the tier defaults;
    /// 0: never expires.
    pub ttl_s: f64,
}

impl EntryOptions {
    pub fn new() -> EntryOptions {
        EntryOptions {
            ttl_s: -1.0,
            ..Default::default()
        }
    }
}

/// Outcome of checking an entry's bindings.
pub(super) enum Verdict {
    /// Valid; `Some` carries refreshed stamps to record.
    Valid(Option<(Option<Binding>, Vec<Binding>)>),
    Invalid(Reason, String),
}

/// Bindings and expiry of an entry about to be stored.
struct Built {
    file: Option<Binding>,
    deps: Vec<Binding>,
    expires_ns: i64,
    mem_expires_ns: i64,
}

/// A value found by a lookup: a memory-tier entry, or bytes read from
/// SQLite when there is no memory tier to promote them to.
enum Got {
    Entry(Arc<Entry>),
    Value(Vec<u8>),
}

/// How often cross-process statistics are written, at most.
const STATS_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Pending last-access times written once this many accumulate.
const TOUCH_FLUSH_AT: usize = 1024;
/// The size cap is checked exactly at least this often while writing.
const CAP_RECHECK_EVERY: Duration = Duration::from_secs(1);
/// Pending last-access times are written once the oldest is this old.
const TOUCH_FLUSH_AFTER_NS: i64 = 1_000_000_000;
/// A memory hit re-records the entry's last access for the persistent
/// tier's LRU at most this often.
const TOUCH_EVERY_NS: i64 = 10_000_000_000;
/// Bound on the files followed when expanding dependencies.
pub(super) const MAX_CLOSURE: usize = 10_000;

fn secs_to_ns(s: f64) -> i64 {
    (s * 1e9).min(i64::MAX as f64) as i64
}

fn check_ttl(name: &str, v: f64, allow_negative: bool) -> Result<f64> {
    if !v.is_finite() || (!allow_negative && v < 0.0) {
        return Err(Error::invalid(format!(
            "{name} must be a finite number{}, got {v}",
            if allow_negative { "" } else { " >= 0" }
        )));
    }
    Ok(v)
}

/// The analysis cache. Shareable between threads (`Send + Sync`).
pub struct Cache {
    pub(super) opts: CacheOptions,
    pub(super) paths: PathMap,
    /// The persistent tier's directory, canonical: left out of a bound
    /// directory's tree (its own database changes at every write).
    pub(super) own_dir: Option<PathBuf>,
    pub(super) memory: MemoryTier,
    pub(super) store: Option<Store>,
    pub(super) counters: Counters,
    pub(super) log: MissLog,
    /// Totals already added to the stats table, and when.
    pub(super) flushed: Mutex<(Totals, Instant)>,
    /// Estimate of the persistent tier's bytes and when it was exact.
    cap_state: Mutex<(u64, Instant)>,
    /// Cross-process coherence of the memory tier (persistent caches).
    pub(super) sync: Option<super::sync::Sync>,
    /// Whether reads record last-access times (a handle of the directory
    /// has a size cap).
    track_access: bool,
    /// Whether any entry of the memory tier has dependencies (memory-only
    /// caches skip dependency-graph scans until one does).
    pub(super) has_deps: AtomicBool,
    /// check_file_changes records of a memory-only cache.
    pub(super) watched_mem: Mutex<HashMap<Vec<u8>, Option<FileStamp>>>,
    pub(super) analysis_mem: super::analysis::MemoryAnalysis,
}

/// Which stored row a removal after a failed check may delete.
#[derive(Clone, Copy)]
enum Stored<'a> {
    /// The row holding these bindings (found stale through them).
    Seen(&'a store::Seen),
    /// The row if it has expired by then (ns since the epoch).
    ExpiredBy(i64),
}

impl Cache {
    /// Opens a cache (creating its directory and database when `dir` is set).
    pub fn open(mut opts: CacheOptions) -> Result<Cache> {
        check_ttl("memory_ttl_s", opts.memory_ttl_s, false)?;
        check_ttl("persistent_ttl_s", opts.persistent_ttl_s, false)?;
        check_ttl("sync_interval_s", opts.sync_interval_s, false)?;
        if opts.dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(Error::invalid("dir is an empty path"));
        }
        // A relative `dir` is taken from the working directory of the open,
        // once: the database, its snapshots and everything else stay there
        // when the host changes directory later.
        if let Some(dir) = &opts.dir {
            let abs = std::path::absolute(dir)
                .map_err(|e| Error::io(format!("dir {}", dir.display()), &e))?;
            opts.dir = Some(abs);
        }
        let paths = PathMap::new(opts.root.as_deref())?;
        let store = match &opts.dir {
            Some(dir) => Some(Store::open(dir)?),
            None => None,
        };
        let mem_bytes = usize::try_from(opts.memory_max_bytes).unwrap_or(usize::MAX);
        let sync = match &store {
            Some(s) => Some(super::sync::Sync::open(s, opts.sync_interval_s)?),
            None => None,
        };
        // Reads are recorded for the LRU order only once some handle of the
        // directory has a size cap (else nothing ever evicts by it).
        let track_access = match &store {
            Some(s) if opts.persistent_max_bytes > 0 => {
                s.write(store::mark_lru_tracked)?;
                true
            }
            Some(s) => s.read(store::lru_tracked)?,
            None => false,
        };
        let own_dir = opts
            .dir
            .as_ref()
            .and_then(|d| std::fs::canonicalize(d).ok());
        Ok(Cache {
            own_dir,
            sync,
            track_access,
            memory: MemoryTier::new(opts.memory_max_entries, mem_bytes),
            paths,
            store,
            counters: Counters::default(),
            log: MissLog::default(),
            flushed: Mutex::new((Totals::default(), Instant::now())),
            cap_state: Mutex::new((u64::MAX, Instant::now())),
            has_deps: AtomicBool::new(false),
            watched_mem: Mutex::new(HashMap::new()),
            analysis_mem: Default::default(),
            opts,
        })
    }

    pub fn options(&self) -> &CacheOptions {
        &self.opts
    }

    /// The message of a corrupt database replaced at open, if any.
    pub fn recovered(&self) -> Option<&str> {
        self.store.as_ref().and_then(|s| s.recovered.as_deref())
    }

    /// The stored form of a host path (relative to `root` when inside it).
    pub fn stored_path(&self, path: &Path) -> Vec<u8> {
        self.paths.key(path)
    }

    // ---- writes ----

    /// Runs `f` in one write transaction, with the statistics flush (when
    /// due) and the size cap applied in the same transaction. Entries
    /// evicted by the cap are dropped from memory and counted.
    pub(super) fn write<T>(
        &self,
        force_stats: bool,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.write_then(force_stats, f, || {})
    }

    /// [`Cache::write`], then `then` (memory updates) once committed and
    /// before any other write of this handle commits, so two threads writing
    /// one key leave memory as the database is; entries the cap evicted are
    /// dropped from memory after `then` (an entry evicted by its own write
    /// is not kept there).
    pub(super) fn write_then<T>(
        &self,
        force_stats: bool,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        then: impl FnOnce(),
    ) -> Result<T> {
        let store = self.store.as_ref().expect("persistent tier");
        let cap = self.opts.persistent_max_bytes;
        let (out, evicted) = store.write_then(
            |c| {
                let out = f(c)?;
                self.flush_stats(c, force_stats)?;
                let mut evicted = Vec::new();
                if cap > 0 && self.cap_check_due() {
                    let (keys, left) = store::evict_to(c, cap)?;
                    evicted = keys;
                    let mut cap_state = self.cap_state.lock().unwrap_or_else(|e| e.into_inner());
                    *cap_state = (left, Instant::now());
                }
                Ok((out, evicted))
            },
            |(_, evicted)| {
                then();
                if !evicted.is_empty() {
                    self.publish(|| {
                        for k in evicted {
                            self.memory.remove(k);
                        }
                    });
                }
            },
        )?;
        for k in &evicted {
            self.log
                .removed(k, Reason::Evicted, "persistent tier over its size cap");
        }
        self.counters
            .invalidated(Reason::Evicted, evicted.len() as u64);
        Ok(out)
    }

    /// Whether the size cap must be checked now (an O(entries) scan): when
    /// this handle's estimate of the total (the last exact total plus what
    /// it wrote since) exceeds the cap, or every [`CAP_RECHECK_EVERY`] (other
    /// processes write too).
    fn cap_check_due(&self) -> bool {
        let (est, at) = *self.cap_state.lock().unwrap_or_else(|e| e.into_inner());
        est > self.opts.persistent_max_bytes || at.elapsed() >= CAP_RECHECK_EVERY
    }

    /// Adds bytes written to the estimate of the persistent total.
    fn wrote_bytes(&self, n: u64) {
        if self.opts.persistent_max_bytes > 0 {
            let mut st = self.cap_state.lock().unwrap_or_else(|e| e.into_inner());
            st.0 = st.0.saturating_add(n);
        }
    }

    /// Runs one statement `f` (with its triggers) as its own transaction
    /// when nothing else is due in a write (statistics, size cap, pending
    /// accesses); else as [`Cache::write`]. Saves `BEGIN`/`COMMIT` round
    /// trips on the single-`set` path.
    pub(super) fn write_one<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.write_one_then(f, || {})
    }

    /// [`Cache::write_one`], then `then` as in [`Cache::write_then`].
    pub(super) fn write_one_then<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
        then: impl FnOnce(),
    ) -> Result<T> {
        let stats_due = self
            .flushed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .elapsed()
            >= STATS_FLUSH_EVERY;
        if stats_due || self.opts.persistent_max_bytes > 0 {
            return self.write_then(false, f, then);
        }
        self.store
            .as_ref()
            .expect("persistent tier")
            .write_one_then(f, |_| then())
    }

    /// Runs the unit tests' interleaving hook for `p` (see `failpoint`).
    #[cfg(test)]
    pub(super) fn failpoint(&self, p: super::failpoint::Point) {
        if let Some(store) = &self.store {
            store.failpoints.hit(p);
        }
    }

    fn flush_stats(&self, c: &Connection, force: bool) -> rusqlite::Result<()> {
        let mut flushed = self.flushed.lock().unwrap_or_else(|e| e.into_inner());
        if !force && flushed.1.elapsed() < STATS_FLUSH_EVERY {
            return Ok(());
        }
        let now = self.handle_totals();
        let delta = now.minus(&flushed.0);
        store::add_stats(c, &delta.fields())?;
        Cache::prune_changes(c, now_ns())?;
        *flushed = (now, Instant::now());
        Ok(())
    }

    pub(super) fn handle_totals(&self) -> Totals {
        Totals::snapshot(&self.counters, self.memory.counts())
    }

    /// Expiry times (everywhere, memory tier) of an entry stored now.
    fn expiries(&self, now: i64, ttl_s: f64) -> (i64, i64) {
        let at = |ttl: f64| {
            if ttl == 0.0 {
                i64::MAX
            } else {
                now.saturating_add(secs_to_ns(ttl))
            }
        };
        if ttl_s >= 0.0 {
            let e = at(ttl_s);
            return (e, e);
        }
        let mem = at(self.opts.memory_ttl_s);
        if self.store.is_some() {
            let e = at(self.opts.persistent_ttl_s);
            (e, mem.min(e))
        } else {
            (mem, mem)
        }
    }

    fn build(&self, opts: &EntryOptions, now: i64) -> Result<Built> {
        check_ttl("ttl_s", opts.ttl_s, true)?;
        let (file, deps) = self.bindings(opts)?;
        let (expires_ns, mem_expires_ns) = self.expiries(now, opts.ttl_s);
        Ok(Built {
            file,
            deps,
            expires_ns,
            mem_expires_ns,
        })
    }

    pub(super) fn remember(&self, key: &[u8], entry: Arc<Entry>) {
        if !entry.deps.is_empty() {
            self.has_deps.store(true, Relaxed);
        }
        if self.store.is_none() && self.memory.too_big(key, &entry) {
            // Nowhere to keep it: a later miss says why.
            self.log.removed(
                key,
                Reason::Evicted,
                "not kept: larger than the memory tier's bound (memory_max_bytes), and no persistent tier",
            );
            self.counters.invalidated(Reason::Evicted, 1);
        }
        let (evicted, _) = self.memory.insert(key, entry);
        if self.store.is_none() && !evicted.is_empty() {
            for (k, _) in &evicted {
                self.log.removed(k, Reason::Evicted, "memory tier full");
            }
            self.counters
                .invalidated(Reason::Evicted, evicted.len() as u64);
        }
    }

    /// Stores `value` under `key`; returns once it is committed.
    pub fn set(&self, key: &[u8], value: &[u8], opts: &EntryOptions) -> Result<()> {
        self.set_many(&[(key, value, opts)])
    }

    /// Stores many entries, committed in one transaction.
    pub fn set_many(&self, items: &[(&[u8], &[u8], &EntryOptions)]) -> Result<()> {
        let now = now_ns();
        let built = items
            .iter()
            .map(|(_, _, opts)| self.build(opts, now))
            .collect::<Result<Vec<Built>>>()?;
        // The memory tier's update: made once the write committed and before
        // any other write of this handle commits (see `Cache::write_then`).
        let update_memory = || {
            #[cfg(test)]
            self.failpoint(super::failpoint::Point::MemoryUpdate);
            // Logged here, before the cap's evictions of this write are.
            self.log.stored_all(items.iter().map(|(k, _, _)| *k));
            if !self.memory.enabled() {
                if self.store.is_none() {
                    // A cache with neither tier keeps nothing: a later
                    // miss says why.
                    for (key, _, _) in items {
                        self.log.removed(
                            key,
                            Reason::Evicted,
                            "not kept: the memory tier is off (memory_max_entries 0) and there is no persistent tier",
                        );
                    }
                    self.counters
                        .invalidated(Reason::Evicted, items.len() as u64);
                }
                return;
            }
            if self.store.is_some() && items.len() > 1 {
                // Bulk writes go around the memory tier (it keeps its hot
                // set; a later get promotes): only older copies are dropped.
                self.publish(|| {
                    for (key, _, _) in items {
                        self.memory.remove(key);
                    }
                });
                return;
            }
            let entries: Vec<(&[u8], Arc<Entry>)> = items
                .iter()
                .zip(&built)
                .map(|((key, value, _), b)| {
                    let entry = Entry::new(
                        Arc::from(*value),
                        b.expires_ns,
                        b.mem_expires_ns,
                        b.file.clone(),
                        b.deps.clone(),
                    );
                    (*key, Arc::new(entry))
                })
                .collect();
            self.publish(|| {
                for (key, entry) in entries {
                    self.remember(key, entry);
                }
            });
        };
        if self.store.is_some() {
            let puts: Vec<Put<'_>> = items
                .iter()
                .zip(&built)
                .map(|((key, value, _), b)| Put {
                    key,
                    value,
                    expires_ns: b.expires_ns,
                    file: b.file.as_ref(),
                    deps: &b.deps,
                })
                .collect();
            self.wrote_bytes(
                puts.iter()
                    .map(|p| (p.key.len() + p.value.len()) as u64)
                    .sum(),
            );
            if puts.len() == 1 && puts[0].deps.is_empty() {
                self.write_one_then(|c| store::put_many(c, &puts, now), update_memory)?;
            } else {
                self.write_then(false, |c| store::put_many(c, &puts, now), update_memory)?;
            }
        } else {
            update_memory();
        }
        Counters::add(&self.counters.sets, items.len() as u64);
        Ok(())
    }

    // ---- reads ----

    /// The value of `key` if a valid entry exists (`None`: a miss; call
    /// [`Cache::explain_miss`] for why).
    pub fn get(&self, key: &[u8]) -> Result<Option<Arc<[u8]>>> {
        Ok(self.get_entry(key)?.map(|got| match got {
            Got::Entry(e) => e.value.clone(),
            Got::Value(v) => Arc::from(v),
        }))
    }

    /// Like [`Cache::get`], handing the value to `f` without cloning it
    /// (`f` may run under a memory shard's lock: it must only copy).
    #[inline]
    pub fn get_with<T>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let mut copy = Some(f);
        Ok(self.lookup(key, &mut copy)?.map(|found| match found {
            Ok(copied) => copied,
            Err(got) => {
                let f = copy.expect("the copy runs only when it returns a value");
                match &got {
                    Got::Entry(e) => f(&e.value),
                    Got::Value(v) => f(v),
                }
            }
        }))
    }

    /// The value of `key` in a `Vec` with room for one more byte (so the C
    /// boundary can append its NUL without reallocating): one copy from
    /// the memory tier (under the shard lock) or from SQLite.
    #[inline]
    pub fn get_vec(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        fn copy(v: &[u8]) -> Vec<u8> {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.extend_from_slice(v);
            out
        }
        self.get_into(key, copy, |v| v)
    }

    /// Like [`Cache::get_with`], but a value read from SQLite (already a
    /// `Vec` of its own) is handed to `owned` instead of being copied by
    /// `copy` (`copy` may run under a memory shard's lock: it must only
    /// copy). The C boundary builds its output here, so a hit moves only
    /// what `T` is through the lookup (a unit: nothing).
    #[inline]
    pub fn get_into<T>(
        &self,
        key: &[u8],
        copy: impl FnOnce(&[u8]) -> T,
        owned: impl FnOnce(Vec<u8>) -> T,
    ) -> Result<Option<T>> {
        let mut copy = Some(copy);
        Ok(self.lookup(key, &mut copy)?.map(|found| match found {
            Ok(copied) => copied,
            Err(Got::Value(v)) => owned(v),
            Err(Got::Entry(e)) => {
                let f = copy.expect("the copy runs only when it returns a value");
                f(&e.value)
            }
        }))
    }

    /// The lookup of [`Cache::get_with`] and [`Cache::get_into`]: `Ok(t)`
    /// when a plain memory hit ran `copy` under the shard lock (it is then
    /// taken), else `Err` with what was found for the caller to copy.
    #[inline]
    fn lookup<T, F: FnOnce(&[u8]) -> T>(
        &self,
        key: &[u8],
        copy: &mut Option<F>,
    ) -> Result<Option<std::result::Result<T, Got>>> {
        // Only a cache that checks for other processes' changes needs the
        // time before the lookup; else it is read when needed (a plain
        // memory hit on an entry without a memory expiry reads no clock).
        let early = if self.sync.is_some() {
            let bound = self.now_bound();
            self.maybe_sync(bound)?;
            Some(bound)
        } else {
            None
        };
        let bound = || early.unwrap_or_else(|| self.now_bound());
        // With access tracking, a hit must see its entry (last touch).
        let mut none = None;
        let slot = if self.track_access { &mut none } else { copy };
        let (copied, found) = self.memory.lookup_copy(key, bound, slot);
        if let Some(copied) = copied {
            return Ok(Some(Ok(copied)));
        }
        Ok(self.lookup_rest(key, found, bound())?.map(Err))
    }

    /// What [`Cache::lookup`] does past a copied memory hit: out of line,
    /// so the inlined hit path stays a few cache lines of code.
    #[inline(never)]
    fn lookup_rest(&self, key: &[u8], found: Lookup, bound: i64) -> Result<Option<Got>> {
        Ok(match found {
            Lookup::Hit(e) => {
                self.touch_from_memory(key, &e, bound)?;
                Some(Got::Entry(e))
            }
            Lookup::Bound(e) => self.get_bound(key, e, bound)?.map(Got::Entry),
            other => self.get_slow(key, other, bound)?,
        })
    }

    /// An upper bound of the current time for a read: the coarse clock
    /// when the read also checks for other processes' changes (the sync
    /// interval is measured with it), else the cheaper, looser bound (a
    /// memory-only cache: memory expiry is checked against the precise
    /// clock when the bound does not settle it).
    #[inline]
    fn now_bound(&self) -> i64 {
        if self.sync.is_some() {
            stamp::now_upper_bound_ns()
        } else {
            stamp::now_loose_upper_bound_ns()
        }
    }

    #[inline]
    fn get_entry(&self, key: &[u8]) -> Result<Option<Got>> {
        let bound = self.now_bound();
        self.maybe_sync(bound)?;
        match self.memory.lookup(key, bound) {
            Lookup::Hit(e) => {
                self.touch_from_memory(key, &e, bound)?;
                Ok(Some(Got::Entry(e)))
            }
            Lookup::Bound(e) => Ok(self.get_bound(key, e, bound)?.map(Got::Entry)),
            other => self.get_slow(key, other, bound),
        }
    }

    /// A memory hit on an entry bound to files: check them.
    fn get_bound(&self, key: &[u8], e: Arc<Entry>, now: i64) -> Result<Option<Arc<Entry>>> {
        let verdict = self.validate(e.file.as_ref(), &e.deps)?;
        #[cfg(test)]
        self.failpoint(super::failpoint::Point::Checked);
        match verdict {
            Verdict::Valid(refresh) => {
                self.memory.count(key, true);
                if let Some((file, deps)) = refresh {
                    let fresh = Arc::new(Entry::new(
                        e.value.clone(),
                        e.expires_ns,
                        e.mem_expires_ns,
                        file.clone(),
                        deps.clone(),
                    ));
                    self.memory.replace_if(key, &e, fresh);
                    if self.store.is_some() {
                        let seen = store::Seen::of(e.file.as_ref(), &e.deps);
                        self.write(false, |c| {
                            store::refresh(c, key, &seen, file.as_ref(), &deps)
                        })?;
                    }
                }
                self.touch_from_memory(key, &e, now)?;
                Ok(Some(e))
            }
            Verdict::Invalid(reason, detail) => {
                self.memory.count(key, false);
                let seen = store::Seen::of(e.file.as_ref(), &e.deps);
                self.drop_invalid(key, e.file.as_ref(), reason, &detail, Stored::Seen(&seen))?;
                self.log.miss(key, reason, detail, now_ns());
                Ok(None)
            }
        }
    }

    /// A memory miss (counted by the lookup): expired, or go to SQLite.
    fn get_slow(&self, key: &[u8], found: Lookup, bound: i64) -> Result<Option<Got>> {
        // `bound` is an upper bound of now: only deadlines before it need
        // the (slower) precise clock.
        let expired = |at: i64| at <= bound && at <= now_ns();
        let now = bound;
        if let Lookup::Expired(e) = &found
            && expired(e.expires_ns)
        {
            let detail = "time to live passed".to_string();
            let stored = Stored::ExpiredBy(now_ns());
            self.drop_invalid(key, None, Reason::Expired, &detail, stored)?;
            self.log.miss(key, Reason::Expired, detail, now_ns());
            return Ok(None);
        }
        let Some(store) = &self.store else {
            let (reason, detail) = self.log.absent_reason(key);
            self.log.miss(key, reason, detail, now_ns());
            return Ok(None);
        };
        let epoch = self.epoch();
        let Some(row) = store.read(|c| store::get(c, key))? else {
            Counters::add(&self.counters.persistent_misses, 1);
            let (reason, detail) = self.log.absent_reason(key);
            self.log.miss(key, reason, detail, now_ns());
            return Ok(None);
        };
        let verdict = if expired(row.expires_ns) {
            Verdict::Invalid(Reason::Expired, "time to live passed".into())
        } else {
            self.validate(row.file.as_ref(), &row.deps)?
        };
        #[cfg(test)]
        self.failpoint(super::failpoint::Point::Checked);
        let (file, deps) = match verdict {
            Verdict::Invalid(reason, detail) => {
                Counters::add(&self.counters.persistent_misses, 1);
                let stored = match reason {
                    Reason::Expired => Stored::ExpiredBy(now_ns()),
                    _ => Stored::Seen(&row.seen),
                };
                self.drop_invalid(key, row.file.as_ref(), reason, &detail, stored)?;
                self.log.miss(key, reason, detail, now_ns());
                return Ok(None);
            }
            Verdict::Valid(Some((file, deps))) => {
                self.write(false, |c| {
                    store::refresh(c, key, &row.seen, file.as_ref(), &deps)
                })?;
                (file, deps)
            }
            Verdict::Valid(None) => (row.file, row.deps),
        };
        Counters::add(&self.counters.persistent_hits, 1);
        self.touch(store, key, now)?;
        if !self.memory.enabled() {
            return Ok(Some(Got::Value(row.value)));
        }
        let value: Arc<[u8]> = Arc::from(row.value);
        let mem_expires_ns = if self.opts.memory_ttl_s > 0.0 {
            row.expires_ns
                .min(now.saturating_add(secs_to_ns(self.opts.memory_ttl_s)))
        } else {
            row.expires_ns
        };
        let entry = Arc::new(Entry::new(
            value,
            row.expires_ns,
            mem_expires_ns,
            file,
            deps,
        ));
        #[cfg(test)]
        self.failpoint(super::failpoint::Point::Promote);
        self.promote(epoch, key, entry.clone());
        Ok(Some(Got::Entry(entry)))
    }

    /// Records a memory hit as an access for the persistent tier's LRU, at
    /// most every [`TOUCH_EVERY_NS`] per entry (memory hits stay lock-free
    /// of SQLite).
    #[inline]
    fn touch_from_memory(&self, key: &[u8], e: &Entry, now: i64) -> Result<()> {
        if !self.track_access {
            return Ok(());
        }
        if let Some(store) = &self.store {
            let last = e.last_touch.load(Relaxed);
            if now - last > TOUCH_EVERY_NS {
                e.last_touch.store(now, Relaxed);
                return self.touch(store, key, now);
            }
        }
        Ok(())
    }

    /// Records a read for the persistent tier's LRU order (once any handle
    /// of the directory has a size cap). With a size cap of its own, a
    /// handle writes the access at once; others batch accesses into their
    /// next write, at most
    /// [`TOUCH_FLUSH_AFTER_NS`] late or [`TOUCH_FLUSH_AT`] deep.
    fn touch(&self, store: &Store, key: &[u8], now: i64) -> Result<()> {
        if !self.track_access {
            return Ok(());
        }
        let (pending, since) = store.touch(key, now);
        if self.opts.persistent_max_bytes > 0
            || pending >= TOUCH_FLUSH_AT
            || now - since >= TOUCH_FLUSH_AFTER_NS
        {
            self.write(false, |_| Ok(()))?;
        }
        Ok(())
    }

    /// Removes an entry found invalid; a dependency change also removes,
    /// transitively, the entries that depend on its file.
    fn drop_invalid(
        &self,
        key: &[u8],
        file: Option<&Binding>,
        reason: Reason,
        detail: &str,
        stored: Stored<'_>,
    ) -> Result<()> {
        self.log.removed(key, reason, detail);
        let mut removed = 1u64;
        let cascade = (reason == Reason::DependencyChanged)
            .then(|| file.map(|f| f.path.clone()))
            .flatten();
        if self.store.is_some() {
            let mut extra = Vec::new();
            self.write(false, |c| {
                // Only the row that was found stale: a key stored again
                // meanwhile (another handle, another process) stays.
                match stored {
                    Stored::Seen(seen) => store::delete_seen(c, key, seen)?,
                    Stored::ExpiredBy(at) => store::delete_if_expired(c, key, at)?,
                };
                if let Some(p) = &cascade {
                    extra = self.remove_dependents(
                        Some(c),
                        std::slice::from_ref(p),
                        &HashSet::from([key.to_vec()]),
                    )?;
                }
                Ok(())
            })?;
            self.publish(|| self.memory.remove(key));
            removed += self.forget(&extra, reason, detail);
        } else if let Some(p) = &cascade {
            self.memory.remove(key);
            let extra = self
                .remove_dependents(
                    None,
                    std::slice::from_ref(p),
                    &HashSet::from([key.to_vec()]),
                )
                .map_err(|e| Error::store(e.to_string()))?;
            removed += self.forget(&extra, reason, detail);
        } else {
            self.memory.remove(key);
        }
        self.counters.invalidated(reason, removed);
        Ok(())
    }

    /// Drops keys (already deleted from the store) from memory and records
    /// why; returns how many.
    pub(super) fn forget(&self, keys: &[Vec<u8>], reason: Reason, detail: &str) -> u64 {
        self.publish(|| {
            for k in keys {
                self.memory.remove(k);
            }
        });
        for k in keys {
            self.log.removed(k, reason, detail);
        }
        keys.len() as u64
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        // Best effort: pending statistics and last-access times.
        if let Some(store) = &self.store {
            let _ = self.write(true, |_| Ok(()));
            store.checkpoint_if_large();
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cache::failpoint::{self, Event, Point, Script};

    pub(in crate::cache) fn open_persistent(opts: CacheOptions, dir: &Path) -> Arc<Cache> {
        Arc::new(
            Cache::open(CacheOptions {
                dir: Some(dir.to_path_buf()),
                ..opts
            })
            .unwrap(),
        )
    }

    /// What the database holds under `key` (values are text here).
    pub(in crate::cache) fn stored(c: &Cache, key: &[u8]) -> Option<String> {
        let store = c.store.as_ref().unwrap();
        let row = store.read(|conn| store::get(conn, key)).unwrap();
        row.map(|row| String::from_utf8_lossy(&row.value).into_owned())
    }

    /// What the memory tier holds under `key`.
    pub(in crate::cache) fn in_memory(c: &Cache, key: &[u8]) -> Option<String> {
        match c.memory.lookup(key, now_ns()) {
            Lookup::Hit(e) => Some(String::from_utf8_lossy(&e.value).into_owned()),
            Lookup::Absent => None,
            _ => panic!("an unbound entry that does not expire for an hour"),
        }
    }

    /// A persistent cache (in `dir`) whose writer `a`, started here, sets
    /// `k` to "a" and is held once that committed, before its memory update
    /// (holding the connection since f9d4eef); returned once `a` is there.
    pub(in crate::cache) fn writer_a_held_after_its_commit(
        opts: CacheOptions,
        dir: &Path,
    ) -> (Arc<Cache>, Script, std::thread::JoinHandle<()>) {
        let c = open_persistent(opts, dir);
        let script = Script::install(
            &c.store.as_ref().unwrap().failpoints,
            &[("a", Point::MemoryUpdate)],
        );
        let a = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "a", move || {
                c.set(b"k", b"a", &EntryOptions::new()).unwrap()
            })
        };
        script.wait_for("a's commit", |e| {
            *e == Event::Reached("a".into(), Point::MemoryUpdate)
        });
        (c, script, a)
    }

    /// Writer `a` sets `k` to "a" and is held once that committed, before
    /// its memory update; writer `b` then runs `second` on `k`, and `a` is
    /// let go only when `b` either waits for the connection or returned.
    /// With the memory update inside the connection's lock (f9d4eef), `a`
    /// holds the connection while held, so `b` waits and commits after
    /// `a`'s memory update; with the update after the lock, as before, `b`
    /// commits and updates memory while `a` is held, and `a`'s older value
    /// lands in memory last, unlike the database. No timing is involved:
    /// the interleaving is the same every run.
    fn hold_a_then_run_b(second: impl FnOnce(&Cache) + Send + 'static) {
        let dir = tempfile::tempdir().unwrap();
        let (c, script, a) = writer_a_held_after_its_commit(CacheOptions::default(), dir.path());
        let b = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "b", move || second(&c))
        };
        let seen = script.wait_for("b waiting for the connection or done", |e| {
            *e == Event::Reached("b".into(), Point::ConnectionWait)
                || *e == Event::Finished("b".into())
        });
        script.release("a", Point::MemoryUpdate);
        script.join("a", a);
        script.join("b", b);
        let (memory, db) = (in_memory(&c, b"k"), stored(&c, b"k"));
        assert!(
            memory.is_none() || memory == db,
            "memory holds {memory:?}, the database {db:?} (b: {seen:?})"
        );
        let got = c
            .get(b"k")
            .unwrap()
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        assert_eq!(got, db, "a get serves what the database holds");
    }

    /// A get that checked an entry (memory tier off: read from the
    /// database) is held before it writes what it found; meanwhile another
    /// handle stores the key again with `second_entry`; then the get goes
    /// on. Returns the cache and what the get returned.
    fn get_held_while_another_handle_sets(
        dir: &Path,
        first: &EntryOptions,
        between: impl FnOnce(),
        second_entry: &EntryOptions,
    ) -> (Arc<Cache>, Option<String>) {
        let opts = CacheOptions {
            memory_max_entries: 0,
            ..CacheOptions::default()
        };
        let c = open_persistent(opts.clone(), &dir.join("c"));
        c.set(b"k", b"old", first).unwrap();
        between();
        let script = Script::install(
            &c.store.as_ref().unwrap().failpoints,
            &[("a", Point::Checked)],
        );
        let a = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "a", move || {
                c.get(b"k")
                    .unwrap()
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
            })
        };
        script.wait_for("a's check", |e| {
            *e == Event::Reached("a".into(), Point::Checked)
        });
        let other = open_persistent(opts, &dir.join("c"));
        other.set(b"k", b"new", second_entry).unwrap();
        script.release("a", Point::Checked);
        let got = script.join("a", a);
        (c, got)
    }

    /// A get that found the entry's file unchanged but its stamp to
    /// refresh must not put that stamp (and the old entry's dependencies)
    /// on an entry stored meanwhile: the new entry's dependency then
    /// changing went unseen, and the new value was served stale.
    #[test]
    fn a_stamp_refresh_never_lands_on_an_entry_stored_meanwhile() {
        use crate::cache::stamp::testing::{chmod, until_ctime_moves, write_old};
        let dir = tempfile::tempdir().unwrap();
        let (f, d) = (dir.path().join("f.txt"), dir.path().join("d.txt"));
        write_old(&f, b"file");
        std::fs::write(&d, b"dep v1").unwrap();
        let first = EntryOptions {
            file_path: Some(f.clone()),
            ..EntryOptions::new()
        };
        let second = EntryOptions {
            deps: vec![d.clone()],
            ..EntryOptions::new()
        };
        // A chmod: the get re-hashes the file (same content) and refreshes
        // its stamp.
        let chmod = || until_ctime_moves(&f, || chmod(&f, 0o600));
        let (c, got) = get_held_while_another_handle_sets(dir.path(), &first, chmod, &second);
        assert_eq!(got.as_deref(), Some("old"));
        std::fs::write(&d, b"dep v2, changed").unwrap();
        assert_eq!(
            c.get(b"k").unwrap(),
            None,
            "the new entry's dependency changed"
        );
    }

    /// A get that found the entry stale removes that entry only, never one
    /// stored meanwhile by another handle (a committed write was lost).
    #[test]
    fn a_stale_entry_removed_never_takes_one_stored_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.txt");
        std::fs::write(&f, b"file v1").unwrap();
        let first = EntryOptions {
            file_path: Some(f.clone()),
            ..EntryOptions::new()
        };
        let (c, got) = get_held_while_another_handle_sets(
            dir.path(),
            &first,
            || std::fs::write(&f, b"file v2").unwrap(),
            &EntryOptions::new(),
        );
        assert_eq!(got, None, "the old entry was stale");
        assert_eq!(c.get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
    }

    /// A set racing a set, the interleaving tests/cache.rs's
    /// `racing_writers_of_one_key_leave_memory_as_the_database_is` samples
    /// (it caught the bug in some runs), forced: before f9d4eef memory kept
    /// "a" while the database held "b", every run.
    #[test]
    fn held_writer_then_racing_set_leave_memory_as_the_database_is() {
        hold_a_then_run_b(|c| c.set(b"k", b"b", &EntryOptions::new()).unwrap());
    }

    /// The same with an invalidate racing the set: before f9d4eef memory
    /// kept "a" (served for its TTL) while the database had no entry.
    #[test]
    fn held_writer_then_racing_invalidate_leave_memory_as_the_database_is() {
        hold_a_then_run_b(|c| {
            c.invalidate(b"k").unwrap();
        });
    }
}
