//! The file space of B-tree and symbol-table nodes, which the decoders read only as far as the
//! entries in use while libhdf5 allocates every node at full capacity. Without this correction
//! a file of many small chunk B-trees (ATL03 v006 has 649, each a 2 KiB node holding one or two
//! entries) would appear to have a fraction of its real metadata.
//!
//! Sizes follow the File Format Specification: a version 1 B-tree node holds 2K children and
//! 2K+1 keys (K from the superblock, per node type); a symbol table node holds 2 × leaf K
//! entries; a version 2 B-tree node is the node size stored in its tree's header.

use std::ops::Range;

use coh5_format::superblock::Superblock;
use coh5_format::symbol_table_entry::SymbolTableEntry;

/// What a logged read at the start of a structure reveals about the structure's full size.
pub(crate) struct Sizer<'a> {
    sb: &'a Superblock,
    /// Node size of the version 2 B-tree whose header was read last: the walk reads a tree's
    /// nodes right after its header.
    v2_node_size: Option<u64>,
}

impl<'a> Sizer<'a> {
    pub fn new(sb: &'a Superblock) -> Self {
        Sizer {
            sb,
            v2_node_size: None,
        }
    }

    /// The allocated size of the structure that `read` (whose first bytes are `head`) belongs
    /// to, when it is a node read short of its capacity; `None` to keep the read as it is.
    pub fn allocated(&mut self, read: &Range<u64>, head: &[u8]) -> Option<u64> {
        let o = u64::from(self.sb.ctx.sizeof_offsets);
        let l = u64::from(self.sb.ctx.sizeof_lengths);
        match head.get(..4)? {
            b"BTHD" => {
                let size = head.get(6..10)?;
                self.v2_node_size = Some(u64::from(u32::from_le_bytes(size.try_into().ok()?)));
                None
            }
            b"BTLF" | b"BTIN" => self.v2_node_size,
            b"SNOD" => {
                let entry = SymbolTableEntry::encoded_len(&self.sb.ctx) as u64;
                Some(8 + 2 * u64::from(self.sb.group_leaf_k) * entry)
            }
            b"TREE" => {
                let node_type = *head.get(4)?;
                let used = u64::from(u16::from_le_bytes(head.get(6..8)?.try_into().ok()?));
                let (k, key) = match node_type {
                    0 => (u64::from(self.sb.group_internal_k), l),
                    // The key length of a chunk node depends on the dataset's rank; the body
                    // read (header, siblings, `used` children, `used + 1` keys) gives it.
                    1 => {
                        let fixed = 8 + 2 * o + used * o;
                        let keys = read.end.checked_sub(read.start)?.checked_sub(fixed)?;
                        if keys == 0 {
                            return None;
                        }
                        (u64::from(self.sb.indexed_storage_k), keys / (used + 1))
                    }
                    _ => return None,
                };
                Some(8 + 2 * o + (2 * k + 1) * key + 2 * k * o)
            }
            _ => None,
        }
    }
}
