"""``ParallelScanner`` and ``ParallelAnalyzer`` of wtf_codebot, on wtfperf's
native parallel scan and incremental analysis.

Reading and hashing run on native worker threads (``num_processes`` of
them); Python code (your analyzers) runs on the calling thread, one file at
a time. With a cache, :class:`ParallelAnalyzer` goes through
``wtfperf_analyze``: an unchanged file is neither read nor analyzed again.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import inspect
import logging
import os
import re
import sys
import threading
import time
import types
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Union

from . import _json
from ._native import many
from .scanner import File, ScanError, ScanOptions, ScanSummary, SkipFile, analyze, decode_text, scan

PathArg = Union[str, bytes, "os.PathLike[str]"]

logger = logging.getLogger("wtf_codebot.performance.parallel")

#: Directory names wtf_codebot's scanner left out by default.
DEFAULT_IGNORE_DIRS = frozenset(
    {
        "__pycache__", ".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".env", "env",
        "dist", "build", ".tox", ".pytest_cache", ".coverage", ".mypy_cache", ".DS_Store",
        "coverage", ".idea", ".vscode", "target", "bin", "obj",
    }
)
#: File name patterns wtf_codebot's scanner left out by default.
DEFAULT_IGNORE_FILES = frozenset(
    {
        "*.pyc", "*.pyo", "*.pyd", "*.so", "*.dylib", "*.dll", "*.exe", "*.log", "*.tmp",
        "*.bak", "*.swp", "*.swo", "*~", ".DS_Store", "Thumbs.db",
    }
)


class FileType(enum.Enum):
    """File types of wtf_codebot (``file_type``); ``FileNode.language`` has
    the library's finer language name."""

    PYTHON = "python"
    JAVASCRIPT = "javascript"
    TYPESCRIPT = "typescript"
    HTML = "html"
    CSS = "css"
    JSON = "json"
    YAML = "yaml"
    MARKDOWN = "markdown"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, language: Optional[str]) -> "FileType":
        if language in ("scss", "less"):
            return cls.CSS
        try:
            return cls(language)
        except ValueError:
            return cls.UNKNOWN


@dataclasses.dataclass
class FileNode:
    """A scanned file (the shape of wtf_codebot's ``FileNode``).

    ``path`` is relative to the scan root; ``full_path`` absolute (root
    joined with it); ``content`` the text (UTF-8, else Latin-1) when read;
    ``content_hash`` the XXH3-128 hex digest.
    """

    path: Path
    file_type: FileType
    size: int
    last_modified: float
    content: Optional[str] = None
    full_path: Optional[Path] = None
    language: Optional[str] = None
    content_hash: str = ""
    mtime_ns: int = 0
    content_bytes: Optional[bytes] = dataclasses.field(default=None, repr=False)

    @property
    def relative_path(self) -> str:
        return str(self.path)

    @property
    def extension(self) -> str:
        return self.path.suffix.lower()

    @classmethod
    def from_file(cls, f: File) -> "FileNode":
        return cls(
            path=Path(f.rel_path),
            file_type=FileType.of(f.language),
            size=f.size,
            last_modified=f.mtime_ns / 1e9,
            content=decode_text(f.content),
            full_path=Path(f.path),
            language=f.language,
            content_hash=f.hash_hex,
            mtime_ns=f.mtime_ns,
            content_bytes=f.content,
        )


@dataclasses.dataclass
class Codebase:
    """A scanned tree (the shape of wtf_codebot's ``CodebaseGraph``).

    ``files`` maps the relative path to its :class:`FileNode`;
    ``scan_errors`` lists the files that failed (each a ``str`` with
    ``.path``, ``.status``, ``.message``); ``skipped_files`` those over
    ``max_file_size``; ``summary`` the native counts.
    """

    root_path: Path
    files: Dict[str, FileNode] = dataclasses.field(default_factory=dict)
    file_types: Dict[FileType, List[str]] = dataclasses.field(default_factory=dict)
    total_files: int = 0
    total_size: int = 0
    scan_errors: List[ScanError] = dataclasses.field(default_factory=list)
    skipped_files: List[ScanError] = dataclasses.field(default_factory=list)
    summary: ScanSummary = dataclasses.field(default_factory=ScanSummary)
    scan_options: Optional[ScanOptions] = None

    @property
    def scan_duration(self) -> float:
        return self.summary.duration_s

    def add_file(self, node: FileNode) -> None:
        key = str(node.path)
        self.files[key] = node
        self.file_types.setdefault(node.file_type, []).append(key)
        self.total_files += 1
        self.total_size += node.size

    def get_files_by_type(self, file_type: FileType) -> List[FileNode]:
        return [self.files[p] for p in self.file_types.get(file_type, [])]

    def get_file_by_path(self, path: PathArg) -> Optional[FileNode]:
        return self.files.get(os.fsdecode(path))

    def get_statistics(self) -> Dict[str, Any]:
        return {
            "total_files": self.total_files,
            "total_size": self.total_size,
            "file_types": {ft.value: len(v) for ft, v in self.file_types.items()},
            "scan_errors": len(self.scan_errors),
            "skipped_files": len(self.skipped_files),
        }


CodebaseGraph = Codebase


def _is_too_large(err: ScanError) -> bool:
    return err.skipped


def _check_complete(summary: ScanSummary, what: str) -> None:
    """A run these classes never ask to stop must not come back truncated."""
    if summary.aborted:
        from .errors import ABORTED, WtfperfError

        raise WtfperfError(f"the {what} was aborted before it finished", ABORTED)


class ParallelScanner:
    """``ParallelScanner(num_processes=None, chunk_size=100)``: native worker
    threads read and hash files (``num_processes`` of them; ``None``: one per
    core); ``chunk_size`` bounds each worker's files in flight.

    Keyword ``scan_options`` (a :class:`ScanOptions`) sets anything else
    (``respect_ignore_files``, ``include_hidden``, ``sorted``...).
    """

    def __init__(
        self,
        num_processes: Optional[int] = None,
        chunk_size: int = 100,
        *,
        scan_options: Optional[ScanOptions] = None,
    ):
        self.num_processes = num_processes or os.cpu_count() or 1
        self.chunk_size = chunk_size
        self.scan_options = scan_options

    def _options(
        self,
        include_content: bool,
        ignore_dirs: Optional[Iterable[str]],
        ignore_files: Optional[Iterable[str]],
        max_file_size: int,
    ) -> ScanOptions:
        base = self.scan_options or ScanOptions(sorted=True)
        dirs = DEFAULT_IGNORE_DIRS if ignore_dirs is None else many(ignore_dirs, "ignore_dirs", "names")
        files = DEFAULT_IGNORE_FILES if ignore_files is None else many(ignore_files, "ignore_files", "patterns")
        return dataclasses.replace(
            base,
            threads=self.num_processes,
            chunk_size=self.chunk_size,
            include_content=include_content,
            max_file_size=max_file_size,
            exclude=many(base.exclude, "exclude", "globs") + sorted(dirs) + sorted(files),
        )

    def scan_directory_parallel(
        self,
        root_path: PathArg,
        include_content: bool = True,
        parse_ast: bool = True,
        ignore_dirs: Optional[Set[str]] = None,
        ignore_files: Optional[Set[str]] = None,
        max_file_size: int = 10 * 1024 * 1024,
        progress: Optional[Callable[[Any], Any]] = None,
    ) -> Codebase:
        """Scan ``root_path`` into a :class:`Codebase`.

        ``ignore_dirs`` / ``ignore_files`` default to wtf_codebot's lists
        (pass ``set()`` to keep everything); ``.gitignore`` files are honoured
        too. ``parse_ast`` is accepted for compatibility: no AST is built.
        ``progress`` gets :class:`wtfperf.Progress` reports.
        """
        root = Path(os.fsdecode(root_path))  # str, bytes or a path, as wtfperf.scan takes
        if not root.exists():
            raise FileNotFoundError(f"Directory not found: {root}")
        if not root.is_dir():
            raise ValueError(f"Path is not a directory: {root}")
        opts = self._options(include_content, ignore_dirs, ignore_files, max_file_size)
        codebase = Codebase(root_path=root, scan_options=opts)
        logger.debug("Starting parallel scan of %s with %d threads", root, self.num_processes)

        def on_error(err: ScanError) -> None:
            (codebase.skipped_files if _is_too_large(err) else codebase.scan_errors).append(err)

        codebase.summary = scan(
            root,
            lambda f: codebase.add_file(FileNode.from_file(f)),
            on_error=on_error,
            on_progress=progress,
            options=opts,
        )
        _check_complete(codebase.summary, "scan")
        logger.debug(
            "Parallel scan of %s complete: %d files, %d errors, %d skipped, %.3fs",
            root, codebase.total_files, len(codebase.scan_errors), len(codebase.skipped_files),
            codebase.summary.duration_s,
        )
        return codebase


@dataclasses.dataclass
class AnalysisResult:
    """What one analyzer found over a codebase: ``findings`` and ``metrics``
    (JSON-able items, as stored), per-file results in ``file_results``
    (relative path -> ``{"findings", "metrics"}``), ``files_analyzed`` (files
    it applied to), ``files_cached`` (of those, served from the cache)."""

    name: str = ""
    findings: List[Any] = dataclasses.field(default_factory=list)
    metrics: List[Any] = dataclasses.field(default_factory=list)
    file_results: Dict[str, Any] = dataclasses.field(default_factory=dict)
    files_analyzed: int = 0
    files_cached: int = 0
    errors: List[ScanError] = dataclasses.field(default_factory=list)


_OUTSIDE = "not in the codebase"

_LANGUAGE_ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "rb": "ruby"}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_METHODS = ("__call__", "analyze", "analyze_file", "supports_file")
_MAX_DEPTH = 4


class _Out(list):
    """The parts of a fingerprint, and the names of the modules whose source
    files it covers (those defining the functions and classes met)."""

    def __init__(self, modules: Optional[Set[str]] = None):
        super().__init__()
        self.modules: Set[str] = set() if modules is None else modules


def _add_modules(out: _Out, cls: type) -> None:
    for klass in getattr(cls, "__mro__", ()):
        name = getattr(klass, "__module__", None)
        if isinstance(name, str):
            out.modules.add(name)


# module -> (its __spec__ when read, digest of its source file or None). Read
# once per loaded module: later edits of the file, not loaded by this
# process, do not change the identity of the code it runs; a reload (a new
# __spec__) reads it again.
_SOURCES: "weakref.WeakKeyDictionary[types.ModuleType, Any]" = weakref.WeakKeyDictionary()
_SOURCES_LOCK = threading.Lock()


def _source_fp(name: str) -> Optional[str]:
    """A digest of the bytes of module ``name``'s source file; ``None`` when
    it has none (built in, C extension, no ``__file__``, unreadable)."""
    module = sys.modules.get(name)
    if not isinstance(module, types.ModuleType):
        return None
    spec = getattr(module, "__spec__", None)
    with _SOURCES_LOCK:
        known = _SOURCES.get(module)
    if known is not None and known[0] is spec:
        return known[1]
    digest = None
    try:
        path = inspect.getsourcefile(module)
    except (TypeError, ValueError):  # built in, or no __file__
        path = None
    if path:
        try:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:20]
        except OSError:
            digest = None
    with _SOURCES_LOCK:
        _SOURCES[module] = (spec, digest)
    return digest


def _code_fp(code: types.CodeType, out: _Out, depth: int) -> None:
    out += [code.co_name, code.co_code.hex(), repr(code.co_names)]
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_fp(c, out, depth)
        else:
            _value_fp(c, out, depth)


def _state(obj: Any) -> Any:
    getstate = getattr(type(obj), "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None):
        return obj.__getstate__()
    state = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                state[name] = getattr(obj, name)
    return state


def _value_fp(v: Any, out: _Out, depth: int) -> None:
    """Append a stable representation of ``v``: functions by their code,
    containers element by element (sets sorted), plain objects by class and
    state, anything else by ``repr`` without memory addresses. The modules
    defining the functions and classes met are noted in ``out.modules``."""
    if depth > _MAX_DEPTH:
        out.append(_ADDRESS.sub("", repr(type(v))))
        return
    depth += 1
    if isinstance(v, types.FunctionType):
        out.append(f"{v.__module__}.{v.__qualname__}")
        if isinstance(v.__module__, str):
            out.modules.add(v.__module__)
        _code_fp(v.__code__, out, depth)
        _value_fp(v.__defaults__, out, depth)
        _value_fp(v.__kwdefaults__, out, depth)
        for cell in v.__closure__ or ():
            try:
                _value_fp(cell.cell_contents, out, depth)
            except ValueError:  # an empty cell
                out.append("<empty cell>")
    elif isinstance(v, types.MethodType):
        _value_fp(v.__func__, out, depth)
        _value_fp(v.__self__, out, depth)
    elif isinstance(v, functools.partial):
        _value_fp((v.func, v.args, v.keywords), out, depth)
    elif isinstance(v, (list, tuple)):
        out.append(f"{type(v).__name__}[{len(v)}]")
        for x in v:
            _value_fp(x, out, depth)
    elif isinstance(v, dict):
        out.append(f"dict[{len(v)}]")
        for k, x in v.items():
            _value_fp(k, out, depth)
            _value_fp(x, out, depth)
    elif isinstance(v, (set, frozenset)):
        items = []
        for x in v:
            sub = _Out(out.modules)
            _value_fp(x, sub, depth)
            items.append("|".join(sub))
        out.append(f"{type(v).__name__}{sorted(items)!r}")
    elif isinstance(v, type):
        out.append(f"{v.__module__}.{v.__qualname__}")
        _add_modules(out, v)
    elif type(v).__repr__ is object.__repr__ and (hasattr(v, "__dict__") or hasattr(type(v), "__slots__")):
        _object_fp(v, out, depth)
    else:
        out.append(_ADDRESS.sub("", repr(v)))


def _object_fp(obj: Any, out: _Out, depth: int) -> None:
    cls = type(obj)
    out.append(f"{cls.__module__}.{cls.__qualname__}")
    _add_modules(out, cls)
    for m in _METHODS:
        fn = getattr(cls, m, None)
        if isinstance(fn, types.FunctionType):
            out.append(m)
            _code_fp(fn.__code__, out, depth)
            _value_fp(fn.__defaults__, out, depth)
    _value_fp(_state(obj), out, depth)


def _fingerprint(obj: Any) -> str:
    """A digest of what an analyzer computes with: for a function its code
    (bytecode, constants, names), defaults and closure contents; for an
    object its class, the code of its analyze methods and its state; and
    the bytes of the source files of the modules defining the functions and
    classes met (the function's module; the object's class and its bases;
    likewise for functions, objects and classes in defaults, closures and
    state), so any edit of those files (globals, helpers, other methods)
    gives another id. Modules without a source file add nothing. Anything
    whose representation is not stable just gives another id."""
    out = _Out()
    if isinstance(obj, (types.FunctionType, types.MethodType, functools.partial)):
        _value_fp(obj, out, 0)
    else:
        _object_fp(obj, out, 0)
    for name in sorted(out.modules):
        digest = _source_fp(name)
        if digest is not None:
            out.append(f"source {name} {digest}")
    return hashlib.sha256("\x00".join(out).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _identity(obj: Any) -> str:
    fn = obj if callable(obj) and not hasattr(obj, "analyze_file") and not hasattr(obj, "analyze") else type(obj)
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    version = getattr(obj, "version", None) or getattr(obj, "__version__", None)
    name = f"{name}@{version}" if version else name
    return f"{name}#{_fingerprint(obj)}"


class _Runner:
    """One analyzer of a run: when it applies, how it is called."""

    def __init__(self, name: str, analyzer: Any):
        self.name = name
        self.analyzer = analyzer
        if hasattr(analyzer, "analyze_file"):
            self.call = analyzer.analyze_file
        elif hasattr(analyzer, "analyze"):
            self.call = analyzer.analyze
        elif callable(analyzer):
            self.call = analyzer
        else:
            raise TypeError(
                f"analyzer {name!r} must be callable or have analyze_file()/analyze(), "
                f"not {type(analyzer).__name__}"
            )
        self.supports = getattr(analyzer, "supports_file", None)
        lang = name.lower()
        self.language = _LANGUAGE_ALIASES.get(lang, lang)

    def applies(self, node: FileNode) -> bool:
        if self.supports is not None:
            return bool(self.supports(node))
        return self.language in ("*", "all") or node.language == self.language


def _normalize(out: Any) -> Dict[str, Any]:
    if out is None:
        return {"findings": [], "metrics": []}
    if isinstance(out, Mapping):
        d = dict(out)
        d["findings"] = list(d.get("findings") or [])
        d["metrics"] = list(d.get("metrics") or [])
        return d
    if isinstance(out, (list, tuple)):
        return {"findings": list(out), "metrics": []}
    if hasattr(out, "findings"):
        return {"findings": list(out.findings or []), "metrics": list(getattr(out, "metrics", None) or [])}
    raise TypeError(f"an analyzer returns None, a dict, a list, or an object with .findings; got {type(out).__name__}")


class ParallelAnalyzer:
    """``ParallelAnalyzer(num_processes=None, cache=None)``.

    :meth:`analyze_codebase_parallel` runs every analyzer that applies to a
    file (one with ``supports_file(file)`` decides; otherwise the analyzer's
    key is the language, e.g. ``'python'``, ``'javascript'``, or ``'*'`` for
    every file). An analyzer is a callable, or an object with
    ``analyze_file(file)`` or ``analyze(file)``, given a :class:`FileNode` and
    returning ``None``, a list of findings, a dict with ``findings`` /
    ``metrics``, or an object with ``.findings`` (and ``.metrics``); items
    must be JSON-able (dataclasses, enums, paths, ``to_dict()`` are converted).

    With a ``cache`` (a :class:`CacheManager` or :class:`Cache`), results are
    stored per file under the analyzers' identity and content hash: a second
    run over unchanged files is served from the cache without reading or
    analyzing them. The identity is the analyzer's name, its ``version``
    attribute if any, and a fingerprint of what it computes with: a
    function's code, defaults and closure contents; an object's class, the
    code of its analyze methods and its state; and the bytes of the source
    files of the modules that define them (a function's module; an object's
    class and each of its base classes; likewise for the functions, classes
    and objects in those defaults, closures and state). So an edited
    function, an edit anywhere in those files (a global, a helper function,
    another method), a closure of other values or a differently configured
    instance never shares results with another.

    Not covered: code in *other* modules that the analyzer imports or calls
    (a helper or constant from another of your modules, a library), and
    values that are not in a source file (a global changed at run time, a
    configuration file it reads). After changing those, give the function or
    class a new ``version`` attribute (``check.version = "2"``) or pass
    ``analyzer_id=``. A module without a source file (built in, a C
    extension, code run by ``exec`` or ``python -c``) adds nothing. A source
    file is read once per loaded module and process (again after
    ``importlib.reload``), so the identity describes the code the process
    loaded, unless the file was edited between its import and the first run
    that uses it.
    """

    ID_PREFIX = "wtfperf.python.analyzers/2"

    def __init__(self, num_processes: Optional[int] = None, cache: Any = None):
        self.num_processes = num_processes or os.cpu_count() or 1
        self.cache = cache
        self.last_summary: Optional[ScanSummary] = None

    def analyzer_id(self, analyzers: Mapping[str, Any]) -> str:
        parts = [f"{name}={_identity(a)}" for name, a in sorted(analyzers.items())]
        return self.ID_PREFIX + ";" + ";".join(parts)

    def analyze_codebase_parallel(
        self,
        codebase: Union[Codebase, PathArg],
        analyzers: Mapping[str, Any],
        cache: Any = None,
        *,
        analyzer_id: Optional[str] = None,
        progress: Optional[Callable[[Any], Any]] = None,
    ) -> Dict[str, AnalysisResult]:
        """Analyze ``codebase`` (a :class:`Codebase` from
        :class:`ParallelScanner`, or a directory) and return one
        :class:`AnalysisResult` per analyzer name. Given a Codebase, only
        its files (``codebase.files``) are analyzed and reported; they are
        read again with the scan's options, so a file changed since the scan
        is seen as it is now.

        Errors are isolated, as in wtf_codebot: an exception raised by an
        analyzer for a file (``SkipFile`` included) is recorded in every
        result's ``errors`` (a :class:`ScanError` with status
        ``ERR_CALLBACK`` and the message ``"<name>: <Type>: <message>"``)
        and logged (WARNING, logger ``wtf_codebot.performance.parallel``);
        that file is not cached, the other analyzers' results for it are
        kept, and the run goes on. ``KeyboardInterrupt`` and other
        ``BaseException`` still stop it."""
        cache = cache if cache is not None else self.cache
        runners = [_Runner(name, a) for name, a in analyzers.items() if a is not None]
        wanted: Optional[Set[str]] = None
        if isinstance(codebase, (str, bytes, os.PathLike)):
            root, base = Path(os.fsdecode(codebase)), ScanOptions(sorted=True)
        else:
            root = Path(os.fsdecode(codebase.root_path))
            base = getattr(codebase, "scan_options", None) or ScanOptions(sorted=True)
            wanted = {str(Path(p)) for p in codebase.files}
        opts = dataclasses.replace(base, threads=self.num_processes, include_content=True)
        results = {r.name: AnalysisResult(name=r.name) for r in runners}
        errors: List[ScanError] = []

        def outside(rel_path: str) -> bool:
            # The library's rel_path is normalised already ('/'-separated,
            # no "./"): only the wanted side needs Path's normalisation, not
            # every file.
            return wanted is not None and rel_path not in wanted

        # Files an analyzer failed on: the other analyzers' results (JSON
        # round-tripped, as stored), reported but not cached.
        partial: Dict[str, Any] = {}

        def run(f: File) -> bytes:
            if outside(f.rel_path):
                raise SkipFile(_OUTSIDE)  # not in the codebase: not analyzed, not cached
            node = FileNode.from_file(f)
            # Each analyzer's result is encoded on its own, so one that is
            # not JSON-able fails like one that raises: only for this file.
            parts: List[bytes] = []
            failures: List[str] = []
            for r in runners:
                try:
                    if r.applies(node):
                        parts.append(_json.dumps(r.name) + b":" + _json.dumps(_normalize(r.call(node))))
                except Exception as exc:  # noqa: BLE001 - isolated to this file, as wtf_codebot did
                    what = str(exc) if isinstance(exc, SkipFile) else f"{type(exc).__name__}: {exc}"
                    failures.append(f"{r.name}: {what}")
            data = b"{" + b",".join(parts) + b"}"  # {name: result...}, as one dumps() of them
            if failures:
                partial[f.path] = (f.rel_path, _json.loads(data))
                raise SkipFile("; ".join(failures))
            return data

        def on_result(f: File, data: bytes, cached: bool) -> None:
            if outside(f.rel_path):
                return
            collect(f.rel_path, _json.loads(data) if data else {}, cached)

        def collect(rel_path: str, payload: Dict[str, Any], cached: bool) -> None:
            for name, res in payload.items():
                r = results.get(name)
                if r is None:
                    continue
                r.findings.extend(res.get("findings", []))
                r.metrics.extend(res.get("metrics", []))
                r.file_results[rel_path] = res
                r.files_analyzed += 1
                r.files_cached += 1 if cached else 0

        def on_error(err: ScanError) -> None:
            if wanted is not None:
                try:
                    rel = os.path.relpath(err.path, root) if err.path else ""
                except ValueError:
                    rel = err.path
                if outside(rel):
                    return
            done = partial.pop(err.path, None)
            if done is not None:
                collect(done[0], done[1], False)
            if not _is_too_large(err):
                logger.warning("%s", err)
                errors.append(err)

        logger.debug(
            "Starting parallel analysis of %s with %d analyzers (%s), %d threads, cache: %s",
            root, len(runners), ", ".join(r.name for r in runners), self.num_processes, cache is not None,
        )
        self.last_summary = analyze(
            root,
            run,
            analyzer_id=analyzer_id or self.analyzer_id(analyzers),
            cache=cache,
            on_result=on_result,
            on_error=on_error,
            on_progress=progress,
            options=opts,
        )
        _check_complete(self.last_summary, "analysis")
        logger.debug(
            "Parallel analysis of %s complete: %s",
            root,
            ", ".join(f"{r.name}: {len(r.findings)} findings, {r.files_analyzed} files "
                      f"({r.files_cached} cached)" for r in results.values()) or "no analyzers",
        )
        for r in results.values():
            r.errors = list(errors)
        return results


@dataclasses.dataclass
class ProcessingTask:
    """One unit of work for a :class:`WorkerProcess` (wtf_codebot's shape):
    ``task_type`` is ``'parse'`` (read ``file_path`` into a
    :class:`FileNode`) or ``'analyze'`` (run ``config['analyzer']`` on
    ``config['file_node']``, a FileNode or a pickled one)."""

    task_id: str
    file_path: Path
    task_type: str
    config: Dict[str, Any] = dataclasses.field(default_factory=dict)
    root_path: Optional[Path] = None


@dataclasses.dataclass
class ProcessingResult:
    task_id: str
    success: bool
    result: Any = None
    error: Optional[str] = None
    duration: float = 0.0
    memory_usage: float = 0.0


class WorkerProcess:
    """wtf_codebot's per-worker task runner, for code that drives workers
    itself: ``WorkerProcess(worker_id)``, :meth:`initialize`, then
    :meth:`process_task` per task. Reading goes through the native scanner;
    errors are returned in the :class:`ProcessingResult`, never raised.
    (:class:`ParallelScanner` and :class:`ParallelAnalyzer` do not need it.)"""

    def __init__(self, worker_id: int):
        self.worker_id = worker_id
        self.analyzers: Dict[str, Any] = {}

    def initialize(
        self, parser_config: Optional[Dict[str, Any]] = None, analyzer_configs: Optional[Dict[str, Any]] = None
    ) -> bool:
        """Create the analyzers: each config is ``{"class": cls, "args": {...}}``
        or ``{"analyzer": instance}``. False (and logged) when one fails."""
        try:
            for name, config in (analyzer_configs or {}).items():
                if config.get("analyzer") is not None:
                    self.analyzers[name] = config["analyzer"]
                elif config.get("class") is not None:
                    self.analyzers[name] = config["class"](**config.get("args", {}))
            return True
        except Exception as exc:  # noqa: BLE001 - reported as wtf_codebot did
            logger.error("worker %s initialization failed: %s", self.worker_id, exc)
            return False

    def process_task(self, task: ProcessingTask) -> ProcessingResult:
        start = time.perf_counter()
        try:
            if task.task_type == "parse":
                result: Any = self._parse(task)
            elif task.task_type == "analyze":
                result = self._analyze(task)
            else:
                raise ValueError(f"Unknown task type: {task.task_type}")
            return ProcessingResult(task.task_id, True, result, duration=time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - returned in the result
            error = f"Task {task.task_id} failed: {exc}"
            logger.error("%s", error)
            return ProcessingResult(task.task_id, False, error=error, duration=time.perf_counter() - start)

    def _parse(self, task: ProcessingTask) -> FileNode:
        path = Path(os.fsdecode(task.file_path))
        got: List[File] = []
        failed: List[ScanError] = []
        include = bool(task.config.get("include_content", True))
        scan(path, got.append, on_error=failed.append, threads=1, include_content=include,
             respect_ignore_files=False, include_hidden=True)
        if failed:
            raise OSError(str(failed[0]))
        if not got:
            raise FileNotFoundError(f"not a readable file: {path}")
        node = FileNode.from_file(got[0])
        root = None if task.root_path is None else Path(os.fsdecode(task.root_path))
        try:
            node.path = path.relative_to(root) if root is not None else Path(path.name)
        except ValueError:
            node.path = path
        return node

    def _analyze(self, task: ProcessingTask) -> Any:
        import pickle

        name = task.config.get("analyzer")
        if name not in self.analyzers:
            raise ValueError(f"Analyzer {name} not available")
        node = task.config.get("file_node")
        if isinstance(node, (bytes, bytearray)):
            node = pickle.loads(node)
        if node is None:
            node = self._parse(ProcessingTask(task.task_id, task.file_path, "parse", {}, task.root_path))
        return _Runner(name, self.analyzers[name]).call(node)


__all__ = [
    "AnalysisResult",
    "Codebase",
    "CodebaseGraph",
    "FileNode",
    "FileType",
    "ParallelAnalyzer",
    "ParallelScanner",
    "ProcessingResult",
    "ProcessingTask",
    "WorkerProcess",
]
