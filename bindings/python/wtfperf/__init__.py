"""Python binding of wtfperf, the native performance core for code-analysis tools.

Mirrors the performance API of the tool wtfperf grew out of (wtf_codebot's
``performance`` package), so code written against its performance guide runs
unchanged, while the work happens in libwtfperf (loaded through ctypes).
"""

from __future__ import annotations

from . import errors
from ._native import API_VERSION, LIB_PATH, check, version
from .errors import (
    ABORTED,
    ERR_CALLBACK,
    ERR_INVALID,
    ERR_IO,
    ERR_NULL,
    ERR_PANIC,
    ERR_STATE,
    ERR_STORE,
    MISS,
    OK,
    CallbackError,
    ClosedError,
    InvalidArgumentError,
    LibraryError,
    NullPointerError,
    PanicError,
    StateError,
    StoreError,
    WtfperfError,
    WtfperfIOError,
)

from .profiler import PerformanceProfiler, ProfileManager, ProfileResult, Sample, profile_performance
from .cache import AnalysisCache, Cache, CacheManager, PersistentCache
from .scanner import File, Progress, ScanError, ScanOptions, ScanSummary, SkipFile, analyze, scan
from .parallel import (
    AnalysisResult,
    Codebase,
    CodebaseGraph,
    FileNode,
    FileType,
    ParallelAnalyzer,
    ParallelScanner,
)
from .benchmarks import BenchmarkResult, BenchmarkSuite, run_performance_benchmarks

__version__ = "0.1.0"


def status_str(status: int) -> str:
    """The library's static name of a status code, e.g. ``"WTFPERF_ERR_IO"``."""
    from . import _native

    return _native.wtfperf_status_str(status).decode("ascii")


def debug_force_panic(message: str = "forced panic") -> None:
    """Make the library panic inside its guard (a test hook).

    Always raises :class:`PanicError` (status ``ERR_PANIC``) whose message
    contains ``message``; the library stays usable afterwards.
    """
    from . import _native

    check(_native.wtfperf_debug_force_panic(_native.ctext(message, "message")))


__all__ = [
    "AnalysisCache",
    "AnalysisResult",
    "BenchmarkResult",
    "BenchmarkSuite",
    "Cache",
    "CacheManager",
    "Codebase",
    "CodebaseGraph",
    "File",
    "FileNode",
    "FileType",
    "ParallelAnalyzer",
    "ParallelScanner",
    "PerformanceProfiler",
    "PersistentCache",
    "ProfileManager",
    "ProfileResult",
    "Progress",
    "Sample",
    "ScanError",
    "ScanOptions",
    "ScanSummary",
    "SkipFile",
    "analyze",
    "profile_performance",
    "run_performance_benchmarks",
    "scan",
    "ABORTED",
    "API_VERSION",
    "ERR_CALLBACK",
    "ERR_INVALID",
    "ERR_IO",
    "ERR_NULL",
    "ERR_PANIC",
    "ERR_STATE",
    "ERR_STORE",
    "LIB_PATH",
    "MISS",
    "OK",
    "CallbackError",
    "ClosedError",
    "InvalidArgumentError",
    "LibraryError",
    "NullPointerError",
    "PanicError",
    "StateError",
    "StoreError",
    "WtfperfError",
    "WtfperfIOError",
    "debug_force_panic",
    "errors",
    "status_str",
    "version",
]
