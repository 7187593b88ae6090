//! Extensible Array chunk index (File Format Specification VII.D): header "EAHD", index block
//! "EAIB", secondary blocks "EASB", data blocks "EADB" and their pages.
//!
//! Elements are numbered 0.. in the index's slot order. The first `index_block_elements` live in
//! the index block. The rest are grouped into "super blocks" u = 0, 1, ...: super block u holds
//! 2^(u/2) data blocks of `min_data_block_elements * 2^((u+1)/2)` elements each. The data block
//! addresses of the first `2*log2(min_secondary_pointers)` super blocks sit in the index block;
//! later super blocks each have a secondary block listing their data block addresses.

use super::{bit_set, ChunkSlot, ElementCodec};
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::limits::MAX_TREE_NODES;
use crate::read::{Context, Cursor, Reader, UNDEF_ADDR};

const HEADER: &str = "extensible array header";
const INDEX: &str = "extensible array index block";
const SECONDARY: &str = "extensible array secondary block";
const DATA: &str = "extensible array data block";
const PAGE: &str = "extensible array data block page";

struct Params {
    codec: ElementCodec,
    client: u8,
    max_bits: u8,
    index_elements: u64,
    min_data_elements: u64,
    min_secondary_pointers: u64,
    page_elements: u64,
    /// Bytes of the "block offset" field: enough for the maximum element count.
    offset_len: u64,
}

/// Every allocated chunk of the extensible array whose header is at `address`.
pub fn chunks(r: &Reader, address: u64) -> Result<Vec<ChunkSlot>> {
    let ctx = r.ctx;
    let len = 4 + 4 + 4 + 6 * u64::from(ctx.sizeof_lengths) + u64::from(ctx.sizeof_offsets) + 4;
    let raw = r.cursor(address, len, HEADER)?;
    let mut c = raw.cursor();
    c.signature(b"EAHD")?;
    let version = c.u8()?;
    if version != 0 {
        return Err(c.unsupported(format!("version {version}")));
    }
    let client = c.u8()?;
    let element_size = c.u8()?;
    let codec = ElementCodec::new(&c, &ctx, client, element_size)?;
    let max_bits = c.u8()?;
    let index_elements = u64::from(c.u8()?);
    let min_data_elements = u64::from(c.u8()?);
    let min_secondary_pointers = u64::from(c.u8()?);
    let page_bits = c.u8()?;
    for _ in 0..5 {
        c.length(&ctx)?; // statistics: block counts and sizes, max index set
    }
    let elements = c.length(&ctx)?;
    let index_block = c.offset(&ctx)?;
    c.verify_checksum(0)?;
    let valid = (1..=64).contains(&max_bits)
        && page_bits < 32
        && min_data_elements.is_power_of_two()
        && min_secondary_pointers.is_power_of_two();
    if !valid {
        return Err(Error::corrupt(
            HEADER,
            address,
            "inconsistent creation parameters",
        ));
    }
    if index_block == UNDEF_ADDR || elements == 0 {
        return Ok(Vec::new());
    }
    let p = Params {
        codec,
        client,
        max_bits,
        index_elements,
        min_data_elements,
        min_secondary_pointers,
        page_elements: 1 << page_bits,
        offset_len: u64::from(max_bits).div_ceil(8),
    };
    let mut out = Vec::new();
    read_index_block(r, &p, index_block, &mut out)?;
    Ok(out)
}

/// (data blocks, elements per data block) of super block `u`.
fn super_block(p: &Params, u: u32) -> (u64, u64) {
    (1 << (u / 2), p.min_data_elements << u.div_ceil(2))
}

/// A data block to decode: where it is, its first slot and element count, and for a paged
/// block listed in a secondary block, that block's page bitmap and this block's first bit in it.
struct DataBlock {
    addr: u64,
    first: u64,
    elements: u64,
    pages: Option<(Bytes, u64)>,
}

/// A secondary block to read: where it is, the first slot of its first data block, how many
/// data blocks it lists and the elements of each.
struct Secondary {
    addr: u64,
    start: u64,
    count: u64,
    elements: u64,
}

/// Reads the index block at `addr` and everything below it, a level at a time: the data
/// blocks it points to and the secondary blocks are asked for together, then the data blocks
/// of all secondary blocks, so an array costs three round trips however many blocks it has.
fn read_index_block(r: &Reader, p: &Params, addr: u64, out: &mut Vec<ChunkSlot>) -> Result<()> {
    let ctx = r.ctx;
    let o = u64::from(ctx.sizeof_offsets);
    let esize = p.codec.element_size as u64;
    // Super blocks in all: enough to address 2^max_bits elements.
    let total_super =
        1 + u32::from(p.max_bits).saturating_sub(p.min_data_elements.trailing_zeros());
    let direct_super = 2 * p.min_secondary_pointers.trailing_zeros();
    let direct_blocks = 2 * (p.min_secondary_pointers - 1);
    let secondary = u64::from(total_super.saturating_sub(direct_super));
    let len = 4 + 2 + o + p.index_elements * esize + (direct_blocks + secondary) * o + 4; // all terms < 2^16
    let raw = r.cursor(addr, len, INDEX)?;
    let mut c = raw.cursor();
    prefix(&mut c, b"EAIB", p.client, &ctx)?;
    p.codec.decode(&mut c, &ctx, 0, p.index_elements, out)?;
    let mut data_blocks = Vec::new();
    for _ in 0..direct_blocks {
        data_blocks.push(c.offset(&ctx)?);
    }
    let mut secondaries = Vec::new();
    for _ in 0..secondary {
        secondaries.push(c.offset(&ctx)?);
    }
    c.verify_checksum(0)?;

    let mut start = p.index_elements;
    let mut pointers = data_blocks.into_iter();
    let mut blocks = Vec::new();
    let mut lower = Vec::new();
    for u in 0..total_super {
        let (count, elements) = super_block(p, u);
        if u < direct_super {
            for _ in 0..count {
                if let Some(addr) = pointers.next().filter(|&a| a != UNDEF_ADDR) {
                    blocks.push(DataBlock {
                        addr,
                        first: start,
                        elements,
                        pages: None,
                    });
                }
                start = start.saturating_add(elements);
            }
        } else {
            let index = (u - direct_super) as usize;
            if let Some(&sb) = secondaries.get(index).filter(|&&a| a != UNDEF_ADDR) {
                if lower.len() >= MAX_TREE_NODES {
                    return Err(Error::limit(INDEX, addr, "too many secondary blocks"));
                }
                lower.push(Secondary {
                    addr: sb,
                    start,
                    count,
                    elements,
                });
            }
            start = start.saturating_add(count.saturating_mul(elements));
        }
    }
    let mut spans: Vec<(u64, u64)> = blocks.iter().map(|b| data_block_span(r, p, b)).collect();
    spans.extend(lower.iter().map(|s| (s.addr, secondary_len(r, p, s))));
    r.prefetch_spans(&spans);
    let direct = blocks.len();
    for s in &lower {
        read_secondary(r, p, s, &mut blocks)?;
    }
    let spans: Vec<(u64, u64)> = blocks[direct..]
        .iter()
        .map(|b| data_block_span(r, p, b))
        .collect();
    r.prefetch_spans(&spans);
    for b in &blocks {
        read_data_block(r, p, b, out)?;
    }
    Ok(())
}

/// Pages of `elements` slots in a data block: 0 when the block is not paged.
fn pages_per_block(p: &Params, elements: u64) -> u64 {
    if elements > p.page_elements {
        elements / p.page_elements
    } else {
        0
    }
}

/// Bytes of the secondary block `s`: prefix, block offset, checksum, page bitmap and the
/// addresses of its data blocks.
fn secondary_len(r: &Reader, p: &Params, s: &Secondary) -> u64 {
    let o = u64::from(r.ctx.sizeof_offsets);
    let bitmap_len = s
        .count
        .saturating_mul(pages_per_block(p, s.elements))
        .div_ceil(8);
    (4 + 2 + o + p.offset_len + 4)
        .saturating_add(bitmap_len)
        .saturating_add(s.count.saturating_mul(o))
}

/// Adds the data blocks listed in the secondary block `s` to `blocks`.
fn read_secondary(
    r: &Reader,
    p: &Params,
    s: &Secondary,
    blocks: &mut Vec<DataBlock>,
) -> Result<()> {
    let ctx = r.ctx;
    let pages_per_block = pages_per_block(p, s.elements);
    let bitmap_len = s.count.saturating_mul(pages_per_block).div_ceil(8);
    let raw = r.cursor(s.addr, secondary_len(r, p, s), SECONDARY)?;
    let mut c = raw.cursor();
    prefix(&mut c, b"EASB", p.client, &ctx)?;
    c.uint(p.offset_len as usize)?;
    let bitmap = raw.data.slice_ref(c.bytes_u64(bitmap_len)?);
    let mut addrs = Vec::new();
    for _ in 0..s.count {
        addrs.push(c.offset(&ctx)?);
    }
    c.verify_checksum(0)?;
    for (i, addr) in (0u64..).zip(addrs) {
        if addr != UNDEF_ADDR {
            blocks.push(DataBlock {
                addr,
                first: s.start.saturating_add(i.saturating_mul(s.elements)),
                elements: s.elements,
                pages: (pages_per_block > 0).then(|| (bitmap.clone(), i * pages_per_block)),
            });
        }
    }
    Ok(())
}

/// Bytes of a data block's prefix: signature, version, client, header address, block offset.
fn data_prefix_len(r: &Reader, p: &Params) -> u64 {
    4 + 2 + u64::from(r.ctx.sizeof_offsets) + p.offset_len
}

/// (address, length) of the data block `b`. The pages of a paged block follow its prefix
/// contiguously, so one span covers them too (with any pages not yet written).
fn data_block_span(r: &Reader, p: &Params, b: &DataBlock) -> (u64, u64) {
    let prefix_len = data_prefix_len(r, p);
    let esize = p.codec.element_size as u64;
    let len = if b.elements <= p.page_elements {
        prefix_len + b.elements.saturating_mul(esize) + 4
    } else {
        let pages = b.elements / p.page_elements;
        (prefix_len + 4).saturating_add(pages.saturating_mul(p.page_elements * esize + 4))
    };
    (b.addr, len)
}

fn page_initialized(b: &DataBlock, page: u64) -> bool {
    b.pages
        .as_ref()
        .is_none_or(|(bitmap, base)| bit_set(bitmap, base + page))
}

/// Decodes the data block `b` into `out`.
fn read_data_block(r: &Reader, p: &Params, b: &DataBlock, out: &mut Vec<ChunkSlot>) -> Result<()> {
    let ctx = r.ctx;
    let esize = p.codec.element_size as u64;
    let (addr, elements) = (b.addr, b.elements);
    if elements.saturating_mul(esize) > r.available(addr) {
        return Err(Error::Truncated {
            structure: DATA,
            offset: addr,
            need: elements.saturating_mul(esize),
            have: r.available(addr),
        });
    }
    let prefix_len = data_prefix_len(r, p);
    let paged = elements > p.page_elements;
    let body = if paged { 0 } else { elements * esize };
    let raw = r.cursor(addr, prefix_len + body + 4, DATA)?;
    let mut c = raw.cursor();
    prefix(&mut c, b"EADB", p.client, &ctx)?;
    c.uint(p.offset_len as usize)?;
    if !paged {
        p.codec.decode(&mut c, &ctx, b.first, elements, out)?;
        return c.verify_checksum(0);
    }
    c.verify_checksum(0)?;
    let page_len = p.page_elements * esize + 4;
    for page in 0..elements / p.page_elements {
        if page_initialized(b, page) {
            let at = addr + prefix_len + 4 + page * page_len;
            let raw = r.cursor(at, page_len, PAGE)?;
            let mut c = raw.cursor();
            let slot = b.first + page * p.page_elements;
            p.codec.decode(&mut c, &ctx, slot, p.page_elements, out)?;
            c.verify_checksum(0)?;
        }
    }
    Ok(())
}

fn prefix(c: &mut Cursor, sig: &[u8; 4], client: u8, ctx: &Context) -> Result<()> {
    c.signature(sig)?;
    let version = c.u8()?;
    if version != 0 {
        return Err(c.unsupported(format!("version {version}")));
    }
    if c.u8()? != client {
        return Err(c.corrupt("client id differs from the header's"));
    }
    c.offset(ctx).map(|_| ())
}
