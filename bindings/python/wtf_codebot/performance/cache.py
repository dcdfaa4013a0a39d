"""``wtf_codebot.performance.cache`` backed by wtfperf."""

from wtfperf.cache import AnalysisCache, Cache, CacheManager, PersistentCache  # noqa: F401

__all__ = ["AnalysisCache", "Cache", "CacheManager", "PersistentCache"]
