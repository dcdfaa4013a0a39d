//! The pipeline: walker threads find files (`walker.rs`), stat, read and
//! hash them, and the results reach the host in one of four ways.
//!
//! * **Inline** (`threads = 1`, any mode): the calling thread walks,
//!   processes and delivers; no thread is started.
//! * **Workers** (`callbacks_parallel`, unsorted): each walker thread
//!   processes the files it finds and calls the host itself. No hop, no
//!   queue; the calling thread only waits.
//! * **Host** (the default, unsorted): the calling thread is one of the
//!   walker threads. It delivers its own files at once; the others send
//!   theirs in batches (`chunk_size` files or [`BATCH_BYTES`], or what they
//!   hold when they finish a directory) through a queue of `2 * threads`
//!   batches, which the calling thread empties between its own files and
//!   whenever it has no walk work. Every callback runs on the calling thread.
//! * **Sorted**: one thread lists the tree sequentially in path order (the
//!   walk alone is cheap) and numbers the files; reader threads process them
//!   in parallel; the calling thread puts results back in order in a reorder
//!   window of `threads * chunk_size` files and delivers them. The lister
//!   may run at most one window ahead of delivery, so memory stays bounded.
//!
//! Every worker body runs under `catch_unwind`: a panic stops the run and is
//! returned as an error after all threads were joined, never a hang.

use super::options::ScanOptions;
use super::queue::BatchQueue;
use super::summary::{Counters, PROGRESS_PERIOD, Progress, Throttle};
use super::walker::{Entry, Flow, Walker};
use super::{Control, IssueKind, ScanIssue};
use crate::error::{Error, Result};
use crossbeam_channel::{RecvTimeoutError, bounded, unbounded};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use super::walker::Found;

/// How long the calling thread, out of walk work, waits for a batch
/// before it looks for walk work again.
const CALLER_WAIT: Duration = Duration::from_micros(500);

/// A batch on its way to the host is sent once it holds this many bytes
/// of content (or `chunk_size` files).
const BATCH_BYTES: u64 = 1 << 20;

/// What travels to the host.
pub(crate) enum Event<T> {
    /// A processed file.
    Item(T),
    /// A problem; `file` tells whether it concerns one found file (counted
    /// as done) or the walk.
    Issue {
        issue: ScanIssue,
        file: bool,
    },
    Progress(Progress),
}

/// What the thread that processes a file does with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Delivers it itself, at once: its content waits for nobody, so it is
    /// not charged to the read budget (which bounds content waiting).
    Deliver,
    /// Hands it on to the delivering thread: its content is charged to the
    /// read budget. `holding`: the thread holds results not passed on yet
    /// (a batch), so it must not wait for memory they may be holding.
    HandOn { holding: bool },
}

/// What a worker knows while it processes a file.
pub(crate) struct Ctx<'a> {
    pub counters: &'a Counters,
    stop: &'a AtomicBool,
    /// Sorted delivery: the sequence number the host needs next, and this
    /// file's.
    turn: Option<(&'a AtomicU64, u64)>,
    pass: Pass,
}

impl<'a> Ctx<'a> {
    /// A context outside any run (unit tests): results handed on.
    #[cfg(test)]
    pub(crate) fn detached(counters: &'a Counters, stop: &'a AtomicBool) -> Ctx<'a> {
        Ctx {
            counters,
            stop,
            turn: None,
            pass: Pass::HandOn { holding: false },
        }
    }

    /// The same context, for a thread that passes results on so.
    #[cfg(test)]
    pub(crate) fn passing(self, pass: Pass) -> Ctx<'a> {
        Ctx { pass, ..self }
    }

    /// Whether the file may be put off and delivered later (unsorted).
    pub(crate) fn can_defer(&self) -> bool {
        self.turn.is_none()
    }

    /// Whether what this file's content takes counts against the read
    /// budget (it will wait for another thread to deliver it).
    pub(crate) fn charged(&self) -> bool {
        matches!(self.pass, Pass::HandOn { .. })
    }

    /// A read that must not wait for memory: the thread holds results not
    /// passed on yet, the run is stopping, or the host is waiting for
    /// exactly this file.
    pub(crate) fn go_ahead(&self) -> bool {
        self.pass == Pass::HandOn { holding: true }
            || self.stop.load(Relaxed)
            || self
                .turn
                .is_some_and(|(next, seq)| next.load(Relaxed) == seq)
    }
}

/// The per-file work done on worker threads.
pub(crate) trait Process: Sync {
    type Item: Send;
    /// Stat, read, hash ... one regular file. `None`: nothing to report (the
    /// file stopped being a regular file since the walk saw it).
    fn process(&self, found: Found, ctx: &Ctx<'_>) -> Option<Event<Self::Item>>;
    /// Processes files put off earlier (only when [`Ctx::can_defer`]) that
    /// can be now; when `last`, every one of them, waiting if needed.
    fn drain(&self, _ctx: &Ctx<'_>, _last: bool, _emit: &mut dyn FnMut(Event<Self::Item>)) {}
    /// Bytes of content an item holds (what a batch may keep from the host).
    fn weight(_item: &Self::Item) -> u64 {
        0
    }
}

/// Where callbacks run.
pub(crate) enum Delivery<'a, T> {
    /// On the calling thread, one at a time.
    Host(&'a mut dyn FnMut(Event<T>) -> Control),
    /// On worker threads, concurrently (in order from the calling thread
    /// when sorted).
    Workers(&'a (dyn Fn(Event<T>) -> Control + Sync)),
}

struct Shared<'a, P> {
    opts: &'a ScanOptions,
    process: &'a P,
    counters: &'a Counters,
    stop: AtomicBool,
    aborted: AtomicBool,
    panic: Mutex<Option<String>>,
    throttle: Throttle,
    /// Sorted delivery: the next sequence number to deliver.
    next_emit: AtomicU64,
}

impl<P: Process> Shared<'_, P> {
    fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }

    fn fail(&self, payload: &(dyn std::any::Any + Send)) {
        let msg = panic_text(payload);
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(msg);
        self.stop.store(true, Relaxed);
    }

    fn abort(&self) {
        self.aborted.store(true, Relaxed);
        self.stop.store(true, Relaxed);
    }

    /// Counts an event as it is delivered.
    fn account(&self, ev: &Event<P::Item>) {
        let c = self.counters;
        match ev {
            Event::Item(_) => Counters::add(&c.done, 1),
            Event::Issue { issue, file } => {
                if *file {
                    Counters::add(&c.done, 1);
                }
                match issue.kind {
                    IssueKind::TooLarge => Counters::add(&c.skipped, 1),
                    _ => Counters::add(&c.errors, 1),
                }
            }
            Event::Progress(_) => {}
        }
    }

    /// Runs a host callback under `catch_unwind`; a panic or a stop request
    /// stops the run.
    fn call(&self, f: impl FnOnce() -> Control) -> Control {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(Control::Continue) => Control::Continue,
            Ok(Control::Stop) => {
                self.abort();
                Control::Stop
            }
            Err(payload) => {
                self.fail(&*payload);
                Control::Stop
            }
        }
    }

    fn found(&self, found: Found) -> Found {
        self.counters.seen.add(1);
        found
    }

    /// Processes a found file under `catch_unwind`.
    fn process(&self, found: Found, seq: Option<u64>, pass: Pass) -> Option<Event<P::Item>> {
        let ctx = Ctx {
            counters: self.counters,
            stop: &self.stop,
            turn: seq.map(|s| (&self.next_emit, s)),
            pass,
        };
        match catch_unwind(AssertUnwindSafe(|| self.process.process(found, &ctx))) {
            Ok(ev) => ev,
            Err(payload) => {
                self.fail(&*payload);
                None
            }
        }
    }

    /// Delivers files the process put off that are ready now (all of them
    /// when `last`), passed on as `pass` says.
    fn drain(&self, last: bool, pass: Pass, emit: &mut dyn FnMut(Event<P::Item>)) {
        let ctx = Ctx {
            counters: self.counters,
            stop: &self.stop,
            turn: None,
            pass,
        };
        if let Err(payload) =
            catch_unwind(AssertUnwindSafe(|| self.process.drain(&ctx, last, emit)))
        {
            self.fail(&*payload);
        }
    }

    fn outcome(&self) -> Result<bool> {
        let panic = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        match panic {
            Some(msg) => Err(Error::panic(format!("panic during the scan: {msg}"))),
            None => Ok(self.aborted.load(Relaxed)),
        }
    }
}

/// Text of a panic payload.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs the pipeline; `Ok(true)` when a callback stopped it.
pub(crate) fn run<P: Process>(
    root: &Path,
    opts: &ScanOptions,
    filters: super::filter::Filters,
    process: &P,
    counters: &Counters,
    delivery: Delivery<'_, P::Item>,
) -> Result<bool> {
    let shared = Shared {
        opts,
        process,
        counters,
        stop: AtomicBool::new(false),
        aborted: AtomicBool::new(false),
        panic: Mutex::new(None),
        throttle: Throttle::new(PROGRESS_PERIOD),
        next_emit: AtomicU64::new(0),
    };
    let builder = Walker::new(root, opts, Arc::new(filters));
    if opts.worker_threads() == 1 {
        // One thread means one: walk, process and deliver on the calling
        // thread (no hop, no helper thread competing for the core).
        match delivery {
            Delivery::Host(f) => run_inline(&shared, &builder, f),
            Delivery::Workers(f) => run_inline(&shared, &builder, &mut |ev| f(ev)),
        }
        return shared.outcome();
    }
    match (opts.sorted, delivery) {
        (true, Delivery::Host(f)) => run_sorted(&shared, &builder, f),
        (true, Delivery::Workers(f)) => run_sorted(&shared, &builder, &mut |ev| f(ev)),
        (false, Delivery::Host(f)) => run_host(&shared, &builder, f),
        (false, Delivery::Workers(f)) => run_workers(&shared, &builder, f),
    }
    shared.outcome()
}

/// Sends the final progress report.
fn final_progress<P: Process>(
    shared: &Shared<'_, P>,
    deliver: &mut dyn FnMut(Event<P::Item>) -> Control,
) {
    if shared
        .panic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
    {
        return;
    }
    let p = shared.counters.progress();
    shared.call(|| deliver(Event::Progress(p)));
}

/// `threads = 1`: walks sequentially (in path order when sorted) and
/// processes and delivers each file on the calling thread as it is found.
fn run_inline<P: Process>(
    shared: &Shared<'_, P>,
    walker: &Walker,
    f: &mut dyn FnMut(Event<P::Item>) -> Control,
) {
    let mut deliver = |ev: Event<P::Item>| -> Control {
        shared.account(&ev);
        shared.call(|| f(ev))
    };
    let sorted = shared.opts.sorted;
    let mut seq = 0u64;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        walker.run_sequential(sorted, &mut |entry| {
            if shared.stopping() {
                return Flow::Quit;
            }
            let control = match entry {
                Entry::File(found) => {
                    // Sorted: this file is always the one due next.
                    let turn = sorted.then_some(seq);
                    shared.next_emit.store(seq, Relaxed);
                    seq += 1;
                    match shared.process(shared.found(found), turn, Pass::Deliver) {
                        Some(ev) => deliver(ev),
                        None => Control::Continue,
                    }
                }
                Entry::Issue(issue) => deliver(Event::Issue { issue, file: false }),
                Entry::Idle | Entry::Wait => Control::Continue,
            };
            after_visit(shared, control, &mut deliver)
        });
    }));
    wind_up(shared, ran, &mut |ev| {
        deliver(ev);
    });
    final_progress(shared, f);
}

/// After a visit that delivered directly: delivers files put off that are
/// ready and a progress report when due (while the host wants more), and
/// tells the walker whether to go on.
fn after_visit<P: Process>(
    shared: &Shared<'_, P>,
    mut control: Control,
    deliver: &mut dyn FnMut(Event<P::Item>) -> Control,
) -> Flow {
    if control == Control::Continue {
        shared.drain(false, Pass::Deliver, &mut |ev| {
            if control == Control::Continue {
                control = deliver(ev);
            }
        });
    }
    if control == Control::Continue && shared.throttle.due() {
        control = deliver(Event::Progress(shared.counters.progress()));
    }
    if control == Control::Stop || shared.stopping() {
        Flow::Quit
    } else {
        Flow::Continue
    }
}

/// After the walk: records a panic, delivers the files put off (unless the
/// run stops), and marks the walk done (so progress has a total).
fn wind_up<P: Process>(
    shared: &Shared<'_, P>,
    ran: std::thread::Result<()>,
    deliver: &mut dyn FnMut(Event<P::Item>),
) {
    if let Err(payload) = ran {
        shared.fail(&*payload);
    }
    if !shared.stopping() {
        shared.drain(true, Pass::Deliver, &mut |ev| {
            if !shared.stopping() {
                deliver(ev);
            }
        });
    }
    shared.counters.walk_done.store(true, Relaxed);
}

/// Walks in parallel, calling the host from the walker threads.
fn run_workers<P: Process>(
    shared: &Shared<'_, P>,
    walker: &Walker,
    f: &(dyn Fn(Event<P::Item>) -> Control + Sync),
) {
    let deliver = |ev: Event<P::Item>| -> Control {
        shared.account(&ev);
        shared.call(|| f(ev))
    };
    let ran = catch_unwind(AssertUnwindSafe(|| {
        walker.run_parallel(shared.opts.worker_threads(), None, &shared.stop, &|| {
            Box::new(|entry| {
                if shared.stopping() {
                    return Flow::Quit;
                }
                let control = match entry {
                    Entry::File(found) => {
                        match shared.process(shared.found(found), None, Pass::Deliver) {
                            Some(ev) => deliver(ev),
                            None => Control::Continue,
                        }
                    }
                    Entry::Issue(issue) => deliver(Event::Issue { issue, file: false }),
                    Entry::Idle | Entry::Wait => Control::Continue,
                };
                after_visit(shared, control, &mut { deliver })
            })
        })
    }));
    wind_up(shared, ran, &mut |ev| {
        deliver(ev);
    });
    final_progress(shared, &mut |ev| f(ev));
}

/// Files the walkers may have queued for the calling thread (in batches).
const QUEUED_FILES: usize = 32 << 10;

/// Walks in parallel with the calling thread as one of the walker threads:
/// it processes and delivers its own files at once, and between them (and
/// whenever it has no walk work) delivers what the other threads produced,
/// which reaches it in batches. Every callback runs on the calling thread.
fn run_host<P: Process>(
    shared: &Shared<'_, P>,
    walker: &Walker,
    f: &mut dyn FnMut(Event<P::Item>) -> Control,
) {
    // Batches of up to `chunk_size` files or BATCH_BYTES of content, and
    // whatever a thread holds when it finishes a directory: one queue
    // operation per batch, not per file.
    let chunk = shared.opts.chunk_size.max(1);
    let threads = shared.opts.worker_threads();
    // Room for QUEUED_FILES files: the calling thread delivers every file
    // and walks too, so it falls behind now and then (a large directory of
    // its own, a time slice lost to another process); with room for only a
    // few batches the other walkers then stopped until it caught up (on a
    // loaded machine, a warm analyze took ~15 % longer). Content is bounded
    // apart (the read budget), so this bounds small structs only.
    let capacity = (QUEUED_FILES / chunk).max(2 * threads);
    let results = BatchQueue::<Vec<Event<P::Item>>>::new(capacity);
    // However the calling thread leaves, no walker stays blocked sending.
    struct Abandon<'q, T>(&'q BatchQueue<T>);
    impl<T> Drop for Abandon<'_, T> {
        fn drop(&mut self) {
            self.0.abandon();
        }
    }
    let _abandon = Abandon(&results);
    // Emptied batches go back to the walkers: a batch is a large allocation
    // (chunk_size events), and allocating one per batch made glibc
    // consolidate its small-chunk bins each time.
    let spare: Mutex<Vec<Vec<Event<P::Item>>>> = Mutex::new(Vec::new());
    let recycle = |mut batch: Vec<Event<P::Item>>| {
        batch.clear();
        let mut spare = spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < 2 * threads {
            spare.push(batch);
        }
    };
    let fresh = || {
        let reused = spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        reused.unwrap_or_else(|| Vec::with_capacity(chunk))
    };
    let mut deliver = |ev: Event<P::Item>| {
        if !shared.stopping() {
            shared.account(&ev);
            shared.call(|| f(ev));
        }
    };
    // Delivers the batches waiting (waiting up to `wait` for the first).
    let take_batches = |deliver: &mut dyn FnMut(Event<P::Item>), wait: Duration| {
        let mut wait = wait;
        while let Some(mut batch) = results.recv_timeout(wait) {
            wait = Duration::ZERO;
            for ev in batch.drain(..) {
                deliver(ev);
                // A host slower than the walk keeps this loop going (the
                // others refill the queue): progress must come from here.
                if shared.throttle.due() {
                    deliver(Event::Progress(shared.counters.progress()));
                }
            }
            recycle(batch);
        }
    };
    let mut caller = |entry: Entry| -> Flow {
        match entry {
            Entry::File(found) => {
                if !shared.stopping() {
                    // Delivered at once: not charged to the read budget, so
                    // it never waits for it (which what the others sent it
                    // may hold).
                    let found = shared.found(found);
                    if let Some(ev) = shared.process(found, None, Pass::Deliver) {
                        deliver(ev);
                    }
                }
            }
            Entry::Issue(issue) => deliver(Event::Issue { issue, file: false }),
            Entry::Idle => {}
            Entry::Wait => take_batches(&mut deliver, CALLER_WAIT),
        }
        take_batches(&mut deliver, Duration::ZERO);
        if !shared.stopping() {
            shared.drain(false, Pass::Deliver, &mut deliver);
            if shared.throttle.due() {
                deliver(Event::Progress(shared.counters.progress()));
            }
        }
        if shared.stopping() {
            Flow::Quit
        } else {
            Flow::Continue
        }
    };
    let ran = catch_unwind(AssertUnwindSafe(|| {
        walker.run_parallel(threads, Some(&mut caller), &shared.stop, &|| {
            let mut batch: Vec<Event<P::Item>> = Vec::new();
            let mut bytes = 0u64;
            let results = &results;
            let fresh = &fresh;
            Box::new(move |entry| {
                if shared.stopping() {
                    return Flow::Quit;
                }
                fn push<T: Process>(
                    batch: &mut Vec<Event<T::Item>>,
                    bytes: &mut u64,
                    ev: Event<T::Item>,
                ) {
                    if let Event::Item(item) = &ev {
                        *bytes += T::weight(item);
                    }
                    batch.push(ev);
                }
                let idle = match entry {
                    Entry::File(found) => {
                        let found = shared.found(found);
                        let pass = Pass::HandOn {
                            holding: !batch.is_empty(),
                        };
                        if let Some(ev) = shared.process(found, None, pass) {
                            push::<P>(&mut batch, &mut bytes, ev);
                        }
                        false
                    }
                    Entry::Issue(issue) => {
                        push::<P>(&mut batch, &mut bytes, Event::Issue { issue, file: false });
                        false
                    }
                    Entry::Idle | Entry::Wait => true,
                };
                // Put-off files read now must not wait for content this
                // batch holds (it is sent only after): holding, as above.
                let pass = Pass::HandOn {
                    holding: !batch.is_empty(),
                };
                shared.drain(false, pass, &mut |ev| push::<P>(&mut batch, &mut bytes, ev));
                let mut sent = true;
                if !batch.is_empty() && (idle || batch.len() >= chunk || bytes >= BATCH_BYTES) {
                    let full = std::mem::replace(&mut batch, fresh());
                    bytes = 0;
                    sent = results.send(full);
                }
                if sent && !shared.stopping() {
                    Flow::Continue
                } else {
                    Flow::Quit
                }
            })
        });
    }));
    // Every walker thread has been joined: take what is left (nothing is
    // delivered once a panic was recorded).
    if let Err(payload) = ran {
        shared.fail(&*payload);
    }
    take_batches(&mut deliver, Duration::ZERO);
    wind_up(shared, Ok(()), &mut deliver);
    final_progress(shared, f);
}

/// Lists sequentially in path order, reads in parallel, delivers in order.
fn run_sorted<P: Process>(
    shared: &Shared<'_, P>,
    walker: &Walker,
    f: &mut dyn FnMut(Event<P::Item>) -> Control,
) {
    let window = shared.opts.window();
    let (work_tx, work_rx) = bounded::<(u64, Found)>(window);
    let (res_tx, res_rx) = unbounded::<(u64, Event<P::Item>)>();
    let (slot_tx, slot_rx) = bounded::<()>(window);
    for _ in 0..window {
        let _ = slot_tx.send(());
    }
    let mut slot_tx = Some(slot_tx);
    std::thread::scope(|s| {
        let lister_res = res_tx.clone();
        s.spawn(move || {
            let ran = catch_unwind(AssertUnwindSafe(|| {
                let mut seq = 0u64;
                // Numbers an event and waits for room in the window.
                let mut next_seq = || -> Option<u64> {
                    if shared.stopping() || slot_rx.recv().is_err() {
                        return None;
                    }
                    seq += 1;
                    Some(seq - 1)
                };
                walker.run_sequential(true, &mut |entry| {
                    if matches!(entry, Entry::Idle | Entry::Wait) {
                        return Flow::Continue;
                    }
                    let Some(n) = next_seq() else {
                        return Flow::Quit;
                    };
                    let sent = match entry {
                        Entry::File(found) => work_tx.send((n, found)).is_ok(),
                        Entry::Issue(issue) => lister_res
                            .send((n, Event::Issue { issue, file: false }))
                            .is_ok(),
                        Entry::Idle | Entry::Wait => true,
                    };
                    if sent { Flow::Continue } else { Flow::Quit }
                });
            }));
            if let Err(payload) = ran {
                shared.fail(&*payload);
            }
            shared.counters.walk_done.store(true, Relaxed);
        });
        for _ in 0..shared.opts.worker_threads() {
            let work_rx = work_rx.clone();
            let res_tx = res_tx.clone();
            s.spawn(move || {
                for (n, found) in work_rx {
                    if shared.stopping() {
                        break;
                    }
                    let pass = Pass::HandOn { holding: false };
                    let ev = shared
                        .process(shared.found(found), Some(n), pass)
                        .unwrap_or(Event::Progress(Progress::default()));
                    if res_tx.send((n, ev)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(work_rx);
        drop(res_tx);

        // The reorder window: slot i holds sequence number `next + i`.
        let mut pending: VecDeque<Option<Event<P::Item>>> = VecDeque::with_capacity(window);
        let mut next = 0u64;
        loop {
            match res_rx.recv_timeout(shared.throttle.remaining()) {
                Ok((n, ev)) => {
                    let i = (n - next) as usize;
                    if pending.len() <= i {
                        pending.resize_with(i + 1, || None);
                    }
                    pending[i] = Some(ev);
                    while let Some(Some(_)) = pending.front() {
                        let Some(Some(ev)) = pending.pop_front() else {
                            break;
                        };
                        next += 1;
                        shared.next_emit.store(next, Relaxed);
                        if !shared.stopping() {
                            // A file that vanished as a non-file is a
                            // placeholder: skip it.
                            if !matches!(ev, Event::Progress(_)) {
                                shared.account(&ev);
                                shared.call(|| f(ev));
                            }
                        }
                        if let Some(tx) = &slot_tx {
                            let _ = tx.send(());
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if shared.stopping() {
                // Unblock the lister; readers see the flag.
                slot_tx = None;
            } else if shared.throttle.due() {
                let p = shared.counters.progress();
                shared.call(|| f(Event::Progress(p)));
            }
        }
    });
    final_progress(shared, f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn only_content_handed_on_is_charged_and_a_holder_never_waits() {
        let counters = Counters::default();
        let stop = AtomicBool::new(false);
        let ctx = |pass| Ctx::detached(&counters, &stop).passing(pass);
        let deliver = ctx(Pass::Deliver);
        assert!(!deliver.charged() && deliver.can_defer());
        let hand_on = ctx(Pass::HandOn { holding: false });
        assert!(hand_on.charged() && !hand_on.go_ahead());
        assert!(ctx(Pass::HandOn { holding: true }).go_ahead());
        stop.store(true, Relaxed);
        assert!(hand_on.go_ahead(), "a stopping run never waits");
    }

    #[test]
    fn relative_paths() {
        let rel = |root: &str, path: &str| {
            let f = Found::new(Path::new(root), PathBuf::from(path));
            (f.path().to_path_buf(), f.rel_path().to_path_buf())
        };
        assert_eq!(rel("/a/b", "/a/b/c/d.rs").1, Path::new("c/d.rs"));
        assert_eq!(rel("/a/b/", "/a/b/c").1, Path::new("c"));
        assert_eq!(rel(".", "./x/y").1, Path::new("x/y"));
        assert_eq!(rel("/", "/etc").1, Path::new("etc"));
        assert_eq!(rel("/a/b.rs", "/a/b.rs").1, Path::new("b.rs"));
        assert_eq!(rel("a//b", "a//b/c").1, Path::new("c"));
        let f = Found::new(Path::new("/r"), PathBuf::from("/r/x"));
        assert_eq!(f.path, b"/r/x\0");
        assert_eq!(f.rel_start, 3);
    }
}
