//! Chunk indexes of layout-version-4 datasets (File Format Specification VII, Appendix C) that
//! are arrays of chunk records: the fixed array and the extensible array. Both yield every
//! allocated chunk with its linear slot number; mapping slots to chunk coordinates depends on the
//! dataset's dimensions and is left to the caller.
//!
//! (Version 1 and 2 B-tree indexes live in `btree`; single-chunk and implicit indexes need no
//! structure of their own.)

pub mod extensible_array;
pub mod fixed_array;

use crate::error::Result;
use crate::read::{Context, Cursor, UNDEF_ADDR};

/// One allocated chunk of an array-style index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSlot {
    /// Linear slot number in the index's numbering.
    pub index: u64,
    /// Relative file address of the stored chunk.
    pub address: u64,
    /// Stored size for filtered chunks; `None` means "the unfiltered chunk size".
    pub size: Option<u64>,
    /// Filters skipped for this chunk (bit i = filter i not applied).
    pub filter_mask: u32,
}

/// How array elements encode a chunk: an address, plus (for filtered datasets) a stored size of
/// `size_len` bytes and a filter mask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementCodec {
    pub filtered: bool,
    pub element_size: usize,
    pub size_len: usize,
}

impl ElementCodec {
    /// From the client ID and element size of an array header.
    pub fn new(c: &Cursor, ctx: &Context, client_id: u8, element_size: u8) -> Result<Self> {
        let element_size = usize::from(element_size);
        let offsets = usize::from(ctx.sizeof_offsets);
        match client_id {
            0 if element_size == offsets => Ok(ElementCodec {
                filtered: false,
                element_size,
                size_len: 0,
            }),
            1 if element_size > offsets + 4 && element_size - offsets - 4 <= 8 => {
                Ok(ElementCodec {
                    filtered: true,
                    element_size,
                    size_len: element_size - offsets - 4,
                })
            }
            0 | 1 => Err(c.corrupt(format!(
                "element size {element_size} does not fit client {client_id}"
            ))),
            _ => Err(c.unsupported(format!("array client id {client_id}"))),
        }
    }

    /// Decodes `count` consecutive elements starting at slot `first`, keeping allocated ones.
    pub fn decode(
        &self,
        c: &mut Cursor,
        ctx: &Context,
        first: u64,
        count: u64,
        out: &mut Vec<ChunkSlot>,
    ) -> Result<()> {
        for i in 0..count {
            let address = c.offset(ctx)?;
            let (size, filter_mask) = if self.filtered {
                (Some(c.uint(self.size_len)?), c.u32()?)
            } else {
                (None, 0)
            };
            // Address 0 never holds raw data (the superblock is there); libhdf5 writes the
            // undefined address for unallocated chunks.
            if address != UNDEF_ADDR && address != 0 {
                out.push(ChunkSlot {
                    index: first + i,
                    address,
                    size,
                    filter_mask,
                });
            }
        }
        Ok(())
    }
}

/// Whether bit `i` of a page-initialization bitmap is set. libhdf5 numbers bits from the most
/// significant bit of each byte (`H5VM_bit_get`).
pub(crate) fn bit_set(bitmap: &[u8], i: u64) -> bool {
    let byte = usize::try_from(i / 8).ok().and_then(|b| bitmap.get(b));
    byte.is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}
