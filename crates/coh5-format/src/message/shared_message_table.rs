//! Shared Message Table message (File Format Specification IV.A.2.p, type 0x000F), found in
//! the superblock extension: where the shared object header message indexes live.

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMessageTableMessage {
    pub version: u8,
    /// Address of the "SMTB" master table.
    pub table_address: u64,
    pub num_indexes: u8,
}

impl SharedMessageTableMessage {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("shared message table version {version}")));
        }
        Ok(SharedMessageTableMessage {
            version,
            table_address: c.offset(ctx)?,
            num_indexes: c.u8()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let ctx = Context::default();
        let mut b = vec![0];
        b.extend_from_slice(&0x120u64.to_le_bytes());
        b.push(3);
        let t = SharedMessageTableMessage::parse(&mut Cursor::new(&b, 0, "smt"), &ctx).unwrap();
        assert_eq!((t.table_address, t.num_indexes), (0x120, 3));
        assert!(
            SharedMessageTableMessage::parse(&mut Cursor::new(&b[..9], 0, "smt"), &ctx).is_err()
        );
        b[0] = 1;
        assert!(SharedMessageTableMessage::parse(&mut Cursor::new(&b, 0, "smt"), &ctx).is_err());
    }
}
