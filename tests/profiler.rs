//! The profiler from Rust: exact peaks, CPU figures, scopes from many
//! threads, bounded timelines, JSON and Chrome-trace documents, child
//! processes and the run manager.
//!
//! CPU checks compare with the thread's own CPU clock, not with 100 %: tests
//! run beside other test binaries on a shared machine. The profiler
//! measures the whole process, so the tests of this file run one at a time.

use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wtfperf::ErrorKind;
use wtfperf::profiler::{PeakSource, ProfileManager, Profiler, ProfilerOptions, sys};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn opts(interval: f64) -> ProfilerOptions {
    ProfilerOptions {
        sample_interval_s: interval,
        ..Default::default()
    }
}

/// Burns `ns` of this thread's CPU time; returns the wall time it took.
fn burn_cpu(ns: u64) -> Duration {
    let t = Instant::now();
    let c = sys::thread_cpu_ns();
    let mut x = 0u64;
    while sys::thread_cpu_ns() - c < ns {
        for i in 0..1000 {
            x = x.wrapping_add(i);
        }
        std::hint::black_box(x);
    }
    t.elapsed()
}

#[test]
fn handles_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Profiler>();
    shareable::<wtfperf::profiler::Profile>();
    shareable::<ProfileManager>();
}

#[test]
fn a_300_mb_spike_between_samples_is_the_peak() {
    let _serial = serial();
    let p = Profiler::new(opts(10.0)).unwrap();
    p.start().unwrap();
    let mb = 300usize;
    let v = vec![1u8; mb << 20];
    std::hint::black_box(&v);
    drop(v);
    let prof = p.stop().unwrap();
    assert!(prof.duration_s < 10.0);
    assert_eq!(
        prof.peak_source,
        PeakSource::Vmhwm,
        "clear_refs unavailable?"
    );
    assert!(prof.peak_is_exact());
    assert!(prof.peak_memory_mb >= mb as f64, "{}", prof.peak_memory_mb);
    let sampled = prof.samples.iter().map(|s| s.rss_bytes).max().unwrap();
    assert!((sampled as f64) < prof.peak_rss_bytes as f64);
    assert!(prof.peak_memory_mb >= prof.avg_memory_mb);
}

#[test]
fn cpu_figures_match_the_threads_own_clock() {
    let _serial = serial();
    let p = Profiler::new(opts(0.05)).unwrap();
    p.start().unwrap();
    let wall = burn_cpu(300_000_000);
    let prof = p.stop().unwrap();
    let own = 0.3 / wall.as_secs_f64() * 100.0;
    // ~100 on an idle machine.
    assert!(
        prof.avg_cpu_percent >= own * 0.9 - 2.0,
        "{} vs {own}",
        prof.avg_cpu_percent
    );
    assert!(
        prof.avg_cpu_percent <= own * 1.1 + 5.0,
        "{} vs {own}",
        prof.avg_cpu_percent
    );
    assert!(
        prof.cpu_time_s >= 0.3 && prof.cpu_time_s < 0.4,
        "{}",
        prof.cpu_time_s
    );
    // The average is CPU time over wall time, not a mean of samples.
    let ratio = prof.cpu_time_s / prof.duration_s * 100.0;
    assert!((prof.avg_cpu_percent - ratio).abs() < 1e-9);
    if own > 90.0 {
        assert!(prof.avg_cpu_percent > 85.0);
    }
}

#[test]
fn the_first_sample_has_a_valid_cpu_figure() {
    let _serial = serial();
    // No sampler tick in the window: the first sample is ours.
    let p = Profiler::new(opts(10.0)).unwrap();
    let (wall0, cpu0) = (Instant::now(), sys::thread_cpu_ns());
    p.start().unwrap();
    burn_cpu(100_000_000);
    let first = p.sample_now().unwrap();
    let own = (sys::thread_cpu_ns() - cpu0) as f64 / wall0.elapsed().as_nanos() as f64 * 100.0;
    let prof = p.stop().unwrap();
    assert_eq!(prof.samples[0], first);
    assert!(first.t_s > 0.0);
    assert!(
        first.cpu_percent >= own * 0.85 - 2.0,
        "{} vs {own}",
        first.cpu_percent
    );
    assert!(
        first.cpu_percent <= own * 1.15 + 5.0,
        "{} vs {own}",
        first.cpu_percent
    );
}

#[test]
fn two_busy_threads_read_about_twice_one() {
    let _serial = serial();
    let p = Profiler::new(opts(0.05)).unwrap();
    p.start().unwrap();
    let h = std::thread::spawn(|| burn_cpu(150_000_000));
    burn_cpu(150_000_000);
    h.join().unwrap();
    let prof = p.stop().unwrap();
    assert!(prof.cpu_time_s >= 0.3, "{}", prof.cpu_time_s);
    assert!(prof.avg_cpu_percent <= 210.0);
}

#[test]
fn states_restart_and_bad_options() {
    let _serial = serial();
    for bad in [0.0, -0.5, f64::NAN, f64::INFINITY, 1e300] {
        let e = Profiler::new(opts(bad)).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Invalid, "{bad}");
    }
    let e = Profiler::new(ProfilerOptions {
        max_samples: 1,
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.kind, ErrorKind::Invalid);

    let p = Profiler::new(opts(0.01)).unwrap();
    assert_eq!(p.stop().unwrap_err().kind, ErrorKind::State);
    assert_eq!(p.sample_now().unwrap_err().kind, ErrorKind::State);
    assert_eq!(p.scope_enter("x").unwrap_err().kind, ErrorKind::State);
    p.start().unwrap();
    assert!(p.is_running());
    assert_eq!(p.start().unwrap_err().kind, ErrorKind::State);
    let s = p.sample_now().unwrap();
    assert!(s.rss_bytes > 0);
    std::thread::sleep(Duration::from_millis(30));
    let a = p.stop().unwrap();
    assert!(!p.is_running());
    assert!(a.samples.len() >= 3);
    assert!(a.samples.windows(2).all(|w| w[0].t_s < w[1].t_s));
    p.start().unwrap();
    let b = p.stop().unwrap();
    assert!(b.duration_s < a.duration_s);
    // Dropping a running profiler stops its thread.
    p.start().unwrap();
    drop(p);
}

#[test]
fn the_timeline_stays_bounded() {
    let _serial = serial();
    let p = Profiler::new(ProfilerOptions {
        sample_interval_s: 0.001,
        max_samples: 16,
        ..Default::default()
    })
    .unwrap();
    p.start().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let prof = p.stop().unwrap();
    assert!(prof.samples.len() <= 17, "{}", prof.samples.len());
    assert!(prof.timeline_stride >= 4, "{}", prof.timeline_stride);
    assert!(prof.raw_sample_count > 32);
    assert!(prof.samples.windows(2).all(|w| w[0].t_s < w[1].t_s));
    let j: Value = serde_json::from_str(&prof.to_json()).unwrap();
    assert_eq!(j["timeline"]["downsampled"], true);
    assert_eq!(j["timeline"]["stride"], prof.timeline_stride);
}

#[test]
fn scopes_from_many_threads_and_json() {
    let _serial = serial();
    let p = Arc::new(
        Profiler::new(ProfilerOptions {
            sample_interval_s: 0.01,
            trace_memory: true,
            ..Default::default()
        })
        .unwrap(),
    );
    p.start().unwrap();
    let outer = p.scope_enter("run").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let p = Arc::clone(&p);
            std::thread::Builder::new()
                .name(format!("scoper-{i}"))
                .spawn(move || {
                    for _ in 0..1000 {
                        let a = p.scope_enter("file").unwrap();
                        let b = p.scope_enter("file/parse").unwrap();
                        p.scope_exit(b).unwrap();
                        p.scope_exit(a).unwrap();
                    }
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut keep = Vec::new();
    for i in 0..12usize {
        let t = p.scope_enter(&format!("alloc-{i:02}")).unwrap();
        keep.push(vec![3u8; (i + 1) << 20]);
        p.scope_exit(t).unwrap();
    }
    let slept = p
        .scope("sleep", || {
            std::thread::sleep(Duration::from_millis(20));
            42
        })
        .unwrap();
    assert_eq!(slept, 42);
    p.scope_exit(outer).unwrap();
    assert_eq!(p.scope_exit(outer).unwrap_err().kind, ErrorKind::Invalid);
    assert_eq!(p.scope_exit(0).unwrap_err().kind, ErrorKind::Invalid);
    let prof = p.stop().unwrap();
    drop(keep);

    let find = |n: &str| prof.scopes.iter().find(|s| s.name == n).unwrap();
    assert_eq!(find("file").count, 4000);
    assert_eq!(find("file/parse").count, 4000);
    assert_eq!(find("run").count, 1);
    let sleep = find("sleep");
    assert!(sleep.min_s >= 0.019 && sleep.max_s < 5.0, "{}", sleep.min_s);
    assert!(find("run").total_s >= sleep.total_s);
    let file = find("file");
    assert!(file.min_s <= file.mean_s && file.mean_s <= file.max_s);
    assert!(find("file/parse").total_s <= file.total_s);

    // Memory traces: the 10 largest growths, largest first.
    assert_eq!(prof.memory_traces.len(), 10);
    assert_eq!(prof.memory_traces[0].name, "run");
    assert_eq!(prof.memory_traces[1].name, "alloc-11");
    assert!(prof.memory_traces[1].growth_bytes >= 12 << 20);
    assert!(
        prof.memory_traces
            .windows(2)
            .all(|w| w[0].growth_bytes >= w[1].growth_bytes)
    );
    let t = &prof.memory_traces[1];
    assert_eq!(
        t.heap_after_bytes as i64 - t.heap_before_bytes as i64,
        t.growth_bytes
    );

    let j: Value = serde_json::from_str(&prof.to_json()).unwrap();
    assert_eq!(j["schema"], "wtfperf.profile");
    assert_eq!(j["version"], 1);
    for key in [
        "duration_s",
        "cpu_time_s",
        "avg_cpu_percent",
        "peak_memory_mb",
        "avg_memory_mb",
        "peak_rss_bytes",
        "peak_heap_bytes",
        "sampler_cpu_s",
        "heap_reads_skipped",
        "heap_read_max_us",
    ] {
        assert!(j[key].is_number(), "{key}");
    }
    assert!(j["peak_source"].is_string());
    assert_eq!(j["heap_source"], "mallinfo2");
    assert_eq!(j["options"]["trace_memory"], true);
    let samples = j["timeline"]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), prof.samples.len());
    for s in samples {
        for key in ["t_s", "rss_bytes", "cpu_percent", "heap_bytes"] {
            assert!(s[key].is_number(), "{key}");
        }
    }
    assert_eq!(j["scopes"].as_array().unwrap().len(), prof.scopes.len());
    assert_eq!(j["memory_traces"].as_array().unwrap().len(), 10);
    assert_eq!(j["events"]["recorded"], prof.events.len());
    assert_eq!(j["events"]["unfinished_scopes"], 0);

    // Chrome trace: parses, complete events with their fields, counters,
    // thread names, sorted by time with enclosing scopes first.
    let t: Value = serde_json::from_str(&prof.to_chrome_trace()).unwrap();
    let events = t["traceEvents"].as_array().unwrap();
    let xs: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(xs.len(), prof.events.len());
    for e in &xs {
        assert!(e["ts"].is_number() && e["dur"].is_number());
        assert!(e["pid"].is_number() && e["tid"].is_number() && e["name"].is_string());
    }
    let ts: Vec<f64> = events
        .iter()
        .filter(|e| e["ph"] != "M")
        .map(|e| e["ts"].as_f64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    let first_x = xs[0];
    assert_eq!(first_x["name"], "run");
    for name in ["RSS (MB)", "CPU (%)", "Heap (MB)"] {
        assert!(
            events.iter().any(|e| e["ph"] == "C" && e["name"] == name),
            "{name}"
        );
    }
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("scoper-0 (")),
        "{names:?}"
    );
}

#[test]
fn scope_events_are_capped_but_aggregates_count_all() {
    let _serial = serial();
    let p = Profiler::new(ProfilerOptions {
        max_scope_events: 100,
        ..opts(0.05)
    })
    .unwrap();
    p.start().unwrap();
    let id = p.scope_id("tick");
    for _ in 0..5000 {
        let t = p.scope_enter_id(id).unwrap();
        p.scope_exit(t).unwrap();
    }
    assert_eq!(
        p.scope_enter_id(id + 1000).unwrap_err().kind,
        ErrorKind::Invalid
    );
    let left = p.scope_enter("left open").unwrap();
    let prof = p.stop().unwrap();
    assert_eq!(p.scope_exit(left), Ok(()));
    assert_eq!(prof.events.len(), 100);
    assert_eq!(prof.events_dropped, 4900);
    assert_eq!(prof.unfinished_scopes, 1);
    assert_eq!(prof.scopes[0].count, 5000);
}

#[test]
fn children_are_measured_whole_and_overlapping_windows_say_sampled() {
    let _serial = serial();
    let with = Profiler::new(ProfilerOptions {
        include_children: true,
        ..opts(0.02)
    })
    .unwrap();
    let without = Profiler::new(opts(0.02)).unwrap();
    with.start().unwrap();
    // Starting a second profiler resets the high-water mark under the first.
    without.start().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
        .status()
        .unwrap();
    assert!(status.success());
    let b = without.stop().unwrap();
    let a = with.stop().unwrap();
    // The child's CPU time is in `a` only.
    assert!(
        a.cpu_time_s > b.cpu_time_s + 0.05,
        "{} vs {}",
        a.cpu_time_s,
        b.cpu_time_s
    );
    assert!(a.include_children);
    assert_eq!(a.peak_source, PeakSource::Sampled);
    assert!(!a.peak_is_exact());
    assert_eq!(b.peak_source, PeakSource::Vmhwm);
    let j: Value = serde_json::from_str(&a.to_json()).unwrap();
    assert_eq!(j["peak_source"], "sampled");
    assert_eq!(j["peak_is_exact"], false);
}

#[test]
fn the_manager_summarizes_named_runs() {
    let _serial = serial();
    let p = Profiler::new(opts(0.01)).unwrap();
    p.start().unwrap();
    let base = p.stop().unwrap();
    let m = ProfileManager::new();
    for (name, d, peak) in [
        ("scan", 1.0, 10.0),
        ("scan", 3.0, 30.0),
        ("scan", 2.0, 20.0),
        ("lint", 5.0, 7.0),
    ] {
        let mut prof = base.clone();
        prof.duration_s = d;
        prof.peak_memory_mb = peak;
        prof.avg_cpu_percent = d * 10.0;
        m.add(name, &prof);
    }
    assert_eq!(m.run_count(), 4);
    let s = m.summary();
    let scan = &s["scan"];
    assert_eq!(scan.count, 3);
    assert_eq!(
        (
            scan.duration_s.min,
            scan.duration_s.median,
            scan.duration_s.max,
            scan.duration_s.mean
        ),
        (1.0, 2.0, 3.0, 2.0)
    );
    assert_eq!(scan.peak_memory_mb.median, 20.0);
    assert_eq!(scan.avg_cpu_percent.max, 30.0);
    assert_eq!(s["lint"].count, 1);
    let j: Value = serde_json::from_str(&m.summary_json()).unwrap();
    assert_eq!(j["schema"], "wtfperf.profile_summary");
    assert_eq!(j["runs"], 4);
    assert_eq!(j["names"]["scan"]["duration_s"]["median"], 2.0);
    assert_eq!(j["names"]["lint"]["peak_memory_mb"]["min"], 7.0);
}

#[test]
fn racing_starts_stops_and_scopes_never_break() {
    let _serial = serial();
    let p = Arc::new(Profiler::new(opts(0.002)).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                let mut profiles = 0;
                for _ in 0..50 {
                    match p.start() {
                        Ok(()) => {}
                        Err(e) => assert_eq!(e.kind, ErrorKind::State),
                    }
                    if let Ok(t) = p.scope_enter(&format!("t{i}")) {
                        // May belong to a window another thread stopped.
                        p.scope_exit(t).unwrap();
                    }
                    match p.stop() {
                        Ok(prof) => {
                            assert!(prof.duration_s >= 0.0);
                            assert!(!prof.samples.is_empty());
                            profiles += 1;
                        }
                        Err(e) => assert_eq!(e.kind, ErrorKind::State),
                    }
                }
                profiles
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total >= 1);
    assert!(!p.is_running());
}
