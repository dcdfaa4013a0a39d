"""The guide's benchmark command line: scripts/run_benchmarks.py and
python -m wtfperf.benchmarks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wtfperf
import wtfperf.benchmarks as B

BINDING = Path(__file__).resolve().parents[1]
REPO = BINDING.parents[1]


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "proj"
    B.generate_project(root, 30)
    return root


def run(args, cwd, pythonpath=None):
    env = dict(os.environ, WTFPERF_LIB=wtfperf.LIB_PATH)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable] + args, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300)


TINY = ["--runs", "1", "--warmup", "0"]


def test_script_from_the_repository_root(small_project, tmp_path):
    out = tmp_path / "reports"
    p = run(["scripts/run_benchmarks.py", "--project", str(small_project), "--parallel", "2", "--cache",
             "--verbose", "--output", str(out)] + TINY, REPO)
    assert p.returncode == 0, p.stderr
    assert "=== Benchmark Results for proj ===" in p.stdout
    assert "Sequential scan" in p.stdout and "warm cache" in p.stdout and "min / median / max" in p.stdout
    report = json.loads((out / "bench-report.json").read_text())
    assert {s["id"] for s in report["projects"][0]["scenarios"]} >= {"scan-seq", "scan-par-2", "analyze-warm"}
    assert out.stat().st_mode & 0o777 == 0o700


def test_module_of_an_installed_package(small_project, tmp_path):
    p = run(["-m", "wtfperf.benchmarks", "--project", str(small_project), "--parallel", "2", "--no-cache",
             "--output", str(tmp_path / "r")] + TINY, tmp_path, pythonpath=BINDING)
    assert p.returncode == 0, p.stderr
    assert "Parallel scan (2 threads)" in p.stdout and "cache" not in p.stdout.split("Recommendations")[0].lower()


def test_full_suite_verbose_flags(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_bench_run(**kw):
        seen.update(kw)
        return {"projects": [{"name": "small", "scenarios": [
            {"id": "scan-seq", "title": "Sequential scan (1 thread)", "duration_s": {"min": 1, "median": 1, "max": 1},
             "peak_rss_mb": 10.0, "files_per_s": 5.0, "files": 5}]}],
            "recommendations": [{"text": "use more threads"}]}

    monkeypatch.setattr(B, "bench_run", fake_bench_run)
    assert B.main(["--full-suite", "--verbose", "--output", str(tmp_path / "o")]) == 0
    assert seen["full_suite"] is True and seen["project"] is None
    out = capsys.readouterr().out
    assert "Sequential scan (1 thread): 1.000s, 10.0MB peak, 5.0 files/s" in out
    assert "min / median / max" in out and "- use more threads" in out


def test_bad_command_lines(tmp_path):
    p = run(["scripts/run_benchmarks.py", "--parallel", "many"], REPO)
    assert p.returncode == 2 and "--parallel" in p.stderr
    p = run(["scripts/run_benchmarks.py", "--project", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]
            + TINY, REPO)
    assert p.returncode == 1 and "run_benchmarks:" in p.stderr
