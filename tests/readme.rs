//! Every ```` ```c ```` block of README.md is compiled against the library as
//! the README's static link line says (`-std=c11 -Iinclude`, `libwtfperf.a`
//! and the native libraries; here also `-Wall -Wextra -Werror`) and run,
//! in order, each in a fresh temporary directory as its working directory
//! and with a time limit. It must exit 0.
//!
//! A block with `int main` is a whole program and is compiled as it is; it
//! runs with no arguments unless [`PROGRAMS`] gives it some (and files to
//! work on). Any other block is a fragment: it is compiled inside a
//! generated `int main(void)`, with the prelude that [`FRAGMENTS`] gives for
//! it (the names it assumes, set up for real, and checks of what it should
//! have done). A fragment that no entry of [`FRAGMENTS`] knows fails the test, so
//! a new sample cannot go unchecked; so does an entry that matches nothing.
//!
//! The generated sources carry `#line` directives, so the compiler names the
//! README's lines (`README.md:286:5: error: ...`); every failure message
//! names the block by the line of its opening fence. Sources and executables
//! are in `target/<profile>/readme-c/` (not `c-harness/`: `.ci/run` runs
//! those under valgrind in the repository root, where these samples would
//! write their files).
//!
//! The scan-and-analyze example is checked by a test of its own: it must be
//! `examples/c/scan_tree.c` word for word, and run twice on a tree it must
//! answer every file from the cache the second time.
//!
//! The README's ```` ```rust ```` blocks are doctests (`ReadmeDoctests` in
//! `src/lib.rs`).

mod common;

use common::{compile_with, manifest_dir, profile_dir, run_with_timeout};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one sample may run.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// One fenced code block of the README.
struct Block {
    /// 1-based line of the opening fence in README.md.
    line: usize,
    /// The info string (`c`, `rust,no_run`, ...).
    lang: String,
    /// The block's text, the fence's indentation removed, ending in '\n'.
    code: String,
}

/// The fenced code blocks of `readme`, in order.
fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in readme.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                let block = Block {
                    line: i + 1,
                    lang: info.trim().to_string(),
                    code: String::new(),
                };
                open = Some((block, indent));
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                out.push(open.take().unwrap().0);
            }
            (Some((block, indent)), _) => {
                // A list item's block is indented; its lines lose as much.
                let cut = line.len() - line.trim_start().len();
                block.code.push_str(&line[cut.min(*indent)..]);
                block.code.push('\n');
            }
            (None, None) => {}
        }
    }
    if let Some((block, _)) = open {
        panic!("README.md line {}: code block never closed", block.line);
    }
    out
}

/// A whole program (a block with `int main`) that needs more than being run
/// with no arguments.
struct Program {
    /// Text found in this C block and in no other.
    marker: &'static str,
    /// Its command-line arguments.
    args: &'static [&'static str],
    /// Files created in the working directory first (path, content).
    files: &'static [(&'static str, &'static str)],
    /// Paths the run must have created in the working directory.
    creates: &'static [&'static str],
}

const PROGRAMS: &[Program] = &[
    Program {
        marker: "wtfperf_debug_force_panic(",
        args: &[],
        files: &[],
        creates: &[],
    },
    Program {
        marker: "fopen(\"trace.json\"",
        args: &[],
        files: &[],
        creates: &["trace.json"],
    },
];

/// The scan-and-analyze example, `examples/c/scan_tree.c`: checked by its
/// own test (below), not by `readme_c_samples_compile_and_run`.
const SCAN_TREE: &str = "/* scan_tree.c:";

/// How a fragment (a block without `main`) is made a program: what goes
/// before `main`, what `main` does before and after the fragment, and the
/// files the fragment expects.
struct Fragment {
    /// Text found in this C block and in no other.
    marker: &'static str,
    /// After the standard includes and `wtfperf.h`, before `main`.
    globals: &'static str,
    /// Statements at the start of `main`, before the fragment.
    before: &'static str,
    /// Statements after the fragment, before `return 0;`.
    after: &'static str,
    /// Files created in the working directory first (path, content).
    files: &'static [(&'static str, &'static str)],
    /// Paths the run must have created in the working directory.
    creates: &'static [&'static str],
}

const FRAGMENTS: &[Fragment] = &[
    // Analysis cache: stores a result bound to src/main.c and src/util.h,
    // then reads it back; `use` must see the bytes stored.
    Fragment {
        marker: "\"lint:main.c\"",
        globals: r#"
static const uint8_t result[] = "{\"warnings\":0}";
static const size_t result_len = sizeof result - 1;
static bool used = false;
static void use(const uint8_t *p, size_t n) {
    if (n != result_len || memcmp(p, result, n) != 0) {
        fprintf(stderr, "use(): not the bytes stored\n");
        exit(1);
    }
    used = true;
}
"#,
        before: "",
        after: r#"
if (!used) { fprintf(stderr, "the fragment never reached use()\n"); return 1; }
"#,
        files: &[
            (
                "src/main.c",
                "#include \"util.h\"\nint main(void) { return 0; }\n",
            ),
            ("src/util.h", "#define UTIL 1\n"),
        ],
        creates: &[".lintcache/cache.db"],
    },
    // Analysis cache, a directory as `file_path`: needs an open `cache` and
    // a `report`; the entry it stores must then be a hit.
    Fragment {
        marker: "report_len",
        globals: r#"
static const uint8_t report[] = "{\"files\":1}";
static const size_t report_len = sizeof report - 1;
"#,
        before: r#"
wtfperf_cache_options o = wtfperf_cache_options_default();
o.dir = ".lintcache";
wtfperf_cache *cache = NULL;
if (wtfperf_cache_open(&o, &cache) != WTFPERF_OK) { puts(wtfperf_last_error()); return 1; }
"#,
        after: r#"
wtfperf_buf out = {0};
wtfperf_status st = wtfperf_cache_get(cache, (const uint8_t *)"report", 6, &out);
if (st != WTFPERF_OK || out.len != report_len || memcmp(out.data, report, report_len) != 0) {
    fprintf(stderr, "report not read back: %s: %s\n", wtfperf_status_str(st), wtfperf_last_error());
    return 1;
}
wtfperf_buf_free(&out);
wtfperf_cache_close(cache);
"#,
        files: &[("src/main.c", "int main(void) { return 0; }\n")],
        creates: &[".lintcache/cache.db"],
    },
    // The benchmark suite: 500 generated files, 3 runs, reports written to
    // bench-out/. Run, not only compiled: ~4 s in a debug build on 2 cores,
    // half of this test's time.
    Fragment {
        marker: "wtfperf_bench_run(",
        globals: "",
        before: "",
        after: "",
        files: &[],
        creates: &[
            "bench-out/bench-report.json",
            "bench-out/bench-report.md",
            "bench-out/bench-report.html",
        ],
    },
];

/// The one entry of `table` whose marker `block` contains.
fn entry_for<'a, T>(table: &'a [T], marker: impl Fn(&T) -> &str, block: &Block) -> Option<&'a T> {
    let mut found = table.iter().filter(|e| block.code.contains(marker(e)));
    let first = found.next();
    assert!(
        found.next().is_none(),
        "README.md line {}: more than one entry of tests/readme.rs matches this block",
        block.line
    );
    first
}

/// What is compiled and run for one C block.
struct Sample {
    line: usize,
    /// The C source to compile.
    source: String,
    args: &'static [&'static str],
    files: &'static [(&'static str, &'static str)],
    creates: &'static [&'static str],
}

/// `#line` so the compiler reports the README's lines for `block`.
fn line_directive(block: &Block) -> String {
    format!("#line {} \"README.md\"\n", block.line + 1)
}

fn sample(block: &Block) -> Sample {
    if block.code.contains("int main(") {
        let program = entry_for(PROGRAMS, |p| p.marker, block);
        let (args, files, creates) = program.map_or((&[][..], &[][..], &[][..]), |p| {
            (p.args, p.files, p.creates)
        });
        return Sample {
            line: block.line,
            source: format!("{}{}", line_directive(block), block.code),
            args,
            files,
            creates,
        };
    }
    let Some(f) = entry_for(FRAGMENTS, |f| f.marker, block) else {
        let head: String = block.code.lines().take(3).collect::<Vec<_>>().join("\n");
        panic!(
            "README.md line {}: a C fragment (no `int main`) that tests/readme.rs does not \
             know how to wrap; add an entry to FRAGMENTS whose marker is text found only \
             in it:\n{head}\n...",
            block.line
        );
    };
    let mut source = format!(
        "/* README.md line {}, a fragment wrapped by tests/readme.rs */\n\
         #include <stdbool.h>\n#include <stdint.h>\n#include <stdio.h>\n\
         #include <stdlib.h>\n#include <string.h>\n#include \"wtfperf.h\"\n{}\n\
         int main(void) {{\n{}\n",
        block.line, f.globals, f.before
    );
    source.push_str(&line_directive(block));
    source.push_str(&block.code);
    // Back to the generated file's own numbering for what follows.
    let next = source.lines().count() + 2;
    source.push_str(&format!(
        "#line {next} \"readme-{}.c\"\n{}\n    return 0;\n}}\n",
        block.line, f.after
    ));
    Sample {
        line: block.line,
        source,
        args: &[],
        files: f.files,
        creates: f.creates,
    }
}

/// Compiles and runs one sample; panics naming its README line.
fn check(sample: &Sample, out_dir: &Path) -> Duration {
    let started = Instant::now();
    let source = out_dir.join(format!("readme-{}.c", sample.line));
    let exe = out_dir.join(format!("readme-{}", sample.line));
    std::fs::write(&source, &sample.source).unwrap();
    compile_with(&source, &exe, false, &[]);
    let work = tempfile::tempdir().unwrap();
    for (path, content) in sample.files {
        let path = work.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let text = run_with_timeout(
        Command::new(&exe)
            .args(sample.args)
            .current_dir(work.path())
            .env("TMPDIR", work.path()),
        &format!("running {}", exe.display()),
        TIME_LIMIT,
    );
    for path in sample.creates {
        assert!(
            work.path().join(path).exists(),
            "{} exited 0 but did not create {path}:\n{text}",
            exe.display()
        );
    }
    started.elapsed()
}

#[test]
fn readme_c_samples_compile_and_run() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let blocks: Vec<Block> = blocks(&readme)
        .into_iter()
        .filter(|b| b.lang == "c" && !b.code.contains(SCAN_TREE))
        .collect();
    assert!(!blocks.is_empty(), "no ```c block found in README.md");
    let samples: Vec<Sample> = blocks.iter().map(sample).collect();
    let markers = PROGRAMS.iter().map(|p| p.marker);
    for marker in markers.chain(FRAGMENTS.iter().map(|f| f.marker)) {
        let users = blocks.iter().filter(|b| b.code.contains(marker)).count();
        assert_eq!(users, 1, "the entry {marker:?} matches {users} C blocks");
    }

    // Emptied first: the names follow README lines, which move.
    let out_dir = profile_dir().join("readme-c");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    // Two at a time (two workers taking the next sample): the profiler
    // sample touches 300 MB, the bench sample keeps a core busy.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(sample) = samples.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let line = sample.line;
                    let job = std::thread::Builder::new()
                        .name(format!("README.md line {line}"))
                        .spawn_scoped(s, || check(sample, &out_dir))
                        .unwrap();
                    match job.join() {
                        Ok(took) => println!("README.md line {line}: ok in {took:.2?}"),
                        Err(panic) => {
                            let msg = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            let msg = format!("README.md line {line} (```c block): {msg}");
                            failures.lock().unwrap().push((line, msg));
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let failures: Vec<String> = failures.into_iter().map(|(_, msg)| msg).collect();
    assert!(
        failures.is_empty(),
        "{} of the README's {} C samples failed:\n\n{}",
        failures.len(),
        samples.len(),
        failures.join("\n\n")
    );
}

/// The README's C example that scans and analyzes a tree is
/// `examples/c/scan_tree.c` word for word; it builds with the README's link
/// line and, run twice on a tree, analyzes every file the first time and
/// answers every file from the cache the second.
#[test]
fn readme_c_example_scans_then_analyzes_from_the_cache() {
    let example = manifest_dir().join("examples/c/scan_tree.c");
    let source = std::fs::read_to_string(&example).unwrap();
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let shown = blocks(&readme)
        .into_iter()
        .find(|b| b.lang == "c" && b.code.contains(SCAN_TREE))
        .expect("README shows scan_tree.c");
    assert_eq!(
        shown.code, source,
        "README's scan_tree.c (line {}) differs from examples/c/scan_tree.c",
        shown.line
    );

    let out_dir = profile_dir().join("readme-scan-tree");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("scan_tree");
    compile_with(&example, &exe, false, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join("src/a.c"), "int a;\nint b;\n").unwrap();
    std::fs::write(tree.join("src/b.py"), "print(1)\n").unwrap();
    std::fs::write(tree.join("notes.txt"), "one\ntwo\nthree\n").unwrap();
    let cache = tmp.path().join("cache");
    let go = || {
        run_with_timeout(
            Command::new(&exe).arg(&tree).arg(&cache),
            "running scan_tree",
            TIME_LIMIT,
        )
    };
    let results = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(" lines"))
            .map(str::to_string)
            .collect()
    };
    let first = go();
    assert!(first.contains("3 files, "), "{first}");
    assert!(first.contains("OK: 3 results, 0 from the cache"), "{first}");
    let lines = results(&first);
    assert_eq!(lines.len(), 3, "{first}");
    assert!(lines.iter().all(|l| !l.contains("(cached)")), "{first}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("notes.txt") && l.contains(" 3 lines")),
        "{first}"
    );
    let second = go();
    assert!(
        second.contains("OK: 3 results, 3 from the cache"),
        "{second}"
    );
    let lines = results(&second);
    assert_eq!(lines.len(), 3, "{second}");
    assert!(lines.iter().all(|l| l.ends_with("(cached)")), "{second}");
}
