"""The one JSON encoding of the binding: cache values (``CacheManager``...)
and analyzer results (``ParallelAnalyzer``) go through :func:`dumps`.

Beyond plain JSON it accepts objects with ``to_dict()``, dataclasses (the
binding's ``AnalysisResult``, ``Codebase``, ``FileNode``...), enums, paths,
sets, dates and bytes (as text), and dict keys of those kinds. Text that is
not valid Unicode (a non-UTF-8 file name decoded with surrogate escapes)
round-trips exactly: it is written as ``\\udcXX`` escapes.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from datetime import date, datetime
from pathlib import PurePath
from typing import Any


def default(obj: Any) -> Any:
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _keys(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return os.fsdecode(bytes(obj))
    exc = TypeError(f"values must be JSON-able; got {type(obj).__name__}")
    exc.not_jsonable = True  # type: ignore[attr-defined]  # no retry converts it (see _dump)
    raise exc


def _key(k: Any) -> Any:
    if k is None or isinstance(k, (str, int, float, bool)):
        return k
    if isinstance(k, enum.Enum):
        return _key(k.value)
    return str(k)


def _keys(obj: Any) -> Any:
    """Mapping keys JSON accepts (enums, paths... as strings), recursively
    through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {_key(k): _keys(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_keys(v) for v in obj]
    return obj


def _dump(value: Any, ascii_only: bool) -> str:
    try:
        return json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=True)
    except TypeError as exc:
        if getattr(exc, "not_jsonable", False):
            raise  # a value no retry converts
        # else keys JSON does not take (json never hands keys to ``default``)
    # Retried outside the handler: a failure here is not chained to the first one.
    return json.dumps(_keys(value), default=default, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=True)


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (``TypeError`` when it is not JSON-able)."""
    try:
        return _dump(value, False).encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: as \udcXX escapes, they come back as they were.
        return _dump(value, True).encode("ascii")


def loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))
