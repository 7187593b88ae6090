//! One memory bound shared by the granules of a run: a granule planned to hold more photon data
//! than is left waits until others have been handed over, so that `jobs` granules in flight
//! cannot add up to more than the bound. A granule larger than the whole bound runs alone
//! rather than never.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

/// Bytes taken from a [`Budget`], given back on drop (when the granule's result is dropped).
#[derive(Debug)]
pub(crate) struct Permit {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            held: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Waits until `bytes` fit beside what is held (or nothing is held), then takes them.
    pub fn acquire(self: &Arc<Self>, bytes: u64) -> Permit {
        let mut held = self.lock();
        while *held > 0 && held.saturating_add(bytes) > self.limit {
            held = self.freed.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        *held = held.saturating_add(bytes);
        Permit {
            budget: self.clone(),
            bytes,
        }
    }

    /// A plain counter cannot be left inconsistent by a panic elsewhere: poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.budget.lock();
        *held = held.saturating_sub(self.bytes);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_request_waits_for_room_and_an_oversized_one_runs_alone() {
        let b = Budget::new(100);
        let first = b.acquire(70);
        let (tx, rx) = std::sync::mpsc::channel();
        let b2 = b.clone();
        let waiter = std::thread::spawn(move || {
            let p = b2.acquire(50);
            tx.send(()).unwrap();
            p
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "70 + 50 > 100"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("room after the drop");
        drop(waiter.join().unwrap());
        let huge = b.acquire(1000);
        assert_eq!(*b.lock(), 1000);
        drop(huge);
        assert_eq!(*b.lock(), 0);
    }
}
