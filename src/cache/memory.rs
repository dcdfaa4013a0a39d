//! The in-memory tier: 16 shards picked by XXH3 of the key, bounded together
//! by entries and (optionally) bytes, each with its least-recently-used
//! order kept by an `lru::LruCache`.
//!
//! Reads write nothing another core reads. A shard's lookup table is
//! guarded by [`STRIPES`] locks, one per group of threads, each on its own
//! cache lines: a read takes only its thread's stripe lock (a line no other
//! thread touches, so two threads reading one shard, even one key, do not
//! bounce lines between cores), looks the key up without modifying the
//! table, copies the value, counts the hit in its stripe and records the
//! access (the entry's id) in its stripe's buffer. A write takes every
//! stripe lock of the shard and first applies the buffered accesses to the
//! LRU order, in the order each thread made them, so the order is exact
//! for one thread and interleaved by stripe for several; a buffer that
//! fills is applied the same way. The order is a separate `LruCache` of
//! entry ids, so applying accesses does not write the lines lookups read.
//!
//! Values are copied, files checked and evicted entries dropped outside
//! the locks.

use super::entry::Entry;
use hashbrown::HashTable;
use lru::LruCache;
use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

/// Shards of a large tier (a power of two).
const SHARDS: usize = 16;
/// A tier has at most one shard per this many entries (at least one): each
/// shard keeps its own LRU order, so a bound split over shards holding a
/// handful of entries each would evict almost at random.
const ENTRIES_PER_SHARD: usize = 64;
/// Stripe locks per shard (threads are spread over them round robin).
const STRIPES: usize = 8;
/// Accesses a stripe buffers before they are applied to the LRU order.
const TOUCHED_MAX: usize = 512;
/// Values up to this size are copied out under the stripe lock.
pub const COPY_UNDER_LOCK: usize = 4096;
/// Bookkeeping bytes counted per entry on top of key and value.
pub const ENTRY_OVERHEAD: usize = 96;

/// A key's length and two 64-bit words covering its first 16 bytes
/// (overlapping when shorter, so equal words and lengths mean equal keys of
/// up to 16 bytes); longer keys also compare their bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KeyWords {
    /// The length (saturated to `u32`: longer keys compare their bytes
    /// anyway). A full word: the struct has no padding, so copying it
    /// never reads bytes a narrower store just wrote (a failed store
    /// forward stalls a lookup).
    len: u64,
    a: u64,
    b: u64,
}

impl KeyWords {
    #[inline]
    fn of(key: &[u8]) -> KeyWords {
        let n = key.len();
        let u64_at = |i: usize| u64::from_le_bytes(key[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| {
            u64::from(u32::from_le_bytes(
                key[i..i + 4].try_into().expect("4 bytes"),
            ))
        };
        let (a, b) = if n >= 16 {
            (u64_at(0), u64_at(8))
        } else if n >= 8 {
            (u64_at(0), u64_at(n - 8))
        } else if n >= 4 {
            (u32_at(0), u32_at(n - 4))
        } else if n > 0 {
            (
                u64::from(key[0]) | u64::from(key[n / 2]) << 8 | u64::from(key[n - 1]) << 16,
                0,
            )
        } else {
            (0, 0)
        };
        KeyWords {
            len: n.min(u32::MAX as usize) as u64,
            a,
            b,
        }
    }
}

/// One entry in a shard's table: what a plain hit needs (expiry, whether
/// files must be checked, the value) inline, without touching the entry
/// behind the `Arc`.
/// 80 bytes (the fields of [`KeyWords`] are inlined so `bound` packs with
/// the length; the key's hash is recomputed when the table grows).
struct Slot {
    key: Box<[u8]>,
    /// [`KeyWords`] of `key`: a key of at most 16 bytes is compared
    /// without reading `key`'s allocation.
    key_len: u32,
    bound: bool,
    key_a: u64,
    key_b: u64,
    /// The entry's name in the LRU order.
    id: u64,
    mem_expires_ns: i64,
    value: Arc<[u8]>,
    entry: Arc<Entry>,
}

impl Slot {
    /// Whether this is the slot of `key` (whose words are `words`).
    #[inline]
    fn is(&self, key: &[u8], words: &KeyWords) -> bool {
        self.key_a == words.a
            && self.key_b == words.b
            && u64::from(self.key_len) == words.len
            && (key.len() <= 16 || *self.key == *key)
    }

    fn set(&mut self, entry: Arc<Entry>) -> Arc<Entry> {
        self.mem_expires_ns = entry.mem_expires_ns;
        self.bound = entry.is_bound();
        self.value = entry.value.clone();
        std::mem::replace(&mut self.entry, entry)
    }
}

/// A shard's entries and their LRU order (ids, most recent first, mapped to
/// the key hash that finds the slot).
struct Table {
    /// Slots inline in the buckets: a probe compares the key words it
    /// loads with the bucket, one dependent load fewer than a boxed slot
    /// (slots move when the table grows; nothing keeps their address).
    slots: HashTable<Slot>,
    order: LruCache<u64, u64>,
    next_id: u64,
}

impl Table {
    #[inline]
    fn find(&self, key: &[u8], words: &KeyWords, hash: u64) -> Option<&Slot> {
        self.slots.find(hash, |s| s.is(key, words))
    }

    /// Inserts or replaces (then promotes) `key`; returns the replaced entry.
    fn put(&mut self, key: &[u8], hash: u64, entry: Arc<Entry>) -> Option<Arc<Entry>> {
        let words = KeyWords::of(key);
        if let Some(slot) = self.slots.find_mut(hash, |s| s.is(key, &words)) {
            let old = slot.set(entry);
            self.order.promote(&slot.id);
            return Some(old);
        }
        let id = self.next_id;
        self.next_id += 1;
        let slot = Slot {
            key: key.into(),
            key_len: words.len as u32,
            key_a: words.a,
            key_b: words.b,
            id,
            mem_expires_ns: entry.mem_expires_ns,
            bound: entry.is_bound(),
            value: entry.value.clone(),
            entry,
        };
        self.slots
            .insert_unique(hash, slot, |s| key_hash(&s.key, &KeyWords::of(&s.key)));
        self.order.put(id, hash);
        None
    }

    fn pop(&mut self, key: &[u8], hash: u64) -> Option<Removed> {
        let words = KeyWords::of(key);
        let (slot, _) = self
            .slots
            .find_entry(hash, |s| s.is(key, &words))
            .ok()?
            .remove();
        self.order.pop(&slot.id);
        Some((slot.key, slot.entry))
    }

    fn pop_lru(&mut self) -> Option<Removed> {
        let (id, hash) = self.order.pop_lru()?;
        let Ok(found) = self.slots.find_entry(hash, |s| s.id == id) else {
            unreachable!("every id in the order has a slot");
        };
        let (slot, _) = found.remove();
        Some((slot.key, slot.entry))
    }

    fn len(&self) -> usize {
        self.slots.len()
    }
}

/// What one stripe (a group of threads) owns in a shard: hits and misses it
/// counted, and accesses not yet applied to the LRU order.
#[derive(Default)]
struct Local {
    hits: u64,
    misses: u64,
    touched: Vec<u64>,
}

impl Local {
    /// Records an access; true when the buffer is full (apply it).
    #[inline]
    fn touch(&mut self, id: u64) -> bool {
        if self.touched.last() != Some(&id) {
            self.touched.push(id);
        }
        self.touched.len() >= TOUCHED_MAX
    }
}

/// One stripe: a spin lock (a read takes it with one atomic operation and
/// releases it with a plain store; holders never block) and what it guards,
/// on their own cache lines.
#[repr(align(128))]
struct Stripe {
    locked: AtomicBool,
    local: UnsafeCell<Local>,
}

// SAFETY: `local` is only reached through a `StripeGuard`, which exists
// only while `locked` is held by its thread; `Local` is `Send`.
unsafe impl Sync for Stripe {}

/// Holds a stripe's lock; unlocks on drop.
struct StripeGuard<'a>(&'a Stripe);

impl Stripe {
    fn new() -> Stripe {
        Stripe {
            locked: AtomicBool::new(false),
            local: UnsafeCell::new(Local::default()),
        }
    }

    #[inline]
    fn lock(&self) -> StripeGuard<'_> {
        if self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        StripeGuard(self)
    }

    /// Waits for the holder (a read copying one value, or a write to the
    /// shard): spins briefly, then yields the core (the holder may have
    /// been preempted).
    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Relaxed) {
                if spins < 100 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl std::ops::Deref for StripeGuard<'_> {
    type Target = Local;
    fn deref(&self) -> &Local {
        // SAFETY: this guard holds the stripe's lock, so no other reference
        // to `local` exists while the borrow (bounded by the guard's) lives.
        unsafe { &*self.0.local.get() }
    }
}

impl std::ops::DerefMut for StripeGuard<'_> {
    fn deref_mut(&mut self) -> &mut Local {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.0.local.get() }
    }
}

impl Drop for StripeGuard<'_> {
    fn drop(&mut self) {
        self.0.locked.store(false, Release);
    }
}

/// A shard: its stripe locks and the table they guard (readers hold one
/// stripe lock, writers all of them).
struct Shard {
    stripes: [Stripe; STRIPES],
    table: UnsafeCell<Table>,
}

// SAFETY: `table` is only reached through `ReadGuard` (one stripe lock
// held: shared access) and `WriteGuard` (every stripe lock held: exclusive
// access), so no thread mutates it while another reads it; `Table` holds
// only `Send + Sync` data (boxed bytes, `Arc`s, integers).
unsafe impl Sync for Shard {}

/// The calling thread's stripe.
#[inline]
fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        // Const-initialized (no lazy-init check per access); `STRIPES`
        // means not assigned yet.
        static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(STRIPES) };
    }
    INDEX
        .try_with(|i| {
            let mut v = i.get();
            if v == STRIPES {
                v = NEXT.fetch_add(1, Relaxed) % STRIPES;
                i.set(v);
            }
            v
        })
        .unwrap_or(0)
}

/// Shared access to a shard's table under the caller's stripe lock.
struct ReadGuard<'a> {
    local: StripeGuard<'a>,
    shard: &'a Shard,
}

impl ReadGuard<'_> {
    #[inline]
    fn parts(&mut self) -> (&mut Local, &Table) {
        // SAFETY: this guard holds a stripe lock, which excludes every
        // WriteGuard (they hold all of them) for the returned borrow's
        // lifetime, bounded by the guard's.
        let table = unsafe { &*self.shard.table.get() };
        (&mut self.local, table)
    }
}

/// Exclusive access to a shard's table (every stripe lock held).
struct WriteGuard<'a> {
    _locals: [StripeGuard<'a>; STRIPES],
    shard: &'a Shard,
}

impl WriteGuard<'_> {
    fn table(&mut self) -> &mut Table {
        // SAFETY: this guard holds every stripe lock, so no other guard
        // exists for the returned borrow's lifetime, bounded by the guard's.
        unsafe { &mut *self.shard.table.get() }
    }
}

impl Shard {
    fn new() -> Shard {
        Shard {
            stripes: std::array::from_fn(|_| Stripe::new()),
            table: UnsafeCell::new(Table {
                slots: HashTable::new(),
                order: LruCache::unbounded(),
                next_id: 0,
            }),
        }
    }

    #[inline]
    fn read(&self) -> ReadGuard<'_> {
        ReadGuard {
            local: self.stripes[stripe_index()].lock(),
            shard: self,
        }
    }

    /// Locks every stripe (in index order) and applies their buffered
    /// accesses to the LRU order.
    fn write(&self) -> WriteGuard<'_> {
        let mut locals: [StripeGuard<'_>; STRIPES] =
            std::array::from_fn(|i| self.stripes[i].lock());
        // SAFETY: every stripe lock is held (`locals`), so nothing else
        // reads or writes the table during this borrow.
        let table = unsafe { &mut *self.table.get() };
        let mut seen = None;
        for local in &mut locals {
            apply_touches(&mut local.touched, &mut table.order, &mut seen);
        }
        WriteGuard {
            _locals: locals,
            shard: self,
        }
    }

    /// Applies the buffered accesses (a read filled its stripe's buffer).
    #[cold]
    #[inline(never)]
    fn apply_touched(&self) {
        drop(self.write());
    }

    /// (hits, misses) of every stripe.
    fn counts(&self) -> (u64, u64) {
        self.stripes.iter().fold((0, 0), |(h, m), s| {
            let l = s.lock();
            (h + l.hits, m + l.misses)
        })
    }
}

/// Slots of the filter [`apply_touches`] uses (a power of two).
const SEEN_SLOTS: usize = 2 * TOUCHED_MAX;
/// A buffer at least this long is deduplicated before it is applied.
const DEDUP_FROM: usize = 64;

/// Applies one stripe's buffered accesses to the LRU order and empties the
/// buffer. Only the last access of an id decides its place, so a long
/// buffer is walked backwards keeping each id's last access (`seen`, a
/// direct-mapped filter of the ids met, allocated on first use and left
/// empty; a collision only keeps an earlier access too, which the later
/// one then overrides) and the kept ones are promoted in their order: the
/// same order as promoting every access, with one promotion per id (a hot
/// key read 8 times between drains costs one).
fn apply_touches(
    touched: &mut Vec<u64>,
    order: &mut LruCache<u64, u64>,
    seen: &mut Option<Box<[u64; SEEN_SLOTS]>>,
) {
    if touched.len() < DEDUP_FROM {
        for id in touched.drain(..) {
            order.promote(&id);
        }
        return;
    }
    let seen = seen.get_or_insert_with(|| Box::new([u64::MAX; SEEN_SLOTS]));
    let n = touched.len();
    let mut kept = n;
    for i in (0..n).rev() {
        let id = touched[i];
        let at = &mut seen[id as usize & (SEEN_SLOTS - 1)];
        if *at != id {
            *at = id;
            kept -= 1;
            touched[kept] = id;
        }
    }
    for id in &touched[kept..] {
        order.promote(id);
        seen[*id as usize & (SEEN_SLOTS - 1)] = u64::MAX;
    }
    touched.clear();
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
    /// A power of two of them.
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

/// The hash of a key whose words are `words`: keys of at most 16 bytes
/// (their words and length determine them) are mixed from the words
/// already loaded for the comparison, two folded 64x64->128-bit multiplies
/// (as foldhash does for short input; cheaper than XXH3 re-reading the
/// key); longer keys are hashed with XXH3.
#[inline]
fn key_hash(key: &[u8], words: &KeyWords) -> u64 {
    const K: [u64; 4] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    ];
    #[inline]
    fn fold(x: u64, y: u64) -> u64 {
        let p = u128::from(x) * u128::from(y);
        (p as u64) ^ ((p >> 64) as u64)
    }
    #[inline(never)]
    fn long(key: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(key)
    }
    if key.len() > 16 {
        return long(key);
    }
    let h = fold(words.a ^ K[0], words.b ^ K[1]);
    fold(h ^ K[2], words.len ^ K[3])
}

/// A key's words, its shard among `mask + 1` (bits 40..44 of its hash,
/// clear of the bits the table uses for its bucket index and tag) and its
/// hash in the shard's table.
#[inline]
fn locate(key: &[u8], mask: usize) -> (KeyWords, usize, u64) {
    let words = KeyWords::of(key);
    let h = key_hash(key, &words);
    (words, (h >> 40) as usize & mask, h)
}

impl MemoryTier {
    /// A tier of at most `max_entries` entries (0: the tier is disabled) and
    /// `max_bytes` bytes of keys, values and bookkeeping (0: unbounded).
    pub fn new(max_entries: usize, max_bytes: usize) -> MemoryTier {
        let n = (max_entries / ENTRIES_PER_SHARD).clamp(1, SHARDS);
        // The largest power of two not above `n`.
        let n = 1 << n.ilog2();
        MemoryTier {
            shards: (0..n).map(|_| Shard::new()).collect(),
            max_entries,
            max_bytes,
            entries: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    /// A key's shard and its hash in the shard's table.
    #[inline]
    fn hash(&self, key: &[u8]) -> (usize, u64) {
        let (_, i, h) = locate(key, self.shards.len() - 1);
        (i, h)
    }

    pub fn enabled(&self) -> bool {
        self.max_entries > 0
    }

    /// Whether `entry` under `key` is larger than the tier's byte bound
    /// (it is then never kept).
    pub fn too_big(&self, key: &[u8], entry: &Entry) -> bool {
        self.max_bytes > 0 && cost(key, entry) > self.max_bytes
    }

    /// Looks `key` up, promoting it. `now_bound` is an upper bound of the
    /// current time (a coarse clock plus its resolution): an entry expiring
    /// later is valid without reading the precise clock. An entry past
    /// `mem_expires_ns` is removed and reported as expired. Absent and
    /// expired entries count as misses, plain hits as hits.
    #[inline]
    pub fn lookup(&self, key: &[u8], now_bound: i64) -> Lookup {
        self.lookup_copy(key, || now_bound, &mut None::<fn(&[u8])>)
            .1
    }

    /// [`MemoryTier::lookup`], but a plain hit whose value is at most
    /// [`COPY_UNDER_LOCK`] bytes is handed to `copy` under the stripe lock
    /// (when `copy` is `Some`), returning its result and no entry: a small
    /// copy costs less than the two atomic reference-count updates of
    /// cloning the entry's `Arc` (and two threads reading one hot entry do
    /// not bounce its count between cores). `now_bound` is called only for
    /// an entry with a memory expiry (most have none: no clock is read).
    #[inline]
    pub fn lookup_copy<T, F: FnOnce(&[u8]) -> T>(
        &self,
        key: &[u8],
        now_bound: impl FnOnce() -> i64,
        copy: &mut Option<F>,
    ) -> (Option<T>, Lookup) {
        if !self.enabled() {
            return self.disabled_lookup();
        }
        let (words, i, h) = locate(key, self.shards.len() - 1);
        let shard = &self.shards[i];
        let mut guard = shard.read();
        let (local, table) = guard.parts();
        let Some(slot) = table.find(key, &words, h) else {
            local.misses += 1;
            return (None, Lookup::Absent);
        };
        let expires = slot.mem_expires_ns;
        if expires == i64::MAX || expires > now_bound() || expires > super::stamp::now_ns() {
            let full = local.touch(slot.id);
            let out = if slot.bound {
                (None, Lookup::Bound(slot.entry.clone()))
            } else {
                local.hits += 1;
                if slot.value.len() <= COPY_UNDER_LOCK
                    && let Some(f) = copy.take()
                {
                    (Some(f(&slot.value)), Lookup::Absent)
                } else {
                    (None, Lookup::Hit(slot.entry.clone()))
                }
            };
            drop(guard);
            if full {
                shard.apply_touched();
            }
            return out;
        }
        local.misses += 1;
        let seen = slot.entry.clone();
        drop(guard);
        self.remove_expired(shard, key, &words, h, seen)
    }

    /// The lookup of a disabled tier: a miss.
    #[cold]
    fn disabled_lookup<T>(&self) -> (Option<T>, Lookup) {
        self.shards[0].read().local.misses += 1;
        (None, Lookup::Absent)
    }

    /// Removes the expired entry `seen` of `key` unless a writer replaced
    /// it meanwhile.
    #[cold]
    fn remove_expired<T>(
        &self,
        shard: &Shard,
        key: &[u8],
        words: &KeyWords,
        h: u64,
        seen: Arc<Entry>,
    ) -> (Option<T>, Lookup) {
        let mut w = shard.write();
        let t = w.table();
        if t.find(key, words, h)
            .is_some_and(|s| Arc::ptr_eq(&s.entry, &seen))
        {
            let (k, e) = t.pop(key, h).expect("present");
            drop(w);
            self.account_removed(&k, &e);
        }
        (None, Lookup::Expired(seen))
    }

    /// Counts the outcome of a [`Lookup::Bound`] entry.
    #[inline]
    pub fn count(&self, key: &[u8], hit: bool) {
        let mut guard = self.shards[self.hash(key).0].read();
        if hit {
            guard.local.hits += 1;
        } else {
            guard.local.misses += 1;
        }
    }

    /// (hits, misses) summed over shards.
    pub fn counts(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(h, m), s| {
            let (sh, sm) = s.counts();
            (h + sh, m + sm)
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
        if self.max_bytes > 0 && size > self.max_bytes {
            // Too big for the tier at all: just drop an older copy.
            return (evicted, self.remove(key));
        }
        let (i, h) = self.hash(key);
        let mut w = self.shards[i].write();
        let t = w.table();
        let old = t.put(key, h, entry);
        if let Some(old) = &old {
            self.bytes.fetch_sub(cost(key, old), Relaxed);
        } else {
            self.entries.fetch_add(1, Relaxed);
        }
        self.bytes.fetch_add(size, Relaxed);
        while self.over_budget() && t.len() > 1 {
            let (k, e) = t.pop_lru().expect("non-empty");
            self.account_removed(&k, &e);
            evicted.push((k, e));
        }
        drop(w);
        // Still over: the other shards hold the rest; evict round robin.
        let shards = self.shards.len();
        let mut j = (i + 1) % shards;
        let mut idle = 0;
        while self.over_budget() && idle < shards {
            if j != i {
                let popped = self.shards[j].write().table().pop_lru();
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
            j = (j + 1) % shards;
        }
        (evicted, old)
    }

    /// Whether `key` is in the tier (without promoting it); `None` when the
    /// tier is disabled.
    pub fn peek(&self, key: &[u8]) -> Option<bool> {
        if !self.enabled() {
            return None;
        }
        let (i, h) = self.hash(key);
        let mut guard = self.shards[i].read();
        Some(guard.parts().1.find(key, &KeyWords::of(key), h).is_some())
    }

    /// Removes `key`.
    pub fn remove(&self, key: &[u8]) -> Option<Arc<Entry>> {
        if !self.enabled() {
            return None;
        }
        let (i, h) = self.hash(key);
        let shard = &self.shards[i];
        // Most removals (bulk writes dropping older copies) find nothing:
        // check under the stripe lock before taking them all.
        let present = shard
            .read()
            .parts()
            .1
            .find(key, &KeyWords::of(key), h)
            .is_some();
        if !present {
            return None;
        }
        let (k, e) = shard.write().table().pop(key, h)?;
        self.account_removed(&k, &e);
        Some(e)
    }

    /// Replaces the entry of `key` by `new` only if it is still `old`
    /// (used to refresh recorded file stamps; the LRU order is kept).
    pub fn replace_if(&self, key: &[u8], old: &Arc<Entry>, new: Arc<Entry>) {
        let (i, h) = self.hash(key);
        let mut w = self.shards[i].write();
        let words = KeyWords::of(key);
        if let Some(slot) = w.table().slots.find_mut(h, |s| s.is(key, &words))
            && Arc::ptr_eq(&slot.entry, old)
        {
            let cost_change = (new.value.len(), old.value.len());
            slot.set(new);
            drop(w);
            self.bytes.fetch_add(cost_change.0, Relaxed);
            self.bytes.fetch_sub(cost_change.1, Relaxed);
        }
    }

    /// Removes every entry for which `pred` is true; returns them.
    pub fn remove_where(&self, mut pred: impl FnMut(&[u8], &Entry) -> bool) -> Vec<Removed> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut w = shard.write();
            let t = w.table();
            let gone: Vec<Slot> = t.slots.extract_if(|s| pred(&s.key, &s.entry)).collect();
            for s in gone {
                t.order.pop(&s.id);
                out.push((s.key, s.entry));
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
        for shard in self.shards.iter() {
            let mut guard = shard.read();
            out.extend(
                guard
                    .parts()
                    .1
                    .slots
                    .iter()
                    .filter(|s| pred(&s.key, &s.entry))
                    .map(|s| (s.key.clone(), s.entry.clone())),
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

    /// `n` distinct keys that fall in one shard.
    fn same_shard_keys(n: usize) -> Vec<Vec<u8>> {
        let m = MemoryTier::new(100_000, 0);
        let shard = m.hash(b"k0").0;
        (0..)
            .map(|i: u32| format!("k{i}").into_bytes())
            .filter(|k| m.hash(k).0 == shard)
            .take(n)
            .collect()
    }

    #[test]
    fn reads_promote_in_order_past_buffer_drains() {
        let ks = same_shard_keys(4);
        let m = MemoryTier::new(3, 0);
        for k in &ks[..3] {
            m.insert(k, entry(b"v", i64::MAX));
        }
        // Read k0 and k1 many times (several buffer drains), k1 last; k2
        // is then the least recently used.
        for _ in 0..TOUCHED_MAX * 3 {
            assert!(matches!(m.lookup(&ks[0], 0), Lookup::Hit(_)));
            assert!(matches!(m.lookup(&ks[1], 0), Lookup::Hit(_)));
        }
        let (evicted, _) = m.insert(&ks[3], entry(b"v", i64::MAX));
        assert_eq!(evicted.len(), 1);
        assert_eq!(&*evicted[0].0, &ks[2][..]);
        // Now k0 (read before k1's last read) is the oldest.
        let (evicted, _) = m.insert(&ks[2], entry(b"v", i64::MAX));
        assert_eq!(&*evicted[0].0, &ks[0][..]);
        assert_eq!(m.counts(), (2 * 3 * TOUCHED_MAX as u64, 0));
        // Replacing a key promotes it too.
        m.insert(&ks[1], entry(b"w", i64::MAX));
        let (evicted, old) = m.insert(&ks[0], entry(b"v", i64::MAX));
        assert!(old.is_none());
        assert_eq!(&*evicted[0].0, &ks[3][..]);
    }

    #[test]
    fn deduplicated_touches_give_the_order_of_every_touch() {
        // Ids that collide in the filter (equal modulo SEEN_SLOTS), repeats,
        // runs shorter and longer than DEDUP_FROM.
        let ids: Vec<u64> = (0..40u64)
            .flat_map(|i| [i, i + SEEN_SLOTS as u64, 2 * SEEN_SLOTS as u64 + i * 3])
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut seen = None;
        for len in [0, 1, DEDUP_FROM - 1, DEDUP_FROM, 200, TOUCHED_MAX] {
            let mut naive = LruCache::unbounded();
            let mut ours = LruCache::unbounded();
            for &id in &ids {
                naive.put(id, 0u64);
                ours.put(id, 0u64);
            }
            let touched: Vec<u64> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ids[(state % 16) as usize * (1 + state.is_multiple_of(7) as usize)]
                })
                .collect();
            for id in &touched {
                naive.promote(id);
            }
            let mut buf = touched.clone();
            apply_touches(&mut buf, &mut ours, &mut seen);
            assert!(buf.is_empty());
            let order = |c: &LruCache<u64, u64>| c.iter().map(|(k, _)| *k).collect::<Vec<_>>();
            assert_eq!(order(&ours), order(&naive), "{len}");
            // The filter is left empty for the next buffer.
            if let Some(s) = &seen {
                assert!(s.iter().all(|&x| x == u64::MAX));
            }
        }
    }

    #[test]
    fn key_hashes_of_short_keys_spread_over_shards() {
        let m = MemoryTier::new(100_000, 0);
        assert_eq!(m.shards.len(), SHARDS);
        let mut per_shard = [0usize; SHARDS];
        let mut hashes = std::collections::HashSet::new();
        for i in 0..16_000u32 {
            let k = format!("k{i}");
            let (shard, h) = m.hash(k.as_bytes());
            per_shard[shard] += 1;
            assert!(hashes.insert(h), "{k}");
        }
        // About 1000 each.
        assert!(
            per_shard.iter().all(|&n| (800..1200).contains(&n)),
            "{per_shard:?}"
        );
        // Long keys use XXH3 and still find their entries.
        let m = MemoryTier::new(10, 0);
        let long = [7u8; 40];
        m.insert(&long, entry(b"v", i64::MAX));
        assert!(matches!(m.lookup(&long, 0), Lookup::Hit(_)));
    }

    #[test]
    fn key_words_tell_keys_apart() {
        let keys: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"b",
            b"ab",
            b"ba",
            b"abc",
            b"acb",
            b"abcd",
            b"abce",
            b"abcdefg",
            b"abcdefh",
            b"abcdefgh",
            b"abcdefgi",
            b"0123456789abcdef",
            b"0123456789abcdeg",
            b"0123456789abcdef0",
            b"0123456789abcdef1",
            b"\0",
            b"\0\0",
        ];
        let m = MemoryTier::new(100, 0);
        for (i, k) in keys.iter().enumerate() {
            m.insert(k, entry(&[i as u8], i64::MAX));
        }
        for (i, k) in keys.iter().enumerate() {
            let got = m.lookup_copy(k, || 0, &mut Some(|v: &[u8]| v.to_vec())).0;
            assert_eq!(got, Some(vec![i as u8]), "{k:?}");
        }
        assert!(matches!(m.lookup(b"abcdefgj", 0), Lookup::Absent));
        assert_eq!(m.len(), keys.len());
    }

    #[test]
    fn threads_share_one_tier_with_exact_counts() {
        let m = Arc::new(MemoryTier::new(200, 0));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    let (mut hits, mut misses) = (0u64, 0u64);
                    for i in 0..20_000u32 {
                        let k = ((i * 7 + t * 13) % 300).to_le_bytes();
                        match i % 10 {
                            0 => drop(m.insert(&k, entry(&k, i64::MAX))),
                            1 => drop(m.remove(&k)),
                            _ => match m.lookup_copy(&k, || 0, &mut Some(|v: &[u8]| v.to_vec())) {
                                (Some(v), _) => {
                                    assert_eq!(v, k);
                                    hits += 1;
                                }
                                (None, Lookup::Absent) => misses += 1,
                                _ => unreachable!(),
                            },
                        }
                    }
                    (hits, misses)
                })
            })
            .collect();
        let (hits, misses) = threads
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(m.counts(), (hits, misses));
        assert!(m.len() <= 200);
        let n = m.len();
        assert_eq!(m.find(|_, _| true).len(), n);
        assert_eq!(m.clear(), n);
        assert_eq!((m.len(), m.bytes()), (0, 0));
    }

    #[test]
    fn small_tiers_have_fewer_shards_and_an_exact_lru() {
        for (max, shards) in [
            (0, 1),
            (4, 1),
            (127, 1),
            (128, 2),
            (300, 4),
            (1024, 16),
            (1 << 20, 16),
        ] {
            assert_eq!(MemoryTier::new(max, 0).shards.len(), shards, "{max}");
        }
        // 4 entries in one shard: the least recently used goes, whatever
        // the keys' hashes.
        let m = MemoryTier::new(4, 0);
        for i in 0..4u8 {
            m.insert(&[i], entry(b"v", i64::MAX));
        }
        assert!(matches!(m.lookup(&[0], 0), Lookup::Hit(_)));
        for (i, gone) in [(4u8, 1u8), (5, 2), (6, 3), (7, 0)] {
            let (evicted, _) = m.insert(&[i], entry(b"v", i64::MAX));
            assert_eq!(evicted.len(), 1);
            assert_eq!(&*evicted[0].0, &[gone][..]);
        }
    }

    #[test]
    fn disabled_tier_keeps_nothing() {
        let m = MemoryTier::new(0, 0);
        m.insert(b"k", entry(b"v", i64::MAX));
        assert!(matches!(m.lookup(b"k", 0), Lookup::Absent));
    }
}
