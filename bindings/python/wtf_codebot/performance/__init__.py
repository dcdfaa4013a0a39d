"""wtf_codebot's performance package, backed by wtfperf (re-exports)."""

from wtfperf import (
    AnalysisCache,
    AnalysisResult,
    CacheManager,
    ParallelAnalyzer,
    ParallelScanner,
    PersistentCache,
    ProfileManager,
    ProfileResult,
)
from wtf_codebot.performance.profiler import PerformanceProfiler, profile_performance
from wtfperf.benchmarks import BenchmarkResult, BenchmarkSuite, run_performance_benchmarks

__all__ = [
    "AnalysisCache",
    "AnalysisResult",
    "BenchmarkResult",
    "BenchmarkSuite",
    "CacheManager",
    "ParallelAnalyzer",
    "ParallelScanner",
    "PerformanceProfiler",
    "PersistentCache",
    "ProfileManager",
    "ProfileResult",
    "profile_performance",
    "run_performance_benchmarks",
]
