"""Benchmark suite (``wtfperf_bench_run``): sequential, parallel and cached
scans and analyses of generated or given projects, measured natively, with
Markdown / JSON reports and recommendations.

Mirrors ``wtf_codebot.performance.benchmarks``: :class:`BenchmarkSuite`,
:class:`BenchmarkResult`, :func:`run_performance_benchmarks`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
from ctypes import POINTER, c_bool, c_char_p, c_double, c_size_t, c_uint64
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from . import _native as N
from ._native import check, cint, cpath, make_private_dir, set_field, status_t, take_buf, wtfperf_buf
from .errors import WtfperfError


class wtfperf_bench_options(ctypes.Structure):
    _fields_ = [
        ("project", c_char_p),
        ("parallel", c_size_t),
        ("cache", c_bool),
        ("full_suite", c_bool),
        ("output_dir", c_char_p),
        ("runs", c_size_t),
        ("warmup", c_size_t),
        ("formats", c_char_p),
        ("baseline", c_char_p),
        ("seed", c_uint64),
        ("generate_files", c_size_t),
        ("threshold", c_double),
        ("cold_page_cache", c_bool),
        ("sample_interval_s", c_double),
        ("incremental_fraction", c_double),
        ("work_dir", c_char_p),
    ]


wtfperf_bench_options_default = N._declare("wtfperf_bench_options_default", wtfperf_bench_options, [])
wtfperf_bench_run = N._declare(
    "wtfperf_bench_run", status_t, [POINTER(wtfperf_bench_options), POINTER(wtfperf_buf)]
)
wtfperf_bench_generate = N._declare(
    "wtfperf_bench_generate", status_t, [c_char_p, c_size_t, c_uint64, c_uint64, POINTER(c_uint64)]
)

PathArg = Union[str, bytes, "os.PathLike[str]"]

logger = logging.getLogger("wtfperf.benchmarks")
suite_logger = logging.getLogger("wtf_codebot.performance.benchmarks")


def bench_run(
    project: Optional[PathArg] = None,
    parallel: Optional[int] = None,
    cache: Optional[bool] = None,
    full_suite: Optional[bool] = None,
    output_dir: Optional[PathArg] = None,
    **fields: Any,
) -> Dict[str, Any]:
    """Run the native suite and return its JSON report (parsed).

    ``project=None`` benchmarks generated projects; ``output_dir`` receives
    the Markdown and JSON reports. Other keyword arguments set fields of
    ``wtfperf_bench_options`` by name.
    """
    o = wtfperf_bench_options_default()
    keep = []
    if project is not None:
        keep.append(cpath(project))
        o.project = keep[-1]
    if output_dir is not None:
        keep.append(cpath(output_dir))
        o.output_dir = keep[-1]
    if parallel is not None:
        set_field(o, "parallel", parallel)
    if cache is not None:
        o.cache = bool(cache)
    if full_suite is not None:
        o.full_suite = bool(full_suite)
    for name, value in fields.items():
        if name not in {f[0] for f in wtfperf_bench_options._fields_}:
            raise TypeError(f"unknown bench option {name!r}")
        if isinstance(value, (str, bytes, os.PathLike)):
            keep.append(cpath(value))
            value = keep[-1]
        set_field(o, name, value)
    buf = wtfperf_buf()
    logger.debug("benchmark run starting: project %s, parallel %d, cache %s, full suite %s, %d runs",
                 project or "generated", o.parallel, o.cache, o.full_suite, o.runs)
    check(wtfperf_bench_run(ctypes.byref(o), ctypes.byref(buf)))
    report = json.loads(take_buf(buf))
    logger.debug("benchmark run ended: %d project(s), %d scenario(s)", len(report.get("projects", [])),
                 sum(len(p.get("scenarios", [])) for p in report.get("projects", [])))
    return report


def generate_project(root: PathArg, files: int, seed: int = 42, max_file_size: int = 0) -> int:
    """Write a synthetic project into ``root`` (absent or empty): a
    deterministic mix of languages, sizes and depths, a ``.gitignore`` with
    the files it hides, a few binary and (from 20 files on) oversize files.
    Returns the number of files a scan should meet."""
    out = c_uint64()
    check(
        wtfperf_bench_generate(
            cpath(root),
            cint(files, c_size_t, "files"),
            cint(seed, c_uint64, "seed"),
            cint(max_file_size, c_uint64, "max_file_size"),
            ctypes.byref(out),
        )
    )
    return out.value


def count_lines(root: PathArg) -> Dict[str, int]:
    """``{"files", "lines"}`` of the files a default scan of ``root`` reads
    (what the benchmark's scenarios run over): newlines, plus one for a last
    line without one."""
    from .scanner import scan

    total = {"files": 0, "lines": 0}

    def on_file(f: Any) -> None:
        data = f.content or b""
        total["files"] += 1
        total["lines"] += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)

    scan(root, on_file)
    return total


def project_lines(project: Dict[str, Any]) -> Optional[int]:
    """Lines of code of one project of a report, counted once: a path is
    scanned; a generated project (removed after the run) is generated again
    from its seed in a temporary directory (the same tree) and scanned.
    ``None`` when it cannot be counted (the path is gone)."""
    import tempfile

    if project.get("kind") == "path":
        path = project.get("path")
        if not path or not os.path.isdir(path):
            return None
        return count_lines(path)["lines"]
    g = project.get("generator") or {}
    if "files" not in g or "seed" not in g:
        return None
    with tempfile.TemporaryDirectory(prefix="wtfperf-loc-") as d:
        root = Path(d) / "project"
        generate_project(root, g["files"], g["seed"])
        return count_lines(root)["lines"]


@dataclasses.dataclass
class BenchmarkResult:
    """One scenario's figures (the shape of wtf_codebot's BenchmarkResult):
    ``duration`` is the median of the measured runs, ``memory_peak_mb`` the
    highest peak RSS; ``lines_of_code`` the lines of the project's files
    (counted by the binding once per project, see :func:`project_lines`; 0
    when they could not be counted, ``metadata["lines_counted"]`` False) and
    ``throughput_loc_per_sec`` those lines over ``duration``. ``metadata``
    has the scenario's id, title, kind, threads, cache state, MB/s, speedups
    and duration statistics."""

    name: str
    duration: float
    memory_peak_mb: float
    memory_avg_mb: float
    cpu_avg_percent: float
    files_processed: int
    lines_of_code: int
    throughput_files_per_sec: float
    throughput_loc_per_sec: float
    cache_hit_rate: float = 0.0
    error_count: int = 0
    metadata: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_scenario(cls, name: str, s: Dict[str, Any], lines: Optional[int] = None) -> "BenchmarkResult":
        dur = s.get("duration_s") or {}
        duration = dur.get("median", 0.0) if isinstance(dur, dict) else float(dur)
        meta = {
            k: s.get(k)
            for k in ("id", "title", "kind", "threads", "cache", "page_cache", "mb_per_s", "speedup_vs_sequential")
            if k in s
        }
        meta["duration_s"] = dur
        meta["lines_counted"] = lines is not None
        loc = lines or 0
        return cls(
            name=name,
            duration=duration,
            memory_peak_mb=s.get("peak_rss_mb", 0.0),
            memory_avg_mb=s.get("avg_rss_mb", 0.0),
            cpu_avg_percent=s.get("avg_cpu_percent", 0.0),
            files_processed=s.get("files", 0),
            lines_of_code=loc,
            throughput_files_per_sec=s.get("files_per_s", 0.0),
            throughput_loc_per_sec=loc / duration if duration > 0 else 0.0,
            cache_hit_rate=s.get("cache_hit_rate") or 0.0,
            error_count=s.get("errors", 0),
            metadata=meta,
        )


def results_of(report: Dict[str, Any]) -> Dict[str, List[BenchmarkResult]]:
    """Per project name, one :class:`BenchmarkResult` per scenario
    (named ``<project>_<scenario id>``)."""
    out = {}
    for p in report.get("projects", []):
        lines = project_lines(p)
        out[p["name"]] = [
            BenchmarkResult.from_scenario(f"{p['name']}_{s['id']}", s, lines) for s in p.get("scenarios", [])
        ]
    return out


def _scenario(report: Dict[str, Any], want: Callable[[Dict[str, Any]], bool]) -> Optional[Dict[str, Any]]:
    for p in report.get("projects", []):
        for s in p.get("scenarios", []):
            if want(s):
                return dict(s, _project=p)
    return None


def _result(name: str, s: Dict[str, Any]) -> BenchmarkResult:
    return BenchmarkResult.from_scenario(name, s, project_lines(s["_project"]))


class BenchmarkSuite:
    """``BenchmarkSuite(output_dir=None, **options)``: Markdown / JSON / HTML
    reports go to ``output_dir`` (default ``./benchmark_results``, created
    mode 0700 if missing). ``options`` are fields of ``wtfperf_bench_options`` applied to
    every run (``runs``, ``warmup``, ``generate_files``, ``formats``,
    ``seed``, ``work_dir``...).

    The last report (parsed JSON) stays in :attr:`last_report`; its advice
    in :attr:`recommendations`.
    """

    def __init__(self, output_dir: Optional[PathArg] = None, **options: Any):
        self.output_dir = Path(os.fsdecode(output_dir)) if output_dir is not None else Path.cwd() / "benchmark_results"
        make_private_dir(self.output_dir)
        self.options = options
        self.last_report: Optional[Dict[str, Any]] = None

    @property
    def recommendations(self) -> List[str]:
        return [r["text"] for r in (self.last_report or {}).get("recommendations", [])]

    def run(self, **options: Any) -> Dict[str, Any]:
        """Run the native suite with these options; the parsed JSON report."""
        merged = {"output_dir": self.output_dir, **self.options, **options}
        suite_logger.debug("benchmark suite run, reports to %s", self.output_dir)
        self.last_report = bench_run(**merged)
        return self.last_report

    def run_full_benchmark_suite(self) -> Dict[str, List[BenchmarkResult]]:
        """Every scenario over small, medium and large generated projects."""
        return results_of(self.run(full_suite=True))

    def benchmark_sequential_scanning(self, project_dir: PathArg, project_name: str) -> Optional[BenchmarkResult]:
        """Scan ``project_dir`` on one thread (walk, read, hash every file)."""
        report = self.run(project=project_dir, parallel=1, cache=False)
        s = _scenario(report, lambda s: s.get("kind") == "scan" and s.get("threads") == 1)
        return None if s is None else _result(f"{project_name}_sequential_scan", s)

    def benchmark_parallel_scanning(
        self, project_dir: PathArg, project_name: str, num_processes: int
    ) -> Optional[BenchmarkResult]:
        """Scan ``project_dir`` with ``num_processes`` threads (``speedup_vs_sequential`` in metadata)."""
        report = self.run(project=project_dir, parallel=num_processes, cache=False)
        s = _scenario(report, lambda s: s.get("kind") == "scan" and s.get("threads") == num_processes)
        return None if s is None else _result(f"{project_name}_parallel_scan_{num_processes}p", s)

    def benchmark_with_cache(self, project_dir: PathArg, project_name: str) -> Optional[BenchmarkResult]:
        """Analyze ``project_dir`` with a warm cache (metadata: ``speedup`` over the cold run)."""
        report = self.run(project=project_dir, cache=True)
        warm = _scenario(report, lambda s: s.get("kind") == "analyze" and s.get("cache") == "warm")
        cold = _scenario(report, lambda s: s.get("kind") == "analyze" and s.get("cache") == "cold")
        if warm is None:
            return None
        r = _result(f"{project_name}_cached_scan", warm)
        if cold is not None and r.duration > 0:
            r.metadata["first_run_duration"] = cold["duration_s"]["median"]
            r.metadata["speedup"] = cold["duration_s"]["median"] / r.duration
        return r

    def benchmark_analysis(self, project_dir: PathArg, project_name: str) -> Optional[BenchmarkResult]:
        """Analyze ``project_dir`` from an empty cache (every file analyzed)."""
        report = self.run(project=project_dir, cache=True)
        s = _scenario(report, lambda s: s.get("kind") == "analyze" and s.get("cache") == "cold")
        return None if s is None else _result(f"{project_name}_analysis", s)


def run_performance_benchmarks(
    output_dir: Optional[PathArg] = None, full_suite: bool = True, **options: Any
) -> Dict[str, List[BenchmarkResult]]:
    """Run the suite (the full suite by default: small, medium and large
    generated projects, several minutes); reports are written to ``output_dir``."""
    suite = BenchmarkSuite(output_dir=output_dir, **options)
    return results_of(suite.run(full_suite=full_suite))


def _summary_lines(report: Dict[str, Any], verbose: bool) -> List[str]:
    lines = []
    for p in report.get("projects", []):
        lines.append(f"=== Benchmark Results for {p['name']} ===")
        for s in p.get("scenarios", []):
            r = BenchmarkResult.from_scenario(s.get("id", ""), s)
            extra = []
            speedup = s.get("speedup_vs_sequential")
            if speedup:
                extra.append(f"{speedup:.2f}x speedup")
            if s.get("cache_hit_rate") is not None:
                extra.append(f"{r.cache_hit_rate:.0%} hit rate")
            line = (
                f"{s.get('title', r.name)}: {r.duration:.3f}s, {r.memory_peak_mb:.1f}MB peak, "
                f"{r.throughput_files_per_sec:.1f} files/s"
            )
            lines.append(line + (f" ({', '.join(extra)})" if extra else ""))
            if verbose:
                d = s.get("duration_s") or {}
                if isinstance(d, dict) and d:
                    lines.append(
                        f"    min / median / max: {d.get('min', 0):.3f}s / {d.get('median', 0):.3f}s / "
                        f"{d.get('max', 0):.3f}s; cpu {r.cpu_avg_percent:.0f}%, {r.files_processed} files, "
                        f"{r.error_count} errors"
                    )
    recs = [r["text"] for r in report.get("recommendations", [])]
    if recs:
        lines.append("")
        lines.append("Recommendations:")
        lines += [f"- {t}" for t in recs]
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    """The benchmark command line of wtf_codebot's guide
    (``scripts/run_benchmarks.py``, ``python -m wtfperf.benchmarks``):
    ``--project PATH --parallel N --cache`` or ``--full-suite``, ``--verbose``.

    Exit status: 0 done, 1 the run failed, 2 bad command line, 3 a
    regression against ``--baseline``.
    """
    import argparse
    import logging
    import sys

    ap = argparse.ArgumentParser(
        prog="run_benchmarks",
        description="Run wtfperf's benchmark suite (sequential, parallel and cached scans and "
        "analyses) and write Markdown / JSON / HTML reports.",
    )
    ap.add_argument("--project", help="a project to benchmark (default: a generated one)")
    ap.add_argument("--parallel", type=int, help="highest thread count of the parallel scenarios (default: all cores)")
    ap.add_argument("--cache", dest="cache", action="store_true", default=None,
                    help="run the cached analysis scenarios (the default)")
    ap.add_argument("--no-cache", dest="cache", action="store_false", help="leave them out")
    ap.add_argument("--full-suite", action="store_true", help="small, medium and large generated projects")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-scenario statistics and DEBUG logging")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    ap.add_argument("--output", "--output-dir", dest="output", default="benchmark_results",
                    help="directory of the reports (default: ./benchmark_results)")
    ap.add_argument("--format", help="report files: comma-separated md, json, html (default: all)")
    ap.add_argument("--runs", type=int, help="measured runs per scenario (default 5)")
    ap.add_argument("--warmup", type=int, help="unmeasured warm-up runs (default 1)")
    ap.add_argument("--files", type=int, help="files of the generated project (default 5000)")
    ap.add_argument("--seed", type=int, help="seed of the generated projects (default 42)")
    ap.add_argument("--baseline", help="a bench-report.json of an earlier run to compare with")
    ap.add_argument("--threshold", type=float, help="relative slowdown counted as a regression (default 0.15)")
    ap.add_argument("--cold-cache", action="store_true", help="also scan with the pages evicted from the page cache")
    ap.add_argument("--work-dir", help="directory for generated projects and caches (default: the temp dir)")
    args = ap.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG)
    fields: Dict[str, Any] = {}
    for name, field in (
        ("format", "formats"), ("runs", "runs"), ("warmup", "warmup"), ("files", "generate_files"),
        ("seed", "seed"), ("baseline", "baseline"), ("threshold", "threshold"), ("work_dir", "work_dir"),
    ):
        value = getattr(args, name)
        if value is not None:
            fields[field] = value
    if args.cold_cache:
        fields["cold_page_cache"] = True
    try:
        out = Path(args.output)
        make_private_dir(out)
        report = bench_run(
            project=args.project, parallel=args.parallel, cache=args.cache,
            full_suite=args.full_suite or None, output_dir=out, **fields,
        )
    except (WtfperfError, ValueError, OSError) as exc:
        print(f"run_benchmarks: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    if not args.quiet:
        print("\n".join(_summary_lines(report, args.verbose)))
        print(f"\nReports in {out}")
    baseline = report.get("baseline") or {}
    if baseline.get("regressions"):
        if not args.quiet:
            print(f"{baseline['regressions']} scenario(s) slower than the baseline", file=sys.stderr)
        return 3
    return 0


__all__ = [
    "BenchmarkResult",
    "BenchmarkSuite",
    "bench_run",
    "count_lines",
    "generate_project",
    "main",
    "project_lines",
    "results_of",
    "run_performance_benchmarks",
]


if __name__ == "__main__":
    raise SystemExit(main())
