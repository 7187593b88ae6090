//! B-tree 'K' Values message (File Format Specification IV.A.2.t, type 0x0013), found in the
//! superblock extension of files whose v1 B-trees use non-default node widths.

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BTreeK {
    pub indexed_storage_internal_k: u16,
    pub group_internal_k: u16,
    pub group_leaf_k: u16,
}

impl BTreeK {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("B-tree 'K' values message version {version}")));
        }
        Ok(BTreeK {
            indexed_storage_internal_k: c.u16()?,
            group_internal_k: c.u16()?,
            group_leaf_k: c.u16()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let ctx = Context::default();
        let b = [0, 32, 0, 16, 0, 4, 0];
        let k = BTreeK::parse(&mut Cursor::new(&b, 0, "btreek"), &ctx).unwrap();
        assert_eq!(
            k,
            BTreeK {
                indexed_storage_internal_k: 32,
                group_internal_k: 16,
                group_leaf_k: 4
            }
        );
        assert!(BTreeK::parse(&mut Cursor::new(&b[..6], 0, "btreek"), &ctx).is_err());
        assert!(
            BTreeK::parse(&mut Cursor::new(&[1, 0, 0, 0, 0, 0, 0], 0, "btreek"), &ctx).is_err()
        );
    }
}
