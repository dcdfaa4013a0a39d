//! The benchmark suite: synthetic projects, scenarios measured with warm-up
//! and repeated runs, reports people read, advice, and baseline checks.
//!
//! [`run`] is what `examples/run_benchmarks.rs` and `wtfperf_bench_run`
//! call. Modules: [`generator`] (projects), [`analyzer`] (the per-file work of
//! analyze scenarios), [`suite`] (the measuring loop), [`scenarios`] (scan and
//! analyze workloads on the real scanner and cache), [`monitor`] (our
//! profiler around each run), [`evict`] (cold page cache), [`options`],
//! [`cli`] (the command line), [`stats`],
//! [`report`] and its writers, [`baseline`], [`recommend`].

pub mod analyzer;
pub mod baseline;
pub mod cli;
pub mod evict;
pub mod generator;
pub mod monitor;
pub mod options;
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
    Config, Environment, GeneratorInfo, ProjectKind, ProjectResult, Report, ScenarioKind,
    ScenarioResult, ScenarioSpec, Skipped,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use options::{BenchOptions, Format, cpus, plan_scenarios, thread_counts};

/// Where a project comes from.
#[derive(Debug, Clone)]
enum Source {
    Path(PathBuf),
    Generated(ProjectSize, usize),
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
    if files == 0 && matches!(source, Source::Path(_)) {
        // Every figure would be of nothing (and the incremental scenario
        // would have no copy to edit): say why instead.
        return Err(Error::invalid(format!(
            "project {}: no file to measure: the tree is empty, or hidden names and its \
             ignore files (.gitignore, .ignore, .git/info/exclude; honoured outside a git \
             repository too) leave every file out",
            root.display()
        )));
    }
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
