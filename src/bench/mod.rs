//! The benchmark suite: synthetic projects, scenarios measured with warm-up
//! and repeated runs, reports people read, advice, and baseline checks.
//!
//! [`run`] is what `examples/run_benchmarks.rs` and `wtfperf_bench_run`
//! call. Modules: [`generator`] (projects), [`analyzer`] (the per-file work of
//! analyze scenarios), [`suite`] (the measuring loop), [`scenarios`] (scan and
//! analyze workloads on the real scanner and cache), [`monitor`] (our
//! profiler around each run), [`evict`] (cold page cache), [`stats`],
//! [`report`] and its writers, [`baseline`], [`recommend`].

pub mod analyzer;
pub mod baseline;
pub mod cli;
pub mod evict;
pub mod generator;
pub mod monitor;
pub mod recommend;
pub mod report;
pub mod report_html;
pub mod report_json;
pub mod report_md;
pub mod scenarios;
pub mod stats;
pub mod suite;

use crate::error::{Error, Result};
use generator::{GenerateOptions, ProjectSize};
use report::{
    CacheState, Config, Environment, GeneratorInfo, PageCache, ProjectKind, ProjectResult, Report,
    ScenarioKind, ScenarioResult, ScenarioSpec, Skipped,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
                return Err(Error::invalid(format!(
                    "project {} is not a directory",
                    p.display()
                )));
            }
        }
        if let Some(b) = &self.baseline {
            if !b.is_file() {
                return Err(Error::new(
                    crate::ErrorKind::Io,
                    format!("baseline {} is not a readable file", b.display()),
                ));
            }
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

/// Where a project comes from.
#[derive(Debug, Clone)]
enum Source {
    Path(PathBuf),
    Generated(ProjectSize, usize),
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

/// Something that happened during [`run`], for progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// The whole plan: number of timed iterations (warm-up included).
    Plan { iterations: u64 },
    /// A project is being generated or counted.
    Preparing { project: &'a str },
    /// A project is ready.
    Ready {
        project: &'a str,
        files: u64,
        bytes: u64,
        seconds: f64,
    },
    /// One iteration of a scenario finished.
    Tick {
        project: &'a str,
        tick: suite::Tick<'a>,
    },
    /// A scenario finished.
    Scenario {
        project: &'a str,
        result: &'a ScenarioResult,
    },
    /// A scenario was skipped.
    Skipped {
        project: &'a str,
        skipped: &'a Skipped,
    },
}

fn environment() -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_mb = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0);
    Environment {
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        cpus: cpus(),
        cpu_model,
        memory_total_mb,
    }
}

/// Runs the suite and returns its report; writes the report files when
/// `output_dir` is set. `on_event` sees progress.
pub fn run(options: &BenchOptions, on_event: &mut dyn FnMut(Event<'_>)) -> Result<Report> {
    options.validate()?;
    let baseline = match &options.baseline {
        Some(path) => Some((path.clone(), baseline::load(path)?)),
        None => None,
    };
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let threads = thread_counts(options.parallel, options.full_suite, cpus());
    let mut sources = Vec::new();
    if let Some(p) = &options.project {
        sources.push(Source::Path(p.clone()));
    }
    if options.full_suite {
        for size in [ProjectSize::Small, ProjectSize::Medium, ProjectSize::Large] {
            sources.push(Source::Generated(size, size.files()));
        }
    } else if options.project.is_none() {
        let files = if options.generate_files > 0 {
            options.generate_files
        } else {
            options.size.files()
        };
        sources.push(Source::Generated(options.size, files));
    }
    let specs = plan_scenarios(options, &threads);
    on_event(Event::Plan {
        iterations: (sources.len() * specs.len() * (options.warmup + options.runs)) as u64,
    });

    let work_parent = match &options.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir(),
    };
    let mut projects = Vec::new();
    for source in &sources {
        let work = tempfile::Builder::new()
            .prefix("wtfperf-bench-")
            .tempdir_in(&work_parent)
            .map_err(|e| {
                Error::io(
                    format!("creating a work directory in {}", work_parent.display()),
                    &e,
                )
            })?;
        let result = run_project(options, source, &specs, work.path(), on_event)?;
        projects.push(result);
        // `work` (generated tree and caches) is removed here.
    }
    let recommendations = recommend::recommend(&projects);
    let mut report = Report {
        schema: report::SCHEMA.into(),
        schema_version: report::SCHEMA_VERSION,
        wtfperf_version: crate::VERSION.into(),
        created_unix_s: created,
        created_utc: report::format_utc(created),
        environment: environment(),
        config: Config {
            runs: options.runs,
            warmup: options.warmup,
            threads,
            cache: options.cache,
            full_suite: options.full_suite,
            cold_page_cache: options.cold_page_cache || options.full_suite,
            seed: options.seed,
            sample_interval_s: options.sample_interval_s,
            threshold: options.threshold,
            incremental_fraction: options.incremental_fraction,
        },
        projects,
        recommendations,
        baseline: None,
    };
    if let Some((path, base)) = baseline {
        report.baseline = Some(baseline::compare(
            &report,
            &base,
            &path.display().to_string(),
            options.threshold,
        ));
    }
    if let Some(dir) = &options.output_dir {
        write_reports(&report, dir, &options.formats)?;
    }
    Ok(report)
}

fn run_project(
    options: &BenchOptions,
    source: &Source,
    specs: &[ScenarioSpec],
    work: &Path,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ProjectResult> {
    let t0 = Instant::now();
    let mut max_file_size = crate::scan::DEFAULT_MAX_FILE_SIZE;
    let (name, kind, root, generated, generator_info) = match source {
        Source::Path(p) => {
            let root = std::fs::canonicalize(p)
                .map_err(|e| Error::io(format!("project {}", p.display()), &e))?;
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".into());
            on_event(Event::Preparing { project: &name });
            (name, ProjectKind::Path, root, None, None)
        }
        Source::Generated(size, files) => {
            let name = if *files == size.files() {
                format!("generated-{}", size.name())
            } else {
                format!("generated-{files}")
            };
            on_event(Event::Preparing { project: &name });
            let root = work.join("project");
            let gen_opts = GenerateOptions {
                files: *files,
                ..GenerateOptions::preset(*size, options.seed)
            };
            max_file_size = gen_opts.max_file_size;
            let g = generator::generate(&root, &gen_opts)?;
            let info = GeneratorInfo {
                size: size.name().into(),
                seed: options.seed,
                files: g.files,
                bytes: g.bytes,
                binary_files: g.binary_files,
                oversize_files: g.oversize_files,
                ignored_files: g.ignored_files,
                dirs: g.dirs,
                max_depth: g.max_depth,
                languages: g.languages.clone(),
                generate_s: t0.elapsed().as_secs_f64(),
            };
            (name, ProjectKind::Generated, root, Some(g), Some(info))
        }
    };
    let (files, bytes) = scenarios::count(&root)?;
    on_event(Event::Ready {
        project: &name,
        files,
        bytes,
        seconds: t0.elapsed().as_secs_f64(),
    });
    let ctx = scenarios::Context {
        root: root.clone(),
        work: work.to_path_buf(),
        generated,
        seed: options.seed,
        incremental_fraction: options.incremental_fraction,
        max_file_size,
    };
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut skipped = Vec::new();
    let mut monitor = monitor::ProfilerMonitor::new(options.sample_interval_s)?;
    for spec in specs {
        let mut workload = match scenarios::build(spec, &ctx) {
            Ok(w) => w,
            Err(reason) => {
                let s = Skipped {
                    id: spec.id.clone(),
                    reason,
                };
                on_event(Event::Skipped {
                    project: &name,
                    skipped: &s,
                });
                skipped.push(s);
                continue;
            }
        };
        let result = suite::measure(
            spec.clone(),
            workload.as_mut(),
            &mut monitor,
            options.warmup,
            options.runs,
            &mut |tick| {
                on_event(Event::Tick {
                    project: &name,
                    tick,
                })
            },
        )?;
        on_event(Event::Scenario {
            project: &name,
            result: &result,
        });
        results.push(result);
    }
    if let Some(seq) = results
        .iter()
        .find(|s| s.spec.id == "scan-seq")
        .map(|s| s.duration_s.median)
    {
        for s in results
            .iter_mut()
            .filter(|s| s.spec.kind == ScenarioKind::Scan)
        {
            if s.duration_s.median > 0.0 {
                s.speedup_vs_sequential = Some(seq / s.duration_s.median);
            }
        }
    }
    Ok(ProjectResult {
        name,
        kind,
        path: root.display().to_string(),
        files,
        bytes,
        generator: generator_info,
        scenarios: results,
        skipped,
    })
}

/// Writes `bench-report.<ext>` for each format into `dir` (created if
/// missing) and returns the paths written.
pub fn write_reports(report: &Report, dir: &Path, formats: &[Format]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), &e))?;
    let mut written = Vec::new();
    for &f in formats {
        let text = match f {
            Format::Markdown => report_md::render(report),
            Format::Json => report_json::render(report),
            Format::Html => report_html::render(report),
        };
        let path = dir.join(format!("bench-report.{}", f.ext()));
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), &e))?;
        written.push(path);
    }
    Ok(written)
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
