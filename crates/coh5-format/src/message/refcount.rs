//! Object Reference Count message (File Format Specification IV.A.2.w, type 0x0016): the
//! hard link count of an object with a version 2 header (version 1 headers store it inline).

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefCount {
    pub count: u32,
}

impl RefCount {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("reference count message version {version}")));
        }
        Ok(RefCount { count: c.u32()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let ctx = Context::default();
        let r = RefCount::parse(&mut Cursor::new(&[0, 3, 0, 0, 0], 0, "refcount"), &ctx);
        assert_eq!(r.unwrap().count, 3);
        assert!(RefCount::parse(&mut Cursor::new(&[0, 3, 0, 0], 0, "refcount"), &ctx).is_err());
        assert!(RefCount::parse(&mut Cursor::new(&[1, 3, 0, 0, 0], 0, "refcount"), &ctx).is_err());
    }
}
