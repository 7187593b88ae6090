//! Symbol Table Entry (File Format Specification III.C): one group member in a version-0/1
//! superblock's root entry and in the symbol nodes of old-style groups.

use crate::error::Result;
use crate::read::{Context, Cursor};

/// Cache type 1: the scratch pad holds the group's B-tree and local heap addresses.
pub const CACHE_SYMBOL_TABLE: u32 = 1;
/// Cache type 2: the scratch pad holds a symbolic link's offset into the local heap.
pub const CACHE_SYMBOLIC_LINK: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolTableEntry {
    /// Offset of the link name in the group's local heap.
    pub name_offset: u64,
    /// Address of the member's object header.
    pub object_header: u64,
    pub cache_type: u32,
    /// The 16-byte scratch pad, decoded by [`SymbolTableEntry::cached_symbol_table`].
    pub scratch: [u8; 16],
}

impl SymbolTableEntry {
    /// Encoded size: two offsets, cache type, reserved word, scratch pad.
    pub fn encoded_len(ctx: &Context) -> usize {
        2 * usize::from(ctx.sizeof_offsets) + 8 + 16
    }

    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let name_offset = c.length(ctx)?;
        let object_header = c.offset(ctx)?;
        let cache_type = c.u32()?;
        c.skip(4)?;
        let mut scratch = [0u8; 16];
        scratch.copy_from_slice(c.bytes(16)?);
        Ok(SymbolTableEntry {
            name_offset,
            object_header,
            cache_type,
            scratch,
        })
    }

    /// (B-tree address, local heap address) cached for a group, if the cache type says so.
    pub fn cached_symbol_table(&self, ctx: &Context) -> Option<(u64, u64)> {
        if self.cache_type != CACHE_SYMBOL_TABLE {
            return None;
        }
        let mut c = Cursor::new(&self.scratch, 0, "symbol table entry scratch pad");
        let btree = c.offset(ctx).ok()?;
        let heap = c.offset(ctx).ok()?;
        Some((btree, heap))
    }
}
