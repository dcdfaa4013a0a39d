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
