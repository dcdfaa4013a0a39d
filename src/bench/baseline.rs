//! Comparison with a saved report, so CI can flag a real regression and
//! ignore noise.
//!
//! A scenario regressed when its median duration grew by more than the
//! threshold *and* even its fastest run is slower than the baseline's
//! median: one slow run among several is noise, every run slower is not.
//! Improvements are judged the same way in the other direction.

use super::report::{BaselineComparison, Comparison, Report, Verdict};
use super::report_json;
use crate::error::{Error, Result};
use std::path::Path;

/// Reads a baseline report written by an earlier run (`--format json`).
pub fn load(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading baseline {}", path.display()), &e))?;
    report_json::parse(&text).map_err(|e| {
        Error::new(
            e.kind,
            format!("baseline {}: {}", path.display(), e.message),
        )
    })
}

/// Compares every scenario of `current` with the same project and scenario
/// of `baseline`.
pub fn compare(
    current: &Report,
    baseline: &Report,
    file: &str,
    threshold: f64,
) -> BaselineComparison {
    let mut comparisons = Vec::new();
    let mut unmatched = Vec::new();
    for project in &current.projects {
        let base_project = baseline.projects.iter().find(|p| p.name == project.name);
        for s in &project.scenarios {
            let label = format!("{}/{}", project.name, s.spec.id);
            let Some(bp) = base_project else {
                unmatched.push(label);
                continue;
            };
            // A tree that changed size measures other work.
            let drift = (project.files as f64 - bp.files as f64).abs() / (bp.files.max(1) as f64);
            let Some(b) = bp.scenario(&s.spec.id).filter(|_| drift <= 0.01) else {
                unmatched.push(label);
                continue;
            };
            let (base, now) = (b.duration_s.median, s.duration_s.median);
            if base <= 0.0 {
                unmatched.push(label);
                continue;
            }
            let change = now / base - 1.0;
            let verdict = if change > threshold && s.duration_s.min > base {
                Verdict::Regression
            } else if change < -threshold && s.duration_s.max < base {
                Verdict::Improvement
            } else {
                Verdict::Unchanged
            };
            comparisons.push(Comparison {
                project: project.name.clone(),
                scenario: s.spec.id.clone(),
                baseline_median_s: base,
                current_median_s: now,
                change,
                verdict,
            });
        }
    }
    BaselineComparison {
        file: file.to_string(),
        threshold,
        regressions: comparisons
            .iter()
            .filter(|c| c.verdict == Verdict::Regression)
            .count(),
        comparisons,
        unmatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests_support::sample_report;
    use crate::bench::stats::summarize;

    fn with_durations(mut r: Report, id: &str, durations: &[f64]) -> Report {
        let s = r.projects[0]
            .scenarios
            .iter_mut()
            .find(|s| s.spec.id == id)
            .unwrap();
        s.duration_s = summarize(durations);
        r
    }

    #[test]
    fn identical_reports_have_no_regression() {
        let r = sample_report();
        let c = compare(&r, &r, "base.json", 0.1);
        assert_eq!(c.regressions, 0);
        assert_eq!(c.comparisons.len(), 4);
        assert!(
            c.comparisons
                .iter()
                .all(|c| c.verdict == Verdict::Unchanged && c.change == 0.0)
        );
        assert!(c.unmatched.is_empty());
    }

    #[test]
    fn a_consistent_slowdown_is_a_regression_and_noise_is_not() {
        let base = with_durations(sample_report(), "scan-seq", &[0.49, 0.50, 0.51]);
        // Every run 40 % slower: regression.
        let slow = with_durations(sample_report(), "scan-seq", &[0.69, 0.70, 0.71]);
        let c = compare(&slow, &base, "b", 0.15);
        assert_eq!(c.regressions, 1);
        let seq = c
            .comparisons
            .iter()
            .find(|c| c.scenario == "scan-seq")
            .unwrap();
        assert_eq!(seq.verdict, Verdict::Regression);
        assert!((seq.change - 0.4).abs() < 1e-9);
        // Within the threshold: unchanged.
        let near = with_durations(sample_report(), "scan-seq", &[0.52, 0.54, 0.55]);
        assert_eq!(compare(&near, &base, "b", 0.15).regressions, 0);
        // Median beyond the threshold but one run as fast as before: noise.
        let noisy = with_durations(sample_report(), "scan-seq", &[0.45, 0.70, 0.72]);
        assert_eq!(compare(&noisy, &base, "b", 0.15).regressions, 0);
        // Faster everywhere: improvement.
        let fast = with_durations(sample_report(), "scan-seq", &[0.30, 0.31, 0.32]);
        let c = compare(&fast, &base, "b", 0.15);
        assert_eq!(c.regressions, 0);
        assert!(
            c.comparisons
                .iter()
                .any(|c| c.verdict == Verdict::Improvement)
        );
    }

    #[test]
    fn unknown_scenarios_and_changed_trees_are_not_compared() {
        let base = sample_report();
        let mut cur = sample_report();
        cur.projects[0].scenarios[0].spec.id = "scan-par-64".into();
        let c = compare(&cur, &base, "b", 0.1);
        assert_eq!(c.unmatched, vec!["generated-small/scan-par-64".to_string()]);
        let mut grown = sample_report();
        grown.projects[0].files *= 2;
        assert_eq!(compare(&grown, &base, "b", 0.1).unmatched.len(), 4);
    }

    #[test]
    fn load_reports_bad_files_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(&dir.path().join("nope.json")).unwrap_err();
        assert_eq!(missing.kind, crate::ErrorKind::Io);
        assert!(missing.message.contains("nope.json"));
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "[]").unwrap();
        assert!(
            load(&bad)
                .unwrap_err()
                .message
                .contains("not a wtfperf benchmark report")
        );
        let good = dir.path().join("good.json");
        std::fs::write(&good, report_json::render(&sample_report())).unwrap();
        assert_eq!(load(&good).unwrap(), sample_report());
    }
}
