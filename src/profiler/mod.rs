//! profiler (see DESIGN.md).
