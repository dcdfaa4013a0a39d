import threading
import time
from pathlib import Path

import pytest

import wtfperf
from wtfperf import AnalysisCache, Cache, CacheManager, PersistentCache

RESULT = {
    "findings": [{"rule": "todo", "line": 3, "message": "TODO tidy", "tags": ["style", "ünïcode"]}],
    "metrics": [{"name": "loc", "value": 4.5}],
    "ok": True,
    "none": None,
}



def test_round_trip_with_file_invalidation(tmp_path):
    src = tmp_path / "file.py"
    src.write_text("x = 1\n")
    with CacheManager(cache_dir=tmp_path / "cache") as cache:
        assert cache.get_analysis_result("k") is None
        cache.set_analysis_result("k", RESULT, file_path=src)
        got = cache.get_analysis_result("k")
        assert got == RESULT and got is not RESULT
        src.write_text("x = 2\n")  # new content: the entry is no longer valid
        assert cache.get_analysis_result("k") is None
        # a fresh entry for the new content is valid again
        cache.set_analysis_result("k", [1, 2, 3], file_path=src)
        assert cache.get_analysis_result("k") == [1, 2, 3]


def test_dependencies_invalidate(tmp_path):
    main, dep = tmp_path / "main.py", tmp_path / "config.py"
    main.write_text("import config\n")
    dep.write_text("A = 1\n")
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        cache.set_analysis_result("m", {"v": 1}, file_path=main, dependencies=[dep])
        assert cache.get_analysis_result("m") == {"v": 1}
        dep.write_text("A = 2\n")
        assert cache.get_analysis_result("m") is None


def test_check_file_changes_and_invalidate_file(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("a\n")
    b.write_text("b\n")
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        cache.set_analysis_result("a", 1, file_path=a)
        cache.set_analysis_result("b", 2, file_path=str(b))
        assert cache.check_file_changes([a, str(b)]) == []
        a.write_text("changed\n")
        assert cache.check_file_changes([a, str(b)]) == [str(a)]
        assert cache.get_analysis_result("a") is None
        assert cache.get_analysis_result("b") == 2
        assert cache.invalidate_file(b) == 1
        assert cache.get_analysis_result("b") is None


def test_persists_across_handles(tmp_path):
    d = tmp_path / "cache"
    with CacheManager(cache_dir=d) as c1:
        c1.set_analysis_result("kept", RESULT)
        c1.set_bytes(b"\x00raw\xff", b"\x01\x02\x00\x03")
    with CacheManager(cache_dir=d) as c2:
        assert c2.get_analysis_result("kept") == RESULT
        assert c2.get_bytes(b"\x00raw\xff") == b"\x01\x02\x00\x03"
        stats = c2.stats()
        assert stats["persistent_cache"]["total_entries"] == 2
        assert 0.0 <= stats["memory_cache"]["hit_rate"] <= 1.0


def test_stats_shape_and_counts(tmp_path):
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        cache.set_analysis_result("a", 1)
        assert cache.get_analysis_result("a") == 1  # memory hit
        assert cache.get_analysis_result("zzz") is None  # miss
        s = cache.stats()
        assert s["memory_cache"]["hits"] >= 1
        assert s["memory_cache"]["misses"] >= 1
        assert 0 < s["memory_cache"]["hit_rate"] < 1
        assert s["persistent_cache"]["total_entries"] == 1
        assert s["memory_cache"]["size"] == 1


def test_bytes_keys_values_invalidate_clear_ttl(tmp_path):
    with Cache(tmp_path / "c") as cache:
        cache.set("k", b"v")
        assert cache.get(b"k") == b"v"  # str keys are UTF-8
        cache.set("empty", b"")
        assert cache.get("empty") == b""
        cache.invalidate("k")
        cache.invalidate("k")  # absent: fine
        assert cache.get("k") is None
        assert cache.explain_miss("k")["last_reason"] == "invalidated"
        cache.set("short", b"x", ttl=0.2)
        time.sleep(0.4)
        assert cache.get("short") is None
        cache.set("a", b"1")
        cache.clear()
        assert cache.get("a") is None and cache.get("empty") is None


def test_memory_and_persistent_tiers(tmp_path):
    with AnalysisCache(max_size=2, default_ttl=3600) as mem:
        for k in ("a", "b", "c"):
            mem.set(k, {"k": k})
        assert mem.get("a") is None  # evicted (least recently used)
        assert mem.get("c") == {"k": "c"}
        s = mem.stats()
        assert s["max_size"] == 2 and s["size"] == 2 and s["hits"] == 1
    db = tmp_path / "cache" / "analysis.db"
    with PersistentCache(db_path=db, default_ttl=24 * 3600) as p:
        p.set("x", [1, "two"])
    with PersistentCache(db_path=db) as p:
        assert p.get("x") == [1, "two"]
        assert p.stats()["total_entries"] == 1


def test_errors_are_exceptions(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(wtfperf.WtfperfError) as info:
        Cache(not_a_dir / "sub")
    assert info.value.status in (wtfperf.ERR_IO, wtfperf.ERR_STORE)
    assert info.value.message
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        with pytest.raises(TypeError):
            cache.set_analysis_result("bad", {"x": object()})
        with pytest.raises(wtfperf.InvalidArgumentError) as info:
            cache.set_analysis_result("k", 1, ttl=float("nan"))
        assert info.value.status == wtfperf.ERR_INVALID
    with pytest.raises(wtfperf.ClosedError):
        cache.get_analysis_result("k")
    cache.close()  # idempotent


def test_shared_between_threads(tmp_path):
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        errors = []

        def worker(t):
            try:
                for i in range(50):
                    cache.set_analysis_result(f"{t}-{i}", {"t": t, "i": i})
                    assert cache.get_analysis_result(f"{t}-{i}") == {"t": t, "i": i}
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert cache.stats()["persistent_cache"]["total_entries"] == 200


def test_close_waits_for_no_one_and_refuses_inside_a_call(tmp_path, tree):
    cache = CacheManager(cache_dir=tmp_path / "c")
    seen = []

    def analyzer(f):
        with pytest.raises(wtfperf.StateError):
            cache.close()  # the cache is in use by this very call
        seen.append(f.rel_path)
        return b""

    wtfperf.analyze(tree, analyzer, analyzer_id="t", cache=cache)
    assert seen and not cache.closed
    cache.close()
    assert cache.closed


def test_set_many_in_one_transaction(tmp_path):
    f = tmp_path / "bound.py"
    f.write_text("v1\n")
    with CacheManager(cache_dir=tmp_path / "c") as cache:
        cache.set_analysis_results(
            [("a", {"n": 1}), ("b", [2], {"file_path": f}), ("c", "three", {"ttl": 3600, "dependencies": []})]
        )
        assert [cache.get_analysis_result(k) for k in "abc"] == [{"n": 1}, [2], "three"]
        f.write_text("v2\n")
        assert cache.get_analysis_result("b") is None
        cache.cache.set_many([])  # empty is fine
        with pytest.raises(TypeError):
            cache.cache.set_many([("k", b"v", {"bogus": 1})])
        with pytest.raises(wtfperf.WtfperfIOError):  # all or nothing
            cache.cache.set_many([("x", b"1"), ("y", b"2", {"file_path": tmp_path / "missing"})])
        assert cache.get_bytes("x") is None


def test_every_exported_function_is_wrapped():
    import re
    from pathlib import Path

    from wtfperf import _native

    header = Path(__file__).resolve().parents[3] / "include" / "wtfperf.h"
    if not header.is_file():
        pytest.skip("needs the repository's header")
    exported = set(re.findall(r"^[a-z][\w \*]*?\b(wtfperf_\w+)\(", header.read_text(), re.M))
    # wtfperf_analyze is wtfperf_analyze_with without on_error/on_progress.
    missing = {f for f in exported - {"wtfperf_analyze"} if not hasattr(_native.lib, f) or f not in _declared()}
    assert not missing


def _declared():
    from wtfperf import _native, benchmarks, cache, profiler, scanner

    names = set()
    for mod in (_native, profiler, cache, scanner, benchmarks):
        names |= {n for n in vars(mod) if n.startswith("wtfperf_")}
    return names


def test_close_from_another_thread_waits_for_the_call_in_flight(tmp_path, tree):
    cache = CacheManager(cache_dir=tmp_path / "c")
    started, attempting = threading.Event(), threading.Event()
    seen = []  # (close attempted already?, closed?) at each analyzer call

    def slow(f):
        started.set()
        time.sleep(0.05)
        seen.append((attempting.is_set(), cache.closed))
        return b"r"

    def closer():
        started.wait()
        attempting.set()
        cache.close()  # blocks until analyze has returned

    t = threading.Thread(target=closer)
    t.start()
    summary = analyze_tree(tree, slow, cache)
    t.join()
    assert summary.errors == 0 and cache.closed
    assert any(attempted for attempted, _ in seen)  # close was tried during the call
    assert not any(closed for _, closed in seen)  # ...and waited for it


def analyze_tree(tree, fn, cache):
    return wtfperf.analyze(tree, fn, analyzer_id="slow", cache=cache, threads=1)


def test_finalizer_frees_unclosed_handles(tmp_path):
    import gc

    cache = Cache(tmp_path / "c")
    cache.set("k", b"v")
    fin = cache._finalizer
    del cache
    gc.collect()
    assert not fin.alive
    with Cache(tmp_path / "c") as again:  # the entry was committed, the handle freed
        assert again.get("k") == b"v"


def test_persistent_caches_with_different_names_are_separate_stores(tmp_path):
    a = PersistentCache(tmp_path / "a.db")
    b = PersistentCache(tmp_path / "b.db")
    m = CacheManager(cache_dir=tmp_path)
    a.set("k", "from a")
    b.set("k", "from b")
    m.set_analysis_result("k", "from manager")
    assert (a.get("k"), b.get("k"), m.get_analysis_result("k")) == ("from a", "from b", "from manager")
    a.clear()
    assert a.get("k") is None
    assert b.get("k") == "from b" and m.get_analysis_result("k") == "from manager"
    assert a.stats()["db_dir"] == str(tmp_path / "a.db.wtfperf")
    assert (tmp_path / "a.db.wtfperf" / "cache.db").is_file()
    assert (tmp_path / "a.db.wtfperf").stat().st_mode & 0o777 == 0o700
    for c in (a, b, m):
        c.close()
    # Reopened by name: the same store again.
    with PersistentCache(tmp_path / "b.db") as again:
        assert again.get("k") == "from b"


def test_guide_cache_accepts_the_binding_result_types(tmp_path, tree):
    import enum
    import os
    from pathlib import Path

    from wtfperf import AnalysisResult, FileType, ParallelAnalyzer, ParallelScanner

    (tree / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")  # a Latin-1 (non-UTF-8) name
    codebase = ParallelScanner(1).scan_directory_parallel(tree)
    results = ParallelAnalyzer(1).analyze_codebase_parallel(codebase, {"python": lambda n: [n.path]})

    class Color(enum.Enum):
        RED = "red"

    odd = os.fsdecode(b"caf\xe9.py")
    with CacheManager(cache_dir=tmp_path / "c") as cm:
        cm.set_analysis_result("results", results)
        cm.set_analysis_result("codebase", codebase)
        cm.set_analysis_result("node", codebase.files[odd])
        cm.set_analysis_result("misc", {"p": Path(odd), "s": {3, 1}, "e": Color.RED, FileType.PYTHON: 1})
        got = cm.get_analysis_result("results")["python"]
        assert sorted(got["findings"]) == sorted(results["python"].findings)
        assert odd in got["findings"]  # the surrogate-escaped name came back exactly
        cb = cm.get_analysis_result("codebase")
        assert cb["total_files"] == codebase.total_files and odd in cb["files"]
        assert cb["file_types"]["python"] == codebase.file_types[FileType.PYTHON]
        assert cm.get_analysis_result("node")["path"] == odd
        assert cm.get_analysis_result("misc") == {"p": odd, "s": [1, 3], "e": "red", "python": 1}
        assert isinstance(results["python"], AnalysisResult)


def test_directories_the_binding_creates_are_private(tmp_path, monkeypatch):
    import os
    import stat

    from wtfperf import BenchmarkSuite

    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        made = []
        with CacheManager(cache_dir=tmp_path / "a" / "b") as cm:
            made += [tmp_path / "a", cm.cache_dir]
        with CacheManager() as cm:  # ./.wtf_cache
            made.append(cm.cache_dir)
        with PersistentCache(tmp_path / "p" / "x.db") as pc:
            made += [tmp_path / "p", pc.dir]
        made += [BenchmarkSuite(output_dir=tmp_path / "bench" / "out").output_dir, tmp_path / "bench"]
    finally:
        os.umask(old)
    for d in made:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    # An existing directory is left as it is.
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    CacheManager(cache_dir=shared).close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    "call",
    [
        lambda cm, p: cm.set_analysis_result("k", 1, dependencies=p),
        lambda cm, p: cm.set_analysis_results([("k", 1, {"dependencies": p})]),
        lambda cm, p: cm.check_file_changes(p),
        lambda cm, p: cm.cache.set("k", b"v", dependencies=p),
        lambda cm, p: cm.cache.set_many([("k", b"v", {"dependencies": p})]),
        lambda cm, p: cm.cache.check_file_changes(p),
        lambda cm, p: AnalysisCache().set("k", 1, dependencies=p),
    ],
)
@pytest.mark.parametrize("single", ["config.py", b"config.py", Path("config.py")])
def test_a_single_path_where_a_list_is_expected_is_a_type_error(tmp_path, monkeypatch, call, single):
    # Iterated, "config.py" would be the paths "c", "o", "n"... ("/etc/x": "/", the whole filesystem).
    monkeypatch.chdir(tmp_path)
    with CacheManager(cache_dir=tmp_path / "c") as cm:
        with pytest.raises(TypeError, match=r"^(dependencies|paths|file_paths) must be a list .*not a single"):
            call(cm, single)
        assert cm.stats()["sets"] == 0
