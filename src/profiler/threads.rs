//! Small per-thread ordinals (1, 2, ...) for scope events and Chrome-trace
//! tracks, and the names of the threads still alive.

use super::interner::FxMap;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(1);
static NAMES: Mutex<Option<FxMap<u32, String>>> = Mutex::new(None);

/// Removes the thread's name from the registry when the thread ends, so the
/// registry holds live threads only.
struct Registration(u32);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut names) = NAMES.lock() {
            if let Some(map) = names.as_mut() {
                map.remove(&self.0);
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
    let name = std::thread::current()
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("thread {id}"));
    if let Ok(mut names) = NAMES.lock() {
        names.get_or_insert_with(FxMap::default).insert(id, name);
    }
    // May fail while the thread is being torn down; the name then stays.
    let _ = REGISTRATION.try_with(|r| r.set(Some(Registration(id))));
    id
}

/// The name of a thread by ordinal ("thread N" once it has ended).
pub fn name(id: u32) -> String {
    NAMES
        .lock()
        .ok()
        .and_then(|names| names.as_ref().and_then(|m| m.get(&id).cloned()))
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
        assert_eq!(n, "worker-x");
        assert_eq!(name(b), format!("thread {b}"));
    }
}
