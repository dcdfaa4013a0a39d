//! C boundary for the cache part.
