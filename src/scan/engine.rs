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
//! * **Sorted**: the calling thread lists the tree sequentially in path
//!   order (the walk alone is cheap) and numbers the files; `threads - 1`
//!   helper threads and the calling thread take them in order and process
//!   them; the calling thread puts results back in order in a reorder
//!   window of `threads * chunk_size` files and delivers them. Listing stays
//!   at most one window ahead of delivery, so memory stays bounded.
//!
//! Every worker body runs under `catch_unwind`: a panic stops the run and is
//! returned as an error after all threads were joined, never a hang.

use super::options::ScanOptions;
use super::queue::BatchQueue;
use super::summary::{Counters, PROGRESS_PERIOD, Progress, Throttle};
use super::walker::{Entry, Flow, Walker};
use super::{Control, IssueKind, ScanIssue};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
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
    /// The read budget is used up: a read charged to it now would wait (or,
    /// on a thread that must not wait, go over it).
    fn budget_spent(&self) -> bool {
        false
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

/// Listed entries the calling thread collects before it hands them to the
/// helpers in one lock (at once when a helper is idle).
const LIST_FLUSH: usize = 16;

/// A listed entry, numbered in path order.
enum Listed {
    File(Found),
    Issue(ScanIssue),
}

/// The sorted pipeline's state, under one lock.
struct SortedState<T> {
    /// Listed and not taken by anyone yet, in order.
    todo: VecDeque<(u64, Listed)>,
    /// The reorder window: slot `i` holds sequence number `next + i` once
    /// it is processed.
    ready: VecDeque<Option<Event<T>>>,
    /// The next sequence number to deliver.
    next: u64,
    /// The listing is over (or the run stops): helpers leave once `todo`
    /// is empty.
    end: bool,
    /// The calling thread is asleep waiting for slot `next`.
    caller_waiting: bool,
}

/// What the calling thread and the helpers of a sorted run share.
struct Sorted<T> {
    state: Mutex<SortedState<T>>,
    /// Helpers asleep waiting for work (changed under the lock).
    idle: AtomicUsize,
    /// Helpers wait here for work.
    work: Condvar,
    /// The calling thread waits here for the result due next.
    due: Condvar,
}

impl<T> Sorted<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, SortedState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a processed entry in its slot, waking the calling thread when
    /// it waits for this one (or the run stops).
    fn put(&self, seq: u64, ev: Event<T>, stopping: bool) {
        let mut line = self.lock();
        let Some(i) = seq.checked_sub(line.next) else {
            return;
        };
        let i = i as usize;
        if line.ready.len() <= i {
            line.ready.resize_with(i + 1, || None);
        }
        line.ready[i] = Some(ev);
        if line.caller_waiting && (i == 0 || stopping) {
            self.due.notify_one();
        }
    }

    /// No more work will come: helpers leave once what is listed is taken
    /// (at once when the run stops).
    fn end(&self) {
        self.lock().end = true;
        self.work.notify_all();
    }

    /// A helper's loop: takes the first entry nobody took, processes it
    /// (its content charged to the read budget: it waits in the window),
    /// puts the result in its slot.
    fn help<P: Process<Item = T>>(&self, shared: &Shared<'_, P>) {
        loop {
            let (seq, listed) = {
                let mut line = self.lock();
                loop {
                    if shared.stopping() {
                        return;
                    }
                    if let Some(taken) = line.todo.pop_front() {
                        break taken;
                    }
                    if line.end {
                        return;
                    }
                    self.idle.fetch_add(1, Relaxed);
                    line = self.work.wait(line).unwrap_or_else(|e| e.into_inner());
                    self.idle.fetch_sub(1, Relaxed);
                }
            };
            let ev = process_listed(shared, seq, listed, Pass::HandOn { holding: false });
            self.put(seq, ev, shared.stopping());
        }
    }
}

/// Processes a listed entry of a sorted run (a walk issue is its own
/// event).
fn process_listed<P: Process>(
    shared: &Shared<'_, P>,
    seq: u64,
    listed: Listed,
    pass: Pass,
) -> Event<P::Item> {
    match listed {
        Listed::File(found) => shared
            .process(shared.found(found), Some(seq), pass)
            // A file that stopped being a regular file: a placeholder,
            // skipped on delivery.
            .unwrap_or(Event::Progress(Progress::default())),
        Listed::Issue(issue) => Event::Issue { issue, file: false },
    }
}

/// The calling thread's side of a sorted run.
struct SortedHost<'a, 's, P: Process> {
    shared: &'a Shared<'s, P>,
    sorted: &'a Sorted<P::Item>,
    f: &'a mut dyn FnMut(Event<P::Item>) -> Control,
    /// Entries listed (the next one's sequence number).
    listed: u64,
    /// Listed, not handed to the helpers yet.
    local: Vec<(u64, Listed)>,
    window: u64,
}

impl<P: Process> SortedHost<'_, '_, P> {
    /// Numbers a listed entry; while the window is full, works off entries.
    fn list(&mut self, entry: Entry) -> Flow {
        let listed = match entry {
            Entry::File(found) => Listed::File(found),
            Entry::Issue(issue) => Listed::Issue(issue),
            Entry::Idle | Entry::Wait => return Flow::Continue,
        };
        self.local.push((self.listed, listed));
        self.listed += 1;
        if self.local.len() >= LIST_FLUSH || self.sorted.idle.load(Relaxed) > 0 {
            self.flush();
        }
        while self.listed - self.delivered() >= self.window && !self.shared.stopping() {
            self.flush();
            self.step();
        }
        if self.shared.stopping() {
            Flow::Quit
        } else {
            Flow::Continue
        }
    }

    /// Hands what was listed to the helpers.
    fn flush(&mut self) {
        if self.local.is_empty() {
            return;
        }
        self.sorted.lock().todo.extend(self.local.drain(..));
        if self.sorted.idle.load(Relaxed) > 0 {
            self.sorted.work.notify_all();
        }
    }

    /// Delivers (when the run goes on) and reports progress when due.
    fn deliver(&mut self, ev: Event<P::Item>) {
        let shared = self.shared;
        if !shared.stopping() && !matches!(ev, Event::Progress(_)) {
            shared.account(&ev);
            let f = &mut *self.f;
            shared.call(|| f(ev));
        }
        self.progress();
    }

    fn progress(&mut self) {
        let shared = self.shared;
        if !shared.stopping() && shared.throttle.due() {
            let p = shared.counters.progress();
            let f = &mut *self.f;
            shared.call(|| f(Event::Progress(p)));
        }
    }

    /// Entries delivered (the next one due): `SortedState::next`, which
    /// only this thread changes, read without the lock.
    fn delivered(&self) -> u64 {
        self.shared.next_emit.load(Relaxed)
    }

    /// Marks the entry due next as delivered.
    fn advance(&self, line: &mut SortedState<P::Item>) {
        line.next += 1;
        self.shared.next_emit.store(line.next, Relaxed);
    }

    /// One piece of the calling thread's share: delivers the result due
    /// next when it is there; else processes the first entry nobody took
    /// (and delivers it at once when it is the one due); else waits for
    /// the one due (a helper has it).
    fn step(&mut self) {
        let mut line = self.sorted.lock();
        if let Some(Some(_)) = line.ready.front() {
            let ev = line.ready.pop_front().flatten();
            self.advance(&mut line);
            drop(line);
            if let Some(ev) = ev {
                self.deliver(ev);
            }
            return;
        }
        // An entry not due yet is taken only while the budget has room: a
        // read here never waits for it (only this thread frees it), so it
        // would go over it; a helper has the one due then.
        let due = line.todo.front().is_some_and(|(seq, _)| *seq == line.next);
        if (due || !self.shared.process.budget_spent())
            && let Some((seq, listed)) = line.todo.pop_front()
        {
            drop(line);
            if due {
                let ev = process_listed(self.shared, seq, listed, Pass::Deliver);
                let mut line = self.sorted.lock();
                line.ready.pop_front();
                self.advance(&mut line);
                drop(line);
                self.deliver(ev);
            } else {
                // Charged, but it never waits for the budget: only this
                // thread frees it.
                let pass = Pass::HandOn { holding: true };
                let ev = process_listed(self.shared, seq, listed, pass);
                self.sorted.put(seq, ev, false);
            }
            return;
        }
        line.caller_waiting = true;
        let wait = self
            .shared
            .throttle
            .remaining()
            .max(Duration::from_millis(1));
        let (mut line, _) = self
            .sorted
            .due
            .wait_timeout(line, wait)
            .unwrap_or_else(|e| e.into_inner());
        line.caller_waiting = false;
        drop(line);
        self.progress();
    }
}

/// Sorted: the calling thread lists the tree sequentially in path order
/// (the walk alone is cheap) and numbers what it finds, at most a window
/// (`threads * chunk_size` entries) ahead of delivery; `threads - 1`
/// helper threads and the calling thread take the listed files in order
/// and process them; the calling thread puts the results back in order and
/// delivers them. No thread waits for another to hand it each file (a
/// lister and reader threads besides the calling thread made two threads
/// four, with a hand-off per file: a second core gained little).
fn run_sorted<P: Process>(
    shared: &Shared<'_, P>,
    walker: &Walker,
    f: &mut dyn FnMut(Event<P::Item>) -> Control,
) {
    let sorted = Sorted {
        state: Mutex::new(SortedState {
            todo: VecDeque::new(),
            ready: VecDeque::new(),
            next: 0,
            end: false,
            caller_waiting: false,
        }),
        idle: AtomicUsize::new(0),
        work: Condvar::new(),
        due: Condvar::new(),
    };
    std::thread::scope(|s| {
        let sorted = &sorted;
        for _ in 1..shared.opts.worker_threads() {
            s.spawn(move || {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| sorted.help(shared))) {
                    shared.fail(&*payload);
                    sorted.due.notify_one();
                }
            });
        }
        // However the calling thread leaves, the helpers do too.
        struct End<'q, T>(&'q Sorted<T>);
        impl<T> Drop for End<'_, T> {
            fn drop(&mut self) {
                self.0.end();
            }
        }
        let _end = End(sorted);
        let mut host = SortedHost {
            shared,
            sorted,
            f: &mut *f,
            listed: 0,
            local: Vec::with_capacity(LIST_FLUSH),
            window: shared.opts.window() as u64,
        };
        let ran = catch_unwind(AssertUnwindSafe(|| {
            walker.run_sequential(true, &mut |entry| {
                if shared.stopping() {
                    Flow::Quit
                } else {
                    host.list(entry)
                }
            });
            host.flush();
            shared.counters.walk_done.store(true, Relaxed);
            sorted.end();
            while host.delivered() < host.listed && !shared.stopping() {
                host.step();
            }
        }));
        if let Err(payload) = ran {
            shared.fail(&*payload);
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

    /// Counts what it processes and on which thread; an item is its file
    /// name.
    struct Recording {
        processed: AtomicU64,
        on_caller: AtomicU64,
        caller: std::thread::ThreadId,
    }

    impl Process for Recording {
        type Item = String;
        fn process(&self, found: Found, _ctx: &Ctx<'_>) -> Option<Event<String>> {
            self.processed.fetch_add(1, Relaxed);
            if std::thread::current().id() == self.caller {
                self.on_caller.fetch_add(1, Relaxed);
            }
            // Slow enough that the helpers and the calling thread overlap.
            std::thread::sleep(Duration::from_micros(50));
            Some(Event::Item(
                found.file_name().to_string_lossy().into_owned(),
            ))
        }
    }

    #[test]
    fn sorted_lists_at_most_a_window_ahead_and_the_caller_takes_a_share() {
        let dir = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for i in 0..600 {
            let name = format!("f{i:04}");
            std::fs::write(dir.path().join(&name), b"x").unwrap();
            want.push(name);
        }
        for (threads, chunk) in [(2, 1), (2, 8), (3, 5)] {
            let opts = ScanOptions {
                sorted: true,
                threads,
                chunk_size: chunk,
                ..Default::default()
            };
            let process = Recording {
                processed: AtomicU64::new(0),
                on_caller: AtomicU64::new(0),
                caller: std::thread::current().id(),
            };
            let counters = Counters::default();
            let filters = super::super::filter::Filters::new(&[], &[]).unwrap();
            let mut got = Vec::new();
            let mut ahead = 0;
            let mut deliver = |ev: Event<String>| {
                if let Event::Item(name) = ev {
                    got.push(name);
                    // Processed (so listed) and not delivered yet, this one
                    // included.
                    let listed = process.processed.load(Relaxed) as usize;
                    ahead = ahead.max(listed - (got.len() - 1));
                }
                Control::Continue
            };
            let stopped = run(
                dir.path(),
                &opts,
                filters,
                &process,
                &counters,
                Delivery::Host(&mut deliver),
            )
            .unwrap();
            assert!(!stopped);
            assert_eq!(got, want, "threads {threads} chunk {chunk}");
            let window = threads * chunk;
            assert!(
                ahead <= window,
                "threads {threads} chunk {chunk}: {ahead} processed ahead, window {window}"
            );
            let mine = process.on_caller.load(Relaxed);
            assert!(
                mine > 0 && mine < 600,
                "threads {threads} chunk {chunk}: the calling thread processed {mine} of 600"
            );
        }
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
