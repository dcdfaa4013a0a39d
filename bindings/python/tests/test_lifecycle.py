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


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_fork_while_another_thread_uses_the_cache(tmp_path):
    code = """
        import os, threading, time
        from wtfperf import CacheManager
        cm = CacheManager("r2c")
        def writer():
            i = 0
            while True:
                cm.set_analysis_result(f"k{i % 50}", i); i += 1
        threading.Thread(target=writer, daemon=True).start()
        hung = 0
        for _ in range(10):
            time.sleep(0.05)
            pid = os.fork()
            if pid == 0:
                cm.get_analysis_result("k1"); os._exit(0)
            for _ in range(100):                      # up to 5 s
                if os.waitpid(pid, os.WNOHANG)[0]: break
                time.sleep(0.05)
            else:
                hung += 1; os.kill(pid, 9); os.waitpid(pid, 0)
        print("hung:", hung)
        os._exit(0)
        """
    p = run_script(code, tmp_path)
    assert "hung: 0" in p.stdout, (p.stdout, p.stderr[-2000:])


@needs_fork
def test_forked_child_uses_fresh_handles(tmp_path):
    from wtfperf import CacheManager, PerformanceProfiler, ProfileManager

    cm = CacheManager(tmp_path / "c")
    cm.set_analysis_result("parent", 1)
    prof = PerformanceProfiler(0.01)
    prof.start_monitoring()
    manager = ProfileManager()
    q = PerformanceProfiler(0.01)
    q.start_monitoring()
    manager.add_profile("before", q.stop_monitoring())
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            assert cm.get_analysis_result("parent") == 1
            cm.set_analysis_result("child", 2)
            assert prof.stop_monitoring().duration == 0.0  # the parent's window is not ours
            prof.start_monitoring()
            assert prof.stop_monitoring().duration > 0
            assert manager.get_summary()["before"]["count"] == 1
            code = 0
        finally:
            os.write(w, str(code).encode())
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    assert os.read(r, 10) == b"0" and status == 0
    os.close(r)
    assert cm.get_analysis_result("child") == 2  # the child's set reached the shared store
    assert prof.stop_monitoring().duration > 0  # the parent's window is intact
    cm.close()


def _scan_with_errors(root):
    # max_file_size=5: every file over 5 bytes is skipped (a ScanError).
    return wtfperf.ParallelScanner(1).scan_directory_parallel(root, max_file_size=5)


def test_codebase_with_scan_errors_pickles(tree):
    import copy
    import pickle

    (tree / "broken.py").symlink_to(tree / "missing.py")  # a dangling link: a scan error
    cb = wtfperf.ParallelScanner(1, scan_options=wtfperf.ScanOptions(sorted=True, follow_links=True)
                                 ).scan_directory_parallel(tree, max_file_size=5)
    assert cb.skipped_files and cb.scan_errors
    back = pickle.loads(pickle.dumps(cb))
    for got, want in zip(back.skipped_files + back.scan_errors, cb.skipped_files + cb.scan_errors):
        assert type(got) is wtfperf.ScanError
        assert (got, got.path, got.status, got.message) == (want, want.path, want.status, want.message)
    assert back.skipped_files[0].skipped
    assert sorted(back.files) == sorted(cb.files)
    assert copy.deepcopy(cb.scan_errors) == cb.scan_errors


def test_pool_returns_a_codebase_with_skipped_files(tree):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        cb = pool.apply_async(_scan_with_errors, (str(tree),)).get(timeout=60)
    assert cb.skipped_files and all(isinstance(e, wtfperf.ScanError) for e in cb.skipped_files)



@pytest.mark.parametrize(
    "call",
    [
        "wtfperf.scan(root, lambda f: None, threads=1)",
        "wtfperf.ParallelScanner(1).scan_directory_parallel(root)",
        "wtfperf.ParallelAnalyzer(1).analyze_codebase_parallel(root, {'*': lambda n: []})",
    ],
)
def test_ctrl_c_during_a_run_raises_keyboard_interrupt_promptly(tmp_path, big_tree, call):
    code = f"""
        import os, signal, threading, time, wtfperf
        root = {str(big_tree)!r}
        t = time.monotonic(); {call}; full = time.monotonic() - t
        threading.Timer(full * 0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        t = time.monotonic()
        try:
            {call}
            print("finished")
        except KeyboardInterrupt:
            print("KeyboardInterrupt", time.monotonic() - t, full)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        """
    p = run_script(code, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Exception ignored" not in p.stderr
    words = p.stdout.split()
    assert words[0] == "KeyboardInterrupt", p.stdout
    elapsed, full = float(words[1]), float(words[2])
    assert elapsed < full * 0.7, (elapsed, full)


def test_ctrl_c_during_a_callback_free_scan_is_raised_when_it_ends(tmp_path, big_tree):
    # No Python callback runs during the scan: Ctrl-C is recorded and raised
    # afterwards, the result never returned as if the scan had been whole.
    code = f"""
        import os, signal, threading, time, wtfperf
        root = {str(big_tree)!r}
        t = time.monotonic(); wtfperf.scan(root, threads=1); full = time.monotonic() - t
        threading.Timer(full * 0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            wtfperf.scan(root, threads=1)
            print("finished")
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        """
    p = run_script(code, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split()[0] == "KeyboardInterrupt", p.stdout


def test_aborted_run_raises_in_parallel_scanner(tree, monkeypatch):
    import wtfperf.parallel as P

    real = P.scan

    def stopping_scan(root, on_file, **kw):
        return real(root, lambda f: True, **kw)  # a run that stops early

    monkeypatch.setattr(P, "scan", stopping_scan)
    with pytest.raises(wtfperf.WtfperfError, match="aborted") as info:
        wtfperf.ParallelScanner(1).scan_directory_parallel(tree)
    assert info.value.status == wtfperf.ABORTED
