//! Checked conversions of C arguments: pointers, slices, strings, paths,
//! handles and out-params. Each returns `WTFPERF_ERR_NULL` /
//! `WTFPERF_ERR_INVALID` errors that name the argument.

use crate::error::{Error, Result};
use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A shared reference from a pointer that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `T` for `'a`.
pub unsafe fn as_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: per the caller's contract, non-NULL means valid.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::null(name))
}

/// A mutable reference from a pointer that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or valid for reads and writes of `T` for `'a`, unaliased.
pub unsafe fn as_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: per the caller's contract, non-NULL means valid and unaliased.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::null(name))
}

/// An optional shared reference (NULL gives `None`).
///
/// # Safety
/// `ptr` is NULL or valid for reads of `T` for `'a`.
pub unsafe fn opt_ref<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: per the caller's contract.
    unsafe { ptr.as_ref() }
}

/// Copies a C options struct (NULL gives `None`), first normalizing its
/// `bool` fields, given by byte offset, to 0 or 1.
///
/// A C host, or a binding writing raw memory, may store any byte in a
/// `bool` field, and a Rust `bool` other than 0 or 1 is undefined behaviour;
/// here any nonzero byte reads as true, as C's `if (flag)` would.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `size_of::<T>()` bytes, and
/// `bool_offsets` are the offsets of `T`'s `bool` fields (use `offset_of!`);
/// every other field of `T` is valid for any bit pattern C can store.
pub unsafe fn read_options<T: Copy>(ptr: *const T, bool_offsets: &[usize]) -> Option<T> {
    if ptr.is_null() {
        return None;
    }
    let mut copy = std::mem::MaybeUninit::<T>::uninit();
    let bytes = copy.as_mut_ptr().cast::<u8>();
    // SAFETY: `ptr` is valid for `size_of::<T>()` bytes (contract), `copy`
    // has room for them; the offsets lie inside `T`; after the bools are
    // normalized every field holds a valid value, so `assume_init` is sound.
    unsafe {
        std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), bytes, std::mem::size_of::<T>());
        for &offset in bool_offsets {
            debug_assert!(offset < std::mem::size_of::<T>());
            let b = bytes.add(offset);
            *b = u8::from(*b != 0);
        }
        Some(copy.assume_init())
    }
}

/// Checks an out-param is not NULL, before any work is done.
pub fn out_ptr<T>(ptr: *mut T, name: &str) -> Result<*mut T> {
    if ptr.is_null() {
        Err(Error::null(name))
    } else {
        Ok(ptr)
    }
}

/// Writes `value` through an out-param already checked by [`out_ptr`].
///
/// # Safety
/// `ptr` is non-NULL, aligned and valid for writes of `T`.
pub unsafe fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: per the caller's contract; `write` does not drop the old value,
    // which is uninitialised memory from C's point of view.
    unsafe { ptr.write(value) }
}

/// A byte slice from `(ptr, len)`. `(NULL, 0)` is the empty slice; NULL with
/// a non-zero length is `WTFPERF_ERR_NULL`.
///
/// # Safety
/// When non-NULL, `ptr` is valid for reads of `len` bytes for `'a`.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::null(name));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{name}: length {len} is too large")));
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A slice of `T` from `(ptr, len)` with the same NULL rules as [`bytes`].
///
/// # Safety
/// When non-NULL, `ptr` is valid for reads of `len` elements for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::null(name));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::invalid(format!("{name}: length {len} is too large")));
    }
    // SAFETY: non-NULL and valid for `len` elements per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A NUL-terminated C string that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string for `'a`.
pub unsafe fn cstr<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr> {
    if ptr.is_null() {
        return Err(Error::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A UTF-8 text argument that must not be NULL.
///
/// # Safety
/// As [`cstr`].
pub unsafe fn str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let c = unsafe { cstr(ptr, name)? };
    c.to_str()
        .map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// An optional UTF-8 text argument (NULL gives `None`).
///
/// # Safety
/// As [`cstr`].
pub unsafe fn opt_str<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { str(ptr, name) }.map(Some)
}

/// A path argument (any non-NUL bytes) that must not be NULL or empty.
///
/// # Safety
/// As [`cstr`].
pub unsafe fn path<'a>(ptr: *const c_char, name: &str) -> Result<&'a Path> {
    // SAFETY: forwarded contract.
    let c = unsafe { cstr(ptr, name)? };
    if c.is_empty() {
        return Err(Error::invalid(format!("{name} is an empty path")));
    }
    Ok(Path::new(OsStr::from_bytes(c.to_bytes())))
}

/// An optional path argument (NULL gives `None`; empty is invalid).
///
/// # Safety
/// As [`cstr`].
pub unsafe fn opt_path<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a Path>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { path(ptr, name) }.map(Some)
}

/// An array of `n` paths; `(NULL, 0)` is empty, and no element may be NULL.
///
/// # Safety
/// When non-NULL, `ptr` points to `n` pointers, each NULL or a valid
/// NUL-terminated string for `'a`.
pub unsafe fn paths<'a>(ptr: *const *const c_char, n: usize, name: &str) -> Result<Vec<&'a Path>> {
    // SAFETY: forwarded contract.
    let items = unsafe { slice(ptr, n, name)? };
    items
        .iter()
        .enumerate()
        // SAFETY: each element is NULL or a valid string per the contract.
        .map(|(i, &p)| unsafe { path(p, &format!("{name}[{i}]")) })
        .collect()
}

/// An array of `n` UTF-8 strings; `(NULL, 0)` is empty.
///
/// # Safety
/// As [`paths`].
pub unsafe fn strs<'a>(ptr: *const *const c_char, n: usize, name: &str) -> Result<Vec<&'a str>> {
    // SAFETY: forwarded contract.
    let items = unsafe { slice(ptr, n, name)? };
    items
        .iter()
        .enumerate()
        // SAFETY: each element is NULL or a valid string per the contract.
        .map(|(i, &p)| unsafe { str(p, &format!("{name}[{i}]")) })
        .collect()
}

/// A finite number, or `WTFPERF_ERR_INVALID` naming the argument.
pub fn finite(value: f64, name: &str) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(format!(
            "{name} must be finite, got {value}"
        )))
    }
}

/// Moves a Rust value to the heap and hands C an owning pointer.
pub fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of a handle made by [`into_handle`] and drops it;
/// NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`into_handle::<T>`] and was not freed yet.
pub unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: per the caller's contract the box is live and owned by us.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Turns Rust text into a `CString`, replacing interior NULs (never fails).
pub fn to_cstring(text: &str) -> std::ffi::CString {
    std::ffi::CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// Turns a path into a `CString` byte for byte (paths never contain NUL).
pub fn path_cstring(path: &Path) -> std::ffi::CString {
    std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}
