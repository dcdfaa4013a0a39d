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
use std::hash::BuildHasherDefault;
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
const STAMP_LEN: usize = 48;

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

/// Stored results of one analyzer under one namespace, as `analyze` looks
/// them up: every path and value in one buffer, stamps in one array, and a
/// table from a 64-bit hash of the path to its slot (three allocations in
/// all, instead of three per record; no SipHash per path).
#[derive(Default)]
pub struct AnalysisIndex {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    heads: HashMap<u64, u32, BuildHasherDefault<HashIsKey>>,
}

struct Slot {
    stamp: FileStamp,
    /// Offset of the path in `bytes`; the value follows it.
    start: usize,
    path_len: u32,
    value_len: u32,
    /// The next slot with the same path hash (`u32::MAX`: none).
    next: u32,
}

/// One record of an [`AnalysisIndex`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRecord<'a> {
    pub rel_path: &'a [u8],
    pub stamp: &'a FileStamp,
    pub value: &'a [u8],
}

/// The keys of [`AnalysisIndex::heads`] are hashes already.
#[derive(Default)]
pub struct HashIsKey(u64);

impl std::hash::Hasher for HashIsKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn path_hash(path: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(path)
}

impl AnalysisIndex {
    /// Adds a record (a path added twice: the later one is found).
    pub fn push(&mut self, rel_path: &[u8], stamp: FileStamp, value: &[u8]) {
        let (Ok(path_len), Ok(value_len), Ok(index)) = (
            u32::try_from(rel_path.len()),
            u32::try_from(value.len()),
            u32::try_from(self.slots.len()),
        ) else {
            return; // not representable: treated as not stored
        };
        let start = self.bytes.len();
        self.bytes.extend_from_slice(rel_path);
        self.bytes.extend_from_slice(value);
        let next = self
            .heads
            .insert(path_hash(rel_path), index)
            .unwrap_or(u32::MAX);
        self.slots.push(Slot {
            stamp,
            start,
            path_len,
            value_len,
            next,
        });
    }

    /// An index of `records` (tests, memory-only caches).
    pub fn from_records<'r>(records: impl IntoIterator<Item = &'r AnalysisRecord>) -> Self {
        let mut index = AnalysisIndex::default();
        for r in records {
            index.push(&r.rel_path, r.stamp, &r.value);
        }
        index
    }

    fn record<'a>(&'a self, slot: &'a Slot) -> KnownRecord<'a> {
        let path_end = slot.start + slot.path_len as usize;
        KnownRecord {
            rel_path: &self.bytes[slot.start..path_end],
            stamp: &slot.stamp,
            value: &self.bytes[path_end..path_end + slot.value_len as usize],
        }
    }

    /// The record of `rel_path`, if any.
    pub fn get(&self, rel_path: &[u8]) -> Option<KnownRecord<'_>> {
        self.get_slot(rel_path).map(|(_, record)| record)
    }

    /// The record of `rel_path` with its position in [`iter`](Self::iter)
    /// order (`0..len()`), so a caller can mark which records it met.
    pub fn get_slot(&self, rel_path: &[u8]) -> Option<(usize, KnownRecord<'_>)> {
        let mut at = *self.heads.get(&path_hash(rel_path))?;
        while let Some(slot) = self.slots.get(at as usize) {
            let record = self.record(slot);
            if record.rel_path == rel_path {
                return Some((at as usize, record));
            }
            at = slot.next;
        }
        None
    }

    /// Every record (a path added twice appears twice).
    pub fn iter(&self) -> impl Iterator<Item = KnownRecord<'_>> {
        self.slots.iter().map(|s| self.record(s))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
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
        let index = self.load_analysis_index(analyzer_id, namespace)?;
        let mut out = HashMap::with_capacity(index.len());
        for r in index.iter() {
            let record = AnalysisRecord {
                rel_path: r.rel_path.to_vec(),
                stamp: *r.stamp,
                value: r.value.to_vec(),
            };
            out.insert(r.rel_path.to_vec(), record);
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
            let mut st = c.prepare_cached(
                "SELECT rel_path, stamp, value FROM analysis
                 WHERE analyzer_id = ?1 AND namespace = ?2 AND expires_ns > ?3",
            )?;
            let mut rows = st.query(params![analyzer_id, namespace, now])?;
            let mut out = AnalysisIndex::default();
            while let Some(r) = rows.next()? {
                // A malformed stamp is no record: the file is analyzed again.
                let Some(stamp) = decode_stamp(r.get_ref(1)?.as_bytes()?) else {
                    continue;
                };
                out.push(r.get_ref(0)?.as_bytes()?, stamp, r.get_ref(2)?.as_bytes()?);
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
        let index = cache.load_analysis_index("lint@1", &ns).unwrap();
        assert_eq!(index.len(), 2);
        let a = index.get(b"a.py").unwrap();
        assert_eq!((a.rel_path, a.value), (&b"a.py"[..], &b"ok"[..]));
        assert_eq!(*a.stamp, rec(b"a.py", b"ok").stamp);
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
    fn index_finds_every_path_and_the_latest_of_a_duplicate() {
        let mut index = AnalysisIndex::default();
        assert!(index.is_empty() && index.get(b"").is_none());
        let paths: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("d{}/f{i}.c", i % 7).into_bytes())
            .collect();
        for (i, p) in paths.iter().enumerate() {
            index.push(p, rec(p, b"").stamp, &i.to_le_bytes());
        }
        index.push(b"", rec(b"", b"").stamp, b"empty");
        index.push(b"d0/f0.c", rec(b"", b"").stamp, b"again");
        for (i, p) in paths.iter().enumerate().skip(1) {
            let r = index.get(p).unwrap();
            assert_eq!((r.rel_path, r.value), (&p[..], &i.to_le_bytes()[..]));
        }
        assert_eq!(index.get(b"d0/f0.c").unwrap().value, b"again");
        assert_eq!(index.get(b"").unwrap().value, b"empty");
        assert!(index.get(b"d0/f5000.c").is_none());
        assert_eq!(index.len(), 5002);
        assert_eq!(index.iter().count(), 5002);
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
