"""Analysis cache: an in-memory LRU tier with TTL over a persistent SQLite
tier, entries bound to a file's content and to dependency files
(``wtfperf_cache_*``).

:class:`Cache` is the native handle with a bytes API. The classes of
``wtf_codebot.performance.cache`` sit on it: :class:`CacheManager` (both
tiers, JSON values), :class:`AnalysisCache` (memory tier only) and
:class:`PersistentCache` (SQLite tier only).
"""

from __future__ import annotations

import ctypes
import logging
import os
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_double, c_size_t, c_uint8, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _json
from . import _native as N
from ._native import (
    CallbackGuard,
    CStrArray,
    Handle,
    check,
    ckey,
    cpath,
    make_private_dir,
    many,
    native_run,
    set_field,
    status_t,
    take_buf,
    wtfperf_buf,
)
from .errors import MISS

logger = logging.getLogger("wtf_codebot.performance.cache")

Key = Union[str, bytes]
PathArg = Union[str, bytes, "os.PathLike[str]"]


class wtfperf_cache_options(ctypes.Structure):
    _fields_ = [
        ("dir", c_char_p),
        ("memory_max_entries", c_size_t),
        ("memory_ttl_s", c_double),
        ("persistent_ttl_s", c_double),
        ("memory_max_bytes", c_uint64),
        ("persistent_max_bytes", c_uint64),
        ("root", c_char_p),
        ("sync_interval_s", c_double),
    ]


class wtfperf_entry_options(ctypes.Structure):
    _fields_ = [
        ("file_path", c_char_p),
        ("deps", POINTER(c_char_p)),
        ("deps_len", c_size_t),
        ("ttl_s", c_double),
    ]


class wtfperf_cache_statistics(ctypes.Structure):
    _fields_ = [
        ("memory_hits", c_uint64),
        ("memory_misses", c_uint64),
        ("persistent_hits", c_uint64),
        ("persistent_misses", c_uint64),
        ("memory_entries", c_uint64),
        ("persistent_entries", c_uint64),
        ("invalidations", c_uint64),
        ("hit_rate", c_double),
        ("memory_bytes", c_uint64),
        ("persistent_bytes", c_uint64),
        ("sets", c_uint64),
        ("invalidations_file_changed", c_uint64),
        ("invalidations_dependency_changed", c_uint64),
        ("invalidations_expired", c_uint64),
        ("invalidations_evicted", c_uint64),
        ("invalidations_explicit", c_uint64),
        ("total_hits", c_uint64),
        ("total_misses", c_uint64),
        ("total_sets", c_uint64),
        ("total_invalidations", c_uint64),
        ("total_hit_rate", c_double),
        ("analysis_entries", c_uint64),
        ("recovered", c_bool),
    ]


wtfperf_path_cb = CFUNCTYPE(None, c_void_p, c_char_p)

_d = N._declare
_P = c_void_p
_U8P = POINTER(c_uint8)
wtfperf_cache_options_default = _d("wtfperf_cache_options_default", wtfperf_cache_options, [])
wtfperf_entry_options_default = _d("wtfperf_entry_options_default", wtfperf_entry_options, [])
wtfperf_cache_open = _d("wtfperf_cache_open", status_t, [POINTER(wtfperf_cache_options), POINTER(_P)])
wtfperf_cache_close = _d("wtfperf_cache_close", None, [_P])
wtfperf_cache_set = _d(
    "wtfperf_cache_set",
    status_t,
    [_P, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(wtfperf_entry_options)],
)
wtfperf_cache_set_many = _d(
    "wtfperf_cache_set_many",
    status_t,
    [
        _P,
        POINTER(c_char_p),
        POINTER(c_size_t),
        POINTER(c_char_p),
        POINTER(c_size_t),
        POINTER(POINTER(wtfperf_entry_options)),
        c_size_t,
    ],
)
wtfperf_cache_get = _d("wtfperf_cache_get", status_t, [_P, c_char_p, c_size_t, POINTER(wtfperf_buf)])
wtfperf_cache_invalidate = _d("wtfperf_cache_invalidate", status_t, [_P, c_char_p, c_size_t])
wtfperf_cache_invalidate_file = _d(
    "wtfperf_cache_invalidate_file", status_t, [_P, c_char_p, POINTER(c_size_t)]
)
wtfperf_cache_check_file_changes = _d(
    "wtfperf_cache_check_file_changes",
    status_t,
    [_P, POINTER(c_char_p), c_size_t, wtfperf_path_cb, c_void_p, POINTER(c_size_t)],
)
wtfperf_cache_cleanup_expired = _d("wtfperf_cache_cleanup_expired", status_t, [_P, POINTER(c_size_t)])
wtfperf_cache_clear = _d("wtfperf_cache_clear", status_t, [_P])
wtfperf_cache_stats = _d("wtfperf_cache_stats", status_t, [_P, POINTER(wtfperf_cache_statistics)])
wtfperf_cache_stats_json = _d("wtfperf_cache_stats_json", status_t, [_P, POINTER(wtfperf_buf)])
wtfperf_cache_explain_miss = _d(
    "wtfperf_cache_explain_miss", status_t, [_P, c_char_p, c_size_t, POINTER(wtfperf_buf)]
)


def encode_json(value: Any) -> bytes:
    """A JSON-able value as compact UTF-8 JSON (``TypeError`` otherwise); the
    binding's one encoder (:mod:`wtfperf._json`): dataclasses such as
    ``AnalysisResult`` and ``Codebase``, enums, paths, sets... are converted."""
    return _json.dumps(value)


def decode_json(data: bytes) -> Any:
    return _json.loads(data)


class Cache(Handle):
    """The native analysis cache (``wtfperf_cache``), values as bytes.

    ``dir=None`` keeps everything in memory; with a directory the persistent
    tier is an SQLite database in it, shared safely by threads and processes.
    A ``set`` returns once the entry is committed. Entries bound to
    ``file_path`` (its content; a directory: its whole tree) or
    ``dependencies`` are invalid once those change: the next ``get`` misses.

    TTLs are seconds; ``0`` means never expires. ``root``: paths inside it
    are stored relative to it (a movable cache). ``sync_interval``: how
    stale, at most, this handle's memory copy of an entry another process
    changed may be (seconds).
    """

    _kind = "cache"

    def __init__(
        self,
        dir: Optional[PathArg] = None,
        *,
        memory_max_entries: Optional[int] = None,
        memory_ttl: Optional[float] = None,
        persistent_ttl: Optional[float] = None,
        memory_max_bytes: Optional[int] = None,
        persistent_max_bytes: Optional[int] = None,
        root: Optional[PathArg] = None,
        sync_interval: Optional[float] = None,
    ):
        opts = wtfperf_cache_options_default()
        keep = []
        if dir is not None:
            keep.append(cpath(dir))
            opts.dir = keep[-1]
        if root is not None:
            keep.append(cpath(root))
            opts.root = keep[-1]
        if memory_max_entries is not None:
            set_field(opts, "memory_max_entries", memory_max_entries)
        if memory_ttl is not None:
            opts.memory_ttl_s = float(memory_ttl)
        if persistent_ttl is not None:
            opts.persistent_ttl_s = float(persistent_ttl)
        if memory_max_bytes is not None:
            set_field(opts, "memory_max_bytes", memory_max_bytes)
        if persistent_max_bytes is not None:
            set_field(opts, "persistent_max_bytes", persistent_max_bytes)
        if sync_interval is not None:
            opts.sync_interval_s = float(sync_interval)
        self._opts, self._keep = opts, keep
        super().__init__(self._open_native(), wtfperf_cache_close)
        self.dir = None if dir is None else Path(os.fsdecode(dir))

    def _open_native(self) -> c_void_p:
        ptr = c_void_p()
        check(wtfperf_cache_open(ctypes.byref(self._opts), ctypes.byref(ptr)))
        return ptr

    # -- bytes API

    def set(
        self,
        key: Key,
        value: Union[bytes, bytearray, memoryview],
        *,
        file_path: Optional[PathArg] = None,
        dependencies: Optional[Iterable[PathArg]] = None,
        ttl: Optional[float] = None,
    ) -> None:
        """Store ``value`` under ``key`` (committed when this returns)."""
        k = ckey(key)
        v = bytes(value)
        keep: list = []
        opts = self._entry(file_path, dependencies, ttl, keep)
        ptr = self._acquire()
        try:
            check(wtfperf_cache_set(ptr, k, len(k), v, len(v), ctypes.byref(opts)))
        finally:
            self._release()

    def _entry(self, file_path: Any, dependencies: Any, ttl: Any, keep: list) -> wtfperf_entry_options:
        opts = wtfperf_entry_options_default()
        if file_path is not None:
            keep.append(cpath(file_path))
            opts.file_path = keep[-1]
        if dependencies is not None:
            deps = CStrArray([cpath(d) for d in many(dependencies, "dependencies")])
            keep.append(deps)
            opts.deps, opts.deps_len = deps.ptr, deps.len
        if ttl is not None:
            opts.ttl_s = float(ttl)
        return opts

    def set_many(self, items: Iterable[Any]) -> None:
        """Store many entries in ONE transaction (all or nothing; much faster
        than many :meth:`set` calls). Each item is ``(key, value)`` or
        ``(key, value, {"file_path": ..., "dependencies": [...], "ttl": ...})``."""
        items = list(items)
        n = len(items)
        keep: list = []
        keys = (c_char_p * n)()
        key_lens = (c_size_t * n)()
        values = (c_char_p * n)()
        value_lens = (c_size_t * n)()
        options = (POINTER(wtfperf_entry_options) * n)()
        for i, item in enumerate(items):
            key, value = ckey(item[0]), bytes(item[1])
            entry = item[2] if len(item) > 2 else {}
            unknown = set(entry) - {"file_path", "dependencies", "ttl"}
            if unknown:
                raise TypeError(f"unknown entry options {sorted(unknown)}")
            keep += [key, value]
            keys[i], key_lens[i], values[i], value_lens[i] = key, len(key), value, len(value)
            opts = self._entry(entry.get("file_path"), entry.get("dependencies"), entry.get("ttl"), keep)
            keep.append(opts)
            options[i] = ctypes.pointer(opts)
        ptr = self._acquire()
        try:
            check(wtfperf_cache_set_many(ptr, keys, key_lens, values, value_lens, options, n))
        finally:
            self._release()

    def get(self, key: Key) -> Optional[bytes]:
        """The stored bytes, or ``None`` when there is no valid entry."""
        k = ckey(key)
        buf = wtfperf_buf()
        ptr = self._acquire()
        try:
            st = check(wtfperf_cache_get(ptr, k, len(k), ctypes.byref(buf)))
        finally:
            self._release()
        if st == MISS:
            return None
        return take_buf(buf)

    def invalidate(self, key: Key) -> None:
        """Remove ``key`` from both tiers (whether or not it was there)."""
        k = ckey(key)
        ptr = self._acquire()
        try:
            check(wtfperf_cache_invalidate(ptr, k, len(k)))
        finally:
            self._release()

    def explain_miss(self, key: Key) -> Dict[str, Any]:
        """Why the last lookups of ``key`` missed: ``last_reason`` (e.g.
        ``"file_changed"``), the recent ``misses``, and whether it is stored."""
        k = ckey(key)
        buf = wtfperf_buf()
        ptr = self._acquire()
        try:
            check(wtfperf_cache_explain_miss(ptr, k, len(k), ctypes.byref(buf)))
        finally:
            self._release()
        return decode_json(take_buf(buf))

    def invalidate_file(self, path: PathArg) -> int:
        """Remove every entry bound to ``path`` or depending on it; how many."""
        n = c_size_t()
        ptr = self._acquire()
        try:
            check(wtfperf_cache_invalidate_file(ptr, cpath(path), ctypes.byref(n)))
        finally:
            self._release()
        return n.value

    def check_file_changes(self, paths: Iterable[PathArg]) -> List[str]:
        """Which of ``paths`` changed since last recorded (entries bound to or
        depending on them are invalidated); returned as ``str`` paths, in the
        form they were given."""
        given = many(paths, "paths")
        encoded = [cpath(p) for p in given]
        by_bytes: Dict[bytes, str] = {}
        for raw, p in zip(encoded, given):
            by_bytes.setdefault(raw, os.fsdecode(p) if not isinstance(p, str) else p)
        changed: List[str] = []
        guard = CallbackGuard()

        def on_changed(_ud: Any, path: bytes) -> None:
            changed.append(by_bytes.get(path, os.fsdecode(path)))

        cb = wtfperf_path_cb(guard.wrap(on_changed))
        arr = CStrArray(encoded)
        n = c_size_t()
        with native_run(guard):
            ptr = self._acquire()
            try:
                check(wtfperf_cache_check_file_changes(ptr, arr.ptr, arr.len, cb, None, ctypes.byref(n)))
            finally:
                self._release()
        guard.reraise()
        return changed

    def cleanup_expired(self) -> int:
        """Remove expired entries from both tiers; how many."""
        n = c_size_t()
        ptr = self._acquire()
        try:
            check(wtfperf_cache_cleanup_expired(ptr, ctypes.byref(n)))
        finally:
            self._release()
        return n.value

    def clear(self) -> None:
        """Remove every entry from both tiers."""
        ptr = self._acquire()
        try:
            check(wtfperf_cache_clear(ptr))
        finally:
            self._release()

    def statistics(self) -> wtfperf_cache_statistics:
        """The native statistics struct."""
        out = wtfperf_cache_statistics()
        ptr = self._acquire()
        try:
            check(wtfperf_cache_stats(ptr, ctypes.byref(out)))
        finally:
            self._release()
        return out

    def stats_json(self) -> Dict[str, Any]:
        """The native statistics document (parsed JSON)."""
        buf = wtfperf_buf()
        ptr = self._acquire()
        try:
            check(wtfperf_cache_stats_json(ptr, ctypes.byref(buf)))
        finally:
            self._release()
        return decode_json(take_buf(buf))

    # -- JSON values

    def set_json(self, key: Key, value: Any, **entry: Any) -> None:
        """Store a JSON-able value (``TypeError`` when it is not)."""
        self.set(key, encode_json(value), **entry)

    def set_many_json(self, items: Iterable[Any]) -> None:
        """:meth:`set_many` with JSON-able values."""
        self.set_many((it[0], encode_json(it[1]), *it[2:]) for it in items)

    def get_json(self, key: Key) -> Any:
        """A value stored with :meth:`set_json`, or ``None`` on a miss."""
        raw = self.get(key)
        return None if raw is None else decode_json(raw)


def _existing(file_path: Optional[PathArg]) -> Optional[PathArg]:
    """wtf_codebot's classes hashed the path string of a file that did not
    exist: the guide-compatible classes store such a result without a file
    binding instead of raising (the native Cache raises)."""
    if file_path is None or os.path.exists(file_path):
        return file_path
    logger.debug("file_path %r does not exist: stored without a file binding", file_path)
    return None


def _rate(hits: int, misses: int) -> float:
    total = hits + misses
    return hits / total if total else 0.0


class CacheManager:
    """Both tiers behind one interface, values as JSON (wtf_codebot's API).

    ``CacheManager(cache_dir=None)``: the persistent tier lives in
    ``cache_dir`` (default ``./.wtf_cache``, created mode 0700 if missing). Keyword
    options as :class:`Cache` (``memory_max_entries``, ``memory_ttl``,
    ``persistent_ttl``...).

    Results are stored as JSON: ``get_analysis_result`` gives back an object
    equal to the one stored (tuples come back as lists), or ``None`` on a
    miss. :meth:`set_bytes` / :meth:`get_bytes` store raw bytes.
    """

    def __init__(self, cache_dir: Optional[PathArg] = None, **options: Any):
        self.cache_dir = Path(os.fsdecode(cache_dir)) if cache_dir is not None else Path.cwd() / ".wtf_cache"
        make_private_dir(self.cache_dir)
        self.cache = Cache(self.cache_dir, **options)
        logger.debug("cache in %s", self.cache_dir)

    def get_analysis_result(self, key: Key) -> Any:
        """The result stored under ``key``, or ``None``."""
        return self.cache.get_json(key)

    def set_analysis_result(
        self,
        key: Key,
        result: Any,
        file_path: Optional[PathArg] = None,
        dependencies: Optional[Sequence[PathArg]] = None,
        ttl: Optional[float] = None,
    ) -> None:
        """Store a JSON-able ``result``; with ``file_path`` it is valid only
        while that file's content is unchanged, with ``dependencies`` only
        while those files are; ``ttl`` in seconds (default: the tiers')."""
        self.cache.set_json(key, result, file_path=_existing(file_path), dependencies=dependencies, ttl=ttl)

    def set_analysis_results(self, items: Iterable[Any]) -> None:
        """Store many results in one transaction: ``(key, result)`` or
        ``(key, result, {"file_path", "dependencies", "ttl"})`` items."""

        def fixed(item: Any) -> Any:
            if len(item) > 2 and item[2].get("file_path") is not None:
                return (item[0], item[1], {**item[2], "file_path": _existing(item[2]["file_path"])})
            return item

        self.cache.set_many_json(fixed(it) for it in items)

    def set_bytes(self, key: Key, value: bytes, **entry: Any) -> None:
        self.cache.set(key, value, **entry)

    def get_bytes(self, key: Key) -> Optional[bytes]:
        return self.cache.get(key)

    def invalidate(self, key: Key) -> None:
        self.cache.invalidate(key)

    def invalidate_file(self, file_path: PathArg) -> int:
        return self.cache.invalidate_file(file_path)

    def check_file_changes(self, file_paths: Iterable[PathArg]) -> List[str]:
        """The paths among ``file_paths`` that changed (their entries are invalidated)."""
        return self.cache.check_file_changes(many(file_paths, "file_paths"))

    def clear_all(self) -> None:
        self.cache.clear()

    clear = clear_all

    def cleanup(self) -> Dict[str, int]:
        return {"expired_persistent": self.cache.cleanup_expired()}

    def cleanup_expired(self) -> int:
        return self.cache.cleanup_expired()

    def stats(self) -> Dict[str, Any]:
        """``{"memory_cache": {...hit_rate...}, "persistent_cache":
        {...total_entries...}, "hit_rate", "invalidations"}``."""
        s = self.cache.statistics()
        logger.debug("cache %s: hit rate %.2f, %d persistent entries, %d sets, %d invalidations",
                     self.cache_dir, s.hit_rate, s.persistent_entries, s.sets, s.invalidations)
        return {
            "memory_cache": {
                "size": s.memory_entries,
                "bytes": s.memory_bytes,
                "hits": s.memory_hits,
                "misses": s.memory_misses,
                "hit_rate": _rate(s.memory_hits, s.memory_misses),
                "total_requests": s.memory_hits + s.memory_misses,
            },
            "persistent_cache": {
                "total_entries": s.persistent_entries,
                "bytes": s.persistent_bytes,
                "hits": s.persistent_hits,
                "misses": s.persistent_misses,
                "hit_rate": _rate(s.persistent_hits, s.persistent_misses),
                "db_dir": str(self.cache_dir),
                "recovered": bool(s.recovered),
            },
            "hit_rate": s.hit_rate,
            "sets": s.sets,
            "invalidations": s.invalidations,
            "invalidations_by_reason": {
                "file_changed": s.invalidations_file_changed,
                "dependency_changed": s.invalidations_dependency_changed,
                "expired": s.invalidations_expired,
                "evicted": s.invalidations_evicted,
                "explicit": s.invalidations_explicit,
            },
            "analysis_entries": s.analysis_entries,
            "all_processes": {
                "hits": s.total_hits,
                "misses": s.total_misses,
                "sets": s.total_sets,
                "invalidations": s.total_invalidations,
                "hit_rate": s.total_hit_rate,
            },
        }

    def close(self) -> None:
        self.cache.close()

    @property
    def closed(self) -> bool:
        return self.cache.closed

    def __enter__(self) -> "CacheManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Tier:
    """What the single-tier classes share: JSON values over one `Cache`."""

    cache: Cache

    def get(self, key: Key) -> Any:
        return self.cache.get_json(key)

    def set(
        self,
        key: Key,
        value: Any,
        ttl: Optional[float] = None,
        file_path: Optional[PathArg] = None,
        dependencies: Optional[Sequence[PathArg]] = None,
    ) -> None:
        self.cache.set_json(key, value, ttl=ttl, file_path=_existing(file_path), dependencies=dependencies)

    def invalidate(self, key: Key) -> None:
        self.cache.invalidate(key)

    def invalidate_file(self, file_path: PathArg) -> int:
        return self.cache.invalidate_file(file_path)

    invalidate_by_dependency = invalidate_file

    def cleanup_expired(self) -> int:
        return self.cache.cleanup_expired()

    def clear(self) -> None:
        self.cache.clear()

    def close(self) -> None:
        self.cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AnalysisCache(_Tier):
    """The memory tier alone: ``AnalysisCache(max_size=1000, default_ttl=3600)``.

    Values are JSON-able objects (``get`` returns an equal one, or ``None``).
    """

    def __init__(self, max_size: int = 1000, default_ttl: float = 3600, **options: Any):
        self.max_size = max_size
        self.default_ttl = default_ttl
        self.cache = Cache(None, memory_max_entries=max_size, memory_ttl=default_ttl, **options)

    def stats(self) -> Dict[str, Any]:
        s = self.cache.statistics()
        return {
            "size": s.memory_entries,
            "max_size": self.max_size,
            "hits": s.memory_hits,
            "misses": s.memory_misses,
            "hit_rate": _rate(s.memory_hits, s.memory_misses),
            "total_requests": s.memory_hits + s.memory_misses,
        }


class PersistentCache(_Tier):
    """The SQLite tier alone: ``PersistentCache(db_path, default_ttl=3600)``.

    The native store keeps its database inside a directory of its own, named
    after the whole file name: ``./cache/analysis.db`` -> ``./cache/analysis.db.wtfperf/``
    (created, mode 0700, with its parents). So two ``PersistentCache`` with
    different names, or one next to a ``CacheManager(cache_dir=...)`` of the
    same directory, never share a store. Values are JSON-able objects.
    """

    def __init__(self, db_path: PathArg, default_ttl: float = 3600, **options: Any):
        self.db_path = Path(os.fsdecode(db_path))
        self.default_ttl = default_ttl
        self.dir = self.db_path.with_name(self.db_path.name + ".wtfperf")
        make_private_dir(self.dir)
        self.cache = Cache(self.dir, memory_max_entries=0, persistent_ttl=default_ttl, **options)

    def stats(self) -> Dict[str, Any]:
        s = self.cache.statistics()
        return {
            "total_entries": s.persistent_entries,
            "hits": s.persistent_hits,
            "misses": s.persistent_misses,
            "hit_rate": _rate(s.persistent_hits, s.persistent_misses),
            "db_dir": str(self.dir),
        }


__all__ = ["AnalysisCache", "Cache", "CacheManager", "PersistentCache"]
