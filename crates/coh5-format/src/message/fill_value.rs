//! Fill Value messages (File Format Specification IV.A.2.e, old type 0x0004, and IV.A.2.f,
//! type 0x0005, versions 1–3), decoded into one [`FillValue`].
//!
//! Three states are told apart the way the HDF5 library does:
//! - *undefined*: `defined == false`, `value == None` (no fill value; reads of unwritten
//!   elements give whatever the storage holds, which readers treat as zeros);
//! - *default*: `defined == true`, `value == None` (the library default, all zero bytes);
//! - *user-defined*: `defined == true`, `value == Some(bytes)` (one element's raw bytes, in
//!   the dataset's datatype).

use bytes::Bytes;

use crate::error::Result;
use crate::read::{Context, Cursor};

/// Space allocation times (H5D_alloc_time_t).
pub const ALLOC_TIME_EARLY: u8 = 1;
pub const ALLOC_TIME_LATE: u8 = 2;
pub const ALLOC_TIME_INCREMENTAL: u8 = 3;
/// Fill value write times (H5D_fill_time_t).
pub const WRITE_TIME_ON_ALLOC: u8 = 0;
pub const WRITE_TIME_NEVER: u8 = 1;
pub const WRITE_TIME_IF_SET: u8 = 2;

const V3_UNDEFINED: u8 = 0x10;
const V3_HAVE_VALUE: u8 = 0x20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillValue {
    /// Message version; 0 for the old (type 0x0004) message.
    pub version: u8,
    pub space_alloc_time: u8,
    pub write_time: u8,
    pub defined: bool,
    pub value: Option<Bytes>,
}

impl FillValue {
    /// The old message: a size and that many bytes. Like the HDF5 library, a zero size
    /// means "undefined", and the times are the library defaults (late, if set).
    pub fn parse_old(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let size = c.u32()?;
        let value = (size > 0)
            .then(|| c.bytes_u64(u64::from(size)).map(Bytes::copy_from_slice))
            .transpose()?;
        Ok(FillValue {
            version: 0,
            space_alloc_time: ALLOC_TIME_LATE,
            write_time: WRITE_TIME_IF_SET,
            defined: value.is_some(),
            value,
        })
    }

    /// The new message, versions 1, 2 and 3.
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        match version {
            1 | 2 => {
                let space_alloc_time = c.u8()?;
                let write_time = c.u8()?;
                let defined = c.u8()? != 0;
                // As in the library, size and value are read only when defined (version 1
                // writers always defined one).
                let value = if defined { sized_value(c)? } else { None };
                Ok(FillValue {
                    version,
                    space_alloc_time,
                    write_time,
                    defined,
                    value,
                })
            }
            3 => {
                let flags = c.u8()?;
                if flags & 0xc0 != 0 || flags & (V3_UNDEFINED | V3_HAVE_VALUE) == 0x30 {
                    return Err(c.corrupt(format!("fill value flags {flags:#x}")));
                }
                let value = if flags & V3_HAVE_VALUE != 0 {
                    sized_value(c)?
                } else {
                    None
                };
                Ok(FillValue {
                    version,
                    space_alloc_time: flags & 0x3,
                    write_time: (flags >> 2) & 0x3,
                    defined: flags & V3_UNDEFINED == 0,
                    value,
                })
            }
            v => Err(c.unsupported(format!("fill value message version {v}"))),
        }
    }
}

/// A 4-byte size and that many bytes; a zero size is the default (no bytes).
fn sized_value(c: &mut Cursor) -> Result<Option<Bytes>> {
    let size = c.u32()?;
    if size == 0 {
        return Ok(None);
    }
    Ok(Some(Bytes::copy_from_slice(c.bytes_u64(u64::from(size))?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(b: &[u8]) -> Result<FillValue> {
        FillValue::parse(&mut Cursor::new(b, 0, "fill value"), &Context::default())
    }

    #[test]
    fn old_message() {
        let ctx = Context::default();
        let b = [4, 0, 0, 0, 1, 2, 3, 4];
        let f = FillValue::parse_old(&mut Cursor::new(&b, 0, "fill"), &ctx).unwrap();
        assert!(f.defined);
        assert_eq!(f.value.as_deref(), Some(&[1u8, 2, 3, 4][..]));
        let f = FillValue::parse_old(&mut Cursor::new(&[0; 4], 0, "fill"), &ctx).unwrap();
        assert!(!f.defined && f.value.is_none());
        assert!(FillValue::parse_old(&mut Cursor::new(&b[..7], 0, "fill"), &ctx).is_err());
    }

    #[test]
    fn versions_1_and_2() {
        let f = new(&[2, 2, 2, 0]).unwrap();
        assert!(!f.defined && f.value.is_none());
        let f = new(&[2, 1, 0, 1, 0, 0, 0, 0]).unwrap();
        assert!(f.defined && f.value.is_none());
        assert_eq!(
            (f.space_alloc_time, f.write_time),
            (ALLOC_TIME_EARLY, WRITE_TIME_ON_ALLOC)
        );
        let f = new(&[1, 3, 2, 1, 2, 0, 0, 0, 7, 8]).unwrap();
        assert_eq!(f.value.as_deref(), Some(&[7u8, 8][..]));
    }

    #[test]
    fn version_3_flags() {
        // Late allocation, write if set, undefined.
        let f = new(&[3, 0b01_10_10]).unwrap();
        assert!(!f.defined && f.value.is_none());
        assert_eq!((f.space_alloc_time, f.write_time), (2, 2));
        // Default (no value, not undefined).
        let f = new(&[3, 0b00_10_11]).unwrap();
        assert!(f.defined && f.value.is_none());
        assert_eq!(f.space_alloc_time, ALLOC_TIME_INCREMENTAL);
        let b = [3, 0b10_00_10, 4, 0, 0, 0, 0, 0, 0x80, 0x3f];
        let f = new(&b).unwrap();
        assert_eq!(f.value.as_deref(), Some(&1.0f32.to_le_bytes()[..]));
        for n in 0..b.len() {
            assert!(new(&b[..n]).is_err());
        }
        assert!(new(&[3, 0x30]).is_err());
        assert!(new(&[3, 0x40]).is_err());
        assert!(new(&[4, 0]).is_err());
    }
}
