//! The clock of scope timestamps. `Instant::now()` costs ~30 ns in a VM and
//! a scope pair needs two, so on x86_64 with an invariant time-stamp counter
//! that the kernel itself uses as its clocksource (so it is synchronized
//! across CPUs) scopes read the TSC (~10 ns) and ticks are turned into
//! nanoseconds once, at stop, by the ratio of ticks to `Instant` time over
//! the whole window. Elsewhere ticks are nanoseconds from `Instant`.

use super::sys;
use std::sync::OnceLock;
use std::time::Instant;

/// A tick source: the TSC or nanoseconds since a base `Instant`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    tsc: bool,
    base: Instant,
}

fn tsc_trusted() -> bool {
    static TRUSTED: OnceLock<bool> = OnceLock::new();
    *TRUSTED.get_or_init(|| {
        if !cfg!(target_arch = "x86_64") || std::env::var_os("WTFPERF_NO_TSC").is_some() {
            return false;
        }
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let has = |f: &str| flags.split_ascii_whitespace().any(|w| w == f);
        let source = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .unwrap_or_default();
        has("constant_tsc") && has("nonstop_tsc") && source.trim() == "tsc"
    })
}

impl Clock {
    /// The TSC when trusted, else `Instant`.
    pub fn detect() -> Self {
        Clock {
            tsc: tsc_trusted(),
            base: Instant::now(),
        }
    }

    /// Always `Instant` (for tests and platforms without a usable TSC).
    pub fn instant() -> Self {
        Clock {
            tsc: false,
            base: Instant::now(),
        }
    }

    pub fn is_tsc(&self) -> bool {
        self.tsc
    }

    /// Ticks now.
    #[inline]
    pub fn ticks(&self) -> u64 {
        if self.tsc {
            sys::tsc()
        } else {
            self.base.elapsed().as_nanos() as u64
        }
    }

    /// A mark for [`Clock::ns_per_tick`]: ticks and `Instant` now.
    pub fn mark(&self) -> (u64, Instant) {
        (self.ticks(), Instant::now())
    }

    /// Nanoseconds per tick between two marks (1 for `Instant` ticks).
    pub fn ns_per_tick(&self, from: (u64, Instant), to: (u64, Instant)) -> f64 {
        if !self.tsc {
            return 1.0;
        }
        let ticks = to.0.saturating_sub(from.0);
        let ns = to.1.saturating_duration_since(from.1).as_nanos() as f64;
        if ticks == 0 || ns <= 0.0 {
            // Too short to tell; a typical 3 GHz counter.
            return 1.0 / 3.0;
        }
        ns / ticks as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ticks_convert_to_wall_time() {
        for clock in [Clock::detect(), Clock::instant()] {
            let a = clock.mark();
            std::thread::sleep(Duration::from_millis(20));
            let b = clock.mark();
            let scale = clock.ns_per_tick(a, b);
            let ns = (b.0 - a.0) as f64 * scale;
            let wall = (b.1 - a.1).as_nanos() as f64;
            assert!((ns - wall).abs() < wall * 0.01 + 1000.0, "{ns} vs {wall}");
            assert!(ns >= 19e6);
        }
    }
}
