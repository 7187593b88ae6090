//! Fractal Heap (File Format Specification III.G): the header ("FRHP"), direct blocks
//! ("FHDB") and indirect blocks ("FHIB"), and the three kinds of heap IDs: managed objects
//! (in direct blocks, found through the doubling table), huge objects (stored on their own,
//! directly addressed by the ID or indirectly through a version 2 B-tree of types 1 to 4) and
//! tiny objects (inside the ID itself).
//!
//! Heaps may carry an I/O filter pipeline for their direct blocks and huge objects. This crate
//! links no compression library: [`FractalHeap::object_with`] takes a callback that reverses
//! the pipeline, and [`FractalHeap::object`] refuses objects that would need it.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::btree::v2::{width_of, BTreeV2, Record, RecordContext};
use crate::error::{Error, Result};
use crate::limits::MAX_VALUE_BYTES;
use crate::read::{Context, Cursor, Reader, UNDEF_ADDR};

const HEADER: &str = "fractal heap header";
const DIRECT: &str = "fractal heap direct block";
const INDIRECT: &str = "fractal heap indirect block";
const ID: &str = "fractal heap ID";

/// Header flag bit 1: direct blocks carry a checksum.
const FLAG_CHECKSUM_DBLOCKS: u8 = 0x02;

/// Reverses a heap's I/O filter pipeline: called with the stored (filtered) bytes, the encoded
/// Filter Pipeline message from the heap header, and the filter mask of the block or object
/// (bit `i` set: filter `i` was skipped). Returns the unfiltered bytes.
pub type Unfilter<'f> = dyn Fn(&[u8], &[u8], u32) -> Result<Vec<u8>> + 'f;

/// A fractal heap header and the doubling-table parameters derived from it.
#[derive(Debug, Clone)]
pub struct FractalHeap {
    /// Address of the "FRHP" header.
    pub address: u64,
    /// Length in bytes of this heap's object IDs.
    pub id_len: u16,
    pub flags: u8,
    /// Objects larger than this are huge objects.
    pub max_managed_size: u32,
    /// Address of the v2 B-tree indexing huge objects (undefined if there are none).
    pub huge_btree: u64,
    pub managed_objects: u64,
    pub huge_objects: u64,
    pub tiny_objects: u64,
    /// Columns of the doubling table.
    pub table_width: u16,
    pub start_block_size: u64,
    pub max_direct_block_size: u64,
    /// log2 of the size of the heap's managed address space.
    pub max_heap_bits: u16,
    /// Root direct block (when `root_rows` is 0) or root indirect block.
    pub root: u64,
    /// Rows in the root indirect block; 0 means the root is a direct block.
    pub root_rows: u16,
    /// Stored size of a filtered root direct block.
    pub filtered_root_size: u64,
    /// Filter mask of a filtered root direct block.
    pub root_filter_mask: u32,
    /// The encoded Filter Pipeline message; empty when the heap is not filtered.
    pub filters: Bytes,
    ctx: Context,
    /// Width of heap offsets (managed IDs and block offsets).
    offset_width: usize,
    /// Width of the length in managed IDs.
    length_width: usize,
    start_bits: u32,
    width_bits: u32,
    /// Rows of direct blocks in any indirect block; rows from here on are indirect blocks.
    max_direct_rows: u32,
}

/// Address and stored length of a huge object, with (filter mask, unfiltered size) when the
/// object is filtered.
type HugeLocation = (u64, u64, Option<(u32, u64)>);

/// Where a managed object's direct block is and how it is stored.
struct DirectBlock {
    address: u64,
    /// Offset of the block in the heap's address space.
    heap_offset: u64,
    /// Unfiltered size.
    size: u64,
    /// Stored size and filter mask, for filtered heaps.
    filtered: Option<(u64, u32)>,
}

fn log2_of_power(v: u64, what: &str, at: u64) -> Result<u32> {
    if v == 0 || !v.is_power_of_two() {
        return Err(Error::corrupt(
            HEADER,
            at,
            format!("{what} {v} is not a power of two"),
        ));
    }
    Ok(v.trailing_zeros())
}

impl FractalHeap {
    /// Bytes of a header without filters, checksum included: what to ask for ahead of
    /// [`FractalHeap::read`] (a filtered heap's header is longer; the read fetches the rest).
    pub fn header_len(ctx: &Context) -> u64 {
        22 + 12 * u64::from(ctx.sizeof_lengths) + 3 * u64::from(ctx.sizeof_offsets) + 4
    }

    /// Reads and checks the header at `address`.
    pub fn read(r: &Reader, address: u64) -> Result<FractalHeap> {
        let ctx = r.ctx;
        let l = u64::from(ctx.sizeof_lengths);
        let fixed = Self::header_len(&ctx) - 4;
        let head = r.cursor(address, fixed, HEADER)?;
        let mut c = head.cursor();
        // Signature, version and heap ID length come before the filters' encoded length.
        c.skip(7)?;
        let filter_len = c.u16()?;
        let len = fixed
            + if filter_len > 0 {
                l + 4 + u64::from(filter_len)
            } else {
                0
            }
            + 4;
        let data = r.cursor(address, len, HEADER)?;
        let mut c = data.cursor();
        c.signature(b"FRHP")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("version {version}")));
        }
        let id_len = c.u16()?;
        let _filter_len = c.u16()?;
        let flags = c.u8()?;
        let max_managed_size = c.u32()?;
        let _next_huge_id = c.length(&ctx)?;
        let huge_btree = c.offset(&ctx)?;
        let _free_space = c.length(&ctx)?;
        let _free_space_manager = c.offset(&ctx)?;
        let _managed_space = c.length(&ctx)?;
        let _allocated_space = c.length(&ctx)?;
        let _iterator_offset = c.length(&ctx)?;
        let managed_objects = c.length(&ctx)?;
        let _huge_size = c.length(&ctx)?;
        let huge_objects = c.length(&ctx)?;
        let _tiny_size = c.length(&ctx)?;
        let tiny_objects = c.length(&ctx)?;
        let table_width = c.u16()?;
        let start_block_size = c.length(&ctx)?;
        let max_direct_block_size = c.length(&ctx)?;
        let max_heap_bits = c.u16()?;
        let _start_root_rows = c.u16()?;
        let root = c.offset(&ctx)?;
        let root_rows = c.u16()?;
        let (filtered_root_size, root_filter_mask, filters) = if filter_len > 0 {
            let size = c.length(&ctx)?;
            let mask = c.u32()?;
            let pipeline = c.bytes(usize::from(filter_len))?;
            (size, mask, data.data.slice_ref(pipeline))
        } else {
            (0, 0, Bytes::new())
        };
        c.verify_checksum(0)?;

        let width_bits = log2_of_power(u64::from(table_width), "table width", address)?;
        let start_bits = log2_of_power(start_block_size, "starting block size", address)?;
        let max_direct_bits =
            log2_of_power(max_direct_block_size, "maximum direct block size", address)?;
        let first_row_bits = start_bits + width_bits;
        if max_direct_bits < start_bits
            || max_heap_bits == 0
            || max_heap_bits > 64
            || u32::from(max_heap_bits) < first_row_bits
        {
            return Err(Error::corrupt(
                HEADER,
                address,
                format!(
                    "inconsistent doubling table: start {start_block_size}, max direct \
                     {max_direct_block_size}, width {table_width}, heap bits {max_heap_bits}"
                ),
            ));
        }
        let max_root_rows = u32::from(max_heap_bits) - first_row_bits + 1;
        if u32::from(root_rows) > max_root_rows {
            return Err(Error::corrupt(
                HEADER,
                address,
                format!("{root_rows} root rows, at most {max_root_rows} possible"),
            ));
        }
        let offset_width = usize::from(max_heap_bits).div_ceil(8);
        let length_width = (max_direct_bits as usize)
            .div_ceil(8)
            .min(width_of(u64::from(max_managed_size)));
        Ok(FractalHeap {
            address,
            id_len,
            flags,
            max_managed_size,
            huge_btree,
            managed_objects,
            huge_objects,
            tiny_objects,
            table_width,
            start_block_size,
            max_direct_block_size,
            max_heap_bits,
            root,
            root_rows,
            filtered_root_size,
            root_filter_mask,
            filters,
            ctx,
            offset_width,
            length_width,
            start_bits,
            width_bits,
            max_direct_rows: max_direct_bits - start_bits + 2,
        })
    }

    /// (address, stored length) of the root block, direct or indirect: the first thing any
    /// managed object's lookup reads, to be asked for together with other structures.
    pub fn root_span(&self) -> Option<(u64, u64)> {
        if self.root == UNDEF_ADDR {
            return None;
        }
        Some(match (self.root_rows, self.is_filtered()) {
            (0, false) => (self.root, self.start_block_size),
            (0, true) => (self.root, self.filtered_root_size),
            (rows, _) => (self.root, self.indirect_len(u32::from(rows))),
        })
    }

    /// (address, stored length) of the direct blocks that hold the managed objects among `ids`,
    /// each block once, as far as the indirect blocks can be read; for asking for all of them
    /// at once before the objects are looked up one by one. IDs of other kinds, and IDs that
    /// do not resolve, are left out (their lookups report the error).
    pub fn object_spans<'i>(
        &self,
        r: &Reader,
        ids: impl IntoIterator<Item = &'i [u8]>,
    ) -> Vec<(u64, u64)> {
        let mut spans: Vec<(u64, u64)> = ids
            .into_iter()
            .filter_map(|id| {
                let mut c = Cursor::new(id, self.address, ID);
                let first = c.u8().ok()?;
                if first >> 6 != 0 || (first >> 4) & 0x3 != 0 {
                    return None;
                }
                let block = self.locate(r, c.uint(self.offset_width).ok()?).ok()?;
                Some((
                    block.address,
                    block.filtered.map_or(block.size, |(stored, _)| stored),
                ))
            })
            .collect();
        spans.sort_unstable();
        spans.dedup();
        spans
    }

    /// Length in bytes of this heap's IDs.
    pub fn id_len(&self) -> usize {
        usize::from(self.id_len)
    }

    /// Whether direct blocks and huge objects pass through an I/O filter pipeline.
    pub fn is_filtered(&self) -> bool {
        !self.filters.is_empty()
    }

    /// The bytes of the object with this heap ID. Errors with `Unsupported` when the object
    /// is stored filtered; use [`FractalHeap::object_with`] for filtered heaps.
    pub fn object(&self, r: &Reader, id: &[u8]) -> Result<Bytes> {
        self.lookup(r, id, None)
    }

    /// The bytes of the object with this heap ID, reversing the heap's filters with `unfilter`
    /// where the object is stored filtered.
    pub fn object_with(&self, r: &Reader, id: &[u8], unfilter: &Unfilter) -> Result<Bytes> {
        self.lookup(r, id, Some(unfilter))
    }

    fn lookup(&self, r: &Reader, id: &[u8], unfilter: Option<&Unfilter>) -> Result<Bytes> {
        let mut c = Cursor::new(id, self.address, ID);
        let first = c.u8()?;
        let version = first >> 6;
        if version != 0 {
            return Err(c.unsupported(format!("heap ID version {version}")));
        }
        match (first >> 4) & 0x3 {
            0 => self.managed(r, &mut c, unfilter),
            1 => self.huge(r, &mut c, unfilter),
            2 => self.tiny(id, first),
            t => Err(c.corrupt(format!("heap ID type {t}"))),
        }
    }

    /// A tiny object: its bytes are in the ID, after a 1- or 2-byte length.
    fn tiny(&self, id: &[u8], first: u8) -> Result<Bytes> {
        let extended = self.id_len > 18;
        let (len, start) = if extended {
            let low = id.get(1).copied().ok_or_else(|| {
                Error::corrupt(ID, self.address, "tiny object ID without its length byte")
            })?;
            (((usize::from(first & 0x0f) << 8) | usize::from(low)) + 1, 2)
        } else {
            (usize::from(first & 0x0f) + 1, 1)
        };
        id.get(start..start + len)
            .map(Bytes::copy_from_slice)
            .ok_or_else(|| {
                Error::corrupt(
                    ID,
                    self.address,
                    format!("tiny object of {len} bytes in a {}-byte ID", id.len()),
                )
            })
    }

    fn unfiltered(
        &self,
        unfilter: Option<&Unfilter>,
        stored: &[u8],
        mask: u32,
        at: u64,
        structure: &'static str,
    ) -> Result<Vec<u8>> {
        match unfilter {
            Some(f) => f(stored, &self.filters, mask),
            None => Err(Error::unsupported(
                structure,
                at,
                match self.first_filter_id() {
                    Some(id) => {
                        format!("object stored through I/O filter {id}; read it with object_with")
                    }
                    None => "object stored through an I/O filter pipeline; read it with \
                             object_with"
                        .to_string(),
                },
            )),
        }
    }

    /// ID of the first filter of the pipeline, for error messages (versions 1 and 2 of the
    /// Filter Pipeline message put it at different offsets).
    fn first_filter_id(&self) -> Option<u16> {
        let f = &self.filters;
        let at = match f.first()? {
            1 => 8,
            _ => 2,
        };
        Some(u16::from_le_bytes([*f.get(at)?, *f.get(at + 1)?]))
    }

    /// A huge object: stored on its own, located by the ID or through the huge-object B-tree.
    fn huge(&self, r: &Reader, c: &mut Cursor, unfilter: Option<&Unfilter>) -> Result<Bytes> {
        let ctx = &self.ctx;
        let room = self.id_len().saturating_sub(1);
        let o = usize::from(ctx.sizeof_offsets);
        let l = usize::from(ctx.sizeof_lengths);
        let (address, length, filter) = if !self.is_filtered() && room >= o + l {
            (c.offset(ctx)?, c.length(ctx)?, None)
        } else if self.is_filtered() && room >= o + l + 4 + l {
            let (a, len, mask, size) = (c.offset(ctx)?, c.length(ctx)?, c.u32()?, c.length(ctx)?);
            (a, len, Some((mask, size)))
        } else {
            let key = c.uint(room.min(8))?;
            self.huge_record(r, key)?
        };
        let stored = read_value(r, address, length, "huge fractal heap object")?;
        match filter {
            None => Ok(stored),
            Some((mask, size)) => {
                let out =
                    self.unfiltered(unfilter, &stored, mask, address, "huge fractal heap object")?;
                if out.len() as u64 != size {
                    return Err(Error::corrupt(
                        "huge fractal heap object",
                        address,
                        format!("unfiltered to {} bytes, expected {size}", out.len()),
                    ));
                }
                Ok(Bytes::from(out))
            }
        }
    }

    /// Looks up an indirectly accessed huge object by its ID key.
    fn huge_record(&self, r: &Reader, key: u64) -> Result<HugeLocation> {
        let tree = BTreeV2::read(r, self.huge_btree)?;
        let cmp = |rec: &Record| match rec {
            Record::HugeIndirect { id, .. } | Record::HugeIndirectFiltered { id, .. } => {
                id.cmp(&key)
            }
            _ => Ordering::Equal,
        };
        match tree.find(r, &RecordContext::default(), &cmp)? {
            Some(Record::HugeIndirect {
                address, length, ..
            }) => Ok((address, length, None)),
            Some(Record::HugeIndirectFiltered {
                address,
                length,
                filter_mask,
                memory_size,
                ..
            }) => Ok((address, length, Some((filter_mask, memory_size)))),
            Some(_) => Err(Error::corrupt(
                HEADER,
                self.huge_btree,
                format!("huge object tree of record type {}", tree.record_type),
            )),
            None => Err(Error::corrupt(
                HEADER,
                self.huge_btree,
                format!("no huge object with ID {key}"),
            )),
        }
    }

    /// A managed object: (offset, length) in the heap's address space, inside one direct block.
    fn managed(&self, r: &Reader, c: &mut Cursor, unfilter: Option<&Unfilter>) -> Result<Bytes> {
        let offset = c.uint(self.offset_width)?;
        let length = c.uint(self.length_width)?;
        if length == 0 {
            return Err(c.corrupt("managed object of length zero"));
        }
        if self.max_heap_bits < 64 && offset >> self.max_heap_bits != 0 {
            return Err(c.corrupt(format!("offset {offset} beyond the heap's address space")));
        }
        let block = self.locate(r, offset)?;
        let at = block.address;
        let data: Bytes = match block.filtered {
            None => r.read(at, block.size, DIRECT)?,
            Some((stored, mask)) => {
                let raw = r.read(at, stored, DIRECT)?;
                let out = self.unfiltered(unfilter, &raw, mask, at, DIRECT)?;
                if out.len() as u64 != block.size {
                    return Err(Error::corrupt(
                        DIRECT,
                        at,
                        format!("unfiltered to {} bytes, expected {}", out.len(), block.size),
                    ));
                }
                Bytes::from(out)
            }
        };
        let overhead = self.check_direct_block(&data, &block)?;
        let start = offset - block.heap_offset;
        let end = start.checked_add(length).filter(|&e| e <= block.size);
        match end {
            Some(end) if start >= overhead => Ok(data.slice(start as usize..end as usize)),
            _ => Err(Error::corrupt(
                DIRECT,
                at,
                format!("object at {offset} of {length} bytes is outside the block's data"),
            )),
        }
    }

    /// Checks a direct block's prefix (and checksum); returns the prefix length.
    fn check_direct_block(&self, data: &[u8], block: &DirectBlock) -> Result<u64> {
        let mut c = Cursor::new(data, block.address, DIRECT);
        c.signature(b"FHDB")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("version {version}")));
        }
        let heap = c.offset(&self.ctx)?;
        if heap != self.address {
            return Err(c.corrupt(format!("belongs to the heap at {heap:#x}")));
        }
        let heap_offset = c.uint(self.offset_width)?;
        if heap_offset != block.heap_offset {
            return Err(c.corrupt(format!(
                "block offset {heap_offset}, expected {}",
                block.heap_offset
            )));
        }
        if self.flags & FLAG_CHECKSUM_DBLOCKS != 0 {
            // The checksum covers the whole block with its own field zeroed.
            let field = c.pos();
            let at = c.addr();
            let stored = c.u32()?;
            let mut copy = data.to_vec();
            copy[field..field + 4].fill(0);
            if crate::checksum::metadata_checksum(&copy) != stored {
                return Err(Error::Checksum {
                    structure: DIRECT,
                    offset: at,
                });
            }
        }
        Ok(c.pos() as u64)
    }

    /// Size of blocks in doubling-table row `row` (rows 0 and 1 have the starting size).
    fn row_block_size(&self, row: u32) -> u64 {
        if row == 0 {
            self.start_block_size
        } else {
            self.start_block_size << (row - 1)
        }
    }

    /// Offset of row `row` from the start of its indirect block.
    fn row_offset(&self, row: u32) -> u64 {
        if row == 0 {
            0
        } else {
            (self.start_block_size << self.width_bits) << (row - 1)
        }
    }

    /// (row, column) of the block holding `offset`, relative to an indirect block's start.
    fn row_column(&self, offset: u64) -> (u32, u64) {
        let first_row_bits = self.start_bits + self.width_bits;
        if offset.checked_shr(first_row_bits).unwrap_or(0) == 0 {
            (0, offset >> self.start_bits)
        } else {
            let high = 63 - offset.leading_zeros();
            let row = high - first_row_bits + 1;
            (row, (offset - (1u64 << high)) / self.row_block_size(row))
        }
    }

    /// Walks the doubling table from the root to the direct block holding `offset`.
    fn locate(&self, r: &Reader, offset: u64) -> Result<DirectBlock> {
        if self.root == UNDEF_ADDR {
            return Err(Error::corrupt(
                HEADER,
                self.address,
                "object in an empty heap",
            ));
        }
        if self.root_rows == 0 {
            if offset >= self.start_block_size {
                return Err(Error::corrupt(
                    HEADER,
                    self.address,
                    format!("offset {offset} beyond the root direct block"),
                ));
            }
            return Ok(DirectBlock {
                address: self.root,
                heap_offset: 0,
                size: self.start_block_size,
                filtered: self
                    .is_filtered()
                    .then_some((self.filtered_root_size, self.root_filter_mask)),
            });
        }
        let mut iblock = self.root;
        let mut rows = u32::from(self.root_rows);
        let mut base = 0u64;
        // Each step down enters an indirect block with fewer rows, so this ends.
        loop {
            let (row, col) = self.row_column(offset - base);
            if row >= rows {
                return Err(Error::corrupt(
                    INDIRECT,
                    iblock,
                    format!("offset {offset} beyond a block of {rows} rows"),
                ));
            }
            let entry = u64::from(row) * u64::from(self.table_width) + col;
            let child_offset = base + self.row_offset(row) + col * self.row_block_size(row);
            let (address, filtered) = self.read_entry(r, iblock, rows, base, entry)?;
            if address == UNDEF_ADDR {
                return Err(Error::corrupt(
                    INDIRECT,
                    iblock,
                    format!("offset {offset} lies in an unallocated block"),
                ));
            }
            if row < self.max_direct_rows {
                return Ok(DirectBlock {
                    address,
                    heap_offset: child_offset,
                    size: self.row_block_size(row),
                    filtered,
                });
            }
            // A child indirect block spans one block of its row: 2^(start + row - 1) bytes,
            // which takes `row - width_bits` rows of its own.
            let child_rows = row
                .checked_sub(self.width_bits)
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    Error::corrupt(INDIRECT, iblock, "child indirect block without rows")
                })?;
            iblock = address;
            rows = child_rows;
            base = child_offset;
        }
    }

    /// Bytes of an indirect block entry for a direct block: its address, and for filtered
    /// heaps its stored size and filter mask.
    fn direct_entry_len(&self) -> u64 {
        let ctx = &self.ctx;
        u64::from(ctx.sizeof_offsets)
            + if self.is_filtered() {
                u64::from(ctx.sizeof_lengths) + 4
            } else {
                0
            }
    }

    /// Bytes of an indirect block of `rows` rows, checksum included.
    fn indirect_len(&self, rows: u32) -> u64 {
        let o = u64::from(self.ctx.sizeof_offsets);
        let width = u64::from(self.table_width);
        let direct_rows = u64::from(rows.min(self.max_direct_rows));
        let indirect_rows = u64::from(rows.saturating_sub(self.max_direct_rows));
        let prefix = 5 + o + self.offset_width as u64;
        prefix + direct_rows * width * self.direct_entry_len() + indirect_rows * width * o + 4
    }

    /// (address, stored length) of the direct blocks the root block names: the root itself
    /// when it is direct, else the allocated direct blocks of the root indirect block (blocks
    /// under nested indirect blocks are left out). A reader of every object asks for these
    /// together instead of waiting for the IDs that point into them.
    pub fn direct_block_spans(&self, r: &Reader) -> Vec<(u64, u64)> {
        if self.root_rows == 0 {
            return self.root_span().into_iter().collect();
        }
        let rows = u32::from(self.root_rows);
        let width = u64::from(self.table_width);
        let mut spans = Vec::new();
        for row in 0..rows.min(self.max_direct_rows) {
            for col in 0..width {
                let entry = u64::from(row) * width + col;
                let Ok((address, filtered)) = self.read_entry(r, self.root, rows, 0, entry) else {
                    return spans;
                };
                if address != UNDEF_ADDR {
                    let len = filtered.map_or(self.row_block_size(row), |(stored, _)| stored);
                    spans.push((address, len));
                }
            }
        }
        spans
    }

    /// Reads the indirect block at `addr` (`rows` rows, at heap offset `base`) and returns
    /// child entry `entry`: its address and, for filtered direct blocks, (stored size, mask).
    fn read_entry(
        &self,
        r: &Reader,
        addr: u64,
        rows: u32,
        base: u64,
        entry: u64,
    ) -> Result<(u64, Option<(u64, u32)>)> {
        let ctx = &self.ctx;
        let o = u64::from(ctx.sizeof_offsets);
        let width = u64::from(self.table_width);
        let direct_rows = u64::from(rows.min(self.max_direct_rows));
        let direct_len = self.direct_entry_len();
        let prefix = 5 + o + self.offset_width as u64;
        let len = self.indirect_len(rows);
        let data = r.cursor(addr, len, INDIRECT)?;
        let mut c = data.cursor();
        c.signature(b"FHIB")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("version {version}")));
        }
        let heap = c.offset(ctx)?;
        if heap != self.address {
            return Err(c.corrupt(format!("belongs to the heap at {heap:#x}")));
        }
        let block_offset = c.uint(self.offset_width)?;
        if block_offset != base {
            return Err(c.corrupt(format!("block offset {block_offset}, expected {base}")));
        }
        let mut tail = c.clone();
        tail.seek((len - 4) as usize)?;
        tail.verify_checksum(0)?;
        let direct_entries = direct_rows * width;
        let pos = if entry < direct_entries {
            prefix + entry * direct_len
        } else {
            prefix + direct_entries * direct_len + (entry - direct_entries) * o
        };
        c.seek(pos as usize)?;
        let child = c.offset(ctx)?;
        let filtered = if entry < direct_entries && self.is_filtered() {
            Some((c.length(ctx)?, c.u32()?))
        } else {
            None
        };
        Ok((child, filtered))
    }
}

/// `len` bytes at `addr` for an object that may exceed a metadata block, bounded by
/// [`MAX_VALUE_BYTES`] and the file size before reading.
fn read_value(r: &Reader, addr: u64, len: u64, structure: &'static str) -> Result<Bytes> {
    if addr == UNDEF_ADDR {
        return Err(Error::corrupt(structure, addr, "undefined address"));
    }
    if len > MAX_VALUE_BYTES {
        return Err(Error::limit(structure, addr, format!("{len} bytes")));
    }
    let have = r.available(addr);
    if len > have {
        return Err(Error::Truncated {
            structure,
            offset: addr,
            need: len,
            have,
        });
    }
    r.src.read_at(r.absolute(addr), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_corpus::CORPUS;
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn load(path: &str) -> Option<Bytes> {
        std::fs::read(path).ok().map(Bytes::from)
    }

    fn find_all(hay: &[u8], needle: &[u8]) -> Vec<u64> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i as u64)
            .collect()
    }

    /// The name in an encoded Link message (IV.A.2.g): version, flags, optional type,
    /// creation order and charset, a name length of 1 << (flags & 3) bytes, the name.
    fn link_name(msg: &[u8]) -> Option<String> {
        let mut c = Cursor::new(msg, 0, "test");
        if c.u8().ok()? != 1 {
            return None;
        }
        let flags = c.u8().ok()?;
        if flags & 0x08 != 0 {
            c.skip(1).ok()?;
        }
        if flags & 0x04 != 0 {
            c.skip(8).ok()?;
        }
        if flags & 0x10 != 0 {
            c.skip(1).ok()?;
        }
        let n = c.uint(1 << (flags & 3)).ok()?;
        String::from_utf8(c.bytes_u64(n).ok()?.to_vec()).ok()
    }

    /// Undoes zlib level 0, which only writes "stored" deflate blocks.
    fn unstore(data: &[u8], pipeline: &[u8], mask: u32) -> Result<Vec<u8>> {
        assert!(!pipeline.is_empty());
        assert_eq!(mask, 0);
        let bad = || Error::corrupt("test inflate", 0, "not a stored zlib stream");
        let mut pos = 2;
        let mut out = Vec::new();
        loop {
            let head = *data.get(pos).ok_or_else(bad)?;
            if head & 0x06 != 0 {
                return Err(bad());
            }
            let len = usize::from(u16::from_le_bytes([data[pos + 1], data[pos + 2]]));
            out.extend_from_slice(data.get(pos + 5..pos + 5 + len).ok_or_else(bad)?);
            pos += 5 + len;
            if head & 1 == 1 {
                return Ok(out);
            }
        }
    }

    /// Link names of every dense group in `file`: each name-index B-tree (type 5) paired with
    /// the heap in which all its IDs resolve to link messages.
    fn dense_link_names(b: &Bytes, unfilter: Option<&Unfilter>) -> Vec<Vec<String>> {
        let r = Reader::new(b, Context::default());
        let heaps: Vec<FractalHeap> = find_all(b, b"FRHP")
            .into_iter()
            .map(|a| FractalHeap::read(&r, a).unwrap())
            .collect();
        let mut groups = Vec::new();
        for addr in find_all(b, b"BTHD") {
            let tree = BTreeV2::read(&r, addr).unwrap();
            if tree.record_type != 5 {
                continue;
            }
            let ids: Vec<[u8; 7]> = tree
                .records(&r, &RecordContext::default())
                .unwrap()
                .into_iter()
                .map(|rec| match rec {
                    Record::LinkName { heap_id, .. } => heap_id,
                    other => panic!("{other:?}"),
                })
                .collect();
            let names = heaps.iter().find_map(|h| {
                ids.iter()
                    .map(|id| {
                        let obj = match unfilter {
                            Some(f) => h.object_with(&r, id, f),
                            None => h.object(&r, id),
                        };
                        link_name(&obj.ok()?)
                    })
                    .collect::<Option<Vec<_>>>()
            });
            let mut names = names.expect("a heap holding the group's links");
            names.sort();
            groups.push(names);
        }
        groups
    }

    #[test]
    fn corpus_dense_groups() {
        for (path, expect) in [
            ("pyfive/tests/data/new_style_groups.hdf5", 9),
            (
                "jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5",
                1000,
            ),
        ] {
            let b = crate::test_corpus::read(path);
            let groups = dense_link_names(&b, None);
            assert!(
                groups.iter().any(|g| g.len() == expect),
                "{path}: {:?}",
                groups.iter().map(Vec::len).collect::<Vec<_>>()
            );
            let golden = std::fs::read_to_string(format!("{CORPUS}/golden/{path}.json")).unwrap();
            for name in groups.iter().flatten() {
                assert!(golden.contains(&format!("\"{name}\"")), "{path}: {name}");
            }
            // The blocks a root names are direct blocks.
            let r = Reader::new(&b, Context::default());
            for at in find_all(&b, b"FRHP") {
                let spans = FractalHeap::read(&r, at).unwrap().direct_block_spans(&r);
                assert!(!spans.is_empty(), "{path}");
                for (block, _) in spans {
                    assert_eq!(&b[block as usize..block as usize + 4], b"FHDB", "{path}");
                }
            }
        }
    }

    #[test]
    fn filtered_heap_with_huge_object() {
        let b = load(&format!("{FIXTURES}/fheap_filtered.h5")).unwrap();
        let r = Reader::new(&b, Context::default());
        let heap = FractalHeap::read(&r, find_all(&b, b"FRHP")[0]).unwrap();
        assert!(heap.is_filtered());
        assert!(heap.root_rows > 0, "several direct blocks expected");
        let groups = dense_link_names(&b, Some(&unstore));
        assert_eq!(groups.len(), 1);
        let mut expected: Vec<String> = (0..200).map(|i| format!("link{i:04}")).collect();
        expected.push("huge".into());
        expected.sort();
        assert_eq!(groups[0], expected);
        // The unfiltered entry point refuses, naming the filter (1: deflate).
        let tree = find_all(&b, b"BTHD")
            .into_iter()
            .map(|a| BTreeV2::read(&r, a).unwrap())
            .find(|t| t.record_type == 5)
            .unwrap();
        let recs = tree.records(&r, &RecordContext::default()).unwrap();
        let Record::LinkName { heap_id, .. } = &recs[0] else {
            unreachable!()
        };
        match heap.object(&r, heap_id) {
            Err(Error::Unsupported { detail, .. }) => assert!(detail.contains("filter 1")),
            other => panic!("{other:?}"),
        }
        // The soft link with a 9001-byte target is a huge object behind a type-2 B-tree.
        let huge = recs
            .iter()
            .filter_map(|rec| match rec {
                Record::LinkName { heap_id, .. } if heap_id[0] >> 4 == 1 => Some(heap_id),
                _ => None,
            })
            .next()
            .expect("a huge heap ID");
        let obj = heap.object_with(&r, huge, &unstore).unwrap();
        assert!(obj.len() > 9001);
        assert!(obj.ends_with(&[b'x'; 100]));
        assert_eq!(BTreeV2::read(&r, heap.huge_btree).unwrap().record_type, 2);
    }

    #[test]
    fn huge_attribute() {
        let b = load(&format!("{FIXTURES}/fheap_huge_attr.h5")).unwrap();
        let r = Reader::new(&b, Context::default());
        let heap = FractalHeap::read(&r, find_all(&b, b"FRHP")[0]).unwrap();
        let tree = find_all(&b, b"BTHD")
            .into_iter()
            .map(|a| BTreeV2::read(&r, a).unwrap())
            .find(|t| t.record_type == 8)
            .unwrap();
        let recs = tree.records(&r, &RecordContext::default()).unwrap();
        assert_eq!(recs.len(), 13);
        let expected: Vec<u8> = (0..5000i32).flat_map(|i| i.to_le_bytes()).collect();
        let mut huge = 0;
        for rec in &recs {
            let Record::AttrName { heap_id, .. } = rec else {
                unreachable!()
            };
            let obj = heap.object(&r, heap_id).unwrap();
            if heap_id[0] >> 4 == 1 {
                assert!(obj.ends_with(&expected));
                huge += 1;
            }
        }
        assert_eq!(huge, 1);
        assert_eq!(BTreeV2::read(&r, heap.huge_btree).unwrap().record_type, 1);
    }

    /// A hand-built heap: width 2, 64-byte starting blocks, 128-byte maximum direct blocks,
    /// a root indirect block of 5 rows (3 rows of direct blocks, then child indirect blocks)
    /// and one child indirect block, with checksummed direct blocks.
    fn synthetic() -> Vec<u8> {
        fn checksum(v: &mut Vec<u8>) {
            let s = crate::checksum::metadata_checksum(v);
            v.extend_from_slice(&s.to_le_bytes());
        }
        let undef = u64::MAX.to_le_bytes();
        let mut h = b"FRHP\0".to_vec();
        h.extend_from_slice(&8u16.to_le_bytes()); // ID length
        h.extend_from_slice(&0u16.to_le_bytes()); // no filters
        h.push(FLAG_CHECKSUM_DBLOCKS);
        h.extend_from_slice(&100u32.to_le_bytes()); // max managed size
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&undef); // huge B-tree
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&undef); // free-space manager
        for v in [1024u64, 1024, 1024, 2, 0, 0, 0, 0] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&64u64.to_le_bytes());
        h.extend_from_slice(&128u64.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(&5u16.to_le_bytes());
        h.extend_from_slice(&256u64.to_le_bytes()); // root
        h.extend_from_slice(&5u16.to_le_bytes());
        checksum(&mut h);

        let iblock = |offset: u16, entries: &[u64]| {
            let mut v = b"FHIB\0".to_vec();
            v.extend_from_slice(&0u64.to_le_bytes());
            v.extend_from_slice(&offset.to_le_bytes());
            for e in entries {
                v.extend_from_slice(&e.to_le_bytes());
            }
            checksum(&mut v);
            v
        };
        let u = u64::MAX;
        // Root: 6 direct entries (rows 0-2), 4 indirect (rows 3-4); row 3 column 1 is a child.
        let root = iblock(0, &[u, 1024, u, u, u, u, u, 512, u, u]);
        // Child at heap offset 768, 2 rows of 64-byte blocks; row 1 column 1 is allocated.
        let child = iblock(768, &[u, u, u, 1152]);
        let dblock = |offset: u16, at: usize, obj: &[u8]| {
            let mut v = b"FHDB\0".to_vec();
            v.extend_from_slice(&0u64.to_le_bytes());
            v.extend_from_slice(&offset.to_le_bytes());
            v.extend_from_slice(&[0; 4]);
            v.resize(64, 0);
            v[at..at + obj.len()].copy_from_slice(obj);
            let s = crate::checksum::metadata_checksum(&v);
            v[15..19].copy_from_slice(&s.to_le_bytes());
            v
        };
        let mut file = vec![0u8; 1216];
        file[..h.len()].copy_from_slice(&h);
        file[256..256 + root.len()].copy_from_slice(&root);
        file[512..512 + child.len()].copy_from_slice(&child);
        file[1024..1088].copy_from_slice(&dblock(64, 19, b"hello"));
        file[1152..1216].copy_from_slice(&dblock(960, 19, b"world!"));
        file
    }

    fn managed_id(offset: u16, len: u8) -> [u8; 8] {
        let o = offset.to_le_bytes();
        [0, o[0], o[1], len, 0, 0, 0, 0]
    }

    #[test]
    fn synthetic_doubling_table() {
        let file = Bytes::from(synthetic());
        let r = Reader::new(&file, Context::default());
        let heap = FractalHeap::read(&r, 0).unwrap();
        assert_eq!(heap.object(&r, &managed_id(83, 5)).unwrap(), &b"hello"[..]);
        assert_eq!(
            heap.object(&r, &managed_id(979, 6)).unwrap(),
            &b"world!"[..]
        );
        // The root's one direct block; the one under its child indirect block is not named.
        assert_eq!(heap.direct_block_spans(&r), vec![(1024, 64)]);
        // Tiny object of 3 bytes in the ID.
        let tiny = [0x22, b'a', b'b', b'c', 0, 0, 0, 0];
        assert_eq!(heap.object(&r, &tiny).unwrap(), &b"abc"[..]);
        for bad in [
            managed_id(0, 5),            // inside the block prefix
            managed_id(128, 5),          // unallocated block
            managed_id(120, 50),         // runs off its block
            managed_id(2000, 5),         // beyond the root's rows
            managed_id(83, 0),           // zero length
            [0x2f, 0, 0, 0, 0, 0, 0, 0], // tiny object longer than the ID
            [0x30, 0, 0, 0, 0, 0, 0, 0], // unknown ID type
            [0x40, 0, 0, 0, 0, 0, 0, 0], // unknown ID version
            [0x10, 0, 0, 0, 0, 0, 0, 0], // huge object without a B-tree
        ] {
            assert!(heap.object(&r, &bad).is_err(), "{bad:?}");
        }
        assert!(heap.object(&r, &[]).is_err());
    }

    #[test]
    fn synthetic_corruption_never_panics() {
        let good = synthetic();
        let ids = [managed_id(83, 5), managed_id(979, 6)];
        for i in 0..good.len() {
            let mut v = good.clone();
            v[i] ^= 0x41;
            let b = Bytes::from(v);
            let r = Reader::new(&b, Context::default());
            if let Ok(heap) = FractalHeap::read(&r, 0) {
                for id in &ids {
                    if let Ok(obj) = heap.object(&r, id) {
                        // Checksums cover every byte an object depends on, except unused
                        // entries and bytes outside any structure.
                        assert!(obj == b"hello"[..] || obj == b"world!"[..], "flip at {i}");
                    }
                }
            }
        }
        for n in 0..good.len() {
            let b = Bytes::from(good[..n].to_vec());
            let r = Reader::new(&b, Context::default());
            if let Ok(heap) = FractalHeap::read(&r, 0) {
                assert!(heap.object(&r, &ids[1]).is_err());
            }
        }
    }
}
