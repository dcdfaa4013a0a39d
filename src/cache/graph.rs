//! File bindings: resolving entry options to recorded stamps (expanding
//! dependencies through cached files), checking them on reads, and the
//! dependency graph behind `invalidate_file` and `check_file_changes`.

use super::engine::{Cache, EntryOptions, MAX_CLOSURE, Verdict};
use super::entry::Binding;
use super::paths::PathMap;
use super::stamp::{self, Check, FileStamp};
use super::stats::Reason;
use super::store::{self, BoundKey};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;

/// Whether a re-hash that found the same content should replace the
/// recorded stamp: when the metadata moved, or when the file stopped being
/// racy (then later reads trust one `stat` again). Otherwise re-recording
/// would only cost a write per read.
fn worth_recording(old: Option<&FileStamp>, new: &FileStamp) -> bool {
    match old {
        None => true,
        Some(old) => old.meta() != new.meta() || (old.is_racy() && !new.is_racy()),
    }
}

impl Cache {
    /// A path's stamp; a directory's tree leaves out this cache's own
    /// directory.
    fn stamp(&self, path: &Path) -> std::io::Result<FileStamp> {
        stamp::stamp_file_skipping(path, self.own_dir.as_deref())
    }

    /// A recorded stamp checked as [`Cache::stamp`] takes it.
    fn check(&self, path: &Path, recorded: Option<&FileStamp>) -> Check {
        stamp::check_skipping(path, recorded, self.own_dir.as_deref())
    }

    /// Resolves entry options to recorded bindings: the file's stamp (it
    /// must exist) and the stamps of the dependencies, expanded with the
    /// dependencies of cached entries bound to them (transitively).
    pub(super) fn bindings(&self, opts: &EntryOptions) -> Result<(Option<Binding>, Vec<Binding>)> {
        let file = match &opts.file_path {
            None => None,
            Some(p) => {
                let key = self.paths.key(p);
                let stamp = self
                    .stamp(&self.paths.resolve(&key))
                    .map_err(|e| Error::io(format!("file_path {}", p.display()), &e))?;
                Some(Binding {
                    path: key,
                    stamp: Some(stamp),
                })
            }
        };
        if opts.deps.is_empty() {
            return Ok((file, Vec::new()));
        }
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        if let Some(f) = &file {
            seen.insert(f.path.clone());
        }
        let mut order = Vec::new();
        let mut queue = VecDeque::new();
        for d in &opts.deps {
            let k = self.paths.key(d);
            if seen.insert(k.clone()) {
                order.push(k.clone());
                queue.push_back(k);
            }
        }
        while let Some(p) = queue.pop_front() {
            if seen.len() >= MAX_CLOSURE {
                break;
            }
            for b in self.deps_of_bound(&p)? {
                if seen.insert(b.path.clone()) {
                    order.push(b.path.clone());
                    queue.push_back(b.path);
                }
            }
        }
        let deps = order
            .into_iter()
            .map(|path| {
                let stamp = self.stamp(&self.paths.resolve(&path)).ok();
                Binding { path, stamp }
            })
            .collect();
        Ok((file, deps))
    }

    /// The dependencies recorded by entries whose file is `path`.
    pub(super) fn deps_of_bound(&self, path: &[u8]) -> Result<Vec<Binding>> {
        let bound = match &self.store {
            Some(s) => s.read(|c| store::bound_to(c, path))?,
            None => {
                if !self.has_deps.load(Relaxed) {
                    return Ok(Vec::new());
                }
                self.memory_bound_to(path)
            }
        };
        Ok(bound.into_iter().flat_map(|b| b.deps).collect())
    }

    pub(super) fn memory_bound_to(&self, path: &[u8]) -> Vec<BoundKey> {
        self.memory_keys(|e| e.file.as_ref().is_some_and(|f| f.path == path))
    }

    pub(super) fn memory_depending_on(&self, path: &[u8]) -> Vec<BoundKey> {
        self.memory_keys(|e| e.deps.iter().any(|d| d.path == path))
    }

    /// The memory tier's entries that `pick` selects, with their bindings.
    fn memory_keys(&self, pick: impl Fn(&super::entry::Entry) -> bool) -> Vec<BoundKey> {
        self.memory
            .find(|_, e| pick(e))
            .into_iter()
            .map(|(k, e)| BoundKey {
                key: k.into_vec(),
                file: e.file.clone(),
                deps: e.deps.clone(),
            })
            .collect()
    }

    /// Checks recorded bindings against the files; then, for dependencies,
    /// the dependencies recorded by cached entries bound to them
    /// (transitively), so a change deep in the graph is seen.
    pub(super) fn validate(&self, file: Option<&Binding>, deps: &[Binding]) -> Result<Verdict> {
        let mut refreshed = false;
        let check_one = |b: &Binding| self.check(&self.paths.resolve(&b.path), b.stamp.as_ref());
        let mut new_file = file.cloned();
        if let Some(f) = file {
            match check_one(f) {
                Check::Refreshed(s) if worth_recording(f.stamp.as_ref(), &s) => {
                    refreshed = true;
                    new_file = Some(Binding {
                        path: f.path.clone(),
                        stamp: Some(s),
                    })
                }
                Check::Missing => {
                    return Ok(Verdict::Invalid(
                        Reason::FileMissing,
                        format!("{} is gone", PathMap::show(&f.path)),
                    ));
                }
                c if !c.is_valid() => {
                    return Ok(Verdict::Invalid(
                        Reason::FileChanged,
                        format!("{} changed", PathMap::show(&f.path)),
                    ));
                }
                _ => {}
            }
        }
        let mut new_deps = Vec::with_capacity(deps.len());
        for d in deps {
            let c = check_one(d);
            if !c.is_valid() {
                let what = match c {
                    Check::Missing => "is gone",
                    Check::Appeared => "appeared",
                    _ => "changed",
                };
                return Ok(Verdict::Invalid(
                    Reason::DependencyChanged,
                    format!("dependency {} {what}", PathMap::show(&d.path)),
                ));
            }
            new_deps.push(match c {
                Check::Refreshed(s) if worth_recording(d.stamp.as_ref(), &s) => {
                    refreshed = true;
                    Binding {
                        path: d.path.clone(),
                        stamp: Some(s),
                    }
                }
                _ => d.clone(),
            });
        }
        if !deps.is_empty() {
            // Dependencies recorded by other entries bound to our deps.
            let mut seen: HashSet<Vec<u8>> = deps.iter().map(|d| d.path.clone()).collect();
            if let Some(f) = file {
                seen.insert(f.path.clone());
            }
            let mut queue: VecDeque<Vec<u8>> = deps.iter().map(|d| d.path.clone()).collect();
            while let Some(p) = queue.pop_front() {
                if seen.len() >= MAX_CLOSURE {
                    break;
                }
                for b in self.deps_of_bound(&p)? {
                    if !seen.insert(b.path.clone()) {
                        continue;
                    }
                    let c = self.check(&self.paths.resolve(&b.path), b.stamp.as_ref());
                    if !c.is_valid() {
                        return Ok(Verdict::Invalid(
                            Reason::DependencyChanged,
                            format!(
                                "dependency {} (via {}) changed",
                                PathMap::show(&b.path),
                                PathMap::show(&p)
                            ),
                        ));
                    }
                    queue.push_back(b.path);
                }
            }
        }
        Ok(Verdict::Valid(refreshed.then_some((new_file, new_deps))))
    }

    /// Finds (and deletes from the store, when `c` is given) every entry
    /// that depends on one of `paths`, transitively through the files of
    /// the entries found. Returns their keys (not removed from memory yet).
    pub(super) fn remove_dependents(
        &self,
        c: Option<&Connection>,
        paths: &[Vec<u8>],
        skip: &HashSet<Vec<u8>>,
    ) -> rusqlite::Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut seen_keys: HashSet<Vec<u8>> = skip.clone();
        let mut seen_paths: HashSet<Vec<u8>> = paths.iter().cloned().collect();
        let mut queue: VecDeque<Vec<u8>> = paths.iter().cloned().collect();
        while let Some(p) = queue.pop_front() {
            let mut found = self.memory_depending_on(&p);
            if let Some(c) = c {
                found.extend(store::depending_on(c, &p)?);
            }
            for b in found {
                if !seen_keys.insert(b.key.clone()) {
                    continue;
                }
                if let Some(f) = b.file
                    && seen_paths.insert(f.path.clone())
                {
                    queue.push_back(f.path);
                }
                keys.push(b.key);
            }
        }
        if let Some(c) = c {
            for k in &keys {
                store::delete(c, k)?;
            }
        }
        Ok(keys)
    }

    /// Removes every entry bound to `path` or depending on it (directly or
    /// through other cached files); returns how many.
    pub fn invalidate_file(&self, path: &Path) -> Result<usize> {
        let p = self.paths.key(path);
        let detail = format!("invalidate_file({})", PathMap::show(&p));
        let collect = |c: Option<&Connection>| -> rusqlite::Result<Vec<Vec<u8>>> {
            let mut bound = self.memory_bound_to(&p);
            if let Some(c) = c {
                bound.extend(store::bound_to(c, &p)?);
            }
            let mut keys: Vec<Vec<u8>> = Vec::new();
            let mut seen = HashSet::new();
            for b in bound {
                if seen.insert(b.key.clone()) {
                    keys.push(b.key);
                }
            }
            if let Some(c) = c {
                for k in &keys {
                    store::delete(c, k)?;
                }
            }
            keys.extend(self.remove_dependents(c, std::slice::from_ref(&p), &seen)?);
            Ok(keys)
        };
        let keys = match &self.store {
            Some(_) => self.write(false, |c| collect(Some(c)))?,
            None => collect(None).map_err(|e| Error::store(e.to_string()))?,
        };
        let n = self.forget(&keys, Reason::Invalidated, &detail);
        self.counters.invalidated(Reason::Invalidated, n);
        Ok(n as usize)
    }

    /// Which of `paths` changed since they were last recorded (by a previous
    /// call, or else by the entries bound to or depending on them); a path
    /// never recorded counts as changed when it exists. Records the current
    /// state of each path for the next call.
    pub fn check_file_changes(&self, paths: &[&Path]) -> Result<Vec<usize>> {
        let mut changed = Vec::new();
        let mut records: Vec<Binding> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let key = self.paths.key(path);
            let prev = self.recorded_stamp(&key)?;
            let disk = self.paths.resolve(&key);
            let (is_changed, record) = match prev {
                None => {
                    let s = self.stamp(&disk).ok();
                    (s.is_some(), Some(s))
                }
                Some(prev) => match self.check(&disk, prev.as_ref()) {
                    Check::Unchanged | Check::StillAbsent => (false, None),
                    Check::Refreshed(s) if worth_recording(prev.as_ref(), &s) => {
                        (false, Some(Some(s)))
                    }
                    Check::Refreshed(_) => (false, None),
                    Check::Missing => (true, Some(None)),
                    Check::Changed | Check::Appeared => (true, Some(self.stamp(&disk).ok())),
                },
            };
            if is_changed {
                changed.push(i);
            }
            if let Some(stamp) = record {
                records.push(Binding { path: key, stamp });
            }
        }
        if !records.is_empty() {
            match &self.store {
                Some(_) => self.write(false, |c| {
                    for b in &records {
                        store::set_watched(c, b)?;
                    }
                    Ok(())
                })?,
                None => {
                    let mut w = self.watched_mem.lock().unwrap_or_else(|e| e.into_inner());
                    for b in records {
                        w.insert(b.path, b.stamp);
                    }
                }
            }
        }
        Ok(changed)
    }

    /// What was last recorded for a path: `None` never; `Some(None)` absent.
    pub(super) fn recorded_stamp(&self, key: &[u8]) -> Result<Option<Option<FileStamp>>> {
        let watched = match &self.store {
            Some(s) => s
                .read(|c| store::watched(c, key))?
                .map(|b| b.and_then(|b| b.stamp)),
            None => self
                .watched_mem
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .copied(),
        };
        if watched.is_some() {
            return Ok(watched);
        }
        // Else the newest stamp any entry recorded.
        let mut found: Vec<BoundKey> = self.memory_bound_to(key);
        found.extend(self.memory_depending_on(key));
        if let Some(s) = &self.store {
            found.extend(s.read(|c| {
                let mut v = store::bound_to(c, key)?;
                v.extend(store::depending_on(c, key)?);
                Ok(v)
            })?);
        }
        let newest = found
            .into_iter()
            .flat_map(|b| b.file.into_iter().chain(b.deps))
            .filter(|b| b.path == key)
            .max_by_key(|b| b.stamp.map_or(i64::MIN, |s| s.recorded_ns));
        Ok(newest.map(|b| b.stamp))
    }
}

#[cfg(test)]
mod tests {
    use crate::cache::stamp::settle;
    use crate::cache::stamp::testing::{
        chmod, hashed, rewrite_keeping_mtime, until_ctime_moves, write_old,
    };
    use crate::cache::{Cache, CacheOptions, EntryOptions};

    fn get(c: &Cache, key: &[u8]) -> Option<Vec<u8>> {
        c.get(key).unwrap().map(|v| v.to_vec())
    }

    /// A ctime-only change (chmod) of a bound file and of a dependency:
    /// the next read re-hashes each once, still hits, and records the fresh
    /// stamps (in memory and in the database), so the reads after it trust
    /// one `stat` again.
    #[test]
    fn a_ctime_only_change_is_rehashed_once_then_trusted_again() {
        for persistent in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (f, d) = (dir.path().join("f.py"), dir.path().join("d.h"));
            write_old(&f, b"print(1)");
            write_old(&d, b"#define X");
            settle(&f).unwrap();
            settle(&d).unwrap();
            let opts = CacheOptions {
                dir: persistent.then(|| dir.path().join("c")),
                ..CacheOptions::default()
            };
            let entry = EntryOptions {
                file_path: Some(f.clone()),
                deps: vec![d.clone()],
                ..EntryOptions::new()
            };
            let c = Cache::open(opts.clone()).unwrap();
            c.set(b"k", b"v", &entry).unwrap();
            let before = hashed();
            assert_eq!(get(&c, b"k").unwrap(), b"v");
            assert_eq!(hashed(), before, "trusted on one stat per file");
            for path in [&f, &d] {
                until_ctime_moves(path, || chmod(path, 0o600));
                let before = hashed();
                assert_eq!(get(&c, b"k").unwrap(), b"v", "{}", path.display());
                assert_eq!(hashed(), before + 1, "re-hashed once");
                // Recorded within the racy window of the chmod: re-hashed
                // once more after it, then trusted.
                settle(path).unwrap();
                assert_eq!(get(&c, b"k").unwrap(), b"v");
                assert_eq!(hashed(), before + 2, "re-hashed past the window");
                assert_eq!(get(&c, b"k").unwrap(), b"v");
                assert_eq!(hashed(), before + 2, "then trusted on its stat");
            }
            let s = c.stats().unwrap();
            assert_eq!(s.total.invalidations_file_changed, 0);
            assert_eq!(s.total.invalidations_dependency_changed, 0);
            let c = if persistent {
                // The database has the fresh stamps too: another handle
                // trusts them.
                drop(c);
                let c = Cache::open(opts).unwrap();
                let before = hashed();
                assert_eq!(get(&c, b"k").unwrap(), b"v");
                assert_eq!(hashed(), before);
                c
            } else {
                c
            };
            // check_file_changes: a ctime-only change is no change, its
            // fresh stamp is recorded once.
            until_ctime_moves(&f, || chmod(&f, 0o644));
            let before = hashed();
            assert!(c.check_file_changes(&[&f]).unwrap().is_empty());
            assert_eq!(hashed(), before + 1);
            settle(&f).unwrap();
            assert!(c.check_file_changes(&[&f]).unwrap().is_empty());
            assert_eq!(hashed(), before + 2);
            assert!(c.check_file_changes(&[&f]).unwrap().is_empty());
            assert_eq!(hashed(), before + 2);
            // A rewrite that put the mtime back is a change.
            rewrite_keeping_mtime(&f, b"print(2)");
            assert_eq!(c.check_file_changes(&[&f]).unwrap(), vec![0]);
            assert_eq!(get(&c, b"k"), None);
        }
    }
}
