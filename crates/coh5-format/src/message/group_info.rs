//! Group Info message (File Format Specification IV.A.2.k, type 0x000A): the constant
//! parameters of a new-style group (compact/dense phase change, size estimates).

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_PHASE_CHANGE: u8 = 0x1;
const FLAG_ESTIMATES: u8 = 0x2;

/// Absent fields mean the library defaults (8 compact / 6 dense, 4 entries of 8 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub max_compact: Option<u16>,
    pub min_dense: Option<u16>,
    pub est_entries: Option<u16>,
    pub est_name_len: Option<u16>,
}

impl GroupInfo {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("group info message version {version}")));
        }
        let flags = c.u8()?;
        if flags & !(FLAG_PHASE_CHANGE | FLAG_ESTIMATES) != 0 {
            return Err(c.corrupt(format!("group info flags {flags:#x}")));
        }
        let (max_compact, min_dense) = if flags & FLAG_PHASE_CHANGE != 0 {
            (Some(c.u16()?), Some(c.u16()?))
        } else {
            (None, None)
        };
        let (est_entries, est_name_len) = if flags & FLAG_ESTIMATES != 0 {
            (Some(c.u16()?), Some(c.u16()?))
        } else {
            (None, None)
        };
        Ok(GroupInfo {
            max_compact,
            min_dense,
            est_entries,
            est_name_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_follow_flags() {
        let ctx = Context::default();
        let g = GroupInfo::parse(&mut Cursor::new(&[0, 0], 0, "group info"), &ctx).unwrap();
        assert_eq!(g.max_compact, None);
        let b = [0, 3, 8, 0, 6, 0, 4, 0, 16, 0];
        let g = GroupInfo::parse(&mut Cursor::new(&b, 0, "group info"), &ctx).unwrap();
        assert_eq!(
            g,
            GroupInfo {
                max_compact: Some(8),
                min_dense: Some(6),
                est_entries: Some(4),
                est_name_len: Some(16)
            }
        );
        for n in 0..b.len() {
            assert!(GroupInfo::parse(&mut Cursor::new(&b[..n], 0, "group info"), &ctx).is_err());
        }
        assert!(GroupInfo::parse(&mut Cursor::new(&[0, 4], 0, "group info"), &ctx).is_err());
    }
}
