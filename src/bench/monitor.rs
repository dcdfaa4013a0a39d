//! Our profiler around each measured run: peak RSS (the kernel's exact
//! high-water mark), average RSS, average CPU and the run's timeline.

use super::report::TimelinePoint;
use super::suite::{Monitor, Usage};
use crate::error::{Error, Result};
use crate::profiler::profile::BYTES_PER_MB;
use crate::profiler::{Profiler, ProfilerOptions};

/// Timeline points kept per run in the report (longer runs are thinned).
///
/// cbindgen:ignore
pub const MAX_TIMELINE_POINTS: usize = 200;

/// A [`Monitor`] backed by [`crate::profiler::Profiler`].
pub struct ProfilerMonitor {
    profiler: Profiler,
    rss: crate::profiler::procfs::RssReader,
    /// RSS when the run started, in bytes.
    start_rss: u64,
}

impl ProfilerMonitor {
    /// A monitor sampling every `interval_s` seconds.
    pub fn new(interval_s: f64) -> Result<Self> {
        let profiler = Profiler::new(ProfilerOptions {
            sample_interval_s: interval_s,
            ..ProfilerOptions::default()
        })?;
        Ok(ProfilerMonitor {
            profiler,
            rss: crate::profiler::procfs::RssReader::open(),
            start_rss: 0,
        })
    }
}

/// Keeps at most `max` evenly spread points, always the first and the last.
pub fn thin(points: Vec<TimelinePoint>, max: usize) -> Vec<TimelinePoint> {
    if points.len() <= max || max < 2 {
        return points;
    }
    let last = points.len() - 1;
    (0..max).map(|i| points[i * last / (max - 1)]).collect()
}

impl Monitor for ProfilerMonitor {
    fn start(&mut self) -> Result<()> {
        self.start_rss = self.rss.rss_bytes().unwrap_or(0);
        self.profiler.start()
    }

    fn stop(&mut self) -> Result<Usage> {
        let profile = self
            .profiler
            .stop()
            .map_err(|e| Error::new(e.kind, format!("profiler: {}", e.message)))?;
        let timeline = profile
            .samples
            .iter()
            .map(|s| TimelinePoint {
                t_s: s.t_s,
                rss_mb: s.rss_bytes as f64 / BYTES_PER_MB,
                cpu_percent: s.cpu_percent,
            })
            .collect();
        Ok(Usage {
            peak_rss_mb: profile.peak_memory_mb,
            rss_growth_mb: (profile.peak_rss_bytes.saturating_sub(self.start_rss)) as f64
                / BYTES_PER_MB,
            avg_rss_mb: profile.avg_memory_mb,
            avg_cpu_percent: profile.avg_cpu_percent,
            timeline: thin(timeline, MAX_TIMELINE_POINTS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_ends_and_count() {
        let pts: Vec<TimelinePoint> = (0..1000)
            .map(|i| TimelinePoint {
                t_s: i as f64,
                ..Default::default()
            })
            .collect();
        let t = thin(pts.clone(), 200);
        assert_eq!(t.len(), 200);
        assert_eq!(t[0].t_s, 0.0);
        assert_eq!(t[199].t_s, 999.0);
        assert_eq!(thin(pts[..5].to_vec(), 200).len(), 5);
    }

    #[test]
    fn monitor_sees_a_busy_run() {
        let mut m = ProfilerMonitor::new(0.005).unwrap();
        m.start().unwrap();
        let t0 = std::time::Instant::now();
        let mut x = 0u64;
        while t0.elapsed().as_millis() < 60 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        // 32 MiB touched during the run (and freed before it ends).
        let touched = vec![1u8; 32 << 20];
        assert_eq!(std::hint::black_box(&touched)[12345], 1);
        drop(touched);
        let u = m.stop().unwrap();
        assert!(u.rss_growth_mb >= 30.0, "{}", u.rss_growth_mb);
        assert!(u.rss_growth_mb <= u.peak_rss_mb);
        assert!(x != 1);
        assert!(u.peak_rss_mb > 0.0 && u.avg_rss_mb > 0.0);
        assert!(u.avg_cpu_percent > 0.0);
        assert!(!u.timeline.is_empty());
        assert!(m.stop().is_err(), "stop without start is an error");
    }
}
