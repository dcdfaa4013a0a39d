//! bench (see DESIGN.md).
