//! Arbitrary status codes and strings through the core boundary functions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CStr, CString};
use wtfperf::ffi::*;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        let code = i32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        // SAFETY: wtfperf_status_str returns a static NUL-terminated string.
        let name = unsafe { CStr::from_ptr(wtfperf_status_str(code)) };
        assert!(name.to_bytes().starts_with(b"WTFPERF_"));
    }
    // (wtfperf_debug_force_panic is not fuzzed: libFuzzer's panic hook aborts
    // on any panic, caught or not; the C harness covers the panic guard.)
    let text: Vec<u8> = data.iter().copied().filter(|&b| b != 0).collect();
    let c = CString::new(text).unwrap();
    // SAFETY: the last error is a valid NUL-terminated string.
    let last = unsafe { CStr::from_ptr(wtfperf_last_error()) };
    assert!(last.to_bytes().len() < 1 << 20);
    drop(c);
    let mut buf = wtfperf_buf::from_slice(data);
    // SAFETY: `buf` was filled by the library and is freed once, then again as a no-op.
    unsafe {
        wtfperf::ffi::buf::wtfperf_buf_free(&mut buf);
        wtfperf::ffi::buf::wtfperf_buf_free(&mut buf);
    }
});
