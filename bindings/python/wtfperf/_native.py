"""Loading libwtfperf and declaring its C API for ctypes.

Lookup order: ``$WTFPERF_LIB`` (a path to the shared library) when set; else
the build tree this binding sits in (``<repo>/target/release``, then
``<repo>/target/debug``); else the system library path. At load the library's
``wtfperf_version()`` must have the MAJOR.MINOR this binding was written for.

Everything here mirrors ``include/wtfperf.h`` exactly: structs keep the
header's field order, including fields added after DESIGN.md's.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import sys
import threading
import time
import weakref
from contextlib import contextmanager
from ctypes import POINTER, c_char_p, c_int32, c_size_t, c_uint8, c_void_p
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence, Union

from . import errors
from .errors import ClosedError, LibraryError, WtfperfError, error_for

#: The API version this binding was written against (MAJOR, MINOR).
API_VERSION = (0, 1)

if sys.platform == "darwin":
    _LIB_NAME = "libwtfperf.dylib"
elif sys.platform == "win32":
    _LIB_NAME = "wtfperf.dll"
else:
    _LIB_NAME = "libwtfperf.so"

status_t = c_int32

_LOADER_PATH = {"darwin": "DYLD_LIBRARY_PATH", "win32": "PATH"}.get(sys.platform, "LD_LIBRARY_PATH")


# ---------------------------------------------------------------- structs


class wtfperf_buf(ctypes.Structure):
    _fields_ = [("data", POINTER(c_uint8)), ("len", c_size_t)]


# ---------------------------------------------------------------- loading


def _candidates() -> List[str]:
    env = os.environ.get("WTFPERF_LIB")
    if env:
        # An explicit choice is never second-guessed by a silent fallback.
        return [env]
    found = []
    repo = Path(__file__).resolve().parents[3]
    if (repo / "Cargo.toml").is_file():  # a checkout's bindings/python, not an installed package
        for profile in ("release", "debug"):
            p = repo / "target" / profile / _LIB_NAME
            if p.is_file():
                found.append(str(p))
    found.append(_LIB_NAME)  # the system search path (LD_LIBRARY_PATH, ldconfig)
    return found


def _load() -> ctypes.CDLL:
    tried = []
    for cand in _candidates():
        try:
            lib = ctypes.CDLL(cand)
        except OSError as exc:
            tried.append(f"{cand}: {exc}")
            continue
        lib.wtfperf_version.restype = c_char_p
        lib.wtfperf_version.argtypes = []
        version = lib.wtfperf_version().decode("ascii", "replace")
        try:
            major, minor = (int(x) for x in version.split(".")[:2])
        except ValueError:
            major, minor = -1, -1
        if (major, minor) != API_VERSION:
            raise LibraryError(
                f"libwtfperf at {cand} has version {version}; this binding needs "
                f"{API_VERSION[0]}.{API_VERSION[1]}.x (set WTFPERF_LIB to a matching build)"
            )
        lib._wtfperf_path = cand  # type: ignore[attr-defined]
        return lib
    raise LibraryError(
        f"cannot load libwtfperf: set WTFPERF_LIB to the path of {_LIB_NAME}, or put its "
        f"directory on the loader's path ({_LOADER_PATH}, or install it where ldconfig looks); "
        "in a checkout, `cargo build` puts it in target/: " + "; ".join(tried)
    )


lib = _load()
#: Where the library was loaded from.
LIB_PATH: str = lib._wtfperf_path  # type: ignore[attr-defined]


class _Missing:
    """Stands in for a function this build of the library does not export."""

    def __init__(self, name: str):
        self.__name__ = name

    def __call__(self, *args: Any) -> Any:
        raise LibraryError(f"libwtfperf at {LIB_PATH} does not export {self.__name__}")


def _declare(name: str, restype: Any, argtypes: Sequence[Any]) -> Any:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        return _Missing(name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


# ---------------------------------------------------------------- core API

wtfperf_version = _declare("wtfperf_version", c_char_p, [])
wtfperf_status_str = _declare("wtfperf_status_str", c_char_p, [status_t])
wtfperf_last_error = _declare("wtfperf_last_error", c_char_p, [])
wtfperf_buf_free = _declare("wtfperf_buf_free", None, [POINTER(wtfperf_buf)])
wtfperf_debug_force_panic = _declare("wtfperf_debug_force_panic", status_t, [c_char_p])


def version() -> str:
    """The loaded library's version string, e.g. ``"0.1.0"``."""
    return wtfperf_version().decode("ascii", "replace")


def check(status: int) -> int:
    """Return ``status`` when it is not an error; raise its exception otherwise.

    Must be called right after the native call, on the same thread, so the
    thread-local last error still describes it.
    """
    if status >= 0:
        return status
    raw = wtfperf_last_error()
    message = raw.decode("utf-8", "replace") if raw else ""
    raise error_for(status, message)


def take_buf(buf: wtfperf_buf) -> bytes:
    """Copy a library-owned buffer into ``bytes`` and free it."""
    try:
        if not buf.data:
            return b""
        return ctypes.string_at(buf.data, buf.len)
    finally:
        wtfperf_buf_free(ctypes.byref(buf))


PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def cpath(path: PathLike) -> bytes:
    """A path as the NUL-terminated bytes the C API takes."""
    b = os.fsencode(path)
    if b"\0" in b:
        raise errors.InvalidArgumentError("path contains a NUL byte", errors.ERR_INVALID)
    return b


def ctext(text: str, name: str) -> bytes:
    """A text argument (an analyzer id, a profile or scope name, a glob...)
    as the NUL-terminated UTF-8 the C API takes: a NUL in it would silently
    cut it short there, so it is refused (:class:`InvalidArgumentError`)."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, not {type(text).__name__}")
    b = text.encode("utf-8")
    if b"\0" in b:
        raise errors.InvalidArgumentError(f"{name} contains a NUL character: {text!r}", errors.ERR_INVALID)
    return b


def many(items: Any, name: str, what: str = "paths") -> List[Any]:
    """``items`` (an iterable of paths or names) as a list. A bare str,
    bytes or path is refused (``TypeError``) rather than iterated character
    by character ("/etc/hostname" would be "/", "e", "t"...)."""
    if isinstance(items, (str, bytes, bytearray, os.PathLike)):
        raise TypeError(
            f"{name} must be a list of {what}, not a single {type(items).__name__}: pass [{items!r}]"
        )
    return list(items)


def ckey(key: Union[str, bytes, bytearray, memoryview]) -> bytes:
    """A cache key as bytes (text keys are UTF-8)."""
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"key must be str or bytes, not {type(key).__name__}")


class CStrArray:
    """A ``const char *const *`` array that keeps its strings alive."""

    def __init__(self, items: Sequence[bytes]):
        self._items = [c_char_p(b) for b in items]
        self.array = (c_char_p * len(items))(*items) if items else None
        self.len = len(items)

    @property
    def ptr(self) -> Any:
        return ctypes.cast(self.array, POINTER(c_char_p)) if self.array is not None else None


_INT_TYPES = (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint8, ctypes.c_uint16,
              ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_ssize_t)


def cint(value: Any, ctype: Any, name: str) -> int:
    """``value`` as an integer that fits ``ctype`` exactly; ValueError
    (:class:`InvalidArgumentError`) otherwise, instead of ctypes' silent
    wrap-around (2**64 -> 0, -1 -> 2**64-1)."""
    try:
        v = value.__index__()
    except AttributeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    bits = 8 * ctypes.sizeof(ctype)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if ctype(-1).value == -1 else (0, (1 << bits) - 1)
    if not lo <= v <= hi:
        raise errors.InvalidArgumentError(f"{name} = {v} is out of range [{lo}, {hi}]", errors.ERR_INVALID)
    return v


def set_field(struct: Any, name: str, value: Any) -> None:
    """``setattr`` on a ctypes struct, integers checked by :func:`cint`."""
    ctype = dict((f[0], f[1]) for f in struct._fields_)[name]
    if ctype in _INT_TYPES and not isinstance(value, bool):
        value = cint(value, ctype, name)
    setattr(struct, name, value)


def make_private_dir(path: Any) -> None:
    """Create directory ``path`` and its missing parents, each with mode 0700
    (SECURITY.md: the directories the binding creates are private; set with
    chmod, whatever the umask). An existing directory is left as it is."""
    missing = []
    p = Path(os.fsdecode(path))
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)


# ---------------------------------------------------------------- handles


class Handle:
    """An owned native handle: idempotent ``close()``, context manager,
    :class:`ClosedError` on use after close, ``weakref.finalize`` backstop.

    Native calls run without the GIL, so ``close()`` on one thread could race
    a call on another: calls take the pointer through :meth:`_acquire` /
    :meth:`_release`, and ``close()`` waits until no call is in flight.
    """

    _kind = "handle"

    #: False for objects whose native state holds no lock or thread (an
    #: immutable profile): a forked child keeps using its copy.
    _reopen_after_fork = True

    def __init__(self, ptr: c_void_p, free: Callable[[c_void_p], None]):
        self._ptr = ptr
        self._free = free
        self._cond = threading.Condition(threading.Lock())
        self._busy: dict = {}
        self._inherited = False
        self._finalizer = weakref.finalize(self, free, ptr)
        _live_handles.add(self)

    def _open_native(self) -> c_void_p:
        """A fresh native object with this handle's options (after fork)."""
        raise NotImplementedError

    def _after_fork_child(self) -> None:
        """In a forked child: replace the Python-side locks (another thread of
        the parent may have held them) and, for objects with native locks or
        threads, drop the inherited native object without calling into the
        library (leaked, never freed: its locks may be held); the first use
        opens a fresh one."""
        self._cond = threading.Condition(threading.Lock())
        self._busy = {}
        if self._reopen_after_fork and self._finalizer.alive:
            self._finalizer.detach()
            self._inherited = True

    def _reopen(self) -> None:
        ptr = self._open_native()
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, self._free, ptr)
        self._inherited = False
        self._after_reopen()

    def _after_reopen(self) -> None:
        """Hook: restore what the fresh native object must hold."""

    def _acquire(self) -> c_void_p:
        with self._cond:
            if self._inherited:
                self._reopen()
            if not self._finalizer.alive:
                raise ClosedError(self._kind)
            if _runs.shutdown:
                raise _exiting()
            me = threading.get_ident()
            self._busy[me] = self._busy.get(me, 0) + 1
            return self._ptr

    def _release(self) -> None:
        with self._cond:
            me = threading.get_ident()
            n = self._busy[me] - 1
            if n:
                self._busy[me] = n
            else:
                del self._busy[me]
            if not self._busy:
                self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive and not self._inherited

    def close(self) -> None:
        """Free the native object. Idempotent; waits for calls in flight on
        other threads; raises :class:`StateError` when called from inside a
        callback of a call that uses this handle."""
        with self._cond:
            if self._inherited:
                self._inherited = False  # the parent's object: never freed here
                return
            if not self._finalizer.alive:
                return
            if threading.get_ident() in self._busy:
                raise errors.StateError(
                    f"cannot close a {self._kind} from inside a call that uses it",
                    errors.ERR_STATE,
                )
            while self._busy:
                self._cond.wait()
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------- callbacks


class CallbackGuard:
    """Catches exceptions raised by Python callbacks so they never unwind
    through native frames; the first one is re-raised after the native call.

    ``wrap(fn, on_error)`` gives a function for a ctypes trampoline: it calls
    ``fn`` and, when it raises, records the exception and returns
    ``on_error`` (e.g. 1 = "stop" for callbacks returning int). Once the
    interpreter is exiting (see :func:`native_run`) every trampoline returns
    ``on_error`` at once, without calling ``fn``.
    """

    def __init__(self) -> None:
        self.exc: Optional[BaseException] = None
        #: Set by the temporary SIGINT handler of :func:`native_run`.
        self.interrupted = False

    @property
    def stopping(self) -> bool:
        return self.exc is not None or self.interrupted or _runs.shutdown

    def wrap(self, fn: Callable[..., Any], on_error: Any = None) -> Callable[..., Any]:
        def trampoline(*args: Any) -> Any:
            if self.exc is not None or self.interrupted or _runs.shutdown:
                return on_error
            try:
                return fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised after the call
                self.exc = exc
                return on_error

        # An exception raised before the try (an asynchronous one at the
        # function's first instruction) is caught by ctypes, which reports it
        # to sys.unraisablehook: the hook below records it here, so the next
        # callbacks stop the run and it is re-raised afterwards.
        trampoline._wtfperf_guard = self  # type: ignore[attr-defined]
        return trampoline

    def reraise(self) -> None:
        exc, self.exc = self.exc, None
        if exc is not None:
            raise exc.with_traceback(exc.__traceback__)


# ---------------------------------------------------------------- interpreter exit, fork
#
# fork: a child inherits the parent's native handles, whose locks another
# thread of the parent may have held at fork time (and SQLite connections
# must not be used across fork). os.register_at_fork marks every live handle
# as inherited in the child; its first use there opens a fresh native object
# with the same options (see Handle._after_fork_child).
#
# A daemon thread inside a native run with Python callbacks when the
# interpreter exits: Python ends a thread that takes the GIL during
# finalization with pthread_exit, whose forced unwind through the library's
# Rust frames aborts the process. So at exit (an atexit handler, before
# interpreter finalization) the binding stops every such run: trampolines
# return their stop value from then on, new runs and handle uses are refused,
# and the handler waits (GIL released) for the runs in flight to return.
# Only then are handles closed; one still in use when the wait times out is
# leaked rather than freed under a running call.

#: Seconds the exit handler waits for native runs in flight.
EXIT_WAIT_S = 5.0


class _Runs:
    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.count = 0
        self.shutdown = False


_runs = _Runs()
_live_handles: "weakref.WeakSet[Handle]" = weakref.WeakSet()


def _exiting() -> errors.StateError:
    return errors.StateError("the interpreter is exiting: no new native call", errors.ERR_STATE)


def _sigint_handler_for(guard: "CallbackGuard") -> Optional[Any]:
    """Install a SIGINT handler recording Ctrl-C in ``guard`` (the trampolines
    then return "stop"); the handler to restore, or None when not installed:
    only from the main thread, and only over Python's default handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous is not signal.default_int_handler:
            return None

        def on_sigint(_signum: int, _frame: Any) -> None:
            guard.interrupted = True

        signal.signal(signal.SIGINT, on_sigint)
    except (ValueError, OSError):  # no signals here (a sub-interpreter...)
        return None
    return previous


@contextmanager
def native_run(guard: Optional["CallbackGuard"] = None) -> Iterator[Optional[Any]]:
    """Brackets a native run that calls back into Python (scan, analyze...):
    refused (:class:`StateError`) once the interpreter is exiting; the exit
    handler waits for the runs in flight.

    With ``guard``, on the main thread: Ctrl-C during the run is recorded
    (the trampolines return "stop") and raised as ``KeyboardInterrupt``
    (through ``guard.exc``) once the native call has returned. Yields
    whether that handler is installed.
    """
    with _runs.cond:
        if _runs.shutdown:
            raise _exiting()
        _runs.count += 1
    restore = None
    try:
        restore = _sigint_handler_for(guard) if guard is not None else None
        yield restore is not None
    finally:
        if restore is not None:
            signal.signal(signal.SIGINT, restore)
        with _runs.cond:
            _runs.count -= 1
            if not _runs.count:
                _runs.cond.notify_all()
    if guard is not None and guard.interrupted and guard.exc is None:
        guard.exc = KeyboardInterrupt()


_previous_unraisablehook = sys.unraisablehook


def _unraisablehook(unraisable: Any) -> None:
    guard = getattr(unraisable.object, "_wtfperf_guard", None)
    if guard is not None:
        if guard.exc is None:
            guard.exc = unraisable.exc_value
        return
    _previous_unraisablehook(unraisable)


sys.unraisablehook = _unraisablehook


def _at_exit() -> None:
    deadline = time.monotonic() + EXIT_WAIT_S
    with _runs.cond:
        _runs.shutdown = True
        while _runs.count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _runs.cond.wait(left)
    for h in list(_live_handles):
        with h._cond:
            while h._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    # Still in use by a native call: never free it under that call.
                    h._finalizer.detach()
                    break
                h._cond.wait(left)


#: Seconds a fork waits, at most, for native calls in flight on handles.
FORK_WAIT_S = 2.0
_fork_held: List["Handle"] = []


def _before_fork() -> None:
    # Let calls in flight on handles finish, and hold off new ones, so the
    # child inherits quiescent native objects (SQLite keeps per-process lock
    # bookkeeping that a call cut by fork would leave held in the child).
    # Bounded: a long run (a scan using a cache) does not stall the fork.
    deadline = time.monotonic() + FORK_WAIT_S
    me = threading.get_ident()
    for h in list(_live_handles):
        h._cond.acquire()
        _fork_held.append(h)
        while h._busy and me not in h._busy:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            h._cond.wait(left)


def _after_fork_in_parent() -> None:
    while _fork_held:
        _fork_held.pop()._cond.release()


def _after_fork_in_child() -> None:
    global _runs
    _fork_held.clear()  # their locks are replaced below
    fresh = _Runs()
    fresh.shutdown = _runs.shutdown
    _runs = fresh
    for h in list(_live_handles):
        h._after_fork_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )

# weakref.finalize closes the remaining handles in its own atexit handler:
# make sure it is registered before ours, so that ours (LIFO) runs first.
weakref.finalize(_Runs, lambda: None)
atexit.register(_at_exit)


__all__ = [
    "API_VERSION",
    "LIB_PATH",
    "CallbackGuard",
    "CStrArray",
    "Handle",
    "WtfperfError",
    "check",
    "ckey",
    "cpath",
    "ctext",
    "lib",
    "many",
    "native_run",
    "take_buf",
    "version",
]
