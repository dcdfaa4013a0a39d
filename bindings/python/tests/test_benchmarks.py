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


def test_lines_of_code_are_counted(tmp_path):
    from wtfperf.benchmarks import count_lines, results_of

    project = tmp_path / "proj"
    project.mkdir()
    (project / "a.py").write_text("x = 1\ny = 2\n")
    (project / "b.js").write_text("let a = 1;\nlet b = 2;\nlet c = 3")  # no final newline
    suite = BenchmarkSuite(output_dir=tmp_path / "out", **QUICK)
    r = suite.benchmark_sequential_scanning(project_dir=project, project_name="p")
    assert r.lines_of_code == 5 and r.metadata["lines_counted"]
    assert r.throughput_loc_per_sec == pytest.approx(5 / r.duration)
    # A generated project (removed after the run) is counted from its seed.
    report = bench_run(generate_files=40, seed=9, output_dir=tmp_path / "out2", **QUICK)
    again = generate_project(tmp_path / "again", 40, seed=9)
    counted = count_lines(tmp_path / "again")
    assert again == report["projects"][0]["files"]
    # The files the scenarios ran over (the oversize one is met but not read).
    assert {s["files"] for s in report["projects"][0]["scenarios"]} == {counted["files"]}
    results = results_of(report)
    (name,) = results
    assert counted["lines"] > 40
    assert all(x.lines_of_code == counted["lines"] and x.throughput_loc_per_sec > 0 for x in results[name])


def test_suite_takes_bytes_paths(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    suite = BenchmarkSuite(output_dir=b"out")
    assert suite.output_dir == Path("out") and (tmp_path / "out").is_dir()
    report = bench_run(generate_files=20, output_dir=tmp_path / "o2", work_dir=os.fsencode(tmp_path), **QUICK)
    assert report["schema"] == "wtfperf-bench"
    with pytest.raises(wtfperf.InvalidArgumentError, match="NUL"):
        bench_run(generate_files=20, work_dir=b"a\0b", **QUICK)
