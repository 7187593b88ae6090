//! Driver Info message (File Format Specification IV.A.2.u, type 0x0014), found in the
//! superblock extension: the file driver's identity and its opaque settings.

use bytes::Bytes;

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfoMessage {
    pub version: u8,
    /// Eight ASCII characters such as `NCSAmult` (multi/split) or `NCSAfami` (family).
    pub driver_id: [u8; 8],
    pub data: Bytes,
}

impl DriverInfoMessage {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("driver info message version {version}")));
        }
        let mut driver_id = [0u8; 8];
        driver_id.copy_from_slice(c.bytes(8)?);
        let size = c.u16()?;
        Ok(DriverInfoMessage {
            version,
            driver_id,
            data: Bytes::copy_from_slice(c.bytes(usize::from(size))?),
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
        b.extend_from_slice(b"NCSAfami");
        b.extend_from_slice(&[2, 0, 5, 6]);
        let d = DriverInfoMessage::parse(&mut Cursor::new(&b, 0, "drvinfo"), &ctx).unwrap();
        assert_eq!(&d.driver_id, b"NCSAfami");
        assert_eq!(&d.data[..], &[5, 6]);
        for n in 0..b.len() {
            assert!(
                DriverInfoMessage::parse(&mut Cursor::new(&b[..n], 0, "drvinfo"), &ctx).is_err()
            );
        }
    }
}
