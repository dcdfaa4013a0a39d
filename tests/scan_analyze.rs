//! Integration tests of incremental analysis (scan + cache + analyzer).

mod common;

use common::{rewrite_keeping_mtime, until_ctime_moves};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use wtfperf::cache::{Cache, CacheOptions, stamp};
use wtfperf::scan::{
    self, AnalyzeHost, Control, FileEntry, IssueKind, ParallelAnalyzeHost, ScanIssue, ScanOptions,
    ScanSummary, Verdict,
};

/// Counts lines; fails for files named `fail*`.
#[derive(Default)]
struct Lines {
    analyzed: Vec<PathBuf>,
    results: BTreeMap<PathBuf, (Vec<u8>, bool)>,
    issues: Vec<ScanIssue>,
    progress: usize,
    stop_at: Option<usize>,
}

fn analyze_one(file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
    let content = file.content.expect("content for the analyzer");
    assert_eq!(scan::content_hash(content), file.content_hash);
    if file
        .rel_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("fail")
    {
        return Verdict::Failed("cannot analyze this".into());
    }
    let lines = content.iter().filter(|&&c| c == b'\n').count();
    out.extend_from_slice(format!("lines={lines}").as_bytes());
    Verdict::Done
}

impl AnalyzeHost for Lines {
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        self.analyzed.push(file.rel_path.to_path_buf());
        if self.stop_at == Some(self.analyzed.len()) {
            return Verdict::Stop;
        }
        analyze_one(file, out)
    }
    fn on_result(&mut self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        if cached {
            assert!(file.content.is_none());
        }
        let old = self
            .results
            .insert(file.rel_path.to_path_buf(), (result.to_vec(), cached));
        assert!(old.is_none());
        Control::Continue
    }
    fn on_issue(&mut self, issue: &ScanIssue) {
        self.issues.push(issue.clone());
    }
    fn on_progress(&mut self, _: &scan::Progress) {
        self.progress += 1;
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    age(&p);
}

/// Moves a file's mtime an hour back, so its stamp is not racy.
fn age(p: &Path) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// A tree of `n` files, settled.
fn tree(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        write(
            dir.path(),
            &format!("src/m{i:03}.rs"),
            &"x\n".repeat(i % 7 + 1),
        );
    }
    settle(dir.path());
    dir
}

/// Waits until the files under `root` are no longer racy (see
/// [`stamp::settle`]): their stamps are then trusted on their stat.
fn settle(root: &Path) {
    stamp::settle(root).unwrap();
}

fn go(root: &Path, cache: Option<&Cache>, id: &str) -> (Lines, ScanSummary) {
    let mut host = Lines::default();
    let s = scan::analyze(root, &ScanOptions::default(), cache, id, &mut host).unwrap();
    (host, s)
}

fn memory_cache() -> Cache {
    Cache::open(CacheOptions::default()).unwrap()
}

#[test]
fn second_run_is_answered_from_the_cache_without_reading() {
    let dir = tree(300); // more than one store batch
    let cache = memory_cache();
    let (first, s1) = go(dir.path(), Some(&cache), "lines/1");
    assert_eq!(first.analyzed.len(), 300);
    assert_eq!(s1.cache_hits, 0);
    assert_eq!((s1.files_seen, s1.files_scanned, s1.errors), (300, 300, 0));
    assert!(first.results.values().all(|(_, cached)| !cached));
    assert!(first.progress >= 1);

    let (second, s2) = go(dir.path(), Some(&cache), "lines/1");
    assert!(second.analyzed.is_empty());
    assert_eq!(s2.cache_hits, 300);
    assert_eq!(s2.bytes_read, 0, "unchanged files are not read");
    assert_eq!(s2.files_scanned, 300);
    for (rel, (value, cached)) in &second.results {
        assert!(cached);
        assert_eq!(value, &first.results[rel].0);
    }
}

#[test]
fn changed_touched_new_and_deleted_files() {
    let dir = tree(20);
    let cache = memory_cache();
    go(dir.path(), Some(&cache), "lines/1");
    write(dir.path(), "src/m003.rs", "changed\ncontent\nhere\n");
    write(dir.path(), "src/new.rs", "new\n");
    std::fs::remove_file(dir.path().join("src/m004.rs")).unwrap();
    // Same content, new mtime: re-hashed, still a hit, stamp refreshed.
    let touched = dir.path().join("src/m005.rs");
    std::fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(1800))
        .unwrap();

    let (r, s) = go(dir.path(), Some(&cache), "lines/1");
    let mut analyzed = r.analyzed.clone();
    analyzed.sort();
    assert_eq!(
        analyzed,
        vec![PathBuf::from("src/m003.rs"), PathBuf::from("src/new.rs")]
    );
    assert_eq!(
        r.results[Path::new("src/m003.rs")],
        (b"lines=3".to_vec(), false)
    );
    assert!(r.results[Path::new("src/m005.rs")].1);
    assert_eq!(s.cache_hits, 18);
    assert_eq!(
        s.bytes_read,
        21 + 4 + 12,
        "only changed, new and touched files are read"
    );

    // The deleted file's record is gone.
    let ns = cache.analysis_namespace(dir.path());
    let stored = cache.load_analysis("lines/1", &ns).unwrap();
    assert!(!stored.contains_key(b"src/m004.rs".as_slice()));
    assert_eq!(stored.len(), 20);
    // The three files were recorded within 2 s of their last change (their
    // ctime): re-hashed once more, after that window, then stat-only.
    settle(dir.path());
    let (r, s) = go(dir.path(), Some(&cache), "lines/1");
    assert!(r.analyzed.is_empty());
    assert_eq!((s.cache_hits, s.bytes_read), (20, 21 + 4 + 12));
    let (r, s) = go(dir.path(), Some(&cache), "lines/1");
    assert!(r.analyzed.is_empty());
    assert_eq!((s.cache_hits, s.bytes_read), (20, 0));
}

/// Caches to try: memory only, and persistent (whose warm runs read a
/// snapshot file).
fn caches(dir: &Path) -> [Cache; 2] {
    let persistent = CacheOptions {
        dir: Some(dir.join("c")),
        ..CacheOptions::default()
    };
    [memory_cache(), Cache::open(persistent).unwrap()]
}

#[test]
fn a_rewrite_that_put_the_mtime_back_is_analyzed_again() {
    let store = tempfile::tempdir().unwrap();
    for cache in caches(store.path()) {
        let dir = tree(10);
        go(dir.path(), Some(&cache), "lines/1");
        // Same size, mtime and inode, not racy: only the ctime tells.
        let f = dir.path().join("src/m001.rs");
        rewrite_keeping_mtime(&f, "xxx\n");
        let (r, s) = go(dir.path(), Some(&cache), "lines/1");
        assert_eq!(r.analyzed, vec![PathBuf::from("src/m001.rs")]);
        assert_eq!(
            r.results[Path::new("src/m001.rs")],
            (b"lines=1".to_vec(), false)
        );
        assert_eq!((s.cache_hits, s.bytes_read), (9, 4));
        // The new result was stored: the next run answers it (re-hashing
        // it once: it was recorded within 2 s of its ctime), then reads
        // nothing.
        settle(dir.path());
        for bytes in [4, 0] {
            let (r, s) = go(dir.path(), Some(&cache), "lines/1");
            assert!(r.analyzed.is_empty());
            assert_eq!(
                r.results[Path::new("src/m001.rs")],
                (b"lines=1".to_vec(), true)
            );
            assert_eq!((s.cache_hits, s.bytes_read), (10, bytes));
        }
    }
}

#[test]
fn a_ctime_only_change_is_rehashed_once_and_not_analyzed() {
    use std::os::unix::fs::PermissionsExt;
    let store = tempfile::tempdir().unwrap();
    for cache in caches(store.path()) {
        let dir = tree(10);
        let (first, _) = go(dir.path(), Some(&cache), "lines/1");
        let f = dir.path().join("src/m002.rs");
        until_ctime_moves(&f, || {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap()
        });
        // Re-read and re-hashed (6 bytes): the same content, a hit; the
        // analyzer is not called.
        let (r, s) = go(dir.path(), Some(&cache), "lines/1");
        assert!(r.analyzed.is_empty());
        assert_eq!((s.cache_hits, s.bytes_read, s.errors), (10, 6, 0));
        assert_eq!(
            r.results[Path::new("src/m002.rs")],
            (first.results[Path::new("src/m002.rs")].0.clone(), true)
        );
        // Its record was refreshed within 2 s of the chmod: re-hashed once
        // more after that, then the stat is trusted.
        settle(dir.path());
        for bytes in [6, 0] {
            let (r, s) = go(dir.path(), Some(&cache), "lines/1");
            assert!(r.analyzed.is_empty());
            assert_eq!((s.cache_hits, s.bytes_read), (10, bytes));
        }
    }
}

#[test]
fn filtered_out_files_keep_their_records_deleted_ones_lose_them() {
    let dir = tree(10);
    let cache = memory_cache();
    go(dir.path(), Some(&cache), "lines/1");
    std::fs::remove_file(dir.path().join("src/m001.rs")).unwrap();
    // A run that filters most files out: only met files are answered, the
    // unmet ones are looked for once; excluded files keep their records.
    let opts = ScanOptions {
        exclude_globs: vec!["src/m00[5-9].rs".into()],
        ..ScanOptions::default()
    };
    let mut host = Lines::default();
    let s = scan::analyze(dir.path(), &opts, Some(&cache), "lines/1", &mut host).unwrap();
    assert!(host.analyzed.is_empty());
    assert_eq!(s.cache_hits, 4);
    let ns = cache.analysis_namespace(dir.path());
    let stored = cache.load_analysis("lines/1", &ns).unwrap();
    assert!(!stored.contains_key(b"src/m001.rs".as_slice()));
    assert!(stored.contains_key(b"src/m007.rs".as_slice()));
    assert_eq!(stored.len(), 9);
}

#[test]
fn failures_are_reported_and_not_cached() {
    let dir = tree(5);
    write(dir.path(), "fail_me.rs", "oops\n");
    let cache = memory_cache();
    for _ in 0..2 {
        let (r, s) = go(dir.path(), Some(&cache), "lines/1");
        assert_eq!(s.errors, 1);
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].kind, IssueKind::Analyzer);
        assert!(r.issues[0].path.ends_with("fail_me.rs"));
        assert!(r.analyzed.contains(&PathBuf::from("fail_me.rs")));
        assert!(!r.results.contains_key(Path::new("fail_me.rs")));
    }
}

#[test]
fn analyzer_id_and_missing_cache_mean_misses() {
    let dir = tree(10);
    let cache = memory_cache();
    go(dir.path(), Some(&cache), "lines/1");
    let (r, s) = go(dir.path(), Some(&cache), "lines/2");
    assert_eq!((r.analyzed.len(), s.cache_hits), (10, 0));
    for _ in 0..2 {
        let (r, s) = go(dir.path(), None, "lines/1");
        assert_eq!((r.analyzed.len(), s.cache_hits), (10, 0));
    }
    let err = scan::analyze(
        dir.path(),
        &ScanOptions::default(),
        None,
        "",
        &mut Lines::default(),
    );
    assert_eq!(err.unwrap_err().kind, wtfperf::ErrorKind::Invalid);
}

#[test]
fn a_persistent_cache_survives_reopening() {
    let dir = tree(40);
    let store = tempfile::tempdir().unwrap();
    let open = || {
        Cache::open(CacheOptions {
            dir: Some(store.path().join("c")),
            ..Default::default()
        })
        .unwrap()
    };
    {
        let cache = open();
        let (r, _) = go(dir.path(), Some(&cache), "lines/1");
        assert_eq!(r.analyzed.len(), 40);
    }
    let cache = open();
    let (r, s) = go(dir.path(), Some(&cache), "lines/1");
    assert!(r.analyzed.is_empty());
    assert_eq!((s.cache_hits, s.bytes_read), (40, 0));
}

#[test]
fn a_stop_verdict_aborts() {
    let dir = tree(50);
    let cache = memory_cache();
    let mut host = Lines {
        stop_at: Some(5),
        ..Default::default()
    };
    let s = scan::analyze(
        dir.path(),
        &ScanOptions::default(),
        Some(&cache),
        "l",
        &mut host,
    )
    .unwrap();
    assert!(s.aborted);
    assert_eq!(host.analyzed.len(), 5);
    assert_eq!(host.results.len(), 4);
    // What was analyzed before the stop was stored.
    let (r, s) = go(dir.path(), Some(&cache), "l");
    assert_eq!(s.cache_hits, 4);
    assert_eq!(r.analyzed.len(), 46);
}

struct Parallel(Mutex<Lines>);

impl ParallelAnalyzeHost for Parallel {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        self.0
            .lock()
            .unwrap()
            .analyzed
            .push(file.rel_path.to_path_buf());
        analyze_one(file, out)
    }
    fn on_result(&self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        self.0.lock().unwrap().on_result(file, result, cached)
    }
}

#[test]
fn parallel_and_sorted_hosts_get_the_same_results() {
    let dir = tree(120);
    let cache = memory_cache();
    let (reference, _) = go(dir.path(), None, "lines/1");
    for (parallel, sorted) in [(true, false), (true, true), (false, true)] {
        for round in 0..2 {
            let opts = ScanOptions {
                callbacks_parallel: parallel,
                sorted,
                threads: 3,
                ..Default::default()
            };
            let id = format!("lines/{parallel}/{sorted}");
            let (results, s) = if parallel {
                let host = Parallel(Mutex::new(Lines::default()));
                let s =
                    scan::analyze_parallel(dir.path(), &opts, Some(&cache), &id, &host).unwrap();
                (host.0.into_inner().unwrap().results, s)
            } else {
                let mut host = Lines::default();
                let s = scan::analyze(dir.path(), &opts, Some(&cache), &id, &mut host).unwrap();
                (host.results, s)
            };
            assert_eq!(s.cache_hits, if round == 0 { 0 } else { 120 });
            for (rel, (value, cached)) in &results {
                assert_eq!(value, &reference.results[rel].0);
                assert_eq!(*cached, round == 1);
            }
        }
    }
}

#[test]
fn analyze_reports_scan_problems_too() {
    let dir = tree(3);
    write(dir.path(), "big.rs", &"y".repeat(5000));
    let mut host = Lines::default();
    let opts = ScanOptions {
        max_file_size: 1000,
        ..Default::default()
    };
    let s = scan::analyze(dir.path(), &opts, None, "l", &mut host).unwrap();
    assert_eq!((s.files_seen, s.files_scanned, s.files_skipped), (4, 3, 1));
    assert_eq!(host.issues[0].kind, IssueKind::TooLarge);
}

/// Each file's language and whether its result came from the cache.
#[derive(Default)]
struct Languages(BTreeMap<PathBuf, (Option<&'static str>, bool)>);

impl AnalyzeHost for Languages {
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        analyze_one(file, out)
    }
    fn on_result(&mut self, file: &FileEntry<'_>, _: &[u8], cached: bool) -> Control {
        let language = file.language.map(|l| l.name());
        self.0
            .insert(file.rel_path.to_path_buf(), (language, cached));
        Control::Continue
    }
}

#[test]
fn cached_results_report_the_language_found_when_analyzed() {
    // A `#!` script's language comes from its content: a cached result
    // (nothing read) reports it too, from a persistent cache (rows, then
    // the snapshot) as from a memory one.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bin/tool", "#!/usr/bin/env python3\nprint(1)\n");
    write(dir.path(), "bin/run", "#!/bin/sh\necho\n");
    write(dir.path(), "src/a.rs", "fn main() {}\n");
    write(dir.path(), "README", "plain\n");
    let expected = [
        ("README", None),
        ("bin/run", Some("shell")),
        ("bin/tool", Some("python")),
        ("src/a.rs", Some("rust")),
    ];
    let cache_dir = tempfile::tempdir().unwrap();
    let persistent = Cache::open(CacheOptions {
        dir: Some(cache_dir.path().to_path_buf()),
        ..CacheOptions::default()
    })
    .unwrap();
    for cache in [&memory_cache(), &persistent] {
        for run in 0..3 {
            let mut host = Languages::default();
            scan::analyze(
                dir.path(),
                &ScanOptions::default(),
                Some(cache),
                "lang",
                &mut host,
            )
            .unwrap();
            let got: Vec<_> = host.0.iter().collect();
            assert_eq!(got.len(), expected.len());
            for ((rel, (language, cached)), (want_rel, want)) in got.into_iter().zip(expected) {
                assert_eq!(rel, Path::new(want_rel));
                assert_eq!(*language, want, "{want_rel}, run {run}");
                assert_eq!(*cached, run > 0, "{want_rel}, run {run}");
            }
        }
    }
}
