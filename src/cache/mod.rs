//! cache (see DESIGN.md).
