//! [`ProfileManager`]: named runs and their summary (count, min / median /
//! max / mean of duration, peak memory and CPU per name).

use super::profile::Profile;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The figures of one run the manager keeps (not the whole timeline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunFigures {
    pub duration_s: f64,
    pub peak_memory_mb: f64,
    pub avg_memory_mb: f64,
    pub avg_cpu_percent: f64,
    pub cpu_time_s: f64,
}

/// min / median / max / mean of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    /// Of a non-empty list (the median of an even count is the mean of the
    /// two middle values).
    pub fn of(values: &[f64]) -> Stats {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Stats {
                min: 0.0,
                median: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stats {
            min: v[0],
            median,
            max: v[n - 1],
            mean: v.iter().sum::<f64>() / n as f64,
        }
    }
}

/// Summary of the runs of one name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameSummary {
    pub count: usize,
    pub duration_s: Stats,
    pub peak_memory_mb: Stats,
    pub avg_memory_mb: Stats,
    pub avg_cpu_percent: Stats,
}

/// Collects named runs; `Send + Sync` (add from any thread).
#[derive(Debug, Default)]
pub struct ProfileManager {
    runs: Mutex<BTreeMap<String, Vec<RunFigures>>>,
}

impl ProfileManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `profile` as a run of `name`.
    pub fn add(&self, name: &str, profile: &Profile) {
        let figures = RunFigures {
            duration_s: profile.duration_s,
            peak_memory_mb: profile.peak_memory_mb,
            avg_memory_mb: profile.avg_memory_mb,
            avg_cpu_percent: profile.avg_cpu_percent,
            cpu_time_s: profile.cpu_time_s,
        };
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_string())
            .or_default()
            .push(figures);
    }

    /// Runs recorded, all names together.
    pub fn run_count(&self) -> usize {
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }

    /// Per-name summaries, by name.
    pub fn summary(&self) -> BTreeMap<String, NameSummary> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter()
            .map(|(name, v)| {
                let col =
                    |f: fn(&RunFigures) -> f64| Stats::of(&v.iter().map(f).collect::<Vec<_>>());
                (
                    name.clone(),
                    NameSummary {
                        count: v.len(),
                        duration_s: col(|r| r.duration_s),
                        peak_memory_mb: col(|r| r.peak_memory_mb),
                        avg_memory_mb: col(|r| r.avg_memory_mb),
                        avg_cpu_percent: col(|r| r.avg_cpu_percent),
                    },
                )
            })
            .collect()
    }

    /// The summary as JSON, schema `wtfperf.profile_summary` version 1:
    /// `{"schema", "version", "runs", "names": {name: {"count",
    /// "duration_s", "peak_memory_mb", "avg_memory_mb", "avg_cpu_percent"}}}`,
    /// each figure as `{"min", "median", "max", "mean"}`.
    pub fn summary_json(&self) -> String {
        json!({
            "schema": "wtfperf.profile_summary",
            "version": 1,
            "runs": self.run_count(),
            "names": self.summary(),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_odd_and_even() {
        let s = Stats::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.min, s.median, s.max, s.mean), (1.0, 2.0, 3.0, 2.0));
        let s = Stats::of(&[4.0, 1.0, 2.0, 3.0]);
        assert_eq!((s.min, s.median, s.max, s.mean), (1.0, 2.5, 4.0, 2.5));
    }
}
