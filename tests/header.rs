//! The committed header must equal a fresh cbindgen generation.
//! Refresh it with: `WTFPERF_BLESS_HEADER=1 cargo test --test header`.

#[path = "../build.rs"]
mod build_script;

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = build_script::generate_header(dir, env!("CARGO_PKG_VERSION")).unwrap();
    let path = dir.join("include/wtfperf.h");
    if std::env::var_os("WTFPERF_BLESS_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/wtfperf.h is stale (first difference at line {}); \
             refresh it with `WTFPERF_BLESS_HEADER=1 cargo test --test header`",
            line + 1
        );
    }
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/wtfperf.h"))
            .unwrap();
    for (name, value) in [
        ("WTFPERF_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("WTFPERF_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("WTFPERF_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            text.contains(&format!("#define {name} {value}\n")),
            "{name} != {value}"
        );
    }
}

#[test]
fn every_header_name_is_prefixed() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/wtfperf.h"))
            .unwrap();
    let mut bad = Vec::new();
    for line in text.lines() {
        let name = if let Some(rest) = line.strip_prefix("#define ") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("typedef struct ") {
            rest.split_whitespace().next()
        } else {
            None
        };
        if let Some(name) = name {
            let ok =
                name.starts_with("WTFPERF_") || name.starts_with("wtfperf_") || name == "WTFPERF_H";
            if !ok {
                bad.push(name.to_string());
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unprefixed names in the header (add them to cbindgen.toml's exclude): {bad:?}"
    );
}
