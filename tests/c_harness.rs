//! The C harness: every `tests/c/*.c` program is compiled with the `cc`
//! crate's compiler (`-std=c11 -Wall -Wextra -Werror`), linked against the
//! static library, run, and must exit 0. `core.c` is also linked against the
//! shared library. The header must compile alone as C11 and as C++.
//!
//! Executables stay in `target/<profile>/c-harness/` so `.ci/run` can run
//! them again under valgrind.

mod common;

use common::{compile, compiler, manifest_dir, profile_dir, run};
use std::path::PathBuf;
use std::process::Command;

fn sources() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("tests/c"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

#[test]
fn header_compiles_alone_as_c11_and_cpp() {
    let header = manifest_dir().join("include/wtfperf.h");
    let mut c = compiler(false).to_command();
    c.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-fsyntax-only",
        "-x",
        "c",
    ])
    .arg(&header);
    run(&mut c, "header as C11");
    let mut cpp = compiler(true).to_command();
    cpp.args([
        "-std=c++11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsyntax-only",
        "-x",
        "c++",
    ])
    .arg(&header);
    run(&mut cpp, "header as C++11");
}

#[test]
fn c_programs_pass() {
    let out_dir = profile_dir().join("c-harness");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut jobs = Vec::new();
    for source in sources() {
        let stem = source.file_stem().unwrap().to_string_lossy().to_string();
        let mut variants = vec![(out_dir.join(format!("{stem}-static")), false)];
        if stem == "core" {
            variants.push((out_dir.join(format!("{stem}-shared")), true));
        }
        for (exe, shared) in variants {
            let source = source.clone();
            jobs.push(std::thread::spawn(move || {
                compile(&source, &exe, shared);
                let tmp = tempfile::tempdir().unwrap();
                let text = run(
                    Command::new(&exe)
                        .current_dir(manifest_dir())
                        .env("TMPDIR", tmp.path()),
                    &format!("running {}", exe.display()),
                );
                println!("== {}\n{text}", exe.display());
            }));
        }
    }
    let mut failed = 0;
    for job in jobs {
        if job.join().is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "{failed} C harness program(s) failed");
}

/// The README's C example that scans and analyzes a tree is
/// `examples/c/scan_tree.c` word for word; it builds as the README says and,
/// run twice on a tree, analyzes every file the first time and answers every
/// file from the cache the second.
#[test]
fn readme_c_example_scans_then_analyzes_from_the_cache() {
    let example = manifest_dir().join("examples/c/scan_tree.c");
    let source = std::fs::read_to_string(&example).unwrap();
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let start = readme
        .find("```c\n/* scan_tree.c")
        .expect("README shows scan_tree.c")
        + "```c\n".len();
    let len = readme[start..].find("```").unwrap();
    assert_eq!(
        &readme[start..start + len],
        source,
        "README's scan_tree.c differs from examples/c/scan_tree.c"
    );

    let out_dir = profile_dir().join("c-harness");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("scan_tree");
    compile(&example, &exe, false);
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join("src/a.c"), "int a;\nint b;\n").unwrap();
    std::fs::write(tree.join("src/b.py"), "print(1)\n").unwrap();
    std::fs::write(tree.join("notes.txt"), "one\ntwo\nthree\n").unwrap();
    let cache = tmp.path().join("cache");
    let go = || {
        run(
            Command::new(&exe).arg(&tree).arg(&cache),
            "running scan_tree",
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
