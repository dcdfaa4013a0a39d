//! Scope names interned once per profiler, with a per-thread cache so the
//! hot path of `scope_enter` takes no shared lock for a name it has seen.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Distinct names one profiler keeps; later new names share
/// [`OVERFLOW_NAME`], so a host that builds a new name per call cannot grow
/// memory without bound.
pub(crate) const MAX_NAMES: usize = 65_536;
/// The name given to scopes past [`MAX_NAMES`].
pub(crate) const OVERFLOW_NAME: &str = "(other names)";

/// The multiply-rotate hash of rustc (FxHash): fast on short keys; names
/// come from the host, but a slow lookup is the worst a hostile name can do.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct Table {
    ids: FxMap<Box<str>, u32>,
    names: Vec<Arc<str>>,
}

/// Name <-> id table of one profiler.
pub struct Interner {
    uid: u64,
    table: RwLock<Table>,
    /// Number of names, readable without the lock.
    count: AtomicUsize,
}

/// Per-thread caches of (profiler uid -> name -> id); a few profilers at
/// once per thread, each cache bounded. In front of them, a few recent
/// short names stored inline, found without hashing.
struct LocalCaches {
    recent: [Recent; RECENT],
    caches: Vec<(u64, FxMap<Box<str>, u32>)>,
}

#[derive(Clone, Copy)]
struct Recent {
    uid: u64,
    id: u32,
    len: u8,
    bytes: [u8; RECENT_LEN],
}

const RECENT: usize = 8;
const RECENT_LEN: usize = 32;
const NO_RECENT: Recent = Recent {
    uid: 0,
    id: 0,
    len: 0,
    bytes: [0; RECENT_LEN],
};

#[inline]
fn recent_slot(name: &[u8]) -> usize {
    let first = name.first().copied().unwrap_or(0) as usize;
    let last = name.last().copied().unwrap_or(0) as usize;
    (name.len() ^ (first << 1) ^ (last << 2)) % RECENT
}

const LOCAL_PROFILERS: usize = 4;
const LOCAL_NAMES: usize = 4096;

thread_local! {
    static LOCAL: RefCell<LocalCaches> = const {
        RefCell::new(LocalCaches { recent: [NO_RECENT; RECENT], caches: Vec::new() })
    };
}

impl Interner {
    pub fn new(uid: u64) -> Self {
        Interner {
            uid,
            table: RwLock::new(Table::default()),
            count: AtomicUsize::new(0),
        }
    }

    /// The uid given to [`Interner::new`].
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// The id of `name` if this thread looked it up recently.
    #[inline]
    fn recent(&self, bytes: &[u8]) -> Option<u32> {
        let slot = recent_slot(bytes);
        LOCAL.with(|local| {
            let local = local.borrow();
            let r = &local.recent[slot];
            (r.uid == self.uid && r.len as usize == bytes.len() && &r.bytes[..bytes.len()] == bytes)
                .then_some(r.id)
        })
    }

    /// The id of a name given as bytes, which must be UTF-8 (checked only
    /// when the name is not among this thread's recent ones, which were).
    #[inline]
    pub fn id_bytes(&self, bytes: &[u8]) -> Result<u32, std::str::Utf8Error> {
        if let Some(id) = self.recent(bytes) {
            return Ok(id);
        }
        Ok(self.id_slow(std::str::from_utf8(bytes)?))
    }

    /// The id of `name`, interning it on first sight.
    #[inline]
    pub fn id(&self, name: &str) -> u32 {
        match self.recent(name.as_bytes()) {
            Some(id) => id,
            None => self.id_slow(name),
        }
    }

    fn id_slow(&self, name: &str) -> u32 {
        let bytes = name.as_bytes();
        let slot = recent_slot(bytes);
        let cached = LOCAL.with(|local| {
            local
                .borrow()
                .caches
                .iter()
                .find(|(uid, _)| *uid == self.uid)
                .and_then(|(_, map)| map.get(name).copied())
        });
        let id = match cached {
            Some(id) => id,
            None => self.intern(name),
        };
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if bytes.len() <= RECENT_LEN {
                let r = &mut local.recent[slot];
                r.uid = self.uid;
                r.id = id;
                r.len = bytes.len() as u8;
                r.bytes[..bytes.len()].copy_from_slice(bytes);
            }
            if cached.is_some() {
                return;
            }
            let pos = match local.caches.iter().position(|(uid, _)| *uid == self.uid) {
                Some(pos) => pos,
                None => {
                    if local.caches.len() == LOCAL_PROFILERS {
                        local.caches.remove(0);
                    }
                    local.caches.push((self.uid, FxMap::default()));
                    local.caches.len() - 1
                }
            };
            let map = &mut local.caches[pos].1;
            if map.len() >= LOCAL_NAMES {
                map.clear();
            }
            map.insert(name.into(), id);
        });
        id
    }

    /// Whether `id` was handed out by this interner.
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        (id as usize) < self.count.load(Ordering::Acquire)
    }

    fn intern(&self, name: &str) -> u32 {
        if let Some(&id) = self
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .ids
            .get(name)
        {
            return id;
        }
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = table.ids.get(name) {
            return id;
        }
        let name = if table.names.len() >= MAX_NAMES {
            if let Some(&id) = table.ids.get(OVERFLOW_NAME) {
                return id;
            }
            OVERFLOW_NAME
        } else {
            name
        };
        let id = table.names.len() as u32;
        table.names.push(Arc::from(name));
        table.ids.insert(name.into(), id);
        self.count.store(table.names.len(), Ordering::Release);
        id
    }

    /// The name of an id handed out by [`Interner::id`].
    pub fn name(&self, id: u32) -> Arc<str> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        table
            .names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from("?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_id_across_threads() {
        let i = Arc::new(Interner::new(991));
        let a = i.id("parse");
        let b = i.id("lint");
        assert_ne!(a, b);
        assert_eq!(i.id("parse"), a);
        let i2 = Arc::clone(&i);
        let c = std::thread::spawn(move || i2.id("lint")).join().unwrap();
        assert_eq!(c, b);
        assert_eq!(&*i.name(a), "parse");
        // Another profiler has its own ids.
        let other = Interner::new(992);
        assert_eq!(other.id("lint"), 0);
    }

    #[test]
    fn recent_cache_never_confuses_names() {
        let i = Interner::new(994);
        let names: Vec<String> = (0..200).map(|n| format!("n{}{}", n % 7, n)).collect();
        for round in 0..3 {
            for (k, name) in names.iter().enumerate() {
                let name = if round == 1 {
                    &names[names.len() - 1 - k]
                } else {
                    name
                };
                let id = i.id(name);
                assert_eq!(&*i.name(id), name.as_str());
                assert!(i.contains(id));
            }
        }
        assert!(!i.contains(200));
        let long = "x".repeat(100);
        let id = i.id(&long);
        assert_eq!(i.id(&long), id);
        assert_eq!(&*i.name(id), long.as_str());
    }

    #[test]
    fn names_are_bounded() {
        let i = Interner::new(993);
        for n in 0..MAX_NAMES + 10 {
            i.id(&format!("name-{n}"));
        }
        let over = i.id("one more");
        assert_eq!(&*i.name(over), OVERFLOW_NAME);
        assert_eq!(i.id("yet another"), over);
    }
}
