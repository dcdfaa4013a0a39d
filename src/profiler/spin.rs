//! A small spin lock for the scope shards.
//!
//! A scope pair locks its shard twice (enter and exit). `std::sync::Mutex`
//! releases with an atomic swap (to learn whether a waiter must be woken),
//! so a pair costs four locked instructions, ~5 ns each here. This lock
//! releases with a plain store, halving that. It suits the shards because
//! they are almost never contended (each thread records into its own shard;
//! others only lock it to exit a scope handed over to them, and `start` /
//! `stop` to reset and merge) and every critical section is short. A waiter
//! spins briefly, then yields, then sleeps, so a preempted holder does not
//! make it burn a core.
//!
//! Besides `sys.rs`, this is the only place of the profiler with `unsafe`.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A mutual-exclusion lock released by a plain store.
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time
// (acquire on lock, release on unlock), as `std::sync::Mutex` does, so it
// may be shared between threads whenever `T` may be sent between them.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Exclusive access to a [`SpinLock`]'s value until dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks, waiting for another holder to release.
    #[inline]
    pub fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut waits: u32 = 0;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                waits = waits.saturating_add(1);
                if waits < 64 {
                    std::hint::spin_loop();
                } else if waits < 128 {
                    std::thread::yield_now();
                } else {
                    // The holder was preempted (or is merging a large shard).
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no other reference to the
        // value exists until it is dropped.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // reference handed out by the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_across_threads() {
        let lock = Arc::new(SpinLock::new((0u64, 0u64)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        let mut g = lock.lock();
                        // Two fields updated apart: a torn update would
                        // leave them unequal.
                        g.0 += 1;
                        std::hint::black_box(&mut *g);
                        g.1 += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let g = lock.lock();
        assert_eq!(*g, (80_000, 80_000));
    }

    #[test]
    fn a_long_holder_is_waited_for() {
        let lock = Arc::new(SpinLock::new(0u32));
        let g = lock.lock();
        let l2 = Arc::clone(&lock);
        let waiter = std::thread::spawn(move || *l2.lock() + 1);
        std::thread::sleep(Duration::from_millis(30));
        drop(g);
        assert_eq!(waiter.join().unwrap(), 1);
    }

    #[test]
    fn released_on_panic() {
        let lock = Arc::new(SpinLock::new(1u32));
        let l2 = Arc::clone(&lock);
        let r = std::thread::spawn(move || {
            let _g = l2.lock();
            panic!("while holding");
        })
        .join();
        assert!(r.is_err());
        assert_eq!(*lock.lock(), 1);
    }
}
