"""``wtf_codebot.performance.profiler`` backed by wtfperf.

As in wtf_codebot, :class:`PerformanceProfiler` and :func:`profile_performance`
trace Python allocations by default here (``trace_memory=True``: tracemalloc
runs during each window and ``memory_traces`` is filled); ``wtfperf``'s own
classes default to ``False``, the cheaper setting.
"""

from typing import Any, Callable, Optional

from wtfperf import profiler as _impl
from wtfperf.profiler import ProfileManager, ProfileResult, Sample  # noqa: F401


class PerformanceProfiler(_impl.PerformanceProfiler):
    """``PerformanceProfiler(sample_interval=0.1, trace_memory=True)`` (the
    guide's defaults); otherwise :class:`wtfperf.PerformanceProfiler`."""

    def __init__(self, sample_interval: float = 0.1, trace_memory: bool = True, **options: Any):
        super().__init__(sample_interval, trace_memory, **options)


def profile_performance(sample_interval: float = 0.1, trace_memory: bool = True) -> Callable:
    """Decorator factory, as wtf_codebot's (``trace_memory=True`` by default)."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        return PerformanceProfiler(sample_interval, trace_memory).profile_function(func)

    return decorator


__all__ = ["PerformanceProfiler", "ProfileManager", "ProfileResult", "Sample", "profile_performance"]
