//! The walker: directories read with `getdents64` through an open
//! directory descriptor, files handed on with that descriptor so they are
//! `stat`ed and opened relative to it (`fstatat`/`openat`: no path lookup
//! from the root per file), gitignore rules matched with the `ignore`
//! crate's own matchers ([`ignore::gitignore::Gitignore`]) under the same
//! precedence its walker applies (`.ignore` over `.gitignore` over
//! `.git/info/exclude` over the global excludes file; the deepest rule
//! wins; parents of the root count; `tests/scan.rs` checks the result
//! against the `ignore` crate's walker).
//!
//! Why not `ignore::WalkParallel` itself: it queues every file as a work
//! item of its own (an allocation, an `Arc` and a queue operation per file)
//! and hands out paths only, so every `stat` and `open` resolves the whole
//! path again. On the Linux source tree the two together cost ~30 % of a
//! walk + stat (see `examples/scan_bench.rs`).
//!
//! Parallel walks share a LIFO stack of directories between threads; a
//! thread reads a directory, pushes its subdirectories (so idle threads get
//! work at once) and then processes the directory's files itself; files of
//! a large directory are split into chunks other threads can take. Pending
//! directories hold a path, not a descriptor, so open descriptors stay
//! bounded by the threads and the files in flight, never by the tree.

use super::filter::{Filters, MAX_BRACE_DEPTH, brace_depth};
use super::options::ScanOptions;
use super::walk::issue_of;
use super::{IssueKind, ScanIssue};
use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, openat, statat};
use std::ffi::{CStr, OsStr};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};

/// Files of one directory processed by the thread that read it; the rest
/// of a larger directory is split into chunks of this many for others.
const FILES_CHUNK: usize = 256;

/// A sequential walk keeps at most this many directories open (the
/// deepest); files of those above are found by path.
const MAX_OPEN_FRAMES: usize = 64;

/// Bytes of directory entries read per `getdents64`.
const DIRENT_BUF_LEN: usize = 32 << 10;

thread_local! {
    /// Each thread's buffer for `getdents64` (taken while in use).
    static DIRENT_BUF: std::cell::Cell<Vec<MaybeUninit<u8>>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An open directory that found files are `stat`ed and opened relative to.
#[derive(Debug)]
pub(crate) struct DirFd(OwnedFd);

impl DirFd {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A regular file the walk found: its path as walked (NUL-terminated
/// bytes), where the part relative to the root starts, and (when the walk
/// had it open) the directory it is in, with where its name starts.
pub(crate) struct Found {
    pub path: Vec<u8>,
    pub rel_start: usize,
    pub dir: Option<Arc<DirFd>>,
    pub name_start: usize,
}

impl Found {
    /// A file known by path only (the root itself, tests).
    pub(crate) fn new(root: &Path, path: PathBuf) -> Found {
        let (r, p) = (root.as_os_str().as_bytes(), path.as_os_str().as_bytes());
        // The walker joins names to the root: usually a byte prefix.
        let fast = match r.last() {
            Some(b'/') => r.len(),
            _ => r.len() + 1,
        };
        let rel_len =
            if p.len() > fast && p.starts_with(r) && p[fast - 1] == b'/' && p[fast] != b'/' {
                p.len() - fast
            } else {
                match path.strip_prefix(root) {
                    Ok(rel) if !rel.as_os_str().is_empty() => rel.as_os_str().len(),
                    // The root itself is a file: its relative path is its name.
                    _ => path.file_name().map_or(0, |n| n.len()),
                }
            };
        let mut bytes = path.into_os_string().into_vec();
        let rel_start = bytes.len() - rel_len;
        bytes.push(0);
        Found {
            path: bytes,
            rel_start,
            dir: None,
            name_start: 0,
        }
    }

    /// The file without its directory descriptor, released here: the
    /// thread that took the reference drops it (dropped where the file is
    /// delivered, the count's cache line moved between threads per file).
    pub(crate) fn done_with_dir(mut self) -> Found {
        self.dir = None;
        self
    }

    /// The path without its NUL.
    pub(crate) fn path(&self) -> &Path {
        bytes_path(&self.path[..self.path.len() - 1])
    }

    pub(crate) fn rel_path(&self) -> &Path {
        bytes_path(&self.path[self.rel_start..self.path.len() - 1])
    }

    /// The relative path split at its last `/`: the directory part (empty
    /// at the root) and the name.
    pub(crate) fn rel_dir_and_name(&self) -> (&[u8], &[u8]) {
        let end = self.path.len() - 1;
        if self.name_start > 0 && self.name_start >= self.rel_start {
            let dir_end = self.name_start.saturating_sub(1).max(self.rel_start);
            return (
                &self.path[self.rel_start..dir_end],
                &self.path[self.name_start..end],
            );
        }
        crate::cache::snapshot::split(&self.path[self.rel_start..end])
    }

    /// The file's name (the last component of its path).
    pub(crate) fn file_name(&self) -> &OsStr {
        if self.name_start > 0 {
            OsStr::from_bytes(&self.path[self.name_start..self.path.len() - 1])
        } else {
            self.rel_path().file_name().unwrap_or_default()
        }
    }

    /// Where to `stat` or open the file: relative to its open directory
    /// when there is one, else by path.
    pub(crate) fn at(&self) -> super::read::At<'_> {
        match &self.dir {
            Some(dir) => match CStr::from_bytes_with_nul(&self.path[self.name_start..]) {
                Ok(name) => super::read::At::Dir(dir.fd(), name),
                Err(_) => super::read::At::Path(self.path()),
            },
            None => super::read::At::Path(self.path()),
        }
    }
}

use std::os::unix::ffi::OsStringExt;

pub(crate) fn bytes_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// What the walk hands to a visitor.
pub(crate) enum Entry {
    File(Found),
    Issue(ScanIssue),
    /// A parallel walker thread finished a piece of work (a directory or a
    /// chunk of files): a good moment to pass on what it holds.
    Idle,
    /// The calling thread, walking along, has no walk work for now (the
    /// other threads hold it all) or has finished while they have not: it
    /// may wait a little for what they produce, then it is asked again.
    Wait,
}

/// Whether the walk goes on after a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Quit,
}

/// The ignore rules of one directory level (only levels with rules or a
/// `.git` exist; the others share their parent's chain).
struct Level {
    ignore: Option<Gitignore>,
    git_ignore: Option<Gitignore>,
    git_exclude: Option<Gitignore>,
    /// A parent of the root: matched against absolute paths.
    absolute: bool,
    /// The directory holds `.git`: a repository's root, where the
    /// `.gitignore` rules of the directories above stop.
    git: bool,
    /// A repository's root: the directory (as walked, or absolute when
    /// `absolute`), from which the global excludes are matched inside it.
    top: Option<PathBuf>,
    parent: Option<Arc<Level>>,
}

/// (device, inode) of the directories above one, when following links.
struct Ancestor {
    dev: u64,
    ino: u64,
    path: PathBuf,
    parent: Option<Arc<Ancestor>>,
}

/// A directory waiting to be read.
struct DirWork {
    /// Path as walked, without NUL.
    path: Vec<u8>,
    depth: usize,
    levels: Option<Arc<Level>>,
    ancestors: Option<Arc<Ancestor>>,
}

enum Work {
    Dir(DirWork),
    /// Files of a large directory left for any thread.
    Files(Vec<Found>),
}

/// The walk's configuration.
pub(crate) struct Walker {
    root: PathBuf,
    /// Canonical absolute root (for the rules of the root's parents).
    abs_root: PathBuf,
    ignores: bool,
    hidden: bool,
    follow: bool,
    same_fs: Option<u64>,
    max_depth: Option<usize>,
    filters: Arc<Filters>,
    no_globs: bool,
    global: Option<Gitignore>,
    root_levels: Option<Arc<Level>>,
    /// Problems met while configuring (unreadable global excludes...).
    setup_issues: Vec<ScanIssue>,
}

fn matched(gi: &Option<Gitignore>, path: &Path, is_dir: bool) -> Match<()> {
    match gi {
        Some(gi) => match gi.matched(path, is_dir) {
            Match::None => Match::None,
            Match::Ignore(_) => Match::Ignore(()),
            Match::Whitelist(_) => Match::Whitelist(()),
        },
        None => Match::None,
    }
}

fn or(a: Match<()>, b: impl FnOnce() -> Match<()>) -> Match<()> {
    if a.is_none() { b() } else { a }
}

/// A matcher from one ignore file, with any problem as an issue.
///
/// Read once, line by line as `GitignoreBuilder::add` reads (a BOM before
/// the first line is dropped, a line that is not UTF-8 ends the file, the
/// errors are tagged with the path and line and reported together). A line
/// nesting `{...}` deeper than [`MAX_BRACE_DEPTH`] is left out and reported
/// apart (globset would overflow the stack on it: a crafted `.gitignore` in
/// a scanned tree must not crash the host).
fn load_rules(dir: &Path, file: &Path, issues: &mut Vec<ScanIssue>) -> Option<Gitignore> {
    use ignore::Error as E;
    use std::io::BufRead;
    let tagged = |err: E| E::WithPath {
        path: file.to_path_buf(),
        err: Box::new(err),
    };
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            issues.push(issue_of(&tagged(E::Io(e)), Some(file)));
            return None;
        }
    };
    let mut b = GitignoreBuilder::new(dir);
    let mut errs = Vec::new();
    for (i, line) in bytes.lines().enumerate() {
        let at_line = |err: E| {
            tagged(E::WithLineNumber {
                line: i as u64 + 1,
                err: Box::new(err),
            })
        };
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                errs.push(at_line(E::Io(e)));
                break;
            }
        };
        if brace_depth(&line) > MAX_BRACE_DEPTH {
            issues.push(ScanIssue {
                path: file.to_path_buf(),
                kind: IssueKind::IgnoreFile,
                message: format!(
                    "line {}: a pattern nesting {{...}} deeper than {MAX_BRACE_DEPTH} levels is left out",
                    i + 1
                ),
            });
            continue;
        }
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            &line
        };
        if let Err(err) = b.add_line(Some(file.to_path_buf()), line) {
            errs.push(at_line(err));
        }
    }
    match errs.len() {
        0 => {}
        1 => issues.push(issue_of(&errs[0], Some(file))),
        _ => issues.push(issue_of(&E::Partial(errs), Some(file))),
    }
    match b.build() {
        Ok(gi) if gi.is_empty() => None,
        Ok(gi) => Some(gi),
        Err(err) => {
            issues.push(issue_of(&err, Some(file)));
            None
        }
    }
}

/// Which rule files a directory has (from its listing: no extra syscalls).
#[derive(Default, Clone, Copy)]
struct RuleFiles {
    ignore: bool,
    gitignore: bool,
    git: bool,
}

impl RuleFiles {
    fn note(&mut self, name: &[u8]) {
        match name {
            b".ignore" => self.ignore = true,
            b".gitignore" => self.gitignore = true,
            b".git" => self.git = true,
            _ => {}
        }
    }

    fn any(&self) -> bool {
        self.ignore || self.gitignore || self.git
    }
}

/// The level for directory `dir` with rule files `files` (None: no rules).
fn level(
    dir: &Path,
    files: RuleFiles,
    absolute: bool,
    parent: Option<Arc<Level>>,
    issues: &mut Vec<ScanIssue>,
) -> Option<Arc<Level>> {
    if !files.any() {
        return parent;
    }
    let ignore = files
        .ignore
        .then(|| load_rules(dir, &dir.join(".ignore"), issues))
        .flatten();
    let git_ignore = files
        .gitignore
        .then(|| load_rules(dir, &dir.join(".gitignore"), issues))
        .flatten();
    let git_exclude = if files.git {
        let exclude = git_common_dir(dir).join("info/exclude");
        exclude
            .is_file()
            .then(|| load_rules(dir, &exclude, issues))
            .flatten()
    } else {
        None
    };
    Some(Arc::new(Level {
        ignore,
        git_ignore,
        git_exclude,
        absolute,
        git: files.git,
        top: files.git.then(|| dir.to_path_buf()),
        parent,
    }))
}

/// The git directory whose `info/exclude` applies to the work tree `dir`,
/// as git reads it: `dir/.git`; when `.git` is a file (`gitdir: PATH`, a
/// linked worktree or a submodule), the repository's common directory
/// named by `PATH/commondir` (a worktree), else `PATH` itself (a
/// submodule). Anything unreadable or malformed falls back to `dir/.git`
/// (which then holds no rules).
fn git_common_dir(dir: &Path) -> PathBuf {
    let dot_git = dir.join(".git");
    // The first line of a file, after `prefix`, as a path.
    let line_after = |file: &Path, prefix: &[u8]| {
        let text = std::fs::read(file).ok()?;
        let line = text.split(|&b| b == b'\n').next()?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let rest = line.strip_prefix(prefix)?;
        (!rest.is_empty()).then(|| PathBuf::from(OsStr::from_bytes(rest)))
    };
    if !dot_git.is_file() {
        return dot_git;
    }
    let Some(git_dir) = line_after(&dot_git, b"gitdir: ").map(|g| dir.join(g)) else {
        return dot_git;
    };
    match line_after(&git_dir.join("commondir"), b"") {
        Some(common) => git_dir.join(common),
        None => git_dir,
    }
}

fn rule_files_at(dir: &Path) -> RuleFiles {
    RuleFiles {
        ignore: dir.join(".ignore").is_file(),
        gitignore: dir.join(".gitignore").is_file(),
        git: dir.join(".git").exists(),
    }
}

fn dev_ino(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev, st.st_ino)
}

/// A directory entry as listed: name and what `getdents` says it is.
struct Listed {
    name: Vec<u8>,
    kind: FileType,
}

impl Walker {
    pub(crate) fn new(root: &Path, opts: &ScanOptions, filters: Arc<Filters>) -> Walker {
        let ignores = opts.respect_ignore_files;
        let abs_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let mut setup_issues = Vec::new();
        let global = if ignores {
            let (gi, err) = GitignoreBuilder::new("").build_global();
            if let Some(err) = err {
                setup_issues.push(issue_of(&err, None));
            }
            (!gi.is_empty()).then_some(gi)
        } else {
            None
        };
        let mut root_levels = None;
        if ignores {
            // Rules of the root's parents, outermost first.
            let mut parents: Vec<&Path> = abs_root.ancestors().skip(1).collect();
            parents.reverse();
            for p in parents {
                root_levels = level(p, rule_files_at(p), true, root_levels, &mut setup_issues);
            }
        }
        let same_fs = if opts.same_file_system {
            rustix::fs::stat(root).ok().map(|st| st.st_dev)
        } else {
            None
        };
        Walker {
            root: root.to_path_buf(),
            abs_root,
            ignores,
            hidden: !opts.include_hidden,
            follow: opts.follow_links,
            same_fs,
            max_depth: (opts.max_depth > 0).then_some(opts.max_depth),
            no_globs: filters.is_empty(),
            filters,
            global,
            root_levels,
            setup_issues,
        }
    }

    /// Whether an entry (path as walked, relative path, name) is skipped by
    /// the ignore rules, the hidden-file rule or the globs.
    fn skip(
        &self,
        levels: &Option<Arc<Level>>,
        path: &Path,
        rel: &Path,
        name: &[u8],
        is_dir: bool,
    ) -> bool {
        let mut whitelisted = false;
        if self.ignores {
            let m = self.ignore_match(levels, path, rel, is_dir);
            if m.is_ignore() {
                return true;
            }
            whitelisted = m.is_whitelist();
        }
        if self.hidden && !whitelisted && name.first() == Some(&b'.') {
            return true;
        }
        if self.no_globs {
            return is_dir && self.ignores && name == b".git";
        }
        let name = OsStr::from_bytes(name);
        if is_dir {
            // `.git` is never walked when ignore files are respected: git
            // never tracks it. (ripgrep 13 and fd 8, Debian's here, list
            // its files with `--hidden`.)
            (self.ignores && name == ".git") || !self.filters.enter_dir(rel, name)
        } else {
            !self.filters.keep_file(rel, name)
        }
    }

    /// The `ignore` crate's precedence: per kind, the deepest level with a
    /// match decides; `.ignore` > `.gitignore` > `exclude` > global. As
    /// with its `require_git(false)`, no git repository is needed for rules
    /// to apply; as in git and ripgrep, the `.gitignore` and `exclude` rules
    /// of the directories above a repository's root (a directory holding
    /// `.git`, a nested one included) do not apply inside it (`.ignore`
    /// rules do).
    fn ignore_match(
        &self,
        levels: &Option<Arc<Level>>,
        path: &Path,
        rel: &Path,
        is_dir: bool,
    ) -> Match<()> {
        let (mut m_ig, mut m_gi, mut m_ex) = (Match::None, Match::None, Match::None);
        let mut abs: Option<PathBuf> = None;
        let mut cur = levels.as_deref();
        let mut saw_git = false;
        // The path from the repository's root (the deepest level with
        // `.git`), where git matches the global excludes from: its length,
        // at the end of the absolute path or of the walked one.
        let mut in_repo: Option<(bool, usize)> = None;
        while let Some(lvl) = cur {
            let p: &Path = if lvl.absolute {
                abs.get_or_insert_with(|| self.abs_root.join(rel))
            } else {
                path
            };
            if m_ig.is_none() {
                m_ig = matched(&lvl.ignore, p, is_dir);
            }
            if !saw_git && m_gi.is_none() {
                m_gi = matched(&lvl.git_ignore, p, is_dir);
            }
            if !saw_git && m_ex.is_none() {
                m_ex = matched(&lvl.git_exclude, p, is_dir);
            }
            if !saw_git && self.global.is_some() {
                in_repo = lvl
                    .top
                    .as_deref()
                    .and_then(|top| p.strip_prefix(top).ok())
                    .map(|r| (lvl.absolute, r.as_os_str().len()));
            }
            saw_git |= lvl.git;
            cur = lvl.parent.as_deref();
        }
        // Outside any repository, from the scan's root: the same rules
        // whichever way the root is spelled (absolute, `.`, relative).
        or(or(or(m_ig, || m_gi), || m_ex), || {
            let from_top = in_repo.map_or(rel, |(absolute, len)| {
                let p = match (absolute, &abs) {
                    (true, Some(abs)) => abs.as_os_str().as_bytes(),
                    _ => path.as_os_str().as_bytes(),
                };
                Path::new(OsStr::from_bytes(&p[p.len() - len..]))
            });
            matched(&self.global, from_top, is_dir)
        })
    }

    fn root_work(&self) -> DirWork {
        DirWork {
            path: self.root.as_os_str().as_bytes().to_vec(),
            depth: 0,
            levels: self.root_levels.clone(),
            ancestors: None,
        }
    }

    fn rel_start(&self) -> usize {
        let r = self.root.as_os_str().as_bytes();
        match r.last() {
            Some(b'/') => r.len(),
            _ => r.len() + 1,
        }
    }

    /// Opens and lists a directory: its descriptor, its entries, and the
    /// rules and ancestry its children inherit. Problems go to `issues`.
    #[allow(clippy::type_complexity)]
    fn open_dir(
        &self,
        work: &DirWork,
        issues: &mut Vec<ScanIssue>,
        sort: bool,
    ) -> Option<(
        Arc<DirFd>,
        Vec<Listed>,
        Option<Arc<Level>>,
        Option<Arc<Ancestor>>,
    )> {
        let path = bytes_path(&work.path);
        let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if !self.follow && work.depth > 0 {
            // Listed as a directory: if it became a link since, it is not
            // followed out of the tree.
            flags |= OFlags::NOFOLLOW;
        }
        let fd = match openat(rustix::fs::CWD, path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                issues.push(dir_issue(path, e.into()));
                return None;
            }
        };
        let ancestors = if self.follow {
            match rustix::fs::fstat(&fd) {
                Ok(st) => {
                    let (dev, ino) = dev_ino(&st);
                    Some(Arc::new(Ancestor {
                        dev,
                        ino,
                        path: path.to_path_buf(),
                        parent: work.ancestors.clone(),
                    }))
                }
                Err(e) => {
                    issues.push(dir_issue(path, e.into()));
                    return None;
                }
            }
        } else {
            None
        };
        let mut listed = Vec::new();
        let mut rules = RuleFiles::default();
        let mut buf = DIRENT_BUF.take();
        if buf.is_empty() {
            buf = vec![MaybeUninit::uninit(); DIRENT_BUF_LEN];
        }
        // `RawDir` reads through our descriptor (`Dir` would reopen it).
        let mut dir = RawDir::new(&fd, &mut buf);
        while let Some(item) = dir.next() {
            let entry = match item {
                Ok(e) => e,
                Err(e) => {
                    issues.push(dir_issue(path, e.into()));
                    break;
                }
            };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            rules.note(name);
            let mut kind = entry.file_type();
            if kind == FileType::Unknown {
                // Some file systems do not fill d_type.
                kind = statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode))
                    .unwrap_or(FileType::Unknown);
            }
            listed.push(Listed {
                name: name.to_vec(),
                kind,
            });
        }
        DIRENT_BUF.set(buf);
        if sort {
            listed.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        }
        let levels = if self.ignores {
            level(path, rules, false, work.levels.clone(), issues)
        } else {
            None
        };
        Some((Arc::new(DirFd(fd)), listed, levels, ancestors))
    }

    /// Sorts one listed entry: a file to visit, a directory to walk, an
    /// issue, or nothing (skipped, not a regular file or directory).
    fn classify(
        &self,
        dir: Option<&Arc<DirFd>>,
        parent: &DirWork,
        levels: &Option<Arc<Level>>,
        ancestors: &Option<Arc<Ancestor>>,
        entry: &Listed,
        path: &mut Vec<u8>,
    ) -> Class {
        let depth = parent.depth + 1;
        if self.max_depth.is_some_and(|max| depth > max) {
            return Class::Nothing;
        }
        path.clear();
        path.extend_from_slice(&parent.path);
        if path.last() != Some(&b'/') {
            path.push(b'/');
        }
        path.extend_from_slice(&entry.name);
        let full = bytes_path(path);
        let rel_start = self.rel_start().min(path.len());
        let rel = bytes_path(&path[rel_start..]);
        let mut kind = entry.kind;
        let mut target: Option<(u64, u64)> = None;
        if kind == FileType::Symlink {
            if !self.follow {
                return Class::Nothing;
            }
            let st = match dir {
                Some(dir) => statat(dir.fd(), OsStr::from_bytes(&entry.name), AtFlags::empty()),
                None => rustix::fs::stat(full),
            };
            match st {
                Ok(st) => {
                    kind = FileType::from_raw_mode(st.st_mode);
                    target = Some(dev_ino(&st));
                }
                Err(e) => return Class::Issue(dir_issue(full, e.into())),
            }
        }
        let is_dir = kind == FileType::Directory;
        if !is_dir && kind != FileType::RegularFile {
            return Class::Nothing; // FIFOs, sockets, devices: never opened
        }
        if self.skip(levels, full, rel, &entry.name, is_dir) {
            return Class::Nothing;
        }
        if !is_dir {
            // The path built for the rules is the file's: kept, not built again.
            let name_start = path.len() - entry.name.len();
            let mut bytes = Vec::with_capacity(path.len() + 1);
            bytes.extend_from_slice(path);
            bytes.push(0);
            return Class::File(Found {
                path: bytes,
                rel_start: self.rel_start().min(name_start),
                dir: dir.map(Arc::clone),
                name_start,
            });
        }
        if self.same_fs.is_some() || target.is_some() {
            let (dev, ino) = match target {
                Some(t) => t,
                None => match match dir {
                    Some(dir) => statat(
                        dir.fd(),
                        OsStr::from_bytes(&entry.name),
                        AtFlags::SYMLINK_NOFOLLOW,
                    ),
                    None => rustix::fs::lstat(full),
                } {
                    Ok(st) => dev_ino(&st),
                    Err(e) => return Class::Issue(dir_issue(full, e.into())),
                },
            };
            if self.same_fs.is_some_and(|root_dev| root_dev != dev) {
                return Class::Nothing;
            }
            if target.is_some() {
                let mut cur = ancestors.as_deref();
                while let Some(a) = cur {
                    if (a.dev, a.ino) == (dev, ino) {
                        return Class::Issue(ScanIssue {
                            path: full.to_path_buf(),
                            kind: IssueKind::Loop,
                            message: format!(
                                "File system loop found: {} points to an ancestor {}",
                                full.display(),
                                a.path.display()
                            ),
                        });
                    }
                    cur = a.parent.as_deref();
                }
            }
        }
        Class::Dir(DirWork {
            path: path.clone(),
            depth,
            levels: levels.clone(),
            ancestors: ancestors.clone(),
        })
    }

    /// The root when it is not a directory: a file (visited) or nothing.
    fn root_entry(&self) -> Option<Option<Entry>> {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => None,
            Ok(m) if m.is_file() => {
                Some(Some(Entry::File(Found::new(&self.root, self.root.clone()))))
            }
            Ok(_) => Some(None),
            Err(e) => Some(Some(Entry::Issue(dir_issue(&self.root, e)))),
        }
    }

    /// Walks on the calling thread, depth first (each directory's entries
    /// right after it, by name when `sort`), as `ignore::Walk` does.
    pub(crate) fn run_sequential(&self, sort: bool, visit: &mut dyn FnMut(Entry) -> Flow) {
        for issue in &self.setup_issues {
            if visit(Entry::Issue(issue.clone())) == Flow::Quit {
                return;
            }
        }
        if let Some(entry) = self.root_entry() {
            if let Some(e) = entry {
                visit(e);
            }
            return;
        }
        struct Frame {
            work: DirWork,
            /// `None` once the walk is deeper than [`MAX_OPEN_FRAMES`]
            /// below it: its files are then found by path.
            dir: Option<Arc<DirFd>>,
            listed: std::vec::IntoIter<Listed>,
            levels: Option<Arc<Level>>,
            ancestors: Option<Arc<Ancestor>>,
        }
        let mut issues = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut path = Vec::new();
        let mut pending = Some(self.root_work());
        loop {
            if let Some(work) = pending.take() {
                let opened = self.open_dir(&work, &mut issues, sort);
                for issue in issues.drain(..) {
                    if visit(Entry::Issue(issue)) == Flow::Quit {
                        return;
                    }
                }
                if let Some((dir, listed, levels, ancestors)) = opened {
                    // Descriptors stay bounded however deep the tree.
                    if stack.len() >= MAX_OPEN_FRAMES {
                        let far = stack.len() - MAX_OPEN_FRAMES;
                        stack[far].dir = None;
                    }
                    stack.push(Frame {
                        work,
                        dir: Some(dir),
                        listed: listed.into_iter(),
                        levels,
                        ancestors,
                    });
                }
            }
            let Some(top) = stack.last_mut() else { return };
            let Some(entry) = top.listed.next() else {
                stack.pop();
                continue;
            };
            let class = self.classify(
                top.dir.as_ref(),
                &top.work,
                &top.levels,
                &top.ancestors,
                &entry,
                &mut path,
            );
            let flow = match class {
                Class::File(found) => visit(Entry::File(found)),
                Class::Dir(work) => {
                    pending = Some(work);
                    Flow::Continue
                }
                Class::Issue(issue) => visit(Entry::Issue(issue)),
                Class::Nothing => Flow::Continue,
            };
            if flow == Flow::Quit {
                return;
            }
        }
    }

    /// Walks with `threads` threads. With `caller`, the calling thread is
    /// one of them and visits with `caller` (which also gets
    /// [`Entry::Wait`] whenever it has no walk work, and until every other
    /// thread is done); without, it only waits. `make` gives each spawned
    /// thread its visitor. Stops when a visitor says so or `stop` is set.
    pub(crate) fn run_parallel<'v>(
        &self,
        threads: usize,
        mut caller: Option<&mut dyn FnMut(Entry) -> Flow>,
        stop: &AtomicBool,
        make: &(dyn Fn() -> Box<dyn FnMut(Entry) -> Flow + 'v> + Sync),
    ) {
        if !self.setup_issues.is_empty() || !std::fs::metadata(&self.root).is_ok_and(|m| m.is_dir())
        {
            let mut made;
            let visit: &mut dyn FnMut(Entry) -> Flow = match caller.as_deref_mut() {
                Some(v) => v,
                None => {
                    made = make();
                    &mut *made
                }
            };
            for issue in &self.setup_issues {
                if visit(Entry::Issue(issue.clone())) == Flow::Quit {
                    return;
                }
            }
            let root = self.root_entry();
            let not_dir = root.is_some();
            if let Some(Some(e)) = root
                && visit(e) == Flow::Quit
            {
                return;
            }
            if visit(Entry::Idle) == Flow::Quit || not_dir {
                return;
            }
        }
        let queue = Queue {
            state: Mutex::new(QueueState {
                work: vec![Work::Dir(self.root_work())],
                active: 0,
                sleeping: 0,
                quit: false,
            }),
            ready: Condvar::new(),
        };
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for _ in usize::from(caller.is_some())..threads.max(1) {
                let queue = &queue;
                handles.push(s.spawn(move || {
                    let mut visit = make();
                    self.worker(queue, stop, &mut *visit, false);
                }));
            }
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if let Some(visit) = caller {
                    self.worker(&queue, stop, &mut *visit, true);
                    // The others may still be finishing (and waiting for
                    // the caller to take what they produced).
                    while !handles.iter().all(|h| h.is_finished()) {
                        visit(Entry::Wait);
                    }
                }
            }));
            if caught.is_err() {
                queue.quit();
            }
            for h in handles {
                if let Err(payload) = h.join() {
                    queue.quit();
                    std::panic::resume_unwind(payload);
                }
            }
            if let Err(payload) = caught {
                std::panic::resume_unwind(payload);
            }
        });
    }

    /// One walker thread's loop. `caller`: instead of sleeping while the
    /// others hold all the work, it visits [`Entry::Wait`].
    fn worker(
        &self,
        queue: &Queue,
        stop: &AtomicBool,
        visit: &mut dyn FnMut(Entry) -> Flow,
        caller: bool,
    ) {
        // Whatever ends this worker (a panic included) releases the others.
        struct QuitOnUnwind<'q>(&'q Queue);
        impl Drop for QuitOnUnwind<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.quit();
                }
            }
        }
        let _guard = QuitOnUnwind(queue);
        let mut issues = Vec::new();
        let mut path = Vec::new();
        let mut subdirs = Vec::new();
        let mut files: Vec<Found> = Vec::new();
        loop {
            let work = match caller {
                false => queue.pop(),
                true => queue.pop_or(&mut || visit(Entry::Wait)),
            };
            let Some(work) = work else { break };
            let flow = if stop.load(Relaxed) {
                Flow::Quit
            } else {
                match work {
                    Work::Dir(work) => self.walk_dir(
                        queue,
                        work,
                        visit,
                        &mut issues,
                        &mut path,
                        &mut subdirs,
                        &mut files,
                    ),
                    Work::Files(chunk) => {
                        let mut flow = Flow::Continue;
                        for found in chunk {
                            if stop.load(Relaxed) {
                                flow = Flow::Quit;
                                break;
                            }
                            flow = visit(Entry::File(found));
                            if flow == Flow::Quit {
                                break;
                            }
                        }
                        flow
                    }
                }
            };
            let flow = match flow {
                Flow::Continue => visit(Entry::Idle),
                Flow::Quit => Flow::Quit,
            };
            if flow == Flow::Quit || stop.load(Relaxed) {
                queue.quit();
                return;
            }
            queue.done();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_dir(
        &self,
        queue: &Queue,
        work: DirWork,
        visit: &mut dyn FnMut(Entry) -> Flow,
        issues: &mut Vec<ScanIssue>,
        path: &mut Vec<u8>,
        subdirs: &mut Vec<Work>,
        files: &mut Vec<Found>,
    ) -> Flow {
        let opened = self.open_dir(&work, issues, false);
        for issue in issues.drain(..) {
            if visit(Entry::Issue(issue)) == Flow::Quit {
                return Flow::Quit;
            }
        }
        let Some((dir, listed, levels, ancestors)) = opened else {
            return Flow::Continue;
        };
        files.clear();
        for entry in listed {
            match self.classify(Some(&dir), &work, &levels, &ancestors, &entry, path) {
                Class::File(found) => files.push(found),
                Class::Dir(sub) => subdirs.push(Work::Dir(sub)),
                Class::Issue(issue) => {
                    if visit(Entry::Issue(issue)) == Flow::Quit {
                        return Flow::Quit;
                    }
                }
                Class::Nothing => {}
            }
        }
        // Subdirectories first, so idle threads have work at once; then
        // chunks of a large directory's files beyond the first.
        if files.len() > 2 * FILES_CHUNK {
            let mut rest = files.drain(FILES_CHUNK..);
            loop {
                let chunk: Vec<Found> = rest.by_ref().take(FILES_CHUNK).collect();
                if chunk.is_empty() {
                    break;
                }
                subdirs.push(Work::Files(chunk));
            }
        }
        queue.push(subdirs);
        for found in files.drain(..) {
            if visit(Entry::File(found)) == Flow::Quit {
                return Flow::Quit;
            }
        }
        Flow::Continue
    }
}

enum Class {
    File(Found),
    Dir(DirWork),
    Issue(ScanIssue),
    Nothing,
}

fn dir_issue(path: &Path, err: std::io::Error) -> ScanIssue {
    ScanIssue {
        path: path.to_path_buf(),
        kind: IssueKind::Io,
        message: format!("{}: {err}", path.display()),
    }
}

struct QueueState {
    work: Vec<Work>,
    /// Threads holding work taken from the stack.
    active: usize,
    /// Threads asleep on `ready` (a notify is a system call even when
    /// nobody waits: made only when someone does).
    sleeping: usize,
    quit: bool,
}

/// The shared stack of work and the walk's end: no work left and no
/// thread busy (which could still add some), or a quit.
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Under the lock: `Some(Some(work))` to hand out, `Some(None)` once
    /// the walk is over, `None` while other threads hold all the work.
    fn take(&self, st: &mut QueueState) -> Option<Option<Work>> {
        if st.quit {
            return Some(None);
        }
        if let Some(w) = st.work.pop() {
            st.active += 1;
            return Some(Some(w));
        }
        if st.active == 0 {
            st.quit = true;
            if st.sleeping > 0 {
                self.ready.notify_all();
            }
            return Some(None);
        }
        None
    }

    fn pop(&self) -> Option<Work> {
        let mut st = self.lock();
        loop {
            if let Some(taken) = self.take(&mut st) {
                return taken;
            }
            st.sleeping += 1;
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
        }
    }

    /// Like [`Queue::pop`], but instead of sleeping while other threads
    /// hold all the work, calls `wait` (which may block briefly), then
    /// looks again.
    fn pop_or(&self, wait: &mut dyn FnMut() -> Flow) -> Option<Work> {
        loop {
            if let Some(taken) = self.take(&mut self.lock()) {
                return taken;
            }
            if wait() == Flow::Quit {
                self.quit();
                return None;
            }
        }
    }

    fn push(&self, items: &mut Vec<Work>) {
        if items.is_empty() {
            return;
        }
        let n = items.len();
        let mut st = self.lock();
        // Reversed so the stack pops them in listing order.
        st.work.extend(items.drain(..).rev());
        let sleeping = st.sleeping;
        drop(st);
        // (One asleep now may have woken meanwhile and found the work: a
        // spare notify. None asleep now: none can miss this push, as a
        // thread looks at the stack under the lock before it sleeps.)
        if sleeping == 1 || (sleeping > 0 && n == 1) {
            self.ready.notify_one();
        } else if sleeping > 0 {
            self.ready.notify_all();
        }
    }

    fn done(&self) {
        let mut st = self.lock();
        st.active -= 1;
        if st.active == 0 && st.work.is_empty() && st.sleeping > 0 {
            self.ready.notify_all();
        }
    }

    fn quit(&self) {
        let mut st = self.lock();
        st.quit = true;
        if st.sleeping > 0 {
            self.ready.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `load_rules` reads a file as `GitignoreBuilder::add` does: the same
    /// rules, and the same issue (path, kind, message) for bad lines, one
    /// or several, and for a line that is not UTF-8.
    #[test]
    fn load_rules_matches_the_ignore_crates_reading() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let files: [&[u8]; 5] = [
            b"\xef\xbb\xbf*.log\r\n!keep.log\nbuild/\n",
            b"*.o\n\\\nok.txt\n",
            b"a[\n*.o\nb{\n",
            b"*.o\n\xff\xfe\n*.log\n",
            b"",
        ];
        for (n, content) in files.iter().enumerate() {
            let file = d.join(format!("ignore{n}"));
            std::fs::write(&file, content).unwrap();
            let mut ours = Vec::new();
            let got = load_rules(d, &file, &mut ours);
            let mut b = GitignoreBuilder::new(d);
            let want_issue = b.add(&file).map(|e| issue_of(&e, Some(&file)));
            let want = b.build().unwrap();
            let issue = |i: &ScanIssue| (i.path.clone(), i.kind, i.message.clone());
            assert_eq!(
                ours.iter().map(issue).collect::<Vec<_>>(),
                want_issue.iter().map(issue).collect::<Vec<_>>(),
                "file {n}"
            );
            assert_eq!(
                got.as_ref().map_or(0, Gitignore::len),
                want.len(),
                "file {n}"
            );
            for probe in ["x.log", "keep.log", "build", "a.o", "ok.txt", "y"] {
                let m =
                    |gi: &Gitignore| format!("{:?}", gi.matched(d.join(probe), probe == "build"));
                assert_eq!(
                    got.as_ref().map_or("None".into(), m),
                    if want.is_empty() {
                        "None".into()
                    } else {
                        m(&want)
                    },
                    "file {n}, {probe}"
                );
            }
        }
    }
}
