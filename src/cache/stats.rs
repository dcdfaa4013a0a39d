//! Statistics (per handle, and in total across processes and handles of a
//! directory) and the record of why lookups missed.

use lru::LruCache;
use serde::Serialize;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why an entry is gone or a lookup missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Never stored (or removed by another process).
    NotFound,
    /// Its time to live passed.
    Expired,
    /// The file it is bound to has different content.
    FileChanged,
    /// The file it is bound to is gone.
    FileMissing,
    /// A dependency (direct or transitive) changed, appeared or vanished.
    DependencyChanged,
    /// Evicted to stay within a size bound.
    Evicted,
    /// Removed by `invalidate` / `invalidate_file`.
    Invalidated,
    /// Removed by `clear`.
    Cleared,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::Expired => "expired",
            Reason::FileChanged => "file_changed",
            Reason::FileMissing => "file_missing",
            Reason::DependencyChanged => "dependency_changed",
            Reason::Evicted => "evicted",
            Reason::Invalidated => "invalidated",
            Reason::Cleared => "cleared",
        }
    }
}

/// Counters of one handle (memory-tier hits and misses live in the memory
/// tier's shards).
#[derive(Default)]
pub struct Counters {
    pub persistent_hits: AtomicU64,
    pub persistent_misses: AtomicU64,
    pub analysis_hits: AtomicU64,
    pub analysis_misses: AtomicU64,
    pub sets: AtomicU64,
    pub file_changed: AtomicU64,
    pub dependency_changed: AtomicU64,
    pub expired: AtomicU64,
    pub evicted: AtomicU64,
    pub explicit: AtomicU64,
    pub clears: AtomicU64,
}

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    /// Counts one invalidation of `reason`.
    pub fn invalidated(&self, reason: Reason, n: u64) {
        let c = match reason {
            Reason::FileChanged | Reason::FileMissing => &self.file_changed,
            Reason::DependencyChanged => &self.dependency_changed,
            Reason::Expired => &self.expired,
            Reason::Evicted => &self.evicted,
            Reason::Invalidated => &self.explicit,
            Reason::NotFound | Reason::Cleared => return,
        };
        c.fetch_add(n, Relaxed);
    }
}

/// A plain snapshot of all counters, named as in the stats table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub memory_hits: u64,
    pub memory_misses: u64,
    pub persistent_hits: u64,
    pub persistent_misses: u64,
    pub analysis_hits: u64,
    pub analysis_misses: u64,
    pub sets: u64,
    pub invalidations_file_changed: u64,
    pub invalidations_dependency_changed: u64,
    pub invalidations_expired: u64,
    pub invalidations_evicted: u64,
    pub invalidations_explicit: u64,
    pub clears: u64,
}

impl Totals {
    pub fn snapshot(c: &Counters, memory: (u64, u64)) -> Totals {
        Totals {
            memory_hits: memory.0,
            memory_misses: memory.1,
            persistent_hits: c.persistent_hits.load(Relaxed),
            persistent_misses: c.persistent_misses.load(Relaxed),
            analysis_hits: c.analysis_hits.load(Relaxed),
            analysis_misses: c.analysis_misses.load(Relaxed),
            sets: c.sets.load(Relaxed),
            invalidations_file_changed: c.file_changed.load(Relaxed),
            invalidations_dependency_changed: c.dependency_changed.load(Relaxed),
            invalidations_expired: c.expired.load(Relaxed),
            invalidations_evicted: c.evicted.load(Relaxed),
            invalidations_explicit: c.explicit.load(Relaxed),
            clears: c.clears.load(Relaxed),
        }
    }

    /// (name, value) pairs, the names used in the stats table.
    pub fn fields(&self) -> [(&'static str, u64); 13] {
        [
            ("memory_hits", self.memory_hits),
            ("memory_misses", self.memory_misses),
            ("persistent_hits", self.persistent_hits),
            ("persistent_misses", self.persistent_misses),
            ("analysis_hits", self.analysis_hits),
            ("analysis_misses", self.analysis_misses),
            ("sets", self.sets),
            (
                "invalidations_file_changed",
                self.invalidations_file_changed,
            ),
            (
                "invalidations_dependency_changed",
                self.invalidations_dependency_changed,
            ),
            ("invalidations_expired", self.invalidations_expired),
            ("invalidations_evicted", self.invalidations_evicted),
            ("invalidations_explicit", self.invalidations_explicit),
            ("clears", self.clears),
        ]
    }

    pub fn from_fields(get: impl Fn(&str) -> u64) -> Totals {
        let mut t = Totals::default();
        let slots: [&mut u64; 13] = [
            &mut t.memory_hits,
            &mut t.memory_misses,
            &mut t.persistent_hits,
            &mut t.persistent_misses,
            &mut t.analysis_hits,
            &mut t.analysis_misses,
            &mut t.sets,
            &mut t.invalidations_file_changed,
            &mut t.invalidations_dependency_changed,
            &mut t.invalidations_expired,
            &mut t.invalidations_evicted,
            &mut t.invalidations_explicit,
            &mut t.clears,
        ];
        let names = Totals::default().fields().map(|(n, _)| n);
        for (slot, name) in slots.into_iter().zip(names) {
            *slot = get(name);
        }
        t
    }

    /// Field-wise `self - other` (saturating).
    pub fn minus(&self, other: &Totals) -> Totals {
        let a = self.fields();
        let b = other.fields();
        Totals::from_fields(|name| {
            let x = a.iter().find(|(n, _)| *n == name).map_or(0, |p| p.1);
            let y = b.iter().find(|(n, _)| *n == name).map_or(0, |p| p.1);
            x.saturating_sub(y)
        })
    }

    /// Field-wise sum.
    pub fn plus(&self, other: &Totals) -> Totals {
        let a = self.fields();
        let b = other.fields();
        Totals::from_fields(|name| {
            let x = a.iter().find(|(n, _)| *n == name).map_or(0, |p| p.1);
            let y = b.iter().find(|(n, _)| *n == name).map_or(0, |p| p.1);
            x + y
        })
    }

    pub fn hits(&self) -> u64 {
        self.memory_hits + self.persistent_hits + self.analysis_hits
    }

    /// Lookups: every `get` asks the memory tier first, plus analyze's.
    pub fn lookups(&self) -> u64 {
        self.memory_hits + self.memory_misses + self.analysis_hits + self.analysis_misses
    }

    pub fn misses(&self) -> u64 {
        self.lookups().saturating_sub(self.hits())
    }

    pub fn hit_rate(&self) -> f64 {
        let n = self.lookups();
        if n == 0 {
            0.0
        } else {
            self.hits() as f64 / n as f64
        }
    }

    pub fn invalidations(&self) -> u64 {
        self.invalidations_file_changed
            + self.invalidations_dependency_changed
            + self.invalidations_expired
            + self.invalidations_evicted
            + self.invalidations_explicit
    }
}

/// Statistics of a cache: this handle's lifetime and the directory's total.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// This handle since it was opened.
    pub handle: Totals,
    /// Every handle and process that used the directory (for a memory-only
    /// cache, the same as `handle`).
    pub total: Totals,
    pub memory_entries: u64,
    pub memory_bytes: u64,
    pub persistent_entries: u64,
    pub persistent_bytes: u64,
    pub analysis_entries: u64,
    /// Set when a corrupt database was replaced at open.
    pub recovered: Option<String>,
}

/// One missed lookup.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub reason: Reason,
    pub detail: String,
    pub at_ns: i64,
}

const MISS_KEYS: usize = 1024;
const MISSES_PER_KEY: usize = 4;
const TOMBSTONES: usize = 4096;

/// Why recent lookups missed (per key, the last few), and why recently
/// removed keys were removed (so a later miss can say "evicted").
pub struct MissLog {
    misses: Mutex<LruCache<Vec<u8>, VecDeque<Miss>>>,
    tombstones: Mutex<LruCache<Vec<u8>, (Reason, String)>>,
    /// Whether this handle cleared the cache (then an unknown key was
    /// most likely removed by it).
    cleared: std::sync::atomic::AtomicBool,
}

impl Default for MissLog {
    fn default() -> Self {
        MissLog {
            misses: Mutex::new(LruCache::new(NonZeroUsize::new(MISS_KEYS).expect("> 0"))),
            tombstones: Mutex::new(LruCache::new(NonZeroUsize::new(TOMBSTONES).expect("> 0"))),
            cleared: Default::default(),
        }
    }
}

impl MissLog {
    pub fn miss(&self, key: &[u8], reason: Reason, detail: String, at_ns: i64) {
        let mut m = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        let list = m.get_or_insert_mut(key.to_vec(), VecDeque::new);
        if list.len() == MISSES_PER_KEY {
            list.pop_front();
        }
        list.push_back(Miss {
            reason,
            detail,
            at_ns,
        });
    }

    /// A lookup of a key that is not stored: the reason it was removed, if
    /// this handle saw it go.
    pub fn absent_reason(&self, key: &[u8]) -> (Reason, String) {
        let t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        match t.peek(key) {
            Some((r, d)) => (*r, d.clone()),
            None if self.cleared.load(Relaxed) => (
                Reason::Cleared,
                "no entry for this key; this handle cleared the cache".into(),
            ),
            None => (
                Reason::NotFound,
                "no entry for this key (never stored, or removed by another process)".into(),
            ),
        }
    }

    pub fn removed(&self, key: &[u8], reason: Reason, detail: &str) {
        let mut t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        t.put(key.to_vec(), (reason, detail.to_string()));
    }

    /// Forgets the removal of a key stored again.
    pub fn stored(&self, key: &[u8]) {
        let mut t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if !t.is_empty() {
            t.pop(key);
        }
    }

    /// [`MissLog::stored`] for many keys, locking once.
    pub fn stored_all<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) {
        let mut t = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if !t.is_empty() {
            for k in keys {
                t.pop(k);
            }
        }
    }

    pub fn misses_of(&self, key: &[u8]) -> Vec<Miss> {
        let m = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        m.peek(key)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets removals: everything was cleared.
    pub fn clear_tombstones(&self) {
        self.cleared.store(true, Relaxed);
        self.tombstones
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

fn totals_json(t: &Totals) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("hits".into(), t.hits().into());
        map.insert("misses".into(), t.misses().into());
        map.insert("lookups".into(), t.lookups().into());
        map.insert("hit_rate".into(), t.hit_rate().into());
        map.insert("invalidations".into(), t.invalidations().into());
    }
    v
}

/// The statistics as JSON text (see `wtfperf_cache_stats_json`).
pub fn to_json(s: &Stats) -> String {
    serde_json::json!({
        "handle": totals_json(&s.handle),
        "total": totals_json(&s.total),
        "memory_entries": s.memory_entries,
        "memory_bytes": s.memory_bytes,
        "persistent_entries": s.persistent_entries,
        "persistent_bytes": s.persistent_bytes,
        "analysis_entries": s.analysis_entries,
        "recovered": s.recovered,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_arithmetic_and_rate() {
        let a = Totals {
            memory_hits: 3,
            memory_misses: 2,
            persistent_hits: 1,
            invalidations_expired: 2,
            invalidations_evicted: 1,
            ..Totals::default()
        };
        assert_eq!(a.hits(), 4);
        assert_eq!(a.lookups(), 5);
        assert_eq!(a.misses(), 1);
        assert!((a.hit_rate() - 0.8).abs() < 1e-12);
        assert_eq!(a.invalidations(), 3);
        assert_eq!(a.plus(&a).minus(&a), a);
        assert_eq!(Totals::default().hit_rate(), 0.0);
    }

    #[test]
    fn miss_log_keeps_last_reasons() {
        let log = MissLog::default();
        for i in 0..6 {
            log.miss(b"k", Reason::Expired, format!("{i}"), i);
        }
        let m = log.misses_of(b"k");
        assert_eq!(m.len(), MISSES_PER_KEY);
        assert_eq!(m.last().unwrap().detail, "5");
        assert_eq!(log.absent_reason(b"k").0, Reason::NotFound);
        log.removed(b"k", Reason::Evicted, "lru");
        assert_eq!(log.absent_reason(b"k").0, Reason::Evicted);
        log.stored(b"k");
        assert_eq!(log.absent_reason(b"k").0, Reason::NotFound);
    }
}
