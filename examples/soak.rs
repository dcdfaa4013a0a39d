//! Soak: repeats scan / analyze (persistent cache) / profile cycles through
//! the C API for a bounded time and checks that resident memory and open file
//! descriptors do not grow.
//!
//!     cargo run --release --example soak -- --seconds 300
//!
//! Prints RSS and fd counts after a warm-up and at the end; exits 1 when the
//! fd count grew at all or RSS grew by more than `--rss-slack-mb` (default
//! 16 MB: glibc keeps freed arenas, so a little drift is not a leak).

use std::ffi::{CString, c_void};
use std::time::{Duration, Instant};
use wtfperf::ffi::cache::*;
use wtfperf::ffi::profiler::*;
use wtfperf::ffi::scan::*;
use wtfperf::ffi::*;
use wtfperf::profiler::procfs::RssReader;

/// Resident MB, through the profiler's own reader (kept-open statm, real page size).
fn rss_mb(reader: &mut RssReader) -> f64 {
    reader.rss_bytes().unwrap_or(0) as f64 / 1e6
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

unsafe extern "C" fn count_file(userdata: *mut c_void, _file: *const wtfperf_file) -> i32 {
    // SAFETY: userdata is the &mut u64 passed with the callbacks.
    unsafe { *(userdata as *mut u64) += 1 };
    0
}

unsafe extern "C" fn analyze_len(
    _u: *mut c_void,
    file: *const wtfperf_file,
    sink: *mut wtfperf_sink,
) -> i32 {
    // SAFETY: file and sink are valid during the call.
    unsafe {
        let text = format!("{}", (*file).content_len);
        wtfperf_sink_write(sink, text.as_ptr(), text.len())
    }
}

unsafe extern "C" fn on_result(
    u: *mut c_void,
    _f: *const wtfperf_file,
    _r: *const u8,
    _l: usize,
    cached: bool,
) {
    // SAFETY: userdata is the &mut u64 passed with the call.
    unsafe { *(u as *mut u64) += u64::from(cached) };
}

/// One scan + analyze + profile cycle; returns the number of cached results.
fn cycle(root: &CString, cache_dir: &CString, files: u64) -> u64 {
    // SAFETY (whole body): every pointer is valid for the call it is passed
    // to, handles are freed once, callbacks match their C types.
    unsafe {
        let po = wtfperf_profiler_options_default();
        let mut p = std::ptr::null_mut();
        assert_eq!(wtfperf_profiler_new(&po, &mut p), WTFPERF_OK);
        assert_eq!(wtfperf_profiler_start(p), WTFPERF_OK);
        let name = c"soak-cycle";
        let mut tok = 0;
        assert_eq!(
            wtfperf_profiler_scope_enter(p, name.as_ptr(), &mut tok),
            WTFPERF_OK
        );

        let mut seen = 0u64;
        let cb = wtfperf_scan_callbacks {
            on_file: Some(count_file),
            on_error: None,
            on_progress: None,
            userdata: (&raw mut seen).cast(),
        };
        let so = wtfperf_scan_options_default();
        assert_eq!(
            wtfperf_scan(root.as_ptr(), &so, &cb, std::ptr::null_mut()),
            WTFPERF_OK
        );
        assert_eq!(seen, files);

        let mut co = wtfperf_cache_options_default();
        co.dir = cache_dir.as_ptr();
        let mut cache = std::ptr::null_mut();
        assert_eq!(wtfperf_cache_open(&co, &mut cache), WTFPERF_OK);
        let mut cached = 0u64;
        let st = wtfperf_analyze(
            root.as_ptr(),
            &so,
            cache,
            c"soak".as_ptr(),
            Some(analyze_len),
            Some(on_result),
            (&raw mut cached).cast(),
            std::ptr::null_mut(),
        );
        assert_eq!(st, WTFPERF_OK);
        wtfperf_cache_close(cache);

        assert_eq!(wtfperf_profiler_scope_exit(p, tok), WTFPERF_OK);
        let mut prof = std::ptr::null_mut();
        assert_eq!(wtfperf_profiler_stop(p, &mut prof), WTFPERF_OK);
        let mut json = wtfperf_buf::empty();
        assert_eq!(wtfperf_profile_to_json(prof, &mut json), WTFPERF_OK);
        buf::wtfperf_buf_free(&mut json);
        wtfperf_profile_free(prof);
        wtfperf_profiler_free(p);
        cached
    }
}

fn main() {
    let mut seconds = 30.0f64;
    let mut slack_mb = 16.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds N")
            }
            "--rss-slack-mb" => {
                slack_mb = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--rss-slack-mb N")
            }
            other => {
                eprintln!("unknown argument {other}; usage: soak [--seconds N] [--rss-slack-mb N]");
                std::process::exit(2);
            }
        }
    }
    let tree = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let files = 300u64;
    for i in 0..files {
        let p = tree.path().join(format!("pkg{}/mod{i}.py", i % 10));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            p,
            format!("def f{i}():\n    return {i}\n").repeat(1 + (i as usize % 20)),
        )
        .unwrap();
    }
    let root = CString::new(tree.path().to_str().unwrap()).unwrap();
    let cache_dir = CString::new(cache.path().to_str().unwrap()).unwrap();

    // Opened before the first count, so its fd is in both.
    let mut rss = RssReader::open();
    // Warm-up: thread pools, SQLite page cache, allocator arenas settle.
    for _ in 0..5 {
        cycle(&root, &cache_dir, files);
    }
    let (rss0, fds0) = (rss_mb(&mut rss), open_fds());
    let started = Instant::now();
    let mut cycles = 0u64;
    while started.elapsed() < Duration::from_secs_f64(seconds) {
        let cached = cycle(&root, &cache_dir, files);
        assert_eq!(
            cached, files,
            "warm analyze answers every file from the cache"
        );
        cycles += 1;
    }
    let (rss1, fds1) = (rss_mb(&mut rss), open_fds());
    println!(
        "soak: {cycles} cycles (scan + analyze + profile, {files} files each) in {:.1} s; \
         RSS {rss0:.1} MB -> {rss1:.1} MB; open fds {fds0} -> {fds1}",
        started.elapsed().as_secs_f64()
    );
    let mut failed = false;
    if fds1 > fds0 {
        eprintln!("soak: open file descriptors grew ({fds0} -> {fds1})");
        failed = true;
    }
    if rss1 - rss0 > slack_mb {
        eprintln!("soak: RSS grew by {:.1} MB (> {slack_mb} MB)", rss1 - rss0);
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    println!("soak: ok (no fd growth, RSS within {slack_mb} MB)");
}
