//! Object Header Continuation message (File Format Specification IV.A.2.q, type 0x0010):
//! the address and length of the next chunk of an object header.

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continuation {
    pub address: u64,
    pub length: u64,
}

impl Continuation {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        Ok(Continuation {
            address: c.offset(ctx)?,
            length: c.length(ctx)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 2,
            base_address: 0,
        };
        let b = [0x00, 0x10, 0, 0, 0x40, 0];
        let k = Continuation::parse(&mut Cursor::new(&b, 0, "cont"), &ctx).unwrap();
        assert_eq!(
            k,
            Continuation {
                address: 0x1000,
                length: 0x40
            }
        );
        assert!(Continuation::parse(&mut Cursor::new(&b[..5], 0, "cont"), &ctx).is_err());
    }
}
