//! External Data Files message (File Format Specification IV.A.2.h, type 0x0007): the
//! files, offsets and sizes that hold a contiguous dataset's raw data outside the HDF5 file.

use crate::error::{Error, Result};
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalFile {
    /// Offset of the file name in the local heap at [`ExternalFiles::heap_address`].
    pub name_offset: u64,
    /// Byte offset of this piece of the data within the external file.
    pub file_offset: u64,
    /// Bytes of data in this piece; [`UNLIMITED_SIZE`] for "to the end of the file".
    pub size: u64,
}

/// Size of the last slot of an extendible dataset ("unlimited").
pub const UNLIMITED_SIZE: u64 = u64::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalFiles {
    pub heap_address: u64,
    /// The used slots, in the order the dataset's bytes are laid out.
    pub entries: Vec<ExternalFile>,
}

impl ExternalFiles {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 1 {
            return Err(c.unsupported(format!("external files message version {version}")));
        }
        c.skip(3)?;
        let allocated = c.u16()?;
        let used = c.u16()?;
        if used > allocated {
            return Err(c.corrupt(format!("{used} external file slots used of {allocated}")));
        }
        let heap_address = c.offset(ctx)?;
        let slot_len = 3 * usize::from(ctx.sizeof_lengths);
        if usize::from(used).saturating_mul(slot_len) > c.remaining() {
            return Err(Error::Truncated {
                structure: c.structure(),
                offset: c.addr(),
                need: u64::from(used) * slot_len as u64,
                have: c.remaining() as u64,
            });
        }
        let all_ones = match ctx.sizeof_lengths {
            8.. => u64::MAX,
            n => (1u64 << (8 * u32::from(n))) - 1,
        };
        let mut entries = Vec::with_capacity(usize::from(used));
        for _ in 0..used {
            let name_offset = c.length(ctx)?;
            let file_offset = c.length(ctx)?;
            let size = c.length(ctx)?;
            entries.push(ExternalFile {
                name_offset,
                file_offset,
                size: if size == all_ones {
                    UNLIMITED_SIZE
                } else {
                    size
                },
            });
        }
        Ok(ExternalFiles {
            heap_address,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slots() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 4,
            base_address: 0,
        };
        let mut b = vec![1, 0, 0, 0, 2, 0, 2, 0, 0x40, 0, 0, 0];
        for v in [8u32, 0, 100, 16, 10, u32::MAX] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let e = ExternalFiles::parse(&mut Cursor::new(&b, 0, "efl"), &ctx).unwrap();
        assert_eq!(e.heap_address, 0x40);
        assert_eq!(e.entries.len(), 2);
        assert_eq!(e.entries[1].size, UNLIMITED_SIZE);
        assert_eq!(e.entries[1].file_offset, 10);
        for n in 0..b.len() {
            assert!(ExternalFiles::parse(&mut Cursor::new(&b[..n], 0, "efl"), &ctx).is_err());
        }
        // More used than allocated slots, or a huge count with no bytes behind it.
        let bad = [1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0];
        assert!(ExternalFiles::parse(&mut Cursor::new(&bad, 0, "efl"), &ctx).is_err());
        let bad = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(ExternalFiles::parse(&mut Cursor::new(&bad, 0, "efl"), &ctx).is_err());
    }
}
