//! Parallel, gitignore-aware scanner and the incremental analyzer built on it
//! and the cache.
//!
//! [`scan`] walks a tree (over directory descriptors, with the gitignore
//! matchers of ripgrep's and fd's `ignore` crate: see `walker.rs`), reads
//! and hashes (XXH3-128) every file on worker threads and hands
//! each to the host; [`scan_parallel`] lets the host take callbacks on the
//! worker threads. `analyze` (see [`analyze()`]) adds the cache so unchanged
//! files never reach the host's analyzer again. How the pipeline is built is
//! described in `engine.rs`.

pub mod analyze;
mod engine;
mod filter;
pub mod language;
mod options;
mod queue;
pub(crate) mod read;
mod scanner;
mod summary;
mod walk;
mod walker;

pub use analyze::{
    AnalyzeHost, ParallelAnalyzeHost, STORE_BATCH, Verdict, analyze, analyze_parallel,
};
pub use language::Language;
pub use options::{DEFAULT_MAX_FILE_SIZE, MAX_THREADS, ScanOptions};
pub use read::content_hash;
pub use summary::{Progress, ScanSummary};

use crate::error::Result;
use engine::{Delivery, Event};
use scanner::{ScanProcess, Scanned};
use std::path::{Path, PathBuf};
use std::time::Instant;
use summary::Counters;

/// One file handed to the host. Everything borrowed is valid only during the
/// callback.
#[derive(Debug, Clone, Copy)]
pub struct FileEntry<'a> {
    /// The root joined with `rel_path`.
    pub path: &'a Path,
    /// The path relative to the scan root (for a root that is a file: its
    /// name).
    pub rel_path: &'a Path,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    pub inode: u64,
    /// Inode change time, nanoseconds since the Unix epoch.
    pub ctime_ns: i64,
    /// XXH3-128 of the content, canonical byte order (`xxhsum -H2`); all
    /// zero when the content was not read.
    pub content_hash: [u8; 16],
    /// The content, when it was read.
    pub content: Option<&'a [u8]>,
    /// The language from the name or the `#!` line.
    pub language: Option<Language>,
    /// `path` as bytes followed by a NUL (for the C boundary).
    pub(crate) c_path: &'a [u8],
    /// Where `rel_path` starts in `c_path`.
    pub(crate) c_rel_start: usize,
}

impl<'a> FileEntry<'a> {
    /// `path` and `rel_path` as NUL-terminated bytes.
    pub fn c_paths(&self) -> (&'a [u8], &'a [u8]) {
        (self.c_path, &self.c_path[self.c_rel_start..])
    }
}

/// What kind of problem a [`ScanIssue`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueKind {
    /// The file is over `max_file_size`: skipped, not an error.
    TooLarge,
    /// An I/O error: unreadable or vanished file, unreadable directory,
    /// dangling link (when following links).
    Io,
    /// A symbolic link loop (when following links).
    Loop,
    /// A malformed ignore file (the rest of it still applies).
    IgnoreFile,
    /// The host's analyzer failed for this file (analyze only).
    Analyzer,
}

/// A file or directory that could not be scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanIssue {
    pub path: PathBuf,
    pub kind: IssueKind,
    pub message: String,
}

/// What the host's callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Stop the scan promptly; the summary says `aborted`.
    Stop,
}

/// What a scan hands to the host.
#[derive(Debug)]
pub enum ScanEvent<'a> {
    File(&'a FileEntry<'a>),
    /// A problem with one file or directory; the scan goes on.
    Issue(&'a ScanIssue),
    /// At most ~10 a second, and a final one.
    Progress(&'a Progress),
}

fn prepare(root: &Path, opts: &ScanOptions) -> Result<filter::Filters> {
    opts.validate()?;
    std::fs::metadata(root)
        .map_err(|e| crate::Error::io(format!("root {}", root.display()), &e))?;
    filter::Filters::new(&opts.include_globs, &opts.exclude_globs)
}

pub(crate) fn scan_process(opts: &ScanOptions) -> ScanProcess {
    ScanProcess {
        max_file_size: opts.max_file_size,
        include_content: opts.include_content,
        buffers: read::Buffers::new(read::IN_FLIGHT_MAX_BYTES),
    }
}

fn deliver_scanned(
    counters: &Counters,
    ev: Event<Scanned>,
    on_event: &mut dyn FnMut(ScanEvent<'_>) -> Control,
) -> Control {
    match ev {
        Event::Item(scanned) => {
            Counters::add(&counters.scanned, 1);
            // The content goes back to the pool when `scanned` drops.
            on_event(ScanEvent::File(&scanned.entry()))
        }
        Event::Issue { issue, .. } => on_event(ScanEvent::Issue(&issue)),
        Event::Progress(p) => on_event(ScanEvent::Progress(&p)),
    }
}

/// Scans `root`, calling `on_event` on the calling thread, one call at a
/// time, for every file, issue and progress report (`callbacks_parallel` is
/// ignored: see [`scan_parallel`]). Files come in path order when
/// `opts.sorted`.
///
/// Errors: bad options or globs (`Invalid`), a root that cannot be
/// `stat`ed (`Io`), a panic in a worker or callback (`Panic`). Problems
/// with single files are reported as [`ScanEvent::Issue`] and counted.
pub fn scan(
    root: &Path,
    opts: &ScanOptions,
    on_event: &mut dyn FnMut(ScanEvent<'_>) -> Control,
) -> Result<ScanSummary> {
    let started = Instant::now();
    let filters = prepare(root, opts)?;
    let process = scan_process(opts);
    let counters = Counters::default();
    let mut deliver = |ev| deliver_scanned(&counters, ev, on_event);
    let aborted = engine::run(
        root,
        opts,
        filters,
        &process,
        &counters,
        Delivery::Host(&mut deliver),
    )?;
    Ok(counters.summary(started, aborted))
}

/// Like [`scan`], but `on_event` runs on the worker threads, concurrently
/// (when `opts.sorted`, it runs on the calling thread, one call at a time,
/// in path order). The final progress report comes from the calling thread.
pub fn scan_parallel(
    root: &Path,
    opts: &ScanOptions,
    on_event: &(dyn Fn(ScanEvent<'_>) -> Control + Sync),
) -> Result<ScanSummary> {
    let started = Instant::now();
    let filters = prepare(root, opts)?;
    let process = scan_process(opts);
    let counters = Counters::default();
    let deliver = |ev| deliver_scanned(&counters, ev, &mut |e| on_event(e));
    let aborted = engine::run(
        root,
        opts,
        filters,
        &process,
        &counters,
        Delivery::Workers(&deliver),
    )?;
    Ok(counters.summary(started, aborted))
}
