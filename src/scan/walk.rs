//! Errors of the `ignore` crate (ignore-file parsing) as scan issues.

use super::{IssueKind, ScanIssue};
use std::path::Path;

/// A walk error as an issue: the path it concerns, its kind and message.
pub(crate) fn issue_of(err: &ignore::Error, fallback: Option<&Path>) -> ScanIssue {
    let mut path = None;
    let mut kind = IssueKind::Io;
    let mut cur = err;
    loop {
        match cur {
            ignore::Error::WithPath { path: p, err } => {
                path.get_or_insert_with(|| p.clone());
                cur = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                cur = err
            }
            ignore::Error::Partial(errs) if errs.len() == 1 => cur = &errs[0],
            ignore::Error::Loop { child, .. } => {
                path.get_or_insert_with(|| child.clone());
                kind = IssueKind::Loop;
                break;
            }
            ignore::Error::Glob { .. } | ignore::Error::Partial(_) => {
                kind = IssueKind::IgnoreFile;
                break;
            }
            _ => break,
        }
    }
    let path = path
        .or_else(|| fallback.map(Path::to_path_buf))
        .unwrap_or_default();
    ScanIssue {
        path,
        kind,
        message: err.to_string(),
    }
}
