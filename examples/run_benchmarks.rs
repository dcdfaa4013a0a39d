//! `run_benchmarks`: the benchmark suite's command line, the main job.
//!
//! ```sh
//! cargo run --release --example run_benchmarks                  # generated 5k-file project
//! cargo run --release --example run_benchmarks -- --project . --parallel 4 --cache
//! cargo run --release --example run_benchmarks -- --full-suite --verbose
//! cargo run --release --example run_benchmarks -- --baseline old/bench-report.json
//! ```
//!
//! Exit status: 0 done, 1 the run failed (bad path, I/O), 2 bad command line,
//! 3 a regression against `--baseline` beyond the noise threshold.

use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use wtfperf::bench::report_md::fmt_duration;
use wtfperf::bench::{self, Event, cli};

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Run(cli)) => cli,
        Ok(cli::Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("run_benchmarks: {msg}");
            return ExitCode::from(2);
        }
    };
    // Check paths before the long run starts.
    if let Err(e) = cli.options.validate() {
        eprintln!("run_benchmarks: {}", e.message);
        return ExitCode::from(if e.kind == wtfperf::ErrorKind::Invalid {
            2
        } else {
            1
        });
    }
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs  {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    };
    let verbose = cli.verbose;
    let started = Instant::now();
    let result = bench::run(&cli.options, &mut |event| match event {
        Event::Plan { iterations } => bar.set_length(iterations),
        Event::Preparing { project } => bar.set_message(format!("{project}: preparing")),
        Event::Ready {
            project,
            files,
            bytes,
            seconds,
        } => {
            if verbose {
                bar.println(format!(
                    "{project}: {files} files, {:.1} MB, ready in {}",
                    bytes as f64 / 1e6,
                    fmt_duration(seconds)
                ));
            }
        }
        Event::Tick { project, tick } => {
            bar.inc(1);
            bar.set_message(format!("{project}: {}", tick.spec.title));
            if verbose {
                bar.println(format!(
                    "  {:<36} {} #{:<3} {}",
                    tick.spec.title,
                    if tick.warmup { "warm-up" } else { "run    " },
                    tick.iteration + 1,
                    fmt_duration(tick.duration_s)
                ));
            }
        }
        Event::Scenario { project, result } => {
            if verbose {
                let d = &result.duration_s;
                bar.println(format!(
                    "{project}: {}: {} / {} / {} (min / median / max)",
                    result.spec.title,
                    fmt_duration(d.min),
                    fmt_duration(d.median),
                    fmt_duration(d.max)
                ));
            }
        }
        Event::Skipped { project, skipped } => {
            bar.println(format!(
                "{project}: skipped {}: {}",
                skipped.id, skipped.reason
            ));
        }
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("run_benchmarks: {}", e.message);
            return ExitCode::from(1);
        }
    };
    if !cli.quiet {
        print!("{}", bench::report_md::render_console(&report));
        println!(
            "\nTotal time {}.",
            fmt_duration(started.elapsed().as_secs_f64())
        );
    }
    if let Some(dir) = &cli.options.output_dir {
        for f in &cli.options.formats {
            println!(
                "Wrote {}",
                dir.join(format!("bench-report.{}", f.ext())).display()
            );
        }
    }
    match &report.baseline {
        Some(b) if b.regressions > 0 => {
            eprintln!(
                "run_benchmarks: {} regression(s) against {} beyond the {:.0} % noise threshold",
                b.regressions,
                b.file,
                b.threshold * 100.0
            );
            ExitCode::from(3)
        }
        _ => ExitCode::SUCCESS,
    }
}
