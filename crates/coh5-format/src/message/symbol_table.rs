//! Symbol Table message (File Format Specification IV.A.2.r, type 0x0011): an old-style
//! group's v1 B-tree and local heap.

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolTable {
    pub btree: u64,
    pub local_heap: u64,
}

impl SymbolTable {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        Ok(SymbolTable {
            btree: c.offset(ctx)?,
            local_heap: c.offset(ctx)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let ctx = Context::default();
        let mut b = 0x88u64.to_le_bytes().to_vec();
        b.extend_from_slice(&0x2a8u64.to_le_bytes());
        let s = SymbolTable::parse(&mut Cursor::new(&b, 0, "stab"), &ctx).unwrap();
        assert_eq!(
            s,
            SymbolTable {
                btree: 0x88,
                local_heap: 0x2a8
            }
        );
        assert!(SymbolTable::parse(&mut Cursor::new(&b[..15], 0, "stab"), &ctx).is_err());
    }
}
