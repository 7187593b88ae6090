//! The shared encoding of the Link Info (IV.A.2.c, type 0x0002) and Attribute Info (IV.A.2.v,
//! type 0x0015) messages: where an object keeps its dense links or attributes (a fractal heap and
//! v2 B-tree indexes). The two differ only in the width of the stored maximum creation index.

use std::marker::PhantomData;

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_TRACK_ORDER: u8 = 0x1;
const FLAG_INDEX_ORDER: u8 = 0x2;

/// What a dense-storage info message indexes.
pub trait Indexes {
    /// Bytes of the stored maximum creation index.
    const ORDER_BYTES: usize;
    /// The message's name, for errors.
    const MESSAGE: &'static str;
}

/// Links of a new-style group (Link Info message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Links;
impl Indexes for Links {
    const ORDER_BYTES: usize = 8;
    const MESSAGE: &'static str = "link info message";
}

/// Attributes of an object (Attribute Info message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes;
impl Indexes for Attributes {
    const ORDER_BYTES: usize = 2;
    const MESSAGE: &'static str = "attribute info message";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseStorageInfo<K> {
    pub track_creation_order: bool,
    pub index_creation_order: bool,
    /// Highest creation order given so far, when creation order is tracked (widened to u64).
    pub max_creation_index: Option<u64>,
    /// Fractal heap of the dense entries; [`UNDEF_ADDR`](crate::UNDEF_ADDR) when compact.
    pub fractal_heap: u64,
    /// v2 B-tree indexing names.
    pub name_index: u64,
    /// v2 B-tree indexing creation order, when that index exists.
    pub creation_order_index: Option<u64>,
    kind: PhantomData<K>,
}

impl<K: Indexes> DenseStorageInfo<K> {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("{} version {version}", K::MESSAGE)));
        }
        let flags = c.u8()?;
        if flags & !(FLAG_TRACK_ORDER | FLAG_INDEX_ORDER) != 0 {
            return Err(c.corrupt(format!("{} flags {flags:#x}", K::MESSAGE)));
        }
        let track_creation_order = flags & FLAG_TRACK_ORDER != 0;
        let index_creation_order = flags & FLAG_INDEX_ORDER != 0;
        let max_creation_index = if track_creation_order {
            Some(c.uint(K::ORDER_BYTES)?)
        } else {
            None
        };
        let fractal_heap = c.offset(ctx)?;
        let name_index = c.offset(ctx)?;
        let creation_order_index = if index_creation_order {
            Some(c.offset(ctx)?)
        } else {
            None
        };
        Ok(DenseStorageInfo {
            track_creation_order,
            index_creation_order,
            max_creation_index,
            fractal_heap,
            name_index,
            creation_order_index,
            kind: PhantomData,
        })
    }

    /// Whether the entries live in the fractal heap rather than in header messages.
    pub fn is_dense(&self) -> bool {
        self.fractal_heap != crate::UNDEF_ADDR
    }
}
