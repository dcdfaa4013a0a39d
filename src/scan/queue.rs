//! A bounded queue of batches from walker threads to the calling thread
//! (which walks too, and takes batches between its own files).
//!
//! Batches are few (one per `chunk_size` files or finished directory), so
//! a mutex and two condition variables are cheap here; unlike a spinning
//! channel, a waiting side sleeps at once instead of yielding in a loop,
//! which on a machine with as many threads as cores takes time from the
//! threads doing the work. A side is woken only when the other waits.

use std::collections::VecDeque;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Release},
};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct State<T> {
    items: VecDeque<T>,
    /// The consumer is gone: sends fail.
    abandoned: bool,
    consumer_waiting: bool,
    producers_waiting: usize,
}

pub(crate) struct BatchQueue<T> {
    state: Mutex<State<T>>,
    /// Items queued, readable without the lock: the calling thread looks
    /// after every file of its own, and must not take the lock (contended
    /// with the senders) just to find the queue empty.
    queued: AtomicUsize,
    filled: Condvar,
    emptied: Condvar,
    capacity: usize,
}

impl<T> BatchQueue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        BatchQueue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.max(1)),
                abandoned: false,
                consumer_waiting: false,
                producers_waiting: 0,
            }),
            queued: AtomicUsize::new(0),
            filled: Condvar::new(),
            emptied: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`, waiting for room; `false` when the consumer is gone.
    pub(crate) fn send(&self, item: T) -> bool {
        let mut st = self.lock();
        while st.items.len() >= self.capacity && !st.abandoned {
            st.producers_waiting += 1;
            st = self.emptied.wait(st).unwrap_or_else(|e| e.into_inner());
            st.producers_waiting -= 1;
        }
        if st.abandoned {
            return false;
        }
        st.items.push_back(item);
        self.queued.store(st.items.len(), Release);
        if st.consumer_waiting {
            self.filled.notify_one();
        }
        true
    }

    /// The consumer stops taking items: waiting and later sends fail.
    pub(crate) fn abandon(&self) {
        let mut st = self.lock();
        st.abandoned = true;
        st.items.clear();
        self.queued.store(0, Release);
        drop(st);
        self.emptied.notify_all();
    }

    /// The next item, waiting at most `timeout` for one.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Option<T> {
        if timeout.is_zero() && self.queued.load(Acquire) == 0 {
            return None;
        }
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(item) = st.items.pop_front() {
                self.queued.store(st.items.len(), Release);
                if st.producers_waiting > 0 {
                    self.emptied.notify_one();
                }
                return Some(item);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st.consumer_waiting = true;
            st = self
                .filled
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            st.consumer_waiting = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_in_order_and_blocks_when_full() {
        let q = BatchQueue::new(2);
        std::thread::scope(|s| {
            let producer = s.spawn(|| {
                for i in 0..100 {
                    assert!(q.send(i));
                }
            });
            let mut got = Vec::new();
            while got.len() < 100 {
                if let Some(i) = q.recv_timeout(Duration::from_millis(5)) {
                    got.push(i);
                }
            }
            producer.join().unwrap();
            assert_eq!(got, (0..100).collect::<Vec<_>>());
        });
        assert_eq!(q.recv_timeout(Duration::ZERO), None);
    }

    #[test]
    fn times_out_when_empty_and_releases_senders_when_abandoned() {
        let q = BatchQueue::new(1);
        assert_eq!(q.recv_timeout(Duration::from_millis(1)), None);
        assert!(q.send(1));
        std::thread::scope(|s| {
            let blocked = s.spawn(|| q.send(2));
            std::thread::sleep(Duration::from_millis(20));
            q.abandon();
            assert!(!blocked.join().unwrap());
        });
        assert!(!q.send(3));
    }
}
