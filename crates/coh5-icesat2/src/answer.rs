//! The bytes an ideal reader of a subset must fetch, to judge what a run fetched against: the
//! stored (compressed) bytes of the photon chunks that hold a kept photon, of every photon
//! variable read (outputs and filter inputs alike, since the answer cannot be told without
//! them), plus the segment arrays the plan reads. Metadata is left out: it is the overhead
//! being judged.

use std::ops::Range;

use coh5::format::message::layout::Layout;
use coh5::Dataset;

use crate::error::Result;

/// Stored bytes an ideal reader fetches for one granule's subset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerBytes {
    /// Photon chunks holding at least one kept photon, over every photon variable read.
    pub photon_chunks: u64,
    /// The whole segment index of every beam, and the rows of broadcast segment variables.
    pub segment_arrays: u64,
}

impl AnswerBytes {
    pub fn total(&self) -> u64 {
        self.photon_chunks + self.segment_arrays
    }

    pub fn add(&mut self, other: AnswerBytes) {
        self.photon_chunks += other.photon_chunks;
        self.segment_arrays += other.segment_arrays;
    }
}

/// Stored bytes of the chunks of `d` that hold one of `rows` (sorted element indexes along the
/// first dimension). Unchunked data counts the span from the first to the last row, the one
/// request an ideal reader makes.
pub(crate) fn holding(d: &Dataset, rows: &[u64]) -> Result<u64> {
    let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
        return Ok(0);
    };
    let Layout::Chunked { chunk_dims, .. } = d.layout()? else {
        return Ok((last - first + 1).saturating_mul(row_bytes(d)?));
    };
    let along = chunk_dims.first().copied().unwrap_or(1).max(1);
    let mut wanted: Vec<u64> = rows.iter().map(|r| r / along).collect();
    wanted.dedup();
    Ok(d.chunks()?
        .iter()
        .filter(|c| {
            c.coords
                .first()
                .is_some_and(|k| wanted.binary_search(k).is_ok())
        })
        .map(|c| c.size)
        .sum())
}

/// Stored bytes of the rows `rows` of a segment-rate dataset (`0..len` for all of it): the
/// chunks overlapping them, or the span itself when unchunked.
pub(crate) fn spanning(d: &Dataset, rows: Range<u64>) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let Layout::Chunked { chunk_dims, .. } = d.layout()? else {
        return Ok((rows.end - rows.start).saturating_mul(row_bytes(d)?));
    };
    let along = chunk_dims.first().copied().unwrap_or(1).max(1);
    let chunks = rows.start / along..rows.end.div_ceil(along);
    Ok(d.chunks()?
        .iter()
        .filter(|c| c.coords.first().is_some_and(|k| chunks.contains(k)))
        .map(|c| c.size)
        .sum())
}

/// Bytes of one element of the first dimension (the element size times the other dimensions).
fn row_bytes(d: &Dataset) -> Result<u64> {
    let shape = d.shape()?;
    let size = u64::from(d.datatype()?.size);
    Ok(shape.iter().skip(1).fold(size, |a, &n| a.saturating_mul(n)))
}
