//! Fixed Array chunk index (File Format Specification VII.C): header "FAHD", data block "FADB",
//! and, once the array has more than 2^page_bits entries, data block pages laid out right after
//! the data block, each followed by its own checksum.

use super::{bit_set, ChunkSlot, ElementCodec};
use crate::error::{Error, Result};
use crate::limits::MAX_TREE_NODES;
use crate::read::Reader;

const HEADER: &str = "fixed array header";
const BLOCK: &str = "fixed array data block";
const PAGE: &str = "fixed array data block page";

/// Every allocated chunk of the fixed array whose header is at `address`.
pub fn chunks(r: &Reader, address: u64) -> Result<Vec<ChunkSlot>> {
    let ctx = r.ctx;
    let o = u64::from(ctx.sizeof_offsets);
    let header_len = 4 + 4 + u64::from(ctx.sizeof_lengths) + o + 4;
    let raw = r.cursor(address, header_len, HEADER)?;
    let mut c = raw.cursor();
    c.signature(b"FAHD")?;
    let version = c.u8()?;
    if version != 0 {
        return Err(c.unsupported(format!("version {version}")));
    }
    let client = c.u8()?;
    let element_size = c.u8()?;
    let page_bits = c.u8()?;
    let codec = ElementCodec::new(&c, &ctx, client, element_size)?;
    let entries = c.length(&ctx)?;
    let block = c.offset(&ctx)?;
    c.verify_checksum(0)?;
    if entries == 0 || block == crate::UNDEF_ADDR {
        return Ok(Vec::new());
    }
    if page_bits >= 32 {
        return Err(Error::corrupt(
            HEADER,
            address,
            format!("{page_bits} page bits"),
        ));
    }
    let esize = codec.element_size as u64;
    // Every entry occupies stored bytes, so a count larger than the file is corrupt; checking it
    // first keeps the allocations below bounded by the file size.
    if entries.saturating_mul(esize) > r.available(block) || entries > MAX_TREE_NODES as u64 {
        return Err(Error::limit(HEADER, address, format!("{entries} entries")));
    }
    let page_entries = 1u64 << page_bits;
    let prefix = 4 + 2 + o;
    let mut out = Vec::new();
    if entries <= page_entries {
        let len = prefix + entries * esize + 4;
        let raw = r.cursor(block, len, BLOCK)?;
        let mut c = raw.cursor();
        block_prefix(&mut c, client, &ctx)?;
        codec.decode(&mut c, &ctx, 0, entries, &mut out)?;
        c.verify_checksum(0)?;
        return Ok(out);
    }
    let pages = entries.div_ceil(page_entries);
    let bitmap_len = pages.div_ceil(8);
    let raw = r.cursor(block, prefix + bitmap_len + 4, BLOCK)?;
    let mut c = raw.cursor();
    block_prefix(&mut c, client, &ctx)?;
    let bitmap = c.bytes_u64(bitmap_len)?;
    c.verify_checksum(0)?;
    let first_page = block + prefix + bitmap_len + 4;
    // The pages lie one after another: ask for every initialized one at once.
    let page_entries_of = |p: u64| page_entries.min(entries - p * page_entries);
    let page_len = |p: u64| page_entries_of(p) * esize + 4;
    let mut spans = Vec::new();
    let mut at = first_page;
    for p in 0..pages {
        if bit_set(bitmap, p) {
            spans.push((at, page_len(p)));
        }
        at += page_len(p);
    }
    r.prefetch_spans(&spans);
    let mut page_addr = first_page;
    for p in 0..pages {
        if bit_set(bitmap, p) {
            let raw = r.cursor(page_addr, page_len(p), PAGE)?;
            let mut c = raw.cursor();
            codec.decode(&mut c, &ctx, p * page_entries, page_entries_of(p), &mut out)?;
            c.verify_checksum(0)?;
        }
        page_addr += page_len(p);
    }
    Ok(out)
}

fn block_prefix(c: &mut crate::read::Cursor, client: u8, ctx: &crate::read::Context) -> Result<()> {
    c.signature(b"FADB")?;
    let version = c.u8()?;
    if version != 0 {
        return Err(c.unsupported(format!("version {version}")));
    }
    if c.u8()? != client {
        return Err(c.corrupt("client id differs from the header's"));
    }
    // The header address is only a consistency back-pointer.
    c.offset(ctx).map(|_| ())
}
