//! Object header messages (File Format Specification IV.A.2): the type numbers, the shared
//! message encoding (described in IV.A.2) and one decoder per message type in the submodules.
//!
//! Decoders take a [`Cursor`] over a message body (see
//! [`RawMessage::cursor`](crate::object_header::RawMessage::cursor)); a body whose "shared"
//! flag is set holds a [`SharedRef`] instead and must be resolved before decoding.

pub mod attribute;
pub mod attribute_info;
pub mod btree_k;
pub mod comment;
pub mod continuation;
pub mod dense_storage_info;
pub mod driver_info;
pub mod external_files;
pub mod file_space_info;
pub mod fill_value;
pub mod filter_pipeline;
pub mod group_info;
pub mod layout;
pub mod link;
pub mod link_info;
pub mod mtime;
pub mod refcount;
pub mod shared_message_table;
pub mod symbol_table;

use crate::error::Result;
use crate::read::{Context, Cursor};

/// Header message type numbers.
pub mod kind {
    pub const NIL: u16 = 0x0;
    pub const DATASPACE: u16 = 0x1;
    pub const LINK_INFO: u16 = 0x2;
    pub const DATATYPE: u16 = 0x3;
    pub const FILL_VALUE_OLD: u16 = 0x4;
    pub const FILL_VALUE: u16 = 0x5;
    pub const LINK: u16 = 0x6;
    pub const EXTERNAL_FILES: u16 = 0x7;
    pub const LAYOUT: u16 = 0x8;
    pub const BOGUS: u16 = 0x9;
    pub const GROUP_INFO: u16 = 0xA;
    pub const FILTER_PIPELINE: u16 = 0xB;
    pub const ATTRIBUTE: u16 = 0xC;
    pub const COMMENT: u16 = 0xD;
    pub const MTIME_OLD: u16 = 0xE;
    pub const SHARED_MESSAGE_TABLE: u16 = 0xF;
    pub const CONTINUATION: u16 = 0x10;
    pub const SYMBOL_TABLE: u16 = 0x11;
    pub const MTIME: u16 = 0x12;
    pub const BTREE_K: u16 = 0x13;
    pub const DRIVER_INFO: u16 = 0x14;
    pub const ATTRIBUTE_INFO: u16 = 0x15;
    pub const REFCOUNT: u16 = 0x16;
    pub const FILE_SPACE_INFO: u16 = 0x17;
    /// Metadata cache image location (superblock extension; not in the 4.0 specification).
    pub const METADATA_CACHE_IMAGE: u16 = 0x18;

    /// A short human-readable name for diagnostics ("unknown" for unassigned numbers).
    pub fn name(kind: u16) -> &'static str {
        match kind {
            NIL => "nil",
            DATASPACE => "dataspace",
            LINK_INFO => "link info",
            DATATYPE => "datatype",
            FILL_VALUE_OLD => "fill value (old)",
            FILL_VALUE => "fill value",
            LINK => "link",
            EXTERNAL_FILES => "external files",
            LAYOUT => "data layout",
            BOGUS => "bogus",
            GROUP_INFO => "group info",
            FILTER_PIPELINE => "filter pipeline",
            ATTRIBUTE => "attribute",
            COMMENT => "comment",
            MTIME_OLD => "modification time (old)",
            SHARED_MESSAGE_TABLE => "shared message table",
            CONTINUATION => "continuation",
            SYMBOL_TABLE => "symbol table",
            MTIME => "modification time",
            BTREE_K => "B-tree 'K' values",
            DRIVER_INFO => "driver info",
            ATTRIBUTE_INFO => "attribute info",
            REFCOUNT => "reference count",
            FILE_SPACE_INFO => "file space info",
            METADATA_CACHE_IMAGE => "metadata cache image",
            _ => "unknown",
        }
    }
}

/// Where the real body of a shared message lives (shared message encoding, IV.A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedRef {
    /// In another object header (a committed datatype, or any message of a version-1 reference);
    /// the relative address of that header.
    ObjectHeader(u64),
    /// In the shared object header message heap: the 8-byte fractal heap ID.
    Heap([u8; 8]),
}

/// Sharing type of a version 3 shared message kept in the shared message heap.
const SHARE_TYPE_SOHM: u8 = 1;

impl SharedRef {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<SharedRef> {
        let version = c.u8()?;
        let kind = c.u8()?;
        match version {
            1 => {
                // Six reserved bytes, then what was a symbol table entry: the name offset
                // (a length, unused) and the object header address.
                c.skip(6)?;
                c.length(ctx)?;
                Ok(SharedRef::ObjectHeader(c.offset(ctx)?))
            }
            // Like the HDF5 library, any type other than "in the heap" is a committed
            // message in another object header (version 2 writers left the type at 0).
            3 if kind == SHARE_TYPE_SOHM => {
                let mut id = [0u8; 8];
                id.copy_from_slice(c.bytes(8)?);
                Ok(SharedRef::Heap(id))
            }
            2 | 3 => Ok(SharedRef::ObjectHeader(c.offset(ctx)?)),
            _ => Err(c.unsupported(format!("shared message version {version}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<SharedRef> {
        SharedRef::parse(&mut Cursor::new(b, 0, "shared"), &Context::default())
    }

    #[test]
    fn versions() {
        let mut v1 = vec![1, 0, 0, 0, 0, 0, 0, 0];
        v1.extend_from_slice(&0u64.to_le_bytes());
        v1.extend_from_slice(&0x500u64.to_le_bytes());
        assert_eq!(parse(&v1).unwrap(), SharedRef::ObjectHeader(0x500));
        let mut v2 = vec![2, 0];
        v2.extend_from_slice(&0x600u64.to_le_bytes());
        assert_eq!(parse(&v2).unwrap(), SharedRef::ObjectHeader(0x600));
        let mut v3 = vec![3, 2];
        v3.extend_from_slice(&0x700u64.to_le_bytes());
        assert_eq!(parse(&v3).unwrap(), SharedRef::ObjectHeader(0x700));
        let v3h = [3, 1, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            parse(&v3h).unwrap(),
            SharedRef::Heap([1, 2, 3, 4, 5, 6, 7, 8])
        );
        for b in [&v1[..], &v2[..], &v3[..], &v3h[..]] {
            for n in 0..b.len() {
                assert!(parse(&b[..n]).is_err());
            }
        }
        assert!(parse(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn names_are_known() {
        assert_eq!(kind::name(kind::LAYOUT), "data layout");
        assert_eq!(kind::name(0x99), "unknown");
    }
}
