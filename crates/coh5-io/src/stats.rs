//! Request counters kept by every byte source, reported by `coh5 --stats` and used by tests to
//! prove that caching and coalescing really save round trips.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Lock-free counters of the requests a source has issued. A "request" is one round trip to the
/// backend: a ranged GET, a HEAD, or one positional read of a local file.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    bytes: AtomicU64,
    busy_nanos: AtomicU64,
}

/// A consistent-enough copy of [`Stats`] (each field is read atomically on its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Round trips issued.
    pub requests: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// Summed wall time of all requests; exceeds elapsed time when requests overlap.
    pub busy: Duration,
}

impl Stats {
    /// Fresh, zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request that returned `bytes` bytes and took `elapsed`.
    pub fn record(&self, bytes: u64, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        // Saturate rather than wrap: 584 years of summed busy time is "a lot", not zero.
        let _ = self
            .busy_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_add(nanos))
            });
    }

    /// The current counter values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
        }
    }
}

impl StatsSnapshot {
    /// What happened between `earlier` and `self` (per-field saturating difference).
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.saturating_sub(earlier.requests),
            bytes: self.bytes.saturating_sub(earlier.bytes),
            busy: self.busy.saturating_sub(earlier.busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_snapshot() {
        let s = Stats::new();
        assert_eq!(s.snapshot(), StatsSnapshot::default());
        s.record(10, Duration::from_millis(5));
        let first = s.snapshot();
        s.record(0, Duration::from_millis(1));
        let snap = s.snapshot();
        assert_eq!(snap.requests, 2);
        assert_eq!(snap.bytes, 10);
        assert_eq!(snap.busy, Duration::from_millis(6));
        let d = snap.since(&first);
        assert_eq!((d.requests, d.bytes), (1, 0));
        assert_eq!(d.busy, Duration::from_millis(1));
        s.record(0, Duration::MAX);
        assert_eq!(s.snapshot().busy, Duration::from_nanos(u64::MAX));
    }
}
