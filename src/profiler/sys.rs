//! The few operating-system calls std does not offer: process and thread
//! CPU clocks, CPU time of waited-for children, glibc heap statistics and
//! system constants.
//!
//! This is the only place of the profiler with `unsafe`: each function is a
//! plain libc call with no pointer kept past the call.

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
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return 0;
    }
    let tv_ns =
        |tv: libc::timeval| (tv.tv_sec as u64) * 1_000_000_000 + (tv.tv_usec as u64) * 1_000;
    tv_ns(usage.ru_utime) + tv_ns(usage.ru_stime)
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
