//! Explicit removal (`invalidate`, `cleanup_expired`, `clear`),
//! statistics and miss explanations.

use super::engine::Cache;
use super::stamp::now_ns;
use super::stats::{Counters, Miss, Reason, Stats, Totals};
use super::store;
use crate::error::Result;
use std::collections::HashSet;

impl Cache {
    /// Removes `key`; whether it existed.
    pub fn invalidate(&self, key: &[u8]) -> Result<bool> {
        let in_store = match &self.store {
            Some(_) => self.write_one(|c| store::delete(c, key))?,
            None => false,
        };
        let in_memory = self.publish(|| self.memory.remove(key).is_some());
        let existed = in_memory || in_store;
        if existed {
            self.log
                .removed(key, Reason::Invalidated, "invalidate(key)");
            self.counters.invalidated(Reason::Invalidated, 1);
        }
        Ok(existed)
    }

    /// Removes every expired entry (and expired analysis results); returns
    /// how many entries.
    pub fn cleanup_expired(&self) -> Result<usize> {
        let now = now_ns();
        let mut keys: HashSet<Vec<u8>> = HashSet::new();
        if self.store.is_some() {
            let (deleted, _) = self.write(false, |c| {
                Ok((
                    store::delete_expired(c, now)?,
                    store::delete_expired_analysis(c, now)?,
                ))
            })?;
            keys.extend(deleted);
        }
        let gone = self.memory.remove_where(|_, e| e.mem_expires_ns <= now);
        for (k, e) in gone {
            if e.expires_ns <= now {
                keys.insert(k.into_vec());
            }
        }
        for k in &keys {
            self.memory.remove(k);
            self.log
                .removed(k, Reason::Expired, "removed by cleanup_expired");
        }
        self.counters
            .invalidated(Reason::Expired, keys.len() as u64);
        Ok(keys.len())
    }

    /// Removes everything (entries, analysis results, watched paths) from
    /// both tiers.
    pub fn clear(&self) -> Result<()> {
        if self.store.is_some() {
            self.write(false, store::clear)?;
        }
        self.publish(|| self.memory.clear());
        self.analysis_mem.clear();
        self.watched_mem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.log.clear_tombstones();
        Counters::add(&self.counters.clears, 1);
        Ok(())
    }

    /// This handle's and the directory's statistics.
    pub fn stats(&self) -> Result<Stats> {
        let handle = self.handle_totals();
        let mut stats = Stats {
            handle,
            total: handle,
            memory_entries: self.memory.len() as u64,
            memory_bytes: self.memory.bytes() as u64,
            analysis_entries: self.analysis_mem.len() as u64,
            recovered: self.recovered().map(str::to_string),
            ..Stats::default()
        };
        if let Some(store) = &self.store {
            let (entries, bytes, analysis, saved) = store.read(|c| {
                let (n, b) = store::totals(c)?;
                let a: i64 = c.query_row("SELECT count(*) FROM analysis", [], |r| r.get(0))?;
                Ok((n, b, a, store::read_stats(c)?))
            })?;
            let flushed = self.flushed.lock().unwrap_or_else(|e| e.into_inner()).0;
            let saved = Totals::from_fields(|n| saved.get(n).copied().unwrap_or(0));
            stats.total = saved.plus(&handle.minus(&flushed));
            stats.persistent_entries = entries;
            stats.persistent_bytes = bytes;
            stats.analysis_entries = analysis as u64;
        }
        Ok(stats)
    }

    /// Why the last lookups of `key` missed, as JSON text: the recent misses
    /// (reason, detail, age) and whether the key is stored now.
    pub fn explain_miss(&self, key: &[u8]) -> Result<String> {
        let now = now_ns();
        let misses: Vec<serde_json::Value> = self
            .log
            .misses_of(key)
            .into_iter()
            .map(
                |Miss {
                     reason,
                     detail,
                     at_ns,
                 }| {
                    serde_json::json!({
                        "reason": reason,
                        "detail": detail,
                        "age_s": (now - at_ns) as f64 / 1e9,
                    })
                },
            )
            .collect();
        let in_memory = matches!(self.memory.peek(key), Some(true));
        let in_store = match &self.store {
            Some(s) => s.read(|c| Ok(store::get(c, key)?.is_some()))?,
            None => false,
        };
        let last = misses
            .last()
            .map(|m| m["reason"].clone())
            .unwrap_or(serde_json::Value::Null);
        let out = serde_json::json!({
            "key": String::from_utf8_lossy(key),
            "last_reason": last,
            "misses": misses,
            "stored_in_memory": in_memory,
            "stored_in_persistent": in_store,
        });
        Ok(out.to_string())
    }
}
