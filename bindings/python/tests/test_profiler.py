import json
import time
import tracemalloc

import pytest

import wtfperf
from wtfperf import PerformanceProfiler, ProfileManager, ProfileResult, profile_performance


def busy(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def test_profile_a_workload():
    with PerformanceProfiler(sample_interval=0.01) as profiler:
        profiler.start_monitoring()
        assert profiler.monitoring
        block = bytearray(64 * 1024 * 1024)  # 64 MiB, touched so it is resident
        for i in range(0, len(block), 4096):
            block[i] = 1
        busy(0.3)
        result = profiler.stop_monitoring()
        del block
    assert not profiler.monitoring
    assert isinstance(result, ProfileResult)
    assert result.duration >= 0.3
    # Peak RSS covers the 64 MiB block on top of what the interpreter had.
    assert result.peak_memory_mb >= 64
    assert result.peak_memory_mb >= max(result.memory_timeline) - 1e-6
    assert 0 < result.avg_memory_mb <= result.peak_memory_mb + 1e-6
    assert result.avg_cpu_percent > 0
    assert len(result.memory_timeline) >= 5
    assert len(result.cpu_timeline) == len(result.memory_timeline) == len(result.timestamps)
    assert result.timestamps == sorted(result.timestamps)
    assert result.cpu_time_s > 0
    doc = result.to_json()
    assert doc["schema"] == "wtfperf.profile"
    assert abs(doc["duration_s"] - result.duration) < 1e-9
    trace = json.loads(result.to_chrome_trace())
    assert isinstance(trace, (list, dict))
    assert result.to_dict()["sample_count"] == len(result.memory_timeline)
    result.close()
    result.close()  # idempotent
    with pytest.raises(wtfperf.ClosedError):
        result.to_json()
    assert result.duration >= 0.3  # figures stay readable


def test_scopes_and_sample_now():
    with PerformanceProfiler(sample_interval=0.05) as profiler:
        profiler.start_monitoring()
        with profiler.scope("outer"):
            with profiler.scope("inner"):
                busy(0.02)
            s = profiler.sample_now()
            assert s.rss_bytes > 0
        result = profiler.stop_monitoring()
    names = {s["name"]: s for s in result.scopes}
    assert names["outer"]["count"] == 1 and names["inner"]["count"] == 1
    assert names["outer"]["total_s"] >= names["inner"]["total_s"] >= 0.02


class BodyError(Exception):
    pass


def test_scope_raises_the_bodys_exception_when_the_exit_fails_too():
    p = PerformanceProfiler()
    p.start_monitoring()
    with pytest.raises(BodyError, match="from the body"):
        with p.scope("closing"):
            p.close()
            raise BodyError("from the body")


def test_scope_raises_the_exit_error_when_the_body_succeeds():
    p = PerformanceProfiler()
    p.start_monitoring()
    with pytest.raises(wtfperf.ClosedError):
        with p.scope("closing"):
            p.close()


def test_stop_without_start_and_double_start():
    with PerformanceProfiler() as profiler:
        empty = profiler.stop_monitoring()
        assert empty.duration == 0 and empty.peak_memory_mb == 0 and empty.memory_timeline == []
        profiler.start_monitoring()
        profiler.start_monitoring()  # no-op, as wtf_codebot's profiler
        r = profiler.stop_monitoring()
        assert r.duration >= 0
        with pytest.raises(wtfperf.StateError) as info:
            profiler.sample_now()  # not running
        assert info.value.status == wtfperf.ERR_STATE and info.value.message


def test_trace_memory_uses_tracemalloc():
    tracemalloc.stop()
    with PerformanceProfiler(sample_interval=0.05, trace_memory=True) as profiler:
        profiler.start_monitoring()
        assert tracemalloc.is_tracing()
        junk = [str(i) * 10 for i in range(20000)]
        r = profiler.stop_monitoring()
        del junk
    assert not tracemalloc.is_tracing()
    assert r.memory_traces and isinstance(r.memory_traces[0], tracemalloc.Statistic)


def test_bad_interval_is_invalid_argument():
    with pytest.raises(wtfperf.InvalidArgumentError) as info:
        PerformanceProfiler(sample_interval=0)
    assert info.value.status == wtfperf.ERR_INVALID
    assert "sample_interval" in info.value.message


def test_use_after_close():
    p = PerformanceProfiler()
    p.close()
    p.close()
    assert p.closed
    with pytest.raises(wtfperf.ClosedError) as info:
        p.start_monitoring()
    assert isinstance(info.value, wtfperf.StateError)


def test_decorator_keeps_runs():
    @profile_performance(sample_interval=0.01)
    def work(n):
        busy(0.02)
        return n * 2

    assert work(3) == 6
    assert work(4) == 8
    runs = work._profile_results
    assert len(runs) == 2
    assert runs[-1].function_name == "work" and runs[-1].duration >= 0.02


def test_decorator_propagates_exceptions_and_recursion():
    profiler = PerformanceProfiler(sample_interval=0.01)

    @profiler.profile_function
    def fails():
        raise KeyError("nope")

    with pytest.raises(KeyError):
        fails()
    assert not profiler.monitoring and fails._profile_results == []

    @profiler.profile_function
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(5) == 120
    assert len(fact._profile_results) == 1  # inner calls ran inside the outer window
    profiler.close()


def test_profile_manager_summary():
    manager = ProfileManager()
    with PerformanceProfiler(sample_interval=0.01) as profiler:
        for _ in range(3):
            profiler.start_monitoring()
            busy(0.01)
            manager.add_profile("loop", profiler.stop_monitoring())
        profiler.start_monitoring()
        manager.add_profile("once", profiler.stop_monitoring())
    summary = manager.get_summary()
    assert set(summary) == {"loop", "once"}
    assert summary["loop"]["count"] == 3 and summary["once"]["count"] == 1
    d = summary["loop"]["duration"]
    assert d["min"] <= d["avg"] <= d["max"] and d["min"] >= 0.01
    assert abs(d["total"] - 3 * d["avg"]) < 1e-9
    assert summary["loop"]["peak_memory_mb"]["max"] > 0
    native = manager.summary_json()
    assert native["schema"] == "wtfperf.profile_summary" and native["runs"] == 4
    manager.close()
    with pytest.raises(wtfperf.ClosedError):
        manager.get_summary()


def test_profile_result_pickles_and_deep_copies_as_plain_data():
    import copy
    import pickle

    with PerformanceProfiler(sample_interval=0.01, trace_memory=True) as profiler:
        profiler.start_monitoring()
        busy(0.03)
        result = profiler.stop_monitoring()
    result.function_name = "f"
    for other in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert other.to_dict() == result.to_dict()
        assert other.memory_timeline == result.memory_timeline and other.scopes == result.scopes
        assert len(other.memory_traces) == len(result.memory_traces)
        assert not other.has_native
        other.close()  # closing a copy leaves the original alone
    assert result.has_native and result.to_json()["schema"] == "wtfperf.profile"


def test_profile_manager_takes_any_result():
    import pickle

    manager = ProfileManager()
    with PerformanceProfiler(sample_interval=0.01) as profiler:
        empty = profiler.stop_monitoring()  # no window: the empty result
        profiler.start_monitoring()
        busy(0.02)
        real = profiler.stop_monitoring()
    closed = pickle.loads(pickle.dumps(real))
    real2 = ProfileResult(duration=2.0, peak_memory_mb=10.0, cpu_percent=50.0)  # made by hand
    manager.add_profile("empty", empty)
    manager.add_profile("mixed", real)
    manager.add_profile("mixed", real2)
    manager.add_profile("mixed", closed)
    real.close()
    manager.add_profile("closed", real)
    s = manager.get_summary()
    assert s["empty"]["count"] == 1 and s["empty"]["duration"]["max"] == 0.0
    assert s["mixed"]["count"] == 3 and s["mixed"]["duration"]["max"] == 2.0
    assert s["mixed"]["duration"]["min"] == real.duration
    assert s["mixed"]["duration"]["median"] == real.duration
    assert s["mixed"]["peak_memory_mb"]["max"] == max(10.0, real.peak_memory_mb)
    assert s["closed"]["count"] == 1


def test_profile_manager_clear_after_close_raises():
    manager = ProfileManager()
    manager.clear()
    manager.close()
    with pytest.raises(wtfperf.ClosedError):
        manager.clear()


def test_guide_profiler_defaults_to_trace_memory():
    import wtf_codebot.performance as perf
    from wtf_codebot.performance.profiler import PerformanceProfiler as GuideProfiler
    from wtf_codebot.performance.profiler import profile_performance as guide_profile

    assert perf.PerformanceProfiler is GuideProfiler and perf.profile_performance is guide_profile
    p = GuideProfiler(sample_interval=0.01)
    assert p.trace_memory is True and PerformanceProfiler().trace_memory is False
    p.start_monitoring()
    data = [bytes(1000) for _ in range(1000)]
    r = p.stop_monitoring()
    del data
    assert r.memory_traces and not tracemalloc.is_tracing()

    @guide_profile(sample_interval=0.01)
    def f():
        return [bytes(100) for _ in range(100)]

    f()
    assert f._profile_results[-1].memory_traces is not None


def test_tracemalloc_stops_when_a_profiler_is_collected_mid_window():
    import gc

    assert not tracemalloc.is_tracing()
    p = PerformanceProfiler(sample_interval=0.01, trace_memory=True)
    p.start_monitoring()
    assert tracemalloc.is_tracing()
    del p
    gc.collect()
    assert not tracemalloc.is_tracing()


@pytest.mark.parametrize("started", [True, False])
def test_stop_monitoring_after_close_raises(started):
    p = PerformanceProfiler()
    if started:
        p.start_monitoring()
    p.close()
    with pytest.raises(wtfperf.ClosedError):
        p.stop_monitoring()


def test_nul_in_profile_and_scope_names_is_invalid():
    with PerformanceProfiler() as p, ProfileManager() as pm:
        p.start_monitoring()
        with pytest.raises(wtfperf.InvalidArgumentError, match="NUL"):
            with p.scope("parse\0a"):
                pass
        result = p.stop_monitoring()
        with pytest.raises(wtfperf.InvalidArgumentError, match="NUL") as info:
            pm.add_profile("run\0a", result)
        assert info.value.status == wtfperf.ERR_INVALID
        with pytest.raises(wtfperf.InvalidArgumentError, match="NUL"):
            pm.add_profile("run\0b", ProfileResult(duration=1.0))  # no native profile: refused alike
        assert pm.profiles == {} and pm.get_summary() == {}


class _SlowReleaseLock:
    """A lock whose release lets other threads run (widens any window
    between two separately locked steps)."""

    def __init__(self):
        import threading

        self._lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()
        time.sleep(0.002)


def test_profile_function_from_threads_records_only_whole_windows():
    import threading

    profiler = PerformanceProfiler(sample_interval=0.01)
    profiler._state = _SlowReleaseLock()
    calls = []

    @profiler.profile_function
    def work():
        calls.append(1)
        time.sleep(0.03)

    barrier = threading.Barrier(3)

    def run():
        for _ in range(4):
            barrier.wait()
            work()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    runs = work._profile_results
    assert len(calls) == 12 and 1 <= len(runs) <= 12
    # Concurrent calls ran unprofiled: no empty result, no window cut short.
    assert all(r.has_native and r.duration >= 0.03 for r in runs), [r.duration for r in runs]
    assert not profiler.monitoring
    profiler.close()
