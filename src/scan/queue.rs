//! A bounded queue of batches from walker threads to the calling thread.
//!
//! Batches are few (one per `chunk_size` files or finished directory), so
//! a mutex and two condition variables are cheap here; unlike a spinning
//! channel, a waiting side sleeps at once instead of yielding in a loop,
//! which on a machine with as many threads as cores takes time from the
//! threads doing the work. A side is woken only when the other waits.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct State<T> {
    items: VecDeque<T>,
    /// The producers are done: once empty, the queue is finished.
    closed: bool,
    /// The consumer is gone: sends fail.
    abandoned: bool,
    consumer_waiting: bool,
    producers_waiting: usize,
}

pub(crate) struct BatchQueue<T> {
    state: Mutex<State<T>>,
    filled: Condvar,
    emptied: Condvar,
    capacity: usize,
}

/// Why [`BatchQueue::recv_timeout`] returned nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Empty {
    Timeout,
    Finished,
}

impl<T> BatchQueue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        BatchQueue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.max(1)),
                closed: false,
                abandoned: false,
                consumer_waiting: false,
                producers_waiting: 0,
            }),
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
        if st.consumer_waiting {
            self.filled.notify_one();
        }
        true
    }

    /// No more items will be sent.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
    }

    /// The consumer stops taking items: waiting and later sends fail.
    pub(crate) fn abandon(&self) {
        let mut st = self.lock();
        st.abandoned = true;
        st.items.clear();
        drop(st);
        self.emptied.notify_all();
    }

    /// The next item, waiting at most `timeout`.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, Empty> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(item) = st.items.pop_front() {
                if st.producers_waiting > 0 {
                    self.emptied.notify_one();
                }
                return Ok(item);
            }
            if st.closed {
                return Err(Empty::Finished);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Empty::Timeout);
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
    fn delivers_in_order_blocks_when_full_and_finishes() {
        let q = BatchQueue::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..100 {
                    assert!(q.send(i));
                }
                q.close();
            });
            let mut got = Vec::new();
            loop {
                match q.recv_timeout(Duration::from_millis(5)) {
                    Ok(i) => got.push(i),
                    Err(Empty::Timeout) => {}
                    Err(Empty::Finished) => break,
                }
            }
            assert_eq!(got, (0..100).collect::<Vec<_>>());
        });
        assert_eq!(q.recv_timeout(Duration::ZERO), Err(Empty::Finished));
    }

    #[test]
    fn times_out_when_empty_and_releases_senders_when_abandoned() {
        let q = BatchQueue::new(1);
        assert_eq!(
            q.recv_timeout(Duration::from_millis(1)),
            Err(Empty::Timeout)
        );
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
