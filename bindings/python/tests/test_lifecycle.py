"""The binding across the process's life: interpreter exit with native runs
in flight, fork, pickling."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wtfperf

BINDING = str(Path(__file__).resolve().parents[1])


def run_script(code, cwd, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = BINDING + os.pathsep + env.get("PYTHONPATH", "")
    env["WTFPERF_LIB"] = wtfperf.LIB_PATH
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory):
    """A generated tree large enough that a scan is still running after a
    fraction of a second on a debug build."""
    root = tmp_path_factory.mktemp("big") / "tree"
    wtfperf.benchmarks.generate_project(root, 5000)
    return root


@pytest.mark.parametrize("mode", ["analyze", "scan"])
def test_exit_with_daemon_thread_inside_a_run_does_not_abort(tmp_path, big_tree, mode):
    code = f"""
        import threading, time, wtfperf
        from wtfperf import CacheManager, ParallelAnalyzer
        cm = CacheManager("c")
        def worker():
            while True:
                if {mode!r} == "analyze":
                    ParallelAnalyzer(2, cache=cm).analyze_codebase_parallel({str(big_tree)!r}, {{"*": lambda n: []}})
                else:
                    wtfperf.scan({str(big_tree)!r}, lambda f: None)
        threading.Thread(target=worker, daemon=True).start()
        time.sleep(0.5)
        print("main exiting")
        """
    for _ in range(3):
        p = run_script(code, tmp_path)
        assert p.returncode == 0, p.stderr[-2000:]
        assert "Aborted" not in p.stderr and "FATAL" not in p.stderr
        assert "main exiting" in p.stdout


def test_no_new_run_once_exiting(tmp_path, tree):
    code = f"""
        import atexit
        def late():
            try:
                wtfperf.scan({str(tree)!r}, lambda f: None)
                print("ran")
            except wtfperf.StateError as e:
                print("refused:", e)
        atexit.register(late)   # registered first: runs after the binding's exit handler
        import wtfperf
        """
    p = run_script(code, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "refused: " in p.stdout and "exiting" in p.stdout
