//! The crate's error type: a kind (which becomes a C status code at the
//! boundary) and a human-readable message (which becomes `wtfperf_last_error`).

use std::fmt;

/// What went wrong, coarsely. Each kind maps to one `WTFPERF_ERR_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A required pointer was NULL (only the C boundary produces this).
    Null,
    /// A bad argument: out of range, bad UTF-8 where text is required, ...
    Invalid,
    /// An operating-system I/O error.
    Io,
    /// The persistent store (SQLite) failed.
    Store,
    /// The call is not valid in the object's current state.
    State,
    /// A host callback failed.
    Callback,
    /// A host callback asked to stop (not an error for the C caller).
    Aborted,
    /// An internal panic was caught.
    Panic,
}

/// An error with its kind and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn null(what: &str) -> Self {
        Error::new(ErrorKind::Null, format!("{what} is NULL"))
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Invalid, message)
    }
    pub fn state(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::State, message)
    }
    pub fn store(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Store, message)
    }
    pub fn callback(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Callback, message)
    }
    pub fn aborted() -> Self {
        Error::new(ErrorKind::Aborted, "stopped by a host callback")
    }
    pub fn panic(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Panic, message)
    }
    /// An I/O error with the operation and path it concerns.
    pub fn io(context: impl fmt::Display, err: &std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{context}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, err.to_string())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        Error::new(ErrorKind::Store, format!("sqlite: {err}"))
    }
}
