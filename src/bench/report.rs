//! The benchmark report: what `run` returns, what the JSON holds (schema in
//! `docs/bench-schema.md`), and what the Markdown and HTML writers render.

use super::stats::Summary;
use serde::{Deserialize, Serialize};

/// Name of the report format, the JSON's `schema` field.
///
/// cbindgen:ignore
pub const SCHEMA: &str = "wtfperf-bench";
/// Version of the JSON schema; bumped on any incompatible change.
///
/// cbindgen:ignore
pub const SCHEMA_VERSION: u32 = 1;

/// A whole benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub schema_version: u32,
    pub wtfperf_version: String,
    /// Seconds since the Unix epoch when the run started.
    pub created_unix_s: u64,
    /// The same instant as `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_utc: String,
    pub environment: Environment,
    pub config: Config,
    pub projects: Vec<ProjectResult>,
    pub recommendations: Vec<Recommendation>,
    /// Present when the run was compared with a saved baseline.
    pub baseline: Option<BaselineComparison>,
}

/// The machine the numbers come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub os: String,
    pub arch: String,
    /// Logical CPUs available to this process.
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_total_mb: f64,
}

/// The settings of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub runs: usize,
    pub warmup: usize,
    /// Thread counts of the parallel scenarios.
    pub threads: Vec<usize>,
    pub cache: bool,
    pub full_suite: bool,
    pub cold_page_cache: bool,
    pub seed: u64,
    /// Profiler sampling interval.
    pub sample_interval_s: f64,
    /// Relative change of a median duration that counts as a regression.
    pub threshold: f64,
    /// Fraction of the source files edited before each incremental run.
    pub incremental_fraction: f64,
}

/// Where a project comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectKind {
    Generated,
    Path,
}

/// One project and its scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectResult {
    /// Stable name, e.g. "generated-medium" or the directory's name.
    pub name: String,
    pub kind: ProjectKind,
    /// The tree measured (a temporary directory for generated projects).
    pub path: String,
    /// Files the scanner met, and their total size.
    pub files: u64,
    pub bytes: u64,
    /// Generator settings and counts (generated projects only).
    pub generator: Option<GeneratorInfo>,
    pub scenarios: Vec<ScenarioResult>,
    /// Scenarios not run, and why.
    pub skipped: Vec<Skipped>,
}

/// How a generated project was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    pub size: String,
    pub seed: u64,
    pub files: u64,
    pub bytes: u64,
    pub binary_files: u64,
    pub oversize_files: u64,
    pub ignored_files: u64,
    pub dirs: u64,
    pub max_depth: u64,
    pub languages: Vec<(String, u64)>,
    pub generate_s: f64,
}

/// A scenario that was not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// What a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// Walk, read and hash every file.
    Scan,
    /// Scan plus the analyzer, through the cache.
    Analyze,
}

/// State of the analysis cache at the start of a measured run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheState {
    /// No cache involved.
    None,
    /// An empty cache: every file is analyzed and stored.
    Cold,
    /// A cache filled by a previous run over the unchanged tree.
    Warm,
    /// A warm cache after a fraction of the files was edited.
    Incremental,
}

/// State of the OS page cache for the tree's files at the start of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageCache {
    Warm,
    /// The tree's pages were evicted with `posix_fadvise(DONTNEED)`.
    Cold,
}

/// What identifies a scenario and how it is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSpec {
    /// Stable id, e.g. "scan-seq", "scan-par-4", "analyze-warm".
    pub id: String,
    /// Human title, e.g. "Parallel scan (4 threads)".
    pub title: String,
    pub kind: ScenarioKind,
    pub threads: usize,
    pub cache: CacheState,
    pub page_cache: PageCache,
}

/// One measured run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub duration_s: f64,
    /// Files handed over (scanned, or answered from the cache).
    pub files: u64,
    /// Total size of those files.
    pub bytes: u64,
    /// Bytes actually read from disk.
    pub bytes_read: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub errors: u64,
    pub peak_rss_mb: f64,
    /// Peak RSS above the RSS at the run's start (0 in reports from before
    /// this field).
    #[serde(default)]
    pub rss_growth_mb: f64,
    pub avg_rss_mb: f64,
    pub avg_cpu_percent: f64,
    /// Profiler samples taken during the run.
    pub samples: usize,
}

/// One point of a resource timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub t_s: f64,
    pub rss_mb: f64,
    pub cpu_percent: f64,
}

/// A scenario's measured runs and what they add up to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    #[serde(flatten)]
    pub spec: ScenarioSpec,
    pub warmup_runs: usize,
    /// Statistics of the measured runs' durations.
    pub duration_s: Summary,
    /// `files` / median duration.
    pub files_per_s: f64,
    /// `bytes` / median duration, in MB (10^6 bytes) per second.
    pub mb_per_s: f64,
    /// Files and bytes of the median run.
    pub files: u64,
    pub bytes: u64,
    /// Highest peak RSS of all measured runs.
    pub peak_rss_mb: f64,
    /// Largest growth of RSS over its value at a run's start: what the
    /// scenario itself added, whatever ran before it in the process (0 in
    /// reports from before this field).
    #[serde(default)]
    pub rss_growth_mb: f64,
    /// Median over runs of the average RSS.
    pub avg_rss_mb: f64,
    /// Median over runs of the average CPU (100 = one core busy).
    pub avg_cpu_percent: f64,
    /// Hits / (hits + misses) of the median run; null without a cache.
    pub cache_hit_rate: Option<f64>,
    /// Most errors seen in one run.
    pub errors: u64,
    /// Median duration of the sequential scan / this one (scan scenarios).
    pub speedup_vs_sequential: Option<f64>,
    pub runs: Vec<RunResult>,
    /// RSS and CPU timeline of the median run.
    pub timeline: Vec<TimelinePoint>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Advice derived from the measured numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable id, e.g. "best-threads", "cache-saves".
    pub id: String,
    pub text: String,
}

/// The comparison with a saved baseline report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    pub file: String,
    pub threshold: f64,
    pub comparisons: Vec<Comparison>,
    /// Number of comparisons whose verdict is "regression".
    pub regressions: usize,
    /// Scenarios of this run the baseline does not have.
    pub unmatched: Vec<String>,
}

/// Verdict of one scenario against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Regression,
    Improvement,
    Unchanged,
}

/// One scenario against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub project: String,
    pub scenario: String,
    pub baseline_median_s: f64,
    pub current_median_s: f64,
    /// current / baseline - 1 (0.2 = 20 % slower).
    pub change: f64,
    pub verdict: Verdict,
}

impl Report {
    /// The scenario `id` of project `project`, if it ran.
    pub fn scenario(&self, project: &str, id: &str) -> Option<&ScenarioResult> {
        self.projects
            .iter()
            .find(|p| p.name == project)?
            .scenarios
            .iter()
            .find(|s| s.spec.id == id)
    }
}

impl ProjectResult {
    /// The scenario `id`, if it ran.
    pub fn scenario(&self, id: &str) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.spec.id == id)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (UTC, proleptic Gregorian).
pub fn format_utc(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}

/// A small hand-made report for the writers' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub fn scenario(
        id: &str,
        kind: ScenarioKind,
        threads: usize,
        cache: CacheState,
        median: f64,
    ) -> ScenarioResult {
        let runs: Vec<RunResult> = [median * 0.9, median, median * 1.1]
            .iter()
            .map(|&d| RunResult {
                duration_s: d,
                files: 1000,
                bytes: 8_000_000,
                bytes_read: 8_000_000,
                cache_hits: if cache == CacheState::Warm { 1000 } else { 0 },
                cache_misses: if cache == CacheState::Warm { 0 } else { 1000 },
                errors: 0,
                peak_rss_mb: 40.0,
                rss_growth_mb: 12.0,
                avg_rss_mb: 30.0,
                avg_cpu_percent: 95.0,
                samples: 3,
            })
            .collect();
        ScenarioResult {
            spec: ScenarioSpec {
                id: id.into(),
                title: format!("{id} <title>"),
                kind,
                threads,
                cache,
                page_cache: PageCache::Warm,
            },
            warmup_runs: 1,
            duration_s: crate::bench::stats::summarize(&[median * 0.9, median, median * 1.1]),
            files_per_s: 1000.0 / median,
            mb_per_s: 8.0 / median,
            files: 1000,
            bytes: 8_000_000,
            peak_rss_mb: 40.0,
            rss_growth_mb: 12.0,
            avg_rss_mb: 30.0,
            avg_cpu_percent: 95.0,
            cache_hit_rate: match cache {
                CacheState::None => None,
                CacheState::Warm => Some(1.0),
                _ => Some(0.0),
            },
            errors: 0,
            speedup_vs_sequential: None,
            runs,
            timeline: (0..5)
                .map(|i| TimelinePoint {
                    t_s: i as f64 * 0.1,
                    rss_mb: 20.0 + i as f64,
                    cpu_percent: 50.0 + 10.0 * i as f64,
                })
                .collect(),
            warnings: vec![],
            notes: vec![],
        }
    }

    pub fn sample_report() -> Report {
        let mut par = scenario("scan-par-2", ScenarioKind::Scan, 2, CacheState::None, 0.3);
        par.speedup_vs_sequential = Some(0.5 / 0.3);
        let mut seq = scenario("scan-seq", ScenarioKind::Scan, 1, CacheState::None, 0.5);
        seq.speedup_vs_sequential = Some(1.0);
        seq.warnings.push("wide spread: <&> test".into());
        Report {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION,
            wtfperf_version: crate::VERSION.into(),
            created_unix_s: 1_700_000_000,
            created_utc: format_utc(1_700_000_000),
            environment: Environment {
                os: "linux".into(),
                arch: "x86_64".into(),
                cpus: 2,
                cpu_model: "Test CPU".into(),
                memory_total_mb: 1024.0,
            },
            config: Config {
                runs: 3,
                warmup: 1,
                threads: vec![2],
                cache: true,
                full_suite: false,
                cold_page_cache: false,
                seed: 42,
                sample_interval_s: 0.01,
                threshold: 0.15,
                incremental_fraction: 0.01,
            },
            projects: vec![ProjectResult {
                name: "generated-small".into(),
                kind: ProjectKind::Generated,
                path: "/tmp/x".into(),
                files: 1000,
                bytes: 8_000_000,
                generator: None,
                scenarios: vec![
                    seq,
                    par,
                    scenario(
                        "analyze-cold",
                        ScenarioKind::Analyze,
                        2,
                        CacheState::Cold,
                        2.0,
                    ),
                    scenario(
                        "analyze-warm",
                        ScenarioKind::Analyze,
                        2,
                        CacheState::Warm,
                        0.1,
                    ),
                ],
                skipped: vec![Skipped {
                    id: "scan-cold-page-cache".into(),
                    reason: "not asked".into(),
                }],
            }],
            recommendations: vec![Recommendation {
                id: "best-threads".into(),
                text: "Use 2 threads.".into(),
            }],
            baseline: None,
        }
    }
}
