//! `run_benchmarks` end to end: the binary `cargo test` builds from
//! `examples/run_benchmarks.rs`, on a tiny generated project.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example's binary, built now (a plain `cargo test` builds it too, but
/// `cargo test --test bench_cli` does not, and a stale one would mislead).
fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "--example", "run_benchmarks"]);
            if !cfg!(debug_assertions) {
                cargo.arg("--release");
            }
            let status = cargo
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(
                status.success(),
                "cargo build --example run_benchmarks failed"
            );
            // target/<profile>/deps/bench_cli-<hash> -> target/<profile>/examples/
            let exe = std::env::current_exe().unwrap();
            let bin = exe
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("examples/run_benchmarks");
            assert!(bin.is_file(), "{} missing", bin.display());
            bin
        })
        .clone()
}

fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tiny_run(work: &Path, out_dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--files",
        "20",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--parallel",
        "2",
        "--output",
        out_dir.to_str().unwrap(),
        "--work-dir",
        work.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// One quick quiet run over a real tree.
fn project_run(tree: &Path, out_dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--project",
        tree.to_str().unwrap(),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--output",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Scales every duration of a saved report (a baseline made faster or
/// slower than reality).
fn scaled_baseline(report: &Path, factor: f64, to: &Path) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    for p in v["projects"].as_array_mut().unwrap() {
        for s in p["scenarios"].as_array_mut().unwrap() {
            for k in ["min", "median", "max", "mean"] {
                let x = s["duration_s"][k].as_f64().unwrap();
                s["duration_s"][k] = (x * factor).into();
            }
        }
    }
    std::fs::write(to, serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn writes_every_report_and_prints_the_comparison() {
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("out");
    let out = tiny_run(work.path(), &out_dir, &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for title in [
        "Sequential scan (1 thread)",
        "Parallel scan (2 threads)",
        "Analyze, cold cache",
        "Analyze, warm cache",
        "Analyze, 1 % edited",
        "Recommendations:",
    ] {
        assert!(all.contains(title), "{title} missing in:\n{all}");
    }
    for ext in ["md", "json", "html"] {
        let path = out_dir.join(format!("bench-report.{ext}"));
        assert!(path.is_file(), "{}", path.display());
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("bench-report.json")).unwrap())
            .unwrap();
    assert_eq!(json["projects"][0]["name"], "generated-20");
    assert_eq!(json["config"]["runs"], 2);

    // Against a baseline where everything was 1000x faster: a regression, exit 3.
    let fast = work.path().join("fast.json");
    scaled_baseline(&out_dir.join("bench-report.json"), 1e-3, &fast);
    let out = tiny_run(
        work.path(),
        &work.path().join("out2"),
        &[
            "--quiet",
            "--format",
            "json",
            "--baseline",
            fast.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("regression"), "{}", text(&out));

    // Against one where everything was 1000x slower: improvements, exit 0.
    let slow = work.path().join("slow.json");
    scaled_baseline(&out_dir.join("bench-report.json"), 1e3, &slow);
    let out = tiny_run(
        work.path(),
        &work.path().join("out3"),
        &[
            "--quiet",
            "--format",
            "json",
            "--baseline",
            slow.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.path().join("out3/bench-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["baseline"]["regressions"], 0);
    assert!(
        json["baseline"]["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] == "improvement")
    );
}

#[test]
fn bad_command_lines_and_paths_fail_clearly() {
    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("unknown option \"--bogus\""),
        "{}",
        text(&out)
    );
    let out = run(&["--runs", "zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--runs"));
    let out = run(&["--project", "/nonexistent/wtfperf-tree"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("/nonexistent/wtfperf-tree"));
    let out = run(&["--baseline", "/nonexistent/base.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("baseline"));
    let out = run(&["--files", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--files must be at least 1"));
    // Paths that are files: refused before the run, not after it.
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();
    let out = run(&["--project", path]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is not a directory"));
    for output in [path.to_string(), format!("{path}/reports")] {
        let out = run(&["--files", "20", "--runs", "1", "--output", &output]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("is not a directory"), "{}", text(&out));
        // Nothing was measured first.
        assert!(!text(&out).contains("scan-seq"), "{}", text(&out));
    }
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out).contains("--project PATH"));
}

/// Ctrl-C (or SIGTERM) during a run removes the work directory it made
/// (generated projects and caches) before the process ends.
#[test]
fn an_interrupted_run_removes_its_work_directory() {
    let top = tempfile::tempdir().unwrap();
    let work = top.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out_dir = top.path().join("out");
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut child = Command::new(binary())
            .args([
                "--files", "2000", "--runs", "1000", "--warmup", "0", "--quiet",
            ])
            .arg("--output")
            .arg(&out_dir)
            .arg("--work-dir")
            .arg(&work)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Until the generated project is there (work/<run>/<project>/project).
        let project_made = || {
            walkdir::WalkDir::new(&work)
                .max_depth(3)
                .into_iter()
                .filter_map(Result::ok)
                .any(|e| e.depth() == 3 && e.file_name() == "project")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !project_made() {
            assert!(std::time::Instant::now() < deadline, "no project made");
            assert!(child.try_wait().unwrap().is_none(), "the run ended early");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: kill(2) with the child's pid and a valid signal number.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        // What the run made after the signal goes once it has ended.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
            if left.is_empty() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{left:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!out_dir.join("bench-report.json").exists());
    }
}

#[test]
fn a_tree_whose_files_are_all_ignored_is_refused_with_the_reason() {
    // Debian's kernel source has `/*` in its top `.gitignore`; ignore files
    // apply outside a git repository too, so a scan finds nothing there.
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join(".gitignore"), "/*\n").unwrap();
    std::fs::write(tree.join("src/a.rs"), "fn a() {}\n").unwrap();
    let out_dir = work.path().join("out");
    let out = project_run(&tree, &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no file to measure"), "{}", text(&out));
    assert!(text(&out).contains(".gitignore"), "{}", text(&out));
    assert!(!out_dir.join("bench-report.json").exists());
}

#[test]
fn a_real_tree_is_measured_and_left_untouched() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    for i in 0..10 {
        std::fs::write(
            tree.join(format!("src/f{i}.rs")),
            format!("fn f{i}() {{}}\n"),
        )
        .unwrap();
    }
    let before: Vec<_> = (0..10)
        .map(|i| std::fs::read(tree.join(format!("src/f{i}.rs"))).unwrap())
        .collect();
    let out_dir = work.path().join("out");
    let out = project_run(&tree, &out_dir, &["--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("bench-report.json")).unwrap())
            .unwrap();
    let p = &json["projects"][0];
    assert_eq!(p["kind"], "path");
    assert_eq!(p["files"], 10);
    assert_eq!(p["skipped"].as_array().unwrap().len(), 0);
    let inc = &p["scenarios"][4];
    assert_eq!(inc["id"], "analyze-incremental");
    assert!(
        inc["notes"]
            .to_string()
            .contains("temporary copy of the 10 scanned files"),
        "{inc}"
    );
    let after: Vec<_> = (0..10)
        .map(|i| std::fs::read(tree.join(format!("src/f{i}.rs"))).unwrap())
        .collect();
    assert_eq!(before, after);
    let names: Vec<_> = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("src")],
        "nothing written into the tree"
    );
}
