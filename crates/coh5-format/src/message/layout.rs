//! Data Layout message (File Format Specification IV.A.2.i, type 0x0008), versions 1–5: how
//! and where a dataset's raw data is stored, and for chunked data which index finds chunks.
//!
//! Version 5 (HDF5 2.0) has the same message encoding as version 4; it only changes the
//! encoding of filtered chunk records inside Fixed Array, Extensible Array and v2 B-tree
//! indexes (chunk sizes up to 2^64-1), which is why [`LayoutMessage::version`] is kept.

use bytes::Bytes;

use crate::error::Result;
use crate::limits::MAX_RANK;
use crate::read::{Context, Cursor};

const CLASS_COMPACT: u8 = 0;
const CLASS_CONTIGUOUS: u8 = 1;
const CLASS_CHUNKED: u8 = 2;
const CLASS_VIRTUAL: u8 = 3;

/// Chunked flag bit 0: partial edge chunks are stored unfiltered.
pub const FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS: u8 = 0x1;
/// Chunked flag bit 1: the single chunk is filtered (its size and filter mask are stored).
pub const FLAG_SINGLE_INDEX_WITH_FILTER: u8 = 0x2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkIndex {
    /// Version 1 B-tree of raw data chunks (layout versions 1–3).
    BTreeV1 {
        address: u64,
    },
    /// The dataset is one chunk at `address`; `filtered_size` and `filter_mask` are stored
    /// only when the chunk is filtered (otherwise the mask is 0).
    SingleChunk {
        address: u64,
        filtered_size: Option<u64>,
        filter_mask: u32,
    },
    /// Unfiltered fixed-size chunks stored back to back from `address`.
    Implicit {
        address: u64,
    },
    FixedArray {
        address: u64,
        page_bits: u8,
    },
    ExtensibleArray {
        address: u64,
        max_bits: u8,
        index_elements: u8,
        min_pointers: u8,
        min_elements: u8,
        page_bits: u8,
    },
    BTreeV2 {
        address: u64,
        node_size: u32,
        split_percent: u8,
        merge_percent: u8,
    },
}

impl ChunkIndex {
    /// Address of the index (or chunk); [`UNDEF_ADDR`](crate::UNDEF_ADDR) when unallocated.
    pub fn address(&self) -> u64 {
        match *self {
            ChunkIndex::BTreeV1 { address }
            | ChunkIndex::SingleChunk { address, .. }
            | ChunkIndex::Implicit { address }
            | ChunkIndex::FixedArray { address, .. }
            | ChunkIndex::ExtensibleArray { address, .. }
            | ChunkIndex::BTreeV2 { address, .. } => address,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// The raw data is in the message itself.
    Compact { data: Bytes },
    /// `size` bytes at `address` ([`UNDEF_ADDR`](crate::UNDEF_ADDR) if not yet allocated). For
    /// layout versions 1 and 2 the size is the product of the stored dimensions.
    Contiguous { address: u64, size: u64 },
    Chunked {
        /// Chunk size in elements per dataspace dimension.
        chunk_dims: Vec<u64>,
        /// Bytes per element (the extra last "dimension" of the stored list).
        element_size: u64,
        /// `FLAG_*` bits (layout version 4 and later; 0 before).
        flags: u8,
        index: ChunkIndex,
    },
    /// Virtual dataset: its mappings are a global heap object.
    Virtual { heap_address: u64, heap_index: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutMessage {
    pub version: u8,
    pub layout: Layout,
}

impl LayoutMessage {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        let layout = match version {
            1 | 2 => parse_v1(c, ctx)?,
            3..=5 => {
                let class = c.u8()?;
                match class {
                    CLASS_COMPACT => {
                        let size = c.u16()?;
                        Layout::Compact {
                            data: Bytes::copy_from_slice(c.bytes(usize::from(size))?),
                        }
                    }
                    CLASS_CONTIGUOUS => Layout::Contiguous {
                        address: c.offset(ctx)?,
                        size: c.length(ctx)?,
                    },
                    CLASS_CHUNKED if version == 3 => {
                        let ndims = c.u8()?;
                        let ndims = chunk_rank(c, ndims)?;
                        let address = c.offset(ctx)?;
                        let dims = (0..ndims)
                            .map(|_| c.u32().map(u64::from))
                            .collect::<Result<Vec<_>>>()?;
                        chunked(c, dims, 0, ChunkIndex::BTreeV1 { address })?
                    }
                    CLASS_CHUNKED => parse_v4_chunked(c, ctx)?,
                    CLASS_VIRTUAL if version >= 4 => Layout::Virtual {
                        heap_address: c.offset(ctx)?,
                        heap_index: c.u32()?,
                    },
                    _ => {
                        return Err(c.corrupt(format!(
                            "layout class {class} in a version {version} layout message"
                        )))
                    }
                }
            }
            v => return Err(c.unsupported(format!("data layout message version {v}"))),
        };
        Ok(LayoutMessage { version, layout })
    }
}

/// Versions 1 and 2: a dimension list (4 bytes each) for every class.
fn parse_v1(c: &mut Cursor, ctx: &Context) -> Result<Layout> {
    let ndims = c.u8()?;
    let class = c.u8()?;
    c.skip(5)?;
    let address = if class == CLASS_COMPACT {
        None
    } else {
        Some(c.offset(ctx)?)
    };
    let ndims = chunk_rank(c, ndims)?;
    let dims = (0..ndims)
        .map(|_| c.u32().map(u64::from))
        .collect::<Result<Vec<_>>>()?;
    match (class, address) {
        (CLASS_COMPACT, _) => {
            let size = c.u32()?;
            Ok(Layout::Compact {
                data: Bytes::copy_from_slice(c.bytes_u64(u64::from(size))?),
            })
        }
        (CLASS_CONTIGUOUS, Some(address)) => {
            // The list ends with the element size, so the product is the size in bytes.
            let size = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| c.corrupt("contiguous storage size overflows"))?;
            Ok(Layout::Contiguous { address, size })
        }
        (CLASS_CHUNKED, Some(address)) => chunked(c, dims, 0, ChunkIndex::BTreeV1 { address }),
        _ => Err(c.corrupt(format!(
            "layout class {class} in a version 1/2 layout message"
        ))),
    }
}

/// Versions 4 and 5: flags, variable-width dimensions and an explicit index type.
fn parse_v4_chunked(c: &mut Cursor, ctx: &Context) -> Result<Layout> {
    let flags = c.u8()?;
    if flags & !(FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS | FLAG_SINGLE_INDEX_WITH_FILTER) != 0 {
        return Err(c.corrupt(format!("chunked layout flags {flags:#x}")));
    }
    let ndims = c.u8()?;
    let ndims = chunk_rank(c, ndims)?;
    let width = usize::from(c.u8()?);
    if !(1..=8).contains(&width) {
        return Err(c.corrupt(format!("{width}-byte chunk dimension sizes")));
    }
    let dims = (0..ndims)
        .map(|_| c.uint(width))
        .collect::<Result<Vec<_>>>()?;
    let index_type = c.u8()?;
    let index = match index_type {
        1 => {
            let (filtered_size, filter_mask) = if flags & FLAG_SINGLE_INDEX_WITH_FILTER != 0 {
                (Some(c.length(ctx)?), c.u32()?)
            } else {
                (None, 0)
            };
            ChunkIndex::SingleChunk {
                address: c.offset(ctx)?,
                filtered_size,
                filter_mask,
            }
        }
        2 => ChunkIndex::Implicit {
            address: c.offset(ctx)?,
        },
        3 => {
            let page_bits = c.u8()?;
            ChunkIndex::FixedArray {
                address: c.offset(ctx)?,
                page_bits,
            }
        }
        4 => {
            let max_bits = c.u8()?;
            let index_elements = c.u8()?;
            let min_pointers = c.u8()?;
            let min_elements = c.u8()?;
            let page_bits = c.u8()?;
            ChunkIndex::ExtensibleArray {
                address: c.offset(ctx)?,
                max_bits,
                index_elements,
                min_pointers,
                min_elements,
                page_bits,
            }
        }
        5 => {
            let node_size = c.u32()?;
            let split_percent = c.u8()?;
            let merge_percent = c.u8()?;
            ChunkIndex::BTreeV2 {
                address: c.offset(ctx)?,
                node_size,
                split_percent,
                merge_percent,
            }
        }
        t => return Err(c.corrupt(format!("chunk index type {t}"))),
    };
    chunked(c, dims, flags, index)
}

/// Checks a stored dimension count (dataspace rank plus the element-size dimension).
fn chunk_rank(c: &Cursor, ndims: u8) -> Result<usize> {
    let n = usize::from(ndims);
    if n == 0 {
        return Err(c.corrupt("layout with no dimensions"));
    }
    if n > MAX_RANK + 1 {
        return Err(crate::Error::limit(
            c.structure(),
            c.addr(),
            format!("layout with {n} dimensions"),
        ));
    }
    Ok(n)
}

/// Splits off the trailing element size and rejects zero-sized chunks.
fn chunked(c: &Cursor, mut dims: Vec<u64>, flags: u8, index: ChunkIndex) -> Result<Layout> {
    let element_size = dims.pop().unwrap_or(0);
    if element_size == 0 || dims.contains(&0) {
        return Err(c.corrupt("chunk with a zero dimension or element size"));
    }
    Ok(Layout::Chunked {
        chunk_dims: dims,
        element_size,
        flags,
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, UNDEF_ADDR};

    fn parse(b: &[u8]) -> Result<LayoutMessage> {
        LayoutMessage::parse(&mut Cursor::new(b, 0, "layout"), &Context::default())
    }

    fn all_prefixes_fail(b: &[u8]) {
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err(), "prefix of {n} bytes parsed");
        }
    }

    #[test]
    fn version1_contiguous_and_chunked() {
        let mut b = vec![1, 3, CLASS_CONTIGUOUS, 0, 0, 0, 0, 0];
        b.extend_from_slice(&0x800u64.to_le_bytes());
        for d in [4u32, 5, 8] {
            b.extend_from_slice(&d.to_le_bytes());
        }
        let l = parse(&b).unwrap();
        assert_eq!(
            l.layout,
            Layout::Contiguous {
                address: 0x800,
                size: 160
            }
        );
        all_prefixes_fail(&b);
        b[2] = CLASS_CHUNKED;
        match parse(&b).unwrap().layout {
            Layout::Chunked {
                chunk_dims,
                element_size,
                index,
                ..
            } => {
                assert_eq!(chunk_dims, vec![4, 5]);
                assert_eq!(element_size, 8);
                assert_eq!(index, ChunkIndex::BTreeV1 { address: 0x800 });
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version2_compact() {
        let mut b = vec![2, 2, CLASS_COMPACT, 0, 0, 0, 0, 0];
        for v in [3u32, 1, 3] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&[7, 8, 9]);
        let l = parse(&b).unwrap();
        assert_eq!(l.version, 2);
        assert_eq!(
            l.layout,
            Layout::Compact {
                data: Bytes::from_static(&[7, 8, 9])
            }
        );
        all_prefixes_fail(&b);
    }

    #[test]
    fn version3_classes() {
        let l = parse(&[3, CLASS_COMPACT, 2, 0, 1, 2]).unwrap();
        assert_eq!(
            l.layout,
            Layout::Compact {
                data: Bytes::from_static(&[1, 2])
            }
        );
        let mut b = vec![3, CLASS_CONTIGUOUS];
        b.extend_from_slice(&[0xff; 8]);
        b.extend_from_slice(&400u64.to_le_bytes());
        assert_eq!(
            parse(&b).unwrap().layout,
            Layout::Contiguous {
                address: UNDEF_ADDR,
                size: 400
            }
        );
        let mut b = vec![3, CLASS_CHUNKED, 3];
        b.extend_from_slice(&0x100u64.to_le_bytes());
        for d in [10u32, 20, 4] {
            b.extend_from_slice(&d.to_le_bytes());
        }
        match parse(&b).unwrap().layout {
            Layout::Chunked {
                chunk_dims,
                element_size,
                flags,
                index,
            } => {
                assert_eq!((chunk_dims, element_size, flags), (vec![10, 20], 4, 0));
                assert_eq!(index.address(), 0x100);
            }
            other => panic!("{other:?}"),
        }
        all_prefixes_fail(&b);
        assert!(parse(&[3, CLASS_VIRTUAL, 0, 0]).is_err());
    }

    fn v4_chunked(flags: u8, index: &[u8]) -> Vec<u8> {
        let mut b = vec![4, CLASS_CHUNKED, flags, 2, 2, 10, 0, 8, 0];
        b.extend_from_slice(index);
        b.extend_from_slice(&0x2000u64.to_le_bytes());
        b
    }

    #[test]
    fn version4_indexes() {
        let cases: Vec<(u8, Vec<u8>, ChunkIndex)> = vec![
            (
                0,
                vec![1],
                ChunkIndex::SingleChunk {
                    address: 0x2000,
                    filtered_size: None,
                    filter_mask: 0,
                },
            ),
            (
                FLAG_SINGLE_INDEX_WITH_FILTER,
                [&[1u8][..], &77u64.to_le_bytes(), &[2, 0, 0, 0]].concat(),
                ChunkIndex::SingleChunk {
                    address: 0x2000,
                    filtered_size: Some(77),
                    filter_mask: 2,
                },
            ),
            (0, vec![2], ChunkIndex::Implicit { address: 0x2000 }),
            (
                0,
                vec![3, 10],
                ChunkIndex::FixedArray {
                    address: 0x2000,
                    page_bits: 10,
                },
            ),
            (
                FLAG_DONT_FILTER_PARTIAL_BOUND_CHUNKS,
                vec![4, 32, 4, 4, 16, 10],
                ChunkIndex::ExtensibleArray {
                    address: 0x2000,
                    max_bits: 32,
                    index_elements: 4,
                    min_pointers: 4,
                    min_elements: 16,
                    page_bits: 10,
                },
            ),
            (
                0,
                vec![5, 0, 2, 0, 0, 100, 40],
                ChunkIndex::BTreeV2 {
                    address: 0x2000,
                    node_size: 512,
                    split_percent: 100,
                    merge_percent: 40,
                },
            ),
        ];
        for (flags, index_bytes, expected) in cases {
            let b = v4_chunked(flags, &index_bytes);
            let l = parse(&b).unwrap();
            assert_eq!(
                l.layout,
                Layout::Chunked {
                    chunk_dims: vec![10],
                    element_size: 8,
                    flags,
                    index: expected
                }
            );
            all_prefixes_fail(&b);
        }
    }

    #[test]
    fn version5_and_virtual() {
        let mut b = v4_chunked(0, &[3, 10]);
        b[0] = 5;
        assert_eq!(parse(&b).unwrap().version, 5);
        let mut b = vec![4, CLASS_VIRTUAL];
        b.extend_from_slice(&0x30u64.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            parse(&b).unwrap().layout,
            Layout::Virtual {
                heap_address: 0x30,
                heap_index: 2
            }
        );
    }

    #[test]
    fn corrupt_layouts() {
        assert!(matches!(
            parse(&v4_chunked(0, &[0])),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            parse(&v4_chunked(0x80, &[2])),
            Err(Error::Corrupt { .. })
        ));
        let mut b = v4_chunked(0, &[2]);
        b[4] = 9; // dimension width
        assert!(parse(&b).is_err());
        let mut b = v4_chunked(0, &[2]);
        b[5] = 0; // zero chunk dimension
        assert!(parse(&b).is_err());
        let mut b = v4_chunked(0, &[2]);
        b[3] = 0; // no dimensions
        assert!(parse(&b).is_err());
        let mut b = v4_chunked(0, &[2]);
        b[3] = 200;
        assert!(matches!(parse(&b), Err(Error::Limit { .. })));
        assert!(matches!(parse(&[6, 0]), Err(Error::Unsupported { .. })));
        let mut b = vec![1, 3, CLASS_CONTIGUOUS, 0, 0, 0, 0, 0];
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&[0xff; 12]);
        assert!(parse(&b).is_err());
    }
}
