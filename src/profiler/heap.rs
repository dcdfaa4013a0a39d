//! Heap bytes in use, with a cost limit for the sampler.
//!
//! glibc's `mallinfo2` walks every free chunk of every arena while holding
//! that arena's lock: 0.15 µs on a tidy heap, but tens of milliseconds on a
//! fragmented one (70 ms with 500 000 free chunks here), during which other
//! threads' `malloc` waits. So for the sampler ([`read_limited`]) a reading
//! that took longer than `CHEAP_NS` (200 µs) makes the next ones wait `BACKOFF` (100)
//! times as long (at most ~1 % of wall time goes to them), and readings in
//! between repeat the last figure; the profile counts them as skipped.
//! Scopes with `trace_memory` always read ([`read_exact`]): the host asked
//! for that cost.

use super::sys;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A reading faster than this never delays the next one.
pub(crate) const CHEAP_NS: u64 = 200_000;
/// A slow reading delays the next one by this many times its cost.
pub(crate) const BACKOFF: u64 = 100;

static NEXT_ALLOWED_NS: AtomicU64 = AtomicU64::new(0);
static LAST: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);
static MAX_COST_NS: AtomicU64 = AtomicU64::new(0);

fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Heap bytes in use (0 where the allocator cannot say), or the last figure
/// while slow readings are being rate-limited.
pub fn read_limited() -> u64 {
    if !sys::HEAP_AVAILABLE {
        return 0;
    }
    let start = now_ns();
    if start < NEXT_ALLOWED_NS.load(Ordering::Relaxed) {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return LAST.load(Ordering::Relaxed);
    }
    read_from(start)
}

/// Heap bytes in use (0 where the allocator cannot say), always read.
pub fn read_exact() -> u64 {
    if !sys::HEAP_AVAILABLE {
        return 0;
    }
    read_from(now_ns())
}

/// Reads the heap, `start` being [`now_ns`] just before.
fn read_from(start: u64) -> u64 {
    let (bytes, _) = sys::heap_in_use();
    let cost = now_ns().saturating_sub(start);
    LAST.store(bytes, Ordering::Relaxed);
    if cost > CHEAP_NS {
        NEXT_ALLOWED_NS.fetch_max(start + cost.saturating_mul(BACKOFF), Ordering::Relaxed);
    }
    if cost > MAX_COST_NS.load(Ordering::Relaxed) {
        MAX_COST_NS.fetch_max(cost, Ordering::Relaxed);
    }
    bytes
}

/// Readings skipped (answered with the last figure) since the process began.
pub fn skipped() -> u64 {
    SKIPPED.load(Ordering::Relaxed)
}

/// The slowest reading so far, in ns.
pub fn max_cost_ns() -> u64 {
    MAX_COST_NS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_follow_allocations() {
        if !sys::HEAP_AVAILABLE {
            assert_eq!(read_exact(), 0);
            return;
        }
        // Other tests in this process allocate and free meanwhile (some free
        // tens of MB), so one reading pair can be disturbed: the figure must
        // follow the 64 MB in at least one of a few attempts.
        let mut seen = Vec::new();
        let followed = (0..5).any(|_| {
            let before = read_exact();
            let v = vec![1u8; 64 << 20];
            let during = read_exact();
            drop(v);
            seen.push((before, during));
            during >= before + (48 << 20)
        });
        assert!(followed, "{seen:?}");
        assert!(max_cost_ns() > 0);
    }

    #[test]
    fn limited_readings_repeat_the_last_figure_while_backing_off() {
        if !sys::HEAP_AVAILABLE {
            return;
        }
        // As above, concurrent tests can move the heap by tens of MB, so a
        // few attempts: the limited reading must repeat the last figure (not
        // see the 32 MB) in at least one.
        let mut seen = Vec::new();
        let repeated = (0..5).any(|_| {
            let last = read_exact();
            NEXT_ALLOWED_NS.fetch_max(now_ns() + 60_000_000_000, Ordering::Relaxed);
            let skipped_before = skipped();
            let v = vec![1u8; 32 << 20];
            let stale = read_limited();
            drop(v);
            NEXT_ALLOWED_NS.store(0, Ordering::Relaxed);
            assert!(skipped() > skipped_before);
            seen.push((last, stale));
            stale < last + (16 << 20)
        });
        assert!(repeated, "{seen:?}");
    }
}
