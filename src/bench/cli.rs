//! The command line of `examples/run_benchmarks.rs`, parsed by hand (no
//! dependency), with the old Python tool's flags and clear errors.

use super::generator::ProjectSize;
use super::{BenchOptions, Format};
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the suite.
    Run(Cli),
    /// Print this text and exit successfully (`--help`, `--version`).
    Print(String),
}

/// The `--help` text.
pub const USAGE: &str = "\
run_benchmarks: measure wtfperf's scanner, cache and analyzer on a real or generated tree

USAGE:
    cargo run --release --example run_benchmarks -- [OPTIONS]

With no options: a generated medium project (5000 files), sequential and parallel
scans, cold/warm/incremental analyze, 5 runs after 1 warm-up each; reports go to
target/wtfperf-bench/.

OPTIONS:
    --project PATH     measure this tree (read-only) instead of a generated project
    --parallel N       highest thread count of the parallel scans (default: all cores)
    --cache            run the analyze scenarios (the default; kept for the old CLI)
    --no-cache         skip the analyze scenarios
    --full-suite       small, medium and large generated projects (100 / 5k / 50k files),
                       more thread counts and a cold-page-cache scan
    --cold-cache       add a scan with the tree's pages evicted (posix_fadvise DONTNEED)
    --runs N           measured runs per scenario (default 5)
    --warmup N         unmeasured warm-up runs before them (default 1)
    --size S           generated project size: small, medium or large (default medium)
    --files N          generated project with exactly N files
    --seed N           seed of the generated projects (default 42)
    --output DIR       where reports are written (default target/wtfperf-bench)
    --format LIST      report formats, comma-separated: md,json,html (default all)
    --baseline FILE    compare with an earlier bench-report.json; exit 3 on a regression
    --threshold PCT    noise threshold for --baseline, e.g. 15 or 15% (default 15%)
    --work-dir DIR     where generated projects and caches live (default: temp dir);
                       removed when the run ends, also on Ctrl-C, SIGTERM or SIGHUP
    -v, --verbose      print every run
    -q, --quiet        no progress bar, no table: only errors and the report paths
    -h, --help         this text
    -V, --version      the wtfperf version
";

/// A parsed command line.
#[derive(Debug)]
pub struct Cli {
    pub options: BenchOptions,
    /// Print every run.
    pub verbose: bool,
    /// No progress bar and no table.
    pub quiet: bool,
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String, String> {
    args.next()
        .filter(|v| !v.starts_with("--"))
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a valid number"))
}

/// Parses the arguments (without the program name). `Err` is a message for
/// a bad command line.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = BenchOptions {
        output_dir: Some(PathBuf::from("target/wtfperf-bench")),
        ..BenchOptions::default()
    };
    let (mut verbose, mut quiet) = (false, false);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept --flag=value as well as --flag value.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut val = |name: &str| match &inline {
            Some(v) => Ok(v.clone()),
            None => value(&mut args, name),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Print(USAGE.to_string())),
            "-V" | "--version" => {
                return Ok(Command::Print(format!("wtfperf {}\n", crate::VERSION)));
            }
            "--project" => o.project = Some(PathBuf::from(val("--project")?)),
            "--parallel" => o.parallel = number(&val("--parallel")?, "--parallel")?,
            "--cache" => o.cache = true,
            "--no-cache" => o.cache = false,
            "--full-suite" => o.full_suite = true,
            "--cold-cache" => o.cold_page_cache = true,
            "--runs" => o.runs = number(&val("--runs")?, "--runs")?,
            "--warmup" => o.warmup = number(&val("--warmup")?, "--warmup")?,
            "--seed" => o.seed = number(&val("--seed")?, "--seed")?,
            "--files" => {
                o.generate_files = number(&val("--files")?, "--files")?;
                if o.generate_files == 0 {
                    return Err("--files must be at least 1".to_string());
                }
            }
            "--size" => {
                let v = val("--size")?;
                o.size = ProjectSize::parse(&v)
                    .ok_or_else(|| format!("--size: {v:?} is not small, medium or large"))?;
            }
            "--output" => o.output_dir = Some(PathBuf::from(val("--output")?)),
            "--format" => {
                o.formats = Format::parse_list(&val("--format")?)
                    .map_err(|e| format!("--format: {}", e.message))?
            }
            "--baseline" => o.baseline = Some(PathBuf::from(val("--baseline")?)),
            "--threshold" => {
                let v = val("--threshold")?;
                let pct: f64 = number(v.trim_end_matches('%'), "--threshold")?;
                o.threshold = pct / 100.0;
            }
            "--work-dir" => o.work_dir = Some(PathBuf::from(val("--work-dir")?)),
            "-v" | "--verbose" => verbose = true,
            "-q" | "--quiet" => quiet = true,
            other => {
                return Err(format!("unknown option {other:?} (see --help)"));
            }
        }
        if inline.is_some()
            && !matches!(
                flag.as_str(),
                "--project"
                    | "--parallel"
                    | "--runs"
                    | "--warmup"
                    | "--seed"
                    | "--files"
                    | "--size"
                    | "--output"
                    | "--format"
                    | "--baseline"
                    | "--threshold"
                    | "--work-dir"
            )
        {
            return Err(format!("{flag} takes no value"));
        }
    }
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(Command::Run(Cli {
        options: o,
        verbose,
        quiet,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Cli>, String> {
        parse(list.iter().map(|s| s.to_string())).map(|c| match c {
            Command::Run(cli) => Some(cli),
            Command::Print(_) => None,
        })
    }

    #[test]
    fn old_tool_flags_parse() {
        let cli = args(&["--project", ".", "--parallel", "4", "--cache", "--verbose"])
            .unwrap()
            .unwrap();
        assert_eq!(cli.options.project, Some(PathBuf::from(".")));
        assert_eq!(cli.options.parallel, 4);
        assert!(cli.options.cache && cli.verbose);
        let cli = args(&[
            "--full-suite",
            "--runs=3",
            "--warmup",
            "0",
            "--format",
            "json",
            "--threshold",
            "20%",
        ])
        .unwrap()
        .unwrap();
        assert!(cli.options.full_suite);
        assert_eq!((cli.options.runs, cli.options.warmup), (3, 0));
        assert_eq!(cli.options.formats, vec![Format::Json]);
        assert!((cli.options.threshold - 0.2).abs() < 1e-12);
    }

    #[test]
    fn bad_flags_are_clear() {
        assert!(args(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(args(&["--runs"]).unwrap_err().contains("needs a value"));
        assert!(
            args(&["--runs", "x"])
                .unwrap_err()
                .contains("not a valid number")
        );
        assert!(args(&["--runs", "0"]).unwrap_err().contains("at least 1"));
        assert!(args(&["--format", "pdf"]).unwrap_err().contains("pdf"));
        assert!(args(&["--size", "huge"]).unwrap_err().contains("huge"));
        assert!(
            args(&["--cache=yes"])
                .unwrap_err()
                .contains("takes no value")
        );
        assert!(args(&["--help"]).unwrap().is_none());
    }
}
