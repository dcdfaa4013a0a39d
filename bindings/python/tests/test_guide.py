"""The Python snippets of the performance guide of wtf_codebot (the tool
wtfperf grew out of), run essentially verbatim against this binding.

Only placeholders are replaced ("/path/to/project" -> a temporary tree); the
imports of ``wtf_codebot.discovery.scanner`` and
``wtf_codebot.analyzers.registry`` are the binding's shims, with a small TODO
analyzer registered (wtfperf ships no analyzers).
"""

import textwrap
import types
from pathlib import Path

import pytest

import wtfperf
from conftest import TREE, make_tree


def run(snippet, **env):
    ns = dict(env)
    exec(compile(textwrap.dedent(snippet), "<guide>", "exec"), ns)
    return ns


@pytest.fixture
def guide_env(tmp_path, monkeypatch):
    """A project tree, a working directory, and an analyzer registered for
    'python' and 'javascript' (wtfperf ships none: wtf_codebot's analyzers
    are outside its performance package)."""
    from wtf_codebot.analyzers import registry

    project = make_tree(tmp_path / "project")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    class Analyzer:
        def __init__(self, language):
            self.language = language

        def supports_file(self, file_node):
            return file_node.language == self.language

        def analyze_file(self, file_node):
            lines = file_node.content.splitlines()
            return {
                "findings": [
                    {"file": file_node.relative_path, "line": n, "message": "TODO left"}
                    for n, line in enumerate(lines, 1)
                    if "TODO" in line
                ],
                "metrics": [{"file": file_node.relative_path, "loc": len(lines)}],
            }

    monkeypatch.setattr(registry.get_registry(), "_analyzers", {})
    for language in ("python", "javascript"):
        registry.register_analyzer(language, Analyzer(language))
    return types.SimpleNamespace(project=project, work=work)


def test_quick_start_basic_profiling(capsys):
    ns = run(
        """
        from wtf_codebot.performance.profiler import PerformanceProfiler

        # Create a profiler
        profiler = PerformanceProfiler(sample_interval=0.1)

        # Profile a function
        @profiler.profile_function
        def my_analysis_function():
            # Your analysis code here
            pass

        # Or use manual profiling
        profiler.start_monitoring()
        # ... your code ...
        profile_result = profiler.stop_monitoring()

        print(f"Duration: {profile_result.duration:.2f}s")
        print(f"Peak Memory: {profile_result.peak_memory_mb:.1f}MB")
        """
    )
    out = capsys.readouterr().out
    assert "Duration: " in out and "Peak Memory: " in out
    assert ns["profile_result"].peak_memory_mb > 0
    ns["my_analysis_function"]()
    assert len(ns["my_analysis_function"]._profile_results) == 1


@pytest.mark.parametrize("exists", [True, False])
def test_quick_start_cache(guide_env, exists):
    if exists:
        (guide_env.work / "file.py").write_text("print('hi')\n")
    ns = run(
        """
        from wtf_codebot.performance.cache import CacheManager

        # Create cache manager
        cache = CacheManager()

        # Cache analysis results
        cache.set_analysis_result("key", result, file_path="file.py")

        # Retrieve cached results
        cached_result = cache.get_analysis_result("key")
        """,
        result={"findings": ["f1"], "metrics": []},
    )
    assert ns["cached_result"] == {"findings": ["f1"], "metrics": []}
    assert (guide_env.work / ".wtf_cache").is_dir()


def test_quick_start_parallel(guide_env):
    ns = run(
        """
        from wtf_codebot.performance.parallel import ParallelScanner

        # Use parallel scanner
        scanner = ParallelScanner(num_processes=4)
        codebase = scanner.scan_directory_parallel(project_path)
        """,
        project_path=guide_env.project,
    )
    assert ns["codebase"].total_files == len(TREE)


def test_profiler_example_with_profile_manager(guide_env, capsys):
    snippet = """
        from wtf_codebot.performance.profiler import PerformanceProfiler, ProfileManager

        # Initialize profiler
        profiler = PerformanceProfiler(
            sample_interval=0.1,  # Sample every 100ms
            trace_memory=True     # Enable memory tracing
        )

        # Manual profiling
        profiler.start_monitoring()

        # Your code here
        from wtf_codebot.discovery.scanner import CodebaseScanner
        scanner = CodebaseScanner()
        codebase = scanner.scan_directory("/path/to/project")

        profile_result = profiler.stop_monitoring()

        # Analyze results
        print(f"Execution time: {profile_result.duration:.2f} seconds")
        print(f"Peak memory: {profile_result.peak_memory_mb:.1f} MB")
        print(f"Average CPU: {profile_result.avg_cpu_percent:.1f}%")
        print(f"Memory samples: {len(profile_result.memory_timeline)}")

        # Profile manager for multiple runs
        manager = ProfileManager()
        manager.add_profile("scan_test", profile_result)
        summary = manager.get_summary()
        """
    ns = run(snippet.replace("/path/to/project", str(guide_env.project)))
    out = capsys.readouterr().out
    assert "Execution time:" in out and "Memory samples: " in out
    assert ns["codebase"].total_files == len(TREE)
    assert ns["summary"]["scan_test"]["count"] == 1
    assert ns["profile_result"].memory_traces is not None


def test_decorator_usage(guide_env):
    snippet = """
        from wtf_codebot.performance.profiler import profile_performance

        @profile_performance(sample_interval=0.05, trace_memory=True)
        def analyze_large_codebase(path):
            scanner = CodebaseScanner()
            return scanner.scan_directory(path)

        # Function is automatically profiled
        result = analyze_large_codebase("/large/project")

        # Access profile results
        profiles = analyze_large_codebase._profile_results
        latest_profile = profiles[-1]
        """
    from wtf_codebot.discovery.scanner import CodebaseScanner

    ns = run(snippet.replace("/large/project", str(guide_env.project)), CodebaseScanner=CodebaseScanner)
    assert ns["result"].total_files == len(TREE)
    assert ns["latest_profile"].function_name == "analyze_large_codebase"
    assert ns["latest_profile"].duration > 0


def test_cache_example_with_stats(guide_env, capsys):
    target = guide_env.project / "src" / "app.py"
    for dep in ("config.py", "utils.py"):
        (guide_env.work / dep).write_text("X = 1\n")
    snippet = """
        from wtf_codebot.performance.cache import CacheManager

        # Initialize cache manager
        cache_manager = CacheManager(cache_dir="./cache")

        # Cache analysis results
        file_path = "/path/to/file.py"
        analysis_result = {"findings": [], "metrics": []}

        cache_manager.set_analysis_result(
            key="python_analysis_file.py",
            result=analysis_result,
            file_path=file_path,
            dependencies=["config.py", "utils.py"],
            ttl=3600  # 1 hour
        )

        # Retrieve cached results
        cached_result = cache_manager.get_analysis_result("python_analysis_file.py")

        # Check for file changes and invalidate if needed
        changed_files = cache_manager.check_file_changes([file_path])
        if changed_files:
            print(f"Files changed: {changed_files}")

        # Get cache statistics
        stats = cache_manager.stats()
        print(f"Memory cache hit rate: {stats['memory_cache']['hit_rate']:.2%}")
        print(f"Persistent cache entries: {stats['persistent_cache']['total_entries']}")
        """
    ns = run(snippet.replace("/path/to/file.py", str(target)))
    out = capsys.readouterr().out
    assert ns["cached_result"] == {"findings": [], "metrics": []}
    assert ns["changed_files"] == [] and "Files changed" not in out
    assert "Memory cache hit rate: 100.00%" in out
    assert "Persistent cache entries: 1" in out
    # Now a change: the same check reports it and the entry is gone.
    cm = ns["cache_manager"]
    target.write_text("changed\n")
    assert cm.check_file_changes([str(target)]) == [str(target)]
    assert cm.get_analysis_result("python_analysis_file.py") is None
    # A dependency change invalidates too.
    cm.set_analysis_result("k", {"v": 1}, file_path=str(target), dependencies=["config.py"])
    (guide_env.work / "config.py").write_text("X = 2\n")
    assert cm.get_analysis_result("k") is None


def test_cache_configuration(guide_env):
    ns = run(
        """
        from wtf_codebot.performance.cache import AnalysisCache, PersistentCache

        # Configure memory cache
        memory_cache = AnalysisCache(
            max_size=1000,      # Maximum entries
            default_ttl=3600    # Default TTL in seconds
        )

        # Configure persistent cache
        persistent_cache = PersistentCache(
            db_path="./cache/analysis.db",
            default_ttl=24*3600  # 24 hours
        )
        """
    )
    ns["memory_cache"].set("a", {"x": [1, 2]})
    assert ns["memory_cache"].get("a") == {"x": [1, 2]}
    ns["persistent_cache"].set("b", "text")
    assert ns["persistent_cache"].get("b") == "text"
    assert (guide_env.work / "cache").is_dir()


PARALLEL_SNIPPET = """
    from wtf_codebot.performance.parallel import ParallelScanner, ParallelAnalyzer
    from pathlib import Path

    # Parallel file scanning
    scanner = ParallelScanner(
        num_processes=4,  # Use 4 processes
        chunk_size=100    # Process 100 files per chunk
    )

    codebase = scanner.scan_directory_parallel(
        root_path=Path("/large/project"),
        include_content=True,
        parse_ast=True,
        max_file_size=10*1024*1024  # 10MB max file size
    )

    print(f"Scanned {codebase.total_files} files")
    print(f"Errors: {len(codebase.scan_errors)}")

    # Parallel analysis
    from wtf_codebot.analyzers.registry import AnalyzerRegistry

    registry = AnalyzerRegistry()
    analyzers = {
        'python': registry.get_analyzer('python'),
        'javascript': registry.get_analyzer('javascript')
    }

    parallel_analyzer = ParallelAnalyzer(num_processes=4)
    results = parallel_analyzer.analyze_codebase_parallel(codebase, analyzers)

    for analyzer_name, result in results.items():
        print(f"{analyzer_name}: {len(result.findings)} findings")
    """


def test_parallel_scanner_and_analyzer(guide_env, capsys):
    ns = run(PARALLEL_SNIPPET.replace("/large/project", str(guide_env.project)))
    out = capsys.readouterr().out
    assert f"Scanned {len(TREE)} files" in out and "Errors: 0" in out
    assert "python: 1 findings" in out and "javascript: 1 findings" in out
    assert ns["results"]["python"].findings == [{"file": "src/app.py", "line": 4, "message": "TODO left"}]


def test_parallel_analyzer_with_cache_second_run_all_cached(guide_env, capsys):
    snippet = PARALLEL_SNIPPET.replace("/large/project", str(guide_env.project)).replace(
        "ParallelAnalyzer(num_processes=4)",
        "ParallelAnalyzer(num_processes=4, cache=CacheManager(cache_dir='./cache'))",
    )
    from wtf_codebot.performance.cache import CacheManager

    first = run(snippet, CacheManager=CacheManager)
    out1 = capsys.readouterr().out
    second = run(snippet, CacheManager=CacheManager)
    out2 = capsys.readouterr().out
    assert out1 == out2 and "python: 1 findings" in out2
    for name in ("python", "javascript"):
        r1, r2 = first["results"][name], second["results"][name]
        assert r2.findings == r1.findings and r2.metrics == r1.metrics
        assert r1.files_cached == 0
        assert r2.files_cached == r2.files_analyzed == r1.files_analyzed > 0
    assert second["parallel_analyzer"].last_summary.cache_hits == len(TREE)


def test_performance_debugging(capsys):
    run(
        """
        # Profile with detailed memory tracing
        profiler = PerformanceProfiler(trace_memory=True)
        # ... run analysis ...
        profile_result = profiler.stop_monitoring()

        if profile_result.memory_traces:
            for trace in profile_result.memory_traces[:5]:
                print(f"Memory trace: {trace}")
        """,
        PerformanceProfiler=wtfperf.PerformanceProfiler,
    )
    profiler = wtfperf.PerformanceProfiler(trace_memory=True)
    profiler.start_monitoring()
    data = [bytes(1000) for _ in range(1000)]
    profile_result = profiler.stop_monitoring()
    del data
    for trace in profile_result.memory_traces[:5]:
        print(f"Memory trace: {trace}")
    assert "Memory trace: " in capsys.readouterr().out


def test_package_level_imports():
    ns = run(
        """
        from wtf_codebot.performance import (
            PerformanceProfiler, CacheManager, ParallelScanner
        )
        from wtfperf import (
            PerformanceProfiler, ProfileManager, ProfileResult, profile_performance,
            CacheManager, AnalysisCache, PersistentCache, ParallelScanner, ParallelAnalyzer,
            BenchmarkSuite, run_performance_benchmarks,
        )
        """
    )
    assert ns["PerformanceProfiler"] is wtfperf.PerformanceProfiler


INTEGRATION_SNIPPET = '''
from wtf_codebot.performance import (
    PerformanceProfiler, CacheManager, ParallelScanner
)

class OptimizedAnalyzer:
    def __init__(self):
        self.profiler = PerformanceProfiler()
        self.cache = CacheManager()
        self.parallel_scanner = ParallelScanner()
    
    def analyze_project(self, project_path):
        # Check cache first
        cache_key = f"analysis_{project_path.name}"
        cached_result = self.cache.get_analysis_result(cache_key)
        if cached_result:
            return cached_result
        
        # Profile the analysis
        self.profiler.start_monitoring()
        
        # Use parallel scanning for large projects
        if self._is_large_project(project_path):
            codebase = self.parallel_scanner.scan_directory_parallel(project_path)
        else:
            scanner = CodebaseScanner()
            codebase = scanner.scan_directory(project_path)
        
        # Perform analysis
        result = self._analyze_codebase(codebase)
        
        profile_result = self.profiler.stop_monitoring()
        
        # Cache the result
        self.cache.set_analysis_result(
            cache_key, result, file_path=project_path
        )
        
        # Log performance metrics
        print(f"Analysis completed in {profile_result.duration:.2f}s")
        print(f"Peak memory: {profile_result.peak_memory_mb:.1f}MB")
        
        return result
'''


def test_example_integration_caches_by_project_tree(guide_env, capsys):
    """The guide's "Example Integration": ``file_path`` is the project
    directory, so the cached result lasts until a file below it changes."""
    from wtf_codebot.discovery.scanner import CodebaseScanner

    ns = run(INTEGRATION_SNIPPET, CodebaseScanner=CodebaseScanner)
    calls = []

    class Analyzer(ns["OptimizedAnalyzer"]):
        # The two helpers the guide leaves to the reader.
        def _is_large_project(self, project_path):
            return True

        def _analyze_codebase(self, codebase):
            calls.append(1)
            return {"files": codebase.total_files}

    analyzer = Analyzer()
    project = Path(guide_env.project)
    assert analyzer.analyze_project(project) == {"files": len(TREE)}
    out = capsys.readouterr().out
    assert "Analysis completed in" in out and "Peak memory:" in out
    assert analyzer.analyze_project(project) == {"files": len(TREE)}
    assert len(calls) == 1, "the second call is answered from the cache"
    assert capsys.readouterr().out == ""
    # A file deep in the tree changes: the project is analyzed again.
    target = next(p for p in project.rglob("*.py"))
    target.write_text(target.read_text() + "\n# changed\n")
    assert analyzer.analyze_project(project) == {"files": len(TREE)}
    assert len(calls) == 2


def test_guide_imports_are_the_binding_shims():
    from wtf_codebot.analyzers.registry import AnalyzerRegistry, register_analyzer
    from wtf_codebot.discovery.scanner import CodebaseScanner
    from wtf_codebot.performance.parallel import ProcessingTask, WorkerProcess

    assert AnalyzerRegistry().get_analyzer("cobol") is None
    assert callable(register_analyzer) and callable(CodebaseScanner().scan_directory)
    assert WorkerProcess(1).initialize({}, {}) is True
    assert ProcessingTask("t", Path("x"), "parse").config == {}


def test_worker_process_parses_and_analyzes(tree):
    import pickle

    from wtf_codebot.performance.parallel import ProcessingTask, WorkerProcess

    def todo(node):
        return [n for n, line in enumerate(node.content.splitlines(), 1) if "TODO" in line]

    w = WorkerProcess(0)
    assert w.initialize({}, {"todo": {"analyzer": todo}})
    parsed = w.process_task(ProcessingTask("p", tree / "src" / "app.py", "parse", {}, tree))
    assert parsed.success and parsed.result.relative_path == "src/app.py"
    assert parsed.result.language == "python" and "TODO" in parsed.result.content
    done = w.process_task(
        ProcessingTask("a", tree / "src" / "app.py", "analyze",
                       {"analyzer": "todo", "file_node": pickle.dumps(parsed.result)})
    )
    assert done.success and done.result == [4]
    bad = w.process_task(ProcessingTask("x", tree / "missing.py", "parse"))
    assert not bad.success and "Task x failed" in bad.error


def test_missing_file_path_is_stored_unbound_by_the_guide_classes(tmp_path):
    from wtf_codebot.performance.cache import AnalysisCache, CacheManager, PersistentCache

    missing = str(tmp_path / "nope.py")
    with CacheManager(cache_dir=tmp_path / "c") as cm:
        cm.set_analysis_result("k", [1], file_path=missing)
        cm.set_analysis_results([("k2", [2], {"file_path": missing})])
        assert cm.get_analysis_result("k") == [1] and cm.get_analysis_result("k2") == [2]
    for tier in (AnalysisCache(), PersistentCache(tmp_path / "p.db")):
        tier.set("k", "v", file_path=missing)
        assert tier.get("k") == "v"
        tier.close()
    with wtfperf.Cache() as native, pytest.raises(wtfperf.WtfperfIOError):
        native.set("k", b"v", file_path=missing)


def test_debug_logging_reports_runs(guide_env, caplog, capsys):
    import logging

    caplog.set_level(logging.DEBUG)
    ns = run(PARALLEL_SNIPPET.replace("/large/project", str(guide_env.project)))
    cm = wtfperf.CacheManager(cache_dir="./cache")
    cm.stats()
    profiler = wtfperf.PerformanceProfiler(trace_memory=True)
    profiler.start_monitoring()
    profiler.stop_monitoring()
    by = {}
    for rec in caplog.records:
        by.setdefault(rec.name, []).append(rec.getMessage())
    par = " | ".join(by["wtf_codebot.performance.parallel"])
    assert "Starting parallel scan" in par and f"complete: {len(TREE)} files" in par
    assert "Starting parallel analysis" in par and "python: 1 findings" in par
    assert any("scan of" in m and "ended" in m and "files_scanned" in m for m in by["wtfperf.scanner"])
    assert any("hit rate" in m for m in by["wtf_codebot.performance.cache"])
    prof = " | ".join(by["wtf_codebot.performance.profiler"])
    assert "monitoring started" in prof and "monitoring stopped" in prof
    assert all(rec.levelno == logging.DEBUG for rec in caplog.records if rec.name.startswith(("wtfperf", "wtf_codebot")))
    assert ns["results"]["python"].findings
