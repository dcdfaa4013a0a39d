//! Scan options: what to walk, what to read, how to deliver.

use crate::error::{Error, Result};

/// Options of a scan (and of an analyze run). `Default` gives DESIGN.md's
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Threads of the scan, the calling one included; 0 means one per
    /// available core; 1 starts no thread.
    pub threads: usize,
    /// Files a worker hands to the calling thread at once (a batch): the
    /// pipeline between them holds about `3 * threads * chunk_size` files,
    /// their content capped at 8 MiB (and `sorted` keeps a reorder window
    /// of `threads * chunk_size`). Must be at least 1.
    pub chunk_size: usize,
    /// Files larger than this many bytes are not read: they are counted as
    /// skipped and reported (never silently dropped).
    pub max_file_size: u64,
    /// Read and hash every file (false: only `stat`, nothing read or hashed).
    pub include_content: bool,
    /// Follow symbolic links (loops are detected and reported as errors).
    pub follow_links: bool,
    /// Honour `.gitignore`, `.ignore`, `.git/info/exclude`, the global git
    /// excludes file and those of parent directories; also skips `.git`.
    pub respect_ignore_files: bool,
    /// Walk hidden (dot) files and directories too.
    pub include_hidden: bool,
    /// When non-empty, only files matching one of these globs are scanned.
    /// A glob without `/` matches a file name at any depth (`*.rs`); a glob
    /// with `/` matches the path relative to the root (`src/**/*.rs`).
    pub include_globs: Vec<String>,
    /// Files and directories matching one of these globs are left out (a
    /// matching directory is not entered). Same syntax as `include_globs`.
    pub exclude_globs: Vec<String>,
    /// Deliver callbacks on worker threads, concurrently (C/C++/Go/Rust
    /// hosts only). Only [`scan_parallel`](super::scan_parallel) and
    /// [`analyze_parallel`](super::analyze_parallel) honour it.
    pub callbacks_parallel: bool,
    /// Deliver files in path order (component by component, bytewise),
    /// deterministically, while still reading in parallel.
    pub sorted: bool,
    /// Deepest level entered: 1 = only the root's own entries; 0 = no limit.
    pub max_depth: usize,
    /// Do not cross into other file systems (mount points).
    pub same_file_system: bool,
}

/// 10 MiB, the default `max_file_size`.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The largest `threads` accepted.
pub const MAX_THREADS: usize = 1024;

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            chunk_size: 64,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            include_content: true,
            follow_links: false,
            respect_ignore_files: true,
            include_hidden: false,
            include_globs: Vec::new(),
            exclude_globs: Vec::new(),
            callbacks_parallel: false,
            sorted: false,
            max_depth: 0,
            same_file_system: false,
        }
    }
}

impl ScanOptions {
    /// Checks the numeric options (globs are checked when compiled).
    pub fn validate(&self) -> Result<()> {
        if self.chunk_size == 0 {
            return Err(Error::invalid("chunk_size must be at least 1"));
        }
        if self.threads > MAX_THREADS {
            return Err(Error::invalid(format!(
                "threads = {} is more than {MAX_THREADS}",
                self.threads
            )));
        }
        if self.chunk_size > 1 << 20 {
            return Err(Error::invalid(format!(
                "chunk_size = {} is more than {}",
                self.chunk_size,
                1 << 20
            )));
        }
        Ok(())
    }

    /// The number of worker threads to use.
    pub fn worker_threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }

    /// Files in flight between workers and the host (and the reorder window).
    pub(crate) fn window(&self) -> usize {
        self.worker_threads().saturating_mul(self.chunk_size).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let o = ScanOptions::default();
        assert_eq!(o.threads, 0);
        assert_eq!(o.chunk_size, 64);
        assert_eq!(o.max_file_size, 10 << 20);
        assert!(o.include_content && o.respect_ignore_files);
        assert!(!o.follow_links && !o.include_hidden && !o.callbacks_parallel && !o.sorted);
        assert_eq!(o.max_depth, 0);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn bad_numbers_are_invalid() {
        let o = ScanOptions {
            chunk_size: 0,
            ..Default::default()
        };
        assert!(o.validate().is_err());
        let o = ScanOptions {
            threads: MAX_THREADS + 1,
            ..Default::default()
        };
        assert!(o.validate().is_err());
        assert!(ScanOptions::default().worker_threads() >= 1);
    }
}
