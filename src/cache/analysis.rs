//! Per-file analysis results for `wtfperf_analyze`: stored in batches of
//! one transaction, keyed by (analyzer id, namespace, relative path), and
//! loaded by a warm run from one snapshot file ([`super::snapshot`]) when
//! it shows the set's current generation, else in one pass over the rows.

use super::engine::Cache;
use super::paths::normalize;
use super::stamp::{CTIME_UNKNOWN, FileStamp, now_ns};
use super::stats::Counters;
use crate::error::Result;
use crate::scan::Language;
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
    /// The file's language when it was analyzed (from its name or its `#!`
    /// line): what a cache hit reports, without reading the file.
    pub language: Option<Language>,
}

type Records = HashMap<Vec<u8>, AnalysisRecord>;

/// Bytes of a stored stamp (without the language byte and the ctime that
/// follow it).
pub(crate) const STAMP_LEN: usize = 48;

/// Bytes of a stamp stored with its language but without its ctime.
const NO_CTIME_LEN: usize = STAMP_LEN + 1;

/// Bytes of the stored form [`encode_stamp`] writes.
pub(crate) const STORED_LEN: usize = NO_CTIME_LEN + 8;

/// The stored form of a stamp and a language: size, mtime_ns, inode, hash,
/// recorded_ns, integers big-endian (what schema migration 4 builds from
/// the old columns), then the language's code (0: none), then ctime_ns
/// (big-endian). Older versions stored the first 48 bytes (before the
/// language was stored: see [`stored_language`]) or 49 (before the ctime
/// was): such a stamp has no ctime ([`CTIME_UNKNOWN`]), so its file is
/// re-hashed once and the record refreshed.
pub(crate) fn encode_stamp(s: &FileStamp, language: Option<Language>) -> [u8; STORED_LEN] {
    let mut out = [0; STORED_LEN];
    out[0..8].copy_from_slice(&s.size.to_be_bytes());
    out[8..16].copy_from_slice(&s.mtime_ns.to_be_bytes());
    out[16..24].copy_from_slice(&s.inode.to_be_bytes());
    out[24..40].copy_from_slice(&s.hash);
    out[40..48].copy_from_slice(&s.recorded_ns.to_be_bytes());
    out[STAMP_LEN] = language.map_or(0, Language::code);
    out[NO_CTIME_LEN..].copy_from_slice(&s.ctime_ns.to_be_bytes());
    out
}

/// A stamp from its stored form (`None` unless [`STAMP_LEN`] bytes, those
/// and a language, or those, a language and a ctime).
pub(crate) fn decode_stamp(b: &[u8]) -> Option<FileStamp> {
    let ctime_ns = match b.len() {
        STAMP_LEN | NO_CTIME_LEN => CTIME_UNKNOWN,
        STORED_LEN => i64::from_be_bytes(b[NO_CTIME_LEN..].try_into().ok()?),
        _ => return None,
    };
    let b: &[u8; STAMP_LEN] = b.get(..STAMP_LEN)?.try_into().ok()?;
    let word = |i: usize| -> [u8; 8] { b[i..i + 8].try_into().expect("8 bytes") };
    Some(FileStamp {
        size: u64::from_be_bytes(word(0)),
        mtime_ns: i64::from_be_bytes(word(8)),
        inode: u64::from_be_bytes(word(16)),
        hash: b[24..40].try_into().expect("16 bytes"),
        recorded_ns: i64::from_be_bytes(word(40)),
        ctime_ns,
    })
}

/// The language stored with a stamp of the file `name`. A stamp stored
/// without one (by a version before it was) gives the language of the name:
/// what was reported then.
pub(crate) fn stored_language(stamp: &[u8], name: &[u8]) -> Option<Language> {
    match stamp.get(STAMP_LEN) {
        Some(&code) => Language::from_code(code),
        None => crate::scan::language::from_name(std::ffi::OsStr::from_bytes(name)),
    }
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

/// A snapshot row's data when the snapshot is a file: this magic, then the
/// file's token (16 bytes; the file is `snapshots/<token hex>.snap` in the
/// cache directory, and its header carries the same token). Files are
/// written once and never changed (a newer snapshot is a new file), so a
/// reader that opened one reads it whole whatever writers do.
const POINTER_MAGIC: &[u8; 8] = b"WTFSNAPF";

/// Snapshot files nobody points to are deleted once this old (a writer may
/// be between writing its file and committing the row that names it).
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The token of the set's snapshot file, when a row names one showing the
/// set's current generation.
fn current_token(
    c: &rusqlite::Connection,
    analyzer_id: &str,
    namespace: &[u8],
) -> rusqlite::Result<Option<[u8; 16]>> {
    c.prepare_cached(&format!("SELECT s.data {CURRENT_SNAPSHOT}"))?
        .query_row(params![analyzer_id, namespace, &POINTER_MAGIC[..]], |r| {
            Ok(pointer_token(r.get_ref(0)?.as_bytes()?))
        })
        .optional()
        .map(Option::flatten)
}

fn pointer_token(data: &[u8]) -> Option<[u8; 16]> {
    data.strip_prefix(POINTER_MAGIC)?.try_into().ok()
}

/// Writes `data` to `file`, a new file (mode 0600) in `dir` (created,
/// mode 0700, when missing).
/// Writes `snapshot` to a new file (written as it is laid out: no blob in
/// memory), its checksum last.
fn write_new_file(
    dir: &Path,
    file: &Path,
    snapshot: IndexBuilder,
    token: [u8; 16],
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    let sum = snapshot.write_to(token, std::io::BufWriter::with_capacity(1 << 16, &f))?;
    f.write_all_at(&sum, 8)
}

fn snapshot_file(dir: &Path, token: &[u8; 16]) -> std::path::PathBuf {
    let mut name = String::with_capacity(37);
    for b in token {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(".snap");
    dir.join(name)
}

/// A token no other snapshot file has (not a secret: unique is enough).
fn new_token() -> [u8; 16] {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut seed = Vec::with_capacity(40);
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(&now_ns().to_le_bytes());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    seed.extend_from_slice(&n.to_le_bytes());
    seed.extend_from_slice(&(&seed as *const Vec<u8> as usize).to_le_bytes());
    let t = std::time::Instant::now();
    seed.extend_from_slice(format!("{t:?}{:?}", std::thread::current().id()).as_bytes());
    xxhash_rust::xxh3::xxh3_128(&seed).to_le_bytes()
}

/// The records of a set that expire after `after`, one row at a time,
/// with their expiry (a malformed stamp is no record: the file is analyzed
/// again).
fn rows_of(
    c: &rusqlite::Connection,
    analyzer_id: &str,
    namespace: &[u8],
    after: i64,
) -> rusqlite::Result<IndexBuilder> {
    let mut st = c.prepare_cached(
        "SELECT rel_path, stamp, value, expires_ns FROM analysis
         WHERE analyzer_id = ?1 AND namespace = ?2 AND expires_ns > ?3",
    )?;
    let mut rows = st.query(params![analyzer_id, namespace, after])?;
    let mut out = IndexBuilder::new();
    while let Some(r) = rows.next()? {
        out.push_stored(
            r.get_ref(0)?.as_bytes()?,
            r.get_ref(1)?.as_bytes()?,
            r.get_ref(2)?.as_bytes()?,
            r.get(3)?,
        );
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
                rel_path: r.rel_path(),
                stamp: r.stamp,
                value: r.value.to_vec(),
                language: r.language,
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
        // The snapshot file, when a row names one showing the set's current
        // generation (read outside the database's lock).
        let pointer = store.read(|c| current_token(c, analyzer_id, namespace))?;
        if let (Some(token), Some(dir)) = (pointer, self.snapshot_dir()) {
            let file = snapshot_file(&dir, &token);
            let index = AnalysisIndex::read(&file, now).filter(|index| index.token() == token);
            if let Some(index) = index {
                return Ok(index);
            }
            // Damaged, or of another format (written by another version):
            // removed, so that the next save writes it again (a save keeps
            // a current snapshot whose file is there).
            let _ = std::fs::remove_file(&file);
        }
        // No current snapshot: one pass over the rows.
        let rows = store.read(|c| rows_of(c, analyzer_id, namespace, now))?;
        Ok(AnalysisIndex::open(rows.finish(), now).unwrap_or_default())
    }

    /// Where snapshot files live (persistent caches).
    fn snapshot_dir(&self) -> Option<std::path::PathBuf> {
        self.opts.dir.as_ref().map(|d| d.join("snapshots"))
    }

    /// Whether a snapshot file of the set shows its current generation.
    pub fn analysis_snapshot_is_current(
        &self,
        analyzer_id: &str,
        namespace: &[u8],
    ) -> Result<bool> {
        let (Some(store), Some(dir)) = (&self.store, self.snapshot_dir()) else {
            return Ok(false);
        };
        let token = store.read(|c| current_token(c, analyzer_id, namespace))?;
        Ok(token.is_some_and(|t| snapshot_file(&dir, &t).is_file()))
    }

    /// Writes a snapshot of the set's results as they are now (read in the
    /// same transaction, so it shows exactly the generation it is tagged
    /// with), unless one already shows the current generation.
    pub fn save_analysis_snapshot(&self, analyzer_id: &str, namespace: &[u8]) -> Result<()> {
        let Some(dir) = self.snapshot_dir().filter(|_| self.store.is_some()) else {
            return Ok(());
        };
        let token = new_token();
        let file = snapshot_file(&dir, &token);
        let mut replaced = None;
        let saved = self.write(false, |c| {
            let generation: i64 = c
                .prepare_cached(
                    "SELECT generation FROM analysis_generation
                     WHERE analyzer_id = ?1 AND namespace = ?2",
                )?
                .query_row(params![analyzer_id, namespace], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let current: Option<(i64, Vec<u8>)> = c
                .prepare_cached(
                    "SELECT generation, data FROM analysis_snapshot
                     WHERE analyzer_id = ?1 AND namespace = ?2",
                )?
                .query_row(params![analyzer_id, namespace], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let old = current.as_ref().and_then(|(_, data)| pointer_token(data));
            let shown = current.as_ref().map(|c| c.0) == Some(generation);
            if shown && old.is_some_and(|t| snapshot_file(&dir, &t).is_file()) {
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
            // The rows are read once, in key order: a small page cache does.
            // The connection's own (filled by the run's writes) is let go
            // meanwhile: a save of a large set held both at once, on top of
            // the snapshot being built (the peak of a cold analyze).
            c.pragma_update(None, "cache_size", -2048)?;
            c.execute_batch("PRAGMA shrink_memory")?;
            let written = rows_of(c, analyzer_id, namespace, i64::MIN).and_then(|snapshot| {
                // The file first, then the row naming it: a reader never
                // finds a row whose file is still being written.
                write_new_file(&dir, &file, snapshot, token)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
            });
            c.pragma_update(None, "cache_size", -super::store::PAGE_CACHE_KIB)?;
            written?;
            let mut pointer = POINTER_MAGIC.to_vec();
            pointer.extend_from_slice(&token);
            c.prepare_cached(
                "INSERT OR REPLACE INTO analysis_snapshot(analyzer_id, namespace, generation, data)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![analyzer_id, namespace, generation.max(1), pointer])?;
            replaced = old;
            Ok(())
        });
        match saved {
            Ok(()) => {
                if let Some(old) = replaced {
                    let _ = std::fs::remove_file(snapshot_file(&dir, &old));
                }
                self.remove_orphan_snapshots(&dir);
                Ok(())
            }
            Err(err) => {
                let _ = std::fs::remove_file(&file);
                Err(err)
            }
        }
    }

    /// Deletes snapshot files no row names (left by a crash between the
    /// file and its row, a clear, or a replaced database) once they are
    /// [`ORPHAN_AGE`] old. Best effort: errors are ignored.
    fn remove_orphan_snapshots(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let Some(store) = &self.store else { return };
        let named: std::collections::HashSet<[u8; 16]> = match store.read(|c| {
            let mut st = c.prepare_cached("SELECT data FROM analysis_snapshot")?;
            let rows = st.query_map([], |r| Ok(pointer_token(r.get_ref(0)?.as_bytes()?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        }) {
            Ok(tokens) => tokens.into_iter().flatten().collect(),
            Err(_) => return,
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_named = named.iter().any(|t| snapshot_file(dir, t) == path);
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= ORPHAN_AGE);
            if !is_named && old {
                let _ = std::fs::remove_file(&path);
            }
        }
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
                    &encode_stamp(&r.stamp, r.language)[..],
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
    use std::os::unix::ffi::OsStringExt;

    fn rec(path: &[u8], value: &[u8]) -> AnalysisRecord {
        AnalysisRecord {
            rel_path: path.to_vec(),
            stamp: FileStamp {
                size: 1,
                mtime_ns: 2,
                inode: 3,
                hash: [4; 16],
                recorded_ns: 5,
                ctime_ns: 6,
            },
            value: value.to_vec(),
            language: None,
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
        // The save read the rows with a small page cache: the connection's
        // own is back.
        let pages = a.store.as_ref().unwrap().pragma("cache_size");
        assert_eq!(pages, -crate::cache::store::PAGE_CACHE_KIB);
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

    fn snapshot_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("snapshots"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    #[test]
    fn snapshot_files_are_replaced_checked_and_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("c");
        let opts = CacheOptions {
            dir: Some(root.clone()),
            ..CacheOptions::default()
        };
        let a = Cache::open(opts.clone()).unwrap();
        let ns = b"proj";
        a.store_analysis("x", ns, &[rec(b"d/f1", b"v1"), rec(b"f2", b"v2")])
            .unwrap();
        assert!(!a.load_analysis_index("x", ns).unwrap().is_snapshot());
        a.save_analysis_snapshot("x", ns).unwrap();
        let first = snapshot_files(&root);
        assert_eq!(first.len(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("snapshots")), 0o700);
        assert_eq!(mode(&first[0]), 0o600);
        let index = a.load_analysis_index("x", ns).unwrap();
        assert!(index.is_snapshot());
        assert_eq!(index.get(b"d/f1").unwrap().value, b"v1");
        // Saving again with nothing changed writes nothing.
        a.save_analysis_snapshot("x", ns).unwrap();
        assert_eq!(snapshot_files(&root), first);
        // A change: a new file replaces the old one.
        a.store_analysis("x", ns, &[rec(b"f3", b"v3")]).unwrap();
        a.save_analysis_snapshot("x", ns).unwrap();
        let second = snapshot_files(&root);
        assert_eq!(second.len(), 1);
        assert_ne!(second, first);
        // A damaged file is refused: the rows are read instead (and the
        // snapshot is not current for the next run to rebuild it).
        let mut data = std::fs::read(&second[0]).unwrap();
        let last = data.len() - 1;
        data[last] ^= 1;
        std::fs::write(&second[0], &data).unwrap();
        let index = a.load_analysis_index("x", ns).unwrap();
        assert!(!index.is_snapshot());
        assert_eq!(index.len(), 3);
        assert_eq!(index.get(b"f3").unwrap().value, b"v3");
        assert!(!a.analysis_snapshot_is_current("x", ns).unwrap());
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(a.load_analysis_index("x", ns).unwrap().is_snapshot());
        // A missing file: the same, and a save writes a new one.
        std::fs::remove_file(&snapshot_files(&root)[0]).unwrap();
        assert!(!a.analysis_snapshot_is_current("x", ns).unwrap());
        assert_eq!(a.load_analysis_index("x", ns).unwrap().len(), 3);
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(a.load_analysis_index("x", ns).unwrap().is_snapshot());
        // A file nobody names (a crash before its row, a clear) is deleted
        // by a later save once old; a young one is left to its writer.
        let orphan = root
            .join("snapshots")
            .join("00112233445566778899aabbccddeeff.snap");
        std::fs::write(&orphan, b"x").unwrap();
        a.store_analysis("x", ns, &[rec(b"f4", b"v4")]).unwrap();
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(orphan.exists());
        let old = std::time::SystemTime::now() - ORPHAN_AGE * 2;
        std::fs::File::options()
            .write(true)
            .open(&orphan)
            .unwrap()
            .set_modified(old)
            .unwrap();
        a.store_analysis("x", ns, &[rec(b"f5", b"v5")]).unwrap();
        a.save_analysis_snapshot("x", ns).unwrap();
        assert!(!orphan.exists());
        assert_eq!(snapshot_files(&root).len(), 1);
        assert_eq!(a.load_analysis_index("x", ns).unwrap().len(), 5);
    }

    #[test]
    fn stamps_round_trip_through_their_stored_form() {
        let s = FileStamp {
            size: u64::MAX - 1,
            mtime_ns: -3,
            inode: 1 << 40,
            hash: [9; 16],
            recorded_ns: i64::MIN + 7,
            ctime_ns: -11,
        };
        let python = crate::scan::language::from_shebang(b"#!/usr/bin/python3\n");
        for language in [None, python] {
            let stored = encode_stamp(&s, language);
            assert_eq!(decode_stamp(&stored), Some(s));
            assert_eq!(stored_language(&stored, b"script"), language);
            assert_eq!(stored_language(&stored, b"x.rs"), language);
        }
        let stored = encode_stamp(&s, python);
        assert_eq!(stored.len(), 57);
        for len in [0, 47, 50, 56] {
            assert_eq!(decode_stamp(&stored[..len]), None, "{len} bytes");
        }
        assert_eq!(decode_stamp(&[&stored[..], &[0]].concat()), None);
        // Stored before ctimes were (48 or 49 bytes): no ctime, so never
        // trusted on metadata alone.
        let old = FileStamp {
            ctime_ns: CTIME_UNKNOWN,
            ..s
        };
        assert_eq!(decode_stamp(&stored[..49]), Some(old));
        assert_eq!(stored_language(&stored[..49], b"script"), python);
        // Stored before languages were: the name's language.
        assert_eq!(decode_stamp(&stored[..48]), Some(old));
        assert_eq!(stored_language(&stored[..48], b"script"), None);
        let rust = stored_language(&stored[..48], b"x.rs");
        assert_eq!(rust.map(crate::scan::Language::name), Some("rust"));
    }

    /// A snapshot file as the previous version (format 3, without ctimes)
    /// wrote it: one record, "a.txt" -> "from-snapshot", token 0x11 x 16.
    const V3_SNAPSHOT: &[&str] = &[
        "575446534e415033aa8c5903ba68a10301000000000000000100000000000000",
        "1000000000000000e000000000000000f8000000000000005001000000000000",
        "5801000000000000ffffffffffffff7f11111111111111111111111111111111",
        "000000000000000000000000000000000580062d010000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "580100000000000000000000000000000100000000000000612e74782e747874",
        "5801000000000000050000000d0000005d01000000000000ffffffffffffff7f",
        "040000000000000000ca9a3b000000002a000000000000000707070707070707",
        "0707070707070707001a711802000000bb5c1ef000000000612e74787466726f",
        "6d2d736e617073686f74",
    ];

    fn unhex(parts: &[&str]) -> Vec<u8> {
        let hex: String = parts.concat();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// An analyzer that counts its calls and keeps every result.
    #[derive(Default)]
    struct Host {
        analyzed: usize,
        results: std::collections::BTreeMap<Vec<u8>, (Vec<u8>, bool)>,
        issues: usize,
    }

    impl crate::scan::AnalyzeHost for Host {
        fn analyze(
            &mut self,
            _: &crate::scan::FileEntry<'_>,
            out: &mut Vec<u8>,
        ) -> crate::scan::Verdict {
            self.analyzed += 1;
            out.extend_from_slice(b"new");
            crate::scan::Verdict::Done
        }
        fn on_result(
            &mut self,
            file: &crate::scan::FileEntry<'_>,
            result: &[u8],
            cached: bool,
        ) -> crate::scan::Control {
            let rel = file.rel_path.as_os_str().as_bytes().to_vec();
            self.results.insert(rel, (result.to_vec(), cached));
            crate::scan::Control::Continue
        }
        fn on_issue(&mut self, _: &crate::scan::ScanIssue) {
            self.issues += 1;
        }
    }

    /// A cache directory as the previous version left it (schema 5: stamps
    /// without ctimes, in analysis rows, entry bindings and watched paths;
    /// a current snapshot of format 3) opens: nothing is lost, each stamp
    /// is re-hashed once (never trusted on its stat alone) and refreshed,
    /// and the old snapshot is ignored, then rebuilt.
    #[test]
    fn a_cache_of_the_previous_schema_is_rehashed_once_and_refreshed() {
        use crate::cache::stamp::stamp_file;
        use crate::cache::stamp::testing::{hashed, write_old};
        use crate::cache::store::{MIGRATIONS, Store};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir(&root).unwrap();
        let cdir = dir.path().join("c");
        let files = [
            ("a.txt", "alpha\n"),
            ("b.txt", "beta\n"),
            ("c.txt", "gamma\n"),
        ];
        for (name, content) in files {
            write_old(&root.join(name), content.as_bytes());
        }
        crate::cache::stamp::settle(&root).unwrap();
        // Stamps as the previous version recorded them (no ctime; not racy).
        let old_stamp = |name: &str| stamp_file(&root.join(name)).unwrap();
        let old_binding = |name: &str| {
            let s = old_stamp(name);
            let path = root.join(name).into_os_string().into_vec();
            let mut out = (path.len() as u32).to_le_bytes().to_vec();
            out.extend_from_slice(&path);
            out.push(1);
            for w in [s.size, s.mtime_ns as u64, s.inode] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&s.hash);
            out.extend_from_slice(&s.recorded_ns.to_le_bytes());
            (path, out)
        };
        let ns = Cache::open(CacheOptions::default())
            .unwrap()
            .analysis_namespace(&root);
        {
            let old = Store::open_at_schema(&cdir, 5).unwrap();
            old.write(|c| {
                // Analysis results: a stamp with its language (49 bytes)
                // and one from before languages (48 bytes).
                let mut st =
                    c.prepare("INSERT INTO analysis VALUES ('lines@1', ?1, ?2, ?3, ?4, ?5)")?;
                let a = encode_stamp(&old_stamp("a.txt"), None);
                st.execute(params![ns, b"a.txt", &a[..49], b"old-a", i64::MAX])?;
                let b = encode_stamp(&old_stamp("b.txt"), None);
                st.execute(params![ns, b"b.txt", &b[..48], b"old-b", i64::MAX])?;
                c.execute(
                    "INSERT INTO analysis_generation VALUES ('lines@1', ?1, 1)",
                    params![ns],
                )?;
                let pointer = [&POINTER_MAGIC[..], &[0x11; 16]].concat();
                c.execute(
                    "INSERT INTO analysis_snapshot VALUES ('lines@1', ?1, 1, ?2)",
                    params![ns, pointer],
                )?;
                // An entry bound to a.txt, depending on b.txt.
                let (a_path, a_binding) = old_binding("a.txt");
                let (b_path, b_binding) = old_binding("b.txt");
                c.execute(
                    "INSERT INTO entries VALUES (x'6b', x'76', 2, 0, ?1, 0, ?2, ?3, ?4)",
                    params![i64::MAX, a_path, a_binding, b_binding],
                )?;
                c.execute("INSERT INTO deps VALUES (x'6b', ?1)", params![b_path])?;
                // A path watched by check_file_changes.
                let (c_path, c_binding) = old_binding("c.txt");
                c.execute(
                    "INSERT INTO watched VALUES (?1, ?2)",
                    params![c_path, c_binding],
                )
            })
            .unwrap();
        }
        let snaps = cdir.join("snapshots");
        std::fs::create_dir(&snaps).unwrap();
        let v3 = snapshot_file(&snaps, &[0x11; 16]);
        std::fs::write(&v3, unhex(V3_SNAPSHOT)).unwrap();

        let cache = Cache::open(CacheOptions {
            dir: Some(cdir.clone()),
            ..CacheOptions::default()
        })
        .unwrap();
        let version = cache.store.as_ref().unwrap().pragma("user_version");
        assert_eq!(version as usize, MIGRATIONS.len());
        // The old snapshot is not misread: the rows are.
        let index = cache.load_analysis_index("lines@1", &ns).unwrap();
        assert!(!index.is_snapshot());
        assert_eq!(index.get(b"a.txt").unwrap().value, b"old-a");
        assert_eq!(index.get(b"b.txt").unwrap().value, b"old-b");
        assert_eq!(index.get(b"a.txt").unwrap().stamp.ctime_ns, CTIME_UNKNOWN);

        // analyze: both records re-hashed (read) once, still hits, c.txt is
        // new; then a run reads nothing.
        let run = |host: &mut Host| {
            let opts = crate::scan::ScanOptions::default();
            crate::scan::analyze(&root, &opts, Some(&cache), "lines@1", host).unwrap()
        };
        let mut first = Host::default();
        let s = run(&mut first);
        assert_eq!((first.analyzed, first.issues, s.errors), (1, 0, 0));
        assert_eq!(first.results[&b"a.txt"[..]], (b"old-a".to_vec(), true));
        assert_eq!(first.results[&b"b.txt"[..]], (b"old-b".to_vec(), true));
        assert_eq!(first.results[&b"c.txt"[..]], (b"new".to_vec(), false));
        assert_eq!(s.cache_hits, 2);
        assert_eq!(s.bytes_read, 6 + 5 + 6);
        assert!(!v3.exists(), "the old snapshot file is removed");
        assert!(cache.analysis_snapshot_is_current("lines@1", &ns).unwrap());
        let mut second = Host::default();
        let s = run(&mut second);
        assert_eq!((second.analyzed, s.cache_hits, s.bytes_read), (0, 3, 0));
        assert_eq!(second.results[&b"a.txt"[..]], (b"old-a".to_vec(), true));
        let index = cache.load_analysis_index("lines@1", &ns).unwrap();
        assert!(index.is_snapshot());
        assert_ne!(index.get(b"a.txt").unwrap().stamp.ctime_ns, CTIME_UNKNOWN);

        // The entry: a hit, its file and dependency re-hashed once; then
        // trusted on their stats (another handle too: the row was refreshed).
        let before = hashed();
        assert_eq!(cache.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(hashed(), before + 2);
        assert_eq!(cache.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(hashed(), before + 2);
        // The watched path: unchanged, re-hashed once.
        let c_txt = root.join("c.txt");
        assert!(cache.check_file_changes(&[&c_txt]).unwrap().is_empty());
        assert_eq!(hashed(), before + 3);
        assert!(cache.check_file_changes(&[&c_txt]).unwrap().is_empty());
        assert_eq!(hashed(), before + 3);
        drop(cache);
        let cache = Cache::open(CacheOptions {
            dir: Some(cdir),
            ..CacheOptions::default()
        })
        .unwrap();
        assert_eq!(cache.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(hashed(), before + 3);
        let stats = cache.stats().unwrap();
        assert_eq!(stats.total.invalidations_file_changed, 0);
        assert_eq!(stats.total.invalidations_dependency_changed, 0);
        assert!(stats.recovered.is_none());
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
