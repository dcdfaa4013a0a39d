//! Per-file analysis results for `wtfperf_analyze` (see
//! `notes/ANALYZE_INTERFACE.md`): loaded in one pass, stored in batches of
//! one transaction, keyed by (analyzer id, namespace, relative path).

use super::engine::Cache;
use super::paths::normalize;
use super::stamp::{FileStamp, now_ns};
use super::stats::Counters;
use crate::error::Result;
use rusqlite::params;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;

/// One stored analysis result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRecord {
    /// Path relative to the scan root, raw bytes (may be non-UTF-8), '/'-separated.
    pub rel_path: Vec<u8>,
    pub stamp: FileStamp,
    pub value: Vec<u8>,
}

type Records = HashMap<Vec<u8>, AnalysisRecord>;

/// Bytes of a stored stamp.
pub const STAMP_LEN: usize = 48;

/// The stored form of a stamp: size, mtime_ns, inode, hash, recorded_ns,
/// integers big-endian (what schema migration 4 builds from the old columns).
pub fn encode_stamp(s: &FileStamp) -> [u8; STAMP_LEN] {
    let mut out = [0; STAMP_LEN];
    out[0..8].copy_from_slice(&s.size.to_be_bytes());
    out[8..16].copy_from_slice(&s.mtime_ns.to_be_bytes());
    out[16..24].copy_from_slice(&s.inode.to_be_bytes());
    out[24..40].copy_from_slice(&s.hash);
    out[40..48].copy_from_slice(&s.recorded_ns.to_be_bytes());
    out
}

/// A stamp from its stored form (`None` unless [`STAMP_LEN`] bytes).
pub fn decode_stamp(b: &[u8]) -> Option<FileStamp> {
    let b: &[u8; STAMP_LEN] = b.try_into().ok()?;
    let word = |i: usize| -> [u8; 8] { b[i..i + 8].try_into().expect("8 bytes") };
    Some(FileStamp {
        size: u64::from_be_bytes(word(0)),
        mtime_ns: i64::from_be_bytes(word(8)),
        inode: u64::from_be_bytes(word(16)),
        hash: b[24..40].try_into().expect("16 bytes"),
        recorded_ns: i64::from_be_bytes(word(40)),
    })
}

/// Analysis results of a memory-only cache (kept for the handle's life).
#[derive(Default)]
pub struct MemoryAnalysis {
    map: Mutex<HashMap<(String, Vec<u8>), Records>>,
}

impl MemoryAnalysis {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Vec<u8>), Records>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Cache {
    /// The namespace key for a scan root: the root relative to the cache's `root` option when
    /// it is inside it (so a moved checkout still hits), else the canonical absolute path bytes.
    pub fn analysis_namespace(&self, scan_root: &Path) -> Vec<u8> {
        let canon = std::fs::canonicalize(scan_root).unwrap_or_else(|_| normalize(scan_root));
        if let Some(root) = self.paths.root()
            && let Ok(rest) = canon.strip_prefix(root)
        {
            let rel = rest.as_os_str().as_bytes();
            return if rel.is_empty() {
                b".".to_vec()
            } else {
                rel.to_vec()
            };
        }
        canon.as_os_str().as_bytes().to_vec()
    }

    /// Every stored result of `analyzer_id` under `namespace`, loaded in ONE pass over the
    /// table (one SELECT; no per-key lookups), keyed by rel_path. Expired rows excluded.
    pub fn load_analysis(&self, analyzer_id: &str, namespace: &[u8]) -> Result<Records> {
        let Some(store) = &self.store else {
            let map = self.analysis_mem.lock();
            return Ok(map
                .get(&(analyzer_id.to_string(), namespace.to_vec()))
                .cloned()
                .unwrap_or_default());
        };
        let now = now_ns();
        store.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT rel_path, stamp, value FROM analysis
                 WHERE analyzer_id = ?1 AND namespace = ?2 AND expires_ns > ?3",
            )?;
            let mut rows = st.query(params![analyzer_id, namespace, now])?;
            let mut out = HashMap::new();
            while let Some(r) = rows.next()? {
                // A malformed stamp is no record: the file is analyzed again.
                let Some(stamp) = decode_stamp(r.get_ref(1)?.as_blob()?) else {
                    continue;
                };
                let rel_path = r.get_ref(0)?.as_blob()?;
                let record = AnalysisRecord {
                    rel_path: rel_path.to_vec(),
                    stamp,
                    value: r.get_ref(2)?.as_blob()?.to_vec(),
                };
                out.insert(rel_path.to_vec(), record);
            }
            Ok(out)
        })
    }

    /// Stores (insert or replace) records in ONE transaction (one commit per call).
    pub fn store_analysis(
        &self,
        analyzer_id: &str,
        namespace: &[u8],
        records: &[AnalysisRecord],
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if self.store.is_none() {
            let mut map = self.analysis_mem.lock();
            let slot = map
                .entry((analyzer_id.to_string(), namespace.to_vec()))
                .or_default();
            for r in records {
                slot.insert(r.rel_path.clone(), r.clone());
            }
            return Ok(());
        }
        let ttl = self.opts.persistent_ttl_s;
        let expires = if ttl == 0.0 {
            i64::MAX
        } else {
            now_ns().saturating_add((ttl * 1e9).min(i64::MAX as f64) as i64)
        };
        self.write(false, |c| {
            let mut st = c.prepare_cached(
                "INSERT OR REPLACE INTO analysis(analyzer_id, namespace, rel_path, stamp, value,
                    expires_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in records {
                st.execute(params![
                    analyzer_id,
                    namespace,
                    r.rel_path,
                    &encode_stamp(&r.stamp)[..],
                    r.value,
                    expires
                ])?;
            }
            Ok(())
        })
    }

    /// Removes results of files that no longer exist / are now failing (one transaction).
    pub fn remove_analysis(
        &self,
        analyzer_id: &str,
        namespace: &[u8],
        rel_paths: &[Vec<u8>],
    ) -> Result<()> {
        if rel_paths.is_empty() {
            return Ok(());
        }
        if self.store.is_none() {
            let mut map = self.analysis_mem.lock();
            if let Some(slot) = map.get_mut(&(analyzer_id.to_string(), namespace.to_vec())) {
                for p in rel_paths {
                    slot.remove(p);
                }
            }
            return Ok(());
        }
        self.write(false, |c| {
            let mut st = c.prepare_cached(
                "DELETE FROM analysis WHERE analyzer_id = ?1 AND namespace = ?2 AND rel_path = ?3",
            )?;
            for p in rel_paths {
                st.execute(params![analyzer_id, namespace, p])?;
            }
            Ok(())
        })
    }

    /// Counts hits/misses of an analyze run into the cache statistics (persistent tier
    /// hits/misses of this handle and in total), so `wtfperf_cache_stats` reflects analyze.
    pub fn record_analysis_lookups(&self, hits: u64, misses: u64) {
        Counters::add(&self.counters.analysis_hits, hits);
        Counters::add(&self.counters.analysis_misses, misses);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheOptions;

    fn rec(path: &[u8], value: &[u8]) -> AnalysisRecord {
        AnalysisRecord {
            rel_path: path.to_vec(),
            stamp: FileStamp {
                size: 1,
                mtime_ns: 2,
                inode: 3,
                hash: [4; 16],
                recorded_ns: 5,
            },
            value: value.to_vec(),
        }
    }

    fn round_trip(cache: &Cache) {
        let ns = b"proj".to_vec();
        assert!(cache.load_analysis("lint@1", &ns).unwrap().is_empty());
        cache
            .store_analysis(
                "lint@1",
                &ns,
                &[rec(b"a.py", b"ok"), rec(b"b/\xff.py", b"\0bin")],
            )
            .unwrap();
        cache
            .store_analysis("lint@2", &ns, &[rec(b"a.py", b"other")])
            .unwrap();
        let got = cache.load_analysis("lint@1", &ns).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[&b"a.py".to_vec()], rec(b"a.py", b"ok"));
        assert_eq!(got[&b"b/\xff.py".to_vec()].value, b"\0bin");
        // Replace one, remove one.
        cache
            .store_analysis("lint@1", &ns, &[rec(b"a.py", b"new")])
            .unwrap();
        cache
            .remove_analysis("lint@1", &ns, &[b"b/\xff.py".to_vec()])
            .unwrap();
        let got = cache.load_analysis("lint@1", &ns).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[&b"a.py".to_vec()].value, b"new");
        assert!(
            cache
                .load_analysis("lint@1", b"elsewhere")
                .unwrap()
                .is_empty()
        );
        cache.record_analysis_lookups(3, 1);
        let s = cache.stats().unwrap();
        assert_eq!(s.handle.analysis_hits, 3);
        assert_eq!(s.handle.analysis_misses, 1);
        assert_eq!(s.analysis_entries, 2);
        cache.clear().unwrap();
        assert!(cache.load_analysis("lint@1", &ns).unwrap().is_empty());
    }

    #[test]
    fn memory_only_round_trip() {
        round_trip(&Cache::open(CacheOptions::default()).unwrap());
    }

    #[test]
    fn persistent_round_trip_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CacheOptions {
            dir: Some(dir.path().join("c")),
            ..CacheOptions::default()
        };
        round_trip(&Cache::open(opts.clone()).unwrap());
        {
            let c = Cache::open(opts.clone()).unwrap();
            c.store_analysis("x", b".", &[rec(b"f", b"v")]).unwrap();
        }
        let c = Cache::open(opts).unwrap();
        assert_eq!(c.load_analysis("x", b".").unwrap().len(), 1);
    }

    #[test]
    fn expired_results_are_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(CacheOptions {
            dir: Some(dir.path().to_path_buf()),
            persistent_ttl_s: 1e-9,
            ..CacheOptions::default()
        })
        .unwrap();
        c.store_analysis("x", b".", &[rec(b"f", b"v")]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(c.load_analysis("x", b".").unwrap().is_empty());
    }

    #[test]
    fn namespace_is_relative_to_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let c = Cache::open(CacheOptions {
            root: Some(root.clone()),
            ..CacheOptions::default()
        })
        .unwrap();
        assert_eq!(c.analysis_namespace(&root.join("sub")), b"sub");
        assert_eq!(c.analysis_namespace(&root), b".");
        let plain = Cache::open(CacheOptions::default()).unwrap();
        assert_eq!(
            plain.analysis_namespace(&root.join("sub")),
            root.join("sub").as_os_str().as_bytes()
        );
    }
}
