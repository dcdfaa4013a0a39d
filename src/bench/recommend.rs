//! Advice derived from the measured numbers only: which thread count was
//! best, from how many files parallelism pays, what the cache saved, what the
//! page cache and memory cost. No advice is given without a number behind it.

use super::report::{
    CacheState, PageCache, ProjectResult, Recommendation, ScenarioKind, ScenarioResult,
};
use super::report_md::fmt_duration;

/// A parallel scan must beat the sequential one by this much to "pay".
///
/// cbindgen:ignore
pub const PAYS_OFF: f64 = 1.10;

fn rec(id: &str, text: String) -> Recommendation {
    Recommendation {
        id: id.to_string(),
        text,
    }
}

/// Warm-page-cache scan scenarios of a project.
fn scans(p: &ProjectResult) -> impl Iterator<Item = &ScenarioResult> {
    p.scenarios
        .iter()
        .filter(|s| s.spec.kind == ScenarioKind::Scan && s.spec.page_cache == PageCache::Warm)
}

fn by_cache(p: &ProjectResult, state: CacheState) -> Option<&ScenarioResult> {
    p.scenarios
        .iter()
        .find(|s| s.spec.kind == ScenarioKind::Analyze && s.spec.cache == state)
}

/// Recommendations for a set of measured projects.
pub fn recommend(projects: &[ProjectResult]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    // (files, best parallel speed-up) per project, for the threshold advice.
    let mut pay: Vec<(u64, f64, String)> = Vec::new();
    for p in projects {
        let seq = scans(p).find(|s| s.spec.threads == 1);
        let best = scans(p).min_by(|a, b| a.duration_s.median.total_cmp(&b.duration_s.median));
        if let (Some(seq), Some(best)) = (seq, best) {
            let speedup = seq.duration_s.median / best.duration_s.median.max(f64::MIN_POSITIVE);
            if best.spec.threads > 1 {
                out.push(rec(
                    "best-threads",
                    format!(
                        "{}: {} threads scanned fastest ({} median, {:.0} files/s, {:.2}× the sequential scan).",
                        p.name,
                        best.spec.threads,
                        fmt_duration(best.duration_s.median),
                        best.files_per_s,
                        speedup
                    ),
                ));
            } else {
                out.push(rec(
                    "best-threads",
                    format!(
                        "{}: one thread was fastest ({} median): at {} files, on this machine, more threads did not help; scan sequentially here, or re-measure on an idle machine.",
                        p.name,
                        fmt_duration(seq.duration_s.median),
                        p.files
                    ),
                ));
            }
            let best_par = scans(p)
                .filter(|s| s.spec.threads > 1)
                .map(|s| seq.duration_s.median / s.duration_s.median.max(f64::MIN_POSITIVE))
                .fold(0.0, f64::max);
            if best_par > 0.0 {
                pay.push((p.files, best_par, p.name.clone()));
            }
            // Memory cost of the best parallel run.
            // Compared on growth (what each run added), not on the peaks:
            // those also count what the process held before each run.
            if best.spec.threads > 1 && seq.peak_rss_mb > 0.0 {
                let extra = best.rss_growth_mb - seq.rss_growth_mb;
                if extra.abs() >= 1.0 {
                    out.push(rec(
                        "parallel-memory",
                        format!(
                            "{}: {} threads added {:.1} MB of RSS at their peak, {:+.1} MB against one thread.",
                            p.name, best.spec.threads, best.rss_growth_mb, extra
                        ),
                    ));
                }
            }
        }
        if let (Some(cold), Some(warm)) =
            (by_cache(p, CacheState::Cold), by_cache(p, CacheState::Warm))
        {
            let (c, w) = (cold.duration_s.median, warm.duration_s.median);
            if c > 0.0 && w > 0.0 {
                let mut text = format!(
                    "{}: the cache saved {:.0} % of the analysis time on an unchanged tree ({} cold → {} warm, {:.1}× faster, {:.0} % hits).",
                    p.name,
                    (1.0 - w / c) * 100.0,
                    fmt_duration(c),
                    fmt_duration(w),
                    c / w,
                    warm.cache_hit_rate.unwrap_or(0.0) * 100.0
                );
                if let Some(inc) = by_cache(p, CacheState::Incremental) {
                    let misses = inc.runs.first().map(|r| r.cache_misses).unwrap_or(0);
                    text.push_str(&format!(
                        " After editing a few files ({} {} per run) it took {} ({:.1}× faster than cold).",
                        misses,
                        if misses == 1 { "miss" } else { "misses" },
                        fmt_duration(inc.duration_s.median),
                        c / inc.duration_s.median.max(f64::MIN_POSITIVE)
                    ));
                }
                if w >= c / PAYS_OFF {
                    text.push_str(" That is little: the analyzer is cheap next to reading and hashing, so the cache pays only for costlier analyzers.");
                }
                out.push(rec("cache-saves", text));
            }
        }
        let cold_scan = p
            .scenarios
            .iter()
            .find(|s| s.spec.page_cache == PageCache::Cold);
        // Against the warm scan with the same thread count.
        let warm_scan = cold_scan.and_then(|c| scans(p).find(|s| s.spec.threads == c.spec.threads));
        if let (Some(warm), Some(cold)) = (warm_scan, cold_scan) {
            let ratio = cold.duration_s.median / warm.duration_s.median.max(f64::MIN_POSITIVE);
            out.push(rec(
                "page-cache",
                format!(
                    "{}: with the tree's pages evicted the scan took {} against {} warm ({:.1}×): the first scan after a reboot or a large checkout is bound by the disk.",
                    p.name,
                    fmt_duration(cold.duration_s.median),
                    fmt_duration(warm.duration_s.median),
                    ratio
                ),
            ));
        }
        let errors: u64 = p.scenarios.iter().map(|s| s.errors).max().unwrap_or(0);
        if errors > 0 {
            out.push(rec(
                "errors",
                format!("{}: up to {errors} file(s) failed per run; see the errors column (unreadable files are counted, never fatal).", p.name),
            ));
        }
    }
    // From how many files parallelism pays, when projects of several sizes ran.
    pay.sort_by_key(|x| x.0);
    if let Some(first_paying) = pay.iter().find(|x| x.1 >= PAYS_OFF) {
        let below: Vec<&(u64, f64, String)> = pay.iter().filter(|x| x.0 < first_paying.0).collect();
        if let Some(last_not) = below.last() {
            out.push(rec(
                "parallel-threshold",
                format!(
                    "Parallelism paid from {} files ({:.2}×) but not at {} files ({:.2}×): on this machine, scan sequentially below about {} files.",
                    first_paying.0, first_paying.1, last_not.0, last_not.1, last_not.0
                ),
            ));
        } else {
            out.push(rec(
                "parallel-threshold",
                format!(
                    "Parallelism already paid at {} files ({:.2}×), the smallest project measured.",
                    first_paying.0, first_paying.1
                ),
            ));
        }
    } else if let Some(largest) = pay.last() {
        out.push(rec(
            "parallel-threshold",
            format!(
                "Parallelism did not pay on any project measured (best {:.2}× at {} files): the scan is bound by something threads do not help (few cores, a slow disk or a busy machine).",
                largest.1, largest.0
            ),
        ));
    }
    let noisy: Vec<String> = projects
        .iter()
        .flat_map(|p| {
            p.scenarios
                .iter()
                .filter(|s| !s.warnings.is_empty())
                .map(move |s| format!("{}/{}", p.name, s.spec.id))
        })
        .collect();
    if !noisy.is_empty() {
        out.push(rec(
            "noise",
            format!(
                "{} scenario(s) varied a lot between runs ({}): rerun with more --runs on a quieter machine before trusting small differences.",
                noisy.len(),
                noisy.join(", ")
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests_support::{sample_report, scenario};

    fn ids(recs: &[Recommendation]) -> Vec<&str> {
        recs.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn best_threads_and_cache_savings_from_the_numbers() {
        let report = sample_report();
        let recs = recommend(&report.projects);
        let best = recs.iter().find(|r| r.id == "best-threads").unwrap();
        assert!(best.text.contains("2 threads"), "{}", best.text);
        assert!(best.text.contains("1.67×"), "{}", best.text);
        let cache = recs.iter().find(|r| r.id == "cache-saves").unwrap();
        // 2.0 s cold, 0.1 s warm.
        assert!(cache.text.contains("95 %"), "{}", cache.text);
        assert!(cache.text.contains("20.0× faster"), "{}", cache.text);
        assert!(ids(&recs).contains(&"noise"), "scan-seq carries a warning");
        assert!(!ids(&recs).contains(&"errors"));
    }

    /// The memory advice compares what each run added, not the peaks: a
    /// later scenario's peak also counts what earlier ones left behind.
    #[test]
    fn parallel_memory_is_judged_on_growth() {
        let mut p = sample_report().projects.remove(0);
        p.scenarios = vec![
            scenario("scan-seq", ScenarioKind::Scan, 1, CacheState::None, 1.0),
            scenario("scan-par-2", ScenarioKind::Scan, 2, CacheState::None, 0.55),
        ];
        p.scenarios[0].peak_rss_mb = 10.0;
        p.scenarios[0].rss_growth_mb = 3.0;
        // Peaked 12 MB higher only because it ran later.
        p.scenarios[1].peak_rss_mb = 22.0;
        p.scenarios[1].rss_growth_mb = 3.4;
        let recs = recommend(std::slice::from_ref(&p));
        assert!(!ids(&recs).contains(&"parallel-memory"), "{recs:?}");
        p.scenarios[1].rss_growth_mb = 8.0;
        let recs = recommend(std::slice::from_ref(&p));
        let r = recs.iter().find(|r| r.id == "parallel-memory").unwrap();
        assert!(
            r.text.contains("added 8.0 MB") && r.text.contains("+5.0 MB"),
            "{}",
            r.text
        );
    }

    #[test]
    fn sequential_wins_on_a_tiny_project_and_the_threshold_is_found() {
        let mut small = sample_report().projects.remove(0);
        small.name = "small".into();
        small.files = 100;
        small.scenarios = vec![
            scenario("scan-seq", ScenarioKind::Scan, 1, CacheState::None, 0.010),
            scenario("scan-par-2", ScenarioKind::Scan, 2, CacheState::None, 0.012),
        ];
        let mut big = small.clone();
        big.name = "big".into();
        big.files = 5000;
        big.scenarios = vec![
            scenario("scan-seq", ScenarioKind::Scan, 1, CacheState::None, 1.0),
            scenario("scan-par-2", ScenarioKind::Scan, 2, CacheState::None, 0.55),
        ];
        let recs = recommend(&[small, big]);
        assert!(
            recs[0].text.contains("one thread was fastest"),
            "{}",
            recs[0].text
        );
        let t = recs.iter().find(|r| r.id == "parallel-threshold").unwrap();
        assert!(
            t.text.contains("from 5000 files") && t.text.contains("at 100 files"),
            "{}",
            t.text
        );
    }

    #[test]
    fn cold_page_cache_is_compared_with_the_same_thread_count() {
        let mut p = sample_report().projects.remove(0);
        let mut cold = scenario(
            "scan-cold-page-cache",
            ScenarioKind::Scan,
            2,
            CacheState::None,
            0.9,
        );
        cold.spec.page_cache = PageCache::Cold;
        p.scenarios.push(scenario(
            "scan-par-4",
            ScenarioKind::Scan,
            4,
            CacheState::None,
            0.2,
        ));
        p.scenarios.push(cold);
        let recs = recommend(&[p]);
        let r = recs.iter().find(|r| r.id == "page-cache").unwrap();
        // Against scan-par-2 (0.3 s), not the faster 4-thread scan.
        assert!(r.text.contains("(3.0×)"), "{}", r.text);
    }

    #[test]
    fn no_numbers_no_advice() {
        let mut p = sample_report().projects.remove(0);
        p.scenarios.clear();
        assert!(recommend(&[p]).is_empty());
    }
}
