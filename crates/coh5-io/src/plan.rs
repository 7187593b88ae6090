//! The range planner: turns the byte ranges one read needs (chunks of many datasets, of many
//! beams) into few, well-sized requests, and hands each range its bytes back.
//!
//! Over an object store a request costs a round trip (tens of milliseconds) before its first
//! byte, then bandwidth per connection; many connections run in parallel. So:
//! - overlapping and touching ranges are fetched once; when there are more runs than a few waves
//!   of requests carry, the smallest gaps (never `max_gap` or more) are bridged until they fit,
//!   since such a gap costs less to transfer than a round trip;
//! - each span of touching ranges is cut into requests of about `total ÷ concurrency`, kept
//!   between `min_part` (a smaller request is nearly all latency, and each one is billed) and
//!   `max_part`, so that every connection carries its share, and grown where rounding up would
//!   make more requests than run at once;
//! - at most `concurrency` requests are in flight.
//!
//! Each range is handed over as soon as the requests covering it are in
//! ([`read_planned_each`]): a zero-copy slice of the response that holds it, or, for a range
//! across two parts, one copy joining its pieces.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, StreamExt};

use crate::{ByteSource, Error, Result};

/// Waves of requests a plan aims for before bridging gaps between ranges: with `concurrency`
/// requests in flight, `concurrency × WAVES` separate requests cost only a few round trips.
const WAVES: usize = 4;

/// Requests in flight per planned read from an object store. Object stores serve each
/// connection at a bounded rate (tens of MB/s), so throughput comes from parallel requests;
/// S3 clients built for throughput keep dozens to hundreds in flight.
pub const REMOTE_CONCURRENCY: usize = 32;

/// Least request size of a planned read from an object store. All parts of a read that fits
/// [`REMOTE_CONCURRENCY`] requests arrive in one wave, whose length is the round trip plus the
/// largest part's transfer: a 13 MB variable cut into 32 parts of 0.4 MB instead of 13 of a
/// MiB arrives 12 ms sooner at 50 MB/s per connection.
pub const REMOTE_MIN_PART: u64 = 256 << 10;

/// How ranges are turned into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Neighbouring ranges separated by fewer bytes than this may share a request (when there
    /// are too many to fetch apart). The default, 1 MiB, is about what one connection
    /// transfers during a 20 ms round trip at 50 MB/s.
    pub max_gap: u64,
    /// Requests are not made smaller than this to spread bytes over connections.
    pub min_part: u64,
    /// No request is larger than this (larger ranges are split).
    pub max_part: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            max_gap: 1 << 20,
            min_part: 1 << 20,
            max_part: 16 << 20,
            concurrency: crate::DEFAULT_CONCURRENCY,
        }
    }
}

impl PlanOptions {
    /// The defaults, without bridging gaps when `source` is local (its read-ahead no more than
    /// [`LOCAL_READ_AHEAD`](crate::LOCAL_READ_AHEAD)): with no round trip to save, a bridged
    /// gap is only bytes read for nothing, possibly chunks the caller did not ask for. A remote
    /// source takes [`REMOTE_CONCURRENCY`] requests at once (a batch of chunks of half a MiB
    /// each then goes out in one wave instead of two), in parts down to [`REMOTE_MIN_PART`].
    pub fn for_source(source: &(impl ByteSource + ?Sized)) -> Self {
        if source.read_ahead() <= crate::LOCAL_READ_AHEAD {
            PlanOptions {
                max_gap: 1,
                ..PlanOptions::default()
            }
        } else {
            PlanOptions::remote()
        }
    }

    /// What [`PlanOptions::for_source`] gives an object store.
    pub fn remote() -> Self {
        PlanOptions {
            min_part: REMOTE_MIN_PART,
            concurrency: REMOTE_CONCURRENCY,
            ..PlanOptions::default()
        }
    }
}

/// One request of a plan and the input ranges it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The bytes requested.
    pub range: Range<u64>,
    /// Which merged span this request is part of (several requests share a span when one range
    /// was split).
    pub span: usize,
}

/// The requests that serve a set of ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Requests, in file order.
    pub requests: Vec<Request>,
    /// Merged spans, in file order; each is served by consecutive requests.
    pub spans: Vec<Range<u64>>,
    /// For each input range: its span (`None` for an empty range, which needs no bytes).
    pub span_of: Vec<Option<usize>>,
}

impl Plan {
    /// Plans `ranges` under `opts`.
    pub fn new(ranges: &[Range<u64>], opts: &PlanOptions) -> Plan {
        let mut order: Vec<usize> = (0..ranges.len())
            .filter(|&i| ranges[i].start < ranges[i].end)
            .collect();
        order.sort_by_key(|&i| (ranges[i].start, ranges[i].end));

        // Bytes the ranges cover (their union): what the connections share.
        let mut total = 0u64;
        let mut covered_to = 0u64;
        for &i in &order {
            let r = &ranges[i];
            let start = r.start.max(covered_to);
            if r.end > start {
                total += r.end - start;
                covered_to = r.end;
            }
        }
        let share = total.div_ceil(opts.concurrency.max(1) as u64);
        let target = share
            .max(opts.min_part)
            .min(opts.max_part.max(opts.min_part))
            .max(1);

        // Gaps are bridged only as far as needed to bring the requests down to a few waves:
        // a request more costs nothing while connections are free, bridged bytes always cost.
        let mut gaps: Vec<u64> = Vec::new();
        let mut end: Option<u64> = None;
        for &i in &order {
            let r = &ranges[i];
            if let Some(e) = end.filter(|&e| r.start > e) {
                gaps.push(r.start - e);
            }
            end = Some(end.map_or(r.end, |e| e.max(r.end)));
        }
        let budget = opts.concurrency.max(1).saturating_mul(WAVES);
        let max_gap = if gaps.len() < budget {
            1 // only touching ranges join
        } else {
            gaps.sort_unstable();
            // Bridging every gap up to this one leaves at most `budget` runs.
            let cut = gaps[gaps.len() - budget];
            cut.saturating_add(1).min(opts.max_gap)
        };

        let mut spans: Vec<Range<u64>> = Vec::new();
        let mut span_of = vec![None; ranges.len()];
        for &i in &order {
            let r = &ranges[i];
            // Touching ranges always join (the span is cut into parts below); a bridged gap
            // only while the span stays within one part.
            let joins = spans.last().is_some_and(|s| {
                let touches = r.start <= s.end;
                let close = r.start.saturating_sub(s.end) < max_gap;
                touches || (close && r.end.max(s.end) - s.start <= target)
            });
            match spans.last_mut() {
                Some(s) if joins => s.end = s.end.max(r.end),
                _ => spans.push(r.clone()),
            }
            span_of[i] = Some(spans.len() - 1);
        }

        let cut = split_size(&spans, target, opts);
        let mut requests = Vec::with_capacity(spans.len());
        for (k, s) in spans.iter().enumerate() {
            let len = s.end - s.start;
            let parts = len.div_ceil(cut).max(1);
            // Equal parts: the last connection does not finish long after the others.
            let part = len.div_ceil(parts);
            let mut start = s.start;
            while start < s.end {
                let end = start.saturating_add(part).min(s.end);
                requests.push(Request {
                    range: start..end,
                    span: k,
                });
                start = end;
            }
        }
        Plan {
            requests,
            spans,
            span_of,
        }
    }

    /// Bytes the plan fetches.
    pub fn fetched_bytes(&self) -> u64 {
        self.requests
            .iter()
            .map(|r| r.range.end - r.range.start)
            .sum()
    }
}

/// The size spans are cut at: `target`, unless each span's parts rounding up makes more
/// requests than `opts.concurrency` (a second wave for a few bytes each) where a larger cut, up
/// to `max_part`, makes them fit: then the least such cut.
fn split_size(spans: &[Range<u64>], target: u64, opts: &PlanOptions) -> u64 {
    let parts = |cut: u64| -> u64 { spans.iter().map(|s| (s.end - s.start).div_ceil(cut)).sum() };
    let fit = opts.concurrency.max(1) as u64;
    let (mut lo, mut hi) = (target, opts.max_part.max(target));
    if parts(lo) <= fit || parts(hi) > fit {
        return target;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if parts(mid) <= fit {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// Exactly the bytes of each range, in input order, fetched from `source` as `opts` plans them.
/// The first error wins and the remaining requests are dropped.
pub async fn read_planned(
    source: &(impl ByteSource + ?Sized),
    ranges: &[Range<u64>],
    opts: &PlanOptions,
) -> Result<Vec<Bytes>> {
    let mut out = vec![Bytes::new(); ranges.len()];
    read_planned_each(source, ranges, opts, |i, bytes| out[i] = bytes).await?;
    Ok(out)
}

/// [`read_planned`], handing each range's bytes to `done` (with the range's index) as soon as
/// the requests that cover it are in, so that a caller decodes the first chunks while the last
/// are still arriving. Each range is handed over once, unless an error ends the read first.
/// A range inside one request is a slice of its response; one that straddles requests (a
/// split span) is copied once, to join its pieces.
pub async fn read_planned_each(
    source: &(impl ByteSource + ?Sized),
    ranges: &[Range<u64>],
    opts: &PlanOptions,
    mut done: impl FnMut(usize, Bytes),
) -> Result<()> {
    let plan = Plan::new(ranges, opts);
    // Requests come in file order and a span's parts are consecutive and sorted, so the
    // requests covering a range are found by binary search among its span's.
    let mut span_requests = vec![0..0; plan.spans.len()];
    for (q, req) in plan.requests.iter().enumerate() {
        let r = &mut span_requests[req.span];
        if r.end == 0 {
            r.start = q;
        }
        r.end = q + 1;
    }
    let covering = |r: &Range<u64>, k: usize| -> Range<usize> {
        let reqs = span_requests[k].clone();
        let within = &plan.requests[reqs.clone()];
        let lo = within.partition_point(|q| q.range.end <= r.start);
        let hi = within.partition_point(|q| q.range.start < r.end);
        reqs.start + lo..reqs.start + hi.max(lo)
    };
    // For each range, the requests covering it and how many of them are still out; for each
    // request, the ranges it serves.
    let mut covers = vec![0..0; ranges.len()];
    let mut waiting = vec![0usize; ranges.len()];
    let mut serves: Vec<Vec<usize>> = vec![Vec::new(); plan.requests.len()];
    for (i, r) in ranges.iter().enumerate() {
        match plan.span_of[i] {
            None => done(i, Bytes::new()),
            Some(k) => {
                covers[i] = covering(r, k);
                waiting[i] = covers[i].len();
                for q in covers[i].clone() {
                    serves[q].push(i);
                }
            }
        }
    }

    let mut fetched: Vec<Bytes> = vec![Bytes::new(); plan.requests.len()];
    // Owned items: a future borrowing the plan would not be `Send` for every lifetime.
    let wanted: Vec<(usize, Range<u64>)> = plan
        .requests
        .iter()
        .map(|r| r.range.clone())
        .enumerate()
        .collect();
    let mut responses = stream::iter(wanted)
        .map(|(q, range)| async move { (q, source.read_range(range).await) })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some((q, data)) = responses.next().await {
        let data = data?;
        let want = &plan.requests[q].range;
        if data.len() as u64 != want.end - want.start {
            return Err(Error::ShortRead {
                location: source.location().to_owned(),
                range: want.clone(),
                got: data.len() as u64,
            });
        }
        fetched[q] = data;
        for &i in &serves[q] {
            waiting[i] -= 1;
            if waiting[i] > 0 {
                continue;
            }
            let (r, qs) = (&ranges[i], covers[i].clone());
            // Each piece: the part of request `q` that lies in `r`. Offsets fit in usize
            // because the responses are in memory.
            let piece = |q: usize| {
                let got = &plan.requests[q].range;
                let lo = (r.start.max(got.start) - got.start) as usize;
                let hi = (r.end.min(got.end) - got.start) as usize;
                fetched[q].slice(lo..hi)
            };
            let bytes = if qs.len() == 1 {
                piece(qs.start)
            } else {
                let mut all = BytesMut::with_capacity((r.end - r.start) as usize);
                for q in qs {
                    all.extend_from_slice(&piece(q));
                }
                all.freeze()
            };
            done(i, bytes);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemorySource, Stats};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    /// Counts requests, remembers their ranges, and tracks the most in flight at once.
    #[derive(Debug)]
    struct Counting {
        inner: MemorySource,
        seen: Mutex<Vec<Range<u64>>>,
        in_flight: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Counting {
        fn new(len: usize) -> Self {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            Counting {
                inner: MemorySource::new(data, "mem://counting"),
                seen: Mutex::default(),
                in_flight: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }
        }
        fn seen(&self) -> Vec<Range<u64>> {
            let mut v = self.seen.lock().unwrap().clone();
            v.sort_by_key(|r| r.start);
            v
        }
        fn want(&self, r: &Range<u64>) -> Bytes {
            self.inner.data().slice(r.start as usize..r.end as usize)
        }
    }

    #[async_trait::async_trait]
    impl ByteSource for Counting {
        fn location(&self) -> &str {
            self.inner.location()
        }
        async fn size(&self) -> Result<u64> {
            self.inner.size().await
        }
        async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
            self.seen.lock().unwrap().push(range.clone());
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.inner.read_range(range).await
        }
        fn stats(&self) -> &Stats {
            self.inner.stats()
        }
    }

    fn opts(max_gap: u64, min_part: u64, max_part: u64, concurrency: usize) -> PlanOptions {
        PlanOptions {
            max_gap,
            min_part,
            max_part,
            concurrency,
        }
    }

    async fn check(src: &Counting, ranges: &[Range<u64>], o: &PlanOptions) {
        let got = read_planned(src, ranges, o).await.unwrap();
        assert_eq!(got.len(), ranges.len());
        for (r, g) in ranges.iter().zip(&got) {
            assert_eq!(g, &src.want(r), "range {r:?}");
        }
    }

    #[tokio::test]
    async fn few_runs_go_apart_and_many_bridge_their_smallest_gaps() {
        let ranges = [290..400, 0..100, 150..200, 5000..5100, 5150..5160];
        // Four connections carry five requests in one wave: nothing is bridged.
        let src = Counting::new(10_000);
        check(&src, &ranges, &opts(100, 1000, 1000, 4)).await;
        assert_eq!(
            src.seen(),
            vec![0..100, 150..200, 290..400, 5000..5100, 5150..5160]
        );
        // One connection, four waves at most: the two smallest gaps (50 bytes) are bridged.
        let src = Counting::new(10_000);
        check(&src, &ranges, &opts(100, 1000, 1000, 1)).await;
        assert_eq!(src.seen(), vec![0..200, 290..400, 5000..5160]);
    }

    /// Many small ranges with small gaps: over an object store the planner bridges gaps to
    /// save round trips, over a local source it fetches exactly the ranges.
    #[test]
    fn local_sources_bridge_no_gaps() {
        let ranges: Vec<Range<u64>> = (0..200).map(|i| i * 100..i * 100 + 60).collect();
        let local = MemorySource::new(vec![0u8; 20_000], "mem");
        let opts = PlanOptions::for_source(&local);
        assert_eq!(opts.max_gap, 1);
        let plan = Plan::new(&ranges, &opts);
        assert_eq!(plan.requests.len(), 200);
        assert_eq!(plan.fetched_bytes(), 200 * 60);
        let remote = Plan::new(&ranges, &PlanOptions::default());
        assert!(remote.requests.len() < 200, "{}", remote.requests.len());
    }

    #[tokio::test]
    async fn a_gap_of_max_gap_is_never_bridged() {
        let src = Counting::new(1000);
        let ranges: Vec<Range<u64>> = (0..6).map(|i| i * 110..i * 110 + 10).collect();
        check(&src, &ranges, &opts(100, 1000, 1000, 1)).await;
        assert_eq!(src.seen(), ranges);
    }

    #[tokio::test]
    async fn overlapping_and_repeated_ranges_are_fetched_once() {
        let src = Counting::new(1000);
        let ranges = [10..50, 10..50, 40..90, 45..60, 0..0];
        check(&src, &ranges, &opts(0, 1000, 1000, 4)).await;
        assert_eq!(src.seen(), vec![10..90]);
    }

    #[tokio::test]
    async fn merged_requests_stop_at_the_part_size() {
        let src = Counting::new(10_000);
        let ranges: Vec<Range<u64>> = (0..10).map(|i| i * 100..i * 100 + 90).collect();
        // 900 bytes over 2 connections: parts of about 450 bytes.
        check(&src, &ranges, &opts(50, 300, 1000, 2)).await;
        let seen = src.seen();
        assert_eq!(seen, vec![0..390, 400..790, 800..990]);
    }

    #[tokio::test]
    async fn a_large_range_is_split_into_equal_parts_in_flight_together() {
        let src = Counting::new(100_000);
        let range = 1000..81_000;
        check(
            &src,
            std::slice::from_ref(&range),
            &opts(0, 1000, 20_000, 8),
        )
        .await;
        let seen = src.seen();
        assert_eq!(seen.len(), 8, "{seen:?}");
        assert!(seen.iter().all(|r| r.end - r.start == 10_000), "{seen:?}");
        assert_eq!(src.peak.load(Ordering::SeqCst), 8);
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let src = Counting::new(100_000);
        let ranges: Vec<Range<u64>> = (0..40).map(|i| i * 2000..i * 2000 + 100).collect();
        check(&src, &ranges, &opts(0, 1, 1000, 3)).await;
        assert_eq!(src.seen().len(), 40);
        assert_eq!(src.peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn responses_are_slices_of_one_buffer() {
        let src = Counting::new(1000);
        let got = read_planned(&src, &[0..10, 10..30], &opts(100, 1000, 1000, 4))
            .await
            .unwrap();
        assert_eq!(src.seen(), vec![0..30]);
        let base = got[0].as_ptr();
        assert_eq!(got[1].as_ptr(), base.wrapping_add(10), "no copy");
    }

    #[tokio::test]
    async fn a_range_past_the_end_is_an_error() {
        let src = Counting::new(100);
        let e = read_planned(&src, &[0..10, 90..110], &PlanOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::OutOfBounds { size: 100, .. }), "{e}");
    }

    #[tokio::test]
    async fn ranges_straddling_the_parts_of_a_split_span_are_handed_over_once_each() {
        // 30 touching ranges of 700 bytes make one span of 21,000, cut into 8 parts of 2,625:
        // most ranges lie in one part (a slice), some straddle two (joined).
        let src = Counting::new(30_000);
        let ranges: Vec<Range<u64>> = (0..30)
            .map(|i| 500 + i * 700..500 + (i + 1) * 700)
            .collect();
        let o = opts(1, 100, 100_000, 8);
        let mut seen = vec![0; ranges.len()];
        read_planned_each(&src, &ranges, &o, |i, bytes| {
            seen[i] += 1;
            assert_eq!(bytes, src.want(&ranges[i]), "range {i}");
        })
        .await
        .unwrap();
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        assert_eq!(src.seen().len(), 8);
        check(&Counting::new(30_000), &ranges, &o).await;
    }

    #[test]
    fn rounding_up_parts_does_not_spill_into_a_second_wave() {
        // 4 runs of 1000 bytes over 6 connections: cut at the share (667) each makes 2 parts,
        // 8 requests for 6 connections. Cut at 1000 they take one wave.
        let ranges: Vec<Range<u64>> = (0..4).map(|i| i * 10_000..i * 10_000 + 1000).collect();
        let plan = Plan::new(&ranges, &opts(1, 100, 10_000, 6));
        assert_eq!(plan.fetched_bytes(), 4000);
        assert_eq!(plan.requests.len(), 4, "{:?}", plan.requests);
        // When even the largest part cannot make them fit, the share stays the cut.
        let plan = Plan::new(&ranges, &opts(1, 100, 700, 6));
        assert_eq!(plan.requests.len(), 8, "{:?}", plan.requests);
    }

    #[test]
    fn default_plan_for_many_chunks() {
        // 200 chunks of 300 kB back to back (60 MB): 16 requests of about 3.75 MB.
        let ranges: Vec<Range<u64>> = (0..200).map(|i| i * 300_000..(i + 1) * 300_000).collect();
        let plan = Plan::new(&ranges, &PlanOptions::default());
        assert_eq!(plan.fetched_bytes(), 60_000_000);
        assert!(
            (16..=17).contains(&plan.requests.len()),
            "{}",
            plan.requests.len()
        );
        // Nothing at all: no requests.
        let nothing = 5..5;
        let empty = Plan::new(std::slice::from_ref(&nothing), &PlanOptions::default());
        assert!(empty.requests.is_empty());
        assert_eq!(empty.span_of, vec![None]);
    }
}
