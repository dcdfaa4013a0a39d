"""Parallel scan and incremental analysis (``wtfperf_scan``,
``wtfperf_analyze_with``).

Workers walk the tree (gitignore-aware), read and hash (XXH3-128) files in
parallel; every callback runs on the calling thread, one at a time (the
default delivery mode), so Python callbacks need no locking. An exception
raised by a callback stops the run and is re-raised once the native call
has returned.
"""

from __future__ import annotations

import ctypes
import logging
import os
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint8, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

from . import _native as N
from ._native import CallbackGuard, CStrArray, check, cpath, ctext, many, native_run, set_field, status_t
from .errors import ABORTED, ERR_CALLBACK


class wtfperf_scan_options(ctypes.Structure):
    _fields_ = [
        ("threads", c_size_t),
        ("chunk_size", c_size_t),
        ("max_file_size", c_uint64),
        ("include_content", c_bool),
        ("follow_links", c_bool),
        ("respect_ignore_files", c_bool),
        ("include_hidden", c_bool),
        ("include_globs", POINTER(c_char_p)),
        ("include_globs_len", c_size_t),
        ("exclude_globs", POINTER(c_char_p)),
        ("exclude_globs_len", c_size_t),
        ("callbacks_parallel", c_bool),
        ("sorted", c_bool),
        ("max_depth", c_size_t),
        ("same_file_system", c_bool),
    ]


class wtfperf_file(ctypes.Structure):
    _fields_ = [
        ("path", c_char_p),
        ("rel_path", c_char_p),
        ("size", c_uint64),
        ("mtime_ns", c_int64),
        ("content_hash", c_uint8 * 16),
        ("content", POINTER(c_uint8)),
        ("content_len", c_size_t),
        ("language", c_char_p),
        ("inode", c_uint64),
    ]


class wtfperf_progress(ctypes.Structure):
    _fields_ = [("files_done", c_uint64), ("files_total", c_uint64), ("bytes_done", c_uint64)]


class wtfperf_scan_summary(ctypes.Structure):
    _fields_ = [
        ("files_seen", c_uint64),
        ("files_scanned", c_uint64),
        ("files_skipped", c_uint64),
        ("errors", c_uint64),
        ("bytes_read", c_uint64),
        ("cache_hits", c_uint64),
        ("duration_s", c_double),
    ]


wtfperf_file_cb = CFUNCTYPE(c_int32, c_void_p, POINTER(wtfperf_file))
wtfperf_error_cb = CFUNCTYPE(None, c_void_p, c_char_p, status_t, c_char_p)
wtfperf_progress_cb = CFUNCTYPE(None, c_void_p, POINTER(wtfperf_progress))
wtfperf_analyze_fn = CFUNCTYPE(c_int32, c_void_p, POINTER(wtfperf_file), c_void_p)
wtfperf_result_cb = CFUNCTYPE(None, c_void_p, POINTER(wtfperf_file), POINTER(c_uint8), c_size_t, c_bool)


class wtfperf_scan_callbacks(ctypes.Structure):
    _fields_ = [
        ("on_file", wtfperf_file_cb),
        ("on_error", wtfperf_error_cb),
        ("on_progress", wtfperf_progress_cb),
        ("userdata", c_void_p),
    ]


class wtfperf_analyze_callbacks(ctypes.Structure):
    _fields_ = [
        ("analyze", wtfperf_analyze_fn),
        ("on_result", wtfperf_result_cb),
        ("on_error", wtfperf_error_cb),
        ("on_progress", wtfperf_progress_cb),
        ("userdata", c_void_p),
    ]


_d = N._declare
_P = c_void_p
wtfperf_scan_options_default = _d("wtfperf_scan_options_default", wtfperf_scan_options, [])
wtfperf_scan = _d(
    "wtfperf_scan",
    status_t,
    [c_char_p, POINTER(wtfperf_scan_options), POINTER(wtfperf_scan_callbacks), POINTER(wtfperf_scan_summary)],
)
wtfperf_sink_write = _d("wtfperf_sink_write", status_t, [_P, c_char_p, c_size_t])
wtfperf_analyze_with = _d(
    "wtfperf_analyze_with",
    status_t,
    [
        c_char_p,
        POINTER(wtfperf_scan_options),
        _P,
        c_char_p,
        POINTER(wtfperf_analyze_callbacks),
        POINTER(wtfperf_scan_summary),
    ],
)

PathArg = Union[str, bytes, "os.PathLike[str]"]

logger = logging.getLogger("wtfperf.scanner")


@dataclass
class ScanOptions:
    """Options of a scan; ``None`` keeps the library's default.

    Globs without ``/`` match a name at any depth (``*.py``, ``node_modules``);
    with ``/`` they match the path relative to the root (``src/**/*.py``). A
    directory matching an exclude glob is not entered.
    """

    threads: Optional[int] = None  # 0: one per core
    chunk_size: Optional[int] = None
    max_file_size: Optional[int] = None
    include_content: Optional[bool] = None
    follow_links: Optional[bool] = None
    respect_ignore_files: Optional[bool] = None
    include_hidden: Optional[bool] = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    sorted: Optional[bool] = None
    max_depth: Optional[int] = None
    same_file_system: Optional[bool] = None

    def to_native(self) -> "tuple[wtfperf_scan_options, list]":
        """The native struct, from ``wtfperf_scan_options_default()``, and the
        objects that must stay alive while it is in use."""
        o = wtfperf_scan_options_default()
        for name in (
            "threads",
            "chunk_size",
            "max_file_size",
            "include_content",
            "follow_links",
            "respect_ignore_files",
            "include_hidden",
            "sorted",
            "max_depth",
            "same_file_system",
        ):
            v = getattr(self, name)
            if v is not None:
                set_field(o, name, v)
        inc = CStrArray([ctext(g, "include") for g in many(self.include, "include", "globs")])
        exc = CStrArray([ctext(g, "exclude") for g in many(self.exclude, "exclude", "globs")])
        o.include_globs, o.include_globs_len = inc.ptr, inc.len
        o.exclude_globs, o.exclude_globs_len = exc.ptr, exc.len
        # Default delivery mode: callbacks on the calling thread, never on workers.
        o.callbacks_parallel = False
        return o, [inc, exc]


@dataclass
class File:
    """A file handed to a callback (a copy: safe to keep).

    ``content`` is ``None`` when it was not read (``include_content=False``,
    or a cached file in :func:`analyze`); ``content_hash`` is the XXH3-128
    digest (all zero when not read).
    """

    path: str
    rel_path: str
    size: int
    mtime_ns: int
    content_hash: bytes
    content: Optional[bytes]
    language: Optional[str]
    inode: int = 0

    @property
    def hash_hex(self) -> str:
        return self.content_hash.hex()

    @property
    def text(self) -> Optional[str]:
        """``content`` decoded (UTF-8, else Latin-1), or ``None``."""
        return decode_text(self.content)


def decode_text(content: Optional[bytes]) -> Optional[str]:
    if content is None:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _file(p: Any, with_content: bool = True) -> File:
    f = p.contents
    content = None
    if f.content:
        content = ctypes.string_at(f.content, f.content_len)
    elif with_content and f.content_len == 0:
        content = b""  # an empty file that was read
    return File(
        path=os.fsdecode(f.path),
        rel_path=os.fsdecode(f.rel_path),
        size=f.size,
        mtime_ns=f.mtime_ns,
        content_hash=bytes(f.content_hash),
        content=content,
        language=f.language.decode("utf-8") if f.language else None,
        inode=f.inode,
    )


@dataclass
class Progress:
    files_done: int
    files_total: int  # 0 while unknown
    bytes_done: int


@dataclass
class ScanSummary:
    """Counts of a run. ``files_seen``: regular files met after filters;
    ``files_scanned``: read and handed over; ``files_skipped``: over
    ``max_file_size``; ``errors``: failed; ``cache_hits``: results that came
    from the cache (analyze). ``aborted``: a callback stopped the run."""

    files_seen: int = 0
    files_scanned: int = 0
    files_skipped: int = 0
    errors: int = 0
    bytes_read: int = 0
    cache_hits: int = 0
    duration_s: float = 0.0
    aborted: bool = False

    @classmethod
    def _from(cls, s: wtfperf_scan_summary, status: int) -> "ScanSummary":
        return cls(
            s.files_seen,
            s.files_scanned,
            s.files_skipped,
            s.errors,
            s.bytes_read,
            s.cache_hits,
            s.duration_s,
            status == ABORTED,
        )


class ScanError(str):
    """A file or directory that could not be scanned: a ``str``
    (``"path: message"``) carrying ``path``, ``status`` and ``message``.

    ``status``: ``ERR_IO`` (unreadable file, dangling link, link loop),
    ``ERR_INVALID`` (a file over ``max_file_size``: :attr:`skipped`; or a
    malformed ignore file), ``ERR_CALLBACK`` (a failed analysis).
    """

    path: str
    status: int
    message: str

    def __new__(cls, path: str, status: int, message: str) -> "ScanError":
        self = super().__new__(cls, f"{path}: {message}")
        self.path, self.status, self.message = path, status, message
        return self

    def __reduce__(self) -> Any:
        # str's default would call ScanError(text) with one argument.
        return (type(self), (self.path, self.status, self.message))

    @property
    def skipped(self) -> bool:
        """A file over ``max_file_size``: skipped, not failed."""
        from .errors import ERR_INVALID

        return self.status == ERR_INVALID and "max_file_size" in self.message


class SkipFile(Exception):
    """Raise from an :func:`analyze` analyzer to fail that one file: it is
    reported to ``on_error`` with ``ERR_CALLBACK`` and the exception's
    message, not cached, and the run goes on (in :func:`analyze` any other
    exception stops the run and is re-raised; ``ParallelAnalyzer`` isolates
    every exception to its file)."""


def _opts(options: Optional[ScanOptions], overrides: dict) -> ScanOptions:
    base = options if options is not None else ScanOptions()
    if overrides:
        base = ScanOptions(**{**base.__dict__, **overrides})
    return base


def _error_cb(
    guard: CallbackGuard,
    on_error: Optional[Callable[[ScanError], Any]],
    skip_messages: Optional[dict] = None,
) -> Any:
    if on_error is None:
        return wtfperf_error_cb()

    def cb(_ud: Any, path: Optional[bytes], code: int, message: Optional[bytes]) -> None:
        p = os.fsdecode(path) if path else ""
        text = message.decode("utf-8", "replace") if message else ""
        if skip_messages and code == ERR_CALLBACK:
            text = skip_messages.pop(p, text)  # the SkipFile's own message
        on_error(ScanError(p, code, text))

    return wtfperf_error_cb(guard.wrap(cb))


def _progress_cb(guard: CallbackGuard, on_progress: Optional[Callable[[Progress], Any]]) -> Any:
    if on_progress is None:
        return wtfperf_progress_cb()

    def cb(_ud: Any, p: Any) -> None:
        v = p.contents
        on_progress(Progress(v.files_done, v.files_total, v.bytes_done))

    return wtfperf_progress_cb(guard.wrap(cb))


def scan(
    root: PathArg,
    on_file: Optional[Callable[[File], Any]] = None,
    *,
    on_error: Optional[Callable[[ScanError], Any]] = None,
    on_progress: Optional[Callable[[Progress], Any]] = None,
    options: Optional[ScanOptions] = None,
    **overrides: Any,
) -> ScanSummary:
    """Scan ``root``, calling ``on_file(File)`` for every file read.

    ``on_file`` returning a true value stops the scan (``summary.aborted``).
    ``on_error(ScanError)`` gets unreadable files, files over
    ``max_file_size`` and the like; the scan goes on. Keyword overrides set
    :class:`ScanOptions` fields (``threads=4, exclude=["*.log"]``).
    """
    opts = _opts(options, overrides)
    native, keep = opts.to_native()
    guard = CallbackGuard()
    with_content = native.include_content

    def file_cb(_ud: Any, p: Any) -> int:
        return 1 if on_file(_file(p, with_content)) else 0  # type: ignore[misc]

    summary = wtfperf_scan_summary()
    logger.debug("scan of %s starting (%s threads)", os.fsdecode(root), native.threads or "all")
    with native_run(guard):
        # No Python callback, no internal one either (a ctypes call per file
        # made a callback-free scan ~1.3x slower): Ctrl-C is then raised
        # when the scan ends.
        file_fn = wtfperf_file_cb(guard.wrap(file_cb, 1)) if on_file is not None else wtfperf_file_cb()
        cbs = wtfperf_scan_callbacks(file_fn, _error_cb(guard, on_error), _progress_cb(guard, on_progress), None)
        status = wtfperf_scan(cpath(root), ctypes.byref(native), ctypes.byref(cbs), ctypes.byref(summary))
    result = ScanSummary._from(summary, status)
    logger.debug("scan of %s ended (status %s): %s", os.fsdecode(root), status, result)
    guard.reraise()
    check(status)
    del keep
    return result


def analyze(
    root: PathArg,
    analyzer: Callable[[File], Union[bytes, str, None]],
    *,
    analyzer_id: str,
    cache: Any = None,
    on_result: Optional[Callable[[File, bytes, bool], Any]] = None,
    on_error: Optional[Callable[[ScanError], Any]] = None,
    on_progress: Optional[Callable[[Progress], Any]] = None,
    options: Optional[ScanOptions] = None,
    **overrides: Any,
) -> ScanSummary:
    """Incremental analysis of ``root``.

    ``analyzer(File)`` returns the file's result (bytes, or str stored as
    UTF-8; ``None`` is empty). With a ``cache`` (:class:`wtfperf.Cache` or
    :class:`wtfperf.CacheManager`) results are keyed by ``analyzer_id``,
    relative path and content hash: the analyzer runs only for files it has
    not seen with that content, and ``on_result(File, result, cached)``
    comes for every file (``File.content`` is ``None`` for cached ones).
    Change ``analyzer_id`` when the analyzer's output changes.
    """
    from .cache import Cache, CacheManager

    handle: Optional[Cache]
    if cache is None:
        handle = None
    elif isinstance(cache, Cache):
        handle = cache
    elif isinstance(cache, CacheManager) or isinstance(getattr(cache, "cache", None), Cache):
        handle = cache.cache
    else:
        raise TypeError(f"cache must be a wtfperf Cache or CacheManager, not {type(cache).__name__}")

    aid = ctext(analyzer_id, "analyzer_id")
    opts = _opts(options, overrides)
    native, keep = opts.to_native()
    guard = CallbackGuard()

    skip_messages: dict = {}

    def analyze_cb(_ud: Any, p: Any, sink: Any) -> int:
        f = _file(p)
        try:
            out = analyzer(f)
        except SkipFile as exc:
            if str(exc):
                skip_messages[f.path] = str(exc)
            return 1  # this file failed: reported, not cached; the run goes on
        if out is None:
            data = b""
        elif isinstance(out, str):
            data = out.encode("utf-8")
        elif isinstance(out, (bytes, bytearray, memoryview)):
            data = bytes(out)
        else:
            raise TypeError(f"analyzer must return bytes, str or None, not {type(out).__name__}")
        check(wtfperf_sink_write(sink, data, len(data)))
        return 0

    def result_cb(_ud: Any, p: Any, data: Any, n: int, cached: bool) -> None:
        on_result(_file(p, not cached), ctypes.string_at(data, n) if n else b"", bool(cached))  # type: ignore[misc]

    cbs = wtfperf_analyze_callbacks(
        # On an exception: ABORTED stops the whole run (the file is neither
        # delivered nor cached); the exception is re-raised afterwards.
        wtfperf_analyze_fn(guard.wrap(analyze_cb, ABORTED)),
        wtfperf_result_cb(guard.wrap(result_cb)) if on_result is not None else wtfperf_result_cb(),
        _error_cb(guard, on_error, skip_messages),
        _progress_cb(guard, on_progress),
        None,
    )
    summary = wtfperf_scan_summary()
    logger.debug("analysis %r of %s starting (cache: %s)", analyzer_id, os.fsdecode(root), handle is not None)
    with native_run(guard):
        cptr = handle._acquire() if handle is not None else None
        try:
            status = wtfperf_analyze_with(
                cpath(root),
                ctypes.byref(native),
                cptr,
                aid,
                ctypes.byref(cbs),
                ctypes.byref(summary),
            )
        finally:
            if handle is not None:
                handle._release()
    result = ScanSummary._from(summary, status)
    logger.debug("analysis %r of %s ended (status %s): %s", analyzer_id, os.fsdecode(root), status, result)
    guard.reraise()
    check(status)
    del keep
    return result


__all__ = [
    "File",
    "Progress",
    "ScanError",
    "ScanOptions",
    "ScanSummary",
    "SkipFile",
    "analyze",
    "decode_text",
    "scan",
]
