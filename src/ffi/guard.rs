//! The panic guard every exported function runs inside.
//!
//! A function, not a macro, so rustfmt still formats the bodies. A panic is
//! caught, recorded as the thread's last error and turned into
//! `WTFPERF_ERR_PANIC` (or the caller's neutral value for functions that
//! return no status); it never unwinds into the host.

use super::status::{WTFPERF_ERR_PANIC, set_last_error, wtfperf_status};
use crate::error::{Error, Result};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `body`; `Ok(code)` is returned as is (`WTFPERF_OK`, `WTFPERF_MISS`,
/// ...), an error or a panic is recorded as the last error and mapped to its
/// status code.
pub fn guard<F>(body: F) -> wtfperf_status
where
    F: FnOnce() -> Result<wtfperf_status>,
{
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => set_last_error(&err),
        Err(payload) => {
            let err = Error::panic(format!("internal panic: {}", panic_message(&*payload)));
            set_last_error(&err);
            WTFPERF_ERR_PANIC
        }
    }
}

/// Runs `body` for a function that returns a plain value; a panic gives
/// `fallback` (and sets the last error).
pub fn guard_value<T, F>(fallback: T, body: F) -> T
where
    F: FnOnce() -> T,
{
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let err = Error::panic(format!("internal panic: {}", panic_message(&*payload)));
            set_last_error(&err);
            fallback
        }
    }
}
