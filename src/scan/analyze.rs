//! Incremental analysis: scan + cache + the host's analyzer.
//!
//! At the start, every stored result of this analyzer under this root is
//! loaded in one pass (no per-key lookups on the hot path). On the workers,
//! each file is `stat`ed: when size, mtime, inode and ctime equal what was
//! recorded and the record is not racy, the stored result is the answer and
//! nothing is read (a record without a ctime, stored by an older version,
//! never is: its file is re-hashed once and the record refreshed).
//! Otherwise the file is read and hashed; the same hash is still a hit (its
//! record is re-stored with the new stamp), a different one is a miss that
//! goes to the host's analyzer. New results are stored in batches
//! of [`STORE_BATCH`] records, one transaction each. Nothing is written for
//! unchanged files. Results of files that disappeared are removed at the end
//! of a complete run; a file whose analysis fails loses its old result.

use super::engine::{self, Ctx, Delivery, Event, Found, Process};
use super::read::FileStat;
use super::scanner::{ScanProcess, Scanned, too_large};
use super::summary::Counters;
use super::{Control, FileEntry, IssueKind, Progress, ScanIssue, ScanOptions, ScanSummary};
use crate::cache::analysis::{AnalysisIndex, KnownRecord};
use crate::cache::{AnalysisRecord, Cache, FileStamp};
use crate::error::{Error, Result};
use std::os::unix::ffi::OsStrExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

/// New results are committed every this many records (and at the end).
pub const STORE_BATCH: usize = 256;

/// What the host's analyzer says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The result was written to the output buffer: deliver and store it.
    Done,
    /// The analysis failed: reported as an issue, counted, not cached.
    Failed(String),
    /// Stop the whole run (the file is neither delivered nor cached).
    Stop,
}

/// The host side of [`analyze()`]: every method runs on the calling thread,
/// one call at a time.
pub trait AnalyzeHost {
    /// Analyzes a file that had no valid cached result; writes the result
    /// into `out` (empty on entry). `file.content` is always present.
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict;
    /// Every file's result: computed now (`cached` false) or from the cache
    /// (`cached` true; then `file.content` is `None`: it was not read).
    fn on_result(&mut self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control;
    /// A file that could not be read, was skipped, or failed analysis.
    fn on_issue(&mut self, _issue: &ScanIssue) {}
    /// At most ~10 a second, and once at the end.
    fn on_progress(&mut self, _progress: &Progress) {}
}

/// The host side of [`analyze_parallel`]: methods run on worker threads,
/// concurrently (on the calling thread, in path order, when `sorted`).
pub trait ParallelAnalyzeHost: Sync {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict;
    fn on_result(&self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control;
    fn on_issue(&self, _issue: &ScanIssue) {}
    fn on_progress(&self, _progress: &Progress) {}
}

/// A parallel host used through the one-at-a-time interface.
struct Shared<'a>(&'a dyn ParallelAnalyzeHost);

impl AnalyzeHost for Shared<'_> {
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        self.0.analyze(file, out)
    }
    fn on_result(&mut self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        self.0.on_result(file, result, cached)
    }
    fn on_issue(&mut self, issue: &ScanIssue) {
        self.0.on_issue(issue)
    }
    fn on_progress(&mut self, progress: &Progress) {
        self.0.on_progress(progress)
    }
}

/// A file on its way to the host.
pub(crate) struct Analyzed<'k> {
    file: Scanned,
    /// When the content was hashed (ns since the epoch).
    hashed_ns: i64,
    /// The answer from the cache, if any: the stored result (only that:
    /// an event is moved a few times on its way, the whole record with it).
    cached: Option<&'k [u8]>,
    /// A cache hit whose record needs the new stamp stored.
    refresh: bool,
}

/// The stored records, in the cache's compact form (used as is: no copy).
type KnownMap = AnalysisIndex;

/// At most this many files wait for the records to load.
const DEFER_MAX: usize = 1 << 16;

/// The stored records, loaded on a thread of their own while the walk
/// starts (the load is one pass over the table, but not free: it overlaps
/// the first `stat`s instead of preceding them).
struct Loading {
    map: OnceLock<KnownMap>,
    /// One bit per record of `map`: set when this run met its file. Set
    /// before `map`, so it is there whenever `map` is.
    met: OnceLock<Vec<AtomicU64>>,
    error: Mutex<Option<Error>>,
    lock: Mutex<()>,
    ready: Condvar,
}

impl Loading {
    fn new() -> Loading {
        Loading {
            map: OnceLock::new(),
            met: OnceLock::new(),
            error: Mutex::new(None),
            lock: Mutex::new(()),
            ready: Condvar::new(),
        }
    }

    fn set(&self, loaded: Result<KnownMap>) {
        let map = loaded.unwrap_or_else(|err| {
            lock(&self.error).get_or_insert(err);
            AnalysisIndex::default()
        });
        let words = map.len().div_ceil(64);
        let _ = self
            .met
            .set((0..words).map(|_| AtomicU64::new(0)).collect());
        let _ = self.map.set(map);
        let _guard = lock(&self.lock);
        self.ready.notify_all();
    }

    /// Notes that this run met the file of record `slot`. A load and a
    /// store, not a locked read-modify-write (which cost about a fifth of a
    /// warm lookup): two threads marking the same word at once may lose a
    /// bit, and a record whose bit was lost only gets its file `stat`ed at
    /// the end (it exists: nothing is removed).
    fn mark_met(&self, slot: usize) {
        if let Some(word) = self.met.get().and_then(|m| m.get(slot / 64)) {
            let bit = 1 << (slot % 64);
            let w = word.load(Relaxed);
            if w & bit == 0 {
                word.store(w | bit, Relaxed);
            }
        }
    }

    /// The records whose file this run did not meet (once the map is set).
    fn unmet<'a>(&'a self, map: &'a KnownMap) -> impl Iterator<Item = KnownRecord<'a>> {
        let met = self.met.get().map(Vec::as_slice).unwrap_or(&[]);
        // Word by word: a run over an unchanged tree looks at no record.
        (0..map.len().div_ceil(64)).flat_map(move |w| {
            let bits = met.get(w).map_or(0, |b| b.load(Relaxed));
            (w * 64..(w * 64 + 64).min(map.len()))
                .filter(move |i| bits & (1 << (i % 64)) == 0)
                .filter_map(|i| map.record_at(i))
        })
    }

    fn wait(&self) -> &KnownMap {
        let mut guard = lock(&self.lock);
        loop {
            if let Some(map) = self.map.get() {
                return map;
            }
            guard = self
                .ready
                .wait_timeout(guard, std::time::Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Lists of files put off while the records load, one per thread (about):
/// each thread pushes to its own, so the threads do not take turns at one
/// lock for every file of the first milliseconds.
#[derive(Default)]
struct Deferred([Mutex<Vec<(Found, FileStat)>>; DEFER_SHARDS]);

const DEFER_SHARDS: usize = 8;

impl Deferred {
    fn mine(&self) -> &Mutex<Vec<(Found, FileStat)>> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        thread_local! {
            static SHARD: usize = NEXT.fetch_add(1, Relaxed) as usize % DEFER_SHARDS;
        }
        &self.0[SHARD.with(|s| *s)]
    }
}

struct AnalyzeProcess<'k> {
    scan: ScanProcess,
    known: &'k Loading,
    /// Files `stat`ed before the records were loaded, resolved once they are.
    deferred: Deferred,
    has_deferred: AtomicBool,
}

impl<'k> AnalyzeProcess<'k> {
    fn read(
        &self,
        found: Found,
        ctx: &Ctx<'_>,
        prior: Option<KnownRecord<'k>>,
    ) -> Option<Event<Analyzed<'k>>> {
        let hashed_ns = crate::cache::stamp::now_ns();
        match self.scan.read(found, ctx)? {
            Event::Item(mut file) => {
                let cached = prior.filter(|r| r.stamp.hash == file.hash).map(|r| r.value);
                if cached.is_some() {
                    // The content is known: not handed over again.
                    file.content = None;
                }
                Some(Event::Item(Analyzed {
                    file,
                    hashed_ns,
                    cached,
                    refresh: cached.is_some(),
                }))
            }
            Event::Issue { issue, file } => Some(Event::Issue { issue, file }),
            Event::Progress(p) => Some(Event::Progress(p)),
        }
    }
}

impl<'k> AnalyzeProcess<'k> {
    /// A hit from the record, or a read; `stat` when already taken.
    fn resolve(
        &self,
        found: Found,
        stat: Option<FileStat>,
        map: &'k KnownMap,
        ctx: &Ctx<'_>,
    ) -> Option<Event<Analyzed<'k>>> {
        let (dir, name) = found.rel_dir_and_name();
        let Some((slot, record)) = map.get_in(dir, name) else {
            return self.read(found, ctx, None);
        };
        self.known.mark_met(slot);
        let stat = match stat.map_or_else(|| self.scan.stat(&found), Ok) {
            Ok(stat) => stat,
            Err(message) => {
                return Some(super::scanner::file_issue(&found, IssueKind::Io, message));
            }
        };
        if stat.size > self.scan.max_file_size {
            return Some(too_large(&found, stat.size, self.scan.max_file_size));
        }
        let s = &record.stamp;
        if !s.trusts(&stat) {
            return self.read(found, ctx, Some(record));
        }
        Some(Event::Item(Analyzed {
            file: Scanned {
                found: found.done_with_dir(),
                stat,
                hash: s.hash,
                content: None,
                language: record.language,
            },
            hashed_ns: s.recorded_ns,
            cached: Some(record.value),
            refresh: false,
        }))
    }
}

impl<'k> Process for AnalyzeProcess<'k> {
    type Item = Analyzed<'k>;

    fn weight(item: &Analyzed<'k>) -> u64 {
        item.file.content.as_ref().map_or(0, |c| c.len() as u64)
    }

    fn budget_spent(&self) -> bool {
        self.scan.budget_spent()
    }

    fn process(&self, found: Found, ctx: &Ctx<'_>) -> Option<Event<Analyzed<'k>>> {
        if let Some(map) = self.known.map.get() {
            return self.resolve(found, None, map, ctx);
        }
        if !ctx.can_defer() {
            return self.resolve(found, None, self.known.wait(), ctx);
        }
        // The records are still loading: do the stat now, the rest later
        // (up to DEFER_MAX files, then wait: memory stays bounded).
        match self.scan.stat(&found) {
            Ok(stat) => {
                // Put off by path: up to DEFER_MAX files must not pin as
                // many open directories.
                let mut found = found;
                found.dir = None;
                let mut deferred = lock(self.deferred.mine());
                if deferred.len() >= DEFER_MAX / DEFER_SHARDS {
                    drop(deferred);
                    return self.resolve(found, Some(stat), self.known.wait(), ctx);
                }
                deferred.push((found, stat));
                self.has_deferred.store(true, Relaxed);
                None
            }
            Err(message) => Some(super::scanner::file_issue(&found, IssueKind::Io, message)),
        }
    }

    fn drain(&self, ctx: &Ctx<'_>, last: bool, emit: &mut dyn FnMut(Event<Analyzed<'k>>)) {
        if !self.has_deferred.load(Relaxed) {
            return;
        }
        let map = match self.known.map.get() {
            Some(map) => map,
            None if last => self.known.wait(),
            None => return,
        };
        self.has_deferred.store(false, Relaxed);
        for shard in &self.deferred.0 {
            // One at a time off the lists (other threads may drain too),
            // the list unlocked before the file is resolved.
            loop {
                let Some((found, stat)) = lock(shard).pop() else {
                    break;
                };
                let Some(ev) = self.resolve(found, Some(stat), map, ctx) else {
                    continue;
                };
                let read = matches!(&ev, Event::Item(item) if Self::weight(item) > 0);
                emit(ev);
                // What `emit` keeps may hold content until the caller passes
                // it on: one read per call (then the caller sends its batch),
                // so reads never pile up past the read budget.
                if read && !last {
                    if self.deferred.0.iter().any(|s| !lock(s).is_empty()) {
                        self.has_deferred.store(true, Relaxed);
                    }
                    return;
                }
            }
        }
    }
}

/// State shared by whichever threads deliver.
struct Run<'a> {
    cache: Option<&'a Cache>,
    analyzer_id: &'a str,
    namespace: Vec<u8>,
    counters: &'a Counters,
    process: &'a AnalyzeProcess<'a>,
    batch: Mutex<Vec<AnalysisRecord>>,
    removed: Mutex<Vec<Vec<u8>>>,
    store_error: Mutex<Option<Error>>,
    /// `store_error` is set (read once per file: no lock).
    store_failed: AtomicBool,
    misses: AtomicU64,
    /// Results were stored this run.
    wrote: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Run<'_> {
    fn record(&self, file: &Scanned, hashed_ns: i64, value: Vec<u8>) {
        let Some(cache) = self.cache else { return };
        let record = AnalysisRecord {
            rel_path: file.found.rel_path().as_os_str().as_bytes().to_vec(),
            stamp: FileStamp::of(file.stat, file.hash, hashed_ns),
            value,
            language: file.language,
        };
        let full = {
            let mut batch = lock(&self.batch);
            batch.push(record);
            (batch.len() >= STORE_BATCH).then(|| std::mem::take(&mut *batch))
        };
        if let Some(records) = full {
            self.store(cache, &records);
        }
    }

    fn store(&self, cache: &Cache, records: &[AnalysisRecord]) {
        if !records.is_empty() {
            self.wrote.store(true, Relaxed);
        }
        if let Err(err) = cache.store_analysis(self.analyzer_id, &self.namespace, records) {
            self.fail(err);
        }
    }

    fn fail(&self, err: Error) {
        lock(&self.store_error).get_or_insert(err);
        self.store_failed.store(true, Relaxed);
    }

    fn failed(&self) -> bool {
        self.store_failed.load(Relaxed)
    }

    /// Delivers one event to the host.
    fn deliver(&self, host: &mut dyn AnalyzeHost, ev: Event<Analyzed<'_>>) -> Control {
        match ev {
            Event::Item(item) => self.deliver_file(host, item),
            Event::Issue { issue, .. } => {
                host.on_issue(&issue);
                Control::Continue
            }
            Event::Progress(p) => {
                host.on_progress(&p);
                Control::Continue
            }
        }
    }

    fn deliver_file(&self, host: &mut dyn AnalyzeHost, item: Analyzed<'_>) -> Control {
        let entry = item.file.entry();
        if let Some(value) = item.cached {
            Counters::add(&self.counters.cache_hits, 1);
            Counters::add(&self.counters.scanned, 1);
            let control = host.on_result(&entry, value, true);
            if item.refresh {
                self.record(&item.file, item.hashed_ns, value.to_vec());
            }
            return if self.failed() {
                Control::Stop
            } else {
                control
            };
        }
        self.misses.fetch_add(1, Relaxed);
        let mut out = Vec::new();
        let verdict = host.analyze(&entry, &mut out);
        let control = match verdict {
            Verdict::Done => {
                Counters::add(&self.counters.scanned, 1);
                let control = host.on_result(&entry, &out, false);
                self.record(&item.file, item.hashed_ns, out);
                control
            }
            Verdict::Failed(message) => {
                Counters::add(&self.counters.errors, 1);
                host.on_issue(&ScanIssue {
                    path: entry.path.to_path_buf(),
                    kind: IssueKind::Analyzer,
                    message,
                });
                if self.cache.is_some() {
                    let rel = entry.rel_path.as_os_str().as_bytes().to_vec();
                    lock(&self.removed).push(rel);
                }
                Control::Continue
            }
            Verdict::Stop => Control::Stop,
        };
        if self.failed() {
            Control::Stop
        } else {
            control
        }
    }

    /// Final writes: the last batch, results of failed and vanished files.
    fn finish(&self, root: &Path, known: &KnownMap, complete: bool) -> Result<()> {
        let Some(cache) = self.cache else {
            return Ok(());
        };
        let last = std::mem::take(&mut *lock(&self.batch));
        self.store(cache, &last);
        let mut gone = std::mem::take(&mut *lock(&self.removed));
        // Records whose file was not met: look for it (a deleted file loses
        // its record; a filtered-out one keeps it). Met files are not
        // stat'ed again.
        if complete {
            for record in self.process.known.unmet(known) {
                let rel = record.rel_path();
                let path = root.join(std::ffi::OsStr::from_bytes(&rel));
                if let Err(e) = std::fs::symlink_metadata(&path)
                    && e.kind() == std::io::ErrorKind::NotFound
                {
                    gone.push(rel);
                }
            }
        }
        if let Err(err) = cache.remove_analysis(self.analyzer_id, &self.namespace, &gone) {
            self.fail(err);
        }
        // The next run reads one snapshot file instead of a row per file:
        // write one when this run changed the results or did not load from a
        // current one (an unchanged tree with a current snapshot writes none).
        let wrote = self.wrote.load(Relaxed) || !gone.is_empty();
        if !self.failed() && (wrote || !known.is_snapshot()) {
            let saved = cache.save_analysis_snapshot(self.analyzer_id, &self.namespace);
            if let Err(err) = saved {
                self.fail(err);
            }
        }
        let misses = self.misses.load(Relaxed);
        cache.record_analysis_lookups(self.counters.cache_hits.load(Relaxed), misses);
        match lock(&self.store_error).take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn check_id(analyzer_id: &str) -> Result<()> {
    if analyzer_id.is_empty() {
        return Err(Error::invalid("analyzer_id is empty"));
    }
    Ok(())
}

/// Loads what the cache knows, runs the pipeline with `go`, and finishes.
fn run_analyze(
    root: &Path,
    opts: &ScanOptions,
    cache: Option<&Cache>,
    analyzer_id: &str,
    go: &mut dyn FnMut(&Run<'_>, super::filter::Filters) -> Result<bool>,
) -> Result<ScanSummary> {
    let started = Instant::now();
    check_id(analyzer_id)?;
    let filters = super::prepare(root, opts)?;
    let namespace = cache
        .map(|c| c.analysis_namespace(root))
        .unwrap_or_default();
    let known = Loading::new();
    let load = |c: &Cache| c.load_analysis_index(analyzer_id, &namespace);
    if cache.is_none() {
        known.set(Ok(AnalysisIndex::default()));
    }
    let read_opts = ScanOptions {
        include_content: true,
        ..opts.clone()
    };
    let process = AnalyzeProcess {
        scan: super::scan_process(&read_opts),
        known: &known,
        deferred: Deferred::default(),
        has_deferred: AtomicBool::new(false),
    };
    let counters = Counters::default();
    let run = Run {
        cache,
        analyzer_id,
        namespace: namespace.clone(),
        counters: &counters,
        process: &process,
        batch: Mutex::new(Vec::new()),
        removed: Mutex::new(Vec::new()),
        store_error: Mutex::new(None),
        store_failed: AtomicBool::new(false),
        misses: AtomicU64::new(0),
        wrote: AtomicBool::new(false),
    };
    let outcome = std::thread::scope(|s| {
        if let Some(c) = cache {
            s.spawn(|| {
                let loaded = catch_unwind(AssertUnwindSafe(|| load(c)))
                    .unwrap_or_else(|_| Err(Error::panic("panic while loading the cache")));
                known.set(loaded);
            });
        }
        go(&run, filters)
    });
    let map = known.wait();
    let finished = run.finish(root, map, matches!(outcome, Ok(false)));
    if let Some(err) = lock(&known.error).take() {
        return Err(err);
    }
    let aborted = outcome?;
    finished?;
    Ok(counters.summary(started, aborted))
}

/// Analyzes every file under `root` incrementally: files whose result is
/// in `cache` (same analyzer id, relative path and content) are answered
/// from it, the others go to `host.analyze` and their results are stored.
/// Every callback runs on the calling thread, one at a time
/// (`callbacks_parallel` is ignored: see [`analyze_parallel`]). `cache`
/// `None`: every file is analyzed, nothing stored.
///
/// Errors: bad options, an empty `analyzer_id` (`Invalid`), a root that
/// cannot be `stat`ed (`Io`), the cache's store failing (`Store`), a panic
/// (`Panic`). The summary's `aborted` is set when a callback stopped it.
pub fn analyze(
    root: &Path,
    opts: &ScanOptions,
    cache: Option<&Cache>,
    analyzer_id: &str,
    host: &mut dyn AnalyzeHost,
) -> Result<ScanSummary> {
    run_analyze(root, opts, cache, analyzer_id, &mut |run, filters| {
        let mut deliver = |ev| run.deliver(host, ev);
        engine::run(
            root,
            opts,
            filters,
            run.process,
            run.counters,
            Delivery::Host(&mut deliver),
        )
    })
}

/// Like [`analyze()`], but the host's methods run on worker threads,
/// concurrently (the analyzer runs where the file was read, with no hop).
pub fn analyze_parallel(
    root: &Path,
    opts: &ScanOptions,
    cache: Option<&Cache>,
    analyzer_id: &str,
    host: &dyn ParallelAnalyzeHost,
) -> Result<ScanSummary> {
    run_analyze(root, opts, cache, analyzer_id, &mut |run, filters| {
        let deliver = |ev| run.deliver(&mut Shared(host), ev);
        engine::run(
            root,
            opts,
            filters,
            run.process,
            run.counters,
            Delivery::Workers(&deliver),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_met_while_loading_are_deferred_then_resolved() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let loading = Loading::new();
        let process = AnalyzeProcess {
            scan: crate::scan::scan_process(&ScanOptions::default()),
            known: &loading,
            deferred: Deferred::default(),
            has_deferred: AtomicBool::new(false),
        };
        let counters = Counters::default();
        let stop = AtomicBool::new(false);
        let ctx = Ctx::detached(&counters, &stop);
        let found = |n: &str| Found::new(dir.path(), dir.path().join(n));
        assert!(process.process(found("a"), &ctx).is_none());
        assert!(process.process(found("b"), &ctx).is_none());
        let mut got = Vec::new();
        process.drain(&ctx, false, &mut |ev| got.push(ev));
        assert!(got.is_empty(), "nothing resolves before the load");
        // "a" has a record with its current stamp: a hit without a read.
        let meta = std::fs::metadata(dir.path().join("a")).unwrap();
        let stat = FileStat::of(&meta);
        let record = AnalysisRecord {
            rel_path: b"a".to_vec(),
            stamp: FileStamp::of(
                stat,
                crate::scan::content_hash(b"a"),
                stat.mtime_ns + 10_000_000_000,
            ),
            value: b"A".to_vec(),
            language: None,
        };
        loading.set(Ok(AnalysisIndex::from_records([&record])));
        for _ in 0..2 {
            process.drain(&ctx, false, &mut |ev| got.push(ev));
        }
        assert_eq!(got.len(), 2);
        let mut hits = 0;
        for ev in &got {
            let Event::Item(item) = ev else { panic!() };
            if let Some(value) = item.cached {
                assert_eq!(value, b"A");
                assert!(item.file.content.is_none());
                hits += 1;
            } else {
                assert_eq!(item.file.content.as_deref(), Some(&b"b"[..]));
            }
        }
        assert_eq!(hits, 1);
        assert_eq!(counters.bytes.load(), 1, "only the miss was read");
        // Once loaded, nothing is deferred any more.
        assert!(process.process(found("c"), &ctx).is_some());
        assert!(!process.has_deferred.load(Relaxed));
    }

    #[test]
    fn put_off_reads_never_wait_for_content_the_caller_holds() {
        // A read budget of 1500 bytes and ten 1000-byte files put off
        // while loading, all misses: a drain that read them all into what
        // its caller keeps waited forever on the second (the caller held
        // the budget). Now each drain reads one, and a caller that holds
        // results says so (its reads go ahead).
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(dir.path().join(format!("f{i}")), [b'x'; 1000]).unwrap();
        }
        let loading = Loading::new();
        let mut scan = crate::scan::scan_process(&ScanOptions::default());
        scan.buffers = crate::scan::read::Buffers::new(1500);
        let process = AnalyzeProcess {
            scan,
            known: &loading,
            deferred: Deferred::default(),
            has_deferred: AtomicBool::new(false),
        };
        let counters = Counters::default();
        let stop = AtomicBool::new(false);
        for i in 0..10 {
            let found = Found::new(dir.path(), dir.path().join(format!("f{i}")));
            assert!(
                process
                    .process(found, &Ctx::detached(&counters, &stop))
                    .is_none()
            );
        }
        loading.set(Ok(AnalysisIndex::default()));
        let mut kept = Vec::new();
        let mut calls = 0;
        while process.has_deferred.load(Relaxed) {
            let ctx = Ctx::detached(&counters, &stop).passing(engine::Pass::HandOn {
                holding: !kept.is_empty(),
            });
            process.drain(&ctx, false, &mut |ev| kept.push(ev));
            calls += 1;
            assert!(calls <= 10, "one read per drain");
        }
        assert_eq!(kept.len(), 10);
        assert_eq!(calls, 10);
    }
}
