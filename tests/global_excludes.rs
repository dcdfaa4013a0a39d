//! The global git excludes (`core.excludesFile`, by default
//! `$XDG_CONFIG_HOME/git/ignore`) are matched as git matches them: from the
//! top of the repository a file is in (outside any repository, from the
//! scan's root), whichever way the root is spelled. A test binary of its
//! own, with one test: it sets the process's environment and working
//! directory.

use std::path::Path;
use wtfperf::scan::{self, Control, ScanEvent, ScanOptions};

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    scan::scan(root, &ScanOptions::default(), &mut |ev| {
        if let ScanEvent::File(f) = ev {
            out.push(f.rel_path.to_string_lossy().into_owned());
        }
        Control::Continue
    })
    .unwrap();
    out.sort();
    out
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn global_excludes_match_from_the_repository_top_however_the_root_is_spelled() {
    let top = tempfile::tempdir().unwrap();
    let t = top.path();
    write(t, "config/git/ignore", "/anch\nd/x\n*.glob\n");
    std::fs::create_dir_all(t.join("home")).unwrap();
    // SAFETY: this test binary runs this one test, on one thread, and sets
    // the variables before any scan reads them.
    unsafe {
        std::env::set_var("XDG_CONFIG_HOME", t.join("config"));
        std::env::set_var("HOME", t.join("home"));
    }
    for dir in ["repo", "plain"] {
        for rel in ["anch", "d/x", "s/anch", "s/d/x", "a.glob", "z"] {
            write(t, &format!("{dir}/{rel}"), "");
        }
    }
    write(t, "repo/.git/HEAD", "ref: refs/heads/main\n");
    let want = ["s/anch", "s/d/x", "z"];

    // The repository, as an absolute path, as "." and relative.
    let repo = t.join("repo");
    assert_eq!(files(&repo), want);
    std::env::set_current_dir(&repo).unwrap();
    assert_eq!(files(Path::new(".")), want);
    assert_eq!(files(Path::new("./")), want);
    std::env::set_current_dir(t).unwrap();
    assert_eq!(files(Path::new("repo")), want);

    // A subdirectory of it: still matched from the repository's top, so
    // `/anch` and `d/x` (which mean repo/anch and repo/d/x) leave s/ alone.
    assert_eq!(files(&repo.join("s")), ["anch", "d/x"]);
    assert_eq!(files(Path::new("repo/s")), ["anch", "d/x"]);

    // No repository: from the scan's root.
    assert_eq!(files(&t.join("plain")), want);
    assert_eq!(files(Path::new("plain")), want);
}
