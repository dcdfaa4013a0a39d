//! Per-file analysis results for `wtfperf_analyze` (see
//! `notes/ANALYZE_INTERFACE.md`): loaded in one pass, stored in batches of
//! one transaction, keyed by (analyzer id, namespace, relative path).

use super::engine::Cache;
use super::paths::normalize;
use super::stamp::{FileStamp, now_ns};
use super::stats::Counters;
use crate::error::Result;
use rusqlite::{OptionalExtension, params};
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

/// First bytes of a snapshot (format version 1).
const SNAPSHOT_MAGIC: &[u8; 8] = b"WTFSNAP1";

/// Bytes of a snapshot record's fixed part: path length, value length
/// (u32), expiry (i64), stamp.
const SNAPSHOT_FIXED: usize = 4 + 4 + 8 + STAMP_LEN;

/// Builds one blob holding every record of a set, in order: the magic, a
/// record count (u64), then per record its path and value lengths (u32),
/// expiry (i64, all little-endian), stored stamp, path and value.
pub(crate) struct SnapshotWriter {
    out: Vec<u8>,
    count: u64,
}

impl SnapshotWriter {
    pub(crate) fn new() -> Self {
        let mut out = Vec::with_capacity(1 << 16);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&0u64.to_le_bytes());
        SnapshotWriter { out, count: 0 }
    }

    /// Adds a record (`stamp` in its stored form, [`STAMP_LEN`] bytes).
    pub(crate) fn push(&mut self, path: &[u8], stamp: &[u8], value: &[u8], expires_ns: i64) {
        let (Ok(path_len), Ok(value_len)) = (u32::try_from(path.len()), u32::try_from(value.len()))
        else {
            return; // not representable: left out, the file is analyzed again
        };
        if stamp.len() != STAMP_LEN {
            return;
        }
        self.out.extend_from_slice(&path_len.to_le_bytes());
        self.out.extend_from_slice(&value_len.to_le_bytes());
        self.out.extend_from_slice(&expires_ns.to_le_bytes());
        self.out.extend_from_slice(stamp);
        self.out.extend_from_slice(path);
        self.out.extend_from_slice(value);
        self.count += 1;
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out[8..16].copy_from_slice(&self.count.to_le_bytes());
        self.out
    }
}

/// The records of a snapshot not expired at `now` (`None`: malformed).
pub(crate) fn decode_snapshot(data: &[u8], now: i64) -> Option<AnalysisIndex> {
    let rest = data.strip_prefix(SNAPSHOT_MAGIC)?;
    let (count, mut rest) = rest.split_at_checked(8)?;
    let count = usize::try_from(u64::from_le_bytes(count.try_into().ok()?)).ok()?;
    if count > rest.len() / SNAPSHOT_FIXED {
        return None;
    }
    let mut index = AnalysisIndex::with_capacity(count, rest.len());
    for _ in 0..count {
        let (fixed, tail) = rest.split_at_checked(SNAPSHOT_FIXED)?;
        let path_len = u32::from_le_bytes(fixed[0..4].try_into().ok()?) as usize;
        let value_len = u32::from_le_bytes(fixed[4..8].try_into().ok()?) as usize;
        let expires = i64::from_le_bytes(fixed[8..16].try_into().ok()?);
        let stamp = decode_stamp(&fixed[16..])?;
        let (path, tail) = tail.split_at_checked(path_len)?;
        let (value, tail) = tail.split_at_checked(value_len)?;
        if expires > now {
            index.push(path, stamp, value);
        }
        rest = tail;
    }
    rest.is_empty().then_some(index)
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
    fn with_capacity(records: usize, bytes: usize) -> Self {
        let mut heads = HashMap::default();
        heads.reserve(records);
        AnalysisIndex {
            bytes: Vec::with_capacity(bytes),
            slots: Vec::with_capacity(records),
            heads,
        }
    }

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

/// The snapshot of set (?1, ?2), when it shows the set's current generation.
const CURRENT_SNAPSHOT: &str = "FROM analysis_snapshot s JOIN analysis_generation g
      ON g.analyzer_id = s.analyzer_id AND g.namespace = s.namespace
    WHERE s.analyzer_id = ?1 AND s.namespace = ?2 AND s.generation = g.generation";

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
    let mut out = AnalysisIndex::default();
    while let Some(r) = rows.next()? {
        // A malformed stamp is no record: the file is analyzed again.
        let Some(stamp) = decode_stamp(r.get_ref(1)?.as_bytes()?) else {
            continue;
        };
        out.push(r.get_ref(0)?.as_bytes()?, stamp, r.get_ref(2)?.as_bytes()?);
    }
    Ok(out)
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
            // The snapshot, when it shows the set's current generation.
            let snapshot = c
                .prepare_cached(&format!("SELECT s.data {CURRENT_SNAPSHOT}"))?
                .query_row(params![analyzer_id, namespace], |r| {
                    Ok(decode_snapshot(r.get_ref(0)?.as_bytes()?, now))
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
                .exists(params![analyzer_id, namespace])
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
                     WHERE analyzer_id = ?1 AND namespace = ?2",
                )?
                .query_row(params![analyzer_id, namespace], |r| r.get(0))
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
            let mut snapshot = SnapshotWriter::new();
            while let Some(r) = rows.next()? {
                snapshot.push(
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
    fn snapshots_round_trip_drop_expired_records_and_refuse_damage() {
        let stamp = encode_stamp(&rec(b"", b"").stamp);
        let mut w = SnapshotWriter::new();
        w.push(b"a.py", &stamp, b"one", 100);
        w.push(b"b/\xff.c", &stamp, b"", 50);
        w.push(b"", &stamp, b"\0two", i64::MAX);
        w.push(b"bad-stamp", &stamp[1..], b"", i64::MAX);
        let data = w.finish();
        let index = decode_snapshot(&data, 60).unwrap();
        assert_eq!(index.len(), 2, "the record expired at 50 is left out");
        assert_eq!(index.get(b"a.py").unwrap().value, b"one");
        assert_eq!(*index.get(b"a.py").unwrap().stamp, rec(b"", b"").stamp);
        assert_eq!(index.get(b"").unwrap().value, b"\0two");
        assert!(index.get(b"b/\xff.c").is_none());
        assert_eq!(decode_snapshot(&data, 0).unwrap().len(), 3);
        for cut in [0, 7, 8, 15, 16, 40, data.len() - 1] {
            assert!(decode_snapshot(&data[..cut], 0).is_none(), "cut at {cut}");
        }
        let mut longer = data.clone();
        longer.push(0);
        assert!(decode_snapshot(&longer, 0).is_none());
        let mut huge = data.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_snapshot(&huge, 0).is_none());
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
        let mut paths: Vec<&[u8]> = index.iter().map(|r| r.rel_path).collect();
        paths.sort();
        assert_eq!(paths, [&b"f2"[..], b"f3"]);
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
