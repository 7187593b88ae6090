//! Where the chunks of a chunked dataset are: every chunk index type turned into one list of
//! (chunk coordinates, file address, stored size, filter mask).

use coh5_format::btree::v1::chunk_records;
use coh5_format::btree::v2::{BTreeV2, Record, RecordContext};
use coh5_format::chunk_index::{extensible_array, fixed_array, ChunkSlot};
use coh5_format::dataspace::{widen_unlimited, Dataspace};
use coh5_format::message::layout::{ChunkIndex, Layout};
use coh5_format::{Error as FormatError, Reader, Result, UNDEF_ADDR};

use crate::object::Dataset;
use crate::read::object_err;

/// One stored chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Chunk coordinates in units of chunks (element offset / chunk dimension).
    pub coords: Vec<u64>,
    /// Relative file address of the stored bytes.
    pub address: u64,
    /// Stored (possibly filtered) size in bytes.
    pub size: u64,
    /// Filters skipped for this chunk (bit i = pipeline filter i not applied).
    pub filter_mask: u32,
}

/// The shape facts that chunk indexes number their chunks by.
pub(crate) struct Grid<'a> {
    pub dims: &'a [u64],
    /// Maximum dimensions (`u64::MAX` = unlimited).
    pub max_dims: &'a [u64],
    pub chunk: &'a [u64],
    /// Bytes of one unfiltered chunk.
    pub chunk_bytes: u64,
    pub layout_version: u8,
    pub filtered: bool,
}

impl Grid<'_> {
    /// Chunks per dimension over the maximum extent; unlimited dimensions count as one (they are
    /// only ever the slowest-varying dimension of an array index, where the count is unused).
    fn max_chunks(&self) -> Vec<u64> {
        self.max_dims
            .iter()
            .zip(self.chunk)
            .map(|(&m, &c)| {
                if m == u64::MAX {
                    1
                } else {
                    m.div_ceil(c.max(1))
                }
            })
            .collect()
    }

    /// Chunks per dimension over the current extent.
    fn chunks(&self) -> Vec<u64> {
        self.dims
            .iter()
            .zip(self.chunk)
            .map(|(&d, &c)| d.div_ceil(c.max(1)))
            .collect()
    }

    /// Chunk coordinates of a linear slot in row-major order over `counts`; the first
    /// (slowest) dimension takes whatever remains, so its count may be a placeholder.
    fn unravel(mut index: u64, counts: &[u64]) -> Vec<u64> {
        let mut coords = vec![0; counts.len()];
        for (i, (c, &n)) in coords.iter_mut().zip(counts).enumerate().rev() {
            if i == 0 {
                *c = index;
            } else {
                let n = n.max(1);
                *c = index % n;
                index /= n;
            }
        }
        coords
    }

    /// Bytes of the "chunk size" field of filtered records in v2 B-tree indexes: one more than
    /// the bytes needed for an unfiltered chunk's size, at most 8 (layout version 4); the width
    /// of the file's length fields from layout version 5 (libhdf5 2.0) on, so a filter may grow
    /// a chunk past any size.
    fn size_field_len(&self, sizeof_lengths: u8) -> usize {
        if self.layout_version >= 5 {
            return usize::from(sizeof_lengths);
        }
        let bits = 64 - self.chunk_bytes.leading_zeros() as usize;
        (bits.div_ceil(8) + 1).min(8)
    }
}

impl Dataset {
    /// Every allocated chunk (coordinates, address, stored size), from the chunk index; empty
    /// for a dataset that is not chunked. For callers that account for what a read of a
    /// selection must fetch: the stored size of each chunk it touches.
    pub fn chunks(&self) -> crate::Result<Vec<Chunk>> {
        let message = self.layout_message()?;
        let Layout::Chunked {
            chunk_dims, index, ..
        } = &message.layout
        else {
            return Ok(Vec::new());
        };
        let space = self.dataspace()?;
        let esize = u64::from(self.datatype()?.size);
        let filtered = !self.filters()?.is_empty();
        let layout = ChunkedLayout {
            version: message.version,
            chunk_dims,
            index,
        };
        Ok(stored(self, &space, &layout, esize, filtered)?.1)
    }
}

/// The parts of a chunked layout message that locating chunks needs.
pub(crate) struct ChunkedLayout<'a> {
    pub version: u8,
    pub chunk_dims: &'a [u64],
    pub index: &'a ChunkIndex,
}

/// The bytes of one whole chunk, and every allocated chunk of `d` from its chunk index. A chunk
/// larger than 64 GiB (16 × libhdf5's 4 GiB limit, for wide element types) is refused as corrupt.
pub(crate) fn stored(
    d: &Dataset,
    space: &Dataspace,
    layout: &ChunkedLayout,
    esize: u64,
    filtered: bool,
) -> crate::Result<(u64, Vec<Chunk>)> {
    // libhdf5 refuses a chunk shape of another rank than the dataspace; a file that has one is
    // corrupt, and every chunk's place in the dataset would be misread.
    if layout.chunk_dims.len() != space.dims.len() {
        return Err(object_err(
            d,
            format!(
                "chunks of rank {} in a dataspace of rank {}",
                layout.chunk_dims.len(),
                space.dims.len()
            ),
        ));
    }
    let chunk_bytes = layout
        .chunk_dims
        .iter()
        .try_fold(esize, |a, &n| a.checked_mul(n))
        .filter(|&n| n <= u64::from(u32::MAX) * 16)
        .ok_or_else(|| object_err(d, "chunk size overflows"))?;
    let inner = &d.file().inner;
    let reader = inner.reader();
    let max_dims: Vec<u64> = match &space.max_dims {
        Some(m) => m
            .iter()
            .map(|&x| widen_unlimited(x, reader.ctx.sizeof_lengths))
            .collect(),
        None => space.dims.clone(),
    };
    let grid = Grid {
        dims: &space.dims,
        max_dims: &max_dims,
        chunk: layout.chunk_dims,
        chunk_bytes,
        layout_version: layout.version,
        filtered,
    };
    let chunks = list(&reader, layout.index, &grid).map_err(|e| inner.err(d.path(), e))?;
    Ok((chunk_bytes, chunks))
}

/// Every allocated chunk of the dataset.
pub(crate) fn list(r: &Reader, index: &ChunkIndex, grid: &Grid) -> Result<Vec<Chunk>> {
    let _purpose = coh5_io::trace::enter(coh5_io::trace::CHUNK_INDEX);
    let rank = grid.dims.len();
    let fixed = |slot: ChunkSlot, counts: &[u64]| Chunk {
        coords: Grid::unravel(slot.index, counts),
        address: slot.address,
        size: slot.size.unwrap_or(grid.chunk_bytes),
        filter_mask: slot.filter_mask,
    };
    match index {
        ChunkIndex::BTreeV1 { address } => {
            if *address == UNDEF_ADDR {
                return Ok(Vec::new());
            }
            // Keys hold element offsets with a trailing 0 for the element-size dimension.
            chunk_records(r, *address, rank + 1)?
                .into_iter()
                .map(|rec| {
                    let coords = rec
                        .offsets
                        .iter()
                        .take(rank)
                        .zip(grid.chunk)
                        .map(|(&o, &c)| {
                            if c == 0 || o % c != 0 {
                                Err(FormatError::corrupt(
                                    "chunk B-tree",
                                    rec.address,
                                    "chunk offset not a multiple of the chunk size",
                                ))
                            } else {
                                Ok(o / c)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Chunk {
                        coords,
                        address: rec.address,
                        size: u64::from(rec.size),
                        filter_mask: rec.filter_mask,
                    })
                })
                .collect()
        }
        ChunkIndex::SingleChunk {
            address,
            filtered_size,
            filter_mask,
        } => Ok(if *address == UNDEF_ADDR {
            Vec::new()
        } else {
            vec![Chunk {
                coords: vec![0; rank],
                address: *address,
                size: filtered_size.unwrap_or(grid.chunk_bytes),
                filter_mask: *filter_mask,
            }]
        }),
        ChunkIndex::Implicit { address } => {
            if *address == UNDEF_ADDR {
                return Ok(Vec::new());
            }
            // Implicit indexes lay chunks out over the current extent (File Format
            // Specification VII.B); fixed arrays number slots over the maximum extent.
            let counts = grid.chunks();
            let total = counts.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
            let total = total.ok_or_else(|| {
                FormatError::limit("implicit chunk index", *address, "chunk count overflows")
            })?;
            let end = total
                .checked_mul(grid.chunk_bytes)
                .and_then(|n| n.checked_add(*address));
            if end.is_none_or(|e| e > r.available(0)) {
                return Err(FormatError::corrupt(
                    "implicit chunk index",
                    *address,
                    "chunks extend past the end of the file",
                ));
            }
            Ok((0..total)
                .map(|i| Chunk {
                    coords: Grid::unravel(i, &counts),
                    address: address + i * grid.chunk_bytes,
                    size: grid.chunk_bytes,
                    filter_mask: 0,
                })
                .collect())
        }
        ChunkIndex::FixedArray { address, .. } => {
            if *address == UNDEF_ADDR {
                return Ok(Vec::new());
            }
            let counts = grid.max_chunks();
            Ok(fixed_array::chunks(r, *address)?
                .into_iter()
                .map(|s| fixed(s, &counts))
                .collect())
        }
        ChunkIndex::ExtensibleArray { address, .. } => {
            if *address == UNDEF_ADDR {
                return Ok(Vec::new());
            }
            // Slots run over the maximum chunk grid with the unlimited dimension moved first.
            let unlimited = grid
                .max_dims
                .iter()
                .position(|&m| m == u64::MAX)
                .unwrap_or(0);
            let mut counts = grid.max_chunks();
            let u = counts.remove(unlimited);
            counts.insert(0, u);
            Ok(swizzled_slots_to_chunks(
                extensible_array::chunks(r, *address)?,
                &counts,
                unlimited,
                grid.chunk_bytes,
            ))
        }
        ChunkIndex::BTreeV2 { address, .. } => {
            if *address == UNDEF_ADDR {
                return Ok(Vec::new());
            }
            let tree = BTreeV2::read(r, *address)?;
            let rc = RecordContext {
                rank,
                chunk_size_len: grid.size_field_len(r.ctx.sizeof_lengths),
                filtered: grid.filtered,
            };
            tree.records(r, &rc)?
                .into_iter()
                .map(|rec| match rec {
                    Record::Chunk {
                        address,
                        size,
                        filter_mask,
                        offsets,
                    } => Ok(Chunk {
                        coords: offsets,
                        address,
                        size: size.unwrap_or(grid.chunk_bytes),
                        filter_mask,
                    }),
                    _ => Err(FormatError::corrupt(
                        "chunk B-tree",
                        tree.root,
                        "record is not a chunk record",
                    )),
                })
                .collect()
        }
    }
}

fn swizzled_slots_to_chunks(
    slots: Vec<ChunkSlot>,
    swizzled_counts: &[u64],
    unlimited: usize,
    chunk_bytes: u64,
) -> Vec<Chunk> {
    slots
        .into_iter()
        .map(|s| {
            let mut coords = Grid::unravel(s.index, swizzled_counts);
            let u = coords.remove(0);
            coords.insert(unlimited, u);
            Chunk {
                coords,
                address: s.address,
                size: s.size.unwrap_or(chunk_bytes),
                filter_mask: s.filter_mask,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_is_row_major() {
        assert_eq!(Grid::unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(Grid::unravel(0, &[4]), vec![0]);
        assert_eq!(Grid::unravel(7, &[1, 3]), vec![2, 1]);
    }
}
