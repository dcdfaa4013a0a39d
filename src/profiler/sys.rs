//! The few operating-system calls std does not offer: process and thread
//! CPU clocks, CPU time of waited-for children, glibc heap statistics,
//! system constants and the sampler's periodic timer (`timerfd`).
//!
//! With `spin.rs` (a lock), the only place of the profiler with `unsafe`:
//! each function is a plain libc call with no pointer kept past the call.

/// Nanoseconds of a POSIX clock, or 0 when the clock cannot be read.
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// CPU time (user + system) of the whole process, all threads, in ns.
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time of the calling thread, in ns.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time (user + system) of the children this process has waited for,
/// in ns (`getrusage(RUSAGE_CHILDREN)`).
pub fn waited_children_cpu_ns() -> u64 {
    usage(libc::RUSAGE_CHILDREN).map_or(0, |u| u.cpu_ns)
}

/// What a thread or the whole process has done so far (`getrusage`): the
/// sampler's test for "no other thread ran since the last full reading".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User + system CPU time in ns (µs resolution). For the process it
    /// includes the calling thread's time up to the call; for a thread, only
    /// up to its last scheduler accounting (its switch-in or the last tick).
    pub cpu_ns: u64,
    /// Voluntary context switches (the thread blocked).
    pub voluntary: u64,
    /// Involuntary context switches (the thread was preempted).
    pub involuntary: u64,
    /// Page faults, minor + major: counted by the faulting thread at once.
    pub faults: u64,
}

fn usage(who: libc::c_int) -> Option<Usage> {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(who, &mut u) } != 0 {
        return None;
    }
    let tv_ns =
        |tv: libc::timeval| (tv.tv_sec as u64) * 1_000_000_000 + (tv.tv_usec as u64) * 1_000;
    Some(Usage {
        cpu_ns: tv_ns(u.ru_utime) + tv_ns(u.ru_stime),
        voluntary: u.ru_nvcsw as u64,
        involuntary: u.ru_nivcsw as u64,
        faults: (u.ru_minflt as u64).saturating_add(u.ru_majflt as u64),
    })
}

/// [`Usage`] of the whole process: every live thread plus the exited ones.
pub fn process_usage() -> Option<Usage> {
    usage(libc::RUSAGE_SELF)
}

/// CPU time of the whole process in ns, from `getrusage` (what
/// [`process_usage`] reads: the sampler compares the two), else the clock.
pub fn process_usage_cpu_ns() -> u64 {
    process_usage().map_or_else(process_cpu_ns, |u| u.cpu_ns)
}

/// [`Usage`] of the calling thread (`RUSAGE_THREAD`, Linux only).
#[cfg(target_os = "linux")]
pub fn thread_usage() -> Option<Usage> {
    usage(libc::RUSAGE_THREAD)
}

/// [`Usage`] of the calling thread: not available here.
#[cfg(not(target_os = "linux"))]
pub fn thread_usage() -> Option<Usage> {
    None
}

/// Bytes of heap in use according to the allocator, and whether the
/// allocator can say (glibc's `mallinfo2`: arena bytes in use plus
/// mmap-ed chunks). Elsewhere `(0, false)`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_in_use() -> (u64, bool) {
    // SAFETY: mallinfo2 takes no arguments and returns a struct by value.
    let info = unsafe { libc::mallinfo2() };
    (
        (info.uordblks as u64).saturating_add(info.hblkhd as u64),
        true,
    )
}

/// Bytes of heap in use according to the allocator: not available on this
/// platform, so `(0, false)`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_in_use() -> (u64, bool) {
    (0, false)
}

/// Whether [`heap_in_use`] reports real figures on this platform.
pub const HEAP_AVAILABLE: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// The page size in bytes (4096 when unknown).
pub fn page_size() -> u64 {
    // SAFETY: sysconf takes an integer and has no memory side effects.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as u64 } else { 4096 }
}

/// Clock ticks per second of `/proc/<pid>/stat` times (100 when unknown).
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf takes an integer and has no memory side effects.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 { v as u64 } else { 100 }
}

/// A periodic kernel timer (`timerfd`, `CLOCK_MONOTONIC`) a thread blocks
/// on with `read`. The kernel re-arms it in interrupt context, so the
/// waiting thread never programs a timer itself: on a VM, where every timer
/// programming is a costly exit to the hypervisor, a wake-up costs the
/// thread less than a `sleep` or `park_timeout` to a deadline.
#[cfg(target_os = "linux")]
pub struct Ticker {
    file: std::fs::File,
}

#[cfg(target_os = "linux")]
fn itimerspec(first: std::time::Duration, every: std::time::Duration) -> libc::itimerspec {
    let ts = |d: std::time::Duration| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    libc::itimerspec {
        // A zero first expiry would disarm the timer: 1 ns is "now".
        it_value: ts(first.max(std::time::Duration::from_nanos(1))),
        it_interval: ts(every),
    }
}

#[cfg(target_os = "linux")]
impl Ticker {
    /// A timer that first fires after `first`, then every `every`.
    pub fn new(first: std::time::Duration, every: std::time::Duration) -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: timerfd_create takes two integers and returns a new fd or -1.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        let ticker = Ticker { file };
        ticker.set(itimerspec(first, every))?;
        Ok(ticker)
    }

    fn set(&self, spec: libc::itimerspec) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: a live timerfd, a valid itimerspec read during the call,
        // and NULL for the old value (not wanted).
        let rc =
            unsafe { libc::timerfd_settime(self.file.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Blocks until the timer fires; returns how many times it fired since
    /// the last wait (more than 1 after a stall).
    pub fn wait(&self) -> std::io::Result<u64> {
        use std::io::Read;
        let mut count = [0u8; 8];
        (&self.file).read_exact(&mut count)?;
        Ok(u64::from_ne_bytes(count))
    }

    /// Makes the timer fire now, once, and stop: a thread blocked in
    /// [`Ticker::wait`] (or about to be) returns at once.
    pub fn fire_now(&self) -> std::io::Result<()> {
        self.set(itimerspec(
            std::time::Duration::from_nanos(1),
            std::time::Duration::ZERO,
        ))
    }
}

/// The CPU's time-stamp counter (x86_64), for cheap scope timestamps; see
/// [`super::clock`] for when it is trusted.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn tsc() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86_64 and touches no memory.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// No time-stamp counter on this architecture: always 0 (never trusted).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn tsc() -> u64 {
    0
}
