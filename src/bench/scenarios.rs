//! Scan and analyze workloads on the real scanner and cache.

use super::generator::GeneratedProject;
use super::report::ScenarioSpec;
use super::suite::Workload;
use crate::error::Result;
use std::path::{Path, PathBuf};

/// What the workloads of one project share.
#[derive(Debug, Clone)]
pub struct Context {
    pub root: PathBuf,
    pub work: PathBuf,
    pub generated: Option<GeneratedProject>,
    pub seed: u64,
    pub incremental_fraction: f64,
}

/// Files the scanner meets under `root`, and their total size.
pub fn count(_root: &Path) -> Result<(u64, u64)> {
    Ok((0, 0))
}

/// The workload of `spec`, or why it cannot run here.
pub fn build(
    _spec: &ScenarioSpec,
    _ctx: &Context,
) -> std::result::Result<Box<dyn Workload>, String> {
    Err("the scanner is not part of this build yet".into())
}
