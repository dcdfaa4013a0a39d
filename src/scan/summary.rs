//! Counters shared by the workers, progress reports and the final summary.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// What a finished scan or analyze run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScanSummary {
    /// Regular files the walk met after the filters.
    pub files_seen: u64,
    /// Files handed to the host (read and hashed when content is included;
    /// for analyze: results delivered, from the analyzer or the cache).
    pub files_scanned: u64,
    /// Files over `max_file_size` (each also reported as an issue).
    pub files_skipped: u64,
    /// Error reports: unreadable files, walk errors, loops, failed analyses.
    pub errors: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Files answered from the cache (analyze only).
    pub cache_hits: u64,
    /// Wall-clock time of the run, in seconds.
    pub duration_s: f64,
    /// A callback asked to stop: the run ended early.
    pub aborted: bool,
}

/// A progress report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Files finished (delivered, skipped or failed).
    pub files_done: u64,
    /// Files the walk found; 0 while the walk is still going.
    pub files_total: u64,
    /// Bytes read so far.
    pub bytes_done: u64,
}

/// Live counters of a run, updated by every thread. Those the walker
/// threads bump per file and those the delivering thread bumps live on
/// different cache lines (no line bouncing between them per file).
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub(crate) struct Counters {
    // Walker threads: each on lines of its own (two walkers bumping one
    // counter per file moved its line between cores at every file).
    pub seen: Striped,
    pub bytes: Striped,
    // The delivering thread (any thread with callbacks_parallel).
    pub scanned: AtomicU64,
    pub skipped: AtomicU64,
    pub errors: AtomicU64,
    pub cache_hits: AtomicU64,
    pub done: AtomicU64,
    pub walk_done: AtomicBool,
}

/// A counter many threads add to: one slot per thread (by a per-thread
/// index), each on its own 128-byte line; a read sums the slots.
#[derive(Debug, Default)]
pub(crate) struct Striped([Slot; STRIPES]);

const STRIPES: usize = 4;

#[derive(Debug, Default)]
#[repr(align(128))]
struct Slot(AtomicU64);

impl Striped {
    pub(crate) fn add(&self, n: u64) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        thread_local! {
            static STRIPE: usize = NEXT.fetch_add(1, Relaxed) as usize % STRIPES;
        }
        self.0[STRIPE.with(|s| *s)].0.fetch_add(n, Relaxed);
    }

    pub(crate) fn load(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Relaxed)).sum()
    }
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn progress(&self) -> Progress {
        let total = if self.walk_done.load(Relaxed) {
            self.seen.load()
        } else {
            0
        };
        Progress {
            files_done: self.done.load(Relaxed),
            files_total: total,
            bytes_done: self.bytes.load(),
        }
    }

    pub(crate) fn summary(&self, started: Instant, aborted: bool) -> ScanSummary {
        ScanSummary {
            files_seen: self.seen.load(),
            files_scanned: self.scanned.load(Relaxed),
            files_skipped: self.skipped.load(Relaxed),
            errors: self.errors.load(Relaxed),
            bytes_read: self.bytes.load(),
            cache_hits: self.cache_hits.load(Relaxed),
            duration_s: started.elapsed().as_secs_f64(),
            aborted,
        }
    }
}

/// Monotonic time (ns) from the clock the kernel updates at each tick
/// (1-10 ms steps): asked once per file, it costs a memory read where the
/// precise clock costs a timer read (~20 ns); a 100 ms period needs no more.
fn coarse_now_ns() -> u64 {
    crate::cache::stamp::clock(libc::CLOCK_MONOTONIC_COARSE).max(0) as u64
}

/// Lets at most one progress report through per period, whichever thread
/// asks first.
#[derive(Debug)]
pub(crate) struct Throttle {
    start_ns: u64,
    period_ns: u64,
    next_ns: AtomicU64,
}

/// Progress reports come at most this often (plus a final one).
pub(crate) const PROGRESS_PERIOD: Duration = Duration::from_millis(100);

impl Throttle {
    pub(crate) fn new(period: Duration) -> Throttle {
        let period_ns = period.as_nanos() as u64;
        Throttle {
            start_ns: coarse_now_ns(),
            period_ns,
            next_ns: AtomicU64::new(period_ns),
        }
    }

    /// True once per period; the caller then reports.
    pub(crate) fn due(&self) -> bool {
        let now = coarse_now_ns().saturating_sub(self.start_ns);
        let next = self.next_ns.load(Relaxed);
        now >= next
            && self
                .next_ns
                .compare_exchange(next, now + self.period_ns, Relaxed, Relaxed)
                .is_ok()
    }

    /// Time left before the next report is due.
    pub(crate) fn remaining(&self) -> Duration {
        let now = coarse_now_ns().saturating_sub(self.start_ns);
        Duration::from_nanos(self.next_ns.load(Relaxed).saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_through_per_period() {
        let t = Throttle::new(Duration::from_millis(50));
        assert!(!t.due());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.due());
        assert!(!t.due());
        assert!(t.remaining() > Duration::from_millis(10));
    }

    #[test]
    fn total_is_zero_until_the_walk_ends() {
        let c = Counters::default();
        c.seen.add(3);
        Counters::add(&c.done, 1);
        assert_eq!(c.progress().files_total, 0);
        c.walk_done.store(true, Relaxed);
        assert_eq!(c.progress().files_total, 3);
        assert_eq!(c.progress().files_done, 1);
        let s = c.summary(Instant::now(), false);
        assert_eq!(s.files_seen, 3);
    }
}
