//! Metadata cache images: the superblock-extension message (type 0x0018) that locates one, and
//! the "MDCI" block it points at.
//!
//! A file closed with a cache image (HDF5 1.10+, `H5Pset_mdc_image_config`) keeps serialized
//! metadata cache entries in one block; libhdf5 loads that block on open and serves those
//! entries from it, so their on-disk locations may hold stale bytes or none at all (the object
//! headers of `h5clear_mdc_image.h5` exist only in the image). A reader must therefore overlay
//! the entries on the file before decoding anything else. The block layout follows libhdf5's
//! H5C image encoder; the message is absent from the 4.0 specification.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::limits::MAX_METADATA_BLOCK;
use crate::read::{Context, Cursor, Reader};

const SIGNATURE: &[u8; 4] = b"MDCI";
/// Header flag saying the block also stores the cache's resize status; libhdf5 never sets it.
const HAVE_RESIZE_STATUS: u8 = 0x01;

/// The Metadata Cache Image message: where the image block is and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheImageMessage {
    pub address: u64,
    pub length: u64,
}

impl CacheImageMessage {
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<Self> {
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("metadata cache image message version {version}")));
        }
        Ok(CacheImageMessage {
            address: c.offset(ctx)?,
            length: c.length(ctx)?,
        })
    }
}

/// One serialized cache entry: the bytes libhdf5 would find at `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheImageEntry {
    /// Relative file address of the entry.
    pub address: u64,
    pub image: Bytes,
}

/// The entries of a cache image block, sorted by address and non-overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheImage {
    pub entries: Vec<CacheImageEntry>,
}

impl CacheImage {
    /// Reads and decodes the block the message points at.
    pub fn read(r: &Reader, msg: &CacheImageMessage) -> Result<Self> {
        let block = r.read(msg.address, msg.length, "metadata cache image")?;
        Self::parse(&block, msg.address, &r.ctx)
    }

    /// Decodes an image block held in `block`, which starts at file address `addr`.
    pub fn parse(block: &Bytes, addr: u64, ctx: &Context) -> Result<Self> {
        let mut c = Cursor::new(block, addr, "metadata cache image");
        c.signature(SIGNATURE)?;
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("cache image block version {version}")));
        }
        let flags = c.u8()?;
        if flags & HAVE_RESIZE_STATUS != 0 {
            return Err(c.unsupported("cache image with saved resize status"));
        }
        let data_len = c.length(ctx)?;
        if data_len != block.len() as u64 {
            return Err(c.corrupt(format!(
                "image length {data_len} differs from the message's {}",
                block.len()
            )));
        }
        let count = c.u32()?;
        // Verify the trailing checksum before trusting any count or size in the entries.
        let body_len = block
            .len()
            .checked_sub(4)
            .ok_or_else(|| c.corrupt("no checksum"))?;
        let mut tail = Cursor::new(block, addr, "metadata cache image");
        tail.seek(body_len)?;
        let stored = tail.u32()?;
        if crate::checksum::metadata_checksum(&block[..body_len]) != stored {
            return Err(Error::Checksum {
                structure: "metadata cache image",
                offset: addr,
            });
        }
        let mut body = Cursor::new(&block[..body_len], addr, "metadata cache image");
        body.seek(c.pos())?;
        let entry_header = 10 + usize::from(ctx.sizeof_offsets) + usize::from(ctx.sizeof_lengths);
        if count as usize > body.remaining() / entry_header {
            return Err(body.corrupt(format!("{count} entries do not fit in the block")));
        }
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            entries.push(Self::entry(&mut body, block, ctx)?);
        }
        entries.sort_by_key(|e| e.address);
        for pair in entries.windows(2) {
            let end = pair[0].address.saturating_add(pair[0].image.len() as u64);
            if end > pair[1].address {
                return Err(Error::corrupt(
                    "metadata cache image",
                    pair[1].address,
                    "entries overlap",
                ));
            }
        }
        Ok(CacheImage { entries })
    }

    /// One entry: its header (type, flags, ring, age, flush-dependency counts, LRU rank,
    /// address, size), its flush-dependency parents, then its serialized bytes.
    fn entry(c: &mut Cursor, block: &Bytes, ctx: &Context) -> Result<CacheImageEntry> {
        // Type, flags, ring and age only steer libhdf5's cache policy.
        c.skip(4)?;
        // Flush-dependency child and dirty-child counts, likewise.
        c.skip(4)?;
        let parents = c.u16()?;
        // LRU rank.
        c.skip(4)?;
        let at = c.addr();
        let address = c.offset(ctx)?;
        let size = c.length(ctx)?;
        if size == 0 || size > MAX_METADATA_BLOCK {
            return Err(Error::corrupt(
                "metadata cache image",
                at,
                format!("entry of {size} bytes"),
            ));
        }
        c.skip(usize::from(parents) * usize::from(ctx.sizeof_offsets))?;
        let start = c.pos();
        c.bytes_u64(size)?;
        Ok(CacheImageEntry {
            address,
            image: block.slice(start..c.pos()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an image block with the given (address, bytes) entries, as libhdf5 lays it out.
    fn block(entries: &[(u64, &[u8])], parents: u16) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend([0, 0]);
        b.extend(0u64.to_le_bytes());
        b.extend((entries.len() as u32).to_le_bytes());
        for (addr, image) in entries {
            b.extend([5, 1, 1, 0, 0, 0, 0, 0]);
            b.extend(parents.to_le_bytes());
            b.extend((-1i32).to_le_bytes());
            b.extend(addr.to_le_bytes());
            b.extend((image.len() as u64).to_le_bytes());
            for p in 0..parents {
                b.extend(u64::from(p).to_le_bytes());
            }
            b.extend(*image);
        }
        let len = (b.len() + 4) as u64;
        b[6..14].copy_from_slice(&len.to_le_bytes());
        let sum = crate::checksum::metadata_checksum(&b);
        b.extend(sum.to_le_bytes());
        b
    }

    #[test]
    fn decodes_entries_sorted_by_address() {
        let data = Bytes::from(block(&[(300, b"second"), (48, b"first")], 1));
        let image = CacheImage::parse(&data, 1000, &Context::default()).unwrap();
        let got: Vec<(u64, &[u8])> = image
            .entries
            .iter()
            .map(|e| (e.address, &e.image[..]))
            .collect();
        assert_eq!(got, [(48, &b"first"[..]), (300, &b"second"[..])]);
    }

    #[test]
    fn rejects_bad_checksum_overlap_and_absurd_counts() {
        let ctx = Context::default();
        let mut bad = block(&[(48, b"abc")], 0);
        bad[20] ^= 1;
        let e = CacheImage::parse(&Bytes::from(bad), 7, &ctx).unwrap_err();
        assert_eq!(
            e,
            Error::Checksum {
                structure: "metadata cache image",
                offset: 7
            }
        );

        let overlap = Bytes::from(block(&[(48, b"abcd"), (50, b"xy")], 0));
        let e = CacheImage::parse(&overlap, 0, &ctx).unwrap_err();
        assert!(matches!(e, Error::Corrupt { offset: 50, .. }), "{e}");

        // A count of 2^32 - 1 entries is refused before anything is allocated.
        let mut many = block(&[], 0);
        many[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
        let n = many.len() - 4;
        let sum = crate::checksum::metadata_checksum(&many[..n]);
        many[n..].copy_from_slice(&sum.to_le_bytes());
        let e = CacheImage::parse(&Bytes::from(many), 0, &ctx).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    }

    #[test]
    fn message_holds_address_and_length() {
        let mut body = vec![0u8];
        body.extend(0x5620u64.to_le_bytes());
        body.extend(0x58bu64.to_le_bytes());
        let msg = CacheImageMessage::parse(&mut Cursor::new(&body, 0, "m"), &Context::default());
        assert_eq!(
            msg.unwrap(),
            CacheImageMessage {
                address: 0x5620,
                length: 0x58b
            }
        );
    }
}
