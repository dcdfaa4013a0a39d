import os

import pytest

import wtfperf
from wtfperf import (
    CacheManager,
    FileType,
    ParallelAnalyzer,
    ParallelScanner,
    ScanOptions,
    SkipFile,
    analyze,
    scan,
)

from conftest import TREE

EXPECTED = sorted(TREE)



def test_scan_small_tree_exact_counts(tree):
    files = []
    progress = []
    summary = scan(tree, files.append, on_progress=progress.append, sorted=True, threads=2)
    assert [f.rel_path for f in files] == EXPECTED
    assert summary.files_seen == summary.files_scanned == len(TREE)
    assert summary.files_skipped == 0 and summary.errors == 0 and not summary.aborted
    assert summary.bytes_read == sum(len(t.encode()) for t in TREE.values())
    by = {f.rel_path: f for f in files}
    app = by["src/app.py"]
    assert app.content == TREE["src/app.py"].encode()
    assert app.path == os.path.join(str(tree), "src", "app.py")
    assert app.size == len(TREE["src/app.py"]) and app.mtime_ns > 0
    assert app.language == "python" and by["web/index.js"].language == "javascript"
    assert len(app.content_hash) == 16 and any(app.content_hash)
    assert by["src/pkg/__init__.py"].content == b""
    assert progress and progress[-1].files_done == len(TREE)


def test_scan_options_filter_and_skip(tree):
    (tree / "big.py").write_text("x" * 5000)
    (tree / ".hidden.py").write_text("h\n")
    errors = []
    files = []
    summary = scan(
        tree,
        files.append,
        on_error=errors.append,
        options=ScanOptions(max_file_size=1000, exclude=["web"], include_content=False),
    )
    names = sorted(f.rel_path for f in files)
    assert names == ["README.md", "src/app.py", "src/pkg/__init__.py", "src/util.py"]
    assert summary.files_skipped == 1 and summary.errors == 0
    assert all(f.content is None and not any(f.content_hash) for f in files)
    assert [e.path.endswith("big.py") for e in errors] == [True]


def test_callback_can_stop_the_scan(tree):
    seen = []
    summary = scan(tree, lambda f: seen.append(f) or True, threads=1)
    assert summary.aborted and len(seen) == 1


def test_exception_in_callback_is_reraised(tree):
    class Boom(Exception):
        pass

    calls = []

    def on_file(f):
        calls.append(f)
        raise Boom(f.rel_path)

    with pytest.raises(Boom) as info:
        scan(tree, on_file)
    assert len(calls) == 1 and str(info.value) == calls[0].rel_path


def test_bad_root_is_an_io_error(tmp_path):
    with pytest.raises(wtfperf.WtfperfIOError) as info:
        scan(tmp_path / "missing", lambda f: None)
    assert info.value.status == wtfperf.ERR_IO
    assert "missing" in info.value.message
    with pytest.raises(wtfperf.InvalidArgumentError) as info:
        scan(tmp_path, lambda f: None, chunk_size=0)
    assert info.value.status == wtfperf.ERR_INVALID


def test_parallel_scanner(tree):
    (tree / "node_modules").mkdir()
    (tree / "node_modules" / "dep.js").write_text("x\n")
    (tree / "junk.pyc").write_bytes(b"\0")
    codebase = ParallelScanner(num_processes=2, chunk_size=4).scan_directory_parallel(tree)
    assert codebase.total_files == len(TREE)  # wtf_codebot's default ignores apply
    assert sorted(codebase.files) == EXPECTED
    assert codebase.scan_errors == [] and codebase.total_size == sum(len(t) for t in TREE.values())
    node = codebase.files["src/app.py"]
    assert node.content == TREE["src/app.py"] and node.file_type is FileType.PYTHON
    assert node.relative_path == "src/app.py" and node.extension == ".py"
    assert len(codebase.get_files_by_type(FileType.PYTHON)) == 3
    everything = ParallelScanner(num_processes=1).scan_directory_parallel(tree, ignore_dirs=set(), ignore_files=set())
    assert everything.total_files == len(TREE) + 2
    with pytest.raises(FileNotFoundError):
        ParallelScanner().scan_directory_parallel(tree / "nope")


def test_analyze_twice_second_run_all_cached(tree, tmp_path):
    calls = []

    def analyzer(f):
        calls.append(f.rel_path)
        return f"{f.rel_path}:{len(f.content)}"

    def run(cache):
        results = {}
        summary = analyze(
            tree,
            analyzer,
            analyzer_id="len/1",
            cache=cache,
            on_result=lambda f, r, cached: results.__setitem__(f.rel_path, (r, cached)),
        )
        return summary, results

    with CacheManager(cache_dir=tmp_path / "cache") as cache:
        s1, r1 = run(cache)
        assert sorted(calls) == EXPECTED and s1.cache_hits == 0
        assert all(not cached for _, cached in r1.values())
        calls.clear()
        s2, r2 = run(cache)
        assert calls == [] and s2.cache_hits == len(TREE)
        assert {k: v for k, (v, _) in r2.items()} == {k: v for k, (v, _) in r1.items()}
        assert all(cached for _, cached in r2.values())
        (tree / "src" / "util.py").write_text("changed = True\n")
        s3, r3 = run(cache)
        assert calls == ["src/util.py"] and s3.cache_hits == len(TREE) - 1
        assert r3["src/util.py"] == (b"src/util.py:15", False)


def test_analyze_exceptions_and_skips(tree, tmp_path):
    with CacheManager(cache_dir=tmp_path / "cache") as cache:
        calls = []

        def fails(f):
            calls.append(f.rel_path)
            raise ZeroDivisionError(f.rel_path)

        with pytest.raises(ZeroDivisionError) as info:
            analyze(tree, fails, analyzer_id="bad", cache=cache, threads=1)
        assert calls == [str(info.value)]  # the run stopped at the first exception
        # nothing was cached for the failed run
        again = []
        analyze(tree, lambda f: again.append(1) or b"", analyzer_id="bad", cache=cache)
        assert len(again) == len(TREE)

        def result_fails(f, data, cached):
            raise LookupError("in on_result")

        with pytest.raises(LookupError):
            analyze(tree, lambda f: b"x", analyzer_id="r", cache=cache, on_result=result_fails)

        def progress_fails(p):
            raise MemoryError("in on_progress")

        with pytest.raises(MemoryError):
            scan(tree, lambda f: None, on_progress=progress_fails)

        errors = []

        def skips_js(f):
            if f.language == "javascript":
                raise SkipFile("not today")
            return b"ok"

        s = analyze(tree, skips_js, analyzer_id="skip", cache=cache, on_error=errors.append)
        assert s.errors == 1 and [e.path.endswith("index.js") for e in errors] == [True]
        assert errors[0].status == wtfperf.ERR_CALLBACK
        calls = []
        s = analyze(tree, lambda f: calls.append(f.rel_path) or b"ok", analyzer_id="skip", cache=cache)
        assert calls == ["web/index.js"]  # the failed file was not cached


class TodoAnalyzer:
    version = "1"
    # Call counts live outside the instances: an instance's state is part of
    # its cache identity, so a counter attribute would change it at each call.
    _calls = {}

    @property
    def calls(self):
        return TodoAnalyzer._calls.get(id(self), 0)

    def supports_file(self, node):
        return node.language in ("python", "javascript")

    def analyze_file(self, node):
        TodoAnalyzer._calls[id(self)] = self.calls + 1
        return {
            "findings": [
                {"file": node.relative_path, "line": i + 1, "rule": "todo"}
                for i, line in enumerate(node.content.splitlines())
                if "TODO" in line
            ],
            "metrics": [{"file": node.relative_path, "lines": len(node.content.splitlines())}],
        }


def test_parallel_analyzer_with_cache(tree, tmp_path):
    codebase = ParallelScanner(num_processes=2).scan_directory_parallel(tree)
    todo = TodoAnalyzer()
    analyzers = {"todo": todo, "python": lambda node: [{"py": node.relative_path}]}
    with CacheManager(cache_dir=tmp_path / "cache") as cache:
        pa = ParallelAnalyzer(num_processes=2)
        first = pa.analyze_codebase_parallel(codebase, analyzers, cache=cache)
        assert todo.calls == 4
        assert sorted(f["file"] for f in first["todo"].findings) == ["src/app.py", "web/index.js"]
        assert len(first["todo"].metrics) == 4
        assert sorted(f["py"] for f in first["python"].findings) == ["src/app.py", "src/pkg/__init__.py", "src/util.py"]
        assert first["todo"].files_cached == 0
        second = pa.analyze_codebase_parallel(codebase, analyzers, cache=cache)
        assert todo.calls == 4  # nothing analyzed again
        assert pa.last_summary.cache_hits == len(TREE)
        assert second["todo"].files_cached == second["todo"].files_analyzed == 4
        assert sorted(map(str, second["todo"].findings)) == sorted(map(str, first["todo"].findings))
        # A new analyzer version is a miss.
        todo.version = "2"
        pa.analyze_codebase_parallel(codebase, analyzers, cache=cache)
        assert todo.calls == 8
    without = ParallelAnalyzer().analyze_codebase_parallel(codebase, {"todo": TodoAnalyzer()})
    assert len(without["todo"].findings) == 2 and without["todo"].files_cached == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda t, tmp: wtfperf.CacheManager(cache_dir=tmp / "c", memory_max_entries=2**64),
        lambda t, tmp: wtfperf.AnalysisCache(max_size=2**64),
        lambda t, tmp: wtfperf.AnalysisCache(max_size=-1),
        lambda t, tmp: wtfperf.Cache(memory_max_bytes=-1),
        lambda t, tmp: wtfperf.PerformanceProfiler(max_samples=2**64),
        lambda t, tmp: wtfperf.ParallelScanner(num_processes=2**64).scan_directory_parallel(t),
        lambda t, tmp: wtfperf.ParallelScanner(num_processes=-1).scan_directory_parallel(t),
        lambda t, tmp: wtfperf.ParallelScanner(chunk_size=2**64).scan_directory_parallel(t),
        lambda t, tmp: wtfperf.ParallelScanner().scan_directory_parallel(t, max_file_size=-1),
        lambda t, tmp: wtfperf.ParallelAnalyzer(num_processes=2**64).analyze_codebase_parallel(t, {"*": len}),
        lambda t, tmp: wtfperf.scan(t, max_depth=-1),
        lambda t, tmp: wtfperf.benchmarks.bench_run(project=t, runs=2**64),
        lambda t, tmp: wtfperf.benchmarks.generate_project(tmp / "g", -1),
    ],
)
def test_out_of_range_integers_raise_value_error(tree, tmp_path, make):
    with pytest.raises(ValueError, match="out of range"):
        make(tree, tmp_path)


def test_parallel_scanner_takes_a_bytes_path(tree):
    import os

    cb = ParallelScanner(1).scan_directory_parallel(os.fsencode(tree))
    assert cb.total_files == len(TREE) and cb.root_path == tree
    assert wtfperf.scan(os.fsencode(tree)).files_scanned == len(TREE)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: ParallelScanner(1).scan_directory_parallel(t, ignore_dirs="src"),
        lambda t: ParallelScanner(1).scan_directory_parallel(t, ignore_files="*.md"),
        lambda t: ParallelScanner(1, scan_options=ScanOptions(exclude="*.md")).scan_directory_parallel(t),
        lambda t: scan(t, exclude="*.md"),
        lambda t: scan(t, include=b"*.py"),
        lambda t: analyze(t, lambda f: b"", analyzer_id="x", options=ScanOptions(include="*.py")),
        lambda t: __import__("wtf_codebot.discovery.scanner").discovery.scanner.CodebaseScanner(
            ignore_dirs="src").scan_directory(t),
    ],
)
def test_a_single_name_where_a_list_is_expected_is_a_type_error(tree, call):
    with pytest.raises(TypeError, match=r"^(ignore_dirs|ignore_files|exclude|include) must be a list .*not a single"):
        call(tree)


@pytest.mark.parametrize(
    "call",
    [
        lambda t, c: analyze(t, lambda f: b"", analyzer_id="lint\0v1", cache=c),
        lambda t, c: ParallelAnalyzer(1, cache=c).analyze_codebase_parallel(t, {"py\0thon": len}),
        lambda t, c: scan(t, exclude=["*.md\0"]),
        lambda t, c: scan(t, include=["*.py\0"]),
        lambda t, c: wtfperf.debug_force_panic("a\0b"),
    ],
)
def test_nul_in_a_text_argument_is_invalid(tree, tmp_path, call):
    with CacheManager(tmp_path / "c") as cache:
        with pytest.raises(wtfperf.InvalidArgumentError, match="NUL") as info:
            call(tree, cache)
        assert info.value.status == wtfperf.ERR_INVALID
        assert cache.stats()["sets"] == 0


def test_nul_in_analyzer_id_does_not_share_results(tree, tmp_path):
    # Truncated at the NUL, "lint\0v2" used to be served "lint\0v1"'s results.
    with CacheManager(tmp_path / "c") as cache:
        analyze(tree, lambda f: b"v1", analyzer_id="lint", cache=cache)
        with pytest.raises(wtfperf.InvalidArgumentError):
            analyze(tree, lambda f: b"v2", analyzer_id="lint\0v2", cache=cache, on_result=print)


def test_guide_scanner_and_worker_take_bytes_paths(tree):
    from wtf_codebot.discovery.scanner import CodebaseScanner
    from wtf_codebot.performance.parallel import ProcessingTask, WorkerProcess

    cb = CodebaseScanner(num_processes=1).scan_directory(os.fsencode(tree))
    assert cb.total_files == len(TREE) and cb.root_path == tree
    assert cb.get_file_by_path(b"src/app.py") is cb.files["src/app.py"]
    w = WorkerProcess(0)
    done = w.process_task(ProcessingTask("p", os.fsencode(tree / "src" / "app.py"), "parse", {}, os.fsencode(tree)))
    assert done.success, done.error
    assert done.result.relative_path == "src/app.py"
