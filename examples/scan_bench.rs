//! Scanner benchmark: one run of the scanner over a tree, with its figures.
//!
//! ```sh
//! cargo run --release --example scan_bench -- <mode> <root> [options]
//! ```
//!
//! Modes:
//! * `walk`    walk + stat, nothing read or hashed (`include_content = false`);
//! * `scan`    walk + read + XXH3-128 + a callback per file;
//! * `analyze` incremental analysis with a persistent cache in `--cache DIR`
//!   (the first run fills it; later runs over an unchanged tree are warm);
//! * `load`    only `Cache::open` and the load a warm analyze starts with
//!   (`--cache DIR`; `--map`: `load_analysis`'s HashMap instead of the index).
//!
//! Options: `--threads N` (0 = all cores), `--chunk N`, `--sorted`,
//! `--parallel` (callbacks on worker threads), `--all` (no ignore files,
//! hidden files included: what `fd -u` and `rg -uuu` see), `--cache DIR`,
//! `--max-size BYTES` (larger files are skipped, counted as skipped),
//! `--repeat K` (prints the median of K runs).
//!
//! Prints one line: mode, files, bytes read, cache hits, seconds, files/s,
//! the process's peak RSS (VmHWM), and `cpu_s`: the CPU time (user +
//! system) the process spent during that run (against `seconds` times the
//! threads, it tells time worked from time idle).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use wtfperf::cache::{Cache, CacheOptions};
use wtfperf::scan::{self, Control, FileEntry, ScanEvent, ScanOptions, ScanSummary, Verdict};

struct Args {
    mode: String,
    root: PathBuf,
    opts: ScanOptions,
    cache: Option<PathBuf>,
    repeat: usize,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or("missing mode")?;
    let root = PathBuf::from(it.next().ok_or("missing root")?);
    let mut a = Args {
        mode,
        root,
        opts: ScanOptions::default(),
        cache: None,
        repeat: 1,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => a.opts.threads = value()?.parse().map_err(|e| format!("{e}"))?,
            "--chunk" => a.opts.chunk_size = value()?.parse().map_err(|e| format!("{e}"))?,
            "--repeat" => a.repeat = value()?.parse().map_err(|e| format!("{e}"))?,
            "--cache" => a.cache = Some(PathBuf::from(value()?)),
            "--max-size" => a.opts.max_file_size = value()?.parse().map_err(|e| format!("{e}"))?,
            "--sorted" => a.opts.sorted = true,
            "--parallel" => a.opts.callbacks_parallel = true,
            "--all" => {
                a.opts.respect_ignore_files = false;
                a.opts.include_hidden = true;
            }
            "--map" => {}
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// Peak resident set size of this process, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time (user + system) of the whole process so far, in seconds:
/// against `seconds`, it tells time spent idle from time spent working.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// What a host typically does per file: look at it.
fn touch(f: &FileEntry<'_>, sink: &AtomicU64) {
    let first = f.content.and_then(|c| c.first().copied()).unwrap_or(0);
    sink.fetch_add(
        f.size ^ u64::from(first) ^ u64::from(f.content_hash[0]),
        Ordering::Relaxed,
    );
}

struct SizeAnalyzer;

impl scan::ParallelAnalyzeHost for SizeAnalyzer {
    fn analyze(&self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        let lines = file
            .content
            .map_or(0, |c| c.iter().filter(|&&b| b == b'\n').count());
        out.extend_from_slice(&(lines as u64).to_le_bytes());
        Verdict::Done
    }
    fn on_result(&self, _: &FileEntry<'_>, result: &[u8], _: bool) -> Control {
        std::hint::black_box(result);
        Control::Continue
    }
}

impl scan::AnalyzeHost for SizeAnalyzer {
    fn analyze(&mut self, file: &FileEntry<'_>, out: &mut Vec<u8>) -> Verdict {
        scan::ParallelAnalyzeHost::analyze(self, file, out)
    }
    fn on_result(&mut self, file: &FileEntry<'_>, result: &[u8], cached: bool) -> Control {
        scan::ParallelAnalyzeHost::on_result(self, file, result, cached)
    }
}

fn once(a: &Args, root: &Path) -> Result<ScanSummary, String> {
    let sink = AtomicU64::new(0);
    let on_event = |ev: ScanEvent<'_>| {
        if let ScanEvent::File(f) = ev {
            touch(f, &sink);
        }
        Control::Continue
    };
    let summary = match a.mode.as_str() {
        "walk" | "scan" => {
            let opts = ScanOptions {
                include_content: a.mode == "scan",
                ..a.opts.clone()
            };
            if opts.callbacks_parallel {
                scan::scan_parallel(root, &opts, &on_event)
            } else {
                scan::scan(root, &opts, &mut { on_event })
            }
        }
        "analyze" => {
            let dir = a.cache.clone().ok_or("analyze needs --cache DIR")?;
            let cache = Cache::open(CacheOptions {
                dir: Some(dir),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
            if a.opts.callbacks_parallel {
                scan::analyze_parallel(root, &a.opts, Some(&cache), "bench/lines", &SizeAnalyzer)
            } else {
                scan::analyze(
                    root,
                    &a.opts,
                    Some(&cache),
                    "bench/lines",
                    &mut SizeAnalyzer,
                )
            }
        }
        "load" => {
            // Only the bulk load a warm analyze starts with.
            let dir = a.cache.clone().ok_or("load needs --cache DIR")?;
            let t = std::time::Instant::now();
            let cache = Cache::open(CacheOptions {
                dir: Some(dir),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
            let opened = t.elapsed().as_secs_f64();
            let ns = cache.analysis_namespace(root);
            // The compact index analyze loads (`--map`: the HashMap of
            // `load_analysis`).
            let (len, index) = if std::env::args().any(|a| a == "--map") {
                let m = cache.load_analysis("bench/lines", &ns);
                (m.map(|m| m.len()), None)
            } else {
                match cache.load_analysis_index("bench/lines", &ns) {
                    Ok(index) => (Ok(index.len()), Some(index)),
                    Err(e) => (Err(e), None),
                }
            };
            let loaded = t.elapsed().as_secs_f64() - opened;
            let len = len.map_err(|e| e.to_string())?;
            let lookup = index.as_ref().map(lookup_ns);
            eprintln!(
                "open {:.1} ms, load {:.1} ms{}",
                opened * 1e3,
                loaded * 1e3,
                lookup.map_or(String::new(), |ns| format!(
                    ", one lookup {ns:.0} ns (every record, \
                     a directory's files together as the walk gives them, \
                     in a shuffled order within it)"
                ))
            );
            Ok(ScanSummary {
                files_seen: len as u64,
                duration_s: opened + loaded,
                ..Default::default()
            })
        }
        other => return Err(format!("unknown mode {other}")),
    };
    std::hint::black_box(sink.load(Ordering::Relaxed));
    summary.map_err(|e| e.to_string())
}

/// Nanoseconds per `get_slot` over every record of `index`, directories in
/// turn and each one's files in a shuffled order (as `readdir` gives them,
/// not sorted): what a warm analyze's lookups cost without the walk. The
/// time of the lookups only (the list is built first).
fn lookup_ns(index: &wtfperf::cache::analysis::AnalysisIndex) -> f64 {
    let mut paths: Vec<Vec<u8>> = index.iter().map(|r| r.rel_path()).collect();
    // Shuffle within runs of the same directory (xorshift: no dependency).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut start = 0;
    while start < paths.len() {
        let dir = |p: &[u8]| p.iter().rposition(|&b| b == b'/').map(|i| p[..i].to_vec());
        let d = dir(&paths[start]);
        let mut end = start + 1;
        while end < paths.len() && dir(&paths[end]) == d {
            end += 1;
        }
        for i in (start + 1..end).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            paths.swap(i, start + (x % (i - start + 1) as u64) as usize);
        }
        start = end;
    }
    // The median of 5 passes.
    let mut passes: Vec<f64> = (0..5)
        .map(|_| {
            let t = std::time::Instant::now();
            let mut found = 0usize;
            for p in &paths {
                found += usize::from(std::hint::black_box(index.get_slot(p)).is_some());
            }
            assert_eq!(found, paths.len());
            t.elapsed().as_nanos() as f64 / paths.len().max(1) as f64
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    passes[2]
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "scan_bench: {e}\nusage: scan_bench walk|scan|analyze ROOT [--threads N] [--chunk N] [--max-size BYTES] [--sorted] [--parallel] [--all] [--cache DIR] [--repeat K]"
            );
            return ExitCode::from(2);
        }
    };
    let mut runs = Vec::new();
    for _ in 0..a.repeat.max(1) {
        let cpu = cpu_seconds();
        match once(&a, &a.root) {
            Ok(s) => runs.push((s, cpu_seconds() - cpu)),
            Err(e) => {
                eprintln!("scan_bench: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    runs.sort_by(|x, y| x.0.duration_s.total_cmp(&y.0.duration_s));
    let (s, cpu) = runs[runs.len() / 2];
    println!(
        "mode={} threads={} files={} scanned={} skipped={} errors={} bytes={} cache_hits={} seconds={:.4} files_per_s={:.0} peak_rss_mib={:.1} cpu_s={:.4}",
        a.mode,
        a.opts.worker_threads(),
        s.files_seen,
        s.files_scanned,
        s.files_skipped,
        s.errors,
        s.bytes_read,
        s.cache_hits,
        s.duration_s,
        s.files_seen as f64 / s.duration_s.max(1e-9),
        peak_rss_mib(),
        cpu
    );
    ExitCode::SUCCESS
}
