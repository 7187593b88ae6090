//! The cost model of `coh5 inspect`: predicted requests, bytes and seconds to open a file and
//! list everything in it, and to read one dataset whole, for two clients over an object store
//! with a given round-trip time and bandwidth.
//!
//! - **libhdf5-like** (libhdf5 with default settings over a byte-range driver such as h5py on
//!   fsspec without a cache): one request per metadata structure (its metadata cache serves
//!   repeats), one request per chunk or contiguous block, all one after another. Each request
//!   costs `rtt + bytes / bandwidth`.
//! - **coh5**: metadata through its block cache (aligned blocks, adjacent missing blocks of one
//!   read fetched together, in parts of at least 256 KiB), simulated over the same read
//!   sequence, one round trip per miss, one after another because each structure points at the
//!   next, after the open's first round
//!   trip of parallel parts (see [`coh5_first_read`]). Dataset reads are planned: the chunks go in
//!   batches of [`BATCH_BYTES`] through the range planner (`coh5_io::Plan`, the same code the
//!   reader runs: touching ranges joined, long spans split), [`DEFAULT_CONCURRENCY`] requests in
//!   flight; the read costs `ceil(requests / concurrency) × rtt + bytes / bandwidth`.
//!
//! Bandwidth is the client's total; latency is the first-byte time of one request.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub use coh5_io::DEFAULT_CONCURRENCY;

/// Bytes per planned batch of `coh5::read` from an object store: an eighth of its read-ahead.
pub const BATCH_BYTES: u64 = coh5_io::REMOTE_READ_AHEAD / 8;

/// The store the model prices requests for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostParams {
    /// Seconds from sending a request to its first byte.
    pub rtt: f64,
    /// Bytes per second.
    pub bandwidth: f64,
    /// Requests coh5 keeps in flight.
    pub concurrency: usize,
}

impl Default for CostParams {
    /// 50 ms and 100 MB/s: a client in the same cloud region as the bucket, but outside it.
    fn default() -> Self {
        CostParams {
            rtt: 0.050,
            bandwidth: 100e6,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Predicted cost of one task for one client.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    pub requests: u64,
    pub bytes: u64,
    /// Round trips that cannot overlap (equal to `requests` for a sequential client).
    pub round_trips: u64,
    pub seconds: f64,
}

impl Estimate {
    pub(crate) fn add_sequential(&mut self, p: &CostParams, bytes: u64) {
        self.requests += 1;
        self.round_trips += 1;
        self.bytes += bytes;
        self.seconds += p.rtt + bytes as f64 / p.bandwidth;
    }

    /// One fill of coh5's block cache: `bytes` of adjacent blocks, one round trip, in the
    /// parallel parts the range planner cuts them into for an object store.
    fn add_fill(&mut self, p: &CostParams, bytes: u64) {
        self.add_sequential(p, bytes);
        self.requests += fill_requests(bytes) - 1;
    }

    pub fn plus(self, other: Estimate) -> Estimate {
        Estimate {
            requests: self.requests + other.requests,
            bytes: self.bytes + other.bytes,
            round_trips: self.round_trips + other.round_trips,
            seconds: self.seconds + other.seconds,
        }
    }
}

/// libhdf5-like metadata reads: each range not read before is one request (libhdf5, like the
/// decoders, reads an object header's first 512 bytes before the rest), except that a node in
/// `nodes` is one request of its whole allocated size (libhdf5 reads a B-tree or symbol-table
/// node at once; the decoders read its header first).
pub fn libhdf5_metadata(
    log: &[Range<u64>],
    seen: &mut HashSet<(u64, u64)>,
    nodes: &HashMap<u64, u64>,
    p: &CostParams,
) -> Estimate {
    let mut e = Estimate::default();
    for r in log {
        let (key, len) = match nodes.get(&r.start) {
            Some(&len) => ((r.start, 0), len),
            None => ((r.start, r.end), r.end - r.start),
        };
        if seen.insert(key) {
            e.add_sequential(p, len);
        }
    }
    e
}

/// coh5's speculative first round trip at open (`meta::FIRST_READ` bytes from offset 0):
/// parallel GETs of `coh5_io::first_read_part` bytes, sent before the object's size is known,
/// so a small file's parts past its end are asked for (and refused) too. Afterwards the whole
/// blocks it covers (and the short last block when it reaches the end of the file) are cached.
/// When the superblock extension (at absolute offset `extension`) lies within
/// `meta::FIRST_PAGE_GUESS`, the open completes the bytes through the extension
/// (`meta::through_extension`) in parallel parts; otherwise, in a paged file whose page is
/// larger, parts complete page 0.
pub fn coh5_first_read(
    block: u64,
    file_size: u64,
    extension: Option<u64>,
    cached: &mut HashSet<u64>,
    p: &CostParams,
) -> Estimate {
    let block = block.max(1);
    let len = file_size.min(crate::meta::FIRST_READ);
    if len == 0 {
        return Estimate::default();
    }
    let mut e = Estimate {
        requests: crate::meta::FIRST_READ
            .div_ceil(coh5_io::first_read_part(crate::meta::FIRST_READ)),
        bytes: len,
        round_trips: 1,
        seconds: p.rtt + len as f64 / p.bandwidth,
    };
    let mut have = len;
    let prefix =
        extension.and_then(|at| crate::meta::through_extension(at, crate::meta::PAGED_BLOCK));
    if let Some(end) = prefix
        .map(|end| end.min(file_size))
        .filter(|&end| end > have)
    {
        e = e.plus(planned_range(have..end, p));
        have = end;
    }
    if prefix.is_none() && block > have && file_size > have {
        // A paged file whose page is larger than what was read: the open completes page 0.
        e = e.plus(planned_range(have..block.min(file_size), p));
        have = block.min(file_size);
    }
    let whole = if have == file_size {
        have.div_ceil(block)
    } else {
        have / block
    };
    cached.extend(0..whole);
    e
}

/// One range fetched through the range planner (split into parallel parts).
fn planned_range(range: Range<u64>, p: &CostParams) -> Estimate {
    let plan = coh5_io::Plan::new(
        std::slice::from_ref(&range),
        &coh5_io::PlanOptions::default(),
    );
    planned(&plan, p)
}

/// coh5's block cache over a read sequence: `cached` holds the blocks fetched before.
/// `prefetches` are the reader's prefetches (the header blocks of a group's children, requested
/// together), each with the number of reads of `log` made before it.
pub fn coh5_metadata(
    log: &[Range<u64>],
    prefetches: &[(usize, Vec<Range<u64>>)],
    block: u64,
    file_size: u64,
    cached: &mut HashSet<u64>,
    p: &CostParams,
) -> Estimate {
    let block = block.max(1);
    let mut e = Estimate::default();
    let mut pending = prefetches.iter().peekable();
    for (i, r) in log.iter().enumerate() {
        while let Some((_, ranges)) = pending.next_if(|(at, _)| *at <= i) {
            e = e.plus(coh5_prefetch(ranges, block, file_size, cached, p));
        }
        if r.is_empty() {
            continue;
        }
        let mut run: Option<(u64, u64)> = None;
        for b in r.start / block..=(r.end - 1) / block {
            if cached.insert(b) {
                run = Some(run.map_or((b, b), |(s, _)| (s, b)));
            } else if let Some((s, l)) = run.take() {
                e.add_fill(p, run_bytes(s, l, block, file_size));
            }
        }
        if let Some((s, l)) = run {
            e.add_fill(p, run_bytes(s, l, block, file_size));
        }
    }
    for (_, ranges) in pending {
        e = e.plus(coh5_prefetch(ranges, block, file_size, cached, p));
    }
    e
}

/// One prefetch: every missing block holding `ranges`, a fill per run of adjacent missing
/// blocks (in parts, see [`fill_requests`]), [`coh5_io::PREFETCH_CONCURRENCY`] fills in flight.
fn coh5_prefetch(
    ranges: &[Range<u64>],
    block: u64,
    file_size: u64,
    cached: &mut HashSet<u64>,
    p: &CostParams,
) -> Estimate {
    let mut blocks: Vec<u64> = ranges
        .iter()
        .filter(|r| r.start < r.end && r.start < file_size)
        .flat_map(|r| r.start / block..=(r.end.min(file_size) - 1) / block)
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    // Runs of adjacent missing blocks, each one fill.
    let mut runs: Vec<u64> = Vec::new();
    let mut last_missing: Option<u64> = None;
    for b in blocks {
        if cached.insert(b) {
            let len = run_bytes(b, b, block, file_size);
            match runs.last_mut() {
                Some(run) if last_missing.is_some_and(|l| l + 1 == b) => *run += len,
                _ => runs.push(len),
            }
            last_missing = Some(b);
        } else {
            last_missing = None;
        }
    }
    let bytes = runs.iter().sum();
    let requests = runs.iter().map(|&r| fill_requests(r)).sum::<u64>();
    let trips = (runs.len() as u64).div_ceil(coh5_io::PREFETCH_CONCURRENCY as u64);
    Estimate {
        requests,
        bytes,
        round_trips: trips,
        seconds: trips as f64 * p.rtt + bytes as f64 / p.bandwidth,
    }
}

/// Requests of one block-cache fill of `bytes` from an object store (at least one).
fn fill_requests(bytes: u64) -> u64 {
    let fill = 0..bytes.max(1);
    let plan = coh5_io::Plan::new(std::slice::from_ref(&fill), &coh5_io::PlanOptions::remote());
    plan.requests.len().max(1) as u64
}

fn run_bytes(first: u64, last: u64, block: u64, file_size: u64) -> u64 {
    let start = first.saturating_mul(block);
    let end = (last + 1).saturating_mul(block).min(file_size);
    end.saturating_sub(start)
}

/// libhdf5-like raw data reads: one request per range, one after another.
pub fn libhdf5_data(raw: &[Range<u64>], p: &CostParams) -> Estimate {
    let mut e = Estimate::default();
    for r in raw {
        e.add_sequential(p, r.end - r.start);
    }
    e
}

/// coh5's planned read of the ranges: batches of [`BATCH_BYTES`] through the range planner.
pub fn coh5_data(raw: &[Range<u64>], p: &CostParams) -> Estimate {
    let mut e = Estimate::default();
    let mut start = 0;
    while start < raw.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < raw.len() && (end == start || bytes < BATCH_BYTES) {
            bytes = bytes.saturating_add(raw[end].end - raw[end].start);
            end += 1;
        }
        let plan = coh5_io::Plan::new(&raw[start..end], &coh5_io::PlanOptions::default());
        e = e.plus(planned(&plan, p));
        start = end;
    }
    e
}

/// One planned fetch: its requests in waves of `concurrency`.
fn planned(plan: &coh5_io::Plan, p: &CostParams) -> Estimate {
    let n = plan.requests.len() as u64;
    let bytes = plan.fetched_bytes();
    let trips = n.div_ceil(p.concurrency.max(1) as u64);
    Estimate {
        requests: n,
        bytes,
        round_trips: trips,
        seconds: trips as f64 * p.rtt + bytes as f64 / p.bandwidth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: CostParams = CostParams {
        rtt: 0.1,
        bandwidth: 1000.0,
        concurrency: 4,
    };

    #[test]
    fn libhdf5_counts_each_structure_once() {
        let mut seen = HashSet::new();
        let nodes = HashMap::from([(200, 150)]);
        let e = libhdf5_metadata(&[0..100, 200..210, 200..300, 0..100], &mut seen, &nodes, &P);
        assert_eq!((e.requests, e.bytes), (2, 250));
        assert!((e.seconds - (0.2 + 0.25)).abs() < 1e-9);
    }

    #[test]
    fn coh5_fetches_missing_runs_once() {
        let mut cached = HashSet::new();
        // Blocks of 100: the first read misses 0..=2 (one run), the second hits 1 and misses 3,
        // the third is all cached.
        let log = [10..250, 150..350, 0..50];
        let e = coh5_metadata(&log, &[], 100, 1000, &mut cached, &P);
        assert_eq!((e.requests, e.bytes), (2, 400));
        // A read that straddles a cached block is two requests.
        let mut cached = HashSet::from([1]);
        let one = vec![Range { start: 0, end: 300 }];
        let e = coh5_metadata(&one, &[], 100, 1000, &mut cached, &P);
        assert_eq!(e.requests, 2);
    }

    #[test]
    fn a_fill_of_half_a_mib_is_two_parallel_requests() {
        // The block cache plans a fill as an object store's reads: parts of 256 KiB or more.
        let block = 512 << 10;
        let mut cached = HashSet::new();
        let first = 0..10;
        let e = coh5_metadata(
            std::slice::from_ref(&first),
            &[],
            block,
            4 * block,
            &mut cached,
            &P,
        );
        assert_eq!((e.requests, e.round_trips, e.bytes), (2, 1, block));
        let mut cached = HashSet::new();
        let e = coh5_metadata(
            &[],
            &[(0, vec![0..10, 3 * block..3 * block + 1])],
            block,
            4 * block,
            &mut cached,
            &P,
        );
        assert_eq!((e.requests, e.round_trips, e.bytes), (4, 1, 2 * block));
    }

    #[test]
    fn planned_reads_overlap() {
        // Ten separate chunks: ten requests, four in flight; touching ones would share one.
        let raw: Vec<Range<u64>> = (0..10).map(|i| i * 20..i * 20 + 10).collect();
        let e = coh5_data(&raw, &P);
        assert_eq!((e.requests, e.round_trips, e.bytes), (10, 3, 100));
        let touching: Vec<Range<u64>> = (0..10).map(|i| i * 10..i * 10 + 10).collect();
        assert_eq!(coh5_data(&touching, &P).requests, 1);
        let l = libhdf5_data(&raw, &P);
        assert_eq!((l.requests, l.round_trips), (10, 10));
        assert!(l.seconds > e.seconds);
    }
}
