//! Small per-thread ordinals (1, 2, ...) for scope events and Chrome-trace
//! tracks, and the names of the threads: all live ones and the
//! `KEEP_ENDED` (1024) that ended last (a pool's workers often end before the
//! profile is taken).

use super::interner::FxMap;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Names of ended threads kept.
pub(crate) const KEEP_ENDED: usize = 1024;

static NEXT: AtomicU32 = AtomicU32::new(1);

#[derive(Default)]
struct Registry {
    names: FxMap<u32, String>,
    ended: VecDeque<u32>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Queues the thread's name for removal when the thread ends, so the
/// registry stays bounded.
struct Registration(u32);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut reg) = REGISTRY.lock()
            && let Some(reg) = reg.as_mut()
        {
            reg.ended.push_back(self.0);
            if reg.ended.len() > KEEP_ENDED
                && let Some(old) = reg.ended.pop_front()
            {
                reg.names.remove(&old);
            }
        }
    }
}

thread_local! {
    static ORDINAL: Cell<u32> = const { Cell::new(0) };
    static REGISTRATION: Cell<Option<Registration>> = const { Cell::new(None) };
}

/// This thread's ordinal, assigned on first use.
#[inline]
pub fn ordinal() -> u32 {
    let id = ORDINAL.with(Cell::get);
    if id != 0 {
        return id;
    }
    register()
}

#[cold]
fn register() -> u32 {
    let id = NEXT.fetch_add(1, Ordering::Relaxed).max(1);
    ORDINAL.with(|c| c.set(id));
    // A thread the host created has no std name: ask the kernel for the
    // one `pthread_setname_np` (or the program name) gave it.
    let name = std::thread::current()
        .name()
        .map(str::to_string)
        .or_else(|| {
            std::fs::read_to_string("/proc/thread-self/comm")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .map(|n| format!("{n} ({id})"))
        .unwrap_or_else(|| format!("thread {id}"));
    if let Ok(mut reg) = REGISTRY.lock() {
        reg.get_or_insert_with(Registry::default)
            .names
            .insert(id, name);
    }
    // May fail while the thread is being torn down; the name then stays.
    let _ = REGISTRATION.try_with(|r| r.set(Some(Registration(id))));
    id
}

/// The name of a thread by ordinal ("thread N" when unnamed or forgotten).
pub fn name(id: u32) -> String {
    REGISTRY
        .lock()
        .ok()
        .and_then(|reg| reg.as_ref().and_then(|r| r.names.get(&id).cloned()))
        .unwrap_or_else(|| format!("thread {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_per_thread_and_named() {
        let a = ordinal();
        assert_eq!(ordinal(), a);
        let (b, n) = std::thread::Builder::new()
            .name("worker-x".into())
            .spawn(|| (ordinal(), name(ordinal())))
            .unwrap()
            .join()
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(n, format!("worker-x ({b})"));
        // Still known after the thread ended.
        assert_eq!(name(b), format!("worker-x ({b})"));
    }
}
