//! What to benchmark and how: [`BenchOptions`], report [`Format`]s, the
//! thread counts and the scenario plan they imply.

use super::generator::ProjectSize;
use super::report::{CacheState, PageCache, ScenarioKind, ScenarioSpec};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Html,
}

impl Format {
    /// File extension, also the name on the command line.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Html => "html",
        }
    }

    /// Parses a comma-separated list such as "md,json,html" (order kept,
    /// duplicates dropped). "markdown" is accepted for "md".
    pub fn parse_list(text: &str) -> Result<Vec<Format>> {
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let f = match item.to_ascii_lowercase().as_str() {
                "md" | "markdown" => Format::Markdown,
                "json" => Format::Json,
                "html" => Format::Html,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown report format {other:?} (expected md, json or html)"
                    )));
                }
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if out.is_empty() {
            return Err(Error::invalid(
                "no report format given (expected md, json or html)",
            ));
        }
        Ok(out)
    }
}

/// What to benchmark and how.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// A real tree to measure; `None`: generated projects.
    pub project: Option<PathBuf>,
    /// Highest thread count of the parallel scenarios (0: all cores).
    pub parallel: usize,
    /// Run the analyze scenarios (cold, warm and incremental cache).
    pub cache: bool,
    /// Small, medium and large generated projects, more thread counts and
    /// the cold-page-cache scenario.
    pub full_suite: bool,
    /// Where reports are written; `None`: nowhere.
    pub output_dir: Option<PathBuf>,
    /// Measured runs per scenario (at least 1).
    pub runs: usize,
    /// Unmeasured warm-up runs before them.
    pub warmup: usize,
    pub formats: Vec<Format>,
    /// A saved JSON report to compare with.
    pub baseline: Option<PathBuf>,
    /// Relative slowdown of a median beyond which a scenario regressed.
    pub threshold: f64,
    /// Seed of the generated projects.
    pub seed: u64,
    /// Size of the generated project (without `full_suite`).
    pub size: ProjectSize,
    /// Overrides the file count of the generated project (0: by `size`).
    pub generate_files: usize,
    /// Also scan with the tree's pages evicted from the page cache.
    pub cold_page_cache: bool,
    /// Profiler sampling interval in seconds.
    pub sample_interval_s: f64,
    /// Fraction of source files edited before each incremental run.
    pub incremental_fraction: f64,
    /// Directory for generated projects and caches (default: the system's
    /// temporary directory); everything made there is removed afterwards.
    pub work_dir: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            project: None,
            parallel: 0,
            cache: true,
            full_suite: false,
            output_dir: None,
            runs: 5,
            warmup: 1,
            formats: vec![Format::Markdown, Format::Json, Format::Html],
            baseline: None,
            threshold: 0.15,
            seed: 42,
            size: ProjectSize::Medium,
            generate_files: 0,
            cold_page_cache: false,
            sample_interval_s: 0.01,
            incremental_fraction: 0.01,
            work_dir: None,
        }
    }
}

impl BenchOptions {
    /// Checks the options, with a message naming the bad one.
    pub fn validate(&self) -> Result<()> {
        if self.runs == 0 {
            return Err(Error::invalid("runs must be at least 1"));
        }
        if self.runs > 10_000 || self.warmup > 10_000 {
            return Err(Error::invalid("runs and warmup must be at most 10000"));
        }
        if self.parallel > 1024 {
            return Err(Error::invalid("parallel must be at most 1024 threads"));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(Error::invalid("threshold must be a finite number >= 0"));
        }
        if !(self.sample_interval_s.is_finite() && self.sample_interval_s > 0.0) {
            return Err(Error::invalid("sample interval must be > 0"));
        }
        if !(self.incremental_fraction > 0.0 && self.incremental_fraction <= 1.0) {
            return Err(Error::invalid("incremental fraction must be in (0, 1]"));
        }
        if self.formats.is_empty() {
            return Err(Error::invalid("no report format given"));
        }
        if let Some(p) = &self.project {
            let meta = std::fs::metadata(p)
                .map_err(|e| Error::io(format!("project {}", p.display()), &e))?;
            if !meta.is_dir() {
                return Err(Error::new(
                    crate::ErrorKind::Io,
                    format!("project {} is not a directory", p.display()),
                ));
            }
        }
        if let Some(d) = &self.output_dir {
            // Checked before the run, not after it: the deepest part of the
            // path that exists must be a directory (the rest is created).
            let existing = d
                .ancestors()
                .find(|a| !a.as_os_str().is_empty() && a.exists());
            if let Some(a) = existing.filter(|a| !a.is_dir()) {
                return Err(Error::new(
                    crate::ErrorKind::Io,
                    format!("output {}: {} is not a directory", d.display(), a.display()),
                ));
            }
        }
        if let Some(b) = &self.baseline
            && !b.is_file()
        {
            return Err(Error::new(
                crate::ErrorKind::Io,
                format!("baseline {} is not a readable file", b.display()),
            ));
        }
        Ok(())
    }
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Thread counts of the parallel scenarios: powers of two up to the highest
/// count, and the highest count itself; the full suite adds twice that
/// (oversubscription).
pub fn thread_counts(parallel: usize, full_suite: bool, cpus: usize) -> Vec<usize> {
    let max = if parallel == 0 { cpus.max(1) } else { parallel };
    let mut out = Vec::new();
    let mut n = 2;
    while n < max {
        if full_suite || n * 2 >= max {
            out.push(n);
        }
        n *= 2;
    }
    if max >= 2 {
        out.push(max);
    }
    if full_suite && max >= 1 {
        out.push((max * 2).max(2));
    }
    out.dedup();
    out
}

/// The scenarios to run on one project, in order.
pub fn plan_scenarios(options: &BenchOptions, threads: &[usize]) -> Vec<ScenarioSpec> {
    let top = threads.iter().copied().max().unwrap_or(1);
    let analyze_threads = if options.parallel == 0 {
        cpus()
    } else {
        options.parallel
    }
    .max(1);
    let mut v = vec![ScenarioSpec {
        id: "scan-seq".into(),
        title: "Sequential scan (1 thread)".into(),
        kind: ScenarioKind::Scan,
        threads: 1,
        cache: CacheState::None,
        page_cache: PageCache::Warm,
    }];
    for &n in threads {
        v.push(ScenarioSpec {
            id: format!("scan-par-{n}"),
            title: format!("Parallel scan ({n} threads)"),
            kind: ScenarioKind::Scan,
            threads: n,
            cache: CacheState::None,
            page_cache: PageCache::Warm,
        });
    }
    if options.cold_page_cache || options.full_suite {
        let n = top.min(analyze_threads).max(1);
        v.push(ScenarioSpec {
            id: "scan-cold-page-cache".into(),
            title: format!("Cold page cache scan ({n} threads)"),
            kind: ScenarioKind::Scan,
            threads: n,
            cache: CacheState::None,
            page_cache: PageCache::Cold,
        });
    }
    if options.cache {
        for (state, id, title) in [
            (CacheState::Cold, "analyze-cold", "Analyze, cold cache"),
            (CacheState::Warm, "analyze-warm", "Analyze, warm cache"),
            (
                CacheState::Incremental,
                "analyze-incremental",
                "Analyze, 1 % edited",
            ),
        ] {
            let title = if state == CacheState::Incremental {
                format!(
                    "Analyze, {} % edited",
                    (options.incremental_fraction * 100.0 * 10.0).round() / 10.0
                )
            } else {
                title.to_string()
            };
            v.push(ScenarioSpec {
                id: id.into(),
                title: format!("{title} ({analyze_threads} thr.)"),
                kind: ScenarioKind::Analyze,
                threads: analyze_threads,
                cache: state,
                page_cache: PageCache::Warm,
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_with_clear_errors() {
        assert_eq!(
            Format::parse_list("md, json,html,md").unwrap(),
            vec![Format::Markdown, Format::Json, Format::Html]
        );
        assert_eq!(
            Format::parse_list("markdown").unwrap(),
            vec![Format::Markdown]
        );
        assert!(
            Format::parse_list("pdf")
                .unwrap_err()
                .message
                .contains("\"pdf\"")
        );
        assert!(Format::parse_list(" , ").is_err());
    }

    #[test]
    fn thread_counts_cover_powers_of_two_and_the_top() {
        assert_eq!(thread_counts(0, false, 2), vec![2]);
        assert_eq!(thread_counts(0, false, 8), vec![4, 8]);
        assert_eq!(thread_counts(6, false, 2), vec![4, 6]);
        assert_eq!(thread_counts(8, true, 2), vec![2, 4, 8, 16]);
        assert_eq!(thread_counts(1, false, 4), Vec::<usize>::new());
        assert_eq!(thread_counts(0, true, 2), vec![2, 4]);
    }

    #[test]
    fn plan_follows_the_options() {
        let o = BenchOptions::default();
        let ids: Vec<String> = plan_scenarios(&o, &[2]).into_iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "scan-seq",
                "scan-par-2",
                "analyze-cold",
                "analyze-warm",
                "analyze-incremental"
            ]
        );
        let o = BenchOptions {
            cache: false,
            cold_page_cache: true,
            ..Default::default()
        };
        let ids: Vec<String> = plan_scenarios(&o, &[2, 4])
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(
            ids,
            [
                "scan-seq",
                "scan-par-2",
                "scan-par-4",
                "scan-cold-page-cache"
            ]
        );
    }

    #[test]
    fn validation_names_the_bad_option() {
        let bad = |o: BenchOptions| o.validate().unwrap_err().message;
        assert!(
            bad(BenchOptions {
                runs: 0,
                ..Default::default()
            })
            .contains("runs")
        );
        assert!(
            bad(BenchOptions {
                threshold: f64::NAN,
                ..Default::default()
            })
            .contains("threshold")
        );
        assert!(
            bad(BenchOptions {
                project: Some("/nonexistent/wtfperf".into()),
                ..Default::default()
            })
            .contains("/nonexistent/wtfperf")
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(
            bad(BenchOptions {
                project: Some(file.path().into()),
                ..Default::default()
            })
            .contains("not a directory")
        );
        assert!(
            bad(BenchOptions {
                baseline: Some("/nonexistent/b.json".into()),
                ..Default::default()
            })
            .contains("baseline")
        );
        assert!(BenchOptions::default().validate().is_ok());
    }
}
