//! Attribute Info message (File Format Specification IV.A.2.v, type 0x0015): where an object
//! keeps its dense attributes (fractal heap and v2 B-tree indexes).

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_TRACK_ORDER: u8 = 0x1;
const FLAG_INDEX_ORDER: u8 = 0x2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeInfo {
    pub track_creation_order: bool,
    pub index_creation_order: bool,
    /// Highest creation order given to an attribute (stored as 16 bits; widened to match
    /// [`LinkInfo`](super::link_info::LinkInfo)).
    pub max_creation_index: Option<u64>,
    /// Fractal heap holding dense attributes; [`UNDEF_ADDR`](crate::UNDEF_ADDR) when compact.
    pub fractal_heap: u64,
    /// v2 B-tree indexing attribute names.
    pub name_index: u64,
    /// v2 B-tree indexing creation order, when that index exists.
    pub creation_order_index: Option<u64>,
}

impl AttributeInfo {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("attribute info message version {version}")));
        }
        let flags = c.u8()?;
        if flags & !(FLAG_TRACK_ORDER | FLAG_INDEX_ORDER) != 0 {
            return Err(c.corrupt(format!("attribute info flags {flags:#x}")));
        }
        let track_creation_order = flags & FLAG_TRACK_ORDER != 0;
        let index_creation_order = flags & FLAG_INDEX_ORDER != 0;
        let max_creation_index = if track_creation_order {
            Some(u64::from(c.u16()?))
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
        Ok(AttributeInfo {
            track_creation_order,
            index_creation_order,
            max_creation_index,
            fractal_heap,
            name_index,
            creation_order_index,
        })
    }

    /// Whether the attributes live in the fractal heap rather than in Attribute messages.
    pub fn is_dense(&self) -> bool {
        self.fractal_heap != crate::UNDEF_ADDR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tracked_order() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 4,
            base_address: 0,
        };
        let b = [0, 1, 9, 0, 1, 0, 0, 0, 2, 0, 0, 0];
        let ai = AttributeInfo::parse(&mut Cursor::new(&b, 0, "attribute info"), &ctx).unwrap();
        assert_eq!(ai.max_creation_index, Some(9));
        assert_eq!((ai.fractal_heap, ai.name_index), (1, 2));
        assert!(ai.is_dense() && ai.creation_order_index.is_none());
        for n in 0..b.len() {
            let r = AttributeInfo::parse(&mut Cursor::new(&b[..n], 0, "attribute info"), &ctx);
            assert!(r.is_err());
        }
        let bad = [0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(AttributeInfo::parse(&mut Cursor::new(&bad, 0, "attribute info"), &ctx).is_err());
    }
}
