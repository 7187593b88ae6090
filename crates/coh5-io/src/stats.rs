//! Request counters kept by every byte source, reported by `coh5 --stats` and used by tests to
//! prove that caching and coalescing really save round trips.
//!
//! Definitions (the README's `--stats` section repeats them):
//! - a *request* is one attempt at one round trip to the backend: a ranged GET, a HEAD, or one
//!   positional read of a local file; a retried read counts every attempt;
//! - *bytes fetched* are payload bytes received, including those of attempts that failed later;
//! - *bytes used* are the distinct bytes handed to callers (the union of the ranges they asked
//!   for): a block cache that widens a 100-byte read to 64 KiB fetches 64 KiB and uses 100, and
//!   reading the same bytes twice uses them once;
//! - *retries* are requests beyond the first attempt of a read;
//! - *round trips on the critical path* are computed from request timings by
//!   [`critical_path`].

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::trace;

/// Lock-free counters of the requests a source has issued, plus the set of bytes it has
/// delivered to callers.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    bytes: AtomicU64,
    busy_nanos: AtomicU64,
    retries: AtomicU64,
    used: Mutex<RangeSet>,
}

/// A consistent-enough copy of [`Stats`] (each field is read atomically on its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests issued (every attempt).
    pub requests: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// Summed wall time of all requests; exceeds elapsed time when requests overlap.
    pub busy: Duration,
    /// Requests that repeated a failed attempt.
    pub retries: u64,
    /// Distinct bytes delivered to callers.
    pub used: u64,
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

    /// Counts one request that repeats a failed attempt (in addition to [`Stats::record`]).
    pub fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes that `range` was delivered to a caller.
    pub fn record_used(&self, range: Range<u64>) {
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(range);
    }

    /// Counts one finished attempt at `range` (empty for a HEAD) that started at `started` and
    /// received `bytes`, and hands it to the trace session, if one runs.
    pub(crate) fn request(
        &self,
        location: &str,
        range: Range<u64>,
        started: Instant,
        bytes: u64,
        attempt: u32,
        error: Option<String>,
    ) {
        let ended = Instant::now();
        self.record(bytes, ended.saturating_duration_since(started));
        if attempt > 1 {
            self.record_retry();
        }
        trace::record_request(|origin| trace::RequestRecord {
            location: location.to_owned(),
            start: started.saturating_duration_since(origin),
            end: ended.saturating_duration_since(origin),
            range,
            bytes,
            purpose: trace::current(),
            attempt,
            error,
        });
    }

    /// Notes that a caller received `range`, unless the read is a cache's widened fill (the
    /// cache reports what its own caller asked for).
    pub(crate) fn delivered(&self, location: &str, range: Range<u64>) {
        if range.is_empty() || trace::is_widened() {
            return;
        }
        self.record_used(range.clone());
        trace::record_used(location, range);
    }

    /// The current counter values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
            retries: self.retries.load(Ordering::Relaxed),
            used: self.used.lock().unwrap_or_else(|e| e.into_inner()).total(),
        }
    }
}

impl StatsSnapshot {
    /// What happened between `earlier` and `self` (per-field saturating difference; `used` is a
    /// union, so its difference counts bytes newly used).
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.saturating_sub(earlier.requests),
            bytes: self.bytes.saturating_sub(earlier.bytes),
            busy: self.busy.saturating_sub(earlier.busy),
            retries: self.retries.saturating_sub(earlier.retries),
            used: self.used.saturating_sub(earlier.used),
        }
    }
}

/// A set of byte offsets kept as disjoint, non-adjacent ranges (start → end).
#[derive(Debug, Default, Clone)]
pub(crate) struct RangeSet {
    ranges: BTreeMap<u64, u64>,
    total: u64,
}

impl RangeSet {
    pub fn insert(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        // Absorb every stored range that overlaps or touches [start, end).
        let touching: Vec<(u64, u64)> = self
            .ranges
            .range(..=end)
            .rev()
            .take_while(|(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in touching {
            self.ranges.remove(&s);
            self.total -= e - s;
            start = start.min(s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
        self.total += end - start;
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

/// The number of round trips on the critical path of a set of requests given as
/// `(start, end)` times: the length of the longest chain of requests each of which started no
/// earlier than the previous one ended.
///
/// Requests in flight together cost one round trip between them; a request that starts only
/// after another has finished may have waited for it (a header pointing at a heap, a batch
/// waiting for a free slot, a retry after a failure), so it adds one. The wall time of a run is
/// therefore at least this count times the latency of one request, which makes the count the
/// latency half of the benchmark's lower bound.
pub fn critical_path(intervals: &[(Duration, Duration)]) -> u64 {
    let mut by_start: Vec<(Duration, Duration)> = intervals.to_vec();
    by_start.sort();
    let mut by_end: Vec<(Duration, usize)> = by_start
        .iter()
        .enumerate()
        .map(|(i, &(_, end))| (end, i))
        .collect();
    by_end.sort();
    let mut depth = vec![0u64; by_start.len()];
    // Longest chain among requests that have ended before the current one starts.
    let mut best_finished = 0u64;
    let mut next_end = 0;
    let mut longest = 0;
    for i in 0..by_start.len() {
        let start = by_start[i].0;
        while next_end < by_end.len() && by_end[next_end].0 <= start {
            let j = by_end[next_end].1;
            // A zero-length request sorted after this one has no depth yet: it chains from
            // nothing that this one could not also chain from.
            best_finished = best_finished.max(depth[j]);
            next_end += 1;
        }
        depth[i] = best_finished + 1;
        longest = longest.max(depth[i]);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_snapshot() {
        let s = Stats::new();
        assert_eq!(s.snapshot(), StatsSnapshot::default());
        s.record(10, Duration::from_millis(5));
        s.record_used(0..10);
        let first = s.snapshot();
        s.record(0, Duration::from_millis(1));
        s.record_retry();
        s.record_used(5..15);
        let snap = s.snapshot();
        assert_eq!(snap.requests, 2);
        assert_eq!(snap.bytes, 10);
        assert_eq!(snap.busy, Duration::from_millis(6));
        assert_eq!((snap.retries, snap.used), (1, 15));
        let d = snap.since(&first);
        assert_eq!((d.requests, d.bytes, d.retries, d.used), (1, 0, 1, 5));
        assert_eq!(d.busy, Duration::from_millis(1));
        s.record(0, Duration::MAX);
        assert_eq!(s.snapshot().busy, Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn range_set_counts_distinct_bytes() {
        let mut set = RangeSet::default();
        set.insert(10..20);
        set.insert(30..40);
        set.insert(0..0);
        assert_eq!(set.total(), 20);
        set.insert(15..35);
        assert_eq!(set.total(), 30);
        assert_eq!(set.ranges.len(), 1);
        set.insert(40..41);
        set.insert(5..10);
        set.insert(12..13);
        assert_eq!(set.total(), 36);
        assert_eq!(set.ranges.len(), 1);
    }

    #[test]
    fn critical_path_counts_sequential_waves() {
        let ms = Duration::from_millis;
        assert_eq!(critical_path(&[]), 0);
        // Three overlapping requests: one round trip.
        let wave = [(ms(0), ms(10)), (ms(1), ms(12)), (ms(2), ms(9))];
        assert_eq!(critical_path(&wave), 1);
        // A chain of three, plus one long request overlapping all of them.
        let chain = [
            (ms(0), ms(10)),
            (ms(10), ms(20)),
            (ms(21), ms(30)),
            (ms(0), ms(30)),
        ];
        assert_eq!(critical_path(&chain), 3);
        // A request that started after the first of a wave ended, but while the second was
        // still running, extends the chain through the first.
        let staggered = [(ms(0), ms(5)), (ms(0), ms(50)), (ms(6), ms(20))];
        assert_eq!(critical_path(&staggered), 2);
    }
}
