//! Incremental analysis: scan + cache + the host's analyzer.
//!
//! At the start, every stored result of this analyzer under this root is
//! loaded in one pass (no per-key lookups on the hot path). On the workers,
//! each file is `stat`ed: when size, mtime and inode equal what was recorded
//! and the record is not racy, the stored result is the answer and nothing
//! is read. Otherwise the file is read and hashed; the same hash is still a
//! hit (its record is re-stored with the new stamp), a different one is a
//! miss that goes to the host's analyzer. New results are stored in batches
//! of [`STORE_BATCH`] records, one transaction each. Nothing is written for
//! unchanged files. Results of files that disappeared are removed at the end
//! of a complete run; a file whose analysis fails loses its old result.

use super::engine::{self, Delivery, Event, Found, Process};
use super::language;
use super::scanner::{ScanProcess, Scanned, too_large};
use super::summary::Counters;
use super::{Control, FileEntry, IssueKind, Progress, ScanIssue, ScanOptions, ScanSummary};
use crate::cache::{AnalysisRecord, Cache, FileStamp};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
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

/// A stored record and whether this run met its file.
struct Known {
    record: AnalysisRecord,
    seen: AtomicBool,
}

/// A file on its way to the host.
pub(crate) struct Analyzed<'k> {
    file: Scanned,
    /// When the content was hashed (ns since the epoch).
    hashed_ns: i64,
    /// The answer from the cache, if any.
    cached: Option<&'k AnalysisRecord>,
    /// A cache hit whose record needs the new stamp stored.
    refresh: bool,
}

struct AnalyzeProcess<'k> {
    scan: ScanProcess,
    known: &'k HashMap<Vec<u8>, Known>,
}

impl<'k> AnalyzeProcess<'k> {
    fn read(
        &self,
        found: Found,
        counters: &Counters,
        prior: Option<&'k AnalysisRecord>,
    ) -> Option<Event<Analyzed<'k>>> {
        let hashed_ns = crate::cache::stamp::now_ns();
        match self.scan.read(found, counters)? {
            Event::Item(mut file) => {
                let cached = prior.filter(|r| r.stamp.hash == file.hash);
                if cached.is_some() {
                    // The content is known: not handed over again.
                    if let Some(buf) = file.content.take() {
                        self.scan.pool.give(buf);
                    }
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

impl<'k> Process for AnalyzeProcess<'k> {
    type Item = Analyzed<'k>;

    fn process(&self, found: Found, counters: &Counters) -> Option<Event<Analyzed<'k>>> {
        let Some(known) = self.known.get(found.rel_path().as_os_str().as_bytes()) else {
            return self.read(found, counters, None);
        };
        known.seen.store(true, Relaxed);
        let record = &known.record;
        let stat = match self.scan.stat(&found) {
            Ok(stat) => stat,
            Err(message) => {
                return Some(super::scanner::file_issue(&found, IssueKind::Io, message));
            }
        };
        if stat.size > self.scan.max_file_size {
            return Some(too_large(&found, stat.size, self.scan.max_file_size));
        }
        let s = &record.stamp;
        let unchanged = (s.size, s.mtime_ns, s.inode) == (stat.size, stat.mtime_ns, stat.inode);
        if !unchanged || s.is_racy() {
            return self.read(found, counters, Some(record));
        }
        let language = language::from_name(found.rel_path().file_name().unwrap_or_default());
        Some(Event::Item(Analyzed {
            file: Scanned {
                found,
                stat,
                hash: s.hash,
                content: None,
                language,
            },
            hashed_ns: s.recorded_ns,
            cached: Some(record),
            refresh: false,
        }))
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
    misses: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Run<'_> {
    fn record(&self, file: &Scanned, hashed_ns: i64, value: Vec<u8>) {
        let Some(cache) = self.cache else { return };
        let record = AnalysisRecord {
            rel_path: file.found.rel_path().as_os_str().as_bytes().to_vec(),
            stamp: FileStamp {
                size: file.stat.size,
                mtime_ns: file.stat.mtime_ns,
                inode: file.stat.inode,
                hash: file.hash,
                recorded_ns: hashed_ns,
            },
            value,
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
        if let Err(err) = cache.store_analysis(self.analyzer_id, &self.namespace, records) {
            lock(&self.store_error).get_or_insert(err);
        }
    }

    fn failed(&self) -> bool {
        lock(&self.store_error).is_some()
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
        if let Some(record) = item.cached {
            Counters::add(&self.counters.cache_hits, 1);
            Counters::add(&self.counters.scanned, 1);
            let control = host.on_result(&entry, &record.value, true);
            if item.refresh {
                self.record(&item.file, item.hashed_ns, record.value.clone());
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
        if let Some(buf) = item.file.content {
            self.process.scan.pool.give(buf);
        }
        if self.failed() {
            Control::Stop
        } else {
            control
        }
    }

    /// Final writes: the last batch, results of failed and vanished files.
    fn finish(&self, root: &Path, known: &HashMap<Vec<u8>, Known>, complete: bool) -> Result<()> {
        let Some(cache) = self.cache else {
            return Ok(());
        };
        let last = std::mem::take(&mut *lock(&self.batch));
        self.store(cache, &last);
        let mut gone = std::mem::take(&mut *lock(&self.removed));
        if complete {
            for (rel, k) in known {
                if !k.seen.load(Relaxed) {
                    let path = root.join(std::ffi::OsStr::from_bytes(rel));
                    if let Err(e) = std::fs::symlink_metadata(&path)
                        && e.kind() == std::io::ErrorKind::NotFound
                    {
                        gone.push(rel.clone());
                    }
                }
            }
        }
        if let Err(err) = cache.remove_analysis(self.analyzer_id, &self.namespace, &gone) {
            lock(&self.store_error).get_or_insert(err);
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
    let known: HashMap<Vec<u8>, Known> = match cache {
        Some(c) => c
            .load_analysis(analyzer_id, &namespace)?
            .into_iter()
            .map(|(rel, record)| {
                let seen = AtomicBool::new(false);
                (rel, Known { record, seen })
            })
            .collect(),
        None => HashMap::new(),
    };
    let read_opts = ScanOptions {
        include_content: true,
        ..opts.clone()
    };
    let process = AnalyzeProcess {
        scan: super::scan_process(&read_opts),
        known: &known,
    };
    let counters = Counters::default();
    let run = Run {
        cache,
        analyzer_id,
        namespace,
        counters: &counters,
        process: &process,
        batch: Mutex::new(Vec::new()),
        removed: Mutex::new(Vec::new()),
        store_error: Mutex::new(None),
        misses: AtomicU64::new(0),
    };
    let outcome = go(&run, filters);
    let finished = run.finish(root, &known, matches!(outcome, Ok(false)));
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
