//! Cold page cache without root: `posix_fadvise(POSIX_FADV_DONTNEED)` on
//! every file of a tree drops its cached pages, so the next scan reads from
//! the disk as after a reboot. Dirty pages cannot be dropped, so the tree's
//! file system is flushed once with `syncfs` first (one flush, not one
//! `fdatasync` per file: on a freshly generated tree that would be a journal
//! commit per file). Directory entries and inodes stay cached (dropping
//! those needs root), and on tmpfs the pages *are* the file: nothing can be
//! evicted there, which [`can_evict`] tells.

use crate::error::{Error, Result};
use rustix::fs::{Advice, fadvise, syncfs};
use std::fs::File;
use std::path::Path;

/// What an eviction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    pub files: u64,
    pub bytes: u64,
    /// Files that could not be opened or advised (they stay cached).
    pub failed: u64,
}

/// Magic number of tmpfs in `statfs.f_type`.
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// Magic number of ramfs.
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// `Err(reason)` when the filesystem under `root` keeps files only in memory,
/// so eviction cannot make a cold read.
pub fn can_evict(root: &Path) -> std::result::Result<(), String> {
    match rustix::fs::statfs(root) {
        Ok(st) => {
            #[allow(clippy::unnecessary_cast)] // f_type is not i64 everywhere
            let kind = st.f_type as i64;
            if kind == TMPFS_MAGIC || kind == RAMFS_MAGIC {
                Err(format!(
                    "{} is on a memory filesystem (tmpfs/ramfs): its pages cannot be evicted",
                    root.display()
                ))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(format!("statfs {}: {e}", root.display())),
    }
}

/// Evicts one file's clean pages (dirty ones stay: flush them first).
pub fn evict_file(path: &Path) -> Result<u64> {
    let file =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), &e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), &e))?
        .len();
    let fail = |what: &str, e: rustix::io::Errno| {
        Error::io(
            format!("{what} {}", path.display()),
            &std::io::Error::from(e),
        )
    };
    fadvise(&file, 0, None, Advice::DontNeed).map_err(|e| fail("posix_fadvise", e))?;
    Ok(len)
}

/// Evicts the pages of every regular file under `root` (hidden and ignored
/// files included: evicting more than is scanned does no harm).
pub fn evict_tree(root: &Path) -> Result<Evicted> {
    let dir = File::open(root).map_err(|e| Error::io(format!("opening {}", root.display()), &e))?;
    syncfs(&dir).map_err(|e| {
        Error::io(
            format!("syncfs {}", root.display()),
            &std::io::Error::from(e),
        )
    })?;
    let mut out = Evicted::default();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = match entry {
            Ok(e) => e,
            Err(_) => {
                out.failed += 1;
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        match evict_file(entry.path()) {
            Ok(len) => {
                out.files += 1;
                out.bytes += len;
            }
            Err(_) => out.failed += 1,
        }
    }
    if out.files == 0 && out.failed > 0 {
        return Err(Error::new(
            crate::ErrorKind::Io,
            format!("could not evict any file under {}", root.display()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_every_file_and_keeps_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.txt"), vec![b'a'; 10_000]).unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), b"bb").unwrap();
        let e = evict_tree(dir.path()).unwrap();
        assert_eq!(
            e,
            Evicted {
                files: 2,
                bytes: 10_002,
                failed: 0
            }
        );
        assert_eq!(std::fs::read(dir.path().join("sub/b.txt")).unwrap(), b"bb");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = evict_file(Path::new("/nonexistent/wtfperf/x")).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Io);
    }

    #[test]
    fn tmpfs_is_detected() {
        // /dev/shm is tmpfs on Linux systems that have it.
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            assert!(can_evict(shm).is_err());
        }
        assert!(can_evict(Path::new("/nonexistent/wtfperf")).is_err());
    }
}
