//! Test-only interleaving hooks ("failpoints"): a unit test installs a hook
//! on a store (or, for points reached before a store exists, on the
//! opening thread), the cache calls it at named points on the thread that
//! reaches them, and the hook can hold that thread there while the test
//! lets another run. A test then forces the one interleaving a race needs
//! every time, instead of looping and hoping the scheduler produces it.
//!
//! Compiled only for the library's own unit tests (`#[cfg(test)]`): release
//! builds, integration tests and the C library have neither this module,
//! the store's field nor the calls.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a failpoint sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Point {
    /// A `set`/`set_many` committed; its memory-tier update runs next
    /// (inside the connection's lock: see `Cache::write_then`).
    MemoryUpdate,
    /// A row was read from SQLite by a get that missed memory; its
    /// promotion into memory runs next (see `Cache::promote`).
    Promote,
    /// The thread found the connection held by another thread and is about
    /// to wait for it.
    ConnectionWait,
    /// A get checked an entry's files; what it writes about that entry (its
    /// refreshed stamps, or its removal when stale) runs next, outside any
    /// lock since the row was read.
    Checked,
    /// Opening the database met "database is locked"; the open is retried
    /// next (see `open_db_retrying`). Reported to the opening thread's own
    /// hook ([`set_thread_hook`]): there is no store yet.
    OpenBusy,
}

pub(crate) type Hook = Arc<dyn Fn(Point) + Send + Sync>;

/// A store's hook (none until a test installs one).
#[derive(Default)]
pub(crate) struct Failpoints(Mutex<Option<Hook>>);

impl Failpoints {
    /// Runs the hook, if any, for `p` (without holding the hook's lock, so
    /// it may block while other threads reach points).
    pub(crate) fn hit(&self, p: Point) {
        let hook = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(hook) = hook {
            hook(p);
        }
    }
}

thread_local! {
    /// The hook of points reached before a store exists.
    static THREAD_HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Installs `hook` for the points the calling thread reaches outside any
/// store (opening one).
pub(crate) fn set_thread_hook(hook: Hook) {
    THREAD_HOOK.with(|h| *h.borrow_mut() = Some(hook));
}

/// Runs the calling thread's hook, if any, for `p`.
pub(crate) fn hit_on_this_thread(p: Point) {
    if let Some(hook) = THREAD_HOOK.with(|h| h.borrow().clone()) {
        hook(p);
    }
}

/// What a test's threads did, in the order they did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// The named thread reached a point (and is held there if the test
    /// asked for it).
    Reached(String, Point),
    /// The named thread's operation returned (sent by the test's thread).
    Finished(String),
}

/// How long a test waits for an event before failing instead of hanging.
/// A guard against a hang, never part of an interleaving: every wait ends
/// with the event it waits for long before, or the test is broken.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Which threads a script holds.
#[derive(Default)]
struct Holds {
    /// (thread name, point) pairs still to hold, the first time reached.
    pending: HashSet<(String, Point)>,
    /// Threads held now, each with the sender that lets it go.
    held: Vec<(String, Point, Sender<()>)>,
}

/// A test's script: every point reached by a thread with a name is
/// reported, and threads named in `hold` are held at their point (the
/// first time they reach it) until [`Script::release`] names them, or the
/// script is dropped (a failed test lets its threads go).
pub(crate) struct Script {
    hook: Hook,
    events: Receiver<Event>,
    sender: Sender<Event>,
    holds: Arc<Mutex<Holds>>,
    /// Threads whose [`Event::Finished`] was read.
    finished: RefCell<HashSet<String>>,
}

impl Script {
    /// A script whose hook ([`Script::hook`]) is installed on `fp`; `hold`
    /// lists (thread name, point) pairs to hold.
    pub(crate) fn install(fp: &Failpoints, hold: &[(&str, Point)]) -> Script {
        let script = Script::new(hold);
        *fp.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(script.hook());
        script
    }

    /// A script whose hook is yet to be installed.
    pub(crate) fn new(hold: &[(&str, Point)]) -> Script {
        let (sender, events) = mpsc::channel();
        let holds = Arc::new(Mutex::new(Holds {
            pending: hold.iter().map(|(who, p)| (who.to_string(), *p)).collect(),
            held: Vec::new(),
        }));
        let report = sender.clone();
        let shared = Arc::clone(&holds);
        let hook: Hook = Arc::new(move |p| {
            let Some(who) = std::thread::current().name().map(str::to_string) else {
                return;
            };
            let gate = {
                let mut holds = shared.lock().unwrap_or_else(|e| e.into_inner());
                holds.pending.remove(&(who.clone(), p)).then(|| {
                    let (open, gate) = mpsc::channel();
                    holds.held.push((who.clone(), p, open));
                    gate
                })
            };
            let _ = report.send(Event::Reached(who, p));
            if let Some(gate) = gate {
                // Released by the test, or let go when its script is gone.
                let _ = gate.recv();
            }
        });
        Script {
            hook,
            events,
            sender,
            holds,
            finished: RefCell::default(),
        }
    }

    /// The hook reporting to this script.
    pub(crate) fn hook(&self) -> Hook {
        Arc::clone(&self.hook)
    }

    /// A sender for the test's threads to report [`Event::Finished`].
    pub(crate) fn reporter(&self) -> Sender<Event> {
        self.sender.clone()
    }

    /// Waits for the first event `want` accepts (the others are skipped);
    /// returns it.
    pub(crate) fn wait_for(&self, what: &str, want: impl Fn(&Event) -> bool) -> Event {
        loop {
            let e = self
                .events
                .recv_timeout(WATCHDOG)
                .unwrap_or_else(|e| panic!("waiting for {what}: {e} (a hang or a broken script)"));
            if let Event::Finished(who) = &e {
                self.finished.borrow_mut().insert(who.clone());
            }
            if want(&e) {
                return e;
            }
        }
    }

    /// Waits until the thread `who` finished (it may have already), then
    /// joins it.
    pub(crate) fn join<T>(&self, who: &str, thread: std::thread::JoinHandle<T>) -> T {
        if !self.finished.borrow().contains(who) {
            self.wait_for(&format!("{who} to finish"), |e| {
                *e == Event::Finished(who.to_string())
            });
        }
        thread.join().expect("a test thread panicked")
    }

    /// Lets the thread `who`, held at `p`, go on.
    pub(crate) fn release(&self, who: &str, p: Point) {
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        let i = holds
            .held
            .iter()
            .position(|(w, q, _)| w == who && *q == p)
            .unwrap_or_else(|| panic!("{who} is not held at {p:?}"));
        let (_, _, open) = holds.held.remove(i);
        let _ = open.send(());
    }
}

impl Drop for Script {
    /// Holds nothing more and lets held threads go (their senders dropped).
    fn drop(&mut self) {
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        holds.pending.clear();
        holds.held.clear();
    }
}

/// Spawns `f` on a thread named `name` that reports [`Event::Finished`]
/// to `script` when `f` returns.
pub(crate) fn spawn<T: Send + 'static>(
    script: &Script,
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let done = script.reporter();
    let me = name.to_string();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let out = f();
            let _ = done.send(Event::Finished(me));
            out
        })
        .expect("spawning a test thread")
}
