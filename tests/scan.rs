//! Integration tests of the scanner through its Rust API.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use wtfperf::scan::{self, Control, IssueKind, ScanEvent, ScanOptions, ScanSummary};

/// A file as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    hash: [u8; 16],
    content: Option<Vec<u8>>,
    language: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Run {
    files: BTreeMap<PathBuf, Seen>,
    order: Vec<PathBuf>,
    issues: Vec<(PathBuf, IssueKind, String)>,
    progress: Vec<scan::Progress>,
    summary: Option<ScanSummary>,
}

impl Run {
    fn take(&mut self, ev: ScanEvent<'_>) {
        match ev {
            ScanEvent::File(f) => {
                assert_eq!(
                    f.path,
                    f.path.parent().unwrap().join(f.path.file_name().unwrap())
                );
                let seen = Seen {
                    path: f.path.to_path_buf(),
                    size: f.size,
                    mtime_ns: f.mtime_ns,
                    hash: f.content_hash,
                    content: f.content.map(<[u8]>::to_vec),
                    language: f.language.map(|l| l.name()),
                };
                self.order.push(f.rel_path.to_path_buf());
                assert!(self.files.insert(f.rel_path.to_path_buf(), seen).is_none());
            }
            ScanEvent::Issue(i) => self
                .issues
                .push((i.path.clone(), i.kind, i.message.clone())),
            ScanEvent::Progress(p) => self.progress.push(*p),
        }
    }

    fn names(&self) -> BTreeSet<String> {
        self.files
            .keys()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    fn summary(&self) -> ScanSummary {
        self.summary.unwrap()
    }
}

fn run(root: &Path, opts: &ScanOptions) -> Run {
    let mut r = Run::default();
    let s = scan::scan(root, opts, &mut |ev| {
        r.take(ev);
        Control::Continue
    })
    .unwrap();
    r.summary = Some(s);
    r
}

fn run_parallel(root: &Path, opts: &ScanOptions) -> Run {
    let r = Mutex::new(Run::default());
    let s = scan::scan_parallel(root, opts, &|ev| {
        r.lock().unwrap().take(ev);
        Control::Continue
    })
    .unwrap();
    let mut r = r.into_inner().unwrap();
    r.summary = Some(s);
    r
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// The awkward tree of the issue: a FIFO, a symlink loop, a dangling link, a
/// non-UTF-8 name, a file over the size limit, a .gitignore'd file.
fn awkward_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "main.rs", b"fn main() {}\n");
    write(r, "lib/util.py", b"print('hi')\n");
    write(r, "lib/deep/er/x.c", b"int x;\n");
    write(r, "tool", b"#!/usr/bin/env python3\nprint(1)\n");
    write(r, "empty.txt", b"");
    write(r, "notes.log", b"ignored by .gitignore\n");
    write(r, ".gitignore", b"*.log\nbuild/\n");
    write(r, "build/out.o", b"object");
    write(r, ".ignore", b"secret.txt\n");
    write(r, "secret.txt", b"ignored by .ignore\n");
    write(r, ".hidden/h.txt", b"hidden\n");
    write(r, "big.bin", &vec![7u8; 5000]);
    std::fs::write(r.join(OsStr::from_bytes(b"caf\xe9.txt")), b"latin-1 name").unwrap();
    mkfifo(&r.join("pipe"));
    std::os::unix::fs::symlink("..", r.join("lib/up")).unwrap();
    std::os::unix::fs::symlink("nowhere", r.join("dangling")).unwrap();
    std::os::unix::fs::symlink("main.rs", r.join("alias.rs")).unwrap();
    dir
}

fn small(opts: ScanOptions) -> ScanOptions {
    ScanOptions {
        max_file_size: 4096,
        ..opts
    }
}

#[test]
fn default_scan_reads_hashes_and_respects_ignore_files() {
    let dir = awkward_tree();
    let r = run(dir.path(), &small(ScanOptions::default()));
    let expected: BTreeSet<String> = [
        "main.rs",
        "lib/util.py",
        "lib/deep/er/x.c",
        "tool",
        "empty.txt",
        "caf\u{FFFD}.txt",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(r.names(), expected);
    let s = r.summary();
    assert_eq!(s.files_seen, 7, "{s:?}");
    assert_eq!(s.files_scanned, 6);
    assert_eq!(s.files_skipped, 1);
    assert_eq!(s.errors, 0, "{:?}", r.issues);
    assert!(!s.aborted);
    assert_eq!(s.bytes_read, 13 + 12 + 7 + 32 + 12);
    let issues: Vec<_> = r.issues.iter().map(|i| (i.0.clone(), i.1)).collect();
    assert_eq!(
        issues,
        vec![(dir.path().join("big.bin"), IssueKind::TooLarge)]
    );
    assert!(r.issues[0].2.contains("skipped"));

    let main = &r.files[Path::new("main.rs")];
    assert_eq!(main.path, dir.path().join("main.rs"));
    assert_eq!(main.content.as_deref(), Some(&b"fn main() {}\n"[..]));
    assert_eq!(main.hash, scan::content_hash(b"fn main() {}\n"));
    assert_eq!(main.size, 13);
    let meta = std::fs::metadata(dir.path().join("main.rs")).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(main.mtime_ns, mtime.as_nanos() as i64);
    assert_eq!(main.language, Some("rust"));
    assert_eq!(r.files[Path::new("tool")].language, Some("python"));
    assert_eq!(r.files[Path::new("lib/deep/er/x.c")].language, Some("c"));
    assert_eq!(
        r.files[Path::new("empty.txt")].content.as_deref(),
        Some(&b""[..])
    );
    // The non-UTF-8 name reaches the host byte for byte.
    let latin = r
        .files
        .keys()
        .find(|k| k.as_os_str().as_bytes() == b"caf\xe9.txt")
        .expect("non-UTF-8 name");
    assert_eq!(
        r.files[latin].content.as_deref(),
        Some(&b"latin-1 name"[..])
    );
}

#[test]
fn switches_for_ignore_files_and_hidden_files() {
    let dir = awkward_tree();
    write(dir.path(), ".git/config", b"[core]\n");
    let all = run(
        dir.path(),
        &small(ScanOptions {
            respect_ignore_files: false,
            include_hidden: true,
            ..Default::default()
        }),
    );
    for name in [
        "notes.log",
        "secret.txt",
        "build/out.o",
        ".hidden/h.txt",
        ".gitignore",
    ] {
        assert!(all.names().contains(name), "{name}");
    }
    let hidden = run(
        dir.path(),
        &small(ScanOptions {
            include_hidden: true,
            ..Default::default()
        }),
    );
    assert!(hidden.names().contains(".hidden/h.txt"));
    assert!(!hidden.names().contains("notes.log"));
    assert!(!hidden.names().contains(".git/config"), ".git is skipped");
    assert!(all.names().contains(".git/config"));
}

/// The independent count: `find ROOT -type f` (links not followed).
fn find_count(root: &Path, extra: &[&str]) -> u64 {
    let out = std::process::Command::new("find")
        .arg(root)
        .args(extra)
        .args(["-type", "f"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64
}

#[test]
fn everything_walk_matches_find() {
    let dir = awkward_tree();
    let opts = ScanOptions {
        respect_ignore_files: false,
        include_hidden: true,
        max_file_size: u64::MAX,
        ..Default::default()
    };
    let expected = find_count(dir.path(), &[]);
    for (label, r) in [
        ("host", run(dir.path(), &opts)),
        (
            "parallel",
            run_parallel(
                dir.path(),
                &ScanOptions {
                    callbacks_parallel: true,
                    ..opts.clone()
                },
            ),
        ),
        (
            "sorted",
            run(
                dir.path(),
                &ScanOptions {
                    sorted: true,
                    ..opts.clone()
                },
            ),
        ),
    ] {
        let s = r.summary();
        assert_eq!(s.files_seen, expected, "{label}");
        assert_eq!(s.files_scanned, expected, "{label}");
        assert_eq!(s.errors, 0, "{label}");
    }
}

#[test]
fn links_loops_and_dangling_links_when_following() {
    let dir = awkward_tree();
    let r = run(
        dir.path(),
        &small(ScanOptions {
            follow_links: true,
            ..Default::default()
        }),
    );
    let kinds: BTreeMap<PathBuf, IssueKind> = r.issues.iter().map(|i| (i.0.clone(), i.1)).collect();
    assert_eq!(
        kinds.get(&dir.path().join("lib/up")),
        Some(&IssueKind::Loop),
        "{:?}",
        r.issues
    );
    assert_eq!(
        kinds.get(&dir.path().join("dangling")),
        Some(&IssueKind::Io),
        "{:?}",
        r.issues
    );
    assert!(r.names().contains("alias.rs"));
    assert_eq!(r.summary().errors, 2);
    // Without following, links are neither files nor errors.
    let r = run(dir.path(), &small(ScanOptions::default()));
    assert!(!r.names().contains("alias.rs"));
    assert!(r.issues.iter().all(|i| i.1 == IssueKind::TooLarge));
}

#[test]
fn globs_and_depth() {
    let dir = awkward_tree();
    let inc = run(
        dir.path(),
        &ScanOptions {
            include_globs: vec!["*.rs".into(), "lib/**/*.c".into()],
            ..Default::default()
        },
    );
    assert_eq!(
        inc.names(),
        ["main.rs", "lib/deep/er/x.c"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let exc = run(
        dir.path(),
        &small(ScanOptions {
            exclude_globs: vec!["deep/".into(), "*.py".into()],
            ..Default::default()
        }),
    );
    assert!(!exc.names().iter().any(|n| n.starts_with("lib/")));
    assert!(exc.names().contains("main.rs"));
    let shallow = run(
        dir.path(),
        &small(ScanOptions {
            max_depth: 1,
            ..Default::default()
        }),
    );
    assert!(shallow.names().contains("main.rs"));
    assert!(!shallow.names().iter().any(|n| n.contains('/')));
    let bad = scan::scan(
        dir.path(),
        &ScanOptions {
            include_globs: vec!["a[".into()],
            ..Default::default()
        },
        &mut |_| Control::Continue,
    );
    assert_eq!(bad.unwrap_err().kind, wtfperf::ErrorKind::Invalid);
}

#[test]
fn stat_only_reads_nothing() {
    let dir = awkward_tree();
    for parallel in [false, true] {
        let opts = small(ScanOptions {
            include_content: false,
            callbacks_parallel: parallel,
            ..Default::default()
        });
        let r = if parallel {
            run_parallel(dir.path(), &opts)
        } else {
            run(dir.path(), &opts)
        };
        assert_eq!(r.summary().bytes_read, 0);
        assert_eq!(r.summary().files_skipped, 1);
        let main = &r.files[Path::new("main.rs")];
        assert_eq!(
            (main.size, main.content.is_none(), main.hash),
            (13, true, [0; 16])
        );
        assert!(main.mtime_ns > 0);
        assert_eq!(r.files[Path::new("tool")].language, None);
    }
}

/// A wide tree: many directories and files.
fn wide_tree(dirs: usize, files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in 0..dirs {
        for f in 0..files {
            write(
                dir.path(),
                &format!("d{d:03}/f{f:03}.txt"),
                format!("{d}-{f}").as_bytes(),
            );
        }
    }
    dir
}

#[test]
fn sorted_is_path_order_whatever_the_threads() {
    let dir = wide_tree(12, 40);
    let mut orders = Vec::new();
    for (threads, chunk) in [(1, 1), (2, 1), (4, 3), (3, 64)] {
        for parallel in [false, true] {
            let opts = ScanOptions {
                sorted: true,
                threads,
                chunk_size: chunk,
                callbacks_parallel: parallel,
                ..Default::default()
            };
            let r = if parallel {
                run_parallel(dir.path(), &opts)
            } else {
                run(dir.path(), &opts)
            };
            let mut sorted = r.order.clone();
            sorted.sort();
            assert_eq!(r.order, sorted);
            assert_eq!(r.order.len(), 480);
            orders.push(r.order);
        }
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn wide_trees_through_every_mode() {
    let dir = wide_tree(30, 50);
    for threads in [1, 2, 5] {
        for chunk in [1, 7] {
            for (sorted, parallel) in [(false, false), (false, true), (true, false)] {
                let opts = ScanOptions {
                    threads,
                    chunk_size: chunk,
                    sorted,
                    callbacks_parallel: parallel,
                    ..Default::default()
                };
                let r = if parallel {
                    run_parallel(dir.path(), &opts)
                } else {
                    run(dir.path(), &opts)
                };
                assert_eq!(r.files.len(), 1500, "{opts:?}");
                for (rel, seen) in &r.files {
                    let want = std::fs::read(dir.path().join(rel)).unwrap();
                    assert_eq!(seen.content.as_deref(), Some(&want[..]));
                }
                let last = r.progress.last().unwrap();
                assert_eq!(
                    (last.files_done, last.files_total),
                    (1500, 1500),
                    "{opts:?}"
                );
                assert_eq!(last.bytes_done, r.summary().bytes_read);
            }
        }
    }
}

#[test]
fn stop_after_n_files() {
    let dir = wide_tree(20, 50);
    for (sorted, threads) in [(false, 1), (false, 4), (true, 2)] {
        let mut n = 0;
        let opts = ScanOptions {
            sorted,
            threads,
            ..Default::default()
        };
        let s = scan::scan(dir.path(), &opts, &mut |ev| {
            if let ScanEvent::File(_) = ev {
                n += 1;
                if n == 10 {
                    return Control::Stop;
                }
            }
            Control::Continue
        })
        .unwrap();
        assert!(s.aborted);
        assert_eq!(n, 10, "no file is delivered after the stop");
        // The calling thread walks alone with one thread: it stops at once.
        // Other walkers may have queued every file of this small tree for
        // it before it saw the stop (they may run up to 32k files ahead).
        if threads == 1 {
            assert!(s.files_seen < 1000, "stopped promptly: {s:?}");
        }
    }
    let calls = AtomicUsize::new(0);
    let s = scan::scan_parallel(
        dir.path(),
        &ScanOptions {
            threads: 2,
            callbacks_parallel: true,
            ..Default::default()
        },
        &|ev| {
            if let ScanEvent::File(_) = ev
                && calls.fetch_add(1, Ordering::SeqCst) + 1 >= 10
            {
                return Control::Stop;
            }
            Control::Continue
        },
    )
    .unwrap();
    assert!(s.aborted);
    assert!(calls.load(Ordering::SeqCst) < 20);
}

#[test]
fn callbacks_run_on_the_calling_thread_by_default() {
    let dir = wide_tree(8, 30);
    let me = std::thread::current().id();
    let mut count = 0;
    scan::scan(dir.path(), &ScanOptions::default(), &mut |_| {
        assert_eq!(std::thread::current().id(), me);
        count += 1;
        Control::Continue
    })
    .unwrap();
    assert!(count >= 240);
    let others = AtomicUsize::new(0);
    scan::scan_parallel(
        dir.path(),
        &ScanOptions {
            threads: 2,
            callbacks_parallel: true,
            ..Default::default()
        },
        &|ev| {
            if matches!(ev, ScanEvent::File(_)) && std::thread::current().id() != me {
                others.fetch_add(1, Ordering::SeqCst);
            }
            Control::Continue
        },
    )
    .unwrap();
    assert_eq!(others.load(Ordering::SeqCst), 240);
    // One thread: everything happens on the calling thread, in every mode.
    for (sorted, parallel) in [(false, false), (true, false), (false, true)] {
        let on_caller = AtomicUsize::new(0);
        scan::scan_parallel(
            dir.path(),
            &ScanOptions {
                threads: 1,
                sorted,
                callbacks_parallel: parallel,
                ..Default::default()
            },
            &|ev| {
                if matches!(ev, ScanEvent::File(_)) && std::thread::current().id() == me {
                    on_caller.fetch_add(1, Ordering::SeqCst);
                }
                Control::Continue
            },
        )
        .unwrap();
        assert_eq!(on_caller.load(Ordering::SeqCst), 240);
    }
}

/// A host slower than the walk still gets progress reports during the
/// scan, in every delivery mode (by default the calling thread, busy with
/// the batches the other threads keep sending, once reported only at the
/// end).
#[test]
fn progress_comes_during_a_scan_whose_host_is_slow() {
    let tree = wide_tree(8, 60);
    for (parallel, sorted) in [(false, false), (true, false), (false, true)] {
        let opts = ScanOptions {
            threads: 2,
            sorted,
            ..ScanOptions::default()
        };
        let files = AtomicUsize::new(0);
        // Files delivered when each progress report came.
        let reports = Mutex::new(Vec::new());
        let on_event = |ev: ScanEvent<'_>| {
            match ev {
                ScanEvent::File(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    files.fetch_add(1, Ordering::SeqCst);
                }
                ScanEvent::Progress(_) => {
                    reports.lock().unwrap().push(files.load(Ordering::SeqCst))
                }
                ScanEvent::Issue(_) => {}
            }
            Control::Continue
        };
        let summary = if parallel {
            scan::scan_parallel(tree.path(), &opts, &on_event).unwrap()
        } else {
            scan::scan(tree.path(), &opts, &mut |ev| on_event(ev)).unwrap()
        };
        assert_eq!(summary.files_scanned, 480);
        let reports = reports.into_inner().unwrap();
        // 480 files of at least 1 ms each: ~5 reports due before the end.
        let during = reports.iter().filter(|&&n| n < 480).count();
        assert!(
            during >= 2,
            "parallel {parallel} sorted {sorted}: reports at {reports:?}"
        );
    }
}

#[test]
fn a_panic_stops_the_scan_cleanly() {
    let dir = wide_tree(10, 30);
    for (sorted, threads) in [(false, 2), (true, 2), (false, 1), (true, 1)] {
        let mut n = 0;
        let err = scan::scan(
            dir.path(),
            &ScanOptions {
                sorted,
                threads,
                chunk_size: 1,
                ..Default::default()
            },
            &mut |_| {
                n += 1;
                if n == 5 {
                    panic!("host bug");
                }
                Control::Continue
            },
        )
        .unwrap_err();
        assert_eq!(err.kind, wtfperf::ErrorKind::Panic);
        assert!(err.message.contains("host bug"));
    }
    let err = scan::scan_parallel(
        dir.path(),
        &ScanOptions {
            threads: 3,
            callbacks_parallel: true,
            ..Default::default()
        },
        &|ev| {
            if let ScanEvent::File(f) = ev
                && f.rel_path.ends_with("f007.txt")
            {
                panic!("worker bug");
            }
            Control::Continue
        },
    )
    .unwrap_err();
    assert_eq!(err.kind, wtfperf::ErrorKind::Panic);
}

#[test]
fn a_file_vanishing_before_it_is_read_is_reported_and_the_scan_goes_on() {
    let dir = wide_tree(1, 10);
    let d = dir.path().join("d000");
    let mut removed = false;
    let mut issues = Vec::new();
    let mut files = 0;
    // One thread, a window of one file: the lister is at most one file ahead.
    let s = scan::scan(
        dir.path(),
        &ScanOptions {
            sorted: true,
            threads: 1,
            chunk_size: 1,
            ..Default::default()
        },
        &mut |ev| {
            match ev {
                ScanEvent::File(_) if !removed => {
                    std::fs::remove_file(d.join("f005.txt")).unwrap();
                    removed = true;
                    files += 1;
                }
                ScanEvent::File(_) => files += 1,
                ScanEvent::Issue(i) => issues.push(i.clone()),
                ScanEvent::Progress(_) => {}
            }
            Control::Continue
        },
    )
    .unwrap();
    assert_eq!(files, 9);
    assert_eq!(s.errors, 1);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, d.join("f005.txt"));
    assert_eq!(issues[0].kind, IssueKind::Io);
}

#[test]
fn a_root_that_is_a_file_or_missing() {
    let dir = awkward_tree();
    let r = run(&dir.path().join("main.rs"), &ScanOptions::default());
    assert_eq!(r.names(), ["main.rs".to_string()].into_iter().collect());
    let err = scan::scan(
        &dir.path().join("missing"),
        &ScanOptions::default(),
        &mut |_| Control::Continue,
    )
    .unwrap_err();
    assert_eq!(err.kind, wtfperf::ErrorKind::Io);
}

#[test]
fn parent_gitignore_applies() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", b"*.gen\n");
    write(dir.path(), "sub/a.gen", b"x");
    write(dir.path(), "sub/b.rs", b"y");
    let r = run(&dir.path().join("sub"), &ScanOptions::default());
    assert_eq!(r.names(), ["b.rs".to_string()].into_iter().collect());
}

/// A home directory kept in git with `*` in its .gitignore (a common way to
/// track dotfiles) does not hide the projects under it that are
/// repositories of their own, scanned from their root or from inside.
#[test]
fn parent_gitignore_stops_at_a_repository_root() {
    let home = tempfile::tempdir().unwrap();
    write(home.path(), ".git/HEAD", b"ref: refs/heads/main\n");
    write(home.path(), ".gitignore", b"*\n");
    write(home.path(), ".ignore", b"*.bak\n");
    let proj = home.path().join("proj");
    write(&proj, ".git/HEAD", b"ref: refs/heads/main\n");
    write(&proj, "src/main.rs", b"fn main() {}");
    write(&proj, "old.bak", b"");
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // .ignore rules above still apply: they are not git's.
    let r = run(&proj, &ScanOptions::default());
    assert_eq!(r.names(), names(&["src/main.rs"]));
    let r = run(&proj.join("src"), &ScanOptions::default());
    assert_eq!(r.names(), names(&["main.rs"]));
    // From home, its own rules hide everything (the project included).
    write(home.path(), "notes.txt", b"");
    assert_eq!(
        run(home.path(), &ScanOptions::default()).names(),
        names(&[])
    );
}

#[test]
fn same_file_system_stays_on_the_root_device() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
        return; // no second file system to cross into here
    };
    let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
    if dev(dir.path()) == dev(other.path()) {
        return;
    }
    write(dir.path(), "here.txt", b"1");
    write(other.path(), "there.txt", b"2");
    std::os::unix::fs::symlink(other.path(), dir.path().join("mnt")).unwrap();
    let opts = ScanOptions {
        follow_links: true,
        ..Default::default()
    };
    assert_eq!(run(dir.path(), &opts).files.len(), 2);
    let same = ScanOptions {
        same_file_system: true,
        ..opts
    };
    let r = run(dir.path(), &same);
    assert_eq!(r.names(), ["here.txt".to_string()].into_iter().collect());
}

/// What the `ignore` crate's own walker (as ripgrep and fd use it) yields
/// for the same settings: the oracle for our walker's rule handling.
fn ignore_crate_files(root: &Path, hidden: bool, ignores: bool, sorted: bool) -> Vec<PathBuf> {
    let mut b = ignore::WalkBuilder::new(root);
    b.standard_filters(false)
        .hidden(!hidden)
        .parents(ignores)
        .ignore(ignores)
        .git_ignore(ignores)
        .git_global(ignores)
        .git_exclude(ignores)
        // The tree is a repository (which `require_git(true)` needs for
        // .gitignore rules to apply at all): then the walker, like ours,
        // stops the rules of .gitignore files above a repository's root.
        .require_git(true);
    if ignores && hidden {
        b.filter_entry(|d| d.depth() == 0 || d.file_name() != ".git");
    }
    if sorted {
        b.sort_by_file_name(|a, b| a.cmp(b));
    }
    b.build()
        .filter_map(Result::ok)
        .filter(|d| d.file_type().is_some_and(|t| t.is_file()))
        .map(|d| d.path().strip_prefix(root).unwrap().to_path_buf())
        .collect()
}

#[test]
fn ignore_rules_match_the_ignore_crate_walker() {
    let top = tempfile::tempdir().unwrap();
    // A parent of the root with rules, then the scanned tree: a repository,
    // so the parent's .gitignore rules stop at its root.
    write(top.path(), ".gitignore", b"*.parent\n");
    let r = &top.path().join("proj");
    let files: &[(&str, &[u8])] = &[
        (".git/HEAD", b"ref: refs/heads/main\n"),
        (
            ".gitignore",
            b"*.o\n/anchored.txt\nbuild/\n!keep.o\ndocs/**/*.tmp\n",
        ),
        (".ignore", b"*.log\n!important.log\n"),
        ("a.o", b""),
        ("keep.o", b""),
        ("anchored.txt", b""),
        ("sub/anchored.txt", b""),
        ("x.parent", b""),
        ("app.log", b""),
        ("important.log", b""),
        ("build/out.bin", b""),
        ("sub/build/deep.bin", b""),
        ("docs/a/b/c.tmp", b""),
        ("docs/a/b/c.md", b""),
        ("sub/.gitignore", b"!a.o\n*.md\n"),
        ("sub/a.o", b""),
        ("sub/readme.md", b""),
        ("sub/x.log", b""),
        // A nested repository: rules of .gitignore files above it stop at
        // its root; .ignore rules do not.
        ("nested/.git/info/exclude", b"excluded.txt\n"),
        ("nested/.git/HEAD", b"ref: refs/heads/main\n"),
        ("nested/a.o", b""),
        ("nested/excluded.txt", b""),
        ("nested/y.log", b""),
        ("nested/x.parent", b""),
        (".hidden/h.txt", b""),
        (".dotfile", b""),
        ("plain.rs", b""),
    ];
    for (rel, content) in files {
        write(r, rel, content);
    }
    for hidden in [false, true] {
        for ignores in [true, false] {
            for sorted in [false, true] {
                for threads in [1, 2, 3] {
                    let opts = ScanOptions {
                        include_hidden: hidden,
                        respect_ignore_files: ignores,
                        sorted,
                        threads,
                        ..Default::default()
                    };
                    let got = run(r, &opts);
                    let mut want = ignore_crate_files(r, hidden, ignores, sorted);
                    let label = format!(
                        "hidden={hidden} ignores={ignores} sorted={sorted} threads={threads}"
                    );
                    if sorted {
                        assert_eq!(got.order, want, "{label}");
                    }
                    want.sort();
                    let mut got: Vec<PathBuf> = got.files.keys().cloned().collect();
                    got.sort();
                    assert_eq!(got, want, "{label}");
                }
            }
        }
    }
}

#[test]
fn linked_worktrees_and_submodules_use_their_repository_excludes() {
    // `.git` is a file there (`gitdir: ...`): a linked worktree's excludes
    // are its repository's (`commondir`), a submodule's are in its own git
    // directory, as git reads them.
    let top = tempfile::tempdir().unwrap();
    let t = top.path();
    let files: &[(&str, &[u8])] = &[
        ("repo/.git/HEAD", b"ref: refs/heads/main\n"),
        ("repo/.git/info/exclude", b"*.wx\n"),
        ("repo/.git/worktrees/wt/commondir", b"../..\n"),
        ("repo/.git/worktrees/wt/HEAD", b"ref: refs/heads/wt\n"),
        ("repo/.git/modules/sub/HEAD", b"ref: refs/heads/main\n"),
        ("repo/.git/modules/sub/info/exclude", b"*.sx\n"),
        ("repo/base.rs", b""),
        ("repo/main.wx", b""),
        ("repo/sub/.git", b"gitdir: ../.git/modules/sub\n"),
        ("repo/sub/a.sx", b""),
        ("repo/sub/b.rs", b""),
        ("wt/a.wx", b""),
        ("wt/b.rs", b""),
    ];
    for (rel, content) in files {
        write(t, rel, content);
    }
    let gitdir = format!("gitdir: {}\n", t.join("repo/.git/worktrees/wt").display());
    write(t, "wt/.git", gitdir.as_bytes());
    let got: Vec<String> = run(t, &ScanOptions::default())
        .names()
        .into_iter()
        .collect();
    assert_eq!(got, ["repo/base.rs", "repo/sub/b.rs", "wt/b.rs"]);
    // The worktree alone, as ripgrep's walker (the `ignore` crate) sees it.
    let wt = t.join("wt");
    let got: Vec<PathBuf> = run(&wt, &ScanOptions::default())
        .files
        .into_keys()
        .collect();
    assert_eq!(got, ignore_crate_files(&wt, false, true, true));
    assert_eq!(got, [PathBuf::from("b.rs")]);
}

/// `{...}` nested 100 000 deep overflowed the stack in globset (the
/// process aborted): in a scanned tree's `.gitignore` such a line is left
/// out and reported, the others apply; as an option it is `Invalid`.
#[test]
fn glob_patterns_nested_too_deep_are_refused_not_a_crash() {
    let deep = format!("{}b{}", "{a,".repeat(100_000), "}".repeat(100_000));
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        ".gitignore",
        format!("*.log\n{deep}\nx.txt\n").as_bytes(),
    );
    for name in ["a.rs", "x.txt", "y.log"] {
        write(r, name, b"1");
    }
    for threads in [1, 2] {
        let run = run(
            r,
            &small(ScanOptions {
                threads,
                ..Default::default()
            }),
        );
        assert_eq!(run.names().into_iter().collect::<Vec<_>>(), ["a.rs"]);
        assert_eq!(run.issues.len(), 1, "{:?}", run.issues);
        let (path, kind, message) = &run.issues[0];
        assert_eq!(path, &r.join(".gitignore"));
        assert_eq!(*kind, IssueKind::IgnoreFile);
        assert!(
            message.starts_with("line 2: ") && message.contains("deeper than"),
            "{message}"
        );
    }
    for globs in [
        ScanOptions {
            include_globs: vec![deep.clone()],
            ..Default::default()
        },
        ScanOptions {
            exclude_globs: vec![deep.clone()],
            ..Default::default()
        },
    ] {
        let err = scan::scan(r, &globs, &mut |_| Control::Continue).unwrap_err();
        assert_eq!(err.kind, wtfperf::ErrorKind::Invalid);
        assert!(err.message.contains("deeper than"), "{}", err.message);
    }
    // 32 levels still work.
    let ok = format!("{}a.rs{}", "{z,".repeat(32), "}".repeat(32));
    let run = run(
        r,
        &ScanOptions {
            include_globs: vec![ok],
            ..Default::default()
        },
    );
    assert_eq!(run.names().into_iter().collect::<Vec<_>>(), ["a.rs"]);
}

#[test]
fn deep_trees_keep_descriptors_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 200;
    let mut rel = PathBuf::new();
    for i in 0..depth {
        rel.push("d");
        write(
            dir.path(),
            &rel.join(format!("f{i}")).to_string_lossy(),
            b"x",
        );
    }
    // Descriptors open on this tree (other tests run meanwhile).
    let root = dir.path().to_path_buf();
    let open_fds = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.starts_with(&root))
            .count()
    };
    for (threads, sorted) in [(1, false), (1, true), (2, true), (2, false)] {
        let mut most = 0;
        let mut files = 0;
        let opts = ScanOptions {
            threads,
            sorted,
            ..Default::default()
        };
        scan::scan(dir.path(), &opts, &mut |ev| {
            if let ScanEvent::File(f) = ev {
                files += 1;
                assert_eq!(f.content, Some(&b"x"[..]));
                most = most.max(open_fds());
            }
            Control::Continue
        })
        .unwrap();
        assert_eq!(files, depth, "threads={threads} sorted={sorted}");
        // Unbounded, the walk would hold one descriptor per level (200).
        assert!(
            most < 100,
            "{most} descriptors open on the tree, threads={threads} sorted={sorted}"
        );
    }
}
