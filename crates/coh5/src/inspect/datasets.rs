//! Per-dataset storage facts for `coh5 inspect`, from the layout message and the chunk index
//! alone (no raw data is read): layout, chunking, stored chunk sizes, filters, compression ratio,
//! unlimited dimensions, and whether the chunks are too small for remote reads.

use std::ops::Range;

use coh5_format::dataspace::UNLIMITED;
use coh5_format::message::layout::{ChunkIndex, Layout};
use coh5_format::UNDEF_ADDR;

use super::ClientCosts;
use crate::chunks::{stored, ChunkedLayout};
use crate::error::Result;
use crate::filters::filter_name;
use crate::object::Dataset;

/// A chunk whose uncompressed size is below this is too small to be worth one request to an
/// object store: at 50 ms and 100 MB/s one round trip costs as much as 5 MB of transfer, and the
/// rechunked ATL03 layout (100,000-element chunks, ≥ 400 KB) is what NSIDC found worth it.
pub const SMALL_CHUNK: u64 = 256 * 1024;

/// Stored sizes of a dataset's allocated chunks.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkSizes {
    pub min: u64,
    /// The lower middle of the sorted sizes (an actual chunk's size).
    pub median: u64,
    pub max: u64,
}

#[derive(Debug, Clone)]
pub struct DatasetFacts {
    pub path: String,
    /// "compact", "contiguous", "chunked" or "virtual".
    pub layout: &'static str,
    /// Chunk index type of a chunked dataset ("btree-v1", "single", "implicit", "fixed-array",
    /// "extensible-array", "btree-v2").
    pub chunk_index: Option<&'static str>,
    pub shape: Vec<u64>,
    /// Indexes of the unlimited dimensions.
    pub unlimited_dims: Vec<usize>,
    pub element_size: u64,
    pub chunk_shape: Option<Vec<u64>>,
    /// Bytes of one uncompressed chunk.
    pub chunk_bytes: Option<u64>,
    pub chunks: u64,
    pub chunk_sizes: Option<ChunkSizes>,
    /// Bytes of raw data stored in the file (chunks, the contiguous block, or the compact data).
    pub stored_bytes: u64,
    /// Bytes the stored part holds once decoded (allocated chunks × chunk size, or the data size).
    pub logical_bytes: u64,
    pub filters: Vec<String>,
    /// `logical_bytes / stored_bytes` when something is stored.
    pub compression_ratio: Option<f64>,
    /// Chunked, at least two chunks, and chunks smaller than [`SMALL_CHUNK`].
    pub small_chunks: bool,
    /// Where the raw data is in the file (absolute offsets), in index order.
    pub raw_ranges: Vec<Range<u64>>,
    /// Metadata reads that listing the chunks made (log positions `index_reads`).
    pub index_reads: Range<usize>,
    /// Predicted cost of reading the whole dataset once the file is open and listed.
    pub read_cost: Option<ClientCosts>,
    pub error: Option<String>,
}

impl DatasetFacts {
    fn new(path: &str) -> Self {
        DatasetFacts {
            path: path.to_string(),
            layout: "unknown",
            chunk_index: None,
            shape: Vec::new(),
            unlimited_dims: Vec::new(),
            element_size: 0,
            chunk_shape: None,
            chunk_bytes: None,
            chunks: 0,
            chunk_sizes: None,
            stored_bytes: 0,
            logical_bytes: 0,
            filters: Vec::new(),
            compression_ratio: None,
            small_chunks: false,
            raw_ranges: Vec::new(),
            index_reads: 0..0,
            read_cost: None,
            error: None,
        }
    }
}

/// Facts of one dataset; a dataset that cannot be decoded gets its error recorded instead.
pub(crate) fn examine(d: &Dataset) -> DatasetFacts {
    let mut facts = DatasetFacts::new(d.path());
    if let Err(e) = fill(d, &mut facts) {
        facts.error = Some(e.to_string());
    }
    facts
}

fn fill(d: &Dataset, f: &mut DatasetFacts) -> Result<()> {
    let inner = &d.file().inner;
    let base = inner.ctx().base_address;
    let space = d.stored_dataspace()?;
    let dt = d.datatype()?;
    let message = d.layout_message()?;
    f.shape = space.dims.clone();
    f.unlimited_dims = space
        .max_dims
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, &m)| m == UNLIMITED)
        .map(|(i, _)| i)
        .collect();
    f.element_size = u64::from(dt.size);
    f.filters = d.filters()?.iter().map(filter_name).collect();
    match &message.layout {
        Layout::Compact { data } => {
            f.layout = "compact";
            f.stored_bytes = data.len() as u64;
            f.logical_bytes = data.len() as u64;
        }
        Layout::Contiguous { address, size } => {
            f.layout = "contiguous";
            if *address != UNDEF_ADDR {
                f.stored_bytes = *size;
                f.logical_bytes = *size;
                let start = address.saturating_add(base);
                f.raw_ranges.push(start..start.saturating_add(*size));
            }
        }
        Layout::Virtual { .. } => f.layout = "virtual",
        Layout::Chunked {
            chunk_dims,
            flags: _,
            index,
            ..
        } => {
            f.layout = "chunked";
            f.chunk_index = Some(index_name(index));
            let layout = ChunkedLayout {
                version: message.version,
                chunk_dims,
                index,
            };
            let before = inner.meta.log_len();
            let (chunk_bytes, chunks) =
                stored(d, &space, &layout, f.element_size, !f.filters.is_empty())?;
            f.chunk_shape = Some(chunk_dims.clone());
            f.chunk_bytes = Some(chunk_bytes);
            f.index_reads = before..inner.meta.log_len();
            f.chunks = chunks.len() as u64;
            let mut sizes: Vec<u64> = chunks.iter().map(|c| c.size).collect();
            sizes.sort_unstable();
            if let (Some(&min), Some(&max)) = (sizes.first(), sizes.last()) {
                f.chunk_sizes = Some(ChunkSizes {
                    min,
                    median: sizes.get((sizes.len() - 1) / 2).copied().unwrap_or(min),
                    max,
                });
            }
            f.stored_bytes = sizes.iter().sum();
            f.logical_bytes = f.chunks.saturating_mul(chunk_bytes);
            f.raw_ranges = chunks
                .iter()
                .map(|c| {
                    let start = c.address.saturating_add(base);
                    start..start.saturating_add(c.size)
                })
                .collect();
            f.small_chunks = f.chunks >= 2 && chunk_bytes < SMALL_CHUNK;
        }
    }
    if f.stored_bytes > 0 {
        f.compression_ratio = Some(f.logical_bytes as f64 / f.stored_bytes as f64);
    }
    Ok(())
}

fn index_name(index: &ChunkIndex) -> &'static str {
    match index {
        ChunkIndex::BTreeV1 { .. } => "btree-v1",
        ChunkIndex::SingleChunk { .. } => "single",
        ChunkIndex::Implicit { .. } => "implicit",
        ChunkIndex::FixedArray { .. } => "fixed-array",
        ChunkIndex::ExtensibleArray { .. } => "extensible-array",
        ChunkIndex::BTreeV2 { .. } => "btree-v2",
    }
}
