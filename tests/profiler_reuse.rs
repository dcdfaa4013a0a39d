//! The sampler's periodic readings repeat RSS and heap only while no other
//! thread runs: a test binary of its own, so that no other test's threads
//! run meanwhile (the harness's main thread waits).

use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};
use wtfperf::profiler::sampler::Probe;
use wtfperf::profiler::{Profiler, ProfilerOptions, sys};

const MB: u64 = 1 << 20;

/// The tests of this binary run one at a time: each is the only activity.
static ALONE: Mutex<()> = Mutex::new(());

/// Periodic readings of `probe` on this thread, `n` times every 2 ms.
fn idle_readings(probe: &mut Probe, t: &mut f64, n: usize) -> Vec<(u64, u64)> {
    (0..n)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(2));
            *t += 0.002;
            let r = probe.read_periodic(*t);
            (r.self_rss, r.heap)
        })
        .collect()
}

#[test]
fn every_change_by_another_thread_shows_in_the_next_reading() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let mut probe = Probe::new(false);
    let mut t = 0.0;
    let base = probe.read_periodic(t);
    // An idle process: readings repeat the figures (at least some: RSS is
    // read again at least every REUSE_MAX_AGE_S, and everything whenever
    // this thread was preempted).
    let idle = idle_readings(&mut probe, &mut t, 40);
    if sys::thread_usage().is_some() {
        assert!(probe.reused() >= 1, "{}", probe.reused());
    }
    assert!(idle.iter().all(|&(rss, _)| rss > 0));

    // A helper thread that allocates on command and then blocks, as a
    // worker between tasks does. Warm it up (its arena) first.
    let (to_helper, commands) = mpsc::channel::<usize>();
    let (to_main, acks) = mpsc::channel::<Vec<u8>>();
    let helper = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for size in commands {
            if size == 0 {
                kept.clear();
            } else {
                let mut v = vec![0u8; size];
                // Touch every page: RSS grows, not only the heap.
                for b in v.iter_mut().step_by(4096) {
                    *b = 1;
                }
                kept.push(v);
            }
            to_main.send(Vec::new()).unwrap();
        }
    });
    to_helper.send(4096).unwrap();
    acks.recv().unwrap();
    let before = probe.read_periodic(t + 0.001);
    idle_readings(&mut probe, &mut t, 5);

    // 64 MB allocated and touched by the helper: the next reading has it.
    to_helper.send(64 << 20).unwrap();
    acks.recv().unwrap();
    t += 0.002;
    let grown = probe.read_periodic(t);
    assert!(
        grown.self_rss >= before.self_rss + 48 * MB,
        "{before:?} -> {grown:?}"
    );
    if sys::HEAP_AVAILABLE {
        assert!(
            grown.heap >= before.heap + 48 * MB,
            "{before:?} -> {grown:?}"
        );
    }
    idle_readings(&mut probe, &mut t, 5);

    // Freed (munmap: no page fault): the next reading has that too.
    to_helper.send(0).unwrap();
    acks.recv().unwrap();
    t += 0.002;
    let shrunk = probe.read_periodic(t);
    assert!(
        shrunk.self_rss + 48 * MB <= grown.self_rss,
        "{grown:?} -> {shrunk:?}"
    );
    if sys::HEAP_AVAILABLE {
        assert!(
            shrunk.heap + 48 * MB <= grown.heap,
            "{grown:?} -> {shrunk:?}"
        );
    }

    // A small allocation that faults nothing new: the heap figure moves.
    idle_readings(&mut probe, &mut t, 5);
    let quiet = probe.read_periodic(t + 0.001);
    to_helper.send(1000).unwrap();
    acks.recv().unwrap();
    let small = probe.read_periodic(t + 0.002);
    if sys::HEAP_AVAILABLE {
        assert!(small.heap >= quiet.heap + 1000, "{quiet:?} -> {small:?}");
    }
    drop(to_helper);
    helper.join().unwrap();
    assert!(base.self_rss > 0);

    // A thread that starts, allocates and ends between two readings counts
    // no context switch (and, with a cached stack and arena, maybe no page
    // fault), but it counts CPU time: the heap figure moves.
    if sys::HEAP_AVAILABLE {
        for _ in 0..5 {
            idle_readings(&mut probe, &mut t, 3);
            t += 0.001;
            let quiet = probe.read_periodic(t);
            std::thread::spawn(|| Box::leak(vec![7u8; 1000].into_boxed_slice()).len())
                .join()
                .unwrap();
            t += 0.001;
            let after = probe.read_periodic(t);
            assert!(after.heap >= quiet.heap + 500, "{quiet:?} -> {after:?}");
        }
    }
}

#[test]
fn a_profile_of_an_idle_then_allocating_process_sees_the_allocation() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let p = Profiler::new(ProfilerOptions {
        sample_interval_s: 0.005,
        ..Default::default()
    })
    .unwrap();
    let start = Instant::now();
    p.start().unwrap();
    // Samples 34 to 64 come between two growths of the timeline (each makes
    // the next reading a full one): allocate among them.
    std::thread::sleep(Duration::from_millis(200));
    let v = std::thread::spawn(|| {
        let mut v = vec![0u8; 64 << 20];
        for b in v.iter_mut().step_by(4096) {
            *b = 1;
        }
        v
    })
    .join()
    .unwrap();
    // Sample times count from a little after `start`.
    let allocated = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(100));
    let prof = p.stop().unwrap();
    let low = prof
        .samples
        .iter()
        .filter(|s| s.t_s < 0.19)
        .map(|s| s.rss_bytes)
        .max()
        .unwrap();
    // Every sample taken after the allocation shows it, though most
    // samples repeated the figures before and after it.
    let after: Vec<_> = prof.samples.iter().filter(|s| s.t_s > allocated).collect();
    assert!(after.len() >= 10, "{}", after.len());
    for s in after {
        assert!(s.rss_bytes >= low + 48 * MB, "{s:?} vs {low}");
        if sys::HEAP_AVAILABLE {
            assert!(s.heap_bytes >= 48 * MB, "{s:?}");
        }
    }
    if sys::thread_usage().is_some() {
        assert!(prof.readings_reused >= 10, "{}", prof.readings_reused);
    }
    drop(v);
}
