//! The C boundary, and nothing else.
//!
//! Every exported function runs inside [`guard`] (or [`guard_value`] for the
//! few that return no status), checks its pointers with the helpers of
//! [`args`], calls safe Rust, and converts the result. Logic never lives here.
//!
//! Plumbing: [`status`] (codes, `wtfperf_status_str`, `wtfperf_last_error`),
//! [`guard`] (panic guard), [`args`] (pointer, slice, string and path
//! helpers), [`buf`] (`wtfperf_buf`). One thin file per part follows.

#![allow(non_camel_case_types)]

pub mod args;
pub mod buf;
pub mod guard;
pub mod status;

pub mod bench;
pub mod cache;
pub mod profiler;
pub mod scan;

pub use buf::wtfperf_buf;
pub use guard::{guard, guard_value};
pub use status::*;

use std::ffi::c_char;

/// The library version as a static NUL-terminated string, e.g. "0.1.0".
///
/// Equal to `WTFPERF_VERSION_STRING` of the header the program was compiled
/// against when header and library match; bindings compare the two at load.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Test hook: panics inside the library's panic guard on purpose.
///
/// Always returns `WTFPERF_ERR_PANIC` and sets `wtfperf_last_error()` to a
/// message containing `message` (or "forced panic" when `message` is NULL).
/// Exists so hosts and bindings can check that an internal panic never
/// unwinds into them; it has no other effect.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_debug_force_panic(message: *const c_char) -> wtfperf_status {
    guard(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let text = unsafe { args::opt_str(message, "message")? }.unwrap_or("forced panic");
        panic!("{text}");
    })
}
