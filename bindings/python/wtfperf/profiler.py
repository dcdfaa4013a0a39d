"""Profiler: RSS, CPU and heap sampled on a native thread, named scopes,
run summaries (``wtfperf_profiler_*``, ``wtfperf_profile_*``,
``wtfperf_profile_manager_*``).

Mirrors ``wtf_codebot.performance.profiler``: :class:`PerformanceProfiler`
(``start_monitoring`` / ``stop_monitoring`` / ``profile_function``),
:func:`profile_performance`, :class:`ProfileResult`, :class:`ProfileManager`.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
import threading
import tracemalloc
import weakref
from contextlib import contextmanager
from ctypes import POINTER, c_bool, c_char_p, c_double, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional

from . import _native as N
from ._native import Handle, check, ctext, set_field, status_t, take_buf, wtfperf_buf
from .errors import ClosedError

BYTES_PER_MB = 1024.0 * 1024.0

logger = logging.getLogger("wtf_codebot.performance.profiler")


class wtfperf_profiler_options(ctypes.Structure):
    _fields_ = [
        ("sample_interval_s", c_double),
        ("trace_memory", c_bool),
        ("include_children", c_bool),
        ("max_samples", c_size_t),
        ("max_scope_events", c_size_t),
    ]


class wtfperf_sample(ctypes.Structure):
    _fields_ = [
        ("t_s", c_double),
        ("rss_bytes", c_uint64),
        ("cpu_percent", c_double),
        ("heap_bytes", c_uint64),
    ]


_d = N._declare
_P = c_void_p
wtfperf_profiler_options_default = _d("wtfperf_profiler_options_default", wtfperf_profiler_options, [])
wtfperf_profiler_new = _d(
    "wtfperf_profiler_new", status_t, [POINTER(wtfperf_profiler_options), POINTER(_P)]
)
wtfperf_profiler_start = _d("wtfperf_profiler_start", status_t, [_P])
wtfperf_profiler_stop = _d("wtfperf_profiler_stop", status_t, [_P, POINTER(_P)])
wtfperf_profiler_is_running = _d("wtfperf_profiler_is_running", c_bool, [_P])
wtfperf_profiler_sample_now = _d("wtfperf_profiler_sample_now", status_t, [_P, POINTER(wtfperf_sample)])
wtfperf_profiler_scope_enter = _d(
    "wtfperf_profiler_scope_enter", status_t, [_P, c_char_p, POINTER(c_uint64)]
)
wtfperf_profiler_scope_id = _d("wtfperf_profiler_scope_id", status_t, [_P, c_char_p, POINTER(c_uint32)])
wtfperf_profiler_scope_enter_id = _d(
    "wtfperf_profiler_scope_enter_id", status_t, [_P, c_uint32, POINTER(c_uint64)]
)
wtfperf_profiler_scope_exit = _d("wtfperf_profiler_scope_exit", status_t, [_P, c_uint64])
wtfperf_profiler_free = _d("wtfperf_profiler_free", None, [_P])
wtfperf_profile_duration_s = _d("wtfperf_profile_duration_s", c_double, [_P])
wtfperf_profile_peak_memory_mb = _d("wtfperf_profile_peak_memory_mb", c_double, [_P])
wtfperf_profile_avg_memory_mb = _d("wtfperf_profile_avg_memory_mb", c_double, [_P])
wtfperf_profile_avg_cpu_percent = _d("wtfperf_profile_avg_cpu_percent", c_double, [_P])
wtfperf_profile_cpu_time_s = _d("wtfperf_profile_cpu_time_s", c_double, [_P])
wtfperf_profile_peak_is_exact = _d("wtfperf_profile_peak_is_exact", c_bool, [_P])
wtfperf_profile_sample_count = _d("wtfperf_profile_sample_count", c_size_t, [_P])
wtfperf_profile_sample = _d("wtfperf_profile_sample", status_t, [_P, c_size_t, POINTER(wtfperf_sample)])
wtfperf_profile_to_json = _d("wtfperf_profile_to_json", status_t, [_P, POINTER(wtfperf_buf)])
wtfperf_profile_to_chrome_trace = _d(
    "wtfperf_profile_to_chrome_trace", status_t, [_P, POINTER(wtfperf_buf)]
)
wtfperf_profile_free = _d("wtfperf_profile_free", None, [_P])
wtfperf_profile_manager_new = _d("wtfperf_profile_manager_new", status_t, [POINTER(_P)])
wtfperf_profile_manager_add = _d("wtfperf_profile_manager_add", status_t, [_P, c_char_p, _P])
wtfperf_profile_manager_summary_json = _d(
    "wtfperf_profile_manager_summary_json", status_t, [_P, POINTER(wtfperf_buf)]
)
wtfperf_profile_manager_free = _d("wtfperf_profile_manager_free", None, [_P])


class Sample(NamedTuple):
    """One timeline point: seconds since start, RSS bytes, CPU percent of one
    core since the previous sample, heap bytes (0 where unavailable)."""

    t_s: float
    rss_bytes: int
    cpu_percent: float
    heap_bytes: int


def _sample(s: wtfperf_sample) -> Sample:
    return Sample(s.t_s, s.rss_bytes, s.cpu_percent, s.heap_bytes)


class NativeProfile(Handle):
    """An owned ``wtfperf_profile`` (immutable; safe to read from any thread)."""

    _kind = "profile"
    _reopen_after_fork = False  # immutable: no lock, no thread

    def __init__(self, ptr: c_void_p):
        super().__init__(ptr, wtfperf_profile_free)

    def _call_buf(self, fn: Any) -> bytes:
        ptr = self._acquire()
        try:
            buf = wtfperf_buf()
            check(fn(ptr, ctypes.byref(buf)))
            return take_buf(buf)
        finally:
            self._release()

    def to_json(self) -> bytes:
        return self._call_buf(wtfperf_profile_to_json)

    def to_chrome_trace(self) -> bytes:
        return self._call_buf(wtfperf_profile_to_chrome_trace)

    def samples(self) -> List[Sample]:
        ptr = self._acquire()
        try:
            n = wtfperf_profile_sample_count(ptr)
            out = wtfperf_sample()
            result = []
            for i in range(n):
                check(wtfperf_profile_sample(ptr, i, ctypes.byref(out)))
                result.append(_sample(out))
            return result
        finally:
            self._release()

    def figures(self) -> Dict[str, Any]:
        ptr = self._acquire()
        try:
            return {
                "duration": wtfperf_profile_duration_s(ptr),
                "peak_memory_mb": wtfperf_profile_peak_memory_mb(ptr),
                "avg_memory_mb": wtfperf_profile_avg_memory_mb(ptr),
                "avg_cpu_percent": wtfperf_profile_avg_cpu_percent(ptr),
                "cpu_time_s": wtfperf_profile_cpu_time_s(ptr),
                "peak_is_exact": bool(wtfperf_profile_peak_is_exact(ptr)),
            }
        finally:
            self._release()


class ProfileResult:
    """The result of one profiling window.

    Figures come from the native profile: ``duration`` (s), ``peak_memory_mb``
    (exact peak RSS when ``peak_is_exact``), ``avg_memory_mb``,
    ``avg_cpu_percent`` (percent of one core, as psutil counts), ``cpu_time_s``.
    Timelines are per sample: ``memory_timeline`` (RSS in MB),
    ``cpu_timeline`` (%), ``heap_timeline`` (MB), ``timestamps`` (s since start).
    ``memory_traces`` is, with ``trace_memory=True``, the top Python
    allocation sites (``tracemalloc.Statistic``, largest first), else ``None``;
    ``scopes`` / ``scope_traces`` are the native per-scope aggregates and heap
    growth records (see ``PerformanceProfiler.scope``).

    The native profile stays attached for :meth:`to_json`,
    :meth:`to_chrome_trace` and :class:`ProfileManager`; :meth:`close` frees
    it early (a finalizer does otherwise).
    """

    def __init__(
        self,
        duration: float = 0.0,
        peak_memory_mb: float = 0.0,
        cpu_percent: float = 0.0,
        memory_timeline: Optional[List[float]] = None,
        cpu_timeline: Optional[List[float]] = None,
        timestamps: Optional[List[float]] = None,
        memory_traces: Optional[List[Any]] = None,
        function_name: str = "",
        metadata: Optional[Dict[str, Any]] = None,
        *,
        avg_memory_mb: Optional[float] = None,
        avg_cpu_percent: Optional[float] = None,
        native: Optional[NativeProfile] = None,
    ):
        self.duration = duration
        self.peak_memory_mb = peak_memory_mb
        self.cpu_percent = cpu_percent
        self.memory_timeline = list(memory_timeline or [])
        self.cpu_timeline = list(cpu_timeline or [])
        self.timestamps = list(timestamps or [])
        self.memory_traces = memory_traces
        self.function_name = function_name
        self.metadata = dict(metadata or {})
        self.heap_timeline: List[float] = []
        self.samples: List[Sample] = []
        self.scopes: List[Dict[str, Any]] = []
        self.scope_traces: List[Dict[str, Any]] = []
        self.cpu_time_s = 0.0
        self.peak_is_exact = False
        self._native = native
        mt, ct = self.memory_timeline, self.cpu_timeline
        self.avg_memory_mb = (
            avg_memory_mb if avg_memory_mb is not None else (sum(mt) / len(mt) if mt else peak_memory_mb)
        )
        self.min_memory_mb = min(mt) if mt else self.peak_memory_mb
        self.max_memory_mb = max(mt) if mt else self.peak_memory_mb
        self.avg_cpu_percent = (
            avg_cpu_percent if avg_cpu_percent is not None else (sum(ct) / len(ct) if ct else cpu_percent)
        )
        self.min_cpu_percent = min(ct) if ct else self.avg_cpu_percent
        self.max_cpu_percent = max(ct) if ct else self.avg_cpu_percent

    @classmethod
    def _from_native(cls, native: NativeProfile, memory_traces: Optional[List[Any]]) -> "ProfileResult":
        fig = native.figures()
        samples = native.samples()
        doc = json.loads(native.to_json())
        r = cls(
            duration=fig["duration"],
            peak_memory_mb=fig["peak_memory_mb"],
            cpu_percent=fig["avg_cpu_percent"],
            memory_timeline=[s.rss_bytes / BYTES_PER_MB for s in samples],
            cpu_timeline=[s.cpu_percent for s in samples],
            timestamps=[s.t_s for s in samples],
            memory_traces=memory_traces,
            avg_memory_mb=fig["avg_memory_mb"],
            avg_cpu_percent=fig["avg_cpu_percent"],
            native=native,
        )
        r.samples = samples
        r.heap_timeline = [s.heap_bytes / BYTES_PER_MB for s in samples]
        r.cpu_time_s = fig["cpu_time_s"]
        r.peak_is_exact = fig["peak_is_exact"]
        r.scopes = doc.get("scopes", [])
        r.scope_traces = doc.get("memory_traces", [])
        r.metadata["peak_source"] = doc.get("peak_source")
        r.metadata["heap_source"] = doc.get("heap_source")
        return r

    def _require_native(self) -> NativeProfile:
        if self._native is None:
            from .errors import ERR_STATE, StateError

            raise StateError("this result has no native profile (it was never started)", ERR_STATE)
        return self._native

    def to_json(self) -> Dict[str, Any]:
        """The native ``wtfperf.profile`` document (timeline, scopes, traces)."""
        return json.loads(self._require_native().to_json())

    def to_chrome_trace(self) -> bytes:
        """Trace Event JSON for Perfetto / chrome://tracing."""
        return self._require_native().to_chrome_trace()

    def to_dict(self) -> Dict[str, Any]:
        """The figures as a plain dict (as wtf_codebot's ``to_dict``)."""
        return {
            "function_name": self.function_name,
            "duration": self.duration,
            "peak_memory_mb": self.peak_memory_mb,
            "avg_memory_mb": self.avg_memory_mb,
            "min_memory_mb": self.min_memory_mb,
            "max_memory_mb": self.max_memory_mb,
            "cpu_percent": self.cpu_percent,
            "avg_cpu_percent": self.avg_cpu_percent,
            "min_cpu_percent": self.min_cpu_percent,
            "max_cpu_percent": self.max_cpu_percent,
            "cpu_time_s": self.cpu_time_s,
            "sample_count": len(self.memory_timeline),
            "metadata": self.metadata,
        }

    def close(self) -> None:
        """Free the native profile now (figures and timelines stay readable)."""
        if self._native is not None:
            self._native.close()

    @property
    def has_native(self) -> bool:
        """Whether the native profile is attached and open (:meth:`to_json`...)."""
        return self._native is not None and not self._native.closed

    def __getstate__(self) -> Dict[str, Any]:
        # Plain data: the native profile is not carried over (to_json() and
        # to_chrome_trace() need the original).
        state = dict(self.__dict__)
        state["_native"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __deepcopy__(self, memo: Dict[int, Any]) -> "ProfileResult":
        import copy

        new = ProfileResult.__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    def __repr__(self) -> str:
        return (
            f"ProfileResult(function_name={self.function_name!r}, duration={self.duration:.3f}, "
            f"peak_memory_mb={self.peak_memory_mb:.1f}, avg_cpu_percent={self.avg_cpu_percent:.1f}, "
            f"samples={len(self.memory_timeline)})"
        )


class PerformanceProfiler(Handle):
    """Samples this process's RSS, CPU and heap on a native thread.

    ``PerformanceProfiler(sample_interval=0.1, trace_memory=False)``; extra
    native options: ``include_children`` (add forked workers' RSS and CPU),
    ``max_samples``, ``max_scope_events``. With ``trace_memory=True`` the
    profiler also runs Python's ``tracemalloc`` during the window (it has a
    cost) and the native side records each scope's heap growth.

    The handle may be shared between threads; one window runs at a time.
    """

    _kind = "profiler"

    def __init__(
        self,
        sample_interval: float = 0.1,
        trace_memory: bool = False,
        *,
        include_children: Optional[bool] = None,
        max_samples: Optional[int] = None,
        max_scope_events: Optional[int] = None,
    ):
        opts = wtfperf_profiler_options_default()
        opts.sample_interval_s = float(sample_interval)
        opts.trace_memory = bool(trace_memory)
        if include_children is not None:
            opts.include_children = bool(include_children)
        if max_samples is not None:
            set_field(opts, "max_samples", max_samples)
        if max_scope_events is not None:
            set_field(opts, "max_scope_events", max_scope_events)
        self._opts = opts
        super().__init__(self._open_native(), wtfperf_profiler_free)
        self.sample_interval = float(sample_interval)
        self.trace_memory = bool(trace_memory)
        self._state = threading.Lock()
        self._monitoring = False
        self._started_tracemalloc = False
        self._scope_ids: Dict[str, int] = {}

    def _open_native(self) -> c_void_p:
        ptr = c_void_p()
        check(wtfperf_profiler_new(ctypes.byref(self._opts), ctypes.byref(ptr)))
        return ptr

    def _after_fork_child(self) -> None:
        # The parent's window (and its sampler thread) is not the child's.
        self._state = threading.Lock()
        self._monitoring = False
        self._scope_ids = {}
        super()._after_fork_child()

    @property
    def monitoring(self) -> bool:
        """Whether a window is open."""
        return self._monitoring

    def start_monitoring(self) -> None:
        """Open a profiling window (a no-op when one is already open)."""
        self._start()

    def _start(self) -> bool:
        """Open a window unless one is open; whether this call opened it
        (checked and opened under one lock: two threads never both "open" it)."""
        with self._state:
            if self._monitoring:
                return False
            ptr = self._acquire()
            try:
                check(wtfperf_profiler_start(ptr))
            finally:
                self._release()
            self._monitoring = True
            logger.debug("monitoring started (sample interval %.3fs, trace_memory=%s)",
                         self.sample_interval, self.trace_memory)
            if self.trace_memory and not tracemalloc.is_tracing():
                tracemalloc.start()
                self._started_tracemalloc = True
                # Collected mid-window: tracemalloc (and its cost) stops with it.
                self._tracemalloc_finalizer = weakref.finalize(self, tracemalloc.stop)
            return True

    def stop_monitoring(self) -> ProfileResult:
        """Close the window and return its :class:`ProfileResult`.

        Without an open window it returns an empty result (all zero), as
        wtf_codebot's profiler did; after :meth:`close` it raises
        :class:`ClosedError`.
        """
        with self._state:
            if not self._monitoring:
                if self.closed:
                    raise ClosedError(self._kind)
                return ProfileResult(duration=0.0, peak_memory_mb=0.0, cpu_percent=0.0)
            traces = None
            if self.trace_memory and tracemalloc.is_tracing():
                traces = tracemalloc.take_snapshot().statistics("lineno")[:10]
            self._stop_tracemalloc()
            self._monitoring = False
            ptr = self._acquire()
            try:
                out = c_void_p()
                check(wtfperf_profiler_stop(ptr, ctypes.byref(out)))
            finally:
                self._release()
        result = ProfileResult._from_native(NativeProfile(out), traces)
        logger.debug("monitoring stopped: %r", result)
        return result

    def sample_now(self) -> Sample:
        """Take a sample now (besides the sampler thread's); needs an open window."""
        ptr = self._acquire()
        try:
            out = wtfperf_sample()
            check(wtfperf_profiler_sample_now(ptr, ctypes.byref(out)))
            return _sample(out)
        finally:
            self._release()

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Time a named scope of the open window (nests; any thread).

        Each name is interned natively once per profiler, so a scope in a hot
        loop costs one native call to enter and one to exit. When the body
        raises, its exception propagates even if exiting the scope fails too.
        """
        ptr = self._acquire()
        try:
            sid = self._scope_ids.get(name)
            if sid is None:
                out = c_uint32()
                check(wtfperf_profiler_scope_id(ptr, ctext(name, "name"), ctypes.byref(out)))
                sid = self._scope_ids[name] = out.value
            token = c_uint64()
            check(wtfperf_profiler_scope_enter_id(ptr, sid, ctypes.byref(token)))
        finally:
            self._release()

        def exit_scope() -> None:
            ptr = self._acquire()
            try:
                check(wtfperf_profiler_scope_exit(ptr, token.value))
            finally:
                self._release()

        try:
            yield
        except BaseException:
            # The body's exception is the one to report: drop the exit's (it
            # fails e.g. when the body closed the profiler).
            try:
                exit_scope()
            except Exception:
                pass
            raise
        exit_scope()

    def profile_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: profile every call of ``func``.

        Each result (``function_name`` set) is appended to the wrapper's
        ``_profile_results`` list. A call made while a window is already open
        (recursion, or a caller profiling) runs unprofiled rather than
        cutting the outer window short.
        """

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not self._start():  # a window is open (another thread's too): run unprofiled
                return func(*args, **kwargs)
            try:
                value = func(*args, **kwargs)
            except BaseException:
                self.stop_monitoring().close()
                raise
            result = self.stop_monitoring()
            result.function_name = func.__name__
            wrapper._profile_results.append(result)  # type: ignore[attr-defined]
            return value

        wrapper._profile_results = []  # type: ignore[attr-defined]
        wrapper.profiler = self  # type: ignore[attr-defined]
        return wrapper

    def get_system_info(self) -> Dict[str, Any]:
        """A little context about the machine (cpu count, load average)."""
        import os

        info: Dict[str, Any] = {"cpu_count": os.cpu_count()}
        try:
            info["load_average"] = os.getloadavg()
        except OSError:
            info["load_average"] = None
        return info

    def _stop_tracemalloc(self) -> None:
        if self._started_tracemalloc:
            self._tracemalloc_finalizer.detach()
            tracemalloc.stop()
            self._started_tracemalloc = False

    def close(self) -> None:
        with self._state:
            self._stop_tracemalloc()
            self._monitoring = False
        super().close()


def profile_performance(sample_interval: float = 0.1, trace_memory: bool = False) -> Callable:
    """Decorator factory: ``@profile_performance(sample_interval=0.05)``.

    The decorated function keeps its runs in ``fn._profile_results``.
    """

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        return PerformanceProfiler(sample_interval, trace_memory).profile_function(func)

    return decorator


class ProfileManager(Handle):
    """Collects named runs and summarizes them (natively, thread-safe)."""

    _kind = "profile manager"

    def __init__(self) -> None:
        super().__init__(self._open_native(), wtfperf_profile_manager_free)
        self.profiles: Dict[str, List[ProfileResult]] = {}
        # Names with a run that has no native profile: summarized in Python.
        self._python_only: set = set()

    def _open_native(self) -> c_void_p:
        ptr = c_void_p()
        check(wtfperf_profile_manager_new(ctypes.byref(ptr)))
        return ptr

    def _after_reopen(self) -> None:
        # A fresh manager in a forked child: give it the runs recorded so far.
        for name, results in self.profiles.items():
            if name in self._python_only:
                continue
            for r in results:
                if r._native is not None and not r._native.closed:
                    pptr = r._native._acquire()
                    try:
                        check(wtfperf_profile_manager_add(self._ptr, name.encode("utf-8"), pptr))
                    finally:
                        r._native._release()

    def add_profile(self, name: str, profile_result: ProfileResult) -> None:
        """Record ``profile_result`` as a run named ``name``.

        Any result is accepted, as by wtf_codebot's manager: one without a
        native profile (made by hand, the empty result of ``stop_monitoring()``
        without a window, unpickled, closed) counts by its figures; the
        summary of that name is then computed here rather than natively.
        A NUL in ``name`` raises :class:`InvalidArgumentError`, whether or
        not the name reaches the library."""
        if isinstance(name, str):
            ctext(name, "name")  # a NUL is refused here too for a name kept in Python only
        ptr = self._acquire()
        try:
            native = profile_result._native
            if native is not None and not native.closed:
                try:
                    pptr = native._acquire()
                except ClosedError:  # closed meanwhile
                    self._python_only.add(name)
                else:
                    try:
                        check(wtfperf_profile_manager_add(ptr, ctext(name, "name"), pptr))
                    finally:
                        native._release()
            else:
                self._python_only.add(name)
        finally:
            self._release()
        self.profiles.setdefault(name, []).append(profile_result)

    def summary_json(self) -> Dict[str, Any]:
        """The native ``wtfperf.profile_summary`` document: per name, ``count``
        and ``{min, median, max, mean}`` of each figure."""
        ptr = self._acquire()
        try:
            buf = wtfperf_buf()
            check(wtfperf_profile_manager_summary_json(ptr, ctypes.byref(buf)))
            return json.loads(take_buf(buf))
        finally:
            self._release()

    def get_summary(self) -> Dict[str, Dict[str, Any]]:
        """Per name: ``count``, and ``min``/``max``/``avg``/``median`` of
        ``duration`` (plus ``total``), ``peak_memory_mb``, ``avg_memory_mb``
        and ``cpu_percent`` (the runs' average CPU) — wtf_codebot's shape."""
        doc = self.summary_json()
        out: Dict[str, Dict[str, Any]] = {}
        for name in self._python_only:
            runs = self.profiles.get(name, [])
            if runs:
                out[name] = _summary_of(runs)
        for name, s in doc.get("names", {}).items():
            if name in out:
                continue
            def stat(key: str) -> Dict[str, float]:
                v = s[key]
                return {"min": v["min"], "max": v["max"], "avg": v["mean"], "median": v["median"]}

            duration = stat("duration_s")
            duration["total"] = s["duration_s"]["mean"] * s["count"]
            out[name] = {
                "count": s["count"],
                "duration": duration,
                "peak_memory_mb": stat("peak_memory_mb"),
                "avg_memory_mb": stat("avg_memory_mb"),
                "cpu_percent": stat("avg_cpu_percent"),
            }
        return out

    def clear(self) -> None:
        """Forget every run (a fresh native manager); :class:`ClosedError`
        after :meth:`close`."""
        if self.closed:
            raise ClosedError(self._kind)
        fresh = self._open_native()
        super().close()
        Handle.__init__(self, fresh, wtfperf_profile_manager_free)
        self.profiles.clear()
        self._python_only.clear()

    def export_profiles(self, output_file: str) -> None:
        """Write every run's figures and the summary to a JSON file."""
        data = {
            "profiles": {n: [p.to_dict() for p in ps] for n, ps in self.profiles.items()},
            "summary": self.get_summary(),
        }
        with open(output_file, "w") as f:
            json.dump(data, f, indent=2)


def _summary_of(runs: List[ProfileResult]) -> Dict[str, Any]:
    """wtf_codebot's summary shape computed from the runs' figures (the
    native manager's statistics: the median of an even count is the mean of
    the middle two)."""
    import statistics

    def stat(values: List[float]) -> Dict[str, float]:
        return {"min": min(values), "max": max(values), "avg": sum(values) / len(values),
                "median": statistics.median(values)}

    duration = stat([r.duration for r in runs])
    duration["total"] = sum(r.duration for r in runs)
    return {
        "count": len(runs),
        "duration": duration,
        "peak_memory_mb": stat([r.peak_memory_mb for r in runs]),
        "avg_memory_mb": stat([r.avg_memory_mb for r in runs]),
        "cpu_percent": stat([r.avg_cpu_percent for r in runs]),
    }


__all__ = [
    "NativeProfile",
    "PerformanceProfiler",
    "ProfileManager",
    "ProfileResult",
    "Sample",
    "profile_performance",
]
