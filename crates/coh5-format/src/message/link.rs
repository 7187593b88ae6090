//! Link message (File Format Specification IV.A.2.g, type 0x0006): one link of a compact
//! new-style group, also the record stored in a dense group's fractal heap.

use bytes::Bytes;

use crate::error::Result;
use crate::read::{Context, Cursor};

const FLAG_NAME_SIZE: u8 = 0x03;
const FLAG_CREATION_ORDER: u8 = 0x04;
const FLAG_LINK_TYPE: u8 = 0x08;
const FLAG_CHARSET: u8 = 0x10;

const TYPE_HARD: u8 = 0;
const TYPE_SOFT: u8 = 1;
/// Link class of external links; other classes from 64 up are user-defined.
pub const TYPE_EXTERNAL: u8 = 64;

/// Character sets of names.
pub const CHARSET_ASCII: u8 = 0;
pub const CHARSET_UTF8: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// Relative address of the target's object header.
    Hard(u64),
    /// A path (absolute or relative to the group), not NUL-terminated.
    Soft(Vec<u8>),
    /// An object in another file.
    External { file: Vec<u8>, path: Vec<u8> },
    /// A user-defined link class the library knows nothing about; its raw data.
    UserDefined { class: u8, data: Bytes },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: Vec<u8>,
    pub creation_order: Option<u64>,
    pub charset: u8,
    pub target: LinkTarget,
}

impl Link {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 1 {
            return Err(c.unsupported(format!("link message version {version}")));
        }
        let flags = c.u8()?;
        if flags & 0xe0 != 0 {
            return Err(c.corrupt(format!("link message flags {flags:#x}")));
        }
        let class = if flags & FLAG_LINK_TYPE != 0 {
            c.u8()?
        } else {
            TYPE_HARD
        };
        let creation_order = if flags & FLAG_CREATION_ORDER != 0 {
            Some(c.u64()?)
        } else {
            None
        };
        let charset = if flags & FLAG_CHARSET != 0 {
            c.u8()?
        } else {
            CHARSET_ASCII
        };
        let name_len = c.uint(1 << (flags & FLAG_NAME_SIZE))?;
        if name_len == 0 {
            return Err(c.corrupt("link with an empty name"));
        }
        let name = c.bytes_u64(name_len)?.to_vec();
        let target = match class {
            TYPE_HARD => LinkTarget::Hard(c.offset(ctx)?),
            TYPE_SOFT => {
                let len = c.u16()?;
                LinkTarget::Soft(c.bytes(usize::from(len))?.to_vec())
            }
            TYPE_EXTERNAL => {
                let len = c.u16()?;
                let mut data = c.sub(usize::from(len))?;
                let version_flags = data.u8()?;
                if version_flags >> 4 != 0 {
                    return Err(
                        data.unsupported(format!("external link version {}", version_flags >> 4))
                    );
                }
                let file = data.cstr()?.to_vec();
                let path = data.cstr()?.to_vec();
                LinkTarget::External { file, path }
            }
            65.. => {
                let len = c.u16()?;
                let data = Bytes::copy_from_slice(c.bytes(usize::from(len))?);
                LinkTarget::UserDefined { class, data }
            }
            _ => return Err(c.corrupt(format!("link type {class}"))),
        };
        Ok(Link {
            name,
            creation_order,
            charset,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<Link> {
        Link::parse(&mut Cursor::new(b, 0, "link"), &Context::default())
    }

    #[test]
    fn hard_link_minimal() {
        let mut b = vec![1, 0, 3, b'a', b'b', b'c'];
        b.extend_from_slice(&0x320u64.to_le_bytes());
        let l = parse(&b).unwrap();
        assert_eq!(l.name, b"abc");
        assert_eq!(l.target, LinkTarget::Hard(0x320));
        assert_eq!((l.creation_order, l.charset), (None, CHARSET_ASCII));
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err());
        }
    }

    #[test]
    fn soft_link_with_everything() {
        let mut b = vec![1, 0x1d, TYPE_SOFT];
        b.extend_from_slice(&7u64.to_le_bytes());
        b.push(CHARSET_UTF8);
        b.extend_from_slice(&[1, 0, b'x', 4, 0]);
        b.extend_from_slice(b"/a/b");
        let l = parse(&b).unwrap();
        assert_eq!(l.creation_order, Some(7));
        assert_eq!(l.charset, CHARSET_UTF8);
        assert_eq!(l.name, b"x");
        assert_eq!(l.target, LinkTarget::Soft(b"/a/b".to_vec()));
    }

    #[test]
    fn external_and_user_defined() {
        let mut b = vec![1, 0x08, TYPE_EXTERNAL, 1, b'e', 12, 0, 0];
        b.extend_from_slice(b"f.h5\0/dset\0");
        let l = parse(&b).unwrap();
        assert_eq!(
            l.target,
            LinkTarget::External {
                file: b"f.h5".to_vec(),
                path: b"/dset".to_vec()
            }
        );
        // Missing NUL inside the external data is an error, not an overrun.
        let mut bad = vec![1, 0x08, TYPE_EXTERNAL, 1, b'e', 3, 0, 0, b'f', b'g', 0];
        assert!(parse(&bad).is_err());
        bad[9] = 0;
        assert!(parse(&bad).is_err());

        let b = [1, 0x08, 200, 1, b'u', 2, 0, 9, 9];
        let l = parse(&b).unwrap();
        assert_eq!(
            l.target,
            LinkTarget::UserDefined {
                class: 200,
                data: Bytes::from_static(&[9, 9])
            }
        );
        assert!(parse(&[1, 0x08, 5, 1, b'u', 0, 0]).is_err());
        assert!(parse(&[1, 0, 0]).is_err());
        assert!(parse(&[2, 0, 1, b'a']).is_err());
    }
}
