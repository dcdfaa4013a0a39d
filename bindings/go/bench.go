package wtfperf

/*
#include "shim.h"
*/
import "C"

import (
	"strings"
	"time"
)

// BenchOptions configures BenchRun. The zero value means the library's
// defaults: a generated 5000-file project, parallel scenarios up to all
// cores, the cache scenarios, 5 measured runs after 1 warm-up, no files
// written.
type BenchOptions struct {
	// Project is a real tree to measure; "" means a generated project.
	Project string
	// Parallel is the highest thread count of the parallel scenarios; 0
	// means all cores.
	Parallel int
	// NoCache skips the analyze scenarios (cold, warm, incremental cache).
	NoCache bool
	// FullSuite: small, medium and large generated projects, more thread
	// counts and a cold-page-cache scan.
	FullSuite bool
	// OutputDir receives the reports (created if missing); "" writes none.
	OutputDir string
	// Formats of the report files, from "md", "json", "html"; nil: all.
	Formats []string
	// Runs measured per scenario; 0 means the default (5).
	Runs int
	// Warmup runs before them; 0 means the default (1), negative none.
	Warmup int
	// Baseline is an earlier JSON report to compare with ("" none); the
	// comparison is the report's "baseline" member.
	Baseline string
	// Seed of the generated projects; 0 means the default (42).
	Seed uint64
	// GenerateFiles is the generated project's file count; 0 means the
	// medium preset (5000).
	GenerateFiles int
	// Threshold is the relative slowdown counted as a regression; 0 means
	// the default (0.15).
	Threshold float64
	// ColdPageCache also scans with the tree evicted from the page cache.
	ColdPageCache bool
	// SampleInterval of the profiler; 0 means the default (10ms).
	SampleInterval time.Duration
	// IncrementalFraction of source files edited before each incremental
	// run, in (0, 1]; 0 means the default (0.01).
	IncrementalFraction float64
	// WorkDir for generated projects and caches (removed afterwards); ""
	// means the system's temporary directory.
	WorkDir string
}

// BenchRun runs the benchmark suite (sequential vs parallel vs cached scans)
// and returns its JSON report (schema "wtfperf-bench" version 1). It blocks
// for the whole run (about a minute with the defaults).
func BenchRun(opts *BenchOptions) ([]byte, error) {
	const op = "bench_run"
	var a arena
	defer a.free()
	co := C.wtfperf_bench_options_default()
	if o := opts; o != nil {
		formats := strings.Join(o.Formats, ",")
		if err := checkNUL(op, "option", o.Project, o.OutputDir, o.Baseline, o.WorkDir, formats); err != nil {
			return nil, err
		}
		if o.Parallel < 0 || o.Runs < 0 || o.GenerateFiles < 0 {
			return nil, errorf(op, StatusErrInvalid, "negative Parallel, Runs or GenerateFiles")
		}
		co.project = a.optStr(o.Project)
		co.parallel = C.size_t(o.Parallel)
		if o.NoCache {
			co.cache = false
		}
		if o.FullSuite {
			co.full_suite = true
		}
		co.output_dir = a.optStr(o.OutputDir)
		co.formats = a.optStr(formats)
		if o.Runs != 0 {
			co.runs = C.size_t(o.Runs)
		}
		if o.Warmup > 0 {
			co.warmup = C.size_t(o.Warmup)
		} else if o.Warmup < 0 {
			co.warmup = 0
		}
		co.baseline = a.optStr(o.Baseline)
		if o.Seed != 0 {
			co.seed = C.uint64_t(o.Seed)
		}
		co.generate_files = C.size_t(o.GenerateFiles)
		if o.Threshold != 0 {
			co.threshold = C.double(o.Threshold)
		}
		if o.ColdPageCache {
			co.cold_page_cache = true
		}
		if o.SampleInterval != 0 {
			co.sample_interval_s = C.double(o.SampleInterval.Seconds())
		}
		if o.IncrementalFraction != 0 {
			co.incremental_fraction = C.double(o.IncrementalFraction)
		}
		co.work_dir = a.optStr(o.WorkDir)
	}
	var b C.wtfperf_buf
	var msg *C.char
	if err := check(op, C.wtfgo_bench_run(&co, &b, &msg), msg); err != nil {
		return nil, err
	}
	return takeBuf(op, &b)
}

// BenchGenerate writes a deterministic synthetic project into root (which
// must not exist or be empty): a mix of languages, sizes and depths, a
// .gitignore with the files it hides, a few binary files, and (from 20
// files on) files just over maxFileSize (0: 10 MiB). It returns the number
// of files a scan with that limit should meet.
func BenchGenerate(root string, files int, seed uint64, maxFileSize uint64) (uint64, error) {
	const op = "bench_generate"
	if err := checkNUL(op, "root", root); err != nil {
		return 0, err
	}
	if files < 0 {
		return 0, errorf(op, StatusErrInvalid, "negative file count %d", files)
	}
	var a arena
	defer a.free()
	var n C.uint64_t
	var msg *C.char
	st := C.wtfgo_bench_generate(a.str(root), C.size_t(files), C.uint64_t(seed), C.uint64_t(maxFileSize), &n, &msg)
	if err := check(op, st, msg); err != nil {
		return 0, err
	}
	return uint64(n), nil
}
