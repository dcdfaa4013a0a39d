//! Stress tests through the C API (issue 8): many threads on one cache handle
//! while two other processes write the same directory; scans aborted at random
//! points; a profiler started and stopped thousands of times with scopes from
//! several threads. Every test is bounded by a watchdog: a deadlock fails the
//! test instead of hanging CI. Each prints its operation counts.
//!
//! Sizes scale with `WTFPERF_STRESS_SCALE` (default 1; CI uses the default).

use std::ffi::{CString, c_void};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use wtfperf::ffi::buf::{wtfperf_buf, wtfperf_buf_free};
use wtfperf::ffi::cache::*;
use wtfperf::ffi::profiler::*;
use wtfperf::ffi::scan::*;
use wtfperf::ffi::*;

fn scale() -> u64 {
    std::env::var("WTFPERF_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Runs `body` on a thread and fails if it does not finish within `limit`.
fn bounded<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("deadlock or livelock: not finished within {limit:?}"),
    }
}

/// A cache handle shareable between threads (the C API documents it may be).
#[derive(Clone, Copy)]
struct Handle(*mut wtfperf_cache);
// SAFETY: wtfperf_cache is documented as safe to share between threads.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

fn open(dir: &Path) -> Handle {
    let d = CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: plain value; `d` outlives the open call; out-param valid.
    unsafe {
        let mut o = wtfperf_cache_options_default();
        o.dir = d.as_ptr();
        o.memory_max_entries = 64;
        let mut c = std::ptr::null_mut();
        let st = wtfperf_cache_open(&o, &mut c);
        assert_eq!(st, WTFPERF_OK, "open failed");
        Handle(c)
    }
}

fn set(c: Handle, key: &[u8], value: &[u8]) -> i32 {
    // SAFETY: live handle, valid slices, NULL options = defaults.
    unsafe {
        wtfperf_cache_set(
            c.0,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            std::ptr::null(),
        )
    }
}

fn get(c: Handle, key: &[u8]) -> Option<Vec<u8>> {
    let mut out = wtfperf_buf::empty();
    // SAFETY: live handle, valid slice and out-param; the buffer is freed once.
    unsafe {
        match wtfperf_cache_get(c.0, key.as_ptr(), key.len(), &mut out) {
            WTFPERF_OK => {
                let v = std::slice::from_raw_parts(out.data, out.len).to_vec();
                wtfperf_buf_free(&mut out);
                Some(v)
            }
            WTFPERF_MISS => None,
            st => panic!("get failed: {st}"),
        }
    }
}

/// Child process: writes `n` keys `p<id>-<i>` into the directory, one
/// committed set each, then exits.
#[test]
#[ignore]
fn stress_child_writer() {
    let Ok(dir) = std::env::var("WTFPERF_STRESS_DIR") else {
        return;
    };
    let id = std::env::var("WTFPERF_STRESS_ID").unwrap();
    let n: u64 = std::env::var("WTFPERF_STRESS_N").unwrap().parse().unwrap();
    let c = open(Path::new(&dir));
    for i in 0..n {
        let key = format!("p{id}-{i}");
        assert_eq!(
            set(c, key.as_bytes(), format!("value of {key}").as_bytes()),
            WTFPERF_OK
        );
    }
    // SAFETY: closed once.
    unsafe { wtfperf_cache_close(c.0) };
}

#[test]
fn cache_threads_and_processes_hammer_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let per_child = 300 * scale();
    let children: Vec<_> = (0..2)
        .map(|id| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "stress_child_writer",
                    "--exact",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env("WTFPERF_STRESS_DIR", dir.path())
                .env("WTFPERF_STRESS_ID", id.to_string())
                .env("WTFPERF_STRESS_N", per_child.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let c = open(dir.path());
    let ops = Arc::new(AtomicU64::new(0));
    let threads = 6u64;
    let per_thread = 1500 * scale();
    let ops2 = Arc::clone(&ops);
    let own_keys = bounded(Duration::from_secs(240), move || {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let ops = Arc::clone(&ops2);
                std::thread::spawn(move || {
                    let mut kept = Vec::new();
                    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for i in 0..per_thread {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = format!("t{t}-{}", x % 64);
                        match x % 10 {
                            0..=3 => {
                                assert_eq!(set(c, key.as_bytes(), key.as_bytes()), WTFPERF_OK)
                            }
                            4..=7 => {
                                if let Some(v) = get(c, key.as_bytes()) {
                                    assert_eq!(v, key.as_bytes(), "a value never crosses keys");
                                }
                            }
                            8 => {
                                // SAFETY: live handle, valid slice.
                                let st = unsafe {
                                    wtfperf_cache_invalidate(c.0, key.as_ptr(), key.len())
                                };
                                assert!(st == WTFPERF_OK || st == WTFPERF_MISS, "{st}");
                            }
                            _ => {
                                let k = format!("keep-{t}-{i}");
                                assert_eq!(set(c, k.as_bytes(), b"kept"), WTFPERF_OK);
                                kept.push(k);
                            }
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    kept
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker panicked"))
            .collect::<Vec<_>>()
    });
    for mut ch in children {
        assert!(ch.wait().unwrap().success(), "a writer process failed");
    }
    // Nothing lost: every key this process kept and every key the other
    // processes committed is readable through a fresh handle.
    // SAFETY: closed once.
    unsafe { wtfperf_cache_close(c.0) };
    let fresh = open(dir.path());
    for k in &own_keys {
        assert_eq!(
            get(fresh, k.as_bytes()).as_deref(),
            Some(&b"kept"[..]),
            "{k} lost"
        );
    }
    for id in 0..2 {
        for i in 0..per_child {
            let key = format!("p{id}-{i}");
            let want = format!("value of {key}");
            assert_eq!(
                get(fresh, key.as_bytes()).as_deref(),
                Some(want.as_bytes()),
                "{key} lost"
            );
        }
    }
    // SAFETY: closed once.
    unsafe { wtfperf_cache_close(fresh.0) };
    println!(
        "cache stress: {} ops on {threads} threads + {} committed sets from 2 processes; \
         {} kept keys and all process keys verified",
        ops.load(Ordering::Relaxed),
        2 * per_child,
        own_keys.len()
    );
}

struct AbortAt {
    seen: u64,
    stop_at: u64,
}

unsafe extern "C" fn abort_at(userdata: *mut c_void, _file: *const wtfperf_file) -> i32 {
    // SAFETY: userdata is the &mut AbortAt passed to wtfperf_scan.
    let state = unsafe { &mut *(userdata as *mut AbortAt) };
    state.seen += 1;
    i32::from(state.seen >= state.stop_at)
}

#[test]
fn scans_aborted_at_random_points_stop_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let files = 400u64;
    for i in 0..files {
        let p = dir.path().join(format!("d{}/f{i}.rs", i % 13));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("fn f{i}() {{}}\n")).unwrap();
    }
    let root = CString::new(dir.path().to_str().unwrap()).unwrap();
    let runs = 60 * scale();
    let checked = bounded(Duration::from_secs(240), move || {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for run in 0..runs {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let stop_at = 1 + x % (files + 20);
            let mut state = AbortAt { seen: 0, stop_at };
            // SAFETY: plain value; pointers valid during the call; the
            // callback is only called on this thread (callbacks_parallel off).
            let (st, sum) = unsafe {
                let mut o = wtfperf_scan_options_default();
                o.threads = 1 + (run % 2) as usize;
                o.sorted = run % 3 == 0;
                o.include_content = run % 4 != 0;
                let cb = wtfperf_scan_callbacks {
                    on_file: Some(abort_at),
                    on_error: None,
                    on_progress: None,
                    userdata: (&raw mut state).cast(),
                };
                let mut sum = wtfperf_scan_summary::default();
                (wtfperf_scan(root.as_ptr(), &o, &cb, &mut sum), sum)
            };
            if stop_at <= files {
                assert_eq!(st, WTFPERF_ABORTED, "run {run}");
                assert_eq!(state.seen, stop_at, "no callback after the stop request");
            } else {
                assert_eq!(st, WTFPERF_OK, "run {run}");
                assert_eq!(state.seen, files);
                assert_eq!(sum.files_scanned, files);
            }
        }
        runs
    });
    println!("scan stress: {checked} scans aborted at random points, all stopped promptly");
}

#[test]
fn profiler_restarted_thousands_of_times_with_scopes_from_threads() {
    let cycles = 2000 * scale();
    let (pairs, cycles) = bounded(Duration::from_secs(240), move || {
        // SAFETY: plain value; out-params valid; handles used while live.
        let p = unsafe {
            let mut o = wtfperf_profiler_options_default();
            o.sample_interval_s = 0.001;
            let mut p = std::ptr::null_mut();
            assert_eq!(wtfperf_profiler_new(&o, &mut p), WTFPERF_OK);
            p as usize
        };
        let pairs = Arc::new(AtomicU64::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let scopers: Vec<_> = (0..3)
            .map(|t| {
                let (pairs, done) = (Arc::clone(&pairs), Arc::clone(&done));
                std::thread::spawn(move || {
                    let name = CString::new(format!("scope-{t}")).unwrap();
                    let p = p as *mut wtfperf_profiler;
                    while !done.load(Ordering::Acquire) {
                        let mut tok = 0u64;
                        // SAFETY: the profiler outlives these threads (joined below).
                        // Scopes are only taken while running (else ERR_STATE);
                        // a scope still open when the profiler stops belongs to
                        // the finished run, so its exit may be refused.
                        let complete = unsafe {
                            match wtfperf_profiler_scope_enter(p, name.as_ptr(), &mut tok) {
                                WTFPERF_OK => match wtfperf_profiler_scope_exit(p, tok) {
                                    WTFPERF_OK => true,
                                    WTFPERF_ERR_STATE | WTFPERF_ERR_INVALID => false,
                                    st => panic!("scope exit: {st}"),
                                },
                                WTFPERF_ERR_STATE => false,
                                st => panic!("scope enter: {st}"),
                            }
                        };
                        if !complete {
                            continue;
                        }
                        pairs.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let p = p as *mut wtfperf_profiler;
        let started = Instant::now();
        for _ in 0..cycles {
            // SAFETY: live handles; every profile is freed once.
            unsafe {
                assert_eq!(wtfperf_profiler_start(p), WTFPERF_OK);
                assert_eq!(wtfperf_profiler_start(p), WTFPERF_ERR_STATE);
                let mut prof = std::ptr::null_mut();
                assert_eq!(wtfperf_profiler_stop(p, &mut prof), WTFPERF_OK);
                assert!(wtfperf_profile_duration_s(prof) >= 0.0);
                wtfperf_profile_free(prof);
                assert_eq!(wtfperf_profiler_stop(p, &mut prof), WTFPERF_ERR_STATE);
            }
        }
        let elapsed = started.elapsed();
        done.store(true, Ordering::Release);
        for s in scopers {
            s.join().expect("scope thread panicked");
        }
        // SAFETY: freed once, after every user joined.
        unsafe { wtfperf_profiler_free(p) };
        println!("profiler cycles took {elapsed:?}");
        (pairs.load(Ordering::Relaxed), cycles)
    });
    println!("profiler stress: {cycles} start/stop cycles, {pairs} scope pairs from 3 threads");
}
