//! Walker configuration (the `ignore` crate, as ripgrep and fd use it) and
//! the sorting of what it yields into files, directories and errors.

use super::filter::Filters;
use super::options::ScanOptions;
use super::{IssueKind, ScanIssue};
use ignore::{DirEntry, WalkBuilder};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A builder configured from the options: ignore files, hidden files, depth,
/// links, file systems, globs (as an entry filter that prunes directories).
pub(crate) fn builder(root: &Path, opts: &ScanOptions, filters: Arc<Filters>) -> WalkBuilder {
    let mut b = WalkBuilder::new(root);
    let ignores = opts.respect_ignore_files;
    b.standard_filters(false)
        .hidden(!opts.include_hidden)
        .parents(ignores)
        .ignore(ignores)
        .git_ignore(ignores)
        .git_global(ignores)
        .git_exclude(ignores)
        .require_git(false)
        .follow_links(opts.follow_links)
        .same_file_system(opts.same_file_system)
        .max_depth((opts.max_depth > 0).then_some(opts.max_depth));
    // `.git` is hidden: it needs a filter only when hidden files are walked.
    if !filters.is_empty() || (ignores && opts.include_hidden) {
        let root = root.to_path_buf();
        b.filter_entry(move |dent| keep(&root, &filters, ignores, dent));
    }
    b
}

/// The entry filter: globs, and `.git` when ignore files are respected (git
/// never tracks it; fd and ripgrep skip it too).
fn keep(root: &Path, filters: &Filters, ignores: bool, dent: &DirEntry) -> bool {
    if dent.depth() == 0 {
        return true;
    }
    let Some(ft) = dent.file_type() else {
        return true;
    };
    let rel = dent.path().strip_prefix(root).unwrap_or(dent.path());
    if ft.is_dir() {
        !(ignores && dent.file_name() == ".git") && filters.enter_dir(rel, dent.file_name())
    } else if ft.is_file() {
        filters.keep_file(rel, dent.file_name())
    } else {
        true
    }
}

/// What the walk yielded, sorted out.
pub(crate) enum Step {
    /// A regular file to scan.
    File(PathBuf),
    /// An error to report (walk errors, loops, dangling links).
    Issue(ScanIssue),
    /// A directory, a link not followed, a FIFO, socket or device: nothing
    /// to do (non-regular files are never opened).
    Nothing,
}

/// Sorts one item of the walk. `also` receives a soft error attached to an
/// otherwise good entry (e.g. a malformed `.gitignore`).
pub(crate) fn step(item: Result<DirEntry, ignore::Error>, also: &mut dyn FnMut(ScanIssue)) -> Step {
    let dent = match item {
        Ok(dent) => dent,
        Err(err) => return Step::Issue(issue_of(&err, None)),
    };
    if let Some(err) = dent.error() {
        also(issue_of(err, Some(dent.path())));
    }
    match dent.file_type() {
        Some(ft) if ft.is_file() => Step::File(dent.into_path()),
        _ => Step::Nothing,
    }
}

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
