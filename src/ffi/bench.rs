//! C boundary for the bench part.
