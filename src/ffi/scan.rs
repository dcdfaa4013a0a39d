//! C boundary for the scan part: `wtfperf_scan`, `wtfperf_analyze`,
//! `wtfperf_analyze_with` and their option, file, progress, summary and
//! callback types. The logic lives in `crate::scan`.

use super::args;
use super::cache::wtfperf_cache;
use super::guard::{guard, guard_value};
use super::status::{
    WTFPERF_ABORTED, WTFPERF_ERR_CALLBACK, WTFPERF_ERR_INVALID, WTFPERF_ERR_IO, WTFPERF_OK,
    wtfperf_status,
};
use crate::error::Result;
use crate::scan::{
    self, AnalyzeHost, Control, FileEntry, IssueKind, ParallelAnalyzeHost, Progress, ScanEvent,
    ScanIssue, ScanOptions, ScanSummary, Verdict,
};
use std::ffi::{c_char, c_void};

/// Options of `wtfperf_scan` and `wtfperf_analyze`; get the defaults from
/// `wtfperf_scan_options_default()` and change what you need. NULL options
/// mean the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_scan_options {
    /// Threads of the scan, the calling one included; 0 = one per core;
    /// more than 1024 is WTFPERF_ERR_INVALID. 1 starts no thread: everything runs on the calling thread.
    pub threads: usize,
    /// Files a worker hands to the calling thread at once (a batch; the
    /// pipeline holds about 3 * threads * chunk_size files, content capped
    /// at 8 MiB). Default 64; 0 and more than 1048576 (1 << 20) are
    /// WTFPERF_ERR_INVALID.
    pub chunk_size: usize,
    /// Larger files are not read: counted in files_skipped and reported to
    /// on_error with WTFPERF_ERR_INVALID and a message starting "skipped:".
    /// Default 10 MiB.
    pub max_file_size: u64,
    /// Read and hash files (default true). false: only stat; content is NULL
    /// and content_hash all zero. analyze reads what it must hash anyway.
    pub include_content: bool,
    /// Follow symbolic links (default false); a loop is reported to on_error.
    pub follow_links: bool,
    /// Honour .gitignore, .ignore, .git/info/exclude, the global git excludes
    /// and those of parent directories, and skip .git (default true).
    pub respect_ignore_files: bool,
    /// Include hidden (dot) files and directories (default false).
    pub include_hidden: bool,
    /// Only files matching one of these UTF-8 globs (none: all files). A glob
    /// without '/' matches a file name at any depth ("*.rs"); one with '/'
    /// matches the path relative to the root ("src/lib.rs"); "**" crosses directories.
    /// `{a,b}` groups may nest 32 deep (deeper: WTFPERF_ERR_INVALID).
    pub include_globs: *const *const c_char,
    pub include_globs_len: usize,
    /// Files and directories matching one of these are left out (a matching
    /// directory is not entered; a trailing '/' matches directories only).
    pub exclude_globs: *const *const c_char,
    pub exclude_globs_len: usize,
    /// Call back on worker threads, concurrently (C/C++/Go hosts whose
    /// callbacks are thread-safe). Default false: every callback runs on the
    /// calling thread, one at a time.
    pub callbacks_parallel: bool,
    /// Deliver files in path order, deterministically (default false).
    pub sorted: bool,
    /// Deepest level entered: 1 = only the root's own entries; 0 = no limit.
    pub max_depth: usize,
    /// Do not cross into other file systems (default false).
    pub same_file_system: bool,
}

/// One file handed to a callback. Every pointer is valid only during the
/// callback.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_file {
    /// The root joined with rel_path (bytes as on disk, maybe not UTF-8);
    /// when the root is a single file, that file's path as given (rel_path
    /// is then its name).
    pub path: *const c_char,
    /// The path relative to the root ('/'-separated).
    pub rel_path: *const c_char,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// XXH3-128 of the content, canonical byte order (as `xxhsum -H2`
    /// prints it); all zero when the content was not read.
    pub content_hash: [u8; 16],
    /// The content (NULL when not read, e.g. include_content = false or a
    /// result answered from the cache).
    pub content: *const u8,
    pub content_len: usize,
    /// Language identifier such as "rust" or "python" (static), or NULL.
    pub language: *const c_char,
    /// Inode number.
    pub inode: u64,
}

/// A progress report: at most ~10 a second, plus a final one.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wtfperf_progress {
    /// Files finished (delivered, skipped or failed).
    pub files_done: u64,
    /// Files the walk found; 0 while the walk is still going.
    pub files_total: u64,
    pub bytes_done: u64,
}

/// Called for each file; return nonzero to stop the scan (which then
/// returns WTFPERF_ABORTED).
pub type wtfperf_file_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, file: *const wtfperf_file) -> i32>;

/// Called for each problem: path (NULL when unknown), a status
/// (WTFPERF_ERR_IO for I/O errors, dangling links and link loops,
/// WTFPERF_ERR_INVALID for a file over max_file_size or a malformed ignore
/// file, WTFPERF_ERR_CALLBACK for a failed analysis) and a message. Strings
/// are valid only during the call.
pub type wtfperf_error_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        path: *const c_char,
        code: wtfperf_status,
        message: *const c_char,
    ),
>;

/// Called with progress, at most ~10 times a second and once at the end.
pub type wtfperf_progress_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, progress: *const wtfperf_progress)>;

/// The callbacks of `wtfperf_scan`; each may be NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_scan_callbacks {
    pub on_file: wtfperf_file_cb,
    pub on_error: wtfperf_error_cb,
    pub on_progress: wtfperf_progress_cb,
    pub userdata: *mut c_void,
}

/// What a scan or analyze run did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wtfperf_scan_summary {
    /// Regular files met by the walk after the filters.
    pub files_seen: u64,
    /// Files handed over (analyze: results delivered, computed or cached).
    pub files_scanned: u64,
    /// Files over max_file_size.
    pub files_skipped: u64,
    /// Error reports (each also went to on_error). A file over
    /// max_file_size went to on_error too but is counted in files_skipped,
    /// not here.
    pub errors: u64,
    pub bytes_read: u64,
    /// Files answered from the cache (analyze).
    pub cache_hits: u64,
    pub duration_s: f64,
}

impl From<ScanSummary> for wtfperf_scan_summary {
    fn from(s: ScanSummary) -> Self {
        wtfperf_scan_summary {
            files_seen: s.files_seen,
            files_scanned: s.files_scanned,
            files_skipped: s.files_skipped,
            errors: s.errors,
            bytes_read: s.bytes_read,
            cache_hits: s.cache_hits,
            duration_s: s.duration_s,
        }
    }
}

const DEFAULT_OPTIONS: wtfperf_scan_options = wtfperf_scan_options {
    threads: 0,
    chunk_size: 64,
    max_file_size: scan::DEFAULT_MAX_FILE_SIZE,
    include_content: true,
    follow_links: false,
    respect_ignore_files: true,
    include_hidden: false,
    include_globs: std::ptr::null(),
    include_globs_len: 0,
    exclude_globs: std::ptr::null(),
    exclude_globs_len: 0,
    callbacks_parallel: false,
    sorted: false,
    max_depth: 0,
    same_file_system: false,
};

/// The default scan options: threads = 0 (all cores), chunk_size = 64,
/// max_file_size = 10 MiB, include_content = true, follow_links = false,
/// respect_ignore_files = true, include_hidden = false, no globs,
/// callbacks_parallel = false, sorted = false, max_depth = 0 (no limit),
/// same_file_system = false.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_scan_options_default() -> wtfperf_scan_options {
    guard_value(DEFAULT_OPTIONS, || DEFAULT_OPTIONS)
}

/// Converts C options (NULL: defaults) to Rust ones.
///
/// # Safety
/// `opts` is NULL or valid, with glob arrays as documented.
pub(crate) unsafe fn options(opts: *const wtfperf_scan_options) -> Result<ScanOptions> {
    use std::mem::offset_of;
    let flags = [
        offset_of!(wtfperf_scan_options, include_content),
        offset_of!(wtfperf_scan_options, follow_links),
        offset_of!(wtfperf_scan_options, respect_ignore_files),
        offset_of!(wtfperf_scan_options, include_hidden),
        offset_of!(wtfperf_scan_options, callbacks_parallel),
        offset_of!(wtfperf_scan_options, sorted),
        offset_of!(wtfperf_scan_options, same_file_system),
    ];
    // SAFETY: NULL or a valid struct per the caller's contract; `flags` are
    // exactly its bool fields.
    let Some(o) = (unsafe { args::read_options(opts, &flags) }) else {
        return Ok(ScanOptions::default());
    };
    let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
    // SAFETY: the glob arrays are (NULL, 0) or valid arrays of strings.
    let include = unsafe { args::strs(o.include_globs, o.include_globs_len, "include_globs")? };
    // SAFETY: as above.
    let exclude = unsafe { args::strs(o.exclude_globs, o.exclude_globs_len, "exclude_globs")? };
    let options = ScanOptions {
        threads: o.threads,
        chunk_size: o.chunk_size,
        max_file_size: o.max_file_size,
        include_content: o.include_content,
        follow_links: o.follow_links,
        respect_ignore_files: o.respect_ignore_files,
        include_hidden: o.include_hidden,
        include_globs: owned(include),
        exclude_globs: owned(exclude),
        callbacks_parallel: o.callbacks_parallel,
        sorted: o.sorted,
        max_depth: o.max_depth,
        same_file_system: o.same_file_system,
    };
    options.validate()?;
    Ok(options)
}

/// The status a host sees for an issue.
pub(crate) fn issue_status(kind: IssueKind) -> wtfperf_status {
    match kind {
        IssueKind::TooLarge | IssueKind::IgnoreFile => WTFPERF_ERR_INVALID,
        IssueKind::Io | IssueKind::Loop => WTFPERF_ERR_IO,
        IssueKind::Analyzer => WTFPERF_ERR_CALLBACK,
    }
}

/// A non-NULL pointer for empty content.
static EMPTY: [u8; 1] = [0];

/// The C view of a file entry (pointers borrow from `entry`).
pub(crate) fn c_file(entry: &FileEntry<'_>, with_content: bool) -> wtfperf_file {
    let (path, rel) = entry.c_paths();
    let (content, content_len) = match entry.content {
        Some(c) if with_content && c.is_empty() => (EMPTY.as_ptr(), 0),
        Some(c) if with_content => (c.as_ptr(), c.len()),
        _ => (std::ptr::null(), 0),
    };
    wtfperf_file {
        path: path.as_ptr().cast(),
        rel_path: rel.as_ptr().cast(),
        size: entry.size,
        mtime_ns: entry.mtime_ns,
        content_hash: entry.content_hash,
        content,
        content_len,
        language: entry
            .language
            .map_or(std::ptr::null(), |l| l.name_with_nul().as_ptr().cast()),
        inode: entry.inode,
    }
}

/// Calls an error callback with an issue.
///
/// # Safety
/// `cb` and `userdata` are what the host passed.
pub(crate) unsafe fn report_issue(cb: wtfperf_error_cb, userdata: *mut c_void, issue: &ScanIssue) {
    let Some(cb) = cb else { return };
    let path = (!issue.path.as_os_str().is_empty()).then(|| args::path_cstring(&issue.path));
    let message = args::to_cstring(&issue.message);
    let path_ptr = path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    // SAFETY: the host's callback with its userdata; the strings live for
    // the call.
    unsafe {
        cb(
            userdata,
            path_ptr,
            issue_status(issue.kind),
            message.as_ptr(),
        )
    }
}

/// Calls a progress callback.
///
/// # Safety
/// `cb` and `userdata` are what the host passed.
pub(crate) unsafe fn report_progress(cb: wtfperf_progress_cb, userdata: *mut c_void, p: &Progress) {
    let Some(cb) = cb else { return };
    let c = wtfperf_progress {
        files_done: p.files_done,
        files_total: p.files_total,
        bytes_done: p.bytes_done,
    };
    // SAFETY: the host's callback with its userdata; `c` lives for the call.
    unsafe { cb(userdata, &c) }
}

/// The host's scan callbacks. The host promises they may be called from
/// worker threads when it sets `callbacks_parallel`; otherwise they are only
/// called from the thread that called `wtfperf_scan`.
struct ScanHost(wtfperf_scan_callbacks);

// SAFETY: see the type's comment: concurrent calls happen only when the host
// asked for them with `callbacks_parallel`.
unsafe impl Sync for ScanHost {}

impl ScanHost {
    fn on_event(&self, ev: ScanEvent<'_>) -> Control {
        let cb = &self.0;
        match ev {
            ScanEvent::File(entry) => {
                let Some(on_file) = cb.on_file else {
                    return Control::Continue;
                };
                let file = c_file(entry, true);
                // SAFETY: the host's callback; `file` and what it points to
                // live for the call.
                if unsafe { on_file(cb.userdata, &file) } != 0 {
                    Control::Stop
                } else {
                    Control::Continue
                }
            }
            ScanEvent::Issue(issue) => {
                // SAFETY: the host's callback and userdata.
                unsafe { report_issue(cb.on_error, cb.userdata, issue) };
                Control::Continue
            }
            ScanEvent::Progress(p) => {
                // SAFETY: the host's callback and userdata.
                unsafe { report_progress(cb.on_progress, cb.userdata, p) };
                Control::Continue
            }
        }
    }
}

/// Writes the summary (if wanted) and gives the status of a finished run.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn finish(
    summary: ScanSummary,
    out: *mut wtfperf_scan_summary,
) -> wtfperf_status {
    if !out.is_null() {
        // SAFETY: non-NULL and valid for writes per the caller's contract.
        unsafe { args::write_out(out, summary.into()) };
    }
    if summary.aborted {
        WTFPERF_ABORTED
    } else {
        WTFPERF_OK
    }
}

/// Walks `root` (gitignore-aware, in parallel), reads and hashes every file
/// on worker threads, and calls `callbacks->on_file` for each.
///
/// `root`: NUL-terminated path (any bytes), a directory or a file.
/// `opts`: NULL for the defaults. `callbacks`: NULL or a struct whose members
/// may each be NULL. `out`: NULL or where the summary is written (also on
/// WTFPERF_ABORTED).
///
/// By default every callback runs on the calling thread, one at a time (safe
/// for hosts with a GIL or an event loop); with `callbacks_parallel` they run
/// on worker threads, concurrently (then with `sorted`, on the calling thread
/// in order). A file that cannot be read, a dangling link or a link loop goes
/// to `on_error` and is counted; the scan goes on. Pointers handed to a
/// callback are valid only during that call.
///
/// Returns WTFPERF_OK, WTFPERF_ABORTED (on_file returned nonzero),
/// WTFPERF_ERR_NULL (root), WTFPERF_ERR_INVALID (bad options or glob),
/// WTFPERF_ERR_IO (root cannot be stat'ed) or WTFPERF_ERR_PANIC.
///
/// # Safety
/// Every pointer is NULL or valid as described; callbacks must not unwind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_scan(
    root: *const c_char,
    opts: *const wtfperf_scan_options,
    callbacks: *const wtfperf_scan_callbacks,
    out: *mut wtfperf_scan_summary,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NUL-terminated string per the contract.
        let root = unsafe { args::path(root, "root")? };
        // SAFETY: NULL or valid options per the contract.
        let opts = unsafe { options(opts)? };
        // SAFETY: NULL or a valid struct per the contract.
        let cbs = unsafe { args::opt_ref(callbacks) }.copied();
        let host = ScanHost(cbs.unwrap_or(wtfperf_scan_callbacks {
            on_file: None,
            on_error: None,
            on_progress: None,
            userdata: std::ptr::null_mut(),
        }));
        let summary = if opts.callbacks_parallel {
            scan::scan_parallel(root, &opts, &|ev| host.on_event(ev))?
        } else {
            scan::scan(root, &opts, &mut |ev| host.on_event(ev))?
        };
        // SAFETY: `out` is NULL or valid per the contract.
        Ok(unsafe { finish(summary, out) })
    })
}

/// Where an analyzer writes its result for one file: opaque, handed to the
/// analyzer function and valid only during that call. Write with
/// `wtfperf_sink_write` (any number of times; the pieces are concatenated).
pub struct wtfperf_sink {
    buf: Vec<u8>,
}

/// The host's analyzer, called for every file without a valid cached
/// result (on the calling thread unless `callbacks_parallel`). `file->content`
/// is the whole content. Write the result with `wtfperf_sink_write(result,
/// ...)` and return 0. Return WTFPERF_ABORTED (2) to stop the whole run
/// (the file is then neither delivered nor cached); any other nonzero value
/// is a failure: reported to on_error with WTFPERF_ERR_CALLBACK, counted in
/// errors, not cached.
pub type wtfperf_analyze_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        file: *const wtfperf_file,
        result: *mut wtfperf_sink,
    ) -> i32,
>;

/// Called with every file's result: computed now (cached = false) or from
/// the cache (cached = true; then file->content is NULL: it was not read).
/// `result` is valid only during the call (never NULL, even when len is 0).
pub type wtfperf_result_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        file: *const wtfperf_file,
        result: *const u8,
        len: usize,
        cached: bool,
    ),
>;

/// Every callback of `wtfperf_analyze_with`; `analyze` is required, the
/// others may be NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_analyze_callbacks {
    pub analyze: wtfperf_analyze_fn,
    pub on_result: wtfperf_result_cb,
    pub on_error: wtfperf_error_cb,
    pub on_progress: wtfperf_progress_cb,
    pub userdata: *mut c_void,
}

/// Appends `len` bytes to an analyzer's result.
///
/// `sink`: the pointer the analyzer function received (only during that
/// call). `(NULL, 0)` appends nothing. Returns WTFPERF_OK or
/// WTFPERF_ERR_NULL.
///
/// # Safety
/// `sink` is NULL or the live sink of the current analyzer call; `data` is
/// NULL or valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_sink_write(
    sink: *mut wtfperf_sink,
    data: *const u8,
    len: usize,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or the live sink per the contract.
        let sink = unsafe { args::as_mut(sink, "sink")? };
        // SAFETY: NULL or valid for `len` bytes per the contract.
        let data = unsafe { args::bytes(data, len, "data")? };
        sink.buf.extend_from_slice(data);
        Ok(WTFPERF_OK)
    })
}

/// The host's analyze callbacks. Called from worker threads only when the
/// host set `callbacks_parallel`; otherwise only from the calling thread.
struct AnalyzeCallbacks(wtfperf_analyze_callbacks);

// SAFETY: see the type's comment.
unsafe impl Sync for AnalyzeCallbacks {}

static EMPTY_RESULT: [u8; 1] = [0];

impl AnalyzeCallbacks {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        let Some(analyze) = self.0.analyze else {
            return Verdict::Failed("no analyzer".into());
        };
        let c = c_file(file, true);
        let mut sink = wtfperf_sink {
            buf: std::mem::take(out),
        };
        // SAFETY: the host's analyzer; `c`, what it points to and `sink`
        // live for the call.
        let code = unsafe { analyze(self.0.userdata, &c, &mut sink) };
        *out = sink.buf;
        match code {
            0 => Verdict::Done,
            WTFPERF_ABORTED => Verdict::Stop,
            n => Verdict::Failed(format!("the analyzer returned {n}")),
        }
    }

    fn on_result(&self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        if let Some(cb) = self.0.on_result {
            let c = c_file(file, !cached);
            let ptr = if result.is_empty() {
                EMPTY_RESULT.as_ptr()
            } else {
                result.as_ptr()
            };
            // SAFETY: the host's callback; `c` and `result` live for the call.
            unsafe { cb(self.0.userdata, &c, ptr, result.len(), cached) };
        }
        Control::Continue
    }

    fn on_issue(&self, issue: &ScanIssue) {
        // SAFETY: the host's callback and userdata.
        unsafe { report_issue(self.0.on_error, self.0.userdata, issue) }
    }

    fn on_progress(&self, p: &Progress) {
        // SAFETY: the host's callback and userdata.
        unsafe { report_progress(self.0.on_progress, self.0.userdata, p) }
    }
}

impl ParallelAnalyzeHost for AnalyzeCallbacks {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        AnalyzeCallbacks::analyze(self, file, out)
    }
    fn on_result(&self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        AnalyzeCallbacks::on_result(self, file, result, cached)
    }
    fn on_issue(&self, issue: &ScanIssue) {
        AnalyzeCallbacks::on_issue(self, issue)
    }
    fn on_progress(&self, progress: &Progress) {
        AnalyzeCallbacks::on_progress(self, progress)
    }
}

impl AnalyzeHost for AnalyzeCallbacks {
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        AnalyzeCallbacks::analyze(self, file, out)
    }
    fn on_result(&mut self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        AnalyzeCallbacks::on_result(self, file, result, cached)
    }
    fn on_issue(&mut self, issue: &ScanIssue) {
        AnalyzeCallbacks::on_issue(self, issue)
    }
    fn on_progress(&mut self, progress: &Progress) {
        AnalyzeCallbacks::on_progress(self, progress)
    }
}

/// The body shared by `wtfperf_analyze` and `wtfperf_analyze_with`.
///
/// # Safety
/// As `wtfperf_analyze_with`.
unsafe fn analyze_c(
    root: *const c_char,
    opts: *const wtfperf_scan_options,
    cache: *mut wtfperf_cache,
    analyzer_id: *const c_char,
    callbacks: wtfperf_analyze_callbacks,
    out: *mut wtfperf_scan_summary,
) -> Result<wtfperf_status> {
    // SAFETY: NUL-terminated string per the contract.
    let root = unsafe { args::path(root, "root")? };
    // SAFETY: NUL-terminated string per the contract.
    let analyzer_id = unsafe { args::str(analyzer_id, "analyzer_id")? };
    if callbacks.analyze.is_none() {
        return Err(crate::Error::null("the analyzer function"));
    }
    // SAFETY: NULL or valid options per the contract.
    let opts = unsafe { options(opts)? };
    let cache = if cache.is_null() {
        None
    } else {
        // SAFETY: a live handle per the contract.
        Some(unsafe { super::cache::handle(cache)? })
    };
    let mut host = AnalyzeCallbacks(callbacks);
    let summary = if opts.callbacks_parallel {
        scan::analyze_parallel(root, &opts, cache, analyzer_id, &host)?
    } else {
        scan::analyze(root, &opts, cache, analyzer_id, &mut host)?
    };
    // SAFETY: `out` is NULL or valid per the contract.
    Ok(unsafe { finish(summary, out) })
}

/// Incremental analysis: scans `root` like `wtfperf_scan` and calls
/// `analyze` only for files whose result is not in `cache`, then `on_result`
/// for every file.
///
/// Results are keyed by `analyzer_id` (change it when the analyzer's output
/// changes), the path relative to `root` and the content's hash. A file
/// whose size, mtime, inode and ctime match what the cache recorded is
/// answered without being read; a changed file is read and hashed, and
/// analyzed when its content differs (a changed ctime alone, e.g. `chmod`,
/// costs that re-hash, not an analysis). New results are committed in
/// batches. `cache` may be NULL (every file is analyzed, nothing stored).
/// Problems (unreadable or skipped files, failed analyses) are counted but
/// not reported here: use `wtfperf_analyze_with` for `on_error` and
/// `on_progress`.
///
/// `root`, `analyzer_id` (UTF-8, non-empty) and `analyze` are required;
/// `opts`, `on_result` and `out` may be NULL. Returns WTFPERF_OK,
/// WTFPERF_ABORTED (the analyzer returned WTFPERF_ABORTED; `out` is written),
/// WTFPERF_ERR_NULL, WTFPERF_ERR_INVALID, WTFPERF_ERR_IO (root),
/// WTFPERF_ERR_STORE (the cache could not store) or WTFPERF_ERR_PANIC.
///
/// # Safety
/// Every pointer is NULL or valid as described; `cache` is NULL or a live
/// handle; callbacks must not unwind.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wtfperf_analyze(
    root: *const c_char,
    opts: *const wtfperf_scan_options,
    cache: *mut wtfperf_cache,
    analyzer_id: *const c_char,
    analyze: wtfperf_analyze_fn,
    on_result: wtfperf_result_cb,
    userdata: *mut c_void,
    out: *mut wtfperf_scan_summary,
) -> wtfperf_status {
    guard(|| {
        let callbacks = wtfperf_analyze_callbacks {
            analyze,
            on_result,
            on_error: None,
            on_progress: None,
            userdata,
        };
        // SAFETY: forwarded contract.
        unsafe { analyze_c(root, opts, cache, analyzer_id, callbacks, out) }
    })
}

/// `wtfperf_analyze` with every callback: `callbacks->analyze` is required;
/// `on_result`, `on_error` and `on_progress` may be NULL. Problems go to
/// `on_error` (failed analyses with WTFPERF_ERR_CALLBACK), progress to
/// `on_progress`. Same statuses as `wtfperf_analyze`.
///
/// # Safety
/// As `wtfperf_analyze`; `callbacks` is a valid struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_analyze_with(
    root: *const c_char,
    opts: *const wtfperf_scan_options,
    cache: *mut wtfperf_cache,
    analyzer_id: *const c_char,
    callbacks: *const wtfperf_analyze_callbacks,
    out: *mut wtfperf_scan_summary,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or a valid struct per the contract.
        let callbacks = *unsafe { args::as_ref(callbacks, "callbacks")? };
        // SAFETY: forwarded contract.
        unsafe { analyze_c(root, opts, cache, analyzer_id, callbacks, out) }
    })
}
