//! How the decoders reach bytes: the [`ReadAt`] trait (implemented by slices here and by the
//! cached, possibly remote, sources of the `coh5` crate), the [`Reader`] that adds the file's
//! base address and offset/length sizes, and the bounds-checked [`Cursor`] every parser uses.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::limits::MAX_METADATA_BLOCK;

/// The "undefined address" of the specification (all bits set), after widening to 64 bits.
pub const UNDEF_ADDR: u64 = u64::MAX;

/// Random access to the bytes of one file. Offsets are absolute (from byte 0 of the file).
pub trait ReadAt: Send + Sync {
    /// Exactly `len` bytes at `offset`; `Error::Truncated` when they run past the end.
    fn read_at(&self, offset: u64, len: u64) -> Result<Bytes>;
    /// The size of the file in bytes.
    fn size(&self) -> u64;

    /// A hint that the bytes at these absolute ranges will be read soon: a source over a
    /// network fetches them together now, so that a tree's nodes of one level cost one round
    /// trip instead of one each. Sources in memory ignore it.
    fn prefetch(&self, _ranges: &[std::ops::Range<u64>]) {}

    /// Up to `len` bytes at `offset`, fewer at the end of the file.
    fn read_upto(&self, offset: u64, len: u64) -> Result<Bytes> {
        let size = self.size();
        if offset >= size {
            return Ok(Bytes::new());
        }
        self.read_at(offset, len.min(size - offset))
    }
}

impl ReadAt for Bytes {
    fn read_at(&self, offset: u64, len: u64) -> Result<Bytes> {
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= self.len() as u64 => Ok(self.slice(offset as usize..end as usize)),
            _ => Err(Error::Truncated {
                structure: "file",
                offset,
                need: len,
                have: (self.len() as u64).saturating_sub(offset),
            }),
        }
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}

/// Sizes and base address from the superblock that every later structure depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Bytes in a file address (2, 4 or 8).
    pub sizeof_offsets: u8,
    /// Bytes in a length field (2, 4 or 8).
    pub sizeof_lengths: u8,
    /// Absolute offset that relative addresses are measured from (the superblock's base).
    pub base_address: u64,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            sizeof_offsets: 8,
            sizeof_lengths: 8,
            base_address: 0,
        }
    }
}

/// A [`ReadAt`] bound to a [`Context`]: reads at *relative* HDF5 addresses.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub src: &'a dyn ReadAt,
    pub ctx: Context,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a dyn ReadAt, ctx: Context) -> Self {
        Reader { src, ctx }
    }

    /// Absolute file offset of a relative address.
    pub fn absolute(&self, addr: u64) -> u64 {
        addr.saturating_add(self.ctx.base_address)
    }

    /// Passes a prefetch hint for `len` bytes at each relative address in `addrs` to the
    /// source (undefined addresses and ranges past the end of the file are left out).
    pub fn prefetch(&self, addrs: &[u64], len: u64) {
        let spans: Vec<(u64, u64)> = addrs.iter().map(|&a| (a, len)).collect();
        self.prefetch_spans(&spans);
    }

    /// Passes one prefetch hint for spans of (relative address, length) of different sizes,
    /// so that they are fetched together. Spans longer than [`MAX_METADATA_BLOCK`] are left
    /// out: reading them would be refused.
    pub fn prefetch_spans(&self, spans: &[(u64, u64)]) {
        let size = self.src.size();
        let ranges: Vec<std::ops::Range<u64>> = spans
            .iter()
            .filter(|&&(a, len)| a != UNDEF_ADDR && len <= MAX_METADATA_BLOCK)
            .map(|&(a, len)| (self.absolute(a), len))
            .filter(|&(start, _)| start < size)
            .map(|(start, len)| start..start.saturating_add(len).min(size))
            .collect();
        if !ranges.is_empty() {
            self.src.prefetch(&ranges);
        }
    }

    /// Relative bytes available from `addr` to the end of the file.
    pub fn available(&self, addr: u64) -> u64 {
        self.src.size().saturating_sub(self.absolute(addr))
    }

    /// Exactly `len` bytes at relative address `addr`, checked against the file size and
    /// [`MAX_METADATA_BLOCK`] before anything is read.
    pub fn read(&self, addr: u64, len: u64, structure: &'static str) -> Result<Bytes> {
        if addr == UNDEF_ADDR {
            return Err(Error::corrupt(structure, addr, "undefined address"));
        }
        if len > MAX_METADATA_BLOCK {
            return Err(Error::limit(
                structure,
                addr,
                format!("{len} bytes in one metadata block"),
            ));
        }
        let have = self.available(addr);
        if len > have {
            return Err(Error::Truncated {
                structure,
                offset: addr,
                need: len,
                have,
            });
        }
        self.src.read_at(self.absolute(addr), len)
    }

    /// Up to `len` bytes at `addr` (fewer at end of file); for structures whose length is only
    /// known after their prefix is decoded.
    pub fn read_upto(&self, addr: u64, len: u64, structure: &'static str) -> Result<Bytes> {
        let have = self.available(addr);
        if have == 0 {
            return Err(Error::Truncated {
                structure,
                offset: addr,
                need: len.min(1),
                have: 0,
            });
        }
        self.read(addr, len.min(have), structure)
    }

    /// A cursor over `len` bytes at `addr`.
    pub fn cursor(&self, addr: u64, len: u64, structure: &'static str) -> Result<OwnedCursor> {
        Ok(OwnedCursor {
            data: self.read(addr, len, structure)?,
            addr,
            structure,
        })
    }
}

/// Bytes read from the file together with the address they start at.
pub struct OwnedCursor {
    pub data: Bytes,
    pub addr: u64,
    pub structure: &'static str,
}

impl OwnedCursor {
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor::new(&self.data, self.addr, self.structure)
    }
}

/// A bounds-checked little-endian reader over a byte slice that knows the file address of its
/// first byte, so every error names the offset that was being read.
#[derive(Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    structure: &'static str,
}

impl<'a> Cursor<'a> {
    /// `base` is the file address of `buf[0]` (used only in errors).
    pub fn new(buf: &'a [u8], base: u64, structure: &'static str) -> Self {
        Cursor {
            buf,
            pos: 0,
            base,
            structure,
        }
    }

    /// The same bytes, described as another structure (for nested decoders).
    pub fn with_structure(mut self, structure: &'static str) -> Self {
        self.structure = structure;
        self
    }

    pub fn structure(&self) -> &'static str {
        self.structure
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// File address of the next byte.
    pub fn addr(&self) -> u64 {
        self.base.wrapping_add(self.pos as u64)
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Every byte of the underlying buffer, regardless of position.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// Moves to absolute position `pos` within the buffer.
    pub fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(self.truncated(pos - self.pos));
        }
        self.pos = pos;
        Ok(())
    }

    fn truncated(&self, need: usize) -> Error {
        Error::Truncated {
            structure: self.structure,
            offset: self.addr(),
            need: need as u64,
            have: self.remaining() as u64,
        }
    }

    /// A corruption error at the current position.
    pub fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(self.structure, self.addr(), detail)
    }

    /// An unsupported-feature error at the current position.
    pub fn unsupported(&self, detail: impl Into<String>) -> Error {
        Error::unsupported(self.structure, self.addr(), detail)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// `n` bytes given as a count read from the file (checked before converting to usize).
    pub fn bytes_u64(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(Error::Truncated {
                structure: self.structure,
                offset: self.addr(),
                need: n,
                have: self.remaining() as u64,
            });
        }
        self.bytes(n as usize)
    }

    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// A sub-cursor over the next `n` bytes, advancing past them.
    pub fn sub(&mut self, n: usize) -> Result<Cursor<'a>> {
        let base = self.addr();
        let b = self.bytes(n)?;
        Ok(Cursor::new(b, base, self.structure))
    }

    /// The rest of the buffer, advancing to its end.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Checks a 4-byte signature.
    pub fn signature(&mut self, sig: &[u8; 4]) -> Result<()> {
        let at = self.addr();
        if self.bytes(4)? != sig {
            return Err(Error::Signature {
                structure: self.structure,
                offset: at,
            });
        }
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.uint(8)
    }

    /// An unsigned little-endian integer of `n` (0..=8) bytes.
    pub fn uint(&mut self, n: usize) -> Result<u64> {
        if n > 8 {
            return Err(self.corrupt(format!("{n}-byte integer field")));
        }
        let b = self.bytes(n)?;
        let mut v = 0u64;
        for (i, byte) in b.iter().enumerate() {
            v |= u64::from(*byte) << (8 * i);
        }
        Ok(v)
    }

    /// A file address of `ctx.sizeof_offsets` bytes; all-ones becomes [`UNDEF_ADDR`].
    pub fn offset(&mut self, ctx: &Context) -> Result<u64> {
        let n = usize::from(ctx.sizeof_offsets);
        let v = self.uint(n)?;
        Ok(
            if n < 8 && v == (1u64 << (8 * n)) - 1 || n == 8 && v == u64::MAX {
                UNDEF_ADDR
            } else {
                v
            },
        )
    }

    /// A length of `ctx.sizeof_lengths` bytes.
    pub fn length(&mut self, ctx: &Context) -> Result<u64> {
        self.uint(usize::from(ctx.sizeof_lengths))
    }

    /// A NUL-terminated string (without the NUL); errors if no NUL is found.
    pub fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(self.corrupt("string without terminating NUL")),
        }
    }

    /// Skips to the next multiple of `align` relative to the buffer start.
    pub fn align(&mut self, align: usize) -> Result<()> {
        let pad = (align - self.pos % align) % align;
        self.skip(pad.min(self.remaining()))
    }

    /// Verifies the lookup3 checksum stored right after `self.buffer()[start..self.pos()]`,
    /// consuming the 4 checksum bytes.
    pub fn verify_checksum(&mut self, start: usize) -> Result<()> {
        let at = self.addr();
        let computed = crate::checksum::metadata_checksum(&self.buf[start..self.pos]);
        let stored = self.u32()?;
        if stored != computed {
            return Err(Error::Checksum {
                structure: self.structure,
                offset: at,
            });
        }
        Ok(())
    }
}

/// Bytes in memory that record the prefetch hints they get, for tests of what decoders ask
/// for together.
#[cfg(test)]
pub(crate) struct Hinted {
    pub bytes: Bytes,
    pub hints: std::sync::Mutex<Vec<Vec<std::ops::Range<u64>>>>,
}

#[cfg(test)]
impl Hinted {
    pub fn new(bytes: impl Into<Bytes>) -> Hinted {
        Hinted {
            bytes: bytes.into(),
            hints: Default::default(),
        }
    }
}

#[cfg(test)]
impl ReadAt for Hinted {
    fn read_at(&self, offset: u64, len: u64) -> Result<Bytes> {
        self.bytes.read_at(offset, len)
    }
    fn size(&self) -> u64 {
        self.bytes.size()
    }
    fn prefetch(&self, ranges: &[std::ops::Range<u64>]) {
        self.hints.lock().unwrap().push(ranges.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reports_offset_on_truncation() {
        let mut c = Cursor::new(&[1, 2, 3], 100, "test");
        assert_eq!(c.u16().unwrap(), 0x0201);
        let err = c.u32().unwrap_err();
        assert_eq!(err.offset(), 102);
    }

    #[test]
    fn undefined_offsets_widen() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 4,
            base_address: 0,
        };
        let mut c = Cursor::new(&[0xff; 4], 0, "test");
        assert_eq!(c.offset(&ctx).unwrap(), UNDEF_ADDR);
    }

    #[test]
    fn reader_refuses_absurd_lengths_before_reading() {
        let data = Bytes::from_static(&[0u8; 16]);
        let r = Reader::new(&data, Context::default());
        assert!(matches!(r.read(0, 1 << 40, "x"), Err(Error::Limit { .. })));
        assert!(matches!(r.read(8, 16, "x"), Err(Error::Truncated { .. })));
    }
}
