//! Sanity limits applied before anything read from a file is allocated or followed.
//!
//! Real files stay far below these; a malicious file that claims more gets `Error::Limit`
//! instead of an out-of-memory abort or an endless walk.

/// Largest single metadata structure read in one piece (object header chunk, heap block,
/// B-tree node). The largest seen in NASA granules are a few MiB.
pub const MAX_METADATA_BLOCK: u64 = 256 << 20;
/// Object header continuation blocks followed for one object.
pub const MAX_HEADER_CHUNKS: usize = 65_536;
/// Messages in one object header.
pub const MAX_HEADER_MESSAGES: usize = 1 << 20;
/// Depth of any B-tree; a tree deeper than this is certainly a loop.
pub const MAX_BTREE_DEPTH: u32 = 64;
/// Total nodes visited in one tree walk.
pub const MAX_TREE_NODES: usize = 16 << 20;
/// Dataspace rank (libhdf5's H5S_MAX_RANK).
pub const MAX_RANK: usize = 32;
/// Nesting of compound / array / vlen datatypes.
pub const MAX_TYPE_DEPTH: u32 = 32;
/// Members of a compound or enum type.
pub const MAX_TYPE_MEMBERS: usize = 1 << 16;
/// Bytes held for one decoded in-memory value (attribute, vlen element, heap object).
pub const MAX_VALUE_BYTES: u64 = 1 << 31;
