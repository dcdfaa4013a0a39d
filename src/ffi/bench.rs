//! C boundary for the bench part: the suite of `examples/run_benchmarks.rs`
//! and the project generator, for C hosts and the bindings.

use super::args;
use super::buf::wtfperf_buf;
use super::guard::guard;
use super::status::{WTFPERF_OK, wtfperf_status};
use crate::bench::generator::{self, GenerateOptions, ProjectSize};
use crate::bench::{self, BenchOptions, Format};
use crate::error::{Error, Result};
use std::ffi::c_char;

/// Options of `wtfperf_bench_run`; start from `wtfperf_bench_options_default()`.
///
/// Every string field is NULL or a NUL-terminated string that stays valid
/// during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_bench_options {
    /// A real tree to measure; NULL: generated projects (default NULL).
    pub project: *const c_char,
    /// Highest thread count of the parallel scenarios; 0: all cores (default
    /// 0); at most 1024.
    pub parallel: usize,
    /// Run the analyze scenarios: cold, warm and incremental cache (default true).
    pub cache: bool,
    /// Small, medium and large generated projects, more thread counts and a
    /// cold-page-cache scan (default false).
    pub full_suite: bool,
    /// Directory the reports are written to (created if missing); NULL: none
    /// written (default NULL).
    pub output_dir: *const c_char,
    /// Measured runs per scenario, 1 to 10000 (default 5).
    pub runs: usize,
    /// Unmeasured warm-up runs before them, at most 10000 (default 1).
    pub warmup: usize,
    /// Report files to write, comma-separated from "md", "json", "html";
    /// NULL: all three (default NULL).
    pub formats: *const c_char,
    /// A JSON report of an earlier run to compare with; NULL: none. The
    /// result is the report's "baseline" member (its "regressions" counts
    /// scenarios slower beyond `threshold`).
    pub baseline: *const c_char,
    /// Seed of the generated projects (default 42).
    pub seed: u64,
    /// Files of the generated project; 0: the medium preset, 5000 (default 0).
    pub generate_files: usize,
    /// Relative slowdown of a median counted as a regression (default 0.15).
    pub threshold: f64,
    /// Also scan with the tree's pages evicted from the page cache (default false).
    pub cold_page_cache: bool,
    /// Profiler sampling interval in seconds, > 0 (default 0.01).
    pub sample_interval_s: f64,
    /// Fraction of source files edited before each incremental run, in
    /// (0, 1] (default 0.01).
    pub incremental_fraction: f64,
    /// Directory for generated projects and caches (removed afterwards);
    /// NULL: the system's temporary directory (default NULL).
    pub work_dir: *const c_char,
}

/// The default bench options (see each field of `wtfperf_bench_options`).
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_bench_options_default() -> wtfperf_bench_options {
    let d = BenchOptions::default();
    wtfperf_bench_options {
        project: std::ptr::null(),
        parallel: d.parallel,
        cache: d.cache,
        full_suite: d.full_suite,
        output_dir: std::ptr::null(),
        runs: d.runs,
        warmup: d.warmup,
        formats: std::ptr::null(),
        baseline: std::ptr::null(),
        seed: d.seed,
        generate_files: d.generate_files,
        threshold: d.threshold,
        cold_page_cache: d.cold_page_cache,
        sample_interval_s: d.sample_interval_s,
        incremental_fraction: d.incremental_fraction,
        work_dir: std::ptr::null(),
    }
}

/// Converts C options to Rust ones.
///
/// # Safety
/// Every string field is NULL or a valid NUL-terminated string.
unsafe fn convert(o: &wtfperf_bench_options) -> Result<BenchOptions> {
    let d = BenchOptions::default();
    // SAFETY: forwarded contract of the string fields.
    let (project, output_dir, formats, baseline, work_dir) = unsafe {
        (
            args::opt_path(o.project, "project")?,
            args::opt_path(o.output_dir, "output_dir")?,
            args::opt_str(o.formats, "formats")?,
            args::opt_path(o.baseline, "baseline")?,
            args::opt_path(o.work_dir, "work_dir")?,
        )
    };
    Ok(BenchOptions {
        project: project.map(Into::into),
        parallel: o.parallel,
        cache: o.cache,
        full_suite: o.full_suite,
        output_dir: output_dir.map(Into::into),
        runs: o.runs,
        warmup: o.warmup,
        formats: match formats {
            Some(text) => Format::parse_list(text)?,
            None => d.formats,
        },
        baseline: baseline.map(Into::into),
        threshold: args::finite(o.threshold, "threshold")?,
        seed: o.seed,
        size: ProjectSize::Medium,
        generate_files: o.generate_files,
        cold_page_cache: o.cold_page_cache,
        sample_interval_s: args::finite(o.sample_interval_s, "sample_interval_s")?,
        incremental_fraction: args::finite(o.incremental_fraction, "incremental_fraction")?,
        work_dir: work_dir.map(Into::into),
    })
}

/// Runs the benchmark suite and returns its report as JSON (schema
/// "wtfperf-bench" version 1, documented in docs/bench-schema.md).
///
/// `options` is NULL (the defaults: a generated 5000-file project, about
/// half a minute on 2 cores) or valid options. On success `*json_report` receives a buffer the
/// caller releases with `wtfperf_buf_free`; it is not written on failure.
/// Bad options give `WTFPERF_ERR_INVALID` (e.g. runs = 0, an unknown format),
/// a missing project or baseline file `WTFPERF_ERR_IO`. A regression against
/// the baseline is not an error: read the report's "baseline" member.
/// Blocks the calling thread for the whole run; safe to call from any thread.
///
/// # Safety
/// `options` is NULL or points to a valid `wtfperf_bench_options`;
/// `json_report` is NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_bench_run(
    options: *const wtfperf_bench_options,
    json_report: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = args::out_ptr(json_report, "json_report")?;
        let flags = [
            std::mem::offset_of!(wtfperf_bench_options, cache),
            std::mem::offset_of!(wtfperf_bench_options, full_suite),
            std::mem::offset_of!(wtfperf_bench_options, cold_page_cache),
        ];
        // SAFETY: NULL or valid options per the contract; `flags` are exactly
        // its bool fields.
        let options = match unsafe { args::read_options(options, &flags) } {
            // SAFETY: string fields are NULL or valid per the contract.
            Some(o) => unsafe { convert(&o)? },
            None => BenchOptions::default(),
        };
        let report = bench::run(&options, &mut |_| {})?;
        let json = bench::report_json::render(&report);
        // SAFETY: checked non-NULL above; valid for writes per the contract.
        unsafe { args::write_out(out, wtfperf_buf::from_vec(json.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}

/// Generates a synthetic project into `root`: a deterministic mix of
/// languages, sizes and directory depths, a `.gitignore` with the files it
/// hides, a few binary files, and (from 20 files on) files just over
/// `max_file_size`. The same `seed` and `files` always give the same tree.
///
/// `root` must not exist or be an empty directory. `files` (>= 1) is the
/// number of files a scan should meet; ignored files come on top.
/// `max_file_size` is the scanner's limit the oversize files exceed (0: 10 MiB,
/// the scan default; at most 1 GiB). `out_files` (nullable) receives the
/// number of files written that a scan should meet. Errors: NULL `root`
/// (`WTFPERF_ERR_NULL`), `files == 0`, `max_file_size` over 1 GiB or a
/// non-empty `root` (`WTFPERF_ERR_INVALID`), a write failure (`WTFPERF_ERR_IO`).
///
/// # Safety
/// `root` is NULL or a NUL-terminated path; `out_files` is NULL or valid
/// for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_bench_generate(
    root: *const c_char,
    files: usize,
    seed: u64,
    max_file_size: u64,
    out_files: *mut u64,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or a valid string per the contract.
        let root = unsafe { args::path(root, "root")? };
        if files == 0 {
            return Err(Error::invalid("files must be at least 1"));
        }
        let options = GenerateOptions {
            seed,
            files,
            max_file_size: if max_file_size == 0 {
                10 * 1024 * 1024
            } else {
                max_file_size
            },
        };
        let project = generator::generate(root, &options)?;
        if !out_files.is_null() {
            // SAFETY: non-NULL and valid for writes per the contract.
            unsafe { args::write_out(out_files, project.files) };
        }
        Ok(WTFPERF_OK)
    })
}
