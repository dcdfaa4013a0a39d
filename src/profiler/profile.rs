//! The finished, immutable result of one profiling window.

use serde::Serialize;

/// Bytes per "MB" in every `*_mb` figure: 2^20, as psutil-based monitors
/// print `rss / 1024 / 1024`.
pub(crate) const BYTES_PER_MB: f64 = 1024.0 * 1024.0;

/// One point of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since `start`.
    pub t_s: f64,
    /// Resident set size (plus live descendants with `include_children`).
    pub rss_bytes: u64,
    /// CPU use since the previous sample (or since `start` for the first),
    /// in percent of one core: two busy cores read 200.
    pub cpu_percent: f64,
    /// Heap bytes in use per glibc `mallinfo2` (0 where unavailable); may
    /// repeat the previous figure while slow readings are rate-limited.
    pub heap_bytes: u64,
}

/// Where the peak RSS figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeakSource {
    /// The kernel's high-water mark (`VmHWM`), reset at `start`: exact, it
    /// sees spikes shorter than one sample interval.
    Vmhwm,
    /// The process's own peak is exact (`VmHWM`); the live descendants'
    /// share comes from samples (`include_children`).
    VmhwmSampledChildren,
    /// The maximum of the samples: the high-water mark could not be reset
    /// (no `/proc`, permission denied, or another profiler reset it during
    /// this window).
    Sampled,
}

impl PeakSource {
    /// The name used in JSON: "vmhwm", "vmhwm_sampled_children", "sampled".
    pub fn as_str(self) -> &'static str {
        match self {
            PeakSource::Vmhwm => "vmhwm",
            PeakSource::VmhwmSampledChildren => "vmhwm_sampled_children",
            PeakSource::Sampled => "sampled",
        }
    }
}

/// Aggregates of every scope of one name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeStats {
    pub name: String,
    pub count: u64,
    pub total_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub mean_s: f64,
    /// Sum of heap growth over the scopes of this name (0 unless
    /// `trace_memory`); may be negative.
    pub heap_growth_bytes: i64,
    /// Largest heap growth of one scope of this name (0 unless `trace_memory`).
    pub max_heap_growth_bytes: i64,
}

/// One finished scope: a Chrome-trace complete event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeEvent {
    pub name: String,
    /// Small ordinal of the thread that entered the scope.
    pub thread: u32,
    pub start_s: f64,
    pub duration_s: f64,
    /// Heap growth during the scope (0 unless `trace_memory`).
    pub heap_growth_bytes: i64,
}

/// One of the scopes with the largest heap growth (`trace_memory`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryTrace {
    pub name: String,
    pub thread: u32,
    pub start_s: f64,
    pub duration_s: f64,
    pub heap_before_bytes: u64,
    pub heap_after_bytes: u64,
    pub growth_bytes: i64,
}

/// A finished profile: figures, the timeline, scopes and memory traces.
/// Immutable; cheap to share behind an `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Wall time from `start` to `stop`.
    pub duration_s: f64,
    /// Peak RSS in MB (2^20 bytes); see `peak_source`.
    pub peak_memory_mb: f64,
    /// Mean RSS over every sample taken, in MB.
    pub avg_memory_mb: f64,
    /// Total CPU time over wall time for the window, in percent of one core.
    pub avg_cpu_percent: f64,
    /// The timeline (bounded: see `timeline_stride`).
    pub samples: Vec<Sample>,
    /// CPU time consumed during the window (user + system), in seconds.
    pub cpu_time_s: f64,
    /// Peak RSS in bytes.
    pub peak_rss_bytes: u64,
    pub peak_source: PeakSource,
    /// Largest RSS of the live descendants seen in one sample
    /// (`include_children`).
    pub peak_children_rss_bytes: u64,
    /// Largest heap figure sampled.
    pub peak_heap_bytes: u64,
    /// Whether heap figures are real (glibc) or all 0.
    pub heap_available: bool,
    /// Heap readings in the window answered with the previous figure
    /// because `mallinfo2` had become slow (see [`super::heap`]).
    pub heap_reads_skipped: u64,
    /// The slowest heap reading of the process so far, in µs.
    pub heap_read_max_us: f64,
    /// The requested sample interval.
    pub sample_interval_s: f64,
    /// Raw samples merged into each timeline point: 1 until the timeline
    /// reached `max_samples`, then doubled each time it was halved.
    pub timeline_stride: u64,
    /// Raw samples taken (at most `samples.len() * timeline_stride`).
    pub raw_sample_count: u64,
    pub trace_memory: bool,
    pub include_children: bool,
    /// Per-name aggregates, by total time, largest first.
    pub scopes: Vec<ScopeStats>,
    /// Finished scopes, by start time (bounded by `max_scope_events`).
    pub events: Vec<ScopeEvent>,
    /// Finished scopes not kept in `events` because the cap was reached
    /// (they are still in `scopes`).
    pub events_dropped: u64,
    /// Scopes entered but not exited when the profiler stopped.
    pub unfinished_scopes: u64,
    /// The 10 scopes with the largest heap growth (`trace_memory`).
    pub memory_traces: Vec<MemoryTrace>,
    /// Thread ordinals of `events` and their names.
    pub threads: Vec<(u32, String)>,
    /// CPU time the sampler thread itself used, in seconds.
    pub sampler_cpu_s: f64,
    /// Samples of the sampler thread that repeated the previous RSS and
    /// heap figures because no other thread had run since (see
    /// [`super::sampler::Probe::read_periodic`]); their CPU figure is read.
    pub readings_reused: u64,
    /// Process id the profile was taken in.
    pub pid: u32,
}

impl Profile {
    /// Whether the peak is exact (the kernel's high-water mark) rather than
    /// the maximum of samples.
    pub fn peak_is_exact(&self) -> bool {
        self.peak_source != PeakSource::Sampled
    }

    /// The JSON document (schema `wtfperf.profile`, see [`super::json`]).
    pub fn to_json(&self) -> String {
        super::json::profile_json(self)
    }

    /// Trace Event JSON for Perfetto / chrome://tracing.
    pub fn to_chrome_trace(&self) -> String {
        super::json::chrome_trace(self)
    }
}
