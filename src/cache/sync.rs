//! Coherence of a process's memory tier with the shared database: writers
//! log overwritten and deleted keys (SQLite triggers, table `changes`); a
//! read checks `PRAGMA data_version` at most every `sync_interval_s` and,
//! when another connection committed, drops the logged keys from memory.
//!
//! Promotions of rows read from SQLite carry the epoch seen before the read;
//! any write or sync in between bumps the epoch and the promotion is
//! skipped, so a row read before a change is never put in memory after it.

use super::engine::Cache;
use super::entry::Entry;
use super::store::{self, Store};
use crate::error::Result;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

struct State {
    data_version: i64,
    log_seq: i64,
}

pub struct Sync {
    /// Held by the one thread syncing (it reads the database without
    /// holding `state`: writers take the connection, then `state`, to
    /// update memory in commit order, so `state` is never held while the
    /// connection is waited for).
    syncing: Mutex<()>,
    state: Mutex<State>,
    epoch: AtomicU64,
    next_ns: AtomicI64,
    interval_ns: i64,
}

/// Change-log rows older than this are pruned (a process that has not
/// synced for that long drops its whole memory tier instead).
const KEEP_CHANGES_NS: i64 = 600_000_000_000;

impl Sync {
    pub fn open(store: &Store, interval_s: f64) -> Result<Sync> {
        let (data_version, log_seq) =
            store.read(|c| Ok((store::data_version(c)?, store::last_change(c)?)))?;
        Ok(Sync {
            syncing: Mutex::new(()),
            state: Mutex::new(State {
                data_version,
                log_seq,
            }),
            epoch: AtomicU64::new(0),
            next_ns: AtomicI64::new(0),
            interval_ns: (interval_s * 1e9) as i64,
        })
    }
}

impl Cache {
    /// Checks for other processes' changes when the interval has passed.
    #[inline]
    pub(super) fn maybe_sync(&self, now: i64) -> Result<()> {
        match &self.sync {
            Some(sync) if now >= sync.next_ns.load(Relaxed) => self.sync_now(sync, now),
            _ => Ok(()),
        }
    }

    /// Out of line: a read reaches it once per sync interval, and inlined
    /// it bloated every memory hit's code and stack frame.
    #[cold]
    #[inline(never)]
    fn sync_now(&self, sync: &Sync, now: i64) -> Result<()> {
        // Another thread syncing right now does it for us.
        let Ok(_syncing) = sync.syncing.try_lock() else {
            return Ok(());
        };
        sync.next_ns
            .store(now.saturating_add(sync.interval_ns), Relaxed);
        let store = self.store.as_ref().expect("persistent tier");
        store.check_same_file()?;
        // Only a syncer changes the state, and this is the only one.
        let seen = {
            let st = sync.state.lock().unwrap_or_else(|e| e.into_inner());
            (st.data_version, st.log_seq)
        };
        let found = store.read(|c| {
            let v = store::data_version(c)?;
            if v == seen.0 {
                return Ok(None);
            }
            Ok(Some((
                v,
                store::changes_since(c, seen.1)?,
                store::last_change(c)?,
            )))
        })?;
        let Some((version, rows, last)) = found else {
            return Ok(());
        };
        // Rows this handle never saw were pruned (it did not sync for
        // KEEP_CHANGES_NS): what they named is unknown, so memory goes.
        // Pruning may have left nothing at all: the log's counter tells.
        let mut st = sync.state.lock().unwrap_or_else(|e| e.into_inner());
        let gap = match rows.first() {
            Some((seq, _)) => *seq > seen.1 + 1,
            None => last > seen.1,
        };
        if gap || rows.iter().any(|(_, k)| k.is_none()) {
            self.memory.clear();
        } else {
            for (_, key) in &rows {
                if let Some(k) = key {
                    self.memory.remove(k);
                }
            }
        }
        st.data_version = version;
        // (With no rows, `last` beyond what was seen means a gap: memory
        // was cleared above.)
        st.log_seq = rows.last().map_or(last.max(seen.1), |(seq, _)| *seq);
        sync.epoch.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The epoch to pass to [`Cache::promote`] (read before the row is).
    pub(super) fn epoch(&self) -> u64 {
        self.sync.as_ref().map_or(0, |s| s.epoch.load(Relaxed))
    }

    /// Puts a row read from SQLite into memory unless something changed
    /// since `epoch`.
    pub(super) fn promote(&self, epoch: u64, key: &[u8], entry: Arc<Entry>) {
        match &self.sync {
            Some(sync) => {
                let _st = sync.state.lock().unwrap_or_else(|e| e.into_inner());
                if sync.epoch.load(Relaxed) == epoch {
                    self.remember(key, entry);
                }
            }
            None => self.remember(key, entry),
        }
    }

    /// Runs a memory-tier update after a committed write, bumping the epoch
    /// so no concurrent promotion of an older row lands after it.
    pub(super) fn publish<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.sync {
            Some(sync) => {
                let _st = sync.state.lock().unwrap_or_else(|e| e.into_inner());
                sync.epoch.fetch_add(1, Relaxed);
                f()
            }
            None => f(),
        }
    }

    /// Drops old change-log rows (with the statistics flush).
    pub(super) fn prune_changes(c: &rusqlite::Connection, now: i64) -> rusqlite::Result<()> {
        store::prune_changes(c, now - KEEP_CHANGES_NS).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::{
        in_memory, open_persistent, stored, writer_a_held_after_its_commit,
    };
    use super::super::engine::{CacheOptions, EntryOptions};
    use super::super::failpoint::{self, Event, Point, Script};
    use std::sync::Arc;

    /// The lock order of f9d4eef: a writer updates memory holding the
    /// connection, then takes the sync state (`Cache::publish`), so a syncer
    /// must not hold the state while it waits for the connection (the
    /// syncer before f9d4eef did: with today's writers the two deadlock).
    /// Writer `a` is held after its commit, holding the connection; a get
    /// on `s` syncs and is met waiting for the connection, where the state
    /// must be free. With the old syncer it was held there every time (and
    /// `a`, let go, would hang on it).
    #[test]
    fn a_syncer_waits_for_the_connection_without_holding_the_sync_state() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CacheOptions {
            sync_interval_s: 0.0,
            ..CacheOptions::default()
        };
        let (c, script, a) = writer_a_held_after_its_commit(opts, dir.path());
        let s = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "s", move || c.get(b"other").unwrap())
        };
        script.wait_for("s waiting for the connection", |e| {
            *e == Event::Reached("s".into(), Point::ConnectionWait)
        });
        let sync = c.sync.as_ref().unwrap();
        assert!(
            sync.state.try_lock().is_ok(),
            "the syncer waits for the connection holding the sync state, \
             which the held writer needs next: a deadlock"
        );
        script.release("a", Point::MemoryUpdate);
        script.join("a", a);
        assert!(script.join("s", s).is_none());
        assert_eq!(in_memory(&c, b"k").as_deref(), Some("a"));
        assert_eq!(stored(&c, b"k").as_deref(), Some("a"));
    }

    /// A get that read a row from SQLite and is about to promote it while a
    /// write of the key commits and updates memory: the promotion carries
    /// the epoch seen before the read, the write bumped it, so the older
    /// row is not put in memory over the newer value. Reader `r` is held
    /// between its read and its promotion while writer `w` runs to the
    /// end; without the epoch check memory kept "old" every time.
    #[test]
    fn a_row_read_before_a_write_is_not_promoted_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_persistent(CacheOptions::default(), dir.path());
        c.set(b"k", b"old", &EntryOptions::new()).unwrap();
        // In the database only, as after an eviction from memory.
        c.memory.remove(b"k");
        let script = Script::install(
            &c.store.as_ref().unwrap().failpoints,
            &[("r", Point::Promote)],
        );
        let r = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "r", move || c.get(b"k").unwrap())
        };
        script.wait_for("r's read", |e| {
            *e == Event::Reached("r".into(), Point::Promote)
        });
        let w = {
            let c = Arc::clone(&c);
            failpoint::spawn(&script, "w", move || {
                c.set(b"k", b"new", &EntryOptions::new()).unwrap()
            })
        };
        // The reader holds no lock while held: the write runs to its end.
        script.join("w", w);
        script.release("r", Point::Promote);
        assert_eq!(script.join("r", r).as_deref(), Some(&b"old"[..]));
        let (memory, db) = (in_memory(&c, b"k"), stored(&c, b"k"));
        assert_eq!(db.as_deref(), Some("new"));
        assert!(
            memory.is_none() || memory == db,
            "memory holds {memory:?}, the database {db:?}"
        );
        assert_eq!(c.get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
    }
}
