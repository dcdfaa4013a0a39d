//! Named scopes: enter/exit from any thread, nested, with per-name
//! aggregates, a bounded list of finished scopes, and the scopes with the
//! largest heap growth.
//!
//! The hot path takes no global lock: each thread records into one of
//! `SHARDS` (16) shards picked by its ordinal (so two threads rarely share
//! one), names are interned once and cached per thread, a token is the
//! address of its slot (session, shard, generation, slot index) and the
//! shards are merged only when the profiler stops. A shard is guarded by a
//! [`SpinLock`] (released by a plain store: half the locked instructions of
//! a `Mutex` per pair), as it is almost never contended.

use super::clock::Clock;
use super::interner::Interner;
use super::profile::{MemoryTrace, ScopeEvent, ScopeStats};
use super::spin::{SpinGuard, SpinLock};
use super::{heap, threads};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Number of shards; threads map to `ordinal % SHARDS`.
pub(crate) const SHARDS: usize = 16;
/// Scopes open at once in one shard (a host that never exits its scopes
/// cannot grow memory without bound).
pub(crate) const MAX_OPEN_PER_SHARD: usize = 1 << 20;
/// How many scopes with the largest heap growth a profile keeps.
pub(crate) const MEMORY_TRACES: usize = 10;

const SLOT_BITS: u32 = 24;
const GEN_BITS: u32 = 20;
const SHARD_BITS: u32 = 6;
const SESSION_BITS: u32 = 14;
const SESSION_MASK: u32 = (1 << SESSION_BITS) - 1;
const GEN_MASK: u32 = (1 << GEN_BITS) - 1;
/// Events a shard takes from the shared budget at a time, at most.
const EVENT_CHUNK: usize = 512;

/// A shard takes at most this fraction of the budget left at a time, so
/// shards whose threads stop recording keep little of it unused: at most
/// (SHARDS - 1) / CHUNK_DIVISOR (~12 %) of the cap, and none once the
/// budget left is small (then chunks are single events).
const CHUNK_DIVISOR: usize = 8 * SHARDS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token {
    session: u32,
    shard: usize,
    generation: u32,
    slot: usize,
}

impl Token {
    fn encode(self) -> u64 {
        ((self.session as u64) << (SLOT_BITS + GEN_BITS + SHARD_BITS))
            | ((self.shard as u64) << (SLOT_BITS + GEN_BITS))
            | ((self.generation as u64) << SLOT_BITS)
            | self.slot as u64
    }

    fn decode(raw: u64) -> Token {
        let mask = |bits: u32| (1u64 << bits) - 1;
        Token {
            slot: (raw & mask(SLOT_BITS)) as usize,
            generation: ((raw >> SLOT_BITS) & mask(GEN_BITS)) as u32,
            shard: ((raw >> (SLOT_BITS + GEN_BITS)) & mask(SHARD_BITS)) as usize,
            session: (raw >> (SLOT_BITS + GEN_BITS + SHARD_BITS)) as u32,
        }
    }
}

/// The session after `s` (14 bits, never 0).
pub fn next_session(s: u32) -> u32 {
    let n = (s + 1) & SESSION_MASK;
    if n == 0 { 1 } else { n }
}

/// Whether `old` is a session before `current` (allowing wrap-around).
fn is_earlier(old: u32, current: u32) -> bool {
    old != 0 && old != current && (current.wrapping_sub(old) & SESSION_MASK) < (1 << 13)
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: u32,
    live: bool,
    name: u32,
    thread: u32,
    start_ns: u64,
    heap_start: u64,
}

#[derive(Debug, Clone, Copy)]
struct Agg {
    count: u64,
    total_ns: u64,
    min_ns: u64,
    max_ns: u64,
    growth: i64,
    max_growth: i64,
}

const EMPTY_AGG: Agg = Agg {
    count: 0,
    total_ns: 0,
    min_ns: u64::MAX,
    max_ns: 0,
    growth: 0,
    max_growth: i64::MIN,
};

impl Agg {
    fn add(&mut self, dur_ns: u64, growth: i64) {
        self.count += 1;
        self.total_ns += dur_ns;
        self.min_ns = self.min_ns.min(dur_ns);
        self.max_ns = self.max_ns.max(dur_ns);
        self.growth += growth;
        self.max_growth = self.max_growth.max(growth);
    }
    fn merge(&mut self, o: &Agg) {
        self.count += o.count;
        self.total_ns += o.total_ns;
        self.min_ns = self.min_ns.min(o.min_ns);
        self.max_ns = self.max_ns.max(o.max_ns);
        self.growth += o.growth;
        self.max_growth = self.max_growth.max(o.max_growth);
    }
}

#[derive(Debug, Clone, Copy)]
struct RawEvent {
    name: u32,
    thread: u32,
    start_ns: u64,
    dur_ns: u64,
    growth: i64,
}

#[derive(Debug, Clone, Copy)]
struct RawTrace {
    event: RawEvent,
    before: u64,
    after: u64,
}

struct Shard {
    session: u32,
    active: bool,
    /// Ticks at the start of the session.
    epoch: u64,
    slots: Vec<Slot>,
    free: Vec<u32>,
    aggs: Vec<Agg>,
    events: Vec<RawEvent>,
    allowance: usize,
    dropped: u64,
    top: Vec<RawTrace>,
}

impl Shard {
    fn new() -> Self {
        Shard {
            session: 0,
            active: false,
            epoch: 0,
            slots: Vec::new(),
            free: Vec::new(),
            aggs: Vec::new(),
            events: Vec::new(),
            allowance: 0,
            dropped: 0,
            top: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.slots = Vec::new();
        self.free = Vec::new();
        self.aggs = Vec::new();
        self.events = Vec::new();
        self.allowance = 0;
        self.dropped = 0;
        self.top = Vec::new();
    }

    fn keep_trace(&mut self, trace: RawTrace) {
        if self.top.len() == MEMORY_TRACES
            && self
                .top
                .last()
                .is_some_and(|t| t.event.growth >= trace.event.growth)
        {
            return;
        }
        let pos = self
            .top
            .iter()
            .position(|t| t.event.growth < trace.event.growth)
            .unwrap_or(self.top.len());
        self.top.insert(pos, trace);
        self.top.truncate(MEMORY_TRACES);
    }
}

/// A shard padded to its own cache lines, so threads on different shards
/// never share a line.
#[repr(align(128))]
struct Padded(SpinLock<Shard>);

/// What the scopes of one session amount to.
#[derive(Debug, Clone, Default)]
pub struct ScopeResults {
    pub stats: Vec<ScopeStats>,
    pub events: Vec<ScopeEvent>,
    pub events_dropped: u64,
    pub unfinished: u64,
    pub memory_traces: Vec<MemoryTrace>,
    pub threads: Vec<(u32, String)>,
}

/// The scope recorder of one profiler.
pub struct Scopes {
    clock: Clock,
    interner: Interner,
    trace_memory: bool,
    shards: Box<[Padded]>,
    event_budget: AtomicUsize,
}

impl Scopes {
    pub fn new(uid: u64, trace_memory: bool) -> Self {
        Scopes {
            clock: Clock::detect(),
            interner: Interner::new(uid),
            trace_memory,
            shards: (0..SHARDS)
                .map(|_| Padded(SpinLock::new(Shard::new())))
                .collect(),
            event_budget: AtomicUsize::new(0),
        }
    }

    fn shard(&self, i: usize) -> SpinGuard<'_, Shard> {
        self.shards[i].0.lock()
    }

    /// The clock of scope timestamps.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Opens the recording of session `session`, times relative to `epoch`
    /// (ticks of [`Scopes::clock`]), keeping at most `max_events` finished
    /// scopes.
    pub fn begin(&self, session: u32, epoch: u64, max_events: usize) {
        self.event_budget.store(max_events, Ordering::Relaxed);
        for i in 0..SHARDS {
            let mut shard = self.shard(i);
            shard.reset();
            shard.session = session;
            shard.epoch = epoch;
            shard.active = true;
        }
    }

    /// The id of a scope name, for [`Scopes::enter_id`].
    pub fn intern(&self, name: &str) -> u32 {
        self.interner.id(name)
    }

    /// The id of a scope name given as bytes (from C); invalid-kind error
    /// when they are not UTF-8.
    #[inline]
    pub fn intern_bytes(&self, name: &[u8]) -> Result<u32> {
        self.interner
            .id_bytes(name)
            .map_err(|_| Error::invalid("the scope name is not valid UTF-8"))
    }

    /// The process-unique id of this recorder's profiler (never 0): names
    /// cached per thread by callers are keyed by it, as ids are only
    /// meaningful to the profiler that gave them.
    pub fn uid(&self) -> u64 {
        self.interner.uid()
    }

    /// Enters a scope named `name`; the token identifies it to [`Scopes::exit`].
    #[inline]
    pub fn enter(&self, name: &str) -> Result<u64> {
        self.enter_known(self.interner.id(name))
    }

    /// Enters a scope whose name is given as bytes (from C); invalid-kind
    /// error when they are not UTF-8.
    #[inline]
    pub fn enter_bytes(&self, name: &[u8]) -> Result<u64> {
        let id = self.intern_bytes(name)?;
        self.enter_known(id)
    }

    /// Enters a scope by a name id from [`Scopes::intern`].
    #[inline]
    pub fn enter_id(&self, id: u32) -> Result<u64> {
        if !self.interner.contains(id) {
            return Err(Error::invalid(format!("unknown scope name id {id}")));
        }
        self.enter_known(id)
    }

    #[inline]
    fn enter_known(&self, id: u32) -> Result<u64> {
        let thread = threads::ordinal();
        let shard_ix = thread as usize % SHARDS;
        let heap_start = if self.trace_memory {
            heap::read_exact()
        } else {
            0
        };
        let now = self.clock.ticks();
        let mut shard = self.shard(shard_ix);
        if !shard.active {
            return Err(Error::state("the profiler is not running"));
        }
        let start_ns = now.saturating_sub(shard.epoch);
        let slot_ix = match shard.free.pop() {
            Some(ix) => ix as usize,
            None => {
                if shard.slots.len() >= MAX_OPEN_PER_SHARD {
                    return Err(Error::invalid(format!(
                        "more than {MAX_OPEN_PER_SHARD} scopes open at once on one shard"
                    )));
                }
                shard.slots.push(Slot {
                    generation: 1,
                    live: false,
                    name: 0,
                    thread: 0,
                    start_ns: 0,
                    heap_start: 0,
                });
                shard.slots.len() - 1
            }
        };
        let session = shard.session;
        let slot = &mut shard.slots[slot_ix];
        slot.live = true;
        slot.name = id;
        slot.thread = thread;
        slot.start_ns = start_ns;
        slot.heap_start = heap_start;
        Ok(Token {
            session,
            shard: shard_ix,
            generation: slot.generation,
            slot: slot_ix,
        }
        .encode())
    }

    /// Exits the scope of `token` (from any thread). A token of an earlier,
    /// finished session is ignored; any other unknown token is invalid.
    #[inline]
    pub fn exit(&self, token: u64) -> Result<()> {
        let t = Token::decode(token);
        if t.shard >= SHARDS || t.generation == 0 {
            return Err(unknown(token));
        }
        let now = self.clock.ticks();
        let heap_end = if self.trace_memory {
            heap::read_exact()
        } else {
            0
        };
        let mut shard = self.shard(t.shard);
        if t.session != shard.session {
            return if shard.session != 0 && is_earlier(t.session, shard.session) {
                Ok(())
            } else {
                Err(unknown(token))
            };
        }
        if !shard.active {
            // Its session was stopped while the scope was open.
            return Ok(());
        }
        let end_ns = now.saturating_sub(shard.epoch);
        let Some(slot) = shard.slots.get_mut(t.slot) else {
            return Err(unknown(token));
        };
        if !slot.live || slot.generation != t.generation {
            return Err(unknown(token));
        }
        let s = *slot;
        slot.live = false;
        slot.generation = (slot.generation + 1) & GEN_MASK;
        if slot.generation == 0 {
            slot.generation = 1;
        }
        shard.free.push(t.slot as u32);

        let dur_ns = end_ns.saturating_sub(s.start_ns);
        let growth = heap_end as i64 - s.heap_start as i64;
        let name = s.name as usize;
        if name >= shard.aggs.len() {
            shard.aggs.resize(name + 1, EMPTY_AGG);
        }
        shard.aggs[name].add(dur_ns, growth);
        let event = RawEvent {
            name: s.name,
            thread: s.thread,
            start_ns: s.start_ns,
            dur_ns,
            growth,
        };
        if shard.allowance == 0 {
            shard.allowance = self.take_budget();
        }
        if shard.allowance > 0 {
            shard.allowance -= 1;
            shard.events.push(event);
        } else {
            shard.dropped += 1;
        }
        if self.trace_memory {
            shard.keep_trace(RawTrace {
                event,
                before: s.heap_start,
                after: heap_end,
            });
        }
        Ok(())
    }

    fn take_budget(&self) -> usize {
        // Once the budget is spent (always, with `max_scope_events` 0),
        // every exit comes here: a plain load keeps the shared line clean.
        if self.event_budget.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let mut got = 0;
        let _ = self
            .event_budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                got = left.min(EVENT_CHUNK).min((left / CHUNK_DIVISOR).max(1));
                Some(left - got)
            });
        got
    }

    /// Closes the session and merges every shard; `ns_per_tick` converts
    /// the clock's ticks (see [`Clock::ns_per_tick`]).
    pub fn finish(&self, ns_per_tick: f64) -> ScopeResults {
        let secs = |ticks: u64| ticks as f64 * ns_per_tick / 1e9;
        let mut aggs: Vec<Agg> = Vec::new();
        let mut events = Vec::new();
        let mut top = Vec::new();
        let mut dropped = 0;
        let mut unfinished = 0;
        for i in 0..SHARDS {
            let mut shard = self.shard(i);
            shard.active = false;
            if shard.aggs.len() > aggs.len() {
                aggs.resize(shard.aggs.len(), EMPTY_AGG);
            }
            for (a, b) in aggs.iter_mut().zip(&shard.aggs) {
                a.merge(b);
            }
            events.append(&mut shard.events);
            top.extend_from_slice(&shard.top);
            dropped += shard.dropped;
            unfinished += shard.slots.iter().filter(|s| s.live).count() as u64;
            shard.reset();
        }
        let name = |id: u32| self.interner.name(id).to_string();
        let mut stats: Vec<ScopeStats> = aggs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.count > 0)
            .map(|(id, a)| ScopeStats {
                name: name(id as u32),
                count: a.count,
                total_s: secs(a.total_ns),
                min_s: secs(a.min_ns),
                max_s: secs(a.max_ns),
                mean_s: secs(a.total_ns) / a.count as f64,
                heap_growth_bytes: if self.trace_memory { a.growth } else { 0 },
                max_heap_growth_bytes: if self.trace_memory { a.max_growth } else { 0 },
            })
            .collect();
        stats.sort_by(|a, b| b.total_s.total_cmp(&a.total_s).then(a.name.cmp(&b.name)));
        events.sort_by_key(|e| (e.start_ns, std::cmp::Reverse(e.dur_ns)));
        let mut thread_ids: Vec<u32> = events.iter().map(|e| e.thread).collect();
        thread_ids.sort_unstable();
        thread_ids.dedup();
        top.sort_by_key(|t| std::cmp::Reverse(t.event.growth));
        top.truncate(MEMORY_TRACES);
        ScopeResults {
            stats,
            events: events
                .iter()
                .map(|e| ScopeEvent {
                    name: name(e.name),
                    thread: e.thread,
                    start_s: secs(e.start_ns),
                    duration_s: secs(e.dur_ns),
                    heap_growth_bytes: e.growth,
                })
                .collect(),
            events_dropped: dropped,
            unfinished,
            memory_traces: top
                .iter()
                .map(|t| MemoryTrace {
                    name: name(t.event.name),
                    thread: t.event.thread,
                    start_s: secs(t.event.start_ns),
                    duration_s: secs(t.event.dur_ns),
                    heap_before_bytes: t.before,
                    heap_after_bytes: t.after,
                    growth_bytes: t.event.growth,
                })
                .collect(),
            threads: thread_ids
                .into_iter()
                .map(|id| (id, threads::name(id)))
                .collect(),
        }
    }
}

fn unknown(token: u64) -> Error {
    Error::invalid(format!("unknown scope token {token:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiler::sys;
    use std::sync::Arc;

    fn begin(s: &Scopes, max_events: usize) -> (u64, std::time::Instant) {
        let mark = s.clock().mark();
        s.begin(1, mark.0, max_events);
        mark
    }

    fn finish(s: &Scopes, mark: (u64, std::time::Instant)) -> ScopeResults {
        s.finish(s.clock().ns_per_tick(mark, s.clock().mark()))
    }

    #[test]
    fn tokens_round_trip() {
        let t = Token {
            session: SESSION_MASK,
            shard: SHARDS - 1,
            generation: GEN_MASK,
            slot: (1 << SLOT_BITS) - 1,
        };
        assert_eq!(Token::decode(t.encode()), t);
        assert_eq!(next_session(SESSION_MASK), 1);
        assert!(is_earlier(1, 2));
        assert!(is_earlier(SESSION_MASK, 1));
        assert!(!is_earlier(3, 2));
        assert!(!is_earlier(0, 2));
    }

    #[test]
    fn nested_scopes_aggregate_and_bad_tokens_fail() {
        let s = Scopes::new(7001, false);
        assert_eq!(s.enter("x").unwrap_err().kind, crate::ErrorKind::State);
        let mark = begin(&s, 100);
        let outer = s.enter("outer").unwrap();
        let inner = s.enter("inner").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        s.exit(inner).unwrap();
        assert_eq!(s.exit(inner).unwrap_err().kind, crate::ErrorKind::Invalid);
        let inner2 = s.enter("inner").unwrap();
        s.exit(inner2).unwrap();
        s.exit(outer).unwrap();
        assert_eq!(s.exit(0).unwrap_err().kind, crate::ErrorKind::Invalid);
        assert_eq!(
            s.exit(u64::MAX).unwrap_err().kind,
            crate::ErrorKind::Invalid
        );
        let id = s.intern("by id");
        let t = s.enter_id(id).unwrap();
        s.exit(t).unwrap();
        assert_eq!(
            s.enter_id(id + 100).unwrap_err().kind,
            crate::ErrorKind::Invalid
        );
        let open = s.enter("never closed").unwrap();
        let r = finish(&s, mark);
        assert_eq!(r.unfinished, 1);
        // A token of a finished session is ignored.
        s.exit(open).unwrap();
        assert_eq!(r.stats.len(), 3);
        assert_eq!(r.stats[0].name, "outer");
        assert_eq!(r.stats.iter().find(|x| x.name == "by id").unwrap().count, 1);
        let inner = r.stats.iter().find(|x| x.name == "inner").unwrap();
        assert_eq!(inner.count, 2);
        assert!(inner.max_s >= 0.002 && inner.min_s <= inner.max_s);
        assert!((inner.mean_s - inner.total_s / 2.0).abs() < 1e-12);
        assert_eq!(r.events.len(), 4);
        assert_eq!(r.events[0].name, "outer");
    }

    #[test]
    fn events_are_capped_and_threads_may_cross() {
        let s = Arc::new(Scopes::new(7002, true));
        let mark = begin(&s, 10);
        let tok = s.enter("cross").unwrap();
        let s2 = Arc::clone(&s);
        std::thread::spawn(move || s2.exit(tok).unwrap())
            .join()
            .unwrap();
        for _ in 0..2000 {
            let t = s.enter("many").unwrap();
            let v: Vec<u8> = vec![1; 100];
            std::hint::black_box(&v);
            s.exit(t).unwrap();
        }
        let r = finish(&s, mark);
        assert_eq!(r.events.len(), 10);
        assert_eq!(r.events_dropped, 2001 - 10);
        assert_eq!(r.stats.iter().map(|x| x.count).sum::<u64>(), 2001);
        assert!(r.memory_traces.len() <= MEMORY_TRACES);
    }

    /// Threads that record a scope and stop keep little of the budget: the
    /// cap is reached by the thread that goes on (chunks of 512 from the
    /// start let two idle threads take a cap of 1000 between them).
    #[test]
    fn idle_threads_keep_little_of_the_event_budget() {
        let s = Arc::new(Scopes::new(7004, false));
        let mark = begin(&s, 1000);
        for _ in 0..3 {
            let s2 = Arc::clone(&s);
            std::thread::spawn(move || {
                let t = s2.enter("once").unwrap();
                s2.exit(t).unwrap();
            })
            .join()
            .unwrap();
        }
        for _ in 0..1000 {
            let t = s.enter("many").unwrap();
            s.exit(t).unwrap();
        }
        let r = finish(&s, mark);
        assert_eq!(r.events.len() as u64 + r.events_dropped, 1003);
        assert!(
            r.events.len() >= 1000 - 3 * 1000 / CHUNK_DIVISOR,
            "{}",
            r.events.len()
        );
    }

    #[test]
    fn memory_traces_are_the_largest_growths() {
        let s = Scopes::new(7003, true);
        let mark = begin(&s, 1000);
        // Steps of 8 MB: other tests of this binary allocate at the same
        // time (the heap figure is process-wide), but far less than that.
        for i in 0..12usize {
            let t = s.enter(&format!("alloc-{i}")).unwrap();
            let v = vec![7u8; (i + 1) << 23];
            s.exit(t).unwrap();
            drop(v);
        }
        let r = finish(&s, mark);
        assert_eq!(r.memory_traces.len(), MEMORY_TRACES);
        assert!(
            r.memory_traces
                .windows(2)
                .all(|w| w[0].growth_bytes >= w[1].growth_bytes)
        );
        if sys::HEAP_AVAILABLE {
            // Loose: other tests of this binary allocate meanwhile (the
            // heap figure is process-wide); tests/profiler.rs is exact.
            // Another test's allocation may land inside a scope and lift
            // it past a larger one: the two largest are kept, whatever
            // their order, and the top grew by at least the 64 MiB step.
            let top = &r.memory_traces[0];
            assert!(top.growth_bytes >= 64 << 20, "{top:?}");
            let names: Vec<&str> = r.memory_traces.iter().map(|t| t.name.as_str()).collect();
            for want in ["alloc-11", "alloc-10"] {
                assert!(names.contains(&want), "{want} not in {names:?}");
            }
        }
    }

    #[test]
    fn keep_trace_keeps_the_largest_in_order() {
        let mut shard = Shard::new();
        for g in [5i64, -3, 40, 7, 7, 100, 0, 12, 9, 1, 2, 60, 8, 3] {
            shard.keep_trace(RawTrace {
                event: RawEvent {
                    name: 0,
                    thread: 1,
                    start_ns: 0,
                    dur_ns: 0,
                    growth: g,
                },
                before: 0,
                after: 0,
            });
        }
        let kept: Vec<i64> = shard.top.iter().map(|t| t.event.growth).collect();
        assert_eq!(kept, vec![100, 60, 40, 12, 9, 8, 7, 7, 5, 3]);
    }
}
