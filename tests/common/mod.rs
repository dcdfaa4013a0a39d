//! What the integration tests share: where the freshly built library is,
//! the C compiler, and how a C program is compiled against the library and
//! run (`tests/c_harness.rs`, `tests/readme.rs`); changes to a file that only
//! its ctime shows (`tests/cache.rs`, `tests/scan_analyze.rs`).

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>`: the directory holding libwtfperf.a and .so.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash>
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The directory holding the freshly built `libwtfperf.a` / `.so`.
///
/// `cargo test` builds the library's staticlib and cdylib into
/// `target/<profile>/deps/` and does not copy them up to `target/<profile>/`
/// (only `cargo build` does), so `deps/` is the fresh copy.
pub fn lib_dir() -> PathBuf {
    let deps = profile_dir().join("deps");
    if deps.join("libwtfperf.a").exists() {
        deps
    } else {
        profile_dir()
    }
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn compiler(cpp: bool) -> cc::Tool {
    let target = "x86_64-unknown-linux-gnu";
    let target = std::env::var("TARGET").unwrap_or_else(|_| target.to_string());
    cc::Build::new()
        .cpp(cpp)
        .target(&target)
        .host(&target)
        .opt_level(1)
        .debug(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .expect("a C compiler")
}

/// The native libraries a static link of a Rust staticlib needs on Linux
/// (as `rustc --print native-static-libs` reports; README gives the same).
pub const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The text a finished command printed, stdout then stderr.
fn output_text(stdout: &[u8], stderr: &[u8]) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    )
}

/// Runs `cmd` to completion; panics naming `what` unless it exits 0.
pub fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = output_text(&out.stdout, &out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// [`run`] with a time limit: a command still running after `limit` is
/// killed and the call panics.
pub fn run_with_timeout(cmd: &mut Command, what: &str, limit: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    // Drain both pipes while waiting, so a chatty program never blocks on them.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = output_text(&stdout.join().unwrap(), &stderr.join().unwrap());
    match status {
        None => panic!("{what} still running after {limit:?}, killed:\n{text}"),
        Some(status) => assert!(status.success(), "{what} failed ({status}):\n{text}"),
    }
    text
}

/// Compiles `source` into `exe` as C11 with `-Wall -Wextra -Werror` and the
/// `include/` directory, plus `extra` flags, linked against the shared
/// library (with an rpath to it) or the static one and [`NATIVE_LIBS`].
pub fn compile_with(source: &Path, exe: &Path, shared: bool, extra: &[&OsStr]) {
    let tool = compiler(false);
    let mut cmd = tool.to_command();
    let dir = lib_dir();
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .args(extra)
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg(source)
        .arg("-o")
        .arg(exe);
    if shared {
        cmd.arg("-L").arg(&dir).arg("-lwtfperf");
        cmd.arg(format!("-Wl,-rpath,{}", dir.display()));
    } else {
        cmd.arg(dir.join("libwtfperf.a"));
        cmd.args(NATIVE_LIBS);
    }
    run(&mut cmd, &format!("compiling {}", source.display()));
}

/// Compiles a C harness program: [`compile_with`] plus `-D_GNU_SOURCE` and
/// `tests/c/` on the include path (for `harness.h`).
pub fn compile(source: &Path, exe: &Path, shared: bool) {
    let harness = manifest_dir().join("tests/c");
    compile_with(
        source,
        exe,
        shared,
        &[
            OsStr::new("-D_GNU_SOURCE"),
            OsStr::new("-I"),
            harness.as_os_str(),
        ],
    );
}

/// Runs `change` (again, after a pause) until the file's ctime moved: two
/// changes within one tick of the file system's clock get the same ctime.
pub fn until_ctime_moves(path: &Path, mut change: impl FnMut()) {
    let ctime = || wtfperf::cache::stamp::stat(path).unwrap().ctime_ns;
    let before = ctime();
    for _ in 0..1000 {
        change();
        if ctime() != before {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the ctime of {} never moved", path.display());
}

/// Rewrites `path` in place with `content` (the same size) and puts its
/// mtime back, as `touch -r` would: only the ctime tells.
pub fn rewrite_keeping_mtime(path: &Path, content: &str) {
    let stat = || wtfperf::cache::stamp::stat(path).unwrap();
    let before = stat();
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    until_ctime_moves(path, || {
        std::fs::write(path, content).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(mtime).unwrap();
    });
    let after = stat();
    assert_eq!(
        (after.size, after.mtime_ns, after.inode),
        (before.size, before.mtime_ns, before.inode),
        "only the ctime moved"
    );
}
