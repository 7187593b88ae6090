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
    /// Encoded size: the name's heap offset (a length field, as libhdf5 decodes it), the
    /// header address, cache type, reserved word, scratch pad.
    pub fn encoded_len(ctx: &Context) -> usize {
        usize::from(ctx.sizeof_lengths) + usize::from(ctx.sizeof_offsets) + 8 + 16
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

#[cfg(test)]
mod tests {
    use super::*;

    /// libhdf5 reads the name offset at the width of lengths, the header address at the width
    /// of offsets: a file with 4-byte offsets and 8-byte lengths has 36-byte entries.
    #[test]
    fn name_offset_is_a_length() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 8,
            base_address: 0,
        };
        let mut b = Vec::new();
        b.extend_from_slice(&24u64.to_le_bytes());
        b.extend_from_slice(&0x1234u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&0x100u32.to_le_bytes());
        b.extend_from_slice(&0x200u32.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        assert_eq!(SymbolTableEntry::encoded_len(&ctx), b.len());
        let mut c = Cursor::new(&b, 0, "entry");
        let e = SymbolTableEntry::parse(&mut c, &ctx).unwrap();
        assert!(c.is_empty());
        assert_eq!((e.name_offset, e.object_header), (24, 0x1234));
        assert_eq!(e.cached_symbol_table(&ctx), Some((0x100, 0x200)));
    }
}
