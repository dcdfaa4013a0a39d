//! Generates the C header `wtfperf.h` with cbindgen.
//!
//! The header goes to `$OUT_DIR/wtfperf.h` and is copied beside the built
//! libraries, to `target/<profile>/include/wtfperf.h`. The committed copy in
//! `include/` is checked against a fresh generation by `tests/header.rs`,
//! which also refreshes it when run with `WTFPERF_BLESS_HEADER=1`.

use std::path::{Path, PathBuf};

/// The header text for the crate in `crate_dir` at version `version`.
#[allow(dead_code)] // also compiled into tests/header.rs, which uses only this
pub fn generate_header(crate_dir: &Path, version: &str) -> Result<String, String> {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    let mut parts = version.split(['.', '-', '+']);
    let mut next = || parts.next().unwrap_or("0").to_string();
    let (major, minor, patch) = (next(), next(), next());
    let macros = format!(
        "/** Version of the API this header describes; compare with wtfperf_version(). */\n\
         #define WTFPERF_VERSION_MAJOR {major}\n\
         #define WTFPERF_VERSION_MINOR {minor}\n\
         #define WTFPERF_VERSION_PATCH {patch}\n\
         #define WTFPERF_VERSION_STRING \"{version}\""
    );
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .with_after_include(macros)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}

#[allow(dead_code)]
fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    match generate_header(&crate_dir, &version) {
        Ok(text) => {
            let _ = std::fs::write(out_dir.join("wtfperf.h"), &text);
            // OUT_DIR is target/<profile>/build/wtfperf-<hash>/out.
            if let Some(profile_dir) = out_dir.ancestors().nth(3) {
                let include = profile_dir.join("include");
                let _ = std::fs::create_dir_all(&include);
                let _ = std::fs::write(include.join("wtfperf.h"), &text);
            }
        }
        // A source that does not parse fails in rustc with a better message;
        // the header test fails too, so a warning is enough here.
        Err(e) => println!("cargo:warning=header not generated: {e}"),
    }
}
