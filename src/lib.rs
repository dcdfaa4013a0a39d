//! wtfperf: the performance core that code-analysis tools embed.
//!
//! Four parts, each plain safe Rust usable directly from Rust, and all of
//! them exported through one C ABI (`include/wtfperf.h`, see [`ffi`]):
//!
//! * [`profiler`]: RSS/CPU/heap timeline, scopes, run summaries;
//! * [`cache`]: in-memory LRU over a persistent SQLite tier, invalidated by
//!   file content and dependencies;
//! * [`scan`]: parallel gitignore-aware walker that reads and hashes files on
//!   worker threads, and the incremental analyzer built on it and the cache;
//! * [`bench`]: synthetic projects and the benchmark suite.

pub mod bench;
pub mod cache;
pub mod error;
pub mod ffi;
pub mod profiler;
pub mod scan;

pub use error::{Error, ErrorKind, Result};

/// The crate version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// The README's Rust samples, compiled by `cargo test` as doctests (`no_run`
// ones are compiled only), warnings denied; a failure names the sample's line
// in README.md. Its other blocks must say they are not Rust (`c`, `sh`,
// `json`, `text`). The C samples are compiled and run by `tests/readme.rs`.
#[cfg(doctest)]
#[doc(test(attr(deny(warnings))))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
