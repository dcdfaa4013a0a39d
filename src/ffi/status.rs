//! Status codes, their names, and the thread-local last error message.

use crate::error::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{CString, c_char};

/// Result code of every fallible function (`WTFPERF_OK` = 0).
///
/// A plain `int32_t` rather than a C enum, so a value coming back from C can
/// never be an invalid Rust enum. Codes are never renumbered; a retired code
/// stays reserved.
pub type wtfperf_status = i32;

/// Success.
pub const WTFPERF_OK: wtfperf_status = 0;
/// Not an error: the cache holds no valid entry for the key.
pub const WTFPERF_MISS: wtfperf_status = 1;
/// Not an error: a host callback asked to stop.
pub const WTFPERF_ABORTED: wtfperf_status = 2;
/// A required pointer argument was NULL (or NULL with a non-zero length).
pub const WTFPERF_ERR_NULL: wtfperf_status = -1;
/// A bad argument: out of range, bad UTF-8 in a text field, zero interval...
pub const WTFPERF_ERR_INVALID: wtfperf_status = -2;
/// An operating-system I/O error.
pub const WTFPERF_ERR_IO: wtfperf_status = -3;
/// The persistent store (SQLite) failed.
pub const WTFPERF_ERR_STORE: wtfperf_status = -4;
/// The call is not valid in the object's state (e.g. stop without start).
pub const WTFPERF_ERR_STATE: wtfperf_status = -5;
/// An internal panic was caught; the library stays usable.
pub const WTFPERF_ERR_PANIC: wtfperf_status = -6;
/// A host callback failed.
pub const WTFPERF_ERR_CALLBACK: wtfperf_status = -7;

/// The status code of an error kind.
pub(crate) fn status_of(kind: ErrorKind) -> wtfperf_status {
    match kind {
        ErrorKind::Null => WTFPERF_ERR_NULL,
        ErrorKind::Invalid => WTFPERF_ERR_INVALID,
        ErrorKind::Io => WTFPERF_ERR_IO,
        ErrorKind::Store => WTFPERF_ERR_STORE,
        ErrorKind::State => WTFPERF_ERR_STATE,
        ErrorKind::Callback => WTFPERF_ERR_CALLBACK,
        ErrorKind::Aborted => WTFPERF_ABORTED,
        ErrorKind::Panic => WTFPERF_ERR_PANIC,
    }
}

/// The static name of a status code, e.g. "WTFPERF_ERR_NULL".
///
/// Unknown codes give "WTFPERF_UNKNOWN". The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_status_str(status: wtfperf_status) -> *const c_char {
    let name: &'static str = match status {
        WTFPERF_OK => "WTFPERF_OK\0",
        WTFPERF_MISS => "WTFPERF_MISS\0",
        WTFPERF_ABORTED => "WTFPERF_ABORTED\0",
        WTFPERF_ERR_NULL => "WTFPERF_ERR_NULL\0",
        WTFPERF_ERR_INVALID => "WTFPERF_ERR_INVALID\0",
        WTFPERF_ERR_IO => "WTFPERF_ERR_IO\0",
        WTFPERF_ERR_STORE => "WTFPERF_ERR_STORE\0",
        WTFPERF_ERR_STATE => "WTFPERF_ERR_STATE\0",
        WTFPERF_ERR_PANIC => "WTFPERF_ERR_PANIC\0",
        WTFPERF_ERR_CALLBACK => "WTFPERF_ERR_CALLBACK\0",
        _ => "WTFPERF_UNKNOWN\0",
    };
    name.as_ptr().cast()
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `err` as this thread's last error and returns its status code.
/// On a thread whose thread-locals are already destroyed (a call from a
/// thread-exit destructor) the message is dropped, never a panic: this runs
/// outside `catch_unwind`, where a panic would abort the host.
pub(crate) fn set_last_error(err: &Error) -> wtfperf_status {
    let text = CString::new(err.message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = text;
        }
    });
    status_of(err.kind)
}

/// The message of the last failing call on this thread ("" when none).
///
/// Only failing calls set it; a successful call leaves it as it was. The
/// pointer stays valid until the next failing call on the same thread; copy
/// the text if you need it longer. Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}
