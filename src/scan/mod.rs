//! scan (see DESIGN.md).
