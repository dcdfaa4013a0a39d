//! Reading and hashing files on worker threads, with reused buffers.

use rustix::fs::{AtFlags, Mode, OFlags};
use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::BorrowedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{AcqRel, Acquire, SeqCst},
};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What `stat` says about a file: the cache's [`FileMeta`], which records
/// the same fields.
pub(crate) use crate::cache::stamp::FileMeta as FileStat;

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
            At::Dir(dir, name) => Ok(FileStat::of_raw(&rustix::fs::statat(
                dir,
                name,
                AtFlags::empty(),
            )?)),
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

/// A private anonymous mapping holding a large file's content: unmapped
/// when dropped. (From the allocator, a large block freed by a worker
/// thread stays in that thread's arena: a host scanning again and again
/// grew by tens of MiB of such blocks.)
pub(crate) struct MapBuf {
    ptr: std::ptr::NonNull<u8>,
    cap: usize,
    len: usize,
}

// SAFETY: a MapBuf owns its mapping alone (no other pointer to it exists),
// like a Vec<u8> owns its allocation.
unsafe impl Send for MapBuf {}
// SAFETY: shared access only reads (`Deref`), as for a Vec<u8>.
unsafe impl Sync for MapBuf {}

impl MapBuf {
    /// A mapping of `cap` bytes (more than 0), not yet touched.
    fn new(cap: usize) -> io::Result<MapBuf> {
        // SAFETY: a fresh private anonymous mapping; no memory of ours is
        // named, and the result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                cap.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = std::ptr::NonNull::new(ptr.cast::<u8>()).ok_or(io::ErrorKind::OutOfMemory)?;
        Ok(MapBuf {
            ptr,
            cap: cap.max(1),
            len: 0,
        })
    }

    /// Reads up to `n` bytes (at most its capacity) of `file`, stopping at
    /// its end.
    fn fill(&mut self, file: &File, n: usize) -> io::Result<()> {
        self.len = 0;
        // SAFETY: the mapping's `cap` bytes, owned by this MapBuf and
        // borrowed mutably here; as MaybeUninit, nothing is read from them.
        let all = unsafe {
            std::slice::from_raw_parts_mut(
                self.ptr.as_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                self.cap,
            )
        };
        self.len = read_into(file, &mut all[..n.min(self.cap)])?;
        Ok(())
    }
}

impl std::ops::Deref for MapBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the mapping were written by
        // read(2) (`fill`); the mapping lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for MapBuf {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, of `cap` bytes, unmapped once
        // (no slice of it outlives `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.cap) };
    }
}

impl std::fmt::Debug for MapBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MapBuf({} of {} bytes)", self.len, self.cap)
    }
}

/// A read buffer: pooled heap memory, or a mapping for a large file.
#[derive(Debug)]
pub(crate) enum Buf {
    Heap(Vec<u8>),
    Map(MapBuf),
}

impl Default for Buf {
    fn default() -> Self {
        Buf::Heap(Vec::new())
    }
}

impl Buf {
    fn capacity(&self) -> usize {
        match self {
            Buf::Heap(v) => v.capacity(),
            Buf::Map(m) => m.cap,
        }
    }
}

impl std::ops::Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Heap(v) => v,
            Buf::Map(m) => m,
        }
    }
}

/// Reads `file` into `dst` until `dst` is full or the file ends: read(2)
/// straight into memory not written yet, retried when interrupted. Returns
/// how many bytes it read (`dst[..n]` is then initialized).
pub(crate) fn read_into(
    file: impl std::os::fd::AsFd,
    dst: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    let mut done = 0;
    while done < dst.len() {
        match rustix::io::read(&file, &mut dst[done..]) {
            Ok(([], _)) => break,
            Ok((filled, _)) => done += filled.len(),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// A file closed by close(2) itself when dropped: glibc's `close` is a
/// cancellation point, which costs two more calls per file once a process
/// has threads.
struct Closing(std::mem::ManuallyDrop<File>);

impl std::ops::Deref for Closing {
    type Target = File;
    fn deref(&self) -> &File {
        &self.0
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&*self.0);
        // SAFETY: the File is never dropped (ManuallyDrop), so `fd` is
        // open, owned here alone, and closed once.
        unsafe { rustix::io::close(fd) };
    }
}

/// Opens `path` (never blocking on a FIFO swapped in since the walk), checks
/// it with `fstat`, and reads it whole into `buf` unless it is larger than
/// `max`. `charge` is told the size before the content is read, with the
/// buffer (it may wait for room in the memory budget, or put in a buffer of
/// the right size; one too small is replaced by a new one), or, for a file
/// whose size `fstat` does not tell, what the buffer holds after it was read
/// (nothing to put in then).
pub(crate) fn read_file(
    at: At<'_>,
    max: u64,
    buf: &mut Buf,
    charge: &mut dyn FnMut(u64, Option<&mut Buf>),
) -> io::Result<ReadOutcome> {
    let open = Closing(std::mem::ManuallyDrop::new(at.open()?));
    let file: &File = &open;
    // fstat(2) itself (std's `metadata` is statx with an empty path, which
    // the kernel looks up first).
    let st = rustix::fs::fstat(file)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Ok(ReadOutcome::NotRegular);
    }
    let mut stat = FileStat::of_raw(&st);
    if stat.size > max {
        return Ok(ReadOutcome::TooLarge(stat));
    }
    if stat.size > 0 {
        charge(stat.size, Some(&mut *buf));
        // Exactly the size fstat gave: one read(2) for most files, no
        // probe for EOF. A file growing meanwhile is read as it was.
        match buf {
            Buf::Heap(v) => {
                v.clear();
                let size = stat.size as usize;
                if v.capacity() < size {
                    // A new buffer, not a grown one: growing copies the old
                    // capacity's stale bytes over. Fallible: a file larger
                    // than memory (`max_file_size` raised, no mapping to be
                    // had) is an error for this file, never an abort.
                    let mut fresh = Vec::new();
                    fresh.try_reserve_exact(size).map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::OutOfMemory,
                            format!("cannot allocate {size} bytes to read it"),
                        )
                    })?;
                    *v = fresh;
                }
                // Into the spare capacity, the whole size at once
                // (`read_to_end` reads 8 KiB, then twice as much, and so on:
                // 1.5 calls per file on a source tree), no more than the
                // size (a file growing meanwhile is read as it was).
                let n = read_into(file, &mut v.spare_capacity_mut()[..size])?;
                // SAFETY: `read_into` initialized the first `n` bytes of the
                // spare capacity (`v` was empty).
                unsafe { v.set_len(n) };
            }
            Buf::Map(m) => m.fill(file, stat.size as usize)?,
        }
    } else {
        // Size 0 may still have content (procfs and the like).
        let mut v = match std::mem::take(buf) {
            Buf::Heap(v) => v,
            Buf::Map(_) => Vec::new(),
        };
        v.clear();
        file.take(max.saturating_add(1)).read_to_end(&mut v)?;
        *buf = Buf::Heap(v);
        if buf.len() as u64 > max {
            stat.size = buf.len() as u64;
            return Ok(ReadOutcome::TooLarge(stat));
        }
        charge(buf.capacity() as u64, None);
    }
    stat.size = buf.len() as u64;
    Ok(ReadOutcome::Done(stat))
}

/// Buffers larger than this are freed after use rather than pooled (larger
/// files are read into mappings).
const POOLED_BUFFER_MAX: usize = 1 << MAX_CLASS;

/// Pooled heap buffers come in size classes: class `c` holds buffers of at
/// least `1 << c` bytes, from 4 KiB to 256 KiB. A file takes a buffer of its
/// own class (a new one of exactly that size when none is idle), so a take
/// is one pop, whatever the pool holds.
const MIN_CLASS: u32 = 12;
const MAX_CLASS: u32 = 18;
const CLASSES: usize = (MAX_CLASS - MIN_CLASS + 1) as usize;

/// The class a file of `n` bytes (at most [`POOLED_BUFFER_MAX`]) needs.
fn class_for(n: usize) -> usize {
    let bits = usize::BITS - n.saturating_sub(1).leading_zeros();
    (bits.clamp(MIN_CLASS, MAX_CLASS) - MIN_CLASS) as usize
}

/// The size of class `c`'s new buffers.
fn class_size(c: usize) -> usize {
    1 << (c as u32 + MIN_CLASS)
}

/// The class a buffer of `cap` bytes serves (`None`: too small or too
/// large to pool).
fn class_of(cap: usize) -> Option<usize> {
    let bits = usize::BITS - 1 - cap.max(1).leading_zeros();
    (bits >= MIN_CLASS && cap <= POOLED_BUFFER_MAX).then(|| (bits - MIN_CLASS) as usize)
}

/// The pool keeps at most this many bytes of idle buffers.
const POOL_MAX_BYTES: usize = 4 << 20;

/// Content read but not yet delivered may take this many bytes (a single
/// larger file still goes through, alone).
pub(crate) const IN_FLIGHT_MAX_BYTES: u64 = 8 << 20;

/// Idle large buffers (mappings) kept for reuse during a run (so big files
/// do not map, fault in and unmap memory over and over); unmapped when the
/// run ends.
const LARGE_KEPT: usize = 2;

/// Large buffers above this are never kept.
const LARGE_MAX: usize = 16 << 20;

/// Where the smallest of `caps` that is at least `n` is.
fn smallest_fitting(caps: impl Iterator<Item = usize>, n: usize) -> Option<usize> {
    caps.enumerate()
        .filter(|&(_, cap)| cap >= n)
        .min_by_key(|&(_, cap)| cap)
        .map(|(i, _)| i)
}

#[derive(Debug, Default)]
struct Idle {
    /// Heap buffers by size class, the last given on top (its memory is
    /// the likeliest to be in a cache still).
    classes: [Vec<Vec<u8>>; CLASSES],
    bytes: usize,
    large: Vec<MapBuf>,
}

/// Padded to a cache line pair of its own: a field every read writes would
/// otherwise make the fields next to it miss in the other cores' caches.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Line<T>(T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Read buffers and the memory budget of one run.
///
/// Buffers are pooled (small ones by size class, at most
/// [`POOL_MAX_BYTES`] idle; a few large mappings), so a scan allocates a
/// few buffers, not one per file. Content in flight between workers and
/// the host is bounded by [`IN_FLIGHT_MAX_BYTES`]: a worker
/// about to read waits while the budget is spent, unless nothing is in
/// flight or it holds the file the host needs next (sorted delivery), so
/// the wait never deadlocks.
#[derive(Debug)]
pub(crate) struct Buffers {
    limit: u64,
    idle: Line<Mutex<Idle>>,
    used: Line<AtomicU64>,
    /// Readers waiting for budget: a releaser wakes them (under `wait`,
    /// on `freed`) only when there are any (a lock per file otherwise).
    waiting: Line<AtomicU64>,
    wait: Mutex<()>,
    freed: Condvar,
}

impl Buffers {
    /// Buffers of a run: `limit` bytes in flight at most.
    pub(crate) fn new(limit: u64) -> Arc<Buffers> {
        Arc::new(Buffers {
            limit,
            idle: Line::default(),
            used: Line::default(),
            waiting: Line::default(),
            wait: Mutex::new(()),
            freed: Condvar::new(),
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A heap buffer for a file of `n` bytes: an idle one of its class (or
    /// of the next: twice the room, better than a new one), else a new one
    /// of the class's size.
    fn take_heap(&self, n: usize) -> Vec<u8> {
        let c = class_for(n);
        let reused = {
            let mut idle = self.idle();
            let buf = idle.classes[c].pop().or_else(|| {
                let next = idle.classes.get_mut(c + 1)?;
                next.pop()
            });
            if let Some(buf) = &buf {
                idle.bytes -= buf.capacity();
            }
            buf
        };
        reused.unwrap_or_else(|| Vec::with_capacity(class_size(c)))
    }

    /// A mapping for `n` bytes: an idle one that fits (the smallest), else
    /// a new one of the next power of two (so one kept mapping serves the
    /// files of about its size).
    fn take_large(&self, n: usize) -> io::Result<MapBuf> {
        let kept = {
            let mut idle = self.idle();
            let best = smallest_fitting(idle.large.iter().map(|m| m.cap), n);
            best.map(|i| idle.large.swap_remove(i))
        };
        kept.map_or_else(|| MapBuf::new(n.next_power_of_two()), Ok)
    }

    fn give(&self, buf: Buf) {
        let cap = buf.capacity();
        let dropped = match buf {
            Buf::Map(m) => {
                if cap > LARGE_MAX {
                    return;
                }
                let mut idle = self.idle();
                idle.large.push(m);
                // Room made by unmapping the smallest kept one.
                if idle.large.len() > LARGE_KEPT {
                    let smallest = smallest_fitting(idle.large.iter().map(|m| m.cap), 0);
                    smallest.map(|i| Buf::Map(idle.large.swap_remove(i)))
                } else {
                    None
                }
            }
            Buf::Heap(mut v) => {
                let Some(c) = class_of(cap) else {
                    return;
                };
                v.clear();
                let mut idle = self.idle();
                if idle.bytes + cap > POOL_MAX_BYTES {
                    Some(Buf::Heap(v))
                } else {
                    idle.bytes += cap;
                    idle.classes[c].push(v);
                    None
                }
            }
        };
        // Freed or unmapped after the lock is let go.
        drop(dropped);
    }

    /// A buffer for a file of `n` bytes: a pooled heap buffer of its size
    /// class, or a mapping when the file is large (no mapping to be had: an
    /// empty heap buffer, which `read_file` sizes itself).
    fn take(&self, n: usize) -> Buf {
        if n <= POOLED_BUFFER_MAX {
            Buf::Heap(self.take_heap(n))
        } else {
            self.take_large(n).map_or_else(|_| Buf::default(), Buf::Map)
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
        // Counted before the budget is looked at again (both SeqCst, as in
        // `release`): a release either sees this reader or frees what the
        // reader then sees.
        self.waiting.fetch_add(1, SeqCst);
        loop {
            let used = self.used.load(SeqCst);
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
        self.waiting.fetch_sub(1, SeqCst);
    }

    fn release(&self, n: u64) {
        if n == 0 {
            return;
        }
        let _ = self
            .used
            .fetch_update(SeqCst, SeqCst, |u| Some(u.saturating_sub(n)));
        // Waking costs a system call: only when a reader waits. (Notified
        // under the lock: a reader between its look at the budget and its
        // wait holds it, so it cannot miss this.)
        if self.waiting.load(SeqCst) > 0 {
            let _guard = self.wait.lock().unwrap_or_else(|e| e.into_inner());
            self.freed.notify_all();
        }
    }

    /// Whether the budget is used up (any charged read would now wait).
    pub(crate) fn spent(&self) -> bool {
        self.used.load(Acquire) >= self.limit
    }

    /// Bytes of content in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u64 {
        self.used.load(Acquire)
    }

    /// Reads a file into a pooled buffer, charged to the budget when
    /// `budget` is given (it says when the read must not wait: see
    /// [`Buffers::charge`]); not charged when the content will wait for
    /// nobody (the thread delivers it itself at once).
    pub(crate) fn read(
        self: &Arc<Self>,
        at: At<'_>,
        max: u64,
        budget: Option<&dyn Fn() -> bool>,
    ) -> io::Result<(ReadOutcome, Option<Content>)> {
        // Empty: the buffer is taken once the size is known.
        let mut buf = Buf::default();
        let mut charged = 0;
        let outcome = read_file(at, max, &mut buf, &mut |n, buf| {
            // What the buffer holds (up to twice the file: its class's
            // size), not what the file fills of it: the budget bounds memory.
            // (`None`: read already, `n` is what its buffer holds.)
            let holds = match buf {
                Some(buf) => {
                    *buf = self.take(n as usize);
                    n.max(buf.capacity() as u64)
                }
                None => n,
            };
            if let Some(go_ahead) = budget {
                charged = holds;
                self.charge(charged, go_ahead);
            }
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
    buf: Buf,
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
    fn a_file_larger_than_memory_is_an_error_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge");
        // Sparse: takes no disk. More than any allocator grants.
        std::fs::File::create(&p).unwrap().set_len(1 << 42).unwrap();
        let mut buf = Buf::default();
        let err = read_file(At::Path(&p), u64::MAX, &mut buf, &mut |_, _| ()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
    }

    #[test]
    fn reads_whole_files_and_refuses_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello world").unwrap();
        let mut buf = Buf::default();
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

    /// Capacities of the idle heap buffers, class by class.
    fn idle_caps(bufs: &Buffers) -> Vec<Vec<usize>> {
        let idle = bufs.idle();
        idle.classes
            .iter()
            .map(|c| c.iter().map(Vec::capacity).collect())
            .collect()
    }

    #[test]
    fn content_returns_its_buffer_and_budget() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![1u8; 5000]).unwrap();
        // Charged what the buffer holds: 8 KiB, the class of 5000 bytes.
        let bufs = Buffers::new(10_000);
        let (_, a) = bufs.read(At::Path(&p), 100_000, Some(&|| false)).unwrap();
        let a = a.unwrap();
        assert_eq!((a.len(), bufs.in_flight()), (5000, 8192));
        // Over budget: waits until `a` is dropped by another thread.
        let t = {
            let bufs = Arc::clone(&bufs);
            let p = p.clone();
            std::thread::spawn(move || {
                bufs.read(At::Path(&p), 100_000, Some(&|| false))
                    .unwrap()
                    .1
                    .unwrap()
                    .len()
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.is_finished());
        drop(a);
        assert_eq!(t.join().unwrap(), 5000);
        assert_eq!(bufs.in_flight(), 0);
        // A go-ahead read never waits.
        let (_, a) = bufs.read(At::Path(&p), 100_000, Some(&|| false)).unwrap();
        let (_, b) = bufs.read(At::Path(&p), 100_000, Some(&|| true)).unwrap();
        assert_eq!(bufs.in_flight(), 2 * 8192);
        drop((a, b));
        assert_eq!(bufs.in_flight(), 0);
        assert_eq!(idle_caps(&bufs)[1], [8192, 8192]);
        assert_eq!(bufs.idle().bytes, 2 * 8192);
        // Content its reader delivers itself is not charged: nothing waits.
        let (_, a) = bufs.read(At::Path(&p), 100_000, Some(&|| false)).unwrap();
        let (_, b) = bufs.read(At::Path(&p), 100_000, None).unwrap();
        assert_eq!((b.unwrap().len(), bufs.in_flight()), (5000, 8192));
        drop(a);
        assert_eq!(bufs.in_flight(), 0);
    }

    #[test]
    fn size_classes() {
        assert_eq!(class_for(0), 0);
        assert_eq!(class_for(4096), 0);
        assert_eq!(class_for(4097), 1);
        assert_eq!(class_for(8192), 1);
        assert_eq!(class_for(POOLED_BUFFER_MAX), CLASSES - 1);
        assert_eq!(class_of(4095), None);
        assert_eq!(class_of(4096), Some(0));
        assert_eq!(class_of(8191), Some(0));
        assert_eq!(class_of(8192), Some(1));
        assert_eq!(class_of(POOLED_BUFFER_MAX), Some(CLASSES - 1));
        assert_eq!(class_of(POOLED_BUFFER_MAX + 1), None);
        // A buffer of class `c` holds any file that needs class `c`.
        for n in [
            1,
            4095,
            4096,
            4097,
            70_000,
            131_072,
            131_073,
            POOLED_BUFFER_MAX,
        ] {
            let c = class_for(n);
            assert!(class_size(c) >= n);
            assert_eq!(class_of(class_size(c)), Some(c));
        }
    }

    #[test]
    fn pool_keeps_small_buffers_by_class_and_a_few_large_mappings() {
        let bufs = Buffers::new(1 << 20);
        let map = |n| Buf::Map(MapBuf::new(n).unwrap());
        bufs.give(map(LARGE_MAX + 1));
        bufs.give(Buf::Heap(Vec::with_capacity(POOLED_BUFFER_MAX + 1)));
        bufs.give(Buf::Heap(Vec::with_capacity(100)));
        assert_eq!(
            idle_caps(&bufs).concat(),
            [0usize; 0],
            "heap buffers too large or too small to be worth it are not pooled"
        );
        for n in [1, 3, 2] {
            bufs.give(map(POOLED_BUFFER_MAX * n));
        }
        // The largest are kept.
        let caps = |b: &Buffers| {
            let mut c: Vec<usize> = b.idle().large.iter().map(|m| m.cap).collect();
            c.sort();
            c
        };
        assert_eq!(caps(&bufs), [POOLED_BUFFER_MAX * 2, POOLED_BUFFER_MAX * 3]);
        // The smallest that fits is taken; none fits: a new one, of the
        // next power of two.
        assert_eq!(
            bufs.take_large(POOLED_BUFFER_MAX + 1).unwrap().cap,
            POOLED_BUFFER_MAX * 2
        );
        assert_eq!(
            bufs.take_large(POOLED_BUFFER_MAX * 3 + 1).unwrap().cap,
            POOLED_BUFFER_MAX * 4
        );
        assert_eq!(caps(&bufs), [POOLED_BUFFER_MAX * 3]);
    }

    #[test]
    fn a_file_takes_a_buffer_of_its_class_the_last_given_first() {
        let bufs = Buffers::new(1 << 20);
        let (a, b, c) = (
            Vec::with_capacity(4096),
            Vec::with_capacity(4096),
            Vec::with_capacity(8192),
        );
        let (pa, pc) = (a.as_ptr(), c.as_ptr());
        for v in [b, a, c] {
            bufs.give(Buf::Heap(v));
        }
        assert_eq!(idle_caps(&bufs)[..2], [vec![4096, 4096], vec![8192]]);
        // The last given of the class on top; the next class when its own
        // is empty; a new one of the class's size when both are.
        let taken = [100, 4096, 10, 5000].map(|n| bufs.take_heap(n));
        assert_eq!(taken[0].as_ptr(), pa);
        assert_eq!(taken[1].capacity(), 4096);
        assert_eq!(taken[2].as_ptr(), pc);
        assert_eq!(taken[3].capacity(), 8192);
        assert_eq!(bufs.idle().bytes, 0);
        // Read through the pool: the file's class, whatever was given last.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![3u8; 20_000]).unwrap();
        bufs.give(Buf::Heap(Vec::with_capacity(4096)));
        bufs.give(Buf::Heap(Vec::with_capacity(32768)));
        let (_, c) = bufs.read(At::Path(&p), 100_000, Some(&|| false)).unwrap();
        let c = c.unwrap();
        assert_eq!((c.len(), c.buf.capacity()), (20_000, 32768));
        assert_eq!(idle_caps(&bufs)[0], [4096]);
        drop(c);
        assert_eq!(idle_caps(&bufs)[3], [32768]);
        // The pool keeps at most POOL_MAX_BYTES idle.
        for _ in 0..POOL_MAX_BYTES / POOLED_BUFFER_MAX + 2 {
            bufs.give(Buf::Heap(Vec::with_capacity(POOLED_BUFFER_MAX)));
        }
        assert!(bufs.idle().bytes <= POOL_MAX_BYTES);
    }

    #[test]
    fn large_files_are_read_into_mappings() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..POOLED_BUFFER_MAX * 3 + 5)
            .map(|i| (i * 7) as u8)
            .collect();
        let (big, small) = (dir.path().join("big"), dir.path().join("small"));
        std::fs::write(&big, &data).unwrap();
        std::fs::write(&small, b"small").unwrap();
        let bufs = Buffers::new(1 << 30);
        for _ in 0..2 {
            let (out, c) = bufs
                .read(At::Path(&big), u64::MAX, Some(&|| false))
                .unwrap();
            let c = c.unwrap();
            assert!(matches!(out, ReadOutcome::Done(s) if s.size == data.len() as u64));
            assert!(matches!(c.buf, Buf::Map(_)));
            assert_eq!(&c[..], &data[..]);
            assert_eq!(content_hash(&c), content_hash(&data));
            let (_, s) = bufs
                .read(At::Path(&small), u64::MAX, Some(&|| false))
                .unwrap();
            assert_eq!(&s.unwrap()[..], b"small");
        }
        // Kept for the next large file (one mapping, reused).
        assert_eq!(bufs.idle().large.len(), 1);
        // A file that shrank since its stat reads as what is there.
        let mut m = MapBuf::new(100).unwrap();
        m.fill(&File::open(&small).unwrap(), 100).unwrap();
        assert_eq!(&m[..], b"small");
    }
}
