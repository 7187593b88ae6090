//! Attribute message (File Format Specification IV.A.2.m, type 0x000C), versions 1–3: an
//! attribute's name, its embedded datatype and dataspace messages, and its raw value.
//!
//! The datatype and dataspace are kept as raw message bodies (decoded by their own modules;
//! when the matching `*_shared` flag is set the body is a [`SharedRef`](super::SharedRef)).

use bytes::Bytes;

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_DATATYPE_SHARED: u8 = 0x1;
const FLAG_DATASPACE_SHARED: u8 = 0x2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMessage {
    pub version: u8,
    /// The name without its NUL terminator.
    pub name: Vec<u8>,
    /// Character set of the name (version 3; ASCII before).
    pub charset: u8,
    pub datatype_shared: bool,
    pub dataspace_shared: bool,
    /// Raw datatype message (or shared message reference if `datatype_shared`).
    pub datatype: Bytes,
    /// Relative file address of `datatype[0]`, for error messages.
    pub datatype_address: u64,
    /// Raw dataspace message (or shared message reference if `dataspace_shared`).
    pub dataspace: Bytes,
    pub dataspace_address: u64,
    /// The rest of the message: the value, possibly followed by header padding. Its real
    /// length is the number of elements times the datatype size.
    pub data: Bytes,
    pub data_address: u64,
}

impl AttributeMessage {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if !(1..=3).contains(&version) {
            return Err(c.unsupported(format!("attribute message version {version}")));
        }
        let flags = c.u8()?;
        let flags = if version == 1 { 0 } else { flags };
        if flags & !(FLAG_DATATYPE_SHARED | FLAG_DATASPACE_SHARED) != 0 {
            return Err(c.corrupt(format!("attribute message flags {flags:#x}")));
        }
        let name_size = usize::from(c.u16()?);
        let datatype_size = usize::from(c.u16()?);
        let dataspace_size = usize::from(c.u16()?);
        let charset = if version >= 3 { c.u8()? } else { 0 };
        // Version 1 pads each part to a multiple of eight bytes.
        let padded = |n: usize| {
            if version == 1 {
                n.next_multiple_of(8)
            } else {
                n
            }
        };

        if name_size == 0 {
            return Err(c.corrupt("attribute without a name"));
        }
        let raw_name = c.bytes(padded(name_size))?;
        let raw_name = &raw_name[..name_size];
        let end = raw_name.iter().position(|&b| b == 0).unwrap_or(name_size);
        let name = raw_name[..end].to_vec();

        let datatype_address = c.addr();
        let datatype = Bytes::copy_from_slice(&c.bytes(padded(datatype_size))?[..datatype_size]);
        let dataspace_address = c.addr();
        let dataspace = Bytes::copy_from_slice(&c.bytes(padded(dataspace_size))?[..dataspace_size]);
        let data_address = c.addr();
        let data = Bytes::copy_from_slice(c.rest());
        Ok(AttributeMessage {
            version,
            name,
            charset,
            datatype_shared: flags & FLAG_DATATYPE_SHARED != 0,
            dataspace_shared: flags & FLAG_DATASPACE_SHARED != 0,
            datatype,
            datatype_address,
            dataspace,
            dataspace_address,
            data,
            data_address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<AttributeMessage> {
        AttributeMessage::parse(&mut Cursor::new(b, 0x100, "attribute"), &Context::default())
    }

    #[test]
    fn version1_padded_parts() {
        let mut b = vec![1, 0, 5, 0, 3, 0, 2, 0];
        b.extend_from_slice(b"attr\0\0\0\0");
        b.extend_from_slice(&[1, 2, 3, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[4, 5, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[42, 0, 0, 0]);
        let a = parse(&b).unwrap();
        assert_eq!(a.name, b"attr");
        assert_eq!(&a.datatype[..], &[1, 2, 3]);
        assert_eq!(a.datatype_address, 0x110);
        assert_eq!(&a.dataspace[..], &[4, 5]);
        assert_eq!(a.dataspace_address, 0x118);
        assert_eq!(&a.data[..], &[42, 0, 0, 0]);
        assert_eq!(a.data_address, 0x120);
        assert!(!a.datatype_shared);
        for n in 0..32 {
            assert!(parse(&b[..n]).is_err());
        }
    }

    #[test]
    fn version3_unpadded_with_charset_and_shared_type() {
        let mut b = vec![3, 1, 2, 0, 1, 0, 1, 0, 1];
        b.extend_from_slice(b"x\0");
        b.extend_from_slice(&[9, 8, 7]);
        let a = parse(&b).unwrap();
        assert_eq!(a.version, 3);
        assert_eq!(a.charset, 1);
        assert!(a.datatype_shared && !a.dataspace_shared);
        assert_eq!(
            (&a.name[..], &a.datatype[..], &a.dataspace[..]),
            (&b"x"[..], &[9u8][..], &[8u8][..])
        );
        assert_eq!(&a.data[..], &[7]);
        assert!(parse(&[2, 4, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse(&[4, 0, 1, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
