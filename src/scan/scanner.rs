//! The per-file work of a plain scan: stat, read, hash, detect the language.

use super::engine::{Ctx, Event, Found, Process};
use super::language::{self, Language};
use super::read::{self, Buffers, Content, FileStat, ReadOutcome};
use super::{FileEntry, IssueKind, ScanIssue};
use std::sync::Arc;

/// A scanned file on its way to the host.
pub(crate) struct Scanned {
    pub found: Found,
    pub stat: FileStat,
    pub hash: [u8; 16],
    pub content: Option<Content>,
    pub language: Option<Language>,
}

impl Scanned {
    pub(crate) fn entry(&self) -> FileEntry<'_> {
        FileEntry {
            path: self.found.path(),
            rel_path: self.found.rel_path(),
            size: self.stat.size,
            mtime_ns: self.stat.mtime_ns,
            inode: self.stat.inode,
            ctime_ns: self.stat.ctime_ns,
            content_hash: self.hash,
            content: self.content.as_deref(),
            language: self.language,
            c_path: &self.found.path,
            c_rel_start: self.found.rel_start,
        }
    }
}

/// An issue about one file.
pub(crate) fn file_issue<T>(found: &Found, kind: IssueKind, message: String) -> Event<T> {
    Event::Issue {
        issue: ScanIssue {
            path: found.path().to_path_buf(),
            kind,
            message,
        },
        file: true,
    }
}

pub(crate) fn too_large<T>(found: &Found, size: u64, max: u64) -> Event<T> {
    file_issue(
        found,
        IssueKind::TooLarge,
        format!("skipped: {size} bytes is over max_file_size ({max} bytes)"),
    )
}

/// Stat only, or open + fstat + read + hash, reusing pooled buffers.
pub(crate) struct ScanProcess {
    pub max_file_size: u64,
    pub include_content: bool,
    pub buffers: Arc<Buffers>,
}

impl ScanProcess {
    /// Reads and hashes `found` into a pooled buffer (stat comes from fstat).
    pub(crate) fn read(&self, found: Found, ctx: &Ctx<'_>) -> Option<Event<Scanned>> {
        let go_ahead = || ctx.go_ahead();
        let budget = ctx.charged().then_some(&go_ahead as &dyn Fn() -> bool);
        match self.buffers.read(found.at(), self.max_file_size, budget) {
            Ok((ReadOutcome::Done(stat), Some(buf))) => {
                let found = found.done_with_dir();
                ctx.counters.bytes.add(stat.size);
                let hash = read::content_hash(&buf);
                let language =
                    language::detect(found.file_name(), Some(&buf[..buf.len().min(256)]));
                Some(Event::Item(Scanned {
                    found,
                    stat,
                    hash,
                    content: Some(buf),
                    language,
                }))
            }
            Ok((ReadOutcome::TooLarge(stat), _)) => {
                Some(too_large(&found, stat.size, self.max_file_size))
            }
            Ok(_) => None,
            Err(err) => Some(file_issue(
                &found,
                IssueKind::Io,
                format!("cannot read: {err}"),
            )),
        }
    }

    /// `stat` only: size, mtime, inode and ctime; nothing read or hashed.
    pub(crate) fn stat(&self, found: &Found) -> Result<FileStat, String> {
        found.at().stat().map_err(|e| format!("cannot stat: {e}"))
    }
}

impl Process for ScanProcess {
    type Item = Scanned;

    fn weight(item: &Scanned) -> u64 {
        item.content.as_ref().map_or(0, |c| c.len() as u64)
    }

    fn budget_spent(&self) -> bool {
        self.buffers.spent()
    }

    fn process(&self, found: Found, ctx: &Ctx<'_>) -> Option<Event<Scanned>> {
        if self.include_content {
            return self.read(found, ctx);
        }
        match self.stat(&found) {
            Ok(stat) if stat.size > self.max_file_size => {
                Some(too_large(&found, stat.size, self.max_file_size))
            }
            Ok(stat) => {
                let language = language::from_name(found.file_name());
                Some(Event::Item(Scanned {
                    found: found.done_with_dir(),
                    stat,
                    hash: [0; 16],
                    content: None,
                    language,
                }))
            }
            Err(message) => Some(file_issue(&found, IssueKind::Io, message)),
        }
    }
}
