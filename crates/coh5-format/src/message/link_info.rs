//! Link Info message (File Format Specification IV.A.2.c, type 0x0002): where a new-style
//! group keeps its dense links (fractal heap and v2 B-tree indexes).

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_TRACK_ORDER: u8 = 0x1;
const FLAG_INDEX_ORDER: u8 = 0x2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub track_creation_order: bool,
    pub index_creation_order: bool,
    /// Highest creation order value given to a link so far, when creation order is tracked.
    pub max_creation_index: Option<u64>,
    /// Fractal heap holding dense links; [`UNDEF_ADDR`](crate::UNDEF_ADDR) when links are compact.
    pub fractal_heap: u64,
    /// v2 B-tree indexing link names.
    pub name_index: u64,
    /// v2 B-tree indexing creation order, when that index exists.
    pub creation_order_index: Option<u64>,
}

impl LinkInfo {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("link info message version {version}")));
        }
        let flags = c.u8()?;
        if flags & !(FLAG_TRACK_ORDER | FLAG_INDEX_ORDER) != 0 {
            return Err(c.corrupt(format!("link info flags {flags:#x}")));
        }
        let track_creation_order = flags & FLAG_TRACK_ORDER != 0;
        let index_creation_order = flags & FLAG_INDEX_ORDER != 0;
        let max_creation_index = if track_creation_order {
            Some(c.u64()?)
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
        Ok(LinkInfo {
            track_creation_order,
            index_creation_order,
            max_creation_index,
            fractal_heap,
            name_index,
            creation_order_index,
        })
    }

    /// Whether the links live in the fractal heap rather than in Link messages.
    pub fn is_dense(&self) -> bool {
        self.fractal_heap != crate::UNDEF_ADDR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UNDEF_ADDR;

    #[test]
    fn parses_compact_and_indexed() {
        let ctx = Context::default();
        let mut b = vec![0, 0];
        b.extend_from_slice(&[0xff; 16]);
        let li = LinkInfo::parse(&mut Cursor::new(&b, 0, "link info"), &ctx).unwrap();
        assert_eq!(li.fractal_heap, UNDEF_ADDR);
        assert!(!li.is_dense() && li.max_creation_index.is_none());

        let mut b = vec![0, 3];
        b.extend_from_slice(&5u64.to_le_bytes());
        b.extend_from_slice(&100u64.to_le_bytes());
        b.extend_from_slice(&200u64.to_le_bytes());
        b.extend_from_slice(&300u64.to_le_bytes());
        let li = LinkInfo::parse(&mut Cursor::new(&b, 0, "link info"), &ctx).unwrap();
        assert_eq!(
            li,
            LinkInfo {
                track_creation_order: true,
                index_creation_order: true,
                max_creation_index: Some(5),
                fractal_heap: 100,
                name_index: 200,
                creation_order_index: Some(300),
            }
        );
        for n in 0..b.len() {
            assert!(LinkInfo::parse(&mut Cursor::new(&b[..n], 0, "link info"), &ctx).is_err());
        }
        assert!(LinkInfo::parse(&mut Cursor::new(&[1, 0], 0, "link info"), &ctx).is_err());
    }
}
