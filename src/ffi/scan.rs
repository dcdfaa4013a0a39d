//! C boundary for the scan part.
