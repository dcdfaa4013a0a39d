//! Profiles with arbitrary scope names: every JSON writer's output must parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use wtfperf::ffi::buf::{wtfperf_buf, wtfperf_buf_free};
use wtfperf::ffi::profiler::*;
use wtfperf::ffi::*;

fn parses(buf: &mut wtfperf_buf) {
    // SAFETY: the buffer was filled by the library: `data` valid for `len` bytes.
    let text = unsafe { std::slice::from_raw_parts(buf.data, buf.len) };
    serde_json::from_slice::<serde_json::Value>(text).expect("JSON output parses");
    // SAFETY: freed once.
    unsafe { wtfperf_buf_free(buf) };
}

fuzz_target!(|data: &[u8]| {
    let names: Vec<CString> = data
        .split(|&b| b == 0)
        .take(16)
        .map(|s| CString::new(s).unwrap())
        .collect();
    // SAFETY (whole block): valid options, out-params and live handles.
    unsafe {
        let mut o = wtfperf_profiler_options_default();
        o.sample_interval_s = 0.5;
        o.trace_memory = data.first().is_some_and(|b| b & 1 == 1);
        let mut p = std::ptr::null_mut();
        assert_eq!(wtfperf_profiler_new(&o, &mut p), WTFPERF_OK);
        assert_eq!(wtfperf_profiler_start(p), WTFPERF_OK);
        let mut tokens = Vec::new();
        for n in &names {
            let mut t = 0u64;
            if wtfperf_profiler_scope_enter(p, n.as_ptr(), &mut t) == WTFPERF_OK {
                tokens.push(t);
            }
        }
        for t in tokens.iter().rev() {
            assert_eq!(wtfperf_profiler_scope_exit(p, *t), WTFPERF_OK);
        }
        let mut prof = std::ptr::null_mut();
        assert_eq!(wtfperf_profiler_stop(p, &mut prof), WTFPERF_OK);
        let mut buf = wtfperf_buf::empty();
        assert_eq!(wtfperf_profile_to_json(prof, &mut buf), WTFPERF_OK);
        parses(&mut buf);
        assert_eq!(wtfperf_profile_to_chrome_trace(prof, &mut buf), WTFPERF_OK);
        parses(&mut buf);
        let mut m = std::ptr::null_mut();
        assert_eq!(wtfperf_profile_manager_new(&mut m), WTFPERF_OK);
        for n in &names {
            let _ = wtfperf_profile_manager_add(m, n.as_ptr(), prof);
        }
        assert_eq!(wtfperf_profile_manager_summary_json(m, &mut buf), WTFPERF_OK);
        parses(&mut buf);
        wtfperf_profile_manager_free(m);
        wtfperf_profile_free(prof);
        wtfperf_profiler_free(p);
    }
});
