//! C boundary for the profiler part.
