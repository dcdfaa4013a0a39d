"""``wtf_codebot.performance.profiler`` backed by wtfperf."""

from wtfperf.profiler import (  # noqa: F401
    PerformanceProfiler,
    ProfileManager,
    ProfileResult,
    Sample,
    profile_performance,
)

__all__ = ["PerformanceProfiler", "ProfileManager", "ProfileResult", "Sample", "profile_performance"]
