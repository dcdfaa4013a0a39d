//! C boundary for the profiler part: thin wrappers over
//! [`crate::profiler`].

use super::args::{self, as_ref, out_ptr, write_out};
use super::buf::wtfperf_buf;
use super::guard::{guard, guard_value};
use super::status::{WTFPERF_OK, wtfperf_status};
use crate::error::Error;
use crate::profiler::{Profile, ProfileManager, Profiler, ProfilerOptions, Sample};
use std::ffi::c_char;

/// The `version` field of the profile JSON this library writes
/// (`wtfperf_profile_to_json`, schema `wtfperf.profile`).
pub const WTFPERF_PROFILE_SCHEMA_VERSION: u32 = 1;

/// Options of a profiler; get the defaults from
/// `wtfperf_profiler_options_default()` and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wtfperf_profiler_options {
    /// Seconds between samples; must be > 0 and finite, else
    /// `WTFPERF_ERR_INVALID` (intervals under 1 ms are sampled every 1 ms).
    /// Default 0.1.
    pub sample_interval_s: f64,
    /// Read the heap at every scope enter and exit, giving each scope's heap
    /// growth and the profile's `memory_traces` (slower scopes). Default false.
    pub trace_memory: bool,
    /// Add the live descendant processes (forked workers) to RSS and CPU;
    /// each sample then scans `/proc`. Default false.
    pub include_children: bool,
    /// Timeline points kept (>= 2, else `WTFPERF_ERR_INVALID`); when reached
    /// the resolution halves, so memory stays bounded. Default 65536.
    pub max_samples: usize,
    /// Finished scopes kept as trace events (0: aggregates only); later
    /// scopes still count in the aggregates. Default 100000.
    pub max_scope_events: usize,
}

impl From<ProfilerOptions> for wtfperf_profiler_options {
    fn from(o: ProfilerOptions) -> Self {
        wtfperf_profiler_options {
            sample_interval_s: o.sample_interval_s,
            trace_memory: o.trace_memory,
            include_children: o.include_children,
            max_samples: o.max_samples,
            max_scope_events: o.max_scope_events,
        }
    }
}

impl From<wtfperf_profiler_options> for ProfilerOptions {
    fn from(o: wtfperf_profiler_options) -> Self {
        ProfilerOptions {
            sample_interval_s: o.sample_interval_s,
            trace_memory: o.trace_memory,
            include_children: o.include_children,
            max_samples: o.max_samples,
            max_scope_events: o.max_scope_events,
        }
    }
}

/// One point of a profile's timeline.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wtfperf_sample {
    /// Seconds since start.
    pub t_s: f64,
    /// Resident set size in bytes (with `include_children`, plus the live
    /// descendants).
    pub rss_bytes: u64,
    /// CPU use since the previous sample (the first: since start), in percent
    /// of one core (two busy cores read 200).
    pub cpu_percent: f64,
    /// Heap bytes in use per glibc `mallinfo2`; 0 where unavailable (see
    /// `heap_source` in the profile JSON). On a heap where `mallinfo2` has
    /// become slow, readings are rate-limited and repeat the previous figure
    /// (counted in `heap_reads_skipped`).
    pub heap_bytes: u64,
}

impl From<Sample> for wtfperf_sample {
    fn from(s: Sample) -> Self {
        wtfperf_sample {
            t_s: s.t_s,
            rss_bytes: s.rss_bytes,
            cpu_percent: s.cpu_percent,
            heap_bytes: s.heap_bytes,
        }
    }
}

/// A profiler: samples RSS, CPU and heap on its own native thread between
/// start and stop, and times named scopes.
///
/// Thread-safe: one handle may be used from many threads at once (scopes are
/// typically entered on every worker thread). Free it once, after every
/// other call on it has returned.
pub struct wtfperf_profiler {
    inner: Profiler,
}

/// A finished profile: immutable, so it may be read from many threads at
/// once. Free it with `wtfperf_profile_free`.
pub struct wtfperf_profile {
    inner: Profile,
}

/// A collection of named runs and their summary. Thread-safe: may be used
/// from many threads at once.
pub struct wtfperf_profile_manager {
    inner: ProfileManager,
}

/// The default profiler options: `sample_interval_s = 0.1`,
/// `trace_memory = false`, `include_children = false`, `max_samples = 65536`,
/// `max_scope_events = 100000`.
#[unsafe(no_mangle)]
pub extern "C" fn wtfperf_profiler_options_default() -> wtfperf_profiler_options {
    const FALLBACK: wtfperf_profiler_options = wtfperf_profiler_options {
        sample_interval_s: 0.1,
        trace_memory: false,
        include_children: false,
        max_samples: 65_536,
        max_scope_events: 100_000,
    };
    guard_value(FALLBACK, || ProfilerOptions::default().into())
}

/// Creates a stopped profiler.
///
/// `options` may be NULL (defaults). `out` must not be NULL; on success it
/// receives a handle the caller owns (free it with `wtfperf_profiler_free`).
/// Returns `WTFPERF_ERR_INVALID` for a `sample_interval_s` that is not finite
/// and > 0 or a `max_samples` under 2.
///
/// # Safety
/// `options` is NULL or points to a valid options struct; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_new(
    options: *const wtfperf_profiler_options,
    out: *mut *mut wtfperf_profiler,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let flags = [
            std::mem::offset_of!(wtfperf_profiler_options, trace_memory),
            std::mem::offset_of!(wtfperf_profiler_options, include_children),
        ];
        // SAFETY: NULL or a valid options struct per the contract; `flags`
        // are exactly its bool fields.
        let options = unsafe { args::read_options(options, &flags) }
            .map(ProfilerOptions::from)
            .unwrap_or_default();
        let profiler = Profiler::new(options)?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, args::into_handle(wtfperf_profiler { inner: profiler })) };
        Ok(WTFPERF_OK)
    })
}

/// Starts profiling: resets the kernel's RSS high-water mark (for an exact
/// peak), takes the base reading and starts the sampler thread.
///
/// Returns `WTFPERF_ERR_STATE` when already running. A stopped profiler may
/// be started again.
///
/// # Safety
/// `profiler` is NULL or a live handle from `wtfperf_profiler_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_start(profiler: *mut wtfperf_profiler) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        p.inner.start()?;
        Ok(WTFPERF_OK)
    })
}

/// Stops profiling: joins the sampler thread, takes a last sample and gives
/// the finished profile.
///
/// `out` must not be NULL; on success it receives a profile the caller owns
/// (free it with `wtfperf_profile_free`). Returns `WTFPERF_ERR_STATE` when
/// not running, and in a forked child for a window its parent started (the
/// window ends there without a profile; the parent's is unaffected). Scopes still open are dropped (counted as
/// `unfinished_scopes` in the JSON); exiting them later is a no-op.
///
/// # Safety
/// `profiler` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_stop(
    profiler: *mut wtfperf_profiler,
    out: *mut *mut wtfperf_profile,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        let profile = p.inner.stop()?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, args::into_handle(wtfperf_profile { inner: profile })) };
        Ok(WTFPERF_OK)
    })
}

/// Whether the profiler is running (false for NULL).
///
/// # Safety
/// `profiler` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_is_running(profiler: *const wtfperf_profiler) -> bool {
    guard_value(false, || {
        // SAFETY: NULL or a live handle per the contract.
        unsafe { args::opt_ref(profiler) }.is_some_and(|p| p.inner.is_running())
    })
}

/// Takes a sample now (besides the sampler thread's), records it in the
/// timeline and writes it to `out`.
///
/// Returns `WTFPERF_ERR_STATE` when not running.
///
/// # Safety
/// `profiler` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_sample_now(
    profiler: *mut wtfperf_profiler,
    out: *mut wtfperf_sample,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        let sample = p.inner.sample_now()?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, sample.into()) };
        Ok(WTFPERF_OK)
    })
}

/// Enters a scope named `name` on the calling thread; `out_token` receives
/// the token to pass to `wtfperf_profiler_scope_exit` (from any thread).
///
/// Scopes nest. `name` is copied (interned once per profiler). Returns
/// `WTFPERF_ERR_STATE` when the profiler is not running, and
/// `WTFPERF_ERR_INVALID` when `name` is not UTF-8.
///
/// # Safety
/// `profiler` is NULL or a live handle; `name` is NULL or a NUL-terminated
/// string; `out_token` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_scope_enter(
    profiler: *mut wtfperf_profiler,
    name: *const c_char,
    out_token: *mut u64,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out_token, "out_token")?;
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        if name.is_null() {
            return Err(Error::null("name"));
        }
        let uid = p.inner.uid();
        // SAFETY: `name` is non-NULL and NUL-terminated per the contract.
        let id = match unsafe { names::cached(uid, name) } {
            Some(id) => id,
            None => {
                // SAFETY: non-NULL and NUL-terminated per the contract.
                let bytes = unsafe { args::cstr(name, "name")? }.to_bytes();
                let id = p.inner.scope_id_bytes(bytes)?;
                names::remember(uid, name, bytes, id);
                id
            }
        };
        let token = p.inner.scope_enter_id(id)?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, token) };
        Ok(WTFPERF_OK)
    })
}

/// A per-thread cache of the C strings last passed as scope names, keyed by
/// (profiler uid, pointer): hosts pass the same literal again and again, so
/// `wtfperf_profiler_scope_enter` usually finds the name's id here, after
/// checking the bytes at the pointer still are the cached ones (a buffer
/// reused for another name misses), without `strlen`, UTF-8 validation or
/// hashing.
mod names {
    use std::cell::RefCell;
    use std::ffi::c_char;

    /// Entries per thread (direct-mapped by pointer).
    const ENTRIES: usize = 8;
    /// Longest name cached (an entry is one 64-byte cache line).
    pub(super) const MAX_LEN: usize = 43;

    #[derive(Clone, Copy)]
    struct Entry {
        uid: u64,
        ptr: usize,
        id: u32,
        len: u8,
        /// The name's bytes: never a NUL (they come from a C string).
        bytes: [u8; MAX_LEN],
    }

    const EMPTY: Entry = Entry {
        uid: 0,
        ptr: 0,
        id: 0,
        len: 0,
        bytes: [0; MAX_LEN],
    };

    thread_local! {
        static NAMES: RefCell<[Entry; ENTRIES]> = const { RefCell::new([EMPTY; ENTRIES]) };
    }

    #[inline]
    fn slot(ptr: *const c_char) -> usize {
        let a = ptr as usize;
        (a ^ (a >> 6) ^ (a >> 12)) % ENTRIES
    }

    /// The id cached for the name at `ptr` in profiler `uid`, if the string
    /// there still is the cached one.
    ///
    /// # Safety
    /// `ptr` is a non-NULL, NUL-terminated string.
    #[inline]
    pub(super) unsafe fn cached(uid: u64, ptr: *const c_char) -> Option<u32> {
        NAMES.with_borrow(|names| {
            let e = &names[slot(ptr)];
            // uid 0 is never a profiler's, so empty entries never match.
            if e.ptr != ptr as usize || e.uid != uid {
                return None;
            }
            let len = e.len as usize;
            for (i, &b) in e.bytes[..len].iter().enumerate() {
                // SAFETY: bytes 0..i matched cached bytes, none NUL, so the
                // string has not ended before `i`: `ptr + i` is inside it
                // (at worst its terminator).
                if unsafe { *ptr.add(i) } as u8 != b {
                    return None;
                }
            }
            // SAFETY: as above, bytes 0..len are the string's, none NUL.
            (unsafe { *ptr.add(len) } == 0).then_some(e.id)
        })
    }

    /// Caches `id` for the name at `ptr` (whose bytes, without the NUL,
    /// are `bytes`) in profiler `uid`; long names are not cached.
    pub(super) fn remember(uid: u64, ptr: *const c_char, bytes: &[u8], id: u32) {
        if bytes.len() > MAX_LEN {
            return;
        }
        let mut e = Entry {
            uid,
            ptr: ptr as usize,
            id,
            len: bytes.len() as u8,
            bytes: [0; MAX_LEN],
        };
        e.bytes[..bytes.len()].copy_from_slice(bytes);
        NAMES.with_borrow_mut(|names| names[slot(ptr)] = e);
    }
}

/// Interns a scope name once: `out_id` receives an id for
/// `wtfperf_profiler_scope_enter_id`, valid for this profiler's lifetime
/// (across start/stop). Hot loops use it to skip the name lookup.
///
/// Works whether or not the profiler runs. Returns `WTFPERF_ERR_INVALID`
/// when `name` is not UTF-8.
///
/// # Safety
/// `profiler` is NULL or a live handle; `name` is NULL or a NUL-terminated
/// string; `out_id` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_scope_id(
    profiler: *mut wtfperf_profiler,
    name: *const c_char,
    out_id: *mut u32,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        // SAFETY: NULL or a NUL-terminated string per the contract.
        let name = unsafe { args::str(name, "name")? };
        let id = p.inner.scope_id(name);
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, id) };
        Ok(WTFPERF_OK)
    })
}

/// Enters a scope by a name id from `wtfperf_profiler_scope_id` (otherwise
/// as `wtfperf_profiler_scope_enter`).
///
/// Returns `WTFPERF_ERR_INVALID` for an id this profiler never gave and
/// `WTFPERF_ERR_STATE` when not running.
///
/// # Safety
/// `profiler` is NULL or a live handle; `out_token` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_scope_enter_id(
    profiler: *mut wtfperf_profiler,
    id: u32,
    out_token: *mut u64,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out_token, "out_token")?;
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        let token = p.inner.scope_enter_id(id)?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, token) };
        Ok(WTFPERF_OK)
    })
}

/// Exits the scope of `token` (from any thread).
///
/// Returns `WTFPERF_ERR_INVALID` for a token this profiler never gave or one
/// already exited. A token of a window already stopped is ignored
/// (`WTFPERF_OK`).
///
/// # Safety
/// `profiler` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_scope_exit(
    profiler: *mut wtfperf_profiler,
    token: u64,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or a live handle per the contract.
        let p = unsafe { as_ref(profiler.cast_const(), "profiler")? };
        p.inner.scope_exit(token)?;
        Ok(WTFPERF_OK)
    })
}

/// Frees a profiler (stopping it first if it runs; that profile is lost).
/// NULL is a no-op.
///
/// # Safety
/// `profiler` is NULL or a live handle no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profiler_free(profiler: *mut wtfperf_profiler) {
    // SAFETY: NULL or a live handle made by into_handle, per the contract.
    guard_value((), || unsafe { args::free_handle(profiler) })
}

/// Reads a figure of a profile, or `fallback` for NULL.
fn figure<T>(profile: *const wtfperf_profile, fallback: T, f: impl FnOnce(&Profile) -> T) -> T
where
    T: Copy,
{
    guard_value(fallback, || {
        // SAFETY: every caller's contract: NULL or a live profile.
        match unsafe { args::opt_ref(profile) } {
            Some(p) => f(&p.inner),
            None => {
                super::status::set_last_error(&Error::null("profile"));
                fallback
            }
        }
    })
}

/// Wall-clock seconds from start to stop; NAN for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_duration_s(profile: *const wtfperf_profile) -> f64 {
    figure(profile, f64::NAN, |p| p.duration_s)
}

/// Peak RSS of the window in MB (2^20 bytes): exact (the kernel's high-water
/// mark, so spikes between samples count) when `wtfperf_profile_peak_is_exact`,
/// else the largest sample. NAN for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_peak_memory_mb(profile: *const wtfperf_profile) -> f64 {
    figure(profile, f64::NAN, |p| p.peak_memory_mb)
}

/// Mean RSS over the samples, in MB (2^20 bytes); NAN for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_avg_memory_mb(profile: *const wtfperf_profile) -> f64 {
    figure(profile, f64::NAN, |p| p.avg_memory_mb)
}

/// CPU time of the window over its wall time, in percent of one core (two
/// busy cores read 200); NAN for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_avg_cpu_percent(profile: *const wtfperf_profile) -> f64 {
    figure(profile, f64::NAN, |p| p.avg_cpu_percent)
}

/// CPU seconds (user + system) the process used in the window; NAN for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_cpu_time_s(profile: *const wtfperf_profile) -> f64 {
    figure(profile, f64::NAN, |p| p.cpu_time_s)
}

/// Whether the peak is exact (the kernel's high-water mark, reset at start)
/// rather than the largest sample; false for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_peak_is_exact(profile: *const wtfperf_profile) -> bool {
    figure(profile, false, |p| p.peak_is_exact())
}

/// Number of timeline points; 0 for NULL.
///
/// # Safety
/// `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_sample_count(profile: *const wtfperf_profile) -> usize {
    figure(profile, 0, |p| p.samples.len())
}

/// Copies timeline point `i` to `out`.
///
/// Returns `WTFPERF_ERR_INVALID` when `i >= wtfperf_profile_sample_count`.
///
/// # Safety
/// `profile` is NULL or a live profile; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_sample(
    profile: *const wtfperf_profile,
    i: usize,
    out: *mut wtfperf_sample,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live profile per the contract.
        let p = unsafe { as_ref(profile, "profile")? };
        let sample = p.inner.samples.get(i).copied().ok_or_else(|| {
            Error::invalid(format!(
                "sample index {i} out of range (count {})",
                p.inner.samples.len()
            ))
        })?;
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, sample.into()) };
        Ok(WTFPERF_OK)
    })
}

/// The profile as JSON (schema `wtfperf.profile`, version 1: figures,
/// `peak_source`, timeline, per-name scope aggregates, memory traces; see
/// the README).
///
/// `out` must not be NULL; on success it receives a buffer the caller frees
/// with `wtfperf_buf_free`.
///
/// # Safety
/// `profile` is NULL or a live profile; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_to_json(
    profile: *const wtfperf_profile,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live profile per the contract.
        let p = unsafe { as_ref(profile, "profile")? };
        let text = p.inner.to_json();
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, wtfperf_buf::from_vec(text.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}

/// The profile as Trace Event JSON, for Perfetto (ui.perfetto.dev) and
/// chrome://tracing: scopes as complete events on their threads, RSS, heap
/// and CPU as counter tracks.
///
/// `out` must not be NULL; on success it receives a buffer the caller frees
/// with `wtfperf_buf_free`.
///
/// # Safety
/// `profile` is NULL or a live profile; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_to_chrome_trace(
    profile: *const wtfperf_profile,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live profile per the contract.
        let p = unsafe { as_ref(profile, "profile")? };
        let text = p.inner.to_chrome_trace();
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, wtfperf_buf::from_vec(text.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}

/// Frees a profile; NULL is a no-op.
///
/// # Safety
/// `profile` is NULL or a live profile no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_free(profile: *mut wtfperf_profile) {
    // SAFETY: NULL or a live handle made by into_handle, per the contract.
    guard_value((), || unsafe { args::free_handle(profile) })
}

/// Creates an empty run manager.
///
/// `out` must not be NULL; on success it receives a handle the caller owns
/// (free it with `wtfperf_profile_manager_free`).
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_manager_new(
    out: *mut *mut wtfperf_profile_manager,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        let handle = args::into_handle(wtfperf_profile_manager {
            inner: ProfileManager::new(),
        });
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, handle) };
        Ok(WTFPERF_OK)
    })
}

/// Records the figures of `profile` as a run named `name` (both copied; the
/// profile may be freed afterwards).
///
/// Returns `WTFPERF_ERR_INVALID` when `name` is not UTF-8.
///
/// # Safety
/// `manager` is NULL or a live manager; `name` is NULL or a NUL-terminated
/// string; `profile` is NULL or a live profile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_manager_add(
    manager: *mut wtfperf_profile_manager,
    name: *const c_char,
    profile: *const wtfperf_profile,
) -> wtfperf_status {
    guard(|| {
        // SAFETY: NULL or a live manager per the contract.
        let m = unsafe { as_ref(manager.cast_const(), "manager")? };
        // SAFETY: NULL or a NUL-terminated string per the contract.
        let name = unsafe { args::str(name, "name")? };
        // SAFETY: NULL or a live profile per the contract.
        let p = unsafe { as_ref(profile, "profile")? };
        m.inner.add(name, &p.inner);
        Ok(WTFPERF_OK)
    })
}

/// The summary of the runs as JSON (schema `wtfperf.profile_summary`,
/// version 1): per name, `count` and min / median / max / mean of
/// `duration_s`, `peak_memory_mb`, `avg_memory_mb` and `avg_cpu_percent`.
///
/// `out` must not be NULL; on success it receives a buffer the caller frees
/// with `wtfperf_buf_free`.
///
/// # Safety
/// `manager` is NULL or a live manager; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_manager_summary_json(
    manager: *const wtfperf_profile_manager,
    out: *mut wtfperf_buf,
) -> wtfperf_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live manager per the contract.
        let m = unsafe { as_ref(manager, "manager")? };
        let text = m.inner.summary_json();
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { write_out(out, wtfperf_buf::from_vec(text.into_bytes())) };
        Ok(WTFPERF_OK)
    })
}

/// Frees a run manager; NULL is a no-op.
///
/// # Safety
/// `manager` is NULL or a live manager no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wtfperf_profile_manager_free(manager: *mut wtfperf_profile_manager) {
    // SAFETY: NULL or a live handle made by into_handle, per the contract.
    guard_value((), || unsafe { args::free_handle(manager) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_options_match_the_rust_defaults() {
        let c = super::wtfperf_profiler_options_default();
        let r = crate::profiler::ProfilerOptions::default();
        assert_eq!(crate::profiler::ProfilerOptions::from(c), r);
    }

    #[test]
    fn the_name_cache_checks_the_bytes_behind_the_pointer() {
        use super::names::{MAX_LEN, cached, remember};
        let mut buf = [0u8; 64];
        let put = |buf: &mut [u8; 64], text: &[u8]| {
            buf.fill(0);
            buf[..text.len()].copy_from_slice(text);
        };
        put(&mut buf, b"parse");
        let ptr = buf.as_ptr().cast::<std::ffi::c_char>();
        // SAFETY (each call below): `buf` holds a NUL-terminated string.
        assert_eq!(unsafe { cached(7, ptr) }, None);
        remember(7, ptr, b"parse", 3);
        assert_eq!(unsafe { cached(7, ptr) }, Some(3));
        // Another profiler, or other bytes at the same address, miss.
        assert_eq!(unsafe { cached(8, ptr) }, None);
        for other in [&b"parsE"[..], b"pars", b"parse2", b""] {
            put(&mut buf, other);
            let ptr = buf.as_ptr().cast::<std::ffi::c_char>();
            assert_eq!(unsafe { cached(7, ptr) }, None);
        }
        // The longest cached name, and one byte more (not cached).
        let long = [b'x'; MAX_LEN + 1];
        put(&mut buf, &long[..MAX_LEN]);
        let ptr = buf.as_ptr().cast::<std::ffi::c_char>();
        remember(7, ptr, &long[..MAX_LEN], 4);
        assert_eq!(unsafe { cached(7, ptr) }, Some(4));
        put(&mut buf, &long);
        assert_eq!(unsafe { cached(7, ptr) }, None);
        remember(7, ptr, &long, 5);
        assert_eq!(unsafe { cached(7, ptr) }, None);
    }

    #[test]
    fn schema_version_matches_the_json() {
        assert_eq!(
            super::WTFPERF_PROFILE_SCHEMA_VERSION,
            crate::profiler::json::PROFILE_SCHEMA_VERSION
        );
    }
}
