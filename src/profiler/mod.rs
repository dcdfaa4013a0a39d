//! The profiler: RSS, CPU and heap of the process sampled on a native thread
//! between [`Profiler::start`] and [`Profiler::stop`]; exact peak RSS (the
//! kernel's high-water mark, reset at start); named scopes from any thread;
//! [`ProfileManager`] to summarize named runs; JSON and Chrome-trace export.
//!
//! ```
//! use wtfperf::profiler::{Profiler, ProfilerOptions};
//! let p = Profiler::new(ProfilerOptions { sample_interval_s: 0.01, ..Default::default() })?;
//! p.start()?;
//! let t = p.scope_enter("work")?;
//! let v: Vec<u64> = (0..100_000).collect();
//! p.scope_exit(t)?;
//! let profile = p.stop()?;
//! assert!(profile.peak_memory_mb > 0.0 && !v.is_empty());
//! assert!(profile.to_json().contains("\"schema\":\"wtfperf.profile\""));
//! # Ok::<(), wtfperf::Error>(())
//! ```
//!
//! Modules: [`session`] (the profiler), [`sampler`] (readings and the
//! sampler thread), [`procfs`] and `sys` (operating-system readers),
//! [`scopes`] (scope recorder), [`timeline`] (bounded timeline),
//! [`profile`] (results), [`json`] (exports), [`manager`] (run summaries).

pub mod clock;
pub mod heap;
pub mod interner;
pub mod json;
pub mod manager;
pub mod procfs;
pub mod profile;
pub mod sampler;
pub mod scopes;
pub mod session;
pub mod spin;
pub mod sys;
pub mod threads;
pub mod timeline;

pub use manager::{NameSummary, ProfileManager, RunFigures, Stats};
pub use profile::{MemoryTrace, PeakSource, Profile, Sample, ScopeEvent, ScopeStats};
pub use session::{Profiler, ProfilerOptions};
