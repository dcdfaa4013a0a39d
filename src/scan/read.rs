//! Reading and hashing files on worker threads, with reused buffers.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;

/// What `stat` says about a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl FileStat {
    pub(crate) fn of(meta: &Metadata) -> FileStat {
        FileStat {
            size: meta.size(),
            mtime_ns: meta
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
            inode: meta.ino(),
        }
    }
}

/// XXH3-128 of `bytes`, canonical (big-endian) byte order as `xxhsum -H2`
/// prints it.
pub fn content_hash(bytes: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
}

/// The result of [`read_file`].
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// Read into the buffer.
    Done(FileStat),
    /// Over the limit (size given); nothing read.
    TooLarge(FileStat),
    /// Not a regular file any more (replaced since the walk saw it).
    NotRegular,
}

/// Opens `path` (never blocking on a FIFO swapped in since the walk), checks
/// it with `fstat`, and reads it whole into `buf` unless it is larger than
/// `max`.
pub(crate) fn read_file(path: &Path, max: u64, buf: &mut Vec<u8>) -> io::Result<ReadOutcome> {
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(ReadOutcome::NotRegular);
    }
    let mut stat = FileStat::of(&meta);
    if stat.size > max {
        return Ok(ReadOutcome::TooLarge(stat));
    }
    buf.clear();
    if stat.size > 0 {
        // Exactly the size fstat gave: one read(2) for most files, no
        // probe for EOF. A file growing meanwhile is read as it was.
        buf.reserve_exact(stat.size as usize);
        (&file).take(stat.size).read_to_end(buf)?;
    } else {
        // Size 0 may still have content (procfs and the like).
        (&file).take(max.saturating_add(1)).read_to_end(buf)?;
        if buf.len() as u64 > max {
            stat.size = buf.len() as u64;
            return Ok(ReadOutcome::TooLarge(stat));
        }
    }
    stat.size = buf.len() as u64;
    Ok(ReadOutcome::Done(stat))
}

/// Buffers larger than this are freed after use rather than kept.
const KEEP_CAPACITY: usize = 1 << 20;

/// A pool of read buffers, so a scan allocates a few buffers, not one per
/// file. Each buffer goes back after its file was delivered.
#[derive(Debug)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl BufferPool {
    pub(crate) fn new(keep: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::new()),
            keep,
        }
    }

    pub(crate) fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_canonical_xxh3_128() {
        // `printf abc | xxhsum -H2` prints 06b05ab6733a618578af5f94892f3950.
        let h = content_hash(b"abc");
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "06b05ab6733a618578af5f94892f3950");
    }

    #[test]
    fn reads_whole_files_and_refuses_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello world").unwrap();
        let mut buf = Vec::new();
        match read_file(&p, 100, &mut buf).unwrap() {
            ReadOutcome::Done(s) => assert_eq!(s.size, 11),
            other => panic!("{other:?}"),
        }
        assert_eq!(buf, b"hello world");
        assert!(matches!(
            read_file(&p, 5, &mut buf).unwrap(),
            ReadOutcome::TooLarge(s) if s.size == 11
        ));
        assert!(read_file(&dir.path().join("missing"), 5, &mut buf).is_err());
        assert!(matches!(
            read_file(dir.path(), 5, &mut buf).unwrap(),
            ReadOutcome::NotRegular
        ));
    }

    #[test]
    fn pool_reuses_small_buffers_only() {
        let pool = BufferPool::new(2);
        let mut b = pool.take();
        b.extend_from_slice(b"xyz");
        let cap = b.capacity();
        pool.give(b);
        let b = pool.take();
        assert!(b.is_empty() && b.capacity() == cap);
        pool.give(Vec::with_capacity(KEEP_CAPACITY + 1));
        assert_eq!(pool.take().capacity(), 0);
    }
}
