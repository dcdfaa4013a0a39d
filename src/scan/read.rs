//! Reading and hashing files on worker threads, with reused buffers.

use rustix::fs::{AtFlags, Mode, OFlags};
use std::ffi::CStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::fd::BorrowedFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{AcqRel, Acquire},
};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

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
/// (twox-hash: AVX2 chosen at run time where the CPU has it.)
pub fn content_hash(bytes: &[u8]) -> [u8; 16] {
    twox_hash::XxHash3_128::oneshot(bytes).to_be_bytes()
}

/// Where a file is: a path, or a name in an open directory (then `stat`
/// and `open` resolve one name, not the whole path).
#[derive(Debug, Clone, Copy)]
pub(crate) enum At<'a> {
    Path(&'a Path),
    Dir(BorrowedFd<'a>, &'a CStr),
}

impl At<'_> {
    /// Opens for reading, never blocking on a FIFO swapped in since the
    /// walk and never becoming the controlling terminal.
    pub(crate) fn open(&self) -> io::Result<File> {
        match *self {
            At::Path(path) => OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(path),
            At::Dir(dir, name) => {
                let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
                Ok(File::from(rustix::fs::openat(
                    dir,
                    name,
                    flags,
                    Mode::empty(),
                )?))
            }
        }
    }

    /// `stat` (following a symbolic link).
    pub(crate) fn stat(&self) -> io::Result<FileStat> {
        match *self {
            At::Path(path) => std::fs::metadata(path).map(|m| FileStat::of(&m)),
            At::Dir(dir, name) => {
                let st = rustix::fs::statat(dir, name, AtFlags::empty())?;
                Ok(FileStat {
                    size: st.st_size as u64,
                    mtime_ns: (st.st_mtime as i64)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(st.st_mtime_nsec as i64),
                    inode: st.st_ino,
                })
            }
        }
    }
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
/// `max`. `charge` is told the size before the content is read (it may wait
/// for room in the memory budget, or swap in a buffer that fits).
pub(crate) fn read_file(
    at: At<'_>,
    max: u64,
    buf: &mut Vec<u8>,
    charge: &mut dyn FnMut(u64, &mut Vec<u8>),
) -> io::Result<ReadOutcome> {
    let file = at.open()?;
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
        charge(stat.size, buf);
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
        charge(buf.len() as u64, &mut Vec::new());
    }
    stat.size = buf.len() as u64;
    Ok(ReadOutcome::Done(stat))
}

/// Buffers larger than this are freed after use rather than pooled.
const POOLED_BUFFER_MAX: usize = 256 << 10;

/// The pool keeps at most this many bytes of idle buffers.
const POOL_MAX_BYTES: usize = 4 << 20;

/// Content read but not yet delivered may take this many bytes (a single
/// larger file still goes through, alone).
pub(crate) const IN_FLIGHT_MAX_BYTES: u64 = 8 << 20;

/// Idle large buffers kept for reuse (so big files do not make the
/// allocator map and unmap, or fragment, memory over and over).
const LARGE_KEPT: usize = 2;

/// Large buffers above this are never kept.
const LARGE_MAX: usize = 16 << 20;

#[derive(Debug, Default)]
struct Idle {
    bufs: Vec<Vec<u8>>,
    bytes: usize,
    large: Vec<Vec<u8>>,
}

/// Read buffers and the memory budget of one run.
///
/// Buffers are pooled (small ones; at most [`POOL_MAX_BYTES`] idle), so a
/// scan allocates a few buffers, not one per file. Content in flight between
/// workers and the host is bounded by [`IN_FLIGHT_MAX_BYTES`]: a worker
/// about to read waits while the budget is spent, unless nothing is in
/// flight or it holds the file the host needs next (sorted delivery), so
/// the wait never deadlocks.
#[derive(Debug)]
pub(crate) struct Buffers {
    idle: Mutex<Idle>,
    used: AtomicU64,
    /// Readers waiting for budget (under this lock they wait on `freed`).
    wait: Mutex<u32>,
    freed: Condvar,
    limit: u64,
}

impl Buffers {
    pub(crate) fn new(limit: u64) -> Arc<Buffers> {
        Arc::new(Buffers {
            idle: Mutex::new(Idle::default()),
            used: AtomicU64::new(0),
            wait: Mutex::new(0),
            freed: Condvar::new(),
            limit,
        })
    }

    fn take(&self) -> Vec<u8> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let buf = idle.bufs.pop().unwrap_or_default();
        idle.bytes -= buf.capacity();
        buf
    }

    /// A large buffer for `n` bytes, reused when one is idle.
    fn take_large(&self, n: usize) -> Option<Vec<u8>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let best = (0..idle.large.len()).max_by_key(|&i| idle.large[i].capacity() >= n)?;
        Some(idle.large.swap_remove(best))
    }

    fn give(&self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if cap == 0 || cap > LARGE_MAX {
            return;
        }
        buf.clear();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if cap > POOLED_BUFFER_MAX {
            if idle.large.len() < LARGE_KEPT {
                idle.large.push(buf);
            }
            return;
        }
        if idle.bytes + cap <= POOL_MAX_BYTES {
            idle.bytes += cap;
            idle.bufs.push(buf);
        }
    }

    /// Takes `n` bytes of the budget, waiting while it is spent unless
    /// `go_ahead()` says this read must not wait. The budget is an atomic:
    /// the lock and the condition variable are only for waiting.
    fn charge(&self, n: u64, go_ahead: &dyn Fn() -> bool) {
        let fits = |used: u64| used == 0 || used.saturating_add(n) <= self.limit;
        let mut used = self.used.load(Acquire);
        loop {
            if !fits(used) && !go_ahead() {
                break;
            }
            match self
                .used
                .compare_exchange_weak(used, used.saturating_add(n), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(now) => used = now,
            }
        }
        let mut guard = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        *guard += 1;
        loop {
            let used = self.used.load(Acquire);
            if (fits(used) || go_ahead())
                && self
                    .used
                    .compare_exchange(used, used.saturating_add(n), AcqRel, Acquire)
                    .is_ok()
            {
                break;
            }
            guard = self
                .freed
                .wait_timeout(guard, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *guard -= 1;
    }

    fn release(&self, n: u64) {
        if n == 0 {
            return;
        }
        let _ = self
            .used
            .fetch_update(AcqRel, Acquire, |u| Some(u.saturating_sub(n)));
        // Waking costs a system call: only when a reader waits.
        let waiting = *self.wait.lock().unwrap_or_else(|e| e.into_inner());
        if waiting > 0 {
            self.freed.notify_all();
        }
    }

    /// Bytes of content in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u64 {
        self.used.load(Acquire)
    }

    /// Reads a file into a pooled buffer charged to the budget.
    pub(crate) fn read(
        self: &Arc<Self>,
        at: At<'_>,
        max: u64,
        go_ahead: &dyn Fn() -> bool,
    ) -> io::Result<(ReadOutcome, Option<Content>)> {
        let mut buf = self.take();
        let mut charged = 0;
        let outcome = read_file(at, max, &mut buf, &mut |n, buf| {
            if n as usize > POOLED_BUFFER_MAX
                && let Some(large) = self.take_large(n as usize)
            {
                self.give(std::mem::replace(buf, large));
            }
            // What the buffer holds, not what the file fills of it: a pooled
            // buffer keeps the capacity of the largest file it held, and
            // charging the content only let a slow host (a cold analyze)
            // hold several times the budget in small files.
            charged = n.max(buf.capacity() as u64);
            self.charge(charged, go_ahead);
        });
        match outcome {
            Ok(ReadOutcome::Done(stat)) => Ok((
                ReadOutcome::Done(stat),
                Some(Content {
                    buf,
                    charged,
                    owner: Arc::clone(self),
                }),
            )),
            other => {
                self.release(charged);
                self.give(buf);
                other.map(|o| (o, None))
            }
        }
    }
}

/// A file's content: a pooled buffer charged to the run's budget, given
/// back (and the budget freed) when dropped.
#[derive(Debug)]
pub(crate) struct Content {
    buf: Vec<u8>,
    charged: u64,
    owner: Arc<Buffers>,
}

impl std::ops::Deref for Content {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Content {
    fn drop(&mut self) {
        self.owner.release(self.charged);
        self.owner.give(std::mem::take(&mut self.buf));
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
    fn hash_agrees_with_the_reference_at_every_length_class() {
        // Every branch of XXH3-128 (0-16, 17-128, 129-240, long with and
        // without a partial stripe and block), SIMD path included.
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..300).chain([1023, 1024, 1025, 4096, 15_000, 65_536, 70_000]) {
            let want = xxhash_rust::xxh3::xxh3_128(&data[..len]).to_be_bytes();
            assert_eq!(content_hash(&data[..len]), want, "length {len}");
        }
    }

    #[test]
    fn reads_whole_files_and_refuses_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello world").unwrap();
        let mut buf = Vec::new();
        let mut charged = 0;
        match read_file(At::Path(&p), 100, &mut buf, &mut |n, _| charged += n).unwrap() {
            ReadOutcome::Done(s) => assert_eq!(s.size, 11),
            other => panic!("{other:?}"),
        }
        assert_eq!((&buf[..], charged), (&b"hello world"[..], 11));
        assert!(matches!(
            read_file(At::Path(&p), 5, &mut buf, &mut |_, _| ()).unwrap(),
            ReadOutcome::TooLarge(s) if s.size == 11
        ));
        assert!(
            read_file(
                At::Path(&dir.path().join("missing")),
                5,
                &mut buf,
                &mut |_, _| ()
            )
            .is_err()
        );
        assert!(matches!(
            read_file(At::Path(dir.path()), 5, &mut buf, &mut |_, _| ()).unwrap(),
            ReadOutcome::NotRegular
        ));
    }

    #[test]
    fn content_returns_its_buffer_and_budget() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![1u8; 1000]).unwrap();
        let bufs = Buffers::new(1500);
        let (_, a) = bufs.read(At::Path(&p), 10_000, &|| false).unwrap();
        let a = a.unwrap();
        assert_eq!((a.len(), bufs.in_flight()), (1000, 1000));
        // Over budget: waits until `a` is dropped by another thread.
        let t = {
            let bufs = Arc::clone(&bufs);
            let p = p.clone();
            std::thread::spawn(move || {
                bufs.read(At::Path(&p), 10_000, &|| false)
                    .unwrap()
                    .1
                    .unwrap()
                    .len()
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.is_finished());
        drop(a);
        assert_eq!(t.join().unwrap(), 1000);
        assert_eq!(bufs.in_flight(), 0);
        // A go-ahead read never waits.
        let (_, a) = bufs.read(At::Path(&p), 10_000, &|| false).unwrap();
        let (_, b) = bufs.read(At::Path(&p), 10_000, &|| true).unwrap();
        assert_eq!(bufs.in_flight(), 2000);
        drop((a, b));
        assert_eq!(bufs.in_flight(), 0);
        let idle = bufs.idle.lock().unwrap();
        assert!(idle.bufs.len() == 2 && idle.bytes >= 2000);
    }

    #[test]
    fn pool_keeps_small_buffers_and_a_few_large_ones() {
        let bufs = Buffers::new(1 << 20);
        bufs.give(Vec::with_capacity(LARGE_MAX + 1));
        for _ in 0..3 {
            bufs.give(Vec::with_capacity(POOLED_BUFFER_MAX + 1));
        }
        assert_eq!(bufs.take().capacity(), 0);
        assert_eq!(bufs.idle.lock().unwrap().large.len(), LARGE_KEPT);
        assert!(bufs.take_large(POOLED_BUFFER_MAX + 1).unwrap().capacity() > POOLED_BUFFER_MAX);
        bufs.give(Vec::with_capacity(100));
        assert!(bufs.take().capacity() >= 100);
    }
}
