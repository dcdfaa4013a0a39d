//! Per-file analysis results for `wtfperf_analyze` (see
//! `notes/ANALYZE_INTERFACE.md`): loaded in one pass, stored in batches of
//! one transaction, keyed by (analyzer id, namespace, relative path).

use super::engine::Cache;
use super::paths::normalize;
use super::snapshot;
use super::stamp::{FileStamp, now_ns};
use super::stats::Counters;
use crate::error::Result;
use rusqlite::{OptionalExtension, params};
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
pub(crate) const STAMP_LEN: usize = 48;

/// The stored form of a stamp: size, mtime_ns, inode, hash, recorded_ns,
/// integers big-endian (what schema migration 4 builds from the old columns).
pub(crate) fn encode_stamp(s: &FileStamp) -> [u8; STAMP_LEN] {
    let mut out = [0; STAMP_LEN];
    out[0..8].copy_from_slice(&s.size.to_be_bytes());
    out[8..16].copy_from_slice(&s.mtime_ns.to_be_bytes());
    out[16..24].copy_from_slice(&s.inode.to_be_bytes());
    out[24..40].copy_from_slice(&s.hash);
    out[40..48].copy_from_slice(&s.recorded_ns.to_be_bytes());
    out
}

/// A stamp from its stored form (`None` unless [`STAMP_LEN`] bytes).
pub(crate) fn decode_stamp(b: &[u8]) -> Option<FileStamp> {
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

pub use super::snapshot::{AnalysisIndex, IndexBuilder, KnownRecord};

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

/// The snapshot of set (?1, ?2), when it shows the set's current generation.
/// (?3: the magic of the current format; a blob of an older one is not current.)
const CURRENT_SNAPSHOT: &str = "FROM analysis_snapshot s JOIN analysis_generation g
      ON g.analyzer_id = s.analyzer_id AND g.namespace = s.namespace
    WHERE s.analyzer_id = ?1 AND s.namespace = ?2 AND s.generation = g.generation
      AND substr(s.data, 1, length(?3)) = ?3";

/// Every record of a set, one row at a time (no current snapshot).
fn read_rows(
    c: &rusqlite::Connection,
    analyzer_id: &str,
    namespace: &[u8],
    now: i64,
) -> rusqlite::Result<AnalysisIndex> {
    let mut st = c.prepare_cached(
        "SELECT rel_path, stamp, value FROM analysis
         WHERE analyzer_id = ?1 AND namespace = ?2 AND expires_ns > ?3",
    )?;
    let mut rows = st.query(params![analyzer_id, namespace, now])?;
    let mut out = IndexBuilder::new();
    while let Some(r) = rows.next()? {
        // A malformed stamp is no record: the file is analyzed again.
        out.push_stored(
            r.get_ref(0)?.as_bytes()?,
            r.get_ref(1)?.as_bytes()?,
            r.get_ref(2)?.as_bytes()?,
            i64::MAX,
        );
    }
    Ok(AnalysisIndex::open(out.finish(), now).unwrap_or_default())
}

/// Marks the set's results as changed (any snapshot of it is now stale).
fn bump_generation(
    c: &rusqlite::Connection,
    analyzer_id: &str,
    namespace: &[u8],
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO analysis_generation(analyzer_id, namespace, generation) VALUES (?1, ?2, 1)
         ON CONFLICT(analyzer_id, namespace) DO UPDATE SET generation = generation + 1",
    )?
    .execute(params![analyzer_id, namespace])?;
    Ok(())
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
        let index = self.load_analysis_index(analyzer_id, namespace)?;
        let mut out = HashMap::with_capacity(index.len());
        for r in index.iter() {
            let record = AnalysisRecord {
                rel_path: r.rel_path(),
                stamp: r.stamp,
                value: r.value.to_vec(),
            };
            out.insert(record.rel_path.clone(), record);
        }
        Ok(out)
    }

    /// What [`Cache::load_analysis`] loads, in the compact form `analyze`
    /// uses (the same one pass over the table).
    pub fn load_analysis_index(
        &self,
        analyzer_id: &str,
        namespace: &[u8],
    ) -> Result<AnalysisIndex> {
        let Some(store) = &self.store else {
            let map = self.analysis_mem.lock();
            let slot = map.get(&(analyzer_id.to_string(), namespace.to_vec()));
            return Ok(AnalysisIndex::from_records(
                slot.into_iter().flat_map(|m| m.values()),
            ));
        };
        let now = now_ns();
        store.read(|c| {
            // The snapshot, when it shows the set's current generation.
            let snapshot = c
                .prepare_cached(&format!("SELECT s.data {CURRENT_SNAPSHOT}"))?
                .query_row(params![analyzer_id, namespace, snapshot::magic()], |r| {
                    Ok(AnalysisIndex::open(r.get_ref(0)?.as_bytes()?.to_vec(), now))
                })
                .optional()?
                .flatten();
            match snapshot {
                Some(index) => Ok(index),
                None => read_rows(c, analyzer_id, namespace, now),
            }
        })
    }

    /// Whether a snapshot of the set shows its current generation.
    pub fn analysis_snapshot_is_current(
        &self,
        analyzer_id: &str,
        namespace: &[u8],
    ) -> Result<bool> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        store.read(|c| {
            c.prepare_cached(&format!("SELECT 1 {CURRENT_SNAPSHOT}"))?
                .exists(params![analyzer_id, namespace, snapshot::magic()])
        })
    }

    /// Writes a snapshot of the set's results as they are now (read in the
    /// same transaction, so it shows exactly the generation it is tagged
    /// with), unless one already shows the current generation.
    pub fn save_analysis_snapshot(&self, analyzer_id: &str, namespace: &[u8]) -> Result<()> {
        if self.store.is_none() {
            return Ok(());
        }
        self.write(false, |c| {
            let generation: i64 = c
                .prepare_cached(
                    "SELECT generation FROM analysis_generation
                     WHERE analyzer_id = ?1 AND namespace = ?2",
                )?
                .query_row(params![analyzer_id, namespace], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let current: Option<i64> = c
                .prepare_cached(
                    "SELECT generation FROM analysis_snapshot
                     WHERE analyzer_id = ?1 AND namespace = ?2
                       AND substr(data, 1, length(?3)) = ?3",
                )?
                .query_row(params![analyzer_id, namespace, snapshot::magic()], |r| {
                    r.get(0)
                })
                .optional()?;
            if current == Some(generation) {
                return Ok(());
            }
            if generation == 0 {
                // Rows stored before generations existed: give them one.
                c.prepare_cached(
                    "INSERT INTO analysis_generation(analyzer_id, namespace, generation)
                     VALUES (?1, ?2, 1)",
                )?
                .execute(params![analyzer_id, namespace])?;
            }
            let mut st = c.prepare_cached(
                "SELECT rel_path, stamp, value, expires_ns FROM analysis
                 WHERE analyzer_id = ?1 AND namespace = ?2",
            )?;
            let mut rows = st.query(params![analyzer_id, namespace])?;
            let mut snapshot = IndexBuilder::new();
            while let Some(r) = rows.next()? {
                snapshot.push_stored(
                    r.get_ref(0)?.as_bytes()?,
                    r.get_ref(1)?.as_bytes()?,
                    r.get_ref(2)?.as_bytes()?,
                    r.get(3)?,
                );
            }
            let data = snapshot.finish();
            c.prepare_cached(
                "INSERT OR REPLACE INTO analysis_snapshot(analyzer_id, namespace, generation, data)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![analyzer_id, namespace, generation.max(1), data])?;
            Ok(())
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
            bump_generation(c, analyzer_id, namespace)
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
            bump_generation(c, analyzer_id, namespace)
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
        let index = cache.load_analysis_index("lint@1", &ns).unwrap();
        assert_eq!(index.len(), 2);
        let a = index.get(b"a.py").unwrap();
        assert_eq!((a.rel_path(), a.value), (b"a.py".to_vec(), &b"ok"[..]));
        assert_eq!(a.stamp, rec(b"a.py", b"ok").stamp);
        assert_eq!(index.get(b"b/\xff.py").unwrap().value, b"\0bin");
        assert!(index.get(b"a.p").is_none());
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
    fn snapshot_is_used_only_while_it_shows_the_current_generation() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CacheOptions {
            dir: Some(dir.path().join("c")),
            ..CacheOptions::default()
        };
        let a = Cache::open(opts.clone()).unwrap();
        let b = Cache::open(opts).unwrap();
        let ns = b"proj";
        assert!(!a.analysis_snapshot_is_current("x", ns).unwrap());
        a.store_analysis("x", ns, &[rec(b"f1", b"v1"), rec(b"f2", b"v2")])
            .unwrap();
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(a.analysis_snapshot_is_current("x", ns).unwrap());
        assert!(b.analysis_snapshot_is_current("x", ns).unwrap());
        assert_eq!(b.load_analysis_index("x", ns).unwrap().len(), 2);
        // Another handle (process) writes: the snapshot is stale at once,
        // and the load reads the rows, seeing the write.
        b.store_analysis("x", ns, &[rec(b"f3", b"v3")]).unwrap();
        b.remove_analysis("x", ns, &[b"f1".to_vec()]).unwrap();
        assert!(!a.analysis_snapshot_is_current("x", ns).unwrap());
        let index = a.load_analysis_index("x", ns).unwrap();
        let mut paths: Vec<Vec<u8>> = index.iter().map(|r| r.rel_path()).collect();
        paths.sort();
        assert_eq!(paths, [b"f2".to_vec(), b"f3".to_vec()]);
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(a.analysis_snapshot_is_current("x", ns).unwrap());
        let index = b.load_analysis_index("x", ns).unwrap();
        assert_eq!(index.get(b"f3").unwrap().value, b"v3");
        assert!(index.get(b"f1").is_none());
        // Other sets are apart; clear drops snapshots too.
        assert!(a.load_analysis_index("y", ns).unwrap().is_empty());
        a.clear().unwrap();
        assert!(!a.analysis_snapshot_is_current("x", ns).unwrap());
        assert!(b.load_analysis_index("x", ns).unwrap().is_empty());
    }

    #[test]
    fn stamps_round_trip_through_their_stored_form() {
        let s = FileStamp {
            size: u64::MAX - 1,
            mtime_ns: -3,
            inode: 1 << 40,
            hash: [9; 16],
            recorded_ns: i64::MIN + 7,
        };
        assert_eq!(decode_stamp(&encode_stamp(&s)), Some(s));
        assert_eq!(decode_stamp(&encode_stamp(&s)[..47]), None);
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
