//! Filter Pipeline message (File Format Specification IV.A.2.l, type 0x000B), versions 1
//! and 2: the filters applied, in order, to every chunk when it is written.

use crate::error::Result;
use crate::read::{Context, Cursor};

/// Filter flag bit 0: the filter may fail and be skipped for a chunk (see the chunk's mask).
pub const FLAG_OPTIONAL: u16 = 0x1;
/// The library's limit on filters in one pipeline (H5Z_MAX_NFILTERS).
const MAX_FILTERS: u8 = 32;

/// Well-known filter identifiers.
pub const FILTER_DEFLATE: u16 = 1;
pub const FILTER_SHUFFLE: u16 = 2;
pub const FILTER_FLETCHER32: u16 = 3;
pub const FILTER_SZIP: u16 = 4;
pub const FILTER_NBIT: u16 = 5;
pub const FILTER_SCALEOFFSET: u16 = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub id: u16,
    /// The stored name without its NUL padding (absent for library filters in version 2).
    pub name: Option<Vec<u8>>,
    pub flags: u16,
    pub client_data: Vec<u32>,
}

impl Filter {
    pub fn is_optional(&self) -> bool {
        self.flags & FLAG_OPTIONAL != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPipeline {
    pub filters: Vec<Filter>,
}

impl FilterPipeline {
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        let count = c.u8()?;
        if count > MAX_FILTERS {
            return Err(c.corrupt(format!("{count} filters in a pipeline")));
        }
        match version {
            1 => c.skip(6)?,
            2 => {}
            v => return Err(c.unsupported(format!("filter pipeline message version {v}"))),
        }
        let mut filters = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let id = c.u16()?;
            let name_len = if version == 1 || id >= 256 {
                c.u16()?
            } else {
                0
            };
            let flags = c.u16()?;
            let n_values = usize::from(c.u16()?);
            let name = if name_len > 0 {
                // Version 1 pads the name (with its NUL) to a multiple of eight bytes.
                let padded = if version == 1 {
                    usize::from(name_len).next_multiple_of(8)
                } else {
                    usize::from(name_len)
                };
                let raw = c.bytes(padded)?;
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                Some(raw[..end].to_vec())
            } else {
                None
            };
            if n_values.saturating_mul(4) > c.remaining() {
                return Err(c.corrupt(format!("{n_values} client data values past the message")));
            }
            let client_data = (0..n_values).map(|_| c.u32()).collect::<Result<Vec<_>>>()?;
            if version == 1 && n_values % 2 == 1 {
                c.skip(4)?;
            }
            filters.push(Filter {
                id,
                name,
                flags,
                client_data,
            });
        }
        Ok(FilterPipeline { filters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<FilterPipeline> {
        FilterPipeline::parse(&mut Cursor::new(b, 0, "filters"), &Context::default())
    }

    #[test]
    fn version1_padding() {
        let mut b = vec![1, 2, 0, 0, 0, 0, 0, 0];
        // deflate, name "deflate\0" (8), 1 value + pad
        b.extend_from_slice(&[1, 0, 8, 0, 0, 0, 1, 0]);
        b.extend_from_slice(b"deflate\0");
        b.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]);
        // shuffle, name "shuffle\0"+ "ab\0" -> 3 bytes padded to 8, 2 values
        b.extend_from_slice(&[2, 0, 3, 0, 1, 0, 2, 0]);
        b.extend_from_slice(b"ab\0\0\0\0\0\0");
        b.extend_from_slice(&[4, 0, 0, 0, 5, 0, 0, 0]);
        let p = parse(&b).unwrap();
        assert_eq!(p.filters.len(), 2);
        assert_eq!(p.filters[0].id, FILTER_DEFLATE);
        assert_eq!(p.filters[0].name.as_deref(), Some(&b"deflate"[..]));
        assert_eq!(p.filters[0].client_data, vec![6]);
        assert_eq!(p.filters[1].name.as_deref(), Some(&b"ab"[..]));
        assert_eq!(p.filters[1].client_data, vec![4, 5]);
        assert!(p.filters[1].is_optional());
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err());
        }
    }

    #[test]
    fn version2_names_only_for_custom_filters() {
        let mut b = vec![2, 2];
        b.extend_from_slice(&[1, 0, 0, 0, 1, 0, 9, 0, 0, 0]);
        b.extend_from_slice(&[0x00, 0x7d, 4, 0, 1, 0, 0, 0]);
        b.extend_from_slice(b"lzf\0");
        let p = parse(&b).unwrap();
        assert_eq!(p.filters[0].name, None);
        assert_eq!(p.filters[0].client_data, vec![9]);
        assert_eq!(p.filters[1].id, 32000);
        assert_eq!(p.filters[1].name.as_deref(), Some(&b"lzf"[..]));
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err());
        }
        assert!(parse(&[3, 0]).is_err());
        assert!(parse(&[2, 200]).is_err());
        assert!(parse(&[2, 1, 1, 0, 0, 0, 0xff, 0xff]).is_err());
    }
}
