//! Where the file's metadata is: the exact byte ranges of every metadata structure, derived from
//! the log of metadata reads that a full walk made, and how they sit in the file (ranges, 4 KiB
//! blocks, pages, the share near the front).
//!
//! The decoders read each structure whole, so the log is the structures' extents, with two
//! exceptions that are corrected here: the superblock and object headers are first read with a
//! speculative fixed length (their size is in their prefix), so those reads are replaced by the
//! exact sizes; and the superblock signature search reads the userblock, which is not metadata.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use coh5_format::superblock::Superblock;

/// Granularity of the "blocks" count: the common file system and object-store read unit.
pub const BLOCK_4K: u64 = 4096;
/// The front of the file that a reader can fetch in one request (the 8 MiB).
pub const FRONT: u64 = 8 << 20;

/// Bytes of a superblock of this version, fixed part only (the driver information block and the
/// extension are separate structures, read exactly).
pub fn superblock_len(sb: &Superblock) -> u64 {
    let o = u64::from(sb.ctx.sizeof_offsets);
    match sb.version {
        // Signature, versions, sizes, K values, flags (24; version 1 adds the indexed-storage K
        // and padding), four addresses, and the root group symbol table entry.
        0 => 24 + 4 * o + (2 * o + 24),
        1 => 28 + 4 * o + (2 * o + 24),
        // Signature, version, sizes, flags, four addresses, checksum.
        _ => 12 + 4 * o + 4,
    }
}

/// The metadata extents: the logged reads with speculative reads cut to the structure's size,
/// userblock reads dropped, then sorted and merged where they touch or overlap.
///
/// `exact` maps the absolute offset of a speculatively read structure to its true length.
pub fn metadata_ranges(
    log: &[Range<u64>],
    userblock: u64,
    exact: &HashMap<u64, u64>,
) -> Vec<Range<u64>> {
    let mut ranges: Vec<Range<u64>> = log
        .iter()
        .filter(|r| r.start >= userblock)
        .map(|r| match exact.get(&r.start) {
            Some(&len) => r.start..r.start.saturating_add(len),
            None => r.clone(),
        })
        .filter(|r| !r.is_empty())
        .collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    merge(ranges)
}

/// Sorted ranges merged where they overlap or touch.
pub fn merge(sorted: Vec<Range<u64>>) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Summary figures of a set of merged ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub bytes: u64,
    pub ranges: u64,
    /// Distinct 4 KiB-aligned blocks holding at least one byte.
    pub blocks_4k: u64,
    /// Bytes inside `[0, first_page)`: the first page of a paged file.
    pub in_first_page: u64,
    pub in_first_8mib: u64,
    /// Highest end offset (how far into the file a full walk must reach).
    pub last_byte: u64,
}

pub fn spread(ranges: &[Range<u64>], first_page: u64) -> Spread {
    let mut blocks = 0u64;
    let mut last_block: Option<u64> = None;
    for r in ranges {
        let first = r.start / BLOCK_4K;
        let last = (r.end - 1) / BLOCK_4K;
        // Ranges are sorted and disjoint, so only the first block can repeat the previous one.
        let first = match last_block {
            Some(b) if b >= first => b + 1,
            _ => first,
        };
        if last >= first {
            blocks += last - first + 1;
        }
        last_block = Some(last_block.map_or(last, |b| b.max(last)));
    }
    Spread {
        bytes: ranges.iter().map(|r| r.end - r.start).sum(),
        ranges: ranges.len() as u64,
        blocks_4k: blocks,
        in_first_page: overlap(ranges, 0..first_page),
        in_first_8mib: overlap(ranges, 0..FRONT),
        last_byte: ranges.last().map_or(0, |r| r.end),
    }
}

/// Bytes of `ranges` inside `window`.
pub fn overlap(ranges: &[Range<u64>], window: Range<u64>) -> u64 {
    ranges
        .iter()
        .map(|r| {
            r.end
                .min(window.end)
                .saturating_sub(r.start.max(window.start))
        })
        .sum()
}

/// How the pages of a paged file are used.
#[derive(Debug, Clone, PartialEq)]
pub struct Pages {
    pub total: u64,
    pub metadata: u64,
    pub raw_data: u64,
    /// Pages holding both (libhdf5's paged aggregation never writes these).
    pub mixed: u64,
    pub empty: u64,
    /// Bytes of all pages minus the metadata and raw data in them.
    pub unused_bytes: u64,
}

/// Classifies every page of a file of `file_size` bytes by what the (merged) ranges put in it.
pub fn pages(meta: &[Range<u64>], raw: &[Range<u64>], page: u64, file_size: u64) -> Pages {
    let total = file_size.div_ceil(page.max(1));
    let touched = |ranges: &[Range<u64>]| -> BTreeSet<u64> {
        let mut set = BTreeSet::new();
        for r in ranges.iter().filter(|r| !r.is_empty()) {
            set.extend(r.start / page..=(r.end - 1) / page);
        }
        set
    };
    let m = touched(meta);
    let d = touched(raw);
    let mixed = m.intersection(&d).count() as u64;
    let used: u64 = meta.iter().chain(raw).map(|r| r.end - r.start).sum();
    Pages {
        total,
        metadata: m.len() as u64 - mixed,
        raw_data: d.len() as u64 - mixed,
        mixed,
        empty: total.saturating_sub(m.union(&d).count() as u64),
        unused_bytes: total.saturating_mul(page).saturating_sub(used),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speculative_reads_are_cut_and_userblock_dropped() {
        let log = vec![0..256, 512..768, 1000..1512, 1100..1200, 1600..1700];
        let exact = HashMap::from([(512, 96), (1000, 40)]);
        let got = metadata_ranges(&log, 512, &exact);
        assert_eq!(got, vec![512..608, 1000..1040, 1100..1200, 1600..1700]);
    }

    #[test]
    fn spread_counts_blocks_once() {
        let r = vec![0..10, 4000..4100, 8192..8193, 20000..30000];
        let s = spread(&r, 4096);
        // Blocks 0, 1, 2, and 4..=7.
        assert_eq!(s.blocks_4k, 3 + 4);
        assert_eq!(s.bytes, 10 + 100 + 1 + 10000);
        assert_eq!(s.in_first_page, 10 + 96);
        assert_eq!(s.last_byte, 30000);
    }

    #[test]
    fn pages_are_classified() {
        let meta = vec![Range { start: 0, end: 100 }];
        let p = pages(&meta, &[4096..5000, 5000..5500], 4096, 16384);
        assert_eq!(
            (p.total, p.metadata, p.raw_data, p.mixed, p.empty),
            (4, 1, 1, 0, 2)
        );
        assert_eq!(p.unused_bytes, 16384 - 100 - 904 - 500);
        let raw = vec![Range {
            start: 200,
            end: 300,
        }];
        let p = pages(&meta, &raw, 4096, 4096);
        assert_eq!((p.metadata, p.raw_data, p.mixed), (0, 0, 1));
    }
}
