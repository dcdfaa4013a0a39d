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
//! 3 a regression against `--baseline` beyond the noise threshold, 128 + N
//! interrupted by signal N (SIGINT, SIGTERM or SIGHUP: the work directory is
//! removed first).

use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wtfperf::bench::report_md::fmt_duration;
use wtfperf::bench::{self, Event, cli};

/// Set once a signal arrived: the run's failures from then on (its files
/// removed under it) are not reported; the signal's thread ends the process.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// On SIGINT, SIGTERM or SIGHUP, removes `dir` (the run's work directory:
/// generated projects and caches, ~600 MB with `--full-suite`) and exits
/// with 128 + the signal. Called before any other thread starts: the
/// signals are blocked here, every later thread inherits that, and one
/// thread waits for them.
fn remove_on_signal(dir: PathBuf) {
    // SAFETY: an all-zero sigset_t is plain data; sigemptyset initializes it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t; the signal numbers are
    // valid; a null old-mask pointer is allowed.
    unsafe {
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: `set` is an initialized sigset_t and `sig` is writable.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        // The run goes on until the process ends, and may create files
        // (and directories again) meanwhile: remove what is there now, and
        // have a shell remove the rest once this process is gone.
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg("while kill -0 \"$0\" 2>/dev/null; do sleep 0.05; done; exec rm -rf -- \"$1\"")
            .arg(std::process::id().to_string())
            .arg(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        eprintln!("\nrun_benchmarks: interrupted; removing {}", dir.display());
        std::process::exit(128 + sig);
    });
}

fn main() -> ExitCode {
    let mut cli = match cli::parse(std::env::args().skip(1)) {
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
    // The run's own work directory (in --work-dir or the temporary
    // directory), removed when the run ends, and when it is interrupted.
    let parent = cli
        .options
        .work_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let work = match tempfile::Builder::new()
        .prefix("wtfperf-bench-run-")
        .tempdir_in(&parent)
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!(
                "run_benchmarks: creating a work directory in {}: {e}",
                parent.display()
            );
            return ExitCode::from(1);
        }
    };
    cli.options.work_dir = Some(work.path().to_path_buf());
    remove_on_signal(work.path().to_path_buf());
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
    if INTERRUPTED.load(Ordering::SeqCst) {
        // The signal's thread is removing the work directory; it exits.
        loop {
            std::thread::park();
        }
    }
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
