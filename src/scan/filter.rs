//! Include and exclude globs.
//!
//! A glob without `/` matches an entry's file name at any depth (`*.rs`,
//! `node_modules`), like a `.gitignore` line; a glob with `/` matches the
//! path relative to the root (`src/**/*.rs`; a leading `/` is allowed). `*`
//! never crosses `/`, `**` does. A trailing `/` restricts an exclude glob to
//! directories. Excludes prune directories; includes apply to files only.

use crate::error::{Error, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::path::Path;

#[derive(Debug, Default)]
struct Globs {
    names: Option<GlobSet>,
    paths: Option<GlobSet>,
    dir_names: Option<GlobSet>,
    dir_paths: Option<GlobSet>,
}

/// Compiled include and exclude globs.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    include: Option<Globs>,
    exclude: Option<Globs>,
}

/// Deepest `{...}` nesting a glob may have (in an option or an ignore
/// file). globset turns nested alternates into a regex recursively: a few
/// thousand levels overflowed a host's small stack (Node's main thread, a
/// Ruby fiber), a hundred thousand any thread's. The regex engine refuses
/// past ~125 levels anyway, so nothing that could work is lost.
pub(crate) const MAX_BRACE_DEPTH: usize = 32;

/// How deep `{...}` groups nest in `text` (a `\` escapes the next char).
pub(crate) fn brace_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut escaped) = (0usize, 0, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn glob(text: &str, what: &str) -> Result<Glob> {
    if brace_depth(text) > MAX_BRACE_DEPTH {
        return Err(Error::invalid(format!(
            "{what} glob nests {{...}} deeper than {MAX_BRACE_DEPTH} levels"
        )));
    }
    GlobBuilder::new(text)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| Error::invalid(format!("{what} glob {text:?}: {e}")))
}

fn build(set: GlobSetBuilder, used: bool, what: &str) -> Result<Option<GlobSet>> {
    if !used {
        return Ok(None);
    }
    set.build()
        .map(Some)
        .map_err(|e| Error::invalid(format!("{what} globs: {e}")))
}

impl Globs {
    fn new(list: &[String], what: &str) -> Result<Option<Globs>> {
        if list.is_empty() {
            return Ok(None);
        }
        let mut sets: [(GlobSetBuilder, bool); 4] =
            std::array::from_fn(|_| (GlobSetBuilder::new(), false));
        for raw in list {
            if raw.is_empty() {
                return Err(Error::invalid(format!("{what} glob is empty")));
            }
            let (text, dir_only) = match raw.strip_suffix('/') {
                Some(t) if !t.is_empty() => (t, true),
                _ => (raw.as_str(), false),
            };
            let anchored = text.contains('/');
            let text = text.strip_prefix('/').unwrap_or(text);
            let slot = usize::from(anchored) + 2 * usize::from(dir_only);
            sets[slot].0.add(glob(text, what)?);
            sets[slot].1 = true;
        }
        let [names, paths, dir_names, dir_paths] = sets;
        Ok(Some(Globs {
            names: build(names.0, names.1, what)?,
            paths: build(paths.0, paths.1, what)?,
            dir_names: build(dir_names.0, dir_names.1, what)?,
            dir_paths: build(dir_paths.0, dir_paths.1, what)?,
        }))
    }

    fn matches(&self, rel: &Path, name: &OsStr, is_dir: bool) -> bool {
        let hit = |set: &Option<GlobSet>, p: &Path| set.as_ref().is_some_and(|s| s.is_match(p));
        let name = Path::new(name);
        hit(&self.names, name)
            || hit(&self.paths, rel)
            || (is_dir && (hit(&self.dir_names, name) || hit(&self.dir_paths, rel)))
    }
}

impl Filters {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Filters> {
        Ok(Filters {
            include: Globs::new(include, "include")?,
            exclude: Globs::new(exclude, "exclude")?,
        })
    }

    /// No globs at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether a directory (relative path `rel`) is entered.
    pub(crate) fn enter_dir(&self, rel: &Path, name: &OsStr) -> bool {
        !self
            .exclude
            .as_ref()
            .is_some_and(|g| g.matches(rel, name, true))
    }

    /// Whether a file (relative path `rel`) is scanned.
    pub(crate) fn keep_file(&self, rel: &Path, name: &OsStr) -> bool {
        if self
            .exclude
            .as_ref()
            .is_some_and(|g| g.matches(rel, name, false))
        {
            return false;
        }
        self.include
            .as_ref()
            .is_none_or(|g| g.matches(rel, name, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(inc: &[&str], exc: &[&str]) -> Filters {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Filters::new(&s(inc), &s(exc)).unwrap()
    }

    fn keep(f: &Filters, rel: &str) -> bool {
        let p = Path::new(rel);
        f.keep_file(p, p.file_name().unwrap())
    }

    #[test]
    fn names_match_at_any_depth_and_paths_are_anchored() {
        let x = f(&["*.rs"], &["gen_*.rs", "src/skip/*.rs"]);
        assert!(keep(&x, "a.rs"));
        assert!(keep(&x, "deep/er/a.rs"));
        assert!(!keep(&x, "a.py"));
        assert!(!keep(&x, "deep/gen_a.rs"));
        assert!(!keep(&x, "src/skip/a.rs"));
        assert!(keep(&x, "other/src/skip/a.rs"));
    }

    #[test]
    fn excluded_directories_are_pruned_and_dir_only_globs_spare_files() {
        let x = f(&[], &["target/", "/build", "src/**/gen"]);
        let dir = |rel: &str| {
            let p = Path::new(rel);
            x.enter_dir(p, p.file_name().unwrap())
        };
        assert!(!dir("target"));
        assert!(!dir("a/target"));
        assert!(keep(&x, "target"));
        assert!(!dir("build"));
        assert!(dir("a/build"));
        assert!(!dir("src/x/y/gen"));
        assert!(dir("src"));
    }

    #[test]
    fn bad_globs_are_invalid() {
        assert!(Filters::new(&["a[".into()], &[]).is_err());
        assert!(Filters::new(&[], &["".into()]).is_err());
        assert!(keep(&f(&[], &[]), "anything"));
    }
}
