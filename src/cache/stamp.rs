//! File stamps: what the cache records about a file (size, mtime, inode,
//! ctime, XXH3-128 of the content) and how a recorded stamp is checked
//! against the file on disk, git style: unchanged metadata proves nothing
//! changed unless the file is "racy" (modified within [`RACY_WINDOW_NS`] of
//! being recorded). The ctime (inode change time) is what catches a file
//! rewritten with the same size and its mtime put back (`touch -r`,
//! `utimensat`): user space cannot set it. A ctime-only change (`chmod`,
//! `chown`, a link) costs one re-read and re-hash; the same content is still
//! valid, and the fresh stamp is recorded.
//!
//! A directory stands for its tree: the files a default scan of it finds
//! (ignore files respected, hidden files and directories left out, links not
//! followed). Its stamp's hash covers every such file's relative path, size,
//! mtime, inode and ctime, and the content of files that were racy when it
//! was recorded; checking it costs a walk with one `stat` per file.

use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use xxhash_rust::xxh3::Xxh3;

/// A file modified less than this long before it was recorded is "racy":
/// a later write within the same timestamp granularity would keep its
/// metadata, so it is re-hashed instead of trusted on metadata.
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// The `ctime_ns` of a stamp recorded without one (by a version before
/// ctimes were recorded): it equals no `stat`'s ctime (see [`ctime_ns`]), so
/// such a stamp is never trusted on metadata alone; the file is re-hashed
/// once and the fresh stamp recorded.
pub const CTIME_UNKNOWN: i64 = i64::MIN;

/// Nanoseconds since the epoch of a `stat` time (seconds, nanoseconds).
#[inline]
pub(crate) fn time_ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// [`time_ns`] of a ctime, never [`CTIME_UNKNOWN`] (a ctime saturated that
/// far back reads as one nanosecond later).
#[inline]
pub(crate) fn ctime_ns(secs: i64, nsec: i64) -> i64 {
    time_ns(secs, nsec).max(CTIME_UNKNOWN + 1)
}

/// What the cache recorded about a file when its result was stored. For a
/// directory: `size` is the bytes of the files of its tree, `mtime_ns`,
/// `inode` and `ctime_ns` the directory's own, and `hash` the hash of its
/// tree (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    /// XXH3-128 of the content, canonical (big-endian) byte order, as `xxhsum -H2` prints.
    pub hash: [u8; 16],
    /// Wall-clock time (ns since the Unix epoch) when the content was hashed. A file whose
    /// mtime_ns or ctime_ns >= recorded_ns - 2 s is "racy" (git's term): metadata alone cannot prove it
    /// unchanged, so analyze re-reads and re-hashes it.
    pub recorded_ns: i64,
    /// Inode change time (st_ctime * 1e9 + st_ctime_nsec), as `stat` gave it
    /// when the content was hashed; [`CTIME_UNKNOWN`] when not recorded.
    pub ctime_ns: i64,
}

/// Size, mtime, inode and ctime of a file, from one `stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileMeta {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub ctime_ns: i64,
}

impl FileMeta {
    /// From a `stat` made with rustix (the scanner's `fstat`/`statat`).
    // (The fields' types vary by target: the casts are not all no-ops.)
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn of_raw(st: &rustix::fs::Stat) -> FileMeta {
        FileMeta {
            size: st.st_size as u64,
            mtime_ns: time_ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
            inode: st.st_ino,
            ctime_ns: ctime_ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }

    pub fn of(meta: &std::fs::Metadata) -> FileMeta {
        FileMeta {
            size: meta.size(),
            mtime_ns: time_ns(meta.mtime(), meta.mtime_nsec()),
            inode: meta.ino(),
            ctime_ns: ctime_ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl FileStamp {
    /// The stamp of a file of metadata `meta` and content hash `hash`,
    /// recorded at `recorded_ns`.
    pub fn of(meta: FileMeta, hash: [u8; 16], recorded_ns: i64) -> FileStamp {
        FileStamp {
            size: meta.size,
            mtime_ns: meta.mtime_ns,
            inode: meta.inode,
            hash,
            recorded_ns,
            ctime_ns: meta.ctime_ns,
        }
    }

    /// The metadata part of the stamp.
    pub fn meta(&self) -> FileMeta {
        FileMeta {
            size: self.size,
            mtime_ns: self.mtime_ns,
            inode: self.inode,
            ctime_ns: self.ctime_ns,
        }
    }

    /// Whether the file was modified too close to when it was recorded for
    /// its metadata to prove anything.
    pub fn is_racy(&self) -> bool {
        racy(&self.meta(), self.recorded_ns)
    }

    /// Whether `meta` (a fresh `stat`) proves the file unchanged without
    /// reading it: size, mtime, inode and ctime as recorded (a stamp without
    /// a ctime never is) and not racy.
    pub fn trusts(&self, meta: &FileMeta) -> bool {
        self.meta() == *meta && !self.is_racy()
    }
}

/// Whether a file of metadata `meta`, hashed at `recorded_ns`, was
/// modified too close to then for its metadata to prove anything later: its
/// mtime or its ctime within [`RACY_WINDOW_NS`] of it. The ctime counts too:
/// a file rewritten with its size kept and its mtime put back shows only in
/// its ctime, which on a filesystem with coarse timestamps (1 s on ext4 with
/// 128-byte inodes, 2 s on FAT, 4 ms ticks on ramfs) may not move when the
/// rewrite falls in the same tick as the hashing.
pub(crate) fn racy(meta: &FileMeta, recorded_ns: i64) -> bool {
    meta.mtime_ns.max(meta.ctime_ns) >= recorded_ns.saturating_sub(RACY_WINDOW_NS)
}

/// Waits until no file of `root` (a file, or the files a default scan of a
/// directory finds; nothing is read) is racy any more: until its last change
/// (mtime or ctime) is more than [`RACY_WINDOW_NS`] old, and no longer than
/// that. Stamps recorded after it are trusted on their `stat`: what a
/// benchmark's warm cache or a test of stat-only hits needs after writing
/// files (whatever mtime they were given).
pub fn settle(root: &Path) -> crate::Result<()> {
    use crate::scan::{Control, ScanEvent, ScanOptions};
    let opts = ScanOptions {
        include_content: false,
        max_file_size: u64::MAX,
        ..ScanOptions::default()
    };
    let mut newest = i64::MIN;
    crate::scan::scan(root, &opts, &mut |ev| {
        if let ScanEvent::File(f) = ev {
            newest = newest.max(f.mtime_ns).max(f.ctime_ns);
        }
        Control::Continue
    })?;
    // 10 ms past the window: the clock that stamps files may lag this one.
    let most = RACY_WINDOW_NS + 10_000_000;
    let wait = newest
        .saturating_add(most)
        .saturating_sub(now_ns())
        .clamp(0, most);
    std::thread::sleep(std::time::Duration::from_nanos(wait as u64));
    Ok(())
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

/// Nanoseconds of clock `id` (`clock_gettime`).
// time_t and c_long are i64 here but not on every target.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn clock(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    (ts.tv_sec as i64).saturating_mul(1_000_000_000) + ts.tv_nsec as i64
}

/// Resolution of the coarse real-time clock (one kernel tick).
#[allow(clippy::unnecessary_cast)]
fn coarse_resolution_ns() -> i64 {
    static RES: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *RES.get_or_init(|| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock id and a valid out pointer.
        let rc = unsafe { libc::clock_getres(libc::CLOCK_REALTIME_COARSE, &mut ts) };
        if rc != 0 {
            return 1_000_000_000;
        }
        (ts.tv_sec as i64) * 1_000_000_000 + ts.tv_nsec as i64
    })
}

/// Margin added to the coarse clock by [`now_upper_bound_ns`]: the coarse
/// clock trails the precise one by about a tick, more when ticks are late
/// (a loaded virtual machine).
pub const COARSE_MARGIN_NS: i64 = 50_000_000;

/// An upper bound of [`now_ns`] that is ~10x cheaper to read (the precise
/// clock costs ~100 ns on some virtual machines, as much as a whole memory
/// hit): the coarse clock (the last kernel tick, never ahead of the precise
/// clock) plus a tick and [`COARSE_MARGIN_NS`]. An entry expiring after it
/// is valid without reading the precise clock; one expiring sooner is
/// checked against the precise clock.
#[inline]
pub fn now_upper_bound_ns() -> i64 {
    clock(libc::CLOCK_REALTIME_COARSE)
        .saturating_add(coarse_resolution_ns())
        .saturating_add(COARSE_MARGIN_NS)
}

/// A cheaper, looser upper bound of [`now_ns`] than [`now_upper_bound_ns`]:
/// the coarse clock's seconds (`time()`, one word read from the vDSO page,
/// against ~8 ns for `clock_gettime` of the coarse clock on this kind of
/// virtual machine) plus one second, a tick and [`COARSE_MARGIN_NS`]. At
/// most ~1.05 s ahead of the precise clock: deadlines sooner than that are
/// checked against the precise clock.
#[inline]
#[allow(clippy::unnecessary_cast)]
pub fn now_loose_upper_bound_ns() -> i64 {
    // SAFETY: `time` with a NULL argument only returns the time.
    let secs = unsafe { libc::time(std::ptr::null_mut()) } as i64;
    secs.saturating_add(1)
        .saturating_mul(1_000_000_000)
        .saturating_add(coarse_resolution_ns())
        .saturating_add(COARSE_MARGIN_NS)
}

/// XXH3-128 of `bytes`, canonical byte order.
pub fn hash_bytes(bytes: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
}

/// `stat` of a path (following symlinks).
pub fn stat(path: &Path) -> io::Result<FileMeta> {
    std::fs::metadata(path).map(|m| FileMeta::of(&m))
}

#[cfg(test)]
thread_local! {
    /// Regular files this thread hashed (tests tell a re-read from a
    /// `stat`).
    pub(crate) static HASHED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Opens, `fstat`s and hashes a file (or a directory's tree), returning its
/// full stamp. Anything but a regular file or a directory (a FIFO, a device, a socket)
/// is refused without being read: opening a FIFO never blocks (`O_NONBLOCK`),
/// and a device such as `/dev/zero` is never read.
pub fn stamp_file(path: &Path) -> io::Result<FileStamp> {
    stamp_file_skipping(path, None)
}

/// [`stamp_file`]; a directory's tree leaves out `skip` (a canonical
/// directory: the cache's own, whose database changes at every write).
pub fn stamp_file_skipping(path: &Path, skip: Option<&Path>) -> io::Result<FileStamp> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let fmeta = file.metadata()?;
    if fmeta.is_dir() {
        drop(file);
        return stamp_dir(path, &fmeta, now_ns(), skip);
    }
    if !fmeta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file or a directory",
        ));
    }
    let meta = FileMeta::of(&fmeta);
    #[cfg(test)]
    HASHED.with(|n| n.set(n.get() + 1));
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(FileStamp::of(
        meta,
        hasher.digest128().to_be_bytes(),
        now_ns(),
    ))
}

/// Tags a directory's hash: it never equals a file's content hash. (v1
/// left out the files' ctimes: a stamp of v1 never equals one of now, so a
/// directory recorded by an older version reads as changed, once.)
const DIR_TAG: &[u8] = b"wtfperf directory tree v2\0";

/// The stamp of the directory `path` (of metadata `meta`) as recorded at
/// `recorded_ns`: files modified (mtime or ctime) since `recorded_ns - RACY_WINDOW_NS` are
/// hashed by content too, so a write that leaves their metadata as it was
/// still shows (the same files are hashed again at every check against
/// this stamp, which keeps its `recorded_ns`).
fn stamp_dir(
    path: &Path,
    meta: &std::fs::Metadata,
    recorded_ns: i64,
    skip: Option<&Path>,
) -> io::Result<FileStamp> {
    use crate::scan::{Control, ScanEvent, ScanOptions};
    use std::os::unix::ffi::OsStrExt;
    struct Found {
        rel: Vec<u8>,
        /// All zero for an issue.
        meta: FileMeta,
        /// 0: a file; else an issue's kind (what went wrong there).
        issue: u8,
    }
    let opts = ScanOptions {
        include_content: false,
        max_file_size: u64::MAX,
        ..ScanOptions::default()
    };
    let mut found = Vec::new();
    let root = path;
    // `skip` relative to the root, when it is inside the tree.
    let skip_rel = skip.and_then(|s| {
        let canon = std::fs::canonicalize(root).ok()?;
        s.strip_prefix(&canon).ok().map(Path::to_path_buf)
    });
    let kept = |rel: &Path| !skip_rel.as_deref().is_some_and(|s| rel.starts_with(s));
    crate::scan::scan(root, &opts, &mut |ev| {
        match ev {
            ScanEvent::File(f) if kept(f.rel_path) => found.push(Found {
                rel: f.rel_path.as_os_str().as_bytes().to_vec(),
                meta: FileMeta {
                    size: f.size,
                    mtime_ns: f.mtime_ns,
                    inode: f.inode,
                    ctime_ns: f.ctime_ns,
                },
                issue: 0,
            }),
            ScanEvent::Issue(i) => {
                let rel = i.path.strip_prefix(root).unwrap_or(&i.path);
                if kept(rel) {
                    found.push(Found {
                        rel: rel.as_os_str().as_bytes().to_vec(),
                        meta: FileMeta::default(),
                        issue: i.kind as u8 + 1,
                    });
                }
            }
            ScanEvent::File(_) | ScanEvent::Progress(_) => {}
        }
        Control::Continue
    })
    .map_err(|e| io::Error::other(e.to_string()))?;
    found.sort_unstable_by(|a, b| (&a.rel, a.issue).cmp(&(&b.rel, b.issue)));
    let mut h = Xxh3::new();
    h.update(DIR_TAG);
    let mut total = 0u64;
    for f in &found {
        h.update(&(f.rel.len() as u64).to_le_bytes());
        h.update(&f.rel);
        h.update(&[f.issue]);
        let m = &f.meta;
        h.update(&m.size.to_le_bytes());
        h.update(&m.mtime_ns.to_le_bytes());
        h.update(&m.inode.to_le_bytes());
        h.update(&m.ctime_ns.to_le_bytes());
        if f.issue == 0 && racy(m, recorded_ns) {
            // Racy: its content too (a file that cannot be read now counts
            // as changed content).
            let content = stamp_file(&path.join(std::ffi::OsStr::from_bytes(&f.rel)))
                .map_or([0xff; 16], |s| s.hash);
            h.update(&content);
        }
        total = total.saturating_add(m.size);
    }
    let own = FileMeta {
        size: total,
        ..FileMeta::of(meta)
    };
    Ok(FileStamp::of(own, h.digest128().to_be_bytes(), recorded_ns))
}

/// The outcome of checking a recorded stamp against the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Metadata (ctime included) unchanged and not racy: valid, nothing
    /// was read.
    Unchanged,
    /// Metadata changed (or racy, or no ctime recorded) but the content is
    /// the same: valid; the fresh stamp should replace the recorded one.
    Refreshed(FileStamp),
    /// The content differs.
    Changed,
    /// The file is gone (or unreadable).
    Missing,
    /// The file was absent when recorded and still is.
    StillAbsent,
    /// The file was absent when recorded and now exists.
    Appeared,
}

impl Check {
    /// Whether the recorded stamp still describes the file's content.
    pub fn is_valid(&self) -> bool {
        matches!(
            self,
            Check::Unchanged | Check::Refreshed(_) | Check::StillAbsent
        )
    }
}

/// Checks `recorded` (`None`: the file was absent when recorded) against
/// `path`. Costs one `stat` when the metadata proves the file unchanged; a
/// directory's tree is walked (one `stat` per file).
pub fn check(path: &Path, recorded: Option<&FileStamp>) -> Check {
    check_skipping(path, recorded, None)
}

/// [`check`], a directory's tree leaving out `skip` (see
/// [`stamp_file_skipping`]).
pub fn check_skipping(path: &Path, recorded: Option<&FileStamp>, skip: Option<&Path>) -> Check {
    let meta = std::fs::metadata(path);
    match (recorded, meta) {
        (None, Err(_)) => Check::StillAbsent,
        (None, Ok(_)) => Check::Appeared,
        (Some(_), Err(_)) => Check::Missing,
        (Some(stamp), Ok(meta)) if meta.is_dir() => {
            match stamp_dir(path, &meta, stamp.recorded_ns, skip) {
                Ok(fresh) if fresh.hash == stamp.hash => Check::Unchanged,
                Ok(_) => Check::Changed,
                Err(_) => Check::Missing,
            }
        }
        (Some(stamp), Ok(meta)) => {
            let meta = FileMeta::of(&meta);
            if stamp.trusts(&meta) {
                return Check::Unchanged;
            }
            match stamp_file(path) {
                Ok(fresh) if fresh.hash == stamp.hash && fresh.size == stamp.size => {
                    Check::Refreshed(fresh)
                }
                Ok(_) => Check::Changed,
                Err(_) => Check::Missing,
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers of tests that change files under recorded stamps.
    use super::*;

    /// Sets a file's mtime (ns since the epoch).
    pub(crate) fn set_mtime(path: &Path, ns: i64) {
        let t = UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64);
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(t).unwrap();
    }

    /// Writes `path` with its mtime far enough back not to be racy by it
    /// (its ctime still is until [`super::settle`]).
    pub(crate) fn write_old(path: &Path, content: &[u8]) {
        std::fs::write(path, content).unwrap();
        set_mtime(path, now_ns() - 100 * RACY_WINDOW_NS);
    }

    /// Files this thread hashed so far.
    pub(crate) fn hashed() -> u64 {
        HASHED.with(std::cell::Cell::get)
    }

    pub(crate) fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Runs `change` (again, after a pause) until the file's ctime moved:
    /// two changes within one tick of the file system's clock get the same
    /// ctime.
    pub(crate) fn until_ctime_moves(path: &Path, mut change: impl FnMut()) {
        let before = stat(path).unwrap().ctime_ns;
        for _ in 0..1000 {
            change();
            if stat(path).unwrap().ctime_ns != before {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the ctime of {} never moved", path.display());
    }

    /// Rewrites `path` in place with `content` (the same size) and puts its
    /// mtime back, as `touch -r` would: only the ctime tells.
    pub(crate) fn rewrite_keeping_mtime(path: &Path, content: &[u8]) {
        let before = stat(path).unwrap();
        assert_eq!(before.size, content.len() as u64);
        until_ctime_moves(path, || {
            std::fs::write(path, content).unwrap();
            set_mtime(path, before.mtime_ns);
        });
        let after = stat(path).unwrap();
        assert_eq!((after.size, after.mtime_ns), (before.size, before.mtime_ns));
        assert_eq!(after.inode, before.inode, "rewritten in place");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use std::io::Write;

    #[test]
    fn hash_is_canonical_xxh3_128() {
        // xxhsum -H2 of the empty input.
        let empty = hash_bytes(b"");
        assert_eq!(
            empty,
            0x99aa06d3014798d86001c324468d497fu128.to_be_bytes(),
            "{empty:02x?}"
        );
    }

    #[test]
    fn coarse_bound_is_above_the_precise_clock() {
        for _ in 0..1000 {
            let now = now_ns();
            let bound = now_upper_bound_ns();
            assert!(bound >= now, "{bound} < {now}");
            assert!(bound - now < 1_000_000_000);
        }
        assert!(coarse_resolution_ns() > 0);
        for _ in 0..1000 {
            let now = now_ns();
            let bound = now_loose_upper_bound_ns();
            assert!(bound >= now, "{bound} < {now}");
            assert!(bound - now < 2_000_000_000);
        }
    }

    #[test]
    fn a_directory_stands_for_its_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("src/a.py"), b"print(1)").unwrap();
        std::fs::write(root.join("src/deep/b.py"), b"x = 2").unwrap();
        std::fs::write(root.join(".gitignore"), b"build/\n").unwrap();
        std::fs::create_dir(root.join("build")).unwrap();
        std::fs::write(root.join("build/out.o"), b"obj").unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/index"), b"idx").unwrap();
        let stamp = stamp_file(root).unwrap();
        // The .gitignore is hidden: its rules apply, its bytes do not count.
        assert_eq!(stamp.size, 8 + 5, "the bytes of the files of the tree");
        assert_ne!(stamp.hash, hash_bytes(b""));
        assert_eq!(check(root, Some(&stamp)), Check::Unchanged);
        // Ignored and hidden files do not count.
        std::fs::write(root.join("build/out.o"), b"object").unwrap();
        std::fs::write(root.join(".git/index"), b"index").unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Unchanged);
        // A file deep inside changes: the directory's own mtime does not.
        std::fs::write(root.join("src/deep/b.py"), b"x = 3").unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        let stamp = stamp_file(root).unwrap();
        std::fs::write(root.join("src/c.py"), b"").unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        let stamp = stamp_file(root).unwrap();
        std::fs::rename(root.join("src/c.py"), root.join("src/d.py")).unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        let stamp = stamp_file(root).unwrap();
        std::fs::remove_file(root.join("src/d.py")).unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        // Gone, or replaced by a file.
        let stamp = stamp_file(root).unwrap();
        let sub = root.join("src");
        let sub_stamp = stamp_file(&sub).unwrap();
        std::fs::remove_dir_all(&sub).unwrap();
        assert_eq!(check(&sub, Some(&sub_stamp)), Check::Missing);
        std::fs::write(&sub, b"now a file").unwrap();
        assert_eq!(check(&sub, Some(&sub_stamp)), Check::Changed);
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
    }

    #[test]
    fn a_racy_file_in_a_directory_is_checked_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let f = root.join("a.txt");
        std::fs::write(&f, b"hello").unwrap();
        let mtime = FileMeta::of(&std::fs::metadata(&f).unwrap()).mtime_ns;
        // Recorded just after the write: racy.
        let stamp = stamp_file(root).unwrap();
        assert_eq!(check(root, Some(&stamp)), Check::Unchanged);
        // Rewritten within the same timestamp: same size, same mtime.
        std::fs::write(&f, b"world").unwrap();
        set_mtime(&f, mtime);
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        // Long before the recording: metadata alone counts (the file is
        // not read), and a rewrite that put the mtime back shows in the
        // ctime.
        set_mtime(&f, mtime - 10 * RACY_WINDOW_NS);
        settle(&f).unwrap();
        let stamp = stamp_file(root).unwrap();
        let before = hashed();
        assert_eq!(check(root, Some(&stamp)), Check::Unchanged);
        assert_eq!(hashed(), before, "trusted on its stat");
        rewrite_keeping_mtime(&f, b"again");
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
        // A ctime-only change shows too (a directory's stamp keeps no
        // content to compare: its tree changed).
        let stamp = stamp_file(root).unwrap();
        until_ctime_moves(&f, || chmod(&f, 0o600));
        assert_eq!(check(root, Some(&stamp)), Check::Changed);
    }

    #[test]
    fn a_rewrite_that_put_the_mtime_back_is_rehashed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        write_old(&f, b"hello");
        settle(&f).unwrap();
        let stamp = stamp_file(&f).unwrap();
        assert!(!stamp.is_racy());
        let before = hashed();
        assert_eq!(check(&f, Some(&stamp)), Check::Unchanged);
        assert_eq!(hashed(), before, "trusted on its stat");
        // Same size, same mtime, same inode: the ctime moved.
        rewrite_keeping_mtime(&f, b"world");
        assert!(!stamp.trusts(&stat(&f).unwrap()));
        assert_eq!(check(&f, Some(&stamp)), Check::Changed);
    }

    #[test]
    fn a_rewrite_in_the_tick_of_the_hashing_is_rehashed() {
        // With coarse timestamps (1 s on ext4 with 128-byte inodes, 2 s on
        // FAT, a jiffy before Linux 6.13), a file rewritten in place with
        // its size kept and its mtime put back, within the tick in which it
        // was hashed, keeps all four fields as recorded: only its ctime's
        // closeness to the hashing can tell. Simulated: the stamp of the old
        // content with the metadata the file has now, hashed just after.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        write_old(&f, b"AAAA");
        let recorded = stamp_file(&f).unwrap();
        rewrite_keeping_mtime(&f, b"BBBB");
        let now = stat(&f).unwrap();
        let same_tick = FileStamp::of(now, recorded.hash, now.ctime_ns + 1);
        assert!(same_tick.is_racy());
        assert!(!same_tick.trusts(&now));
        assert_eq!(check(&f, Some(&same_tick)), Check::Changed);
        // The same stamp recorded long after the file's last change is
        // trusted on its stat.
        let later = FileStamp {
            recorded_ns: now.ctime_ns + 10 * RACY_WINDOW_NS,
            ..same_tick
        };
        assert!(later.trusts(&now));
    }

    #[test]
    fn a_ctime_only_change_is_rehashed_once_then_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        write_old(&f, b"hello");
        settle(&f).unwrap();
        let stamp = stamp_file(&f).unwrap();
        until_ctime_moves(&f, || chmod(&f, 0o600));
        let before = hashed();
        let Check::Refreshed(fresh) = check(&f, Some(&stamp)) else {
            panic!("not re-hashed");
        };
        assert_eq!(hashed(), before + 1, "re-hashed once");
        assert_eq!(fresh.hash, stamp.hash);
        assert_ne!(fresh.ctime_ns, stamp.ctime_ns);
        assert_eq!(fresh.meta(), stat(&f).unwrap());
        // Recorded within the racy window of the chmod: hashed again then
        // (the same content: refreshed); once recorded after it, trusted on
        // its stat again.
        assert!(fresh.is_racy());
        settle(&f).unwrap();
        let Check::Refreshed(fresh) = check(&f, Some(&fresh)) else {
            panic!("a racy stamp trusted");
        };
        assert_eq!(hashed(), before + 2);
        assert_eq!(check(&f, Some(&fresh)), Check::Unchanged);
        assert_eq!(hashed(), before + 2);
    }

    #[test]
    fn a_stamp_without_a_ctime_is_never_trusted_on_its_stat() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        write_old(&f, b"hello");
        settle(&f).unwrap();
        // As a version before ctimes were recorded stored it.
        let old = FileStamp {
            ctime_ns: CTIME_UNKNOWN,
            ..stamp_file(&f).unwrap()
        };
        assert!(!old.is_racy());
        assert!(!old.trusts(&stat(&f).unwrap()));
        let Check::Refreshed(fresh) = check(&f, Some(&old)) else {
            panic!("not re-hashed");
        };
        assert_eq!(check(&f, Some(&fresh)), Check::Unchanged);
        // No stat's ctime is the unknown one, however far back.
        for secs in [i64::MIN, i64::MIN / 1_000_000_000 - 1, -1, 0] {
            for nsec in [0, 1, 999_999_999] {
                assert_ne!(ctime_ns(secs, nsec), CTIME_UNKNOWN);
            }
        }
        assert_eq!(ctime_ns(1, 2), 1_000_000_002);
    }

    #[test]
    fn special_files_are_refused_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Would block in open (no writer) or read forever without the checks.
        for p in [
            fifo.as_path(),
            Path::new("/dev/zero"),
            Path::new("/dev/null"),
        ] {
            let err = stamp_file(p).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{}", p.display());
        }
        // A recorded file replaced by a FIFO is gone, not waited for.
        let f = dir.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let stamp = stamp_file(&f).unwrap();
        std::fs::remove_file(&f).unwrap();
        std::fs::rename(&fifo, &f).unwrap();
        assert_eq!(check(&f, Some(&stamp)), Check::Missing);
    }

    #[test]
    fn stamp_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"hello").unwrap();
        let stamp = stamp_file(&path).unwrap();
        assert_eq!(stamp.size, 5);
        assert_eq!(stamp.hash, hash_bytes(b"hello"));
        // Just written: racy, so re-hashed, same content -> refreshed.
        assert!(stamp.is_racy());
        assert!(matches!(check(&path, Some(&stamp)), Check::Refreshed(_)));
        // Pretend it was recorded long after the write: trusted on stat.
        let old = FileStamp {
            recorded_ns: stamp.mtime_ns + 10 * RACY_WINDOW_NS,
            ..stamp
        };
        assert_eq!(check(&path, Some(&old)), Check::Unchanged);
        // Different content of the same size.
        std::fs::write(&path, b"world").unwrap();
        assert_eq!(check(&path, Some(&stamp)), Check::Changed);
        // Appended.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"!").unwrap();
        assert_eq!(check(&path, Some(&stamp)), Check::Changed);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(check(&path, Some(&stamp)), Check::Missing);
        assert_eq!(check(&path, None), Check::StillAbsent);
        std::fs::write(&path, b"x").unwrap();
        assert_eq!(check(&path, None), Check::Appeared);
    }
}
