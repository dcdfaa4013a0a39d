//! Summary statistics of repeated measurements, and the warnings a careful
//! reader needs (as hyperfine gives them): outliers and a wide spread.

use serde::{Deserialize, Serialize};

/// Min / median / max (and friends) of a set of measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of measurements.
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for fewer than two values.
    pub stddev: f64,
}

/// The median of `values` (mean of the two middle values for an even count);
/// 0 for an empty slice.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Summarizes `values`; all zero for an empty slice.
pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len();
    if n == 0 {
        return Summary::default();
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = values.iter().sum::<f64>() / n as f64;
    let stddev = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Summary {
        n,
        min,
        median: median(values),
        max,
        mean,
        stddev,
    }
}

/// Modified z-score threshold above which a value is an outlier: hyperfine's
/// (|x - median| > 10 scaled MADs), generous because a handful of runs on a
/// shared machine always scatter a little.
///
/// cbindgen:ignore
pub const OUTLIER_Z: f64 = 10.0;
/// A maximum above `median * WIDE_SPREAD` means the runs disagree.
///
/// cbindgen:ignore
pub const WIDE_SPREAD: f64 = 1.5;
/// A coefficient of variation above this means the runs disagree.
///
/// cbindgen:ignore
pub const WIDE_CV: f64 = 0.25;

/// Indices of outliers by modified z-score (`|x - median| / (1.4826 * MAD)`).
/// With a MAD of zero (most runs equal), any value 50 % away from the median
/// counts. Values within 10 % of the median never count.
pub fn outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < 3 {
        return Vec::new();
    }
    let med = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&deviations);
    values
        .iter()
        .enumerate()
        // Statistically unusual *and* more than 10 % off: a 3 % wobble among
        // nearly equal runs is no outlier worth a warning.
        .filter(|&(_, &v)| (v - med).abs() > 0.1 * med)
        .filter(|&(_, &v)| {
            if mad > 0.0 {
                (v - med).abs() / (1.4826 * mad) > OUTLIER_Z
            } else {
                med > 0.0 && (v - med).abs() > 0.5 * med
            }
        })
        .map(|(i, _)| i)
        .collect()
}

/// Human warnings about the measurements of durations `values` (seconds):
/// outliers and a wide spread, with the usual advice.
pub fn warnings(values: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    let s = summarize(values);
    if s.n == 0 {
        return out;
    }
    let found = outliers(values);
    if !found.is_empty() {
        let runs: Vec<String> = found.iter().map(|i| format!("#{}", i + 1)).collect();
        out.push(format!(
            "statistical outliers in run(s) {} (modified z-score > {OUTLIER_Z}): other programs \
             or I/O may have interfered; consider more --runs or --warmup on a quiet machine",
            runs.join(", ")
        ));
    }
    if s.n >= 2 && s.median > 0.0 {
        let cv = s.stddev / s.mean.max(f64::MIN_POSITIVE);
        if s.max > s.median * WIDE_SPREAD || cv > WIDE_CV {
            out.push(format!(
                "wide spread: runs took {} to {} around a median of {} (stddev \
                 {:.0} % of the mean); treat this scenario's numbers as rough",
                super::report_md::fmt_duration(s.min),
                super::report_md::fmt_duration(s.max),
                super::report_md::fmt_duration(s.median),
                cv * 100.0
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_unsorted() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn summary_fields() {
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.n, 8);
        assert_eq!(s.min, 2.0);
        assert_eq!(s.max, 9.0);
        assert_eq!(s.median, 4.5);
        assert_eq!(s.mean, 5.0);
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        let one = summarize(&[1.5]);
        assert_eq!(
            (one.min, one.median, one.max, one.stddev),
            (1.5, 1.5, 1.5, 0.0)
        );
        assert_eq!(summarize(&[]), Summary::default());
    }

    #[test]
    fn outliers_by_modified_z_score() {
        assert_eq!(outliers(&[1.0, 1.01, 0.99, 1.02, 0.98, 3.0]), vec![5]);
        assert!(outliers(&[1.0, 1.01, 0.99, 1.02, 0.98, 1.03]).is_empty());
        // Equal values (MAD 0) with one far away.
        assert_eq!(outliers(&[2.0, 2.0, 2.0, 2.0, 5.0]), vec![4]);
        assert!(outliers(&[1.0, 9.0]).is_empty(), "too few values to judge");
        // Unusual but within 10 % of the median: not worth a warning.
        assert!(outliers(&[3.90, 3.91, 3.90, 3.60]).is_empty());
    }

    #[test]
    fn warnings_for_outliers_and_spread_only_when_due() {
        assert!(warnings(&[1.0, 1.01, 0.99, 1.02, 0.98]).is_empty());
        let w = warnings(&[1.0, 1.01, 0.99, 1.02, 0.98, 3.0]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("outliers") && w[0].contains("#6"));
        assert!(w[1].contains("wide spread"));
        // Spread without a single outlier: two clusters.
        let w = warnings(&[1.0, 1.0, 2.0, 2.0]);
        assert!(w.iter().any(|m| m.contains("wide spread")), "{w:?}");
        assert!(warnings(&[]).is_empty());
        assert!(warnings(&[5.0]).is_empty());
    }
}
