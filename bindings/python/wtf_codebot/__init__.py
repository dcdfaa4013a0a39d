"""Compatibility package: ``wtf_codebot.performance`` backed by wtfperf.

Only the performance part of wtf_codebot is provided, so code written
against its performance guide (``from wtf_codebot.performance.profiler
import PerformanceProfiler`` ...) runs unchanged on the native library.
"""
