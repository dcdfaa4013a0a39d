//! Sequences of set/get/invalidate/... with arbitrary keys, values and entry
//! options on one cache handle (memory-only or persistent, chosen by input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use std::sync::OnceLock;
use wtfperf::ffi::buf::{wtfperf_buf, wtfperf_buf_free};
use wtfperf::ffi::cache::*;
use wtfperf::ffi::*;

fn dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("wtfperf-fuzz-cache-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("bound.txt"), b"content").unwrap();
        d.to_string_lossy().into_owned()
    })
}

/// Splits the input into length-prefixed chunks.
struct Reader<'a>(&'a [u8]);
impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = (self.byte()? as usize).min(self.0.len());
        let (c, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(c)
    }
}

/// A path from fuzz bytes, kept inside the fuzz directory: a directory
/// stands for its whole tree (bound or checked file by file), so "/" or a
/// relative "." walked the whole filesystem or the fuzz build tree and the
/// run timed out. Arbitrary bytes still follow `<dir>/p/` (separators,
/// non-UTF-8); no ".." climbs out.
fn fuzz_path(bytes: &[u8]) -> CString {
    let mut v = format!("{}/p/", dir()).into_bytes();
    for &b in bytes.iter().filter(|&&b| b != 0) {
        let b = if b == b'.' && v.last() == Some(&b'.') {
            b'_'
        } else {
            b
        };
        v.push(b);
    }
    CString::new(v).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader(data);
    let Some(mode) = r.byte() else { return };
    let mut opts = wtfperf_cache_options_default();
    let dir_c = CString::new(dir()).unwrap();
    if mode & 1 == 1 {
        opts.dir = dir_c.as_ptr();
    }
    opts.memory_max_entries = (mode >> 1) as usize % 8;
    opts.memory_ttl_s = if mode & 0x40 != 0 { -1.0 } else { 3600.0 };
    let mut cache = std::ptr::null_mut();
    // SAFETY: valid options and out-param.
    if unsafe { wtfperf_cache_open(&opts, &mut cache) } != WTFPERF_OK {
        return;
    }
    let bound = CString::new(format!("{}/bound.txt", dir())).unwrap();
    while let Some(op) = r.byte() {
        let key = r.chunk().unwrap_or(&[]);
        let (kp, kl) = (key.as_ptr(), key.len());
        // SAFETY (whole block): every pointer is valid for its length or NULL with
        // length 0, out-params are valid, `cache` is live.
        unsafe {
            match op % 9 {
                0 | 1 => {
                    let value = r.chunk().unwrap_or(&[]);
                    let mut eo = wtfperf_entry_options_default();
                    let path = fuzz_path(r.chunk().unwrap_or(&[]));
                    let deps = [path.as_ptr(), bound.as_ptr()];
                    match op % 4 {
                        0 => eo.file_path = bound.as_ptr(),
                        1 => eo.file_path = path.as_ptr(),
                        2 => {
                            eo.deps = deps.as_ptr();
                            eo.deps_len = 2;
                        }
                        _ => eo.ttl_s = f64::from(op) - 128.0,
                    }
                    let _ = wtfperf_cache_set(cache, kp, kl, value.as_ptr(), value.len(), &eo);
                }
                2 | 3 => {
                    let mut out = wtfperf_buf::empty();
                    let st = wtfperf_cache_get(cache, kp, kl, &mut out);
                    assert!(st == WTFPERF_OK || st == WTFPERF_MISS || st < 0);
                    wtfperf_buf_free(&mut out);
                }
                4 => {
                    let _ = wtfperf_cache_invalidate(cache, kp, kl);
                }
                5 => {
                    let p = fuzz_path(key);
                    let mut n = 0usize;
                    let _ = wtfperf_cache_invalidate_file(cache, p.as_ptr(), &mut n);
                    let paths = [p.as_ptr(), bound.as_ptr()];
                    let _ = wtfperf_cache_check_file_changes(
                        cache,
                        paths.as_ptr(),
                        2,
                        None,
                        std::ptr::null_mut(),
                        &mut n,
                    );
                }
                6 => {
                    let mut out = wtfperf_buf::empty();
                    if wtfperf_cache_stats_json(cache, &mut out) == WTFPERF_OK {
                        let text = std::slice::from_raw_parts(out.data, out.len);
                        serde_json::from_slice::<serde_json::Value>(text)
                            .expect("stats JSON parses");
                    }
                    wtfperf_buf_free(&mut out);
                    let mut out = wtfperf_buf::empty();
                    let _ = wtfperf_cache_explain_miss(cache, kp, kl, &mut out);
                    wtfperf_buf_free(&mut out);
                }
                7 => {
                    let keys = [kp, kp];
                    let lens = [kl, kl];
                    let _ = wtfperf_cache_set_many(
                        cache,
                        keys.as_ptr(),
                        lens.as_ptr(),
                        keys.as_ptr(),
                        lens.as_ptr(),
                        std::ptr::null(),
                        2,
                    );
                }
                _ => {
                    let mut n = 0usize;
                    let _ = wtfperf_cache_cleanup_expired(cache, &mut n);
                    if key.first() == Some(&0) {
                        let _ = wtfperf_cache_clear(cache);
                    }
                }
            }
        }
    }
    // SAFETY: `cache` came from wtfperf_cache_open and is closed once.
    unsafe { wtfperf_cache_close(cache) };
});
