//! Local Heap (File Format Specification III.D, signature "HEAP"): the names of an old-style
//! group's links, and the values of its soft links, addressed by byte offset.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::read::Reader;

const STRUCTURE: &str = "local heap";

/// A local heap with its whole data segment in memory (segments are small: one group's names).
#[derive(Debug, Clone)]
pub struct LocalHeap {
    /// Address of the "HEAP" header.
    pub address: u64,
    /// Address of the data segment (it may have been relocated away from the header).
    pub data_address: u64,
    /// The data segment, "Data Segment Size" bytes.
    pub data: Bytes,
}

impl LocalHeap {
    /// Bytes of the header of a heap in a file with these address and length sizes.
    pub fn header_len(ctx: &crate::read::Context) -> u64 {
        8 + 2 * u64::from(ctx.sizeof_lengths) + u64::from(ctx.sizeof_offsets)
    }

    /// (address, size) of the data segment, from the header at `address`: a reader that also
    /// needs other structures can ask for the names together with them.
    pub fn data_span(r: &Reader, address: u64) -> Result<(u64, u64)> {
        let (size, data_address) = Self::header(r, address)?;
        Ok((data_address, size))
    }

    /// Reads the header at `address` and then the data segment it points to.
    pub fn read(r: &Reader, address: u64) -> Result<LocalHeap> {
        let (size, data_address) = Self::header(r, address)?;
        let data = if size == 0 {
            Bytes::new()
        } else {
            r.read(data_address, size, "local heap data segment")?
        };
        Ok(LocalHeap {
            address,
            data_address,
            data,
        })
    }

    /// (data segment size, data segment address) from the header at `address`.
    fn header(r: &Reader, address: u64) -> Result<(u64, u64)> {
        let ctx = r.ctx;
        let head = r.cursor(address, Self::header_len(&ctx), STRUCTURE)?;
        let mut c = head.cursor();
        c.signature(b"HEAP")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::unsupported(
                STRUCTURE,
                address + 4,
                format!("version {version}"),
            ));
        }
        c.skip(3)?;
        let size = c.length(&ctx)?;
        let _free_list = c.length(&ctx)?;
        let data_address = c.offset(&ctx)?;
        Ok((size, data_address))
    }

    /// NUL-terminated string at `offset` in the data segment (without the NUL).
    pub fn string_at(&self, offset: u64) -> Result<&[u8]> {
        let at = self.data_address.saturating_add(offset);
        let start = usize::try_from(offset)
            .ok()
            .filter(|&o| o < self.data.len())
            .ok_or_else(|| {
                Error::corrupt(
                    STRUCTURE,
                    at,
                    format!(
                        "offset {offset} outside a {}-byte data segment",
                        self.data.len()
                    ),
                )
            })?;
        let rest = &self.data[start..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => Ok(&rest[..n]),
            None => Err(Error::corrupt(
                STRUCTURE,
                at,
                "string without terminating NUL",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Context;

    fn heap_bytes() -> Bytes {
        let mut v = Vec::new();
        v.extend_from_slice(b"HEAP");
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(&16u64.to_le_bytes()); // data size
        v.extend_from_slice(&u64::MAX.to_le_bytes()); // free list: none
        v.extend_from_slice(&32u64.to_le_bytes()); // data address
        v.extend_from_slice(b"\0\0\0\0\0\0\0\0abc\0de\0\0");
        Bytes::from(v)
    }

    #[test]
    fn reads_names() {
        let b = heap_bytes();
        let r = Reader::new(&b, Context::default());
        let h = LocalHeap::read(&r, 0).unwrap();
        assert_eq!(h.data_address, 32);
        assert_eq!(h.string_at(0).unwrap(), b"");
        assert_eq!(h.string_at(8).unwrap(), b"abc");
        assert_eq!(h.string_at(12).unwrap(), b"de");
        assert!(h.string_at(16).is_err());
        assert!(h.string_at(u64::MAX).is_err());
    }

    #[test]
    fn missing_nul_and_bad_input_are_errors() {
        let mut v = heap_bytes().to_vec();
        v[46] = b'x';
        v[47] = b'x';
        let b = Bytes::from(v.clone());
        let r = Reader::new(&b, Context::default());
        let h = LocalHeap::read(&r, 0).unwrap();
        assert!(h.string_at(12).is_err());

        v[0] = b'X';
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(matches!(
            LocalHeap::read(&r, 0),
            Err(Error::Signature { .. })
        ));

        let b = heap_bytes();
        for n in 0..b.len() {
            let t = b.slice(..n);
            let r = Reader::new(&t, Context::default());
            assert!(LocalHeap::read(&r, 0).is_err());
        }
    }
}
