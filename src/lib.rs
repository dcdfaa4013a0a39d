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
