//! The analysis cache: an in-memory LRU tier (sharded, bounded by entries
//! and bytes, with TTL) over a persistent SQLite tier shared by processes.
//!
//! Entries may be bound to a file (size, mtime, inode, ctime and XXH3-128
//! of its content are recorded) and to dependency files; every read checks them,
//! git style: one `stat` proves an old file unchanged, a changed or "racy"
//! one is re-hashed, and different content is a miss that removes the entry
//! (and, for a dependency, every entry depending on it transitively).
//!
//! Modules: [`engine`] (the [`Cache`] handle: set, get), `graph` (file
//! bindings, dependency graph), `maintenance` (invalidation, statistics),
//! `sync` (cross-process coherence), [`memory`] (LRU shards),
//! [`store`] (SQLite), [`stamp`] (file stamps), [`paths`] (root-relative
//! paths), [`entry`], [`stats`], [`analysis`] (results of `analyze`).

pub mod analysis;
pub mod engine;
pub mod entry;
#[cfg(test)]
mod failpoint;
mod graph;
mod maintenance;
pub mod memory;
pub mod paths;
pub mod snapshot;
pub mod stamp;
pub mod stats;
pub mod store;
mod sync;

pub use analysis::AnalysisRecord;
pub use engine::{Cache, CacheOptions, EntryOptions};
pub use stamp::FileStamp;
pub use stats::{Reason, Stats, Totals};
