//! The measuring loop: warm-up runs, then N measured runs of a [`Workload`],
//! each watched by a [`Monitor`] (our profiler), summarized into a
//! [`ScenarioResult`].
//!
//! Only [`Workload::run`] is timed; [`Workload::prepare`] puts the world in
//! the state the scenario promises (an empty cache, evicted pages, edited
//! files) before each run, untimed.

use super::report::{RunResult, ScenarioResult, ScenarioSpec, TimelinePoint};
use super::stats;
use crate::error::Result;
use std::time::Instant;

/// What one timed run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Files handed over (scanned, or answered from the cache).
    pub files: u64,
    /// Total size of those files.
    pub bytes: u64,
    /// Bytes read from disk.
    pub bytes_read: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub errors: u64,
}

/// The thing being measured.
pub trait Workload {
    /// Sets up run number `iteration` (0-based, warm-up runs included).
    /// Not timed.
    fn prepare(&mut self, _iteration: usize) -> Result<()> {
        Ok(())
    }
    /// The timed work.
    fn run(&mut self) -> Result<RunCounts>;
    /// Notes for the report (e.g. "pages could not be evicted").
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Resource use of one run, as the profiler saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub peak_rss_mb: f64,
    /// Peak RSS above the RSS when the run started: what the run itself
    /// added (the peak also counts what the process held before).
    pub rss_growth_mb: f64,
    pub avg_rss_mb: f64,
    pub avg_cpu_percent: f64,
    pub timeline: Vec<TimelinePoint>,
}

/// Watches resource use around a run.
pub trait Monitor {
    fn start(&mut self) -> Result<()>;
    fn stop(&mut self) -> Result<Usage>;
}

/// A monitor that sees nothing (for tests of the loop itself).
#[derive(Debug, Default)]
pub struct NoMonitor;

impl Monitor for NoMonitor {
    fn start(&mut self) -> Result<()> {
        Ok(())
    }
    fn stop(&mut self) -> Result<Usage> {
        Ok(Usage::default())
    }
}

/// Progress of the loop, for a progress bar or verbose output.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub spec: &'a ScenarioSpec,
    /// 0-based index among `warmup + runs`.
    pub iteration: usize,
    pub warmup: bool,
    pub duration_s: f64,
}

/// Runs `warmup` unmeasured and `runs` measured iterations of `workload`.
pub fn measure(
    spec: ScenarioSpec,
    workload: &mut dyn Workload,
    monitor: &mut dyn Monitor,
    warmup: usize,
    runs: usize,
    on_tick: &mut dyn FnMut(Tick<'_>),
) -> Result<ScenarioResult> {
    let mut measured: Vec<(RunResult, Vec<TimelinePoint>)> = Vec::with_capacity(runs);
    for iteration in 0..warmup + runs {
        workload.prepare(iteration)?;
        monitor.start()?;
        let t0 = Instant::now();
        let outcome = workload.run();
        let duration_s = t0.elapsed().as_secs_f64();
        let usage = monitor.stop()?;
        let counts = outcome?;
        let is_warmup = iteration < warmup;
        on_tick(Tick {
            spec: &spec,
            iteration,
            warmup: is_warmup,
            duration_s,
        });
        if is_warmup {
            continue;
        }
        measured.push((
            RunResult {
                duration_s,
                files: counts.files,
                bytes: counts.bytes,
                bytes_read: counts.bytes_read,
                cache_hits: counts.cache_hits,
                cache_misses: counts.cache_misses,
                errors: counts.errors,
                peak_rss_mb: usage.peak_rss_mb,
                rss_growth_mb: usage.rss_growth_mb,
                avg_rss_mb: usage.avg_rss_mb,
                avg_cpu_percent: usage.avg_cpu_percent,
                samples: usage.timeline.len(),
            },
            usage.timeline,
        ));
    }
    Ok(summarize(spec, warmup, measured, workload.notes()))
}

/// Index of the run whose duration is the (lower) median.
fn median_index(runs: &[RunResult]) -> usize {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].duration_s.total_cmp(&runs[b].duration_s));
    order[(order.len() - 1) / 2]
}

fn summarize(
    spec: ScenarioSpec,
    warmup: usize,
    measured: Vec<(RunResult, Vec<TimelinePoint>)>,
    notes: Vec<String>,
) -> ScenarioResult {
    let durations: Vec<f64> = measured.iter().map(|(r, _)| r.duration_s).collect();
    let duration = stats::summarize(&durations);
    let runs: Vec<RunResult> = measured.iter().map(|(r, _)| r.clone()).collect();
    let (mid, timeline) = if runs.is_empty() {
        (RunResult::default(), Vec::new())
    } else {
        let i = median_index(&runs);
        (runs[i].clone(), measured[i].1.clone())
    };
    let per_s = |x: u64| {
        if duration.median > 0.0 {
            x as f64 / duration.median
        } else {
            0.0
        }
    };
    let of_runs = |f: fn(&RunResult) -> f64| stats::median(&runs.iter().map(f).collect::<Vec<_>>());
    let lookups = mid.cache_hits + mid.cache_misses;
    let cache_hit_rate = match spec.cache {
        super::report::CacheState::None => None,
        _ if lookups == 0 => Some(0.0),
        _ => Some(mid.cache_hits as f64 / lookups as f64),
    };
    ScenarioResult {
        warmup_runs: warmup,
        duration_s: duration,
        files_per_s: per_s(mid.files),
        mb_per_s: per_s(mid.bytes) / 1e6,
        files: mid.files,
        bytes: mid.bytes,
        peak_rss_mb: runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max),
        rss_growth_mb: runs.iter().map(|r| r.rss_growth_mb).fold(0.0, f64::max),
        avg_rss_mb: of_runs(|r| r.avg_rss_mb),
        avg_cpu_percent: of_runs(|r| r.avg_cpu_percent),
        cache_hit_rate,
        errors: runs.iter().map(|r| r.errors).max().unwrap_or(0),
        speedup_vs_sequential: None,
        warnings: stats::warnings(&durations),
        runs,
        timeline,
        notes,
        spec,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::report::{CacheState, PageCache, ScenarioKind};

    pub fn spec(id: &str, cache: CacheState) -> ScenarioSpec {
        ScenarioSpec {
            id: id.into(),
            title: id.into(),
            kind: ScenarioKind::Scan,
            threads: 1,
            cache,
            page_cache: PageCache::Warm,
        }
    }

    /// Sleeps a given time per run and counts what it was asked to do.
    struct Sleeper {
        sleeps_ms: Vec<u64>,
        prepared: Vec<usize>,
        i: usize,
    }

    impl Workload for Sleeper {
        fn prepare(&mut self, iteration: usize) -> Result<()> {
            self.prepared.push(iteration);
            Ok(())
        }
        fn run(&mut self) -> Result<RunCounts> {
            std::thread::sleep(std::time::Duration::from_millis(self.sleeps_ms[self.i]));
            self.i += 1;
            Ok(RunCounts {
                files: 100,
                bytes: 2_000_000,
                bytes_read: 2_000_000,
                cache_hits: 75,
                cache_misses: 25,
                errors: self.i as u64 % 2,
            })
        }
    }

    struct FixedMonitor(f64);
    impl Monitor for FixedMonitor {
        fn start(&mut self) -> Result<()> {
            Ok(())
        }
        fn stop(&mut self) -> Result<Usage> {
            self.0 += 1.0;
            Ok(Usage {
                peak_rss_mb: self.0 * 10.0,
                rss_growth_mb: self.0,
                avg_rss_mb: self.0,
                avg_cpu_percent: 50.0,
                timeline: vec![TimelinePoint {
                    t_s: 0.0,
                    rss_mb: self.0,
                    cpu_percent: 50.0,
                }],
            })
        }
    }

    #[test]
    fn warmup_is_run_but_not_measured() {
        let mut w = Sleeper {
            sleeps_ms: vec![400, 5, 50, 120],
            prepared: vec![],
            i: 0,
        };
        let mut ticks = Vec::new();
        let r = measure(
            spec("s", CacheState::Warm),
            &mut w,
            &mut FixedMonitor(0.0),
            1,
            3,
            &mut |t| ticks.push((t.iteration, t.warmup)),
        )
        .unwrap();
        assert_eq!(w.prepared, vec![0, 1, 2, 3]);
        assert_eq!(ticks, vec![(0, true), (1, false), (2, false), (3, false)]);
        assert_eq!(r.runs.len(), 3);
        assert_eq!(r.warmup_runs, 1);
        // The 400 ms warm-up is not among the measured durations (margins
        // wide enough for a loaded machine: the measured runs sleep 5, 50
        // and 120 ms, so the 50 ms one stays the median).
        assert!(r.duration_s.max < 0.35, "{:?}", r.duration_s);
        assert!(r.duration_s.min >= 0.005);
        assert!(r.duration_s.median >= 0.050);
        // Throughput is of the median run.
        assert!((r.files_per_s - 100.0 / r.duration_s.median).abs() < 1e-9);
        assert!((r.mb_per_s - 2.0 / r.duration_s.median).abs() < 1e-9);
        assert_eq!(r.cache_hit_rate, Some(0.75));
        assert_eq!(r.errors, 1);
        // Monitor values: runs 2..=4 -> peak is the largest, avg the median.
        assert_eq!(r.peak_rss_mb, 40.0);
        assert_eq!(r.avg_rss_mb, 3.0);
        assert_eq!(r.timeline.len(), 1);
        assert_eq!(r.timeline[0].rss_mb, 3.0, "timeline of the median run");
    }

    #[test]
    fn errors_of_a_run_propagate() {
        struct Failing;
        impl Workload for Failing {
            fn run(&mut self) -> Result<RunCounts> {
                Err(crate::Error::invalid("boom"))
            }
        }
        let err = measure(
            spec("f", CacheState::None),
            &mut Failing,
            &mut NoMonitor,
            0,
            2,
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(err.message, "boom");
    }

    #[test]
    fn no_cache_means_no_hit_rate() {
        let mut w = Sleeper {
            sleeps_ms: vec![1],
            prepared: vec![],
            i: 0,
        };
        let r = measure(
            spec("n", CacheState::None),
            &mut w,
            &mut NoMonitor,
            0,
            1,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(r.cache_hit_rate, None);
        assert!(r.warnings.is_empty());
    }
}
