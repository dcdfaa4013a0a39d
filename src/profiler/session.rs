//! [`Profiler`]: start, stop, scopes, and the assembly of a [`Profile`].

use super::procfs;
use super::profile::{BYTES_PER_MB, PeakSource, Profile, Sample};
use super::sampler::{Probe, SamplerThread, Window};
use super::scopes::{Scopes, next_session};
use super::{heap, sys};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Options of a [`Profiler`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfilerOptions {
    /// Seconds between samples: > 0 and finite (intervals under 1 ms are
    /// sampled every 1 ms).
    pub sample_interval_s: f64,
    /// Read the heap at every scope enter and exit, giving each scope's heap
    /// growth and the profile's `memory_traces`.
    pub trace_memory: bool,
    /// Add the live descendant processes to RSS and CPU.
    pub include_children: bool,
    /// Timeline points kept (>= 2); past it the resolution halves.
    pub max_samples: usize,
    /// Finished scopes kept as events (0: aggregates only).
    pub max_scope_events: usize,
}

impl Default for ProfilerOptions {
    fn default() -> Self {
        ProfilerOptions {
            sample_interval_s: 0.1,
            trace_memory: false,
            include_children: false,
            max_samples: 65_536,
            max_scope_events: 100_000,
        }
    }
}

/// The shortest interval the sampler thread honours.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl ProfilerOptions {
    /// Checks the options and returns the sampling interval.
    pub fn interval(&self) -> Result<Duration> {
        let s = self.sample_interval_s;
        if !s.is_finite() || s <= 0.0 {
            return Err(Error::invalid(format!(
                "sample_interval_s must be finite and > 0, got {s}"
            )));
        }
        let d = Duration::try_from_secs_f64(s)
            .map_err(|_| Error::invalid(format!("sample_interval_s {s:e} is too large")))?;
        if self.max_samples < 2 {
            return Err(Error::invalid(format!(
                "max_samples must be at least 2, got {}",
                self.max_samples
            )));
        }
        Ok(d.max(MIN_INTERVAL))
    }
}

/// Bumped by every profiler that resets the kernel's RSS high-water mark,
/// so a window knows whether someone else reset it meanwhile.
static HWM_RESETS: AtomicU64 = AtomicU64::new(0);
static NEXT_UID: AtomicU64 = AtomicU64::new(1);

struct Running {
    window: Arc<Mutex<Window>>,
    sampler: SamplerThread,
    /// `HWM_RESETS` right after our reset, when it succeeded.
    hwm_reset: Option<u64>,
    /// Scope clock ticks and `Instant` at start.
    mark: (u64, Instant),
    /// The process that started the window: after a `fork`, the child has
    /// no sampler thread to join.
    pid: u32,
}

impl Running {
    fn forked(&self) -> bool {
        self.pid != std::process::id()
    }
}

struct State {
    session: u32,
    running: Option<Running>,
}

/// Samples RSS, CPU and heap on a native thread between [`Profiler::start`]
/// and [`Profiler::stop`], and times named scopes. `Send + Sync`: share it
/// (e.g. in an `Arc`) and enter scopes from any thread.
pub struct Profiler {
    options: ProfilerOptions,
    interval: Duration,
    scopes: Scopes,
    state: Mutex<State>,
}

impl Profiler {
    /// A stopped profiler; `WTFPERF_ERR_INVALID`-kind error for bad options.
    pub fn new(options: ProfilerOptions) -> Result<Profiler> {
        let interval = options.interval()?;
        let uid = NEXT_UID.fetch_add(1, Ordering::Relaxed);
        Ok(Profiler {
            options,
            interval,
            scopes: Scopes::new(uid, options.trace_memory),
            state: Mutex::new(State {
                session: 0,
                running: None,
            }),
        })
    }

    pub fn options(&self) -> &ProfilerOptions {
        &self.options
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the profiler is between `start` and `stop`.
    pub fn is_running(&self) -> bool {
        self.state().running.is_some()
    }

    /// Starts a window: resets the RSS high-water mark, takes the base
    /// reading and starts the sampler thread. State error when running.
    pub fn start(&self) -> Result<()> {
        let mut state = self.state();
        if state.running.is_some() {
            return Err(Error::state("the profiler is already running"));
        }
        let hwm_reset = procfs::reset_hwm().then(|| HWM_RESETS.fetch_add(1, Ordering::SeqCst) + 1);
        let window = Window::open(
            Probe::new(self.options.include_children),
            self.options.max_samples,
        );
        let session = next_session(state.session);
        let mark = self.scopes.clock().mark();
        self.scopes
            .begin(session, mark.0, self.options.max_scope_events);
        let window = Arc::new(Mutex::new(window));
        let sampler = match SamplerThread::spawn(Arc::clone(&window), self.interval) {
            Ok(s) => s,
            Err(e) => {
                self.scopes.finish(1.0);
                return Err(Error::io("starting the sampler thread", &e));
            }
        };
        state.session = session;
        state.running = Some(Running {
            window,
            sampler,
            hwm_reset,
            mark,
            pid: std::process::id(),
        });
        Ok(())
    }

    /// Takes a sample now and records it in the timeline. State error when
    /// not running.
    pub fn sample_now(&self) -> Result<Sample> {
        let state = self.state();
        let running = state
            .running
            .as_ref()
            .ok_or_else(|| Error::state("the profiler is not running"))?;
        let sample = running
            .window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sample();
        Ok(sample)
    }

    /// Stops the window: joins the sampler thread, takes a last sample and
    /// returns the profile. State error when not running.
    pub fn stop(&self) -> Result<Profile> {
        // The state stays locked until the scopes are drained, so a `start`
        // racing with this `stop` cannot open a session that we then close.
        let mut state = self.state();
        let running = state
            .running
            .take()
            .ok_or_else(|| Error::state("the profiler is not running"))?;
        if running.forked() {
            // The sampler thread lives in the parent only; its handle (and
            // the window it may have held locked at the fork) are left alone.
            std::mem::forget(running);
            self.scopes.finish(1.0);
            return Err(Error::state(
                "the profiler was started in the parent of this forked process",
            ));
        }
        let profile = self.finish(running);
        drop(state);
        Ok(profile)
    }

    fn finish(&self, running: Running) -> Profile {
        let sampler_cpu_ns = running.sampler.stop();
        let mut window = running.window.lock().unwrap_or_else(|e| e.into_inner());
        window.sample();
        let clock = *self.scopes.clock();
        let scale = clock.ns_per_tick(running.mark, clock.mark());
        let scopes = self.scopes.finish(scale);
        let hwm = running
            .hwm_reset
            .filter(|&mark| HWM_RESETS.load(Ordering::SeqCst) == mark)
            .and_then(|_| procfs::read_hwm_bytes());
        let (peak, source) = match hwm {
            Some(h) => {
                let exact_self = h.max(window.max_self_rss);
                let source = if self.options.include_children && window.max_children_rss > 0 {
                    PeakSource::VmhwmSampledChildren
                } else {
                    PeakSource::Vmhwm
                };
                (exact_self.max(window.max_rss), source)
            }
            None => (window.max_rss, PeakSource::Sampled),
        };
        let duration_s = window.last_t();
        let cpu_time_s = window.cpu_ns() as f64 / 1e9;
        let avg_cpu_percent = if duration_s > 0.0 {
            cpu_time_s / duration_s * 100.0
        } else {
            0.0
        };
        let avg_rss = window.avg_rss();
        let peak_heap = window.max_heap;
        let heap_reads_skipped = heap::skipped().saturating_sub(window.heap_skipped_at_open);
        let peak_children = window.max_children_rss;
        let readings_reused = window.readings_reused();
        let (samples, stride, raw) = window.take_timeline();
        Profile {
            duration_s,
            peak_memory_mb: peak as f64 / BYTES_PER_MB,
            avg_memory_mb: avg_rss / BYTES_PER_MB,
            avg_cpu_percent,
            samples,
            cpu_time_s,
            peak_rss_bytes: peak,
            peak_source: source,
            peak_children_rss_bytes: peak_children,
            peak_heap_bytes: peak_heap,
            heap_available: sys::HEAP_AVAILABLE,
            heap_reads_skipped,
            heap_read_max_us: heap::max_cost_ns() as f64 / 1e3,
            sample_interval_s: self.options.sample_interval_s,
            timeline_stride: stride,
            raw_sample_count: raw,
            trace_memory: self.options.trace_memory,
            include_children: self.options.include_children,
            scopes: scopes.stats,
            events: scopes.events,
            events_dropped: scopes.events_dropped,
            unfinished_scopes: scopes.unfinished,
            memory_traces: scopes.memory_traces,
            threads: scopes.threads,
            sampler_cpu_s: sampler_cpu_ns as f64 / 1e9,
            readings_reused,
            pid: std::process::id(),
        }
    }

    /// Enters a scope; pass the token to [`Profiler::scope_exit`] (from any
    /// thread). State error when not running.
    #[inline]
    pub fn scope_enter(&self, name: &str) -> Result<u64> {
        self.scopes.enter(name)
    }

    /// [`Profiler::scope_enter`] with the name as bytes (as C passes it):
    /// invalid-kind error when they are not UTF-8. A little faster than
    /// converting to `&str` first, as recent names skip the UTF-8 check.
    #[inline]
    pub fn scope_enter_bytes(&self, name: &[u8]) -> Result<u64> {
        self.scopes.enter_bytes(name)
    }

    /// [`Profiler::scope_id`] with the name as bytes (as C passes it):
    /// invalid-kind error when they are not UTF-8.
    #[inline]
    pub fn scope_id_bytes(&self, name: &[u8]) -> Result<u32> {
        self.scopes.intern_bytes(name)
    }

    /// A number unique to this profiler within the process (never 0, never
    /// reused): the key of any per-thread cache of its name ids.
    pub fn uid(&self) -> u64 {
        self.scopes.uid()
    }

    /// The id of a scope name (interned once per profiler, valid across
    /// start/stop), for [`Profiler::scope_enter_id`]: hot loops skip the
    /// name lookup.
    pub fn scope_id(&self, name: &str) -> u32 {
        self.scopes.intern(name)
    }

    /// Enters a scope by a name id from [`Profiler::scope_id`]. Invalid-kind
    /// error for an unknown id; state error when not running.
    #[inline]
    pub fn scope_enter_id(&self, id: u32) -> Result<u64> {
        self.scopes.enter_id(id)
    }

    /// Exits a scope. Invalid-kind error for an unknown token; a token of a
    /// window already stopped is ignored.
    #[inline]
    pub fn scope_exit(&self, token: u64) -> Result<()> {
        self.scopes.exit(token)
    }

    /// Runs `f` inside a scope named `name`.
    pub fn scope<T>(&self, name: &str, f: impl FnOnce() -> T) -> Result<T> {
        let token = self.scope_enter(name)?;
        let out = f();
        self.scope_exit(token)?;
        Ok(out)
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        if let Some(running) = self.state().running.take() {
            if running.forked() {
                std::mem::forget(running);
            } else {
                running.sampler.stop();
            }
            self.scopes.finish(1.0);
        }
    }
}
