//! How paths are stored: relative to the cache's `root` option when inside
//! it (so a cache moved with its checkout still hits), else absolute; both
//! lexically normalised, as raw bytes.

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Maps paths given by the host to their stored form and back.
#[derive(Debug, Clone, Default)]
pub struct PathMap {
    root: Option<PathBuf>,
}

/// `path` made absolute (against the working directory) with `.` and `..`
/// removed lexically; symlinks are not resolved.
pub fn normalize(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl PathMap {
    /// A map relative to `root` (which must exist), or absolute-only.
    pub fn new(root: Option<&Path>) -> Result<PathMap> {
        let root = match root {
            None => None,
            Some(r) => Some(
                std::fs::canonicalize(r)
                    .map_err(|e| Error::io(format!("root {}", r.display()), &e))?,
            ),
        };
        Ok(PathMap { root })
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    fn relative(&self, abs: &Path) -> Option<Vec<u8>> {
        let root = self.root.as_ref()?;
        let rest = abs.strip_prefix(root).ok()?;
        let bytes = rest.as_os_str().as_bytes();
        Some(if bytes.is_empty() {
            b".".to_vec()
        } else {
            bytes.to_vec()
        })
    }

    /// The stored form of `path`: relative bytes when inside the root, else
    /// the absolute path's bytes (which start with '/').
    pub fn key(&self, path: &Path) -> Vec<u8> {
        let abs = normalize(path);
        if let Some(rel) = self.relative(&abs) {
            return rel;
        }
        if self.root.is_some()
            && let Ok(canon) = std::fs::canonicalize(&abs)
            && let Some(rel) = self.relative(&canon)
        {
            return rel;
        }
        abs.as_os_str().as_bytes().to_vec()
    }

    /// The path on disk of a stored form (borrowed when it is absolute).
    pub fn resolve<'a>(&self, key: &'a [u8]) -> Cow<'a, Path> {
        let p = Path::new(OsStr::from_bytes(key));
        if p.is_absolute() {
            return Cow::Borrowed(p);
        }
        Cow::Owned(match &self.root {
            Some(root) if key == b"." => root.clone(),
            Some(root) => root.join(p),
            None => p.to_path_buf(),
        })
    }

    /// Printable form of a stored path, for messages.
    pub fn show(key: &[u8]) -> String {
        String::from_utf8_lossy(key).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_inside_root_absolute_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        let map = PathMap::new(Some(&root)).unwrap();
        assert_eq!(map.key(&root.join("src/../src/./a.c")), b"src/a.c");
        assert_eq!(map.key(&root), b".");
        assert_eq!(map.resolve(b"src/a.c"), root.join("src/a.c"));
        assert_eq!(map.key(Path::new("/etc/hosts")), b"/etc/hosts");
        assert_eq!(map.resolve(b"/etc/hosts"), Path::new("/etc/hosts"));
        let plain = PathMap::new(None).unwrap();
        assert_eq!(
            plain.key(&root.join("src/a.c")),
            root.join("src/a.c").as_os_str().as_bytes()
        );
        assert!(PathMap::new(Some(Path::new("/no/such/root/dir"))).is_err());
    }
}
