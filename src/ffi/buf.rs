//! `wtfperf_buf`: bytes and strings handed to C, owned by the library until
//! `wtfperf_buf_free`.

use super::guard::guard_value;

/// Output bytes owned by the library.
///
/// `data` is NUL-terminated for convenience (`len` excludes the NUL), so a
/// text result can be used as a C string. Release with `wtfperf_buf_free`.
/// An empty buffer (`data == NULL`, `len == 0`) may also be freed.
#[repr(C)]
#[derive(Debug)]
pub struct wtfperf_buf {
    /// The bytes, followed by a NUL; NULL for a zeroed buffer.
    pub data: *mut u8,
    /// Number of bytes, excluding the trailing NUL.
    pub len: usize,
}

impl wtfperf_buf {
    /// A buffer that owns `bytes` plus a trailing NUL.
    #[inline]
    pub fn from_vec(mut bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        bytes.push(0);
        let boxed = bytes.into_boxed_slice();
        wtfperf_buf {
            data: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }

    /// A buffer that owns a copy of `bytes` plus a trailing NUL (one
    /// allocation of exactly `len + 1` bytes).
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut v = Vec::with_capacity(bytes.len() + 1);
        v.extend_from_slice(bytes);
        Self::from_vec(v)
    }

    /// The empty buffer: `data == NULL`, `len == 0`.
    pub fn empty() -> Self {
        wtfperf_buf {
            data: std::ptr::null_mut(),
            len: 0,
        }
    }
}

/// Releases the bytes of a buffer the library returned and zeroes it.
///
/// `buf == NULL` or a buffer whose `data` is NULL is a no-op, so freeing
/// twice through the same struct is harmless.
///
/// # Safety
/// `buf` is NULL or points to a `wtfperf_buf` filled by this library (or
/// zeroed) and not freed through another copy of the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_buf_free(buf: *mut wtfperf_buf) {
    guard_value((), || {
        // SAFETY: NULL or a valid struct per the contract.
        let Some(buf) = (unsafe { buf.as_mut() }) else {
            return;
        };
        if buf.data.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(buf.data, buf.len + 1);
        // SAFETY: `data` came from `Box<[u8]>` of `len + 1` bytes in `from_vec`.
        drop(unsafe { Box::from_raw(slice) });
        buf.data = std::ptr::null_mut();
        buf.len = 0;
    })
}
