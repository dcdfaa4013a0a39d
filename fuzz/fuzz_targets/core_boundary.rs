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
    let text: Vec<u8> = data.iter().copied().filter(|&b| b != 0).collect();
    let c = CString::new(text).unwrap();
    // SAFETY: `c` is a valid NUL-terminated string.
    let status = unsafe { wtfperf_debug_force_panic(c.as_ptr()) };
    assert_eq!(status, WTFPERF_ERR_PANIC);
    let mut buf = wtfperf_buf::from_slice(data);
    // SAFETY: `buf` was filled by the library and is freed once, then again as a no-op.
    unsafe {
        wtfperf::ffi::buf::wtfperf_buf_free(&mut buf);
        wtfperf::ffi::buf::wtfperf_buf_free(&mut buf);
    }
});
