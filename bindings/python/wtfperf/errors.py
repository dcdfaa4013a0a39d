"""Status codes and the exception classes that carry them.

Every failing native call becomes a :class:`WtfperfError` subclass chosen by
its status code. The message is ``wtfperf_last_error()`` read right after the
failing call, on the same thread (the library keeps it per thread).
"""

from __future__ import annotations

from typing import Optional

# Status codes of include/wtfperf.h (never renumbered).
OK = 0
MISS = 1
ABORTED = 2
ERR_NULL = -1
ERR_INVALID = -2
ERR_IO = -3
ERR_STORE = -4
ERR_STATE = -5
ERR_PANIC = -6
ERR_CALLBACK = -7

STATUS_NAMES = {
    OK: "WTFPERF_OK",
    MISS: "WTFPERF_MISS",
    ABORTED: "WTFPERF_ABORTED",
    ERR_NULL: "WTFPERF_ERR_NULL",
    ERR_INVALID: "WTFPERF_ERR_INVALID",
    ERR_IO: "WTFPERF_ERR_IO",
    ERR_STORE: "WTFPERF_ERR_STORE",
    ERR_STATE: "WTFPERF_ERR_STATE",
    ERR_PANIC: "WTFPERF_ERR_PANIC",
    ERR_CALLBACK: "WTFPERF_ERR_CALLBACK",
}


def status_name(status: Optional[int]) -> str:
    """The name of a status code, e.g. ``"WTFPERF_ERR_IO"``."""
    if status is None:
        return "none"
    return STATUS_NAMES.get(status, "WTFPERF_UNKNOWN")


class WtfperfError(Exception):
    """Base class of every error the binding raises.

    ``status`` is the native status code (``None`` for errors raised by the
    binding itself before any native call, e.g. a library that cannot load);
    ``message`` is the library's detail message.
    """

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def status_name(self) -> str:
        return status_name(self.status)

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status_name}: {self.message}" if self.message else self.status_name


class NullPointerError(WtfperfError, ValueError):
    """``WTFPERF_ERR_NULL``: a required argument was missing."""


class InvalidArgumentError(WtfperfError, ValueError):
    """``WTFPERF_ERR_INVALID``: a bad argument (range, UTF-8, zero interval...)."""


class WtfperfIOError(WtfperfError, OSError):
    """``WTFPERF_ERR_IO``: an operating-system I/O error."""


class StoreError(WtfperfError):
    """``WTFPERF_ERR_STORE``: the persistent (SQLite) tier failed."""


class StateError(WtfperfError, RuntimeError):
    """``WTFPERF_ERR_STATE``: the call is not valid in the object's state."""


class ClosedError(StateError):
    """The handle was closed; using it again is an error (raised by the binding)."""

    def __init__(self, what: str):
        super().__init__(f"{what} is closed", ERR_STATE)


class PanicError(WtfperfError):
    """``WTFPERF_ERR_PANIC``: a bug inside the library was caught; it stays usable."""


class CallbackError(WtfperfError):
    """``WTFPERF_ERR_CALLBACK``: a host callback failed."""


class LibraryError(WtfperfError, ImportError):
    """libwtfperf could not be found or loaded, or has an incompatible version."""


_BY_STATUS = {
    ERR_NULL: NullPointerError,
    ERR_INVALID: InvalidArgumentError,
    ERR_IO: WtfperfIOError,
    ERR_STORE: StoreError,
    ERR_STATE: StateError,
    ERR_PANIC: PanicError,
    ERR_CALLBACK: CallbackError,
}


def error_for(status: int, message: str) -> WtfperfError:
    """The exception for a failing status code (unknown codes give the base class)."""
    return _BY_STATUS.get(status, WtfperfError)(message, status)
