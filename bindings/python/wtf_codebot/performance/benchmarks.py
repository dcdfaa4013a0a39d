"""``wtf_codebot.performance.benchmarks`` backed by wtfperf."""

from wtfperf.benchmarks import BenchmarkResult, BenchmarkSuite, run_performance_benchmarks  # noqa: F401

__all__ = ["BenchmarkResult", "BenchmarkSuite", "run_performance_benchmarks"]
