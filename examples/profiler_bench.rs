//! Figures of the profiler: the cost of one sample (against sysinfo and a
//! psutil-style read of `/proc/self/stat`, measured in the same run), the
//! cost of a scope enter+exit pair through the C ABI (one thread, and two
//! threads contending; against a naive global-mutex recorder), and the
//! sampler thread's CPU share at a 10 ms interval.
//!
//! ```sh
//! cargo run --release --example profiler_bench            # ~40 s
//! cargo run --release --example profiler_bench -- --quick # ~20 s
//! cargo run --release --example profiler_bench -- --sampler # section 3 only
//! ```
//!
//! Every figure is the median of several rounds; the machine is shared, so
//! compare the ratios, which hold better than absolute times.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use wtfperf::ffi::profiler::*;
use wtfperf::ffi::{WTFPERF_OK, wtfperf_status};
use wtfperf::profiler::sampler::Probe;
use wtfperf::profiler::{Profiler, ProfilerOptions, procfs, sys};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median over `rounds` of the ns per call of `f` run `n` times.
fn ns_per_op(rounds: usize, n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 + 1 {
        f();
    }
    median(
        (0..rounds)
            .map(|_| {
                let t = sys::thread_cpu_ns();
                for _ in 0..n {
                    f();
                }
                (sys::thread_cpu_ns() - t) as f64 / n as f64
            })
            .collect(),
    )
}

/// Median over `rounds` of ns per pair when `threads` threads each run
/// `pair` `n` times at once (wall time / pairs per thread).
fn contended_ns(rounds: usize, threads: usize, n: usize, pair: Arc<dyn Fn() + Send + Sync>) -> f64 {
    median(
        (0..rounds)
            .map(|_| {
                let barrier = Arc::new(Barrier::new(threads + 1));
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        let b = Arc::clone(&barrier);
                        let pair = Arc::clone(&pair);
                        std::thread::spawn(move || {
                            for _ in 0..1000 {
                                pair();
                            }
                            b.wait();
                            let t = sys::thread_cpu_ns();
                            for _ in 0..n {
                                pair();
                            }
                            (sys::thread_cpu_ns() - t) as f64 / n as f64
                        })
                    })
                    .collect();
                barrier.wait();
                let per: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
                per.into_iter().fold(0.0, f64::max)
            })
            .collect(),
    )
}

fn check(st: wtfperf_status) {
    assert_eq!(st, WTFPERF_OK, "{}", wtfperf_status_text(st));
}

fn wtfperf_status_text(st: wtfperf_status) -> String {
    // SAFETY: wtfperf_status_str returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(wtfperf::ffi::wtfperf_status_str(st)) }
        .to_string_lossy()
        .into_owned()
}

/// A psutil-style reading: open, read and parse `/proc/self/stat` each time.
fn psutil_style_read() -> (u64, u64) {
    let mut s = String::with_capacity(512);
    File::open("/proc/self/stat")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    let p = procfs::parse_stat(&s).unwrap();
    (p.cpu_ticks, p.rss_pages)
}

/// A naive scope recorder: one global mutex around the open scopes and the
/// per-name totals.
#[derive(Default)]
struct NaiveScopes {
    inner: Mutex<NaiveState>,
}

#[derive(Default)]
struct NaiveState {
    next: u64,
    open: HashMap<u64, Instant>,
    totals: HashMap<String, (u64, u64)>,
}

impl NaiveScopes {
    fn enter(&self, _name: &str) -> u64 {
        let mut g = self.inner.lock().unwrap();
        g.next += 1;
        let id = g.next;
        g.open.insert(id, Instant::now());
        id
    }
    fn exit(&self, name: &str, token: u64) {
        let mut g = self.inner.lock().unwrap();
        let start = g.open.remove(&token).unwrap();
        let d = start.elapsed().as_nanos() as u64;
        let e = g.totals.entry(name.to_string()).or_default();
        e.0 += 1;
        e.1 += d;
    }
}

/// CPU share (% of one core) and CPU per wake-up (us) of a thread that
/// parks to the same 10 ms deadlines (`park_timeout`, as the sampler did
/// before it used a timerfd) and runs `work` at each: with no work, the
/// floor of a thread that sleeps to deadlines on this machine; with one
/// [`Probe::read`], the shape of the sampler loop before the timerfd.
fn bare_sleeper(secs: f64, mut work: impl FnMut() + Send + 'static) -> (f64, f64) {
    cpu_per_wake(move |start| {
        let interval = Duration::from_millis(10);
        let mut k = 0u32;
        while start.elapsed().as_secs_f64() < secs {
            k += 1;
            let deadline = start + interval * k;
            let now = Instant::now();
            if deadline > now {
                std::thread::park_timeout(deadline - now);
            }
            work();
        }
        u64::from(k)
    })
}

/// CPU share and CPU per wake-up (us) of a thread blocked on a periodic
/// 10 ms timerfd (the sampler's own [`sys::Ticker`]) that runs `work` at
/// each tick: with no work, the floor of any thread woken every 10 ms here;
/// with one [`Probe::read`], the floor of a sampler (wake-up + reading).
fn timer_sleeper(secs: f64, mut work: impl FnMut() + Send + 'static) -> (f64, f64) {
    let interval = Duration::from_millis(10);
    let ticker = sys::Ticker::new(interval, interval).unwrap();
    cpu_per_wake(move |_| {
        let ticks = (secs / interval.as_secs_f64()).round() as u64;
        let mut k = 0u64;
        let mut wakes = 0u64;
        while k < ticks {
            k += ticker.wait().unwrap();
            wakes += 1;
            work();
        }
        wakes
    })
}

/// Runs `body` (given its start time; it returns how many times it woke)
/// on a thread of its own: that thread's CPU share of one core (%) and its
/// CPU time per wake-up (us).
fn cpu_per_wake(body: impl FnOnce(Instant) -> u64 + Send + 'static) -> (f64, f64) {
    std::thread::spawn(move || {
        let cpu0 = sys::thread_cpu_ns();
        let start = Instant::now();
        let wakes = body(start);
        let cpu = (sys::thread_cpu_ns() - cpu0) as f64;
        (
            cpu / start.elapsed().as_nanos() as f64 * 100.0,
            cpu / wakes.max(1) as f64 / 1e3,
        )
    })
    .join()
    .unwrap()
}

/// Wall time (us, medians) of each part of a reading taken right after a
/// 10 ms timerfd wake-up, in the sampler's order: `getrusage` of the thread
/// and of the process (all a reading needs while no other thread runs),
/// then `statm` pread and `mallinfo2`. Caches are cold then, so these are
/// far above the warm figures of section 1.
fn cold_parts(secs: f64) -> [f64; 4] {
    std::thread::spawn(move || {
        let interval = Duration::from_millis(10);
        let ticker = sys::Ticker::new(interval, interval).unwrap();
        let mut rss = procfs::RssReader::open();
        let wakes = (secs / interval.as_secs_f64()).round() as usize;
        let mut parts: [Vec<f64>; 4] = Default::default();
        for _ in 0..wakes {
            ticker.wait().unwrap();
            let t0 = Instant::now();
            std::hint::black_box(sys::thread_usage());
            let t1 = Instant::now();
            std::hint::black_box(sys::process_usage());
            let t2 = Instant::now();
            std::hint::black_box(rss.rss_bytes());
            let t3 = Instant::now();
            std::hint::black_box(sys::heap_in_use());
            let t4 = Instant::now();
            for (part, (a, b)) in parts
                .iter_mut()
                .zip([(t0, t1), (t1, t2), (t2, t3), (t3, t4)])
            {
                part.push((b - a).as_secs_f64() * 1e6);
            }
        }
        parts.map(median)
    })
    .join()
    .unwrap()
}

/// A thread of the process that keeps one core busy allocating, touching
/// and freeing blocks of 4 KB to 1 MB (so RSS and heap keep moving and
/// every sample is a full reading), until the flag is set.
struct BusyHost {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl BusyHost {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut kept: Vec<Vec<u8>> = Vec::new();
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                let size = 4096 << (i % 9);
                let mut v = vec![0u8; size];
                for b in v.iter_mut().step_by(4096) {
                    *b = i as u8;
                }
                if kept.len() < 16 {
                    kept.push(v);
                } else {
                    kept[(i % 16) as usize] = v;
                }
            }
            std::hint::black_box(kept.len() as u64 + i)
        });
        BusyHost { stop, handle }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        std::hint::black_box(self.handle.join().unwrap());
    }
}

/// Runs `f` while a [`BusyHost`] thread keeps the process busy.
fn with_busy_host<T>(f: impl FnOnce() -> T) -> T {
    let busy = BusyHost::start();
    // Let it reach its steady state (arenas, kept blocks).
    std::thread::sleep(Duration::from_millis(50));
    let out = f();
    busy.stop();
    out
}

/// Sections 1 and 2: one sample, and scope pairs through the C ABI.
fn samples_and_scopes(rounds: usize, n_samples: usize, n_pairs: usize) {
    // --- 1. One sample -------------------------------------------------
    let mut probe = Probe::new(false);
    let sample_ns = ns_per_op(rounds, n_samples, || {
        std::hint::black_box(probe.read());
    });
    let mut rss = procfs::RssReader::open();
    let statm_ns = ns_per_op(rounds, n_samples, || {
        std::hint::black_box(rss.rss_bytes());
    });
    let cpu_ns = ns_per_op(rounds, n_samples, || {
        std::hint::black_box(sys::process_usage());
    });
    let heap_ns = ns_per_op(rounds, n_samples, || {
        std::hint::black_box(sys::heap_in_use());
    });
    let stat_fd = File::open("/proc/self/stat").unwrap();
    let mut buf = [0u8; 1024];
    let kept_stat_ns = ns_per_op(rounds, n_samples, || {
        let n = stat_fd.read_at(&mut buf, 0).unwrap();
        std::hint::black_box(procfs::parse_stat(std::str::from_utf8(&buf[..n]).unwrap()));
    });
    let psutil_ns = ns_per_op(rounds, n_samples, || {
        std::hint::black_box(psutil_style_read());
    });
    let pid = sysinfo::get_current_pid().unwrap();
    let mut system = sysinfo::System::new().unwrap();
    let kind = sysinfo::ProcessRefreshKind::nothing()
        .with_memory()
        .with_cpu();
    let sysinfo_ns = ns_per_op(rounds, n_samples / 4, || {
        system.refresh_processes_specifics(sysinfo::ProcessesToUpdate::Some(&[pid]), false, kind);
    });
    let mut children = Probe::new(true);
    let children_ns = ns_per_op(rounds, n_samples / 20 + 1, || {
        std::hint::black_box(children.read());
    });
    println!("1. one sample (RSS + CPU time + heap), per reading:");
    println!(
        "   wtfperf sample                       {:8.2} us",
        sample_ns / 1e3
    );
    println!(
        "     of which statm pread               {:8.2} us",
        statm_ns / 1e3
    );
    println!(
        "     of which getrusage (CPU time)      {:8.2} us",
        cpu_ns / 1e3
    );
    println!(
        "     of which mallinfo2                 {:8.2} us",
        heap_ns / 1e3
    );
    println!(
        "   peer: pread /proc/self/stat (kept fd) {:7.2} us",
        kept_stat_ns / 1e3
    );
    println!(
        "   peer: psutil-style open+read stat    {:8.2} us",
        psutil_ns / 1e3
    );
    println!(
        "   peer: sysinfo refresh own process    {:8.2} us",
        sysinfo_ns / 1e3
    );
    println!(
        "   ratio: sysinfo / wtfperf = {:.1}x, psutil-style / wtfperf = {:.1}x",
        sysinfo_ns / sample_ns,
        psutil_ns / sample_ns
    );
    println!(
        "   with include_children (scans /proc) {:8.2} us\n",
        children_ns / 1e3
    );

    // --- 2. Scope enter + exit through the C ABI --------------------------
    let opts = wtfperf_profiler_options {
        sample_interval_s: 0.1,
        max_scope_events: 0,
        ..wtfperf_profiler_options_default()
    };
    let mut handle: *mut wtfperf_profiler = std::ptr::null_mut();
    // SAFETY: valid options and out-pointer.
    check(unsafe { wtfperf_profiler_new(&opts, &mut handle) });
    // SAFETY: a live handle.
    check(unsafe { wtfperf_profiler_start(handle) });
    let name = c"parse";
    let addr = handle as usize;
    let c_pair = move || {
        let p = addr as *mut wtfperf_profiler;
        let mut tok = 0u64;
        // SAFETY: a live, thread-safe handle; a static name; a local out-param.
        unsafe {
            check(wtfperf_profiler_scope_enter(p, name.as_ptr(), &mut tok));
            check(wtfperf_profiler_scope_exit(p, tok));
        }
    };
    let c_single = ns_per_op(rounds, n_pairs, c_pair);
    let mut id = 0u32;
    // SAFETY: a live handle, a static name, a local out-param.
    check(unsafe { wtfperf_profiler_scope_id(handle, name.as_ptr(), &mut id) });
    let c_id_pair = move || {
        let p = addr as *mut wtfperf_profiler;
        let mut tok = 0u64;
        // SAFETY: a live, thread-safe handle; a local out-param.
        unsafe {
            check(wtfperf_profiler_scope_enter_id(p, id, &mut tok));
            check(wtfperf_profiler_scope_exit(p, tok));
        }
    };
    let c_id_single = ns_per_op(rounds, n_pairs, c_id_pair);
    let c_id_two = contended_ns(rounds, 2, n_pairs / 2, Arc::new(c_id_pair));
    let c_two = contended_ns(rounds, 2, n_pairs / 2, Arc::new(c_pair));
    let mut out: *mut wtfperf_profile = std::ptr::null_mut();
    // SAFETY: a live handle and a valid out-pointer.
    check(unsafe { wtfperf_profiler_stop(handle, &mut out) });
    // SAFETY: live handles, freed once.
    unsafe {
        wtfperf_profile_free(out);
    }
    // The same with every scope kept as a trace event.
    let opts_events = wtfperf_profiler_options {
        max_scope_events: n_pairs * (rounds + 1) * 3,
        ..opts
    };
    let mut handle2: *mut wtfperf_profiler = std::ptr::null_mut();
    // SAFETY: valid options and out-pointer.
    check(unsafe { wtfperf_profiler_new(&opts_events, &mut handle2) });
    // SAFETY: a live handle.
    check(unsafe { wtfperf_profiler_start(handle2) });
    let addr2 = handle2 as usize;
    let c_single_events = ns_per_op(rounds, n_pairs / 4, move || {
        let p = addr2 as *mut wtfperf_profiler;
        let mut tok = 0u64;
        // SAFETY: as above.
        unsafe {
            check(wtfperf_profiler_scope_enter(p, name.as_ptr(), &mut tok));
            check(wtfperf_profiler_scope_exit(p, tok));
        }
    });
    // SAFETY: a live handle and a valid out-pointer; then freed once.
    unsafe {
        check(wtfperf_profiler_stop(handle2, &mut out));
        wtfperf_profile_free(out);
        wtfperf_profiler_free(handle2);
        wtfperf_profiler_free(handle);
    }

    let naive = Arc::new(NaiveScopes::default());
    let nv = Arc::clone(&naive);
    let naive_pair = move || {
        let t = nv.enter("parse");
        nv.exit("parse", t);
    };
    let naive_single = ns_per_op(rounds, n_pairs, naive_pair.clone());
    let naive_two = contended_ns(rounds, 2, n_pairs / 2, Arc::new(naive_pair));
    let tsc = ns_per_op(rounds, n_pairs, || {
        std::hint::black_box(sys::tsc());
        std::hint::black_box(sys::tsc());
    });
    let clock = ns_per_op(rounds, n_pairs, || {
        std::hint::black_box(Instant::now());
        std::hint::black_box(Instant::now());
    });
    println!("2. one scope enter+exit pair through the C ABI:");
    println!(
        "   wtfperf, 1 thread                    {:8.1} ns",
        c_single
    );
    println!("   wtfperf, 2 threads contending        {:8.1} ns", c_two);
    println!(
        "   wtfperf by name id, 1 thread         {:8.1} ns",
        c_id_single
    );
    println!(
        "   wtfperf by name id, 2 threads        {:8.1} ns",
        c_id_two
    );
    println!(
        "   wtfperf, 1 thread, every event kept  {:8.1} ns",
        c_single_events
    );
    println!(
        "   peer: global-mutex recorder, 1 thr   {:8.1} ns",
        naive_single
    );
    println!(
        "   peer: global-mutex recorder, 2 thr   {:8.1} ns",
        naive_two
    );
    println!("   floor: two Instant::now()            {:8.1} ns", clock);
    println!("   floor: two rdtsc (the clock used)    {:8.1} ns", tsc);
    println!(
        "   ratio: naive / wtfperf = {:.1}x (1 thread), {:.1}x (2 threads)\n",
        naive_single / c_single,
        naive_two / c_two
    );
}

/// Section 4: the sampler on a fragmented heap.
fn fragmented(rounds: usize, share_secs: f64) {
    // --- 4. A fragmented heap (last: it stays fragmented) -----------------
    // 500 000 small free chunks: glibc's mallinfo2 walks every one of them.
    let mut blocks: Vec<Vec<u8>> = (0..1_000_000usize)
        .map(|i| vec![1u8; 16 + (i % 7) * 24])
        .collect();
    let mut i = 0;
    blocks.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    let raw = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(sys::heap_in_use());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let mut probe = Probe::new(false);
    let limited = ns_per_op(rounds, 1000, || {
        std::hint::black_box(probe.read());
    });
    let prof = idle_profile(share_secs);
    println!("4. heap fragmented into 500 000 free chunks:");
    println!("   raw mallinfo2, one call              {:8.2} ms", raw);
    println!(
        "   wtfperf sample (rate-limited heap)   {:8.2} us",
        limited / 1e3
    );
    println!(
        "   sampler at 10 ms: CPU share {:.3} %, heap readings skipped {} of {}",
        prof.sampler_cpu_s / prof.duration_s * 100.0,
        prof.heap_reads_skipped,
        prof.raw_sample_count
    );
    std::hint::black_box(blocks.len());
}

/// A profile of `secs` of an idle process sampled every 10 ms: what the
/// sampler thread alone costs.
fn idle_profile(secs: f64) -> wtfperf::profiler::Profile {
    let p = Profiler::new(ProfilerOptions {
        sample_interval_s: 0.01,
        ..Default::default()
    })
    .unwrap();
    p.start().unwrap();
    std::thread::sleep(Duration::from_secs_f64(secs));
    p.stop().unwrap()
}

/// Section 3 figures of one condition (idle or busy process): the sampler's
/// CPU share and CPU per wake-up, the share of its samples that repeated
/// RSS and heap, and the floors measured in the same rounds.
#[derive(Default)]
struct Shares {
    share: Vec<f64>,
    per_wake: Vec<f64>,
    reused: Vec<f64>,
    /// (label, shares, per wake-up) of each floor.
    floors: Vec<(&'static str, Vec<f64>, Vec<f64>)>,
}

impl Shares {
    fn sampler(&mut self, prof: wtfperf::profiler::Profile) {
        // The thread's wake-ups: one per sample but the last (taken by
        // `stop`), and the one that stops it.
        let wakes = prof.raw_sample_count.max(1) as f64;
        let periodic = prof.raw_sample_count.saturating_sub(1).max(1) as f64;
        self.share
            .push(prof.sampler_cpu_s / prof.duration_s * 100.0);
        self.per_wake.push(prof.sampler_cpu_s / wakes * 1e6);
        self.reused
            .push(prof.readings_reused as f64 / periodic * 100.0);
    }

    /// The floors: a thread woken every 10 ms by `park_timeout` (idle only)
    /// or by a timerfd, doing nothing, and one doing a full reading.
    fn floors(&mut self, secs: f64, with_park: bool) {
        let mut probe = Probe::new(false);
        let mut runs: Vec<(&'static str, (f64, f64))> = Vec::new();
        if with_park {
            runs.push(("floor: park_timeout sleeper", bare_sleeper(secs, || {})));
        }
        runs.push(("floor: timerfd sleeper     ", timer_sleeper(secs, || {})));
        runs.push((
            "floor: timerfd + full read ",
            timer_sleeper(secs, move || {
                std::hint::black_box(probe.read());
            }),
        ));
        for (label, (share, wake)) in runs {
            match self.floors.iter_mut().find(|f| f.0 == label) {
                Some(f) => {
                    f.1.push(share);
                    f.2.push(wake);
                }
                None => self.floors.push((label, vec![share], vec![wake])),
            }
        }
    }

    fn print(&self, title: &str) {
        let round3 = |v: &[f64]| {
            v.iter()
                .map(|s| (s * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>()
        };
        let per_wake = median(self.per_wake.clone());
        println!("   {title}:");
        println!(
            "   wtfperf sampler, CPU share of a core {:8.3} %  (runs: {:?})",
            median(self.share.clone()),
            round3(&self.share)
        );
        println!(
            "   wtfperf sampler, CPU per wake-up     {per_wake:8.2} us  ({:.0} % of samples repeated RSS and heap)",
            median(self.reused.clone())
        );
        for (label, share, wake) in &self.floors {
            let w = median(wake.clone());
            // The load moves from round to round: the sampler minus the
            // floor of the same round, then the median of those.
            let above: Vec<f64> = self.per_wake.iter().zip(wake).map(|(s, f)| s - f).collect();
            println!(
                "   {label}, share {:6.3} %, per wake-up {w:6.2} us (sampler / floor = {:.2}x, \
                 sampler - floor = {:+.2} us by round)  (runs: {:?})",
                median(share.clone()),
                per_wake / w,
                median(above),
                round3(share)
            );
        }
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 7 };
    let n_samples = if quick { 2_000 } else { 10_000 };
    let n_pairs = if quick { 200_000 } else { 1_000_000 };
    let share_secs = if quick { 1.0 } else { 3.0 };
    let sampler_only = std::env::args().any(|a| a == "--sampler");

    println!("wtfperf profiler figures (median of {rounds} rounds)\n");

    if !sampler_only {
        samples_and_scopes(rounds, n_samples, n_pairs);
    }

    // --- 3. Sampler thread CPU share at 10 ms ----------------------------
    // Each round runs the sampler and the floors one after another, idle and
    // then with a busy thread in the process, so all see the same load.
    let share_rounds = if quick { 3 } else { 5 };
    let mut idle = Shares::default();
    let mut busy = Shares::default();
    for _ in 0..share_rounds {
        idle.sampler(idle_profile(share_secs));
        idle.floors(share_secs, true);
        with_busy_host(|| {
            busy.sampler(idle_profile(share_secs));
            busy.floors(share_secs, false);
        });
    }
    let cold = cold_parts(share_secs);
    println!("3. sampler thread at a 10 ms interval ({share_secs} s runs, {share_rounds} rounds):");
    idle.print("idle process");
    busy.print("busy process (one thread allocating on the other core)");
    println!(
        "   a reading right after a wake-up (cold, wall): getrusage thread {:.2} us, \
         getrusage process {:.2} us, statm {:.2} us, mallinfo2 {:.2} us",
        cold[0], cold[1], cold[2], cold[3]
    );

    if !sampler_only {
        fragmented(rounds, share_secs);
    }
}
