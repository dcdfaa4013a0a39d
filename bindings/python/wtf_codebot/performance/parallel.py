"""``wtf_codebot.performance.parallel`` backed by wtfperf."""

from wtfperf.parallel import (  # noqa: F401
    AnalysisResult,
    Codebase,
    CodebaseGraph,
    FileNode,
    FileType,
    ParallelAnalyzer,
    ParallelScanner,
)

__all__ = [
    "AnalysisResult",
    "Codebase",
    "CodebaseGraph",
    "FileNode",
    "FileType",
    "ParallelAnalyzer",
    "ParallelScanner",
]
