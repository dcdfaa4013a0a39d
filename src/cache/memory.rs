//! The in-memory tier: 16 `lru::LruCache` shards picked by XXH3 of the key,
//! each behind its own mutex, bounded together by entries and (optionally)
//! bytes. A lock is held only to look up and clone an `Arc`; values are
//! copied, files checked and evicted entries dropped outside it.

use super::entry::Entry;
use lru::LruCache;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

const SHARDS: usize = 16;
/// Values up to this size are copied out under the shard lock.
pub const COPY_UNDER_LOCK: usize = 4096;
/// Bookkeeping bytes counted per entry on top of key and value.
pub const ENTRY_OVERHEAD: usize = 96;

/// What a shard keeps per key, inline in the LRU's node: what a plain hit
/// needs (expiry, whether files must be checked, the value) without
/// touching the entry behind the `Arc`.
struct Slot {
    mem_expires_ns: i64,
    bound: bool,
    value: Arc<[u8]>,
    entry: Arc<Entry>,
}

impl Slot {
    fn new(entry: Arc<Entry>) -> Slot {
        Slot {
            mem_expires_ns: entry.mem_expires_ns,
            bound: entry.is_bound(),
            value: entry.value.clone(),
            entry,
        }
    }
}

/// A shard's LRU and the hits and misses it counted under its lock (so a
/// plain hit costs no atomic operation of its own).
struct Lru {
    map: LruCache<Box<[u8]>, Slot>,
    hits: u64,
    misses: u64,
}

impl Lru {
    fn put(&mut self, key: Box<[u8]>, entry: Arc<Entry>) -> Option<Arc<Entry>> {
        self.map.put(key, Slot::new(entry)).map(|s| s.entry)
    }

    fn pop_entry(&mut self, key: &[u8]) -> Option<(Box<[u8]>, Arc<Entry>)> {
        self.map.pop_entry(key).map(|(k, s)| (k, s.entry))
    }

    fn pop_lru(&mut self) -> Option<(Box<[u8]>, Arc<Entry>)> {
        self.map.pop_lru().map(|(k, s)| (k, s.entry))
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&Box<[u8]>, &Arc<Entry>)> {
        self.map.iter().map(|(k, s)| (k, &s.entry))
    }
}

/// One shard, on its own cache lines so two threads hitting different
/// shards do not share a line.
#[repr(align(128))]
struct Shard {
    lru: Mutex<Lru>,
    /// Allocated right after the shard's `LruCache`, so the list sentinels
    /// the crate allocates (written by every promotion) of two shards do
    /// not share a cache line.
    _pad: Box<[u8; 256]>,
    /// Hits and misses decided outside the lock (file-bound entries).
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What a memory lookup found.
pub enum Lookup {
    /// A valid entry not bound to files (counted as a hit).
    Hit(Arc<Entry>),
    /// An entry bound to files: the caller checks them and counts the
    /// outcome with [`MemoryTier::count`].
    Bound(Arc<Entry>),
    /// Present but past its memory-tier expiry (now removed from memory).
    Expired(Arc<Entry>),
    Absent,
}

/// The sharded LRU tier.
pub struct MemoryTier {
    shards: Box<[Shard]>,
    max_entries: usize,
    max_bytes: usize,
    entries: AtomicUsize,
    bytes: AtomicUsize,
}

/// An entry removed from memory, to drop (and account) outside any lock.
pub type Removed = (Box<[u8]>, Arc<Entry>);

fn cost(key: &[u8], entry: &Entry) -> usize {
    key.len() + entry.value.len() + ENTRY_OVERHEAD
}

impl MemoryTier {
    /// A tier of at most `max_entries` entries (0: the tier is disabled) and
    /// `max_bytes` bytes of keys, values and bookkeeping (0: unbounded).
    pub fn new(max_entries: usize, max_bytes: usize) -> MemoryTier {
        let shards = (0..SHARDS)
            .map(|_| Shard {
                lru: Mutex::new(Lru {
                    map: LruCache::unbounded(),
                    hits: 0,
                    misses: 0,
                }),
                _pad: Box::new([0; 256]),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            })
            .collect();
        MemoryTier {
            shards,
            max_entries,
            max_bytes,
            entries: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.max_entries > 0
    }

    #[inline]
    fn shard_of(key: &[u8]) -> usize {
        (xxhash_rust::xxh3::xxh3_64(key) >> 60) as usize % SHARDS
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Lru> {
        // A panic while holding a shard lock leaves a consistent LruCache
        // (its operations do not unwind midway), so poisoning is ignored.
        self.shards[i].lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `key` up, promoting it. `now_bound` is an upper bound of the
    /// current time (a coarse clock plus its resolution): an entry expiring
    /// later is valid without reading the precise clock. An entry past
    /// `mem_expires_ns` is removed and reported as expired. Absent and
    /// expired entries count as misses, plain hits as hits.
    #[inline]
    pub fn lookup(&self, key: &[u8], now_bound: i64) -> Lookup {
        self.lookup_copy(key, now_bound, &mut None::<fn(&[u8])>).1
    }

    /// [`MemoryTier::lookup`], but a plain hit whose value is at most
    /// [`COPY_UNDER_LOCK`] bytes is handed to `copy` under the shard lock
    /// (when `copy` is `Some`), returning its result and no entry: a small
    /// copy costs less than the two atomic reference-count updates of
    /// cloning the entry's `Arc` (and two threads reading one hot entry do
    /// not bounce its count between cores).
    #[inline]
    pub fn lookup_copy<T, F: FnOnce(&[u8]) -> T>(
        &self,
        key: &[u8],
        now_bound: i64,
        copy: &mut Option<F>,
    ) -> (Option<T>, Lookup) {
        if !self.enabled() {
            self.shards[0].misses.fetch_add(1, Relaxed);
            return (None, Lookup::Absent);
        }
        let i = Self::shard_of(key);
        let mut lru = self.lock(i);
        let Some(slot) = lru.map.get(key) else {
            lru.misses += 1;
            return (None, Lookup::Absent);
        };
        if slot.mem_expires_ns > now_bound || slot.mem_expires_ns > super::stamp::now_ns() {
            if slot.bound {
                return (None, Lookup::Bound(slot.entry.clone()));
            }
            if slot.value.len() <= COPY_UNDER_LOCK
                && let Some(f) = copy.take()
            {
                let out = f(&slot.value);
                lru.hits += 1;
                return (Some(out), Lookup::Absent);
            }
            let e = slot.entry.clone();
            lru.hits += 1;
            return (None, Lookup::Hit(e));
        }
        lru.misses += 1;
        let (k, e) = lru.pop_entry(key).expect("present");
        drop(lru);
        self.account_removed(&k, &e);
        (None, Lookup::Expired(e))
    }

    /// Counts the outcome of a [`Lookup::Bound`] entry (in the key's shard,
    /// so threads on different shards do not contend on one counter).
    #[inline]
    pub fn count(&self, key: &[u8], hit: bool) {
        let s = &self.shards[Self::shard_of(key)];
        if hit {
            s.hits.fetch_add(1, Relaxed);
        } else {
            s.misses.fetch_add(1, Relaxed);
        }
    }

    /// (hits, misses) summed over shards.
    pub fn counts(&self) -> (u64, u64) {
        (0..SHARDS).fold((0, 0), |(h, m), i| {
            let s = &self.shards[i];
            let (lh, lm) = {
                let lru = self.lock(i);
                (lru.hits, lru.misses)
            };
            (
                h + lh + s.hits.load(Relaxed),
                m + lm + s.misses.load(Relaxed),
            )
        })
    }

    fn account_removed(&self, key: &[u8], entry: &Entry) {
        self.entries.fetch_sub(1, Relaxed);
        self.bytes.fetch_sub(cost(key, entry), Relaxed);
    }

    fn over_budget(&self) -> bool {
        self.entries.load(Relaxed) > self.max_entries
            || (self.max_bytes > 0 && self.bytes.load(Relaxed) > self.max_bytes)
    }

    /// Inserts or replaces `key`. Returns what was evicted to stay within
    /// the bounds (least recently used first, from the key's shard, then
    /// from the others) and the replaced entry, if any.
    pub fn insert(&self, key: &[u8], entry: Arc<Entry>) -> (Vec<Removed>, Option<Arc<Entry>>) {
        let mut evicted = Vec::new();
        if !self.enabled() {
            return (evicted, None);
        }
        let size = cost(key, &entry);
        let i = Self::shard_of(key);
        if self.max_bytes > 0 && size > self.max_bytes {
            // Too big for the tier at all: just drop an older copy.
            return (evicted, self.remove(key));
        }
        let mut lru = self.lock(i);
        let old = lru.put(key.into(), entry);
        if let Some(old) = &old {
            self.bytes.fetch_sub(cost(key, old), Relaxed);
        } else {
            self.entries.fetch_add(1, Relaxed);
        }
        self.bytes.fetch_add(size, Relaxed);
        while self.over_budget() && lru.len() > 1 {
            let (k, e) = lru.pop_lru().expect("non-empty");
            self.account_removed(&k, &e);
            evicted.push((k, e));
        }
        drop(lru);
        // Still over: the other shards hold the rest; evict round robin.
        let mut j = (i + 1) % SHARDS;
        let mut idle = 0;
        while self.over_budget() && idle < SHARDS {
            if j != i {
                let popped = self.lock(j).pop_lru();
                match popped {
                    Some((k, e)) => {
                        self.account_removed(&k, &e);
                        evicted.push((k, e));
                        idle = 0;
                    }
                    None => idle += 1,
                }
            } else {
                idle += 1;
            }
            j = (j + 1) % SHARDS;
        }
        (evicted, old)
    }

    /// Whether `key` is in the tier (without promoting it); `None` when the
    /// tier is disabled.
    pub fn peek(&self, key: &[u8]) -> Option<bool> {
        if !self.enabled() {
            return None;
        }
        Some(self.lock(Self::shard_of(key)).map.contains(key))
    }

    /// Removes `key`.
    pub fn remove(&self, key: &[u8]) -> Option<Arc<Entry>> {
        if !self.enabled() {
            return None;
        }
        let mut lru = self.lock(Self::shard_of(key));
        let (k, e) = lru.pop_entry(key)?;
        drop(lru);
        self.account_removed(&k, &e);
        Some(e)
    }

    /// Replaces the entry of `key` by `new` only if it is still `old`
    /// (used to refresh recorded file stamps).
    pub fn replace_if(&self, key: &[u8], old: &Arc<Entry>, new: Arc<Entry>) {
        let mut lru = self.lock(Self::shard_of(key));
        if let Some(slot) = lru.map.peek_mut(key)
            && Arc::ptr_eq(&slot.entry, old)
        {
            *slot = Slot::new(new);
        }
    }

    /// Removes every entry for which `pred` is true; returns them.
    pub fn remove_where(&self, mut pred: impl FnMut(&[u8], &Entry) -> bool) -> Vec<Removed> {
        let mut out = Vec::new();
        for i in 0..SHARDS {
            let mut lru = self.lock(i);
            let keys: Vec<Box<[u8]>> = lru
                .iter()
                .filter(|(k, e)| pred(k, e))
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                if let Some(pair) = lru.pop_entry(&k) {
                    out.push(pair);
                }
            }
        }
        for (k, e) in &out {
            self.account_removed(k, e);
        }
        out
    }

    /// Copies of the (key, entry) pairs for which `pred` is true.
    pub fn find(&self, mut pred: impl FnMut(&[u8], &Entry) -> bool) -> Vec<Removed> {
        let mut out = Vec::new();
        for i in 0..SHARDS {
            let lru = self.lock(i);
            out.extend(
                lru.iter()
                    .filter(|(k, e)| pred(k, e))
                    .map(|(k, e)| (k.clone(), e.clone())),
            );
        }
        out
    }

    /// Removes everything; returns how many entries there were.
    pub fn clear(&self) -> usize {
        self.remove_where(|_, _| true).len()
    }

    pub fn len(&self) -> usize {
        self.entries.load(Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: &[u8], mem_expires_ns: i64) -> Arc<Entry> {
        Arc::new(Entry::new(
            Arc::from(value),
            i64::MAX,
            mem_expires_ns,
            None,
            Vec::new(),
        ))
    }

    #[test]
    fn bounded_by_entries_and_lru_order() {
        let m = MemoryTier::new(100, 0);
        for i in 0..100u32 {
            m.insert(&i.to_le_bytes(), entry(b"v", i64::MAX));
        }
        assert_eq!(m.len(), 100);
        // Every key is there: the bound is global, not per shard.
        for i in 0..100u32 {
            assert!(matches!(m.lookup(&i.to_le_bytes(), 0), Lookup::Hit(_)));
        }
        assert_eq!(m.counts(), (100, 0));
        let (evicted, _) = m.insert(b"new", entry(b"v", i64::MAX));
        assert_eq!(evicted.len(), 1);
        assert_eq!(m.len(), 100);
        // The evicted one was the least recently used of its shard.
        let k = &evicted[0].0;
        assert!(matches!(m.lookup(k, 0), Lookup::Absent));
    }

    #[test]
    fn bounded_by_bytes_and_expiry() {
        let m = MemoryTier::new(1000, 10 * (ENTRY_OVERHEAD + 101));
        for i in 0..20u8 {
            m.insert(&[i], entry(&[0u8; 100], i64::MAX));
        }
        assert!(m.len() <= 10, "{}", m.len());
        assert!(m.bytes() <= 10 * (ENTRY_OVERHEAD + 101));
        // Bigger than the whole tier: not kept.
        m.insert(b"big", entry(&vec![0u8; 100_000], i64::MAX));
        assert!(matches!(m.lookup(b"big", 0), Lookup::Absent));
        m.insert(b"old", entry(b"x", 5));
        assert!(matches!(m.lookup(b"old", 4), Lookup::Hit(_)));
        assert!(matches!(m.lookup(b"old", 5), Lookup::Expired(_)));
        assert!(matches!(m.lookup(b"old", 0), Lookup::Absent));
        let n = m.len();
        assert_eq!(m.clear(), n);
        assert_eq!((m.len(), m.bytes()), (0, 0));
    }

    #[test]
    fn disabled_tier_keeps_nothing() {
        let m = MemoryTier::new(0, 0);
        m.insert(b"k", entry(b"v", i64::MAX));
        assert!(matches!(m.lookup(b"k", 0), Lookup::Absent));
    }
}
