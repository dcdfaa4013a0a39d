import json
from pathlib import Path

import pytest

import wtfperf
from wtfperf.benchmarks import BenchmarkResult, BenchmarkSuite, bench_run, generate_project, run_performance_benchmarks

QUICK = dict(runs=1, warmup=0, formats="json")


def test_generate_project_and_scan_it(tmp_path):
    root = tmp_path / "gen"
    n = generate_project(root, 30, seed=7)
    assert n >= 30 - 5  # files a scan should meet (oversize ones are skipped)
    seen = []
    summary = wtfperf.scan(root, seen.append)
    assert summary.files_seen == n
    with pytest.raises(wtfperf.InvalidArgumentError):
        generate_project(root, 10)  # not empty


def test_bench_run_report(tmp_path):
    report = bench_run(generate_files=40, output_dir=tmp_path / "out", **QUICK)
    assert report["schema"] == "wtfperf-bench"
    ids = [s["id"] for p in report["projects"] for s in p["scenarios"]]
    assert "scan-seq" in ids and "analyze-warm" in ids
    assert json.loads((tmp_path / "out" / "bench-report.json").read_text())["schema"] == "wtfperf-bench"
    with pytest.raises(wtfperf.InvalidArgumentError) as info:
        bench_run(runs=0)
    assert info.value.status == wtfperf.ERR_INVALID and "runs" in info.value.message
    with pytest.raises(TypeError):
        bench_run(no_such_option=1)


def test_guide_benchmark_snippet(tmp_path, monkeypatch, capsys):
    project = tmp_path / "my_project"
    generate_project(project, 40)
    monkeypatch.chdir(tmp_path)
    snippet = """
from wtf_codebot.performance.benchmarks import BenchmarkSuite, run_performance_benchmarks

# Custom benchmark suite
suite = BenchmarkSuite(output_dir=Path("./custom_benchmarks"))

# Benchmark specific project
project_results = suite.benchmark_sequential_scanning(
    project_dir=Path("/my/project"),
    project_name="my_project"
)

print(f"Duration: {project_results.duration:.2f}s")
print(f"Throughput: {project_results.throughput_files_per_sec:.1f} files/s")
print(f"Memory: {project_results.memory_peak_mb:.1f}MB")
""".replace("/my/project", str(project))
    # Quick settings for every suite of this test (the guide's defaults take minutes).
    import wtf_codebot.performance.benchmarks as guide_bench

    real = guide_bench.BenchmarkSuite
    monkeypatch.setattr(guide_bench, "BenchmarkSuite", lambda **kw: real(**kw, **QUICK))
    ns = {"Path": Path}
    exec(compile(snippet, "<guide>", "exec"), ns)
    out = capsys.readouterr().out
    r = ns["project_results"]
    assert isinstance(r, BenchmarkResult) and r.name == "my_project_sequential_scan"
    assert r.files_processed > 0 and r.duration > 0 and r.memory_peak_mb > 0
    assert "Throughput: " in out and (tmp_path / "custom_benchmarks" / "bench-report.json").is_file()


def test_suite_scenarios_and_full_run(tmp_path):
    project = tmp_path / "p"
    generate_project(project, 40)
    suite = BenchmarkSuite(output_dir=tmp_path / "b", **QUICK)
    par = suite.benchmark_parallel_scanning(project, "p", 2)
    assert par.name == "p_parallel_scan_2p" and par.metadata["threads"] == 2
    cached = suite.benchmark_with_cache(project, "p")
    assert cached.cache_hit_rate == 1.0 and cached.metadata["speedup"] > 0
    assert suite.recommendations
    results = run_performance_benchmarks(output_dir=tmp_path / "all", full_suite=False, generate_files=40, **QUICK)
    (name, scenarios), = results.items()
    assert name.startswith("generated") and {r.metadata["id"] for r in scenarios} >= {"scan-seq", "analyze-cold"}
