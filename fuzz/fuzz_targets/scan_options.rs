//! Scan options, globs and root paths from arbitrary bytes over a small fixed
//! tree; counts must add up whatever the filters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CString, c_char, c_void};
use std::sync::OnceLock;
use wtfperf::ffi::scan::*;
use wtfperf::ffi::*;

fn tree() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("wtfperf-fuzz-tree-{}", std::process::id()));
        for (p, body) in [
            ("a.rs", "fn main() {}\n"),
            ("src/b.py", "#!/usr/bin/env python3\nprint(1)\n"),
            ("src/deep/c.go", "package c\n"),
            (".hidden/d.txt", "x"),
            ("ignored.log", "log"),
            (".gitignore", "*.log\n"),
        ] {
            let f = d.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, body).unwrap();
        }
        d.to_string_lossy().into_owned()
    })
}

unsafe extern "C" fn on_file(userdata: *mut c_void, file: *const wtfperf_file) -> i32 {
    // SAFETY: userdata is the &mut u64 passed below; file is valid during the call.
    unsafe {
        *(userdata as *mut u64) += 1;
        assert!(!(*file).path.is_null() && !(*file).rel_path.is_null());
    }
    0
}

fn cstrings(data: &[u8]) -> Vec<CString> {
    data.split(|&b| b == b'\n')
        .map(|s| CString::new(s.iter().copied().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (flags, depth, rest) = (data[0], data[1], &data[2..]);
    let split = rest.iter().position(|&b| b == 0xff).unwrap_or(rest.len());
    let (globs, root_tail) = rest.split_at(split);
    let globs = cstrings(globs);
    let (inc, exc) = globs.split_at(globs.len() / 2);
    let inc_p: Vec<*const c_char> = inc.iter().map(|c| c.as_ptr()).collect();
    let exc_p: Vec<*const c_char> = exc.iter().map(|c| c.as_ptr()).collect();
    let mut o = wtfperf_scan_options_default();
    o.threads = 1 + (flags & 1) as usize;
    o.include_content = flags & 2 != 0;
    o.follow_links = flags & 4 != 0;
    o.respect_ignore_files = flags & 8 != 0;
    o.include_hidden = flags & 16 != 0;
    o.sorted = flags & 32 != 0;
    o.callbacks_parallel = flags & 64 != 0;
    o.max_depth = (depth % 5) as usize;
    o.max_file_size = if flags & 128 != 0 { 4 } else { o.max_file_size };
    o.include_globs = inc_p.as_ptr();
    o.include_globs_len = inc_p.len();
    o.exclude_globs = exc_p.as_ptr();
    o.exclude_globs_len = exc_p.len();
    // A root that is the tree, or the tree joined with arbitrary bytes.
    let mut root = tree().as_bytes().to_vec();
    if root_tail.len() > 1 {
        root.push(b'/');
        // No ".." climbs out of the tree (a root of "/" would scan the whole
        // filesystem and time the run out).
        for &b in root_tail[1..].iter().filter(|&&b| b != 0) {
            let b = if b == b'.' && root.last() == Some(&b'.') {
                b'_'
            } else {
                b
            };
            root.push(b);
        }
    }
    let root = CString::new(root).unwrap();
    let mut seen = 0u64;
    let cb = wtfperf_scan_callbacks {
        on_file: Some(on_file),
        on_error: None,
        on_progress: None,
        userdata: (&raw mut seen).cast(),
    };
    let mut sum = wtfperf_scan_summary::default();
    // SAFETY: every pointer is valid for the call; the callback matches its type.
    let st = unsafe { wtfperf_scan(root.as_ptr(), &o, &cb, &mut sum) };
    if st == WTFPERF_OK {
        assert_eq!(seen, sum.files_scanned);
        assert!(sum.files_scanned + sum.files_skipped + sum.errors <= sum.files_seen + sum.errors);
    } else {
        assert!(st < 0 || st == WTFPERF_ABORTED, "status {st}");
    }
});
