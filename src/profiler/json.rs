//! JSON exports of a [`Profile`]: the documented `wtfperf.profile` document
//! and Trace Event JSON (Perfetto, chrome://tracing).
//!
//! `wtfperf.profile` version 1 (keys never removed or renamed within a
//! version; new keys may appear):
//!
//! ```text
//! { "schema": "wtfperf.profile", "version": 1, "pid",
//!   "duration_s", "cpu_time_s", "avg_cpu_percent",
//!   "peak_memory_mb", "peak_rss_bytes", "peak_source" ("vmhwm" |
//!   "vmhwm_sampled_children" | "sampled"), "peak_is_exact",
//!   "peak_children_rss_bytes", "avg_memory_mb",
//!   "peak_heap_bytes", "heap_source" ("mallinfo2" | "unavailable"),
//!   "heap_reads_skipped", "heap_read_max_us",
//!   "options": { "sample_interval_s", "trace_memory", "include_children" },
//!   "timeline": { "stride", "raw_sample_count", "downsampled",
//!                 "samples": [ { "t_s", "rss_bytes", "cpu_percent", "heap_bytes" } ] },
//!   "scopes": [ { "name", "count", "total_s", "min_s", "max_s", "mean_s",
//!                 "heap_growth_bytes", "max_heap_growth_bytes" } ],
//!   "memory_traces": [ { "name", "thread", "start_s", "duration_s",
//!                 "heap_before_bytes", "heap_after_bytes", "growth_bytes" } ],
//!   "events": { "recorded", "dropped", "unfinished_scopes" },
//!   "sampler_cpu_s", "readings_reused" }
//! ```

use super::profile::{BYTES_PER_MB, Profile};
use serde_json::{Value, json};

/// Schema version of [`profile_json`] (`WTFPERF_PROFILE_SCHEMA_VERSION` in C).
pub(crate) const PROFILE_SCHEMA_VERSION: u32 = 1;

/// The `wtfperf.profile` document of a profile.
pub fn profile_value(p: &Profile) -> Value {
    json!({
        "schema": "wtfperf.profile",
        "version": PROFILE_SCHEMA_VERSION,
        "pid": p.pid,
        "duration_s": p.duration_s,
        "cpu_time_s": p.cpu_time_s,
        "avg_cpu_percent": p.avg_cpu_percent,
        "peak_memory_mb": p.peak_memory_mb,
        "peak_rss_bytes": p.peak_rss_bytes,
        "peak_source": p.peak_source.as_str(),
        "peak_is_exact": p.peak_is_exact(),
        "peak_children_rss_bytes": p.peak_children_rss_bytes,
        "avg_memory_mb": p.avg_memory_mb,
        "peak_heap_bytes": p.peak_heap_bytes,
        "heap_source": if p.heap_available { "mallinfo2" } else { "unavailable" },
        "heap_reads_skipped": p.heap_reads_skipped,
        "heap_read_max_us": p.heap_read_max_us,
        "options": {
            "sample_interval_s": p.sample_interval_s,
            "trace_memory": p.trace_memory,
            "include_children": p.include_children,
        },
        "timeline": {
            "stride": p.timeline_stride,
            "raw_sample_count": p.raw_sample_count,
            "downsampled": p.timeline_stride > 1,
            "samples": p.samples,
        },
        "scopes": p.scopes,
        "memory_traces": p.memory_traces,
        "events": {
            "recorded": p.events.len(),
            "dropped": p.events_dropped,
            "unfinished_scopes": p.unfinished_scopes,
        },
        "sampler_cpu_s": p.sampler_cpu_s,
        "readings_reused": p.readings_reused,
    })
}

/// [`profile_value`] as text.
pub fn profile_json(p: &Profile) -> String {
    profile_value(p).to_string()
}

fn us(s: f64) -> f64 {
    // Whole nanoseconds: keeps the text short and the order exact.
    (s * 1e9).round() / 1e3
}

/// Trace Event JSON: scopes as complete (`X`) events on their threads,
/// RSS / heap (MB) and CPU (%) as counter (`C`) tracks, thread names as
/// metadata; events sorted by time, enclosing scopes first.
pub fn chrome_trace(p: &Profile) -> String {
    let pid = p.pid;
    let mut events: Vec<(f64, f64, Value)> = Vec::new();
    let mut meta = vec![json!({
        "ph": "M", "name": "process_name", "pid": pid, "tid": 0,
        "args": { "name": "wtfperf profile" }
    })];
    meta.push(json!({
        "ph": "M", "name": "thread_name", "pid": pid, "tid": 0,
        "args": { "name": "wtfperf counters" }
    }));
    for (id, name) in &p.threads {
        meta.push(json!({
            "ph": "M", "name": "thread_name", "pid": pid, "tid": id,
            "args": { "name": name }
        }));
    }
    for e in &p.events {
        let ts = us(e.start_s);
        let dur = us(e.duration_s);
        let mut ev = json!({
            "ph": "X", "cat": "scope", "name": e.name, "pid": pid, "tid": e.thread,
            "ts": ts, "dur": dur,
        });
        if p.trace_memory {
            ev["args"] = json!({ "heap_growth_bytes": e.heap_growth_bytes });
        }
        events.push((ts, dur, ev));
    }
    for s in &p.samples {
        let ts = us(s.t_s);
        events.push((
            ts,
            -1.0,
            json!({
                "ph": "C", "name": "RSS (MB)", "pid": pid, "tid": 0, "ts": ts,
                "args": { "rss": s.rss_bytes as f64 / BYTES_PER_MB }
            }),
        ));
        events.push((
            ts,
            -1.0,
            json!({
                "ph": "C", "name": "CPU (%)", "pid": pid, "tid": 0, "ts": ts,
                "args": { "cpu": s.cpu_percent }
            }),
        ));
        if p.heap_available {
            events.push((
                ts,
                -1.0,
                json!({
                    "ph": "C", "name": "Heap (MB)", "pid": pid, "tid": 0, "ts": ts,
                    "args": { "heap": s.heap_bytes as f64 / BYTES_PER_MB }
                }),
            ));
        }
    }
    // Stable sort: at equal start, the longer (enclosing) scope first.
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    meta.extend(events.into_iter().map(|(_, _, v)| v));
    json!({
        "traceEvents": meta,
        "displayTimeUnit": "ms",
        "otherData": {
            "generator": concat!("wtfperf ", env!("CARGO_PKG_VERSION")),
            "duration_s": p.duration_s,
            "peak_memory_mb": p.peak_memory_mb,
            "peak_source": p.peak_source.as_str(),
            "avg_cpu_percent": p.avg_cpu_percent,
        }
    })
    .to_string()
}
