//! The cost model of `coh5 inspect`: predicted requests, bytes and seconds to open a file and
//! list everything in it, and to read one dataset whole, for two clients over an object store
//! with a given round-trip time and bandwidth.
//!
//! - **libhdf5-like** (libhdf5 with default settings over a byte-range driver such as h5py on
//!   fsspec without a cache): one request per metadata structure (its metadata cache serves
//!   repeats), one request per chunk or contiguous block, all one after another. Each request
//!   costs `rtt + bytes / bandwidth`.
//! - **coh5**: metadata through its block cache (aligned blocks, adjacent missing blocks of one
//!   read fetched together), simulated over the same read sequence, one request per miss, one
//!   after another because each structure points at the next. Dataset reads are planned: every
//!   chunk is requested at once, [`DEFAULT_CONCURRENCY`] in flight, in batches of at most
//!   [`BATCH_BYTES`]; a batch costs `ceil(requests / concurrency) × rtt + bytes / bandwidth`.
//!
//! Bandwidth is the client's total; latency is the first-byte time of one request.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub use coh5_io::DEFAULT_CONCURRENCY;

/// Bytes fetched per planned batch by `coh5::read` (it waits for one batch before the next).
pub const BATCH_BYTES: u64 = 64 << 20;

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

/// coh5's speculative first read at open (`meta::FIRST_READ` bytes from offset 0): one request,
/// after which the whole blocks it covers (and the short last block when it reaches the end of
/// the file) are cached; in a paged file with larger pages, a second request completes page 0.
pub fn coh5_first_read(
    block: u64,
    file_size: u64,
    cached: &mut HashSet<u64>,
    p: &CostParams,
) -> Estimate {
    let block = block.max(1);
    let len = file_size.min(crate::meta::FIRST_READ);
    let mut e = Estimate::default();
    if len == 0 {
        return e;
    }
    e.add_sequential(p, len);
    if block > len && file_size > len {
        // A paged file whose page is larger than the first read: the open completes page 0.
        e.add_sequential(p, block.min(file_size) - len);
        cached.insert(0);
        return e;
    }
    let whole = if len == file_size {
        len.div_ceil(block)
    } else {
        len / block
    };
    cached.extend(0..whole);
    e
}

/// coh5's block cache over a read sequence: `cached` holds the blocks fetched before.
pub fn coh5_metadata(
    log: &[Range<u64>],
    block: u64,
    file_size: u64,
    cached: &mut HashSet<u64>,
    p: &CostParams,
) -> Estimate {
    let block = block.max(1);
    let mut e = Estimate::default();
    for r in log.iter().filter(|r| !r.is_empty()) {
        let mut run: Option<(u64, u64)> = None;
        for b in r.start / block..=(r.end - 1) / block {
            if cached.insert(b) {
                run = Some(run.map_or((b, b), |(s, _)| (s, b)));
            } else if let Some((s, l)) = run.take() {
                e.add_sequential(p, run_bytes(s, l, block, file_size));
            }
        }
        if let Some((s, l)) = run {
            e.add_sequential(p, run_bytes(s, l, block, file_size));
        }
    }
    e
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

/// coh5's planned read of the ranges: batches of [`BATCH_BYTES`], `concurrency` in flight.
pub fn coh5_data(raw: &[Range<u64>], p: &CostParams) -> Estimate {
    let mut e = Estimate::default();
    let conc = p.concurrency.max(1) as u64;
    let mut start = 0;
    while start < raw.len() {
        let mut end = start;
        let mut bytes = 0u64;
        while end < raw.len() && (end == start || bytes < BATCH_BYTES) {
            bytes = bytes.saturating_add(raw[end].end - raw[end].start);
            end += 1;
        }
        let n = (end - start) as u64;
        let trips = n.div_ceil(conc);
        e.requests += n;
        e.bytes += bytes;
        e.round_trips += trips;
        e.seconds += trips as f64 * p.rtt + bytes as f64 / p.bandwidth;
        start = end;
    }
    e
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
        let e = coh5_metadata(&log, 100, 1000, &mut cached, &P);
        assert_eq!((e.requests, e.bytes), (2, 400));
        // A read that straddles a cached block is two requests.
        let mut cached = HashSet::from([1]);
        let one = vec![Range { start: 0, end: 300 }];
        let e = coh5_metadata(&one, 100, 1000, &mut cached, &P);
        assert_eq!(e.requests, 2);
    }

    #[test]
    fn planned_reads_overlap() {
        let raw: Vec<Range<u64>> = (0..10).map(|i| i * 10..i * 10 + 10).collect();
        let e = coh5_data(&raw, &P);
        assert_eq!((e.requests, e.round_trips, e.bytes), (10, 3, 100));
        let l = libhdf5_data(&raw, &P);
        assert_eq!((l.requests, l.round_trips), (10, 10));
        assert!(l.seconds > e.seconds);
    }
}
