//! Global Heap Collection (File Format Specification III.E, signature "GCOL"): the storage of
//! variable-length data and region references, addressed by (collection address, object index).

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::read::{Context, Cursor, Reader};

const STRUCTURE: &str = "global heap collection";

/// Bytes of a collection's header: signature, version, reserved bytes and the size.
fn header_len(ctx: &Context) -> usize {
    8 + usize::from(ctx.sizeof_lengths)
}

/// One collection, read whole (collections are one atomic unit of I/O in the format's design).
#[derive(Debug, Clone)]
pub struct GlobalHeapCollection {
    /// Address of the "GCOL" signature.
    pub address: u64,
    /// The collection's bytes, header included.
    data: Bytes,
    /// (object index, start, length) within `data`, sorted by index.
    objects: Vec<(u16, usize, usize)>,
}

impl GlobalHeapCollection {
    /// Bytes libhdf5 allocates for a collection at least: what to ask for ahead of reading one
    /// whose size is not known yet.
    pub const MIN_SIZE: u64 = 4096;

    /// The size of the collection at `address`, header included, from its header.
    pub fn stored_len(r: &Reader, address: u64) -> Result<u64> {
        let head = r.read(address, header_len(&r.ctx) as u64, STRUCTURE)?;
        Self::header(&head, address, &r.ctx).map(|(size, _)| size)
    }

    /// (collection size, header length) from `head`, the bytes at `address`.
    fn header(head: &[u8], address: u64, ctx: &Context) -> Result<(u64, usize)> {
        let header_len = header_len(ctx);
        let mut c = Cursor::new(head, address, STRUCTURE);
        c.signature(b"GCOL")?;
        let version = c.u8()?;
        if version != 1 {
            return Err(Error::unsupported(
                STRUCTURE,
                address + 4,
                format!("version {version}"),
            ));
        }
        c.skip(3)?;
        let size = c.length(ctx)?;
        if size < header_len as u64 {
            return Err(Error::corrupt(
                STRUCTURE,
                address + 8,
                format!("collection size {size} smaller than its header"),
            ));
        }
        Ok((size, header_len))
    }

    /// Reads the collection at `address` and indexes its objects.
    pub fn read(r: &Reader, address: u64) -> Result<GlobalHeapCollection> {
        let size = Self::stored_len(r, address)?;
        Self::parse(address, r.read(address, size, STRUCTURE)?, &r.ctx)
    }

    /// The collection at `address` from `data`, the file's bytes from there on: at least the
    /// collection's size, or [`Error::Truncated`] saying how many it needs.
    pub fn parse(address: u64, data: Bytes, ctx: &Context) -> Result<GlobalHeapCollection> {
        let (size, header_len) = Self::header(&data, address, ctx)?;
        if (data.len() as u64) < size {
            return Err(Error::Truncated {
                structure: STRUCTURE,
                offset: address,
                need: size,
                have: data.len() as u64,
            });
        }
        let data = data.slice(..size as usize);
        // Headers are padded to eight bytes: with 4-byte lengths, 12 become 16.
        let first_object = header_len.div_ceil(8) * 8;
        let lengths = usize::from(ctx.sizeof_lengths);
        let objects = index_objects(&data, address, first_object, lengths)?;
        Ok(GlobalHeapCollection {
            address,
            data,
            objects,
        })
    }

    /// The data of object `index`; `None` if the collection has no such object. Index 0 is
    /// the free space, never an object. (Global heap IDs store a 32-bit index; anything above
    /// `u16::MAX` cannot exist.)
    pub fn object(&self, index: u16) -> Option<Bytes> {
        if index == 0 {
            return None;
        }
        let pos = self
            .objects
            .binary_search_by_key(&index, |&(i, _, _)| i)
            .ok()?;
        let (_, start, len) = self.objects.get(pos)?;
        Some(self.data.slice(*start..*start + *len))
    }

    /// Indexes of the objects present, ascending.
    pub fn indexes(&self) -> impl Iterator<Item = u16> + '_ {
        self.objects.iter().map(|&(i, _, _)| i)
    }
}

/// Walks the packed objects after the header until the free-space object (index 0) or until
/// too little room is left for another object header (then the free space header is implied).
fn index_objects(
    data: &[u8],
    address: u64,
    first_object: usize,
    lengths: usize,
) -> Result<Vec<(u16, usize, usize)>> {
    // An object's header (index, reference count, reserved, size) is padded like the
    // collection's, so its data starts eight-byte aligned.
    let object_header = (8 + lengths).div_ceil(8) * 8;
    let mut objects: Vec<(u16, usize, usize)> = Vec::new();
    let mut pos = first_object.min(data.len());
    while data.len() - pos >= object_header {
        let at = address.saturating_add(pos as u64);
        let mut c = crate::read::Cursor::new(&data[pos..], at, STRUCTURE);
        let index = c.u16()?;
        let _refcount = c.u16()?;
        c.skip(4)?;
        let size = c.uint(lengths)?;
        if index == 0 {
            break;
        }
        let start = pos + object_header;
        let room = (data.len() - start) as u64;
        if size > room {
            return Err(Error::corrupt(
                STRUCTURE,
                at,
                format!("object {index} of {size} bytes overruns the collection"),
            ));
        }
        let len = size as usize;
        // Object data is padded to a multiple of eight bytes.
        let padded = len.div_ceil(8).saturating_mul(8).min(data.len() - start);
        objects.push((index, start, len));
        pos = start + padded;
    }
    objects.sort_unstable_by_key(|&(i, _, _)| i);
    if objects.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Error::corrupt(
            STRUCTURE,
            address,
            "two objects share one index",
        ));
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(index: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&index.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        v.extend_from_slice(payload);
        v.resize(16 + payload.len().div_ceil(8) * 8, 0);
        v
    }

    fn collection(objects: &[Vec<u8>], size: usize) -> Vec<u8> {
        let mut v = b"GCOL\x01\0\0\0".to_vec();
        v.extend_from_slice(&(size as u64).to_le_bytes());
        for o in objects {
            v.extend_from_slice(o);
        }
        let free = size - v.len();
        if free >= 16 {
            v.extend_from_slice(&object(0, &[]));
            let end = v.len();
            v[end - 8..].copy_from_slice(&(free as u64).to_le_bytes());
        }
        v.resize(size, 0);
        v
    }

    #[test]
    fn synthetic_collection() {
        let b = Bytes::from(collection(
            &[object(1, b"hello"), object(3, b"0123456789")],
            4096,
        ));
        let r = Reader::new(&b, Context::default());
        let g = GlobalHeapCollection::read(&r, 0).unwrap();
        assert_eq!(g.object(1).unwrap(), &b"hello"[..]);
        assert_eq!(g.object(3).unwrap(), &b"0123456789"[..]);
        assert!(g.object(0).is_none());
        assert!(g.object(2).is_none());
        assert!(g.object(u16::MAX).is_none());
        assert_eq!(g.indexes().collect::<Vec<_>>(), vec![1, 3]);
    }

    /// Bytes fetched ahead (a collection's first 4 KiB) decode on their own when they hold it
    /// all, and say the size when they do not.
    #[test]
    fn parse_takes_the_collection_from_bytes_in_hand() {
        let whole = collection(&[object(1, b"hello")], 4096);
        let mut ahead = whole.clone();
        ahead.extend_from_slice(b"raw data after the collection");
        let g = GlobalHeapCollection::parse(4096, Bytes::from(ahead), &Context::default());
        assert_eq!(g.unwrap().object(1).unwrap(), &b"hello"[..]);
        let short = Bytes::from(whole[..1024].to_vec());
        match GlobalHeapCollection::parse(4096, short, &Context::default()) {
            Err(Error::Truncated { need, have, .. }) => assert_eq!((need, have), (4096, 1024)),
            other => panic!("{other:?}"),
        }
    }

    /// With 4-byte lengths the 12-byte collection and object headers are padded to 16.
    #[test]
    fn short_lengths_pad_the_collection_header() {
        let mut v = b"GCOL\x01\0\0\0".to_vec();
        v.extend_from_slice(&96u32.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        for (index, payload) in [(1u16, &b"abc"[..]), (2, b"0123456789")] {
            v.extend_from_slice(&index.to_le_bytes());
            v.extend_from_slice(&1u16.to_le_bytes());
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(payload);
            v.resize(v.len() + payload.len().div_ceil(8) * 8 - payload.len(), 0);
        }
        v.resize(96, 0);
        let b = Bytes::from(v);
        let ctx = Context {
            sizeof_lengths: 4,
            ..Context::default()
        };
        let g = GlobalHeapCollection::read(&Reader::new(&b, ctx), 0).unwrap();
        assert_eq!(g.object(1).unwrap(), &b"abc"[..]);
        assert_eq!(g.object(2).unwrap(), &b"0123456789"[..]);
    }

    #[test]
    fn corrupt_collections_are_errors() {
        let good = collection(&[object(1, b"hello"), object(1, b"again")], 64);
        let b = Bytes::from(good.clone());
        let r = Reader::new(&b, Context::default());
        assert!(GlobalHeapCollection::read(&r, 0).is_err());

        let mut v = collection(&[object(1, b"hello")], 64);
        v[24..32].copy_from_slice(&1000u64.to_le_bytes());
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(GlobalHeapCollection::read(&r, 0).is_err());

        let v = collection(&[object(1, b"hello")], 64);
        for n in 0..v.len() {
            let b = Bytes::from(v[..n].to_vec());
            let r = Reader::new(&b, Context::default());
            assert!(GlobalHeapCollection::read(&r, 0).is_err());
        }
    }

    /// Variable-length strings of a real file: every reference into the heap resolves.
    #[test]
    fn corpus_vlen_strings() {
        let file =
            crate::test_corpus::read("jhdf/jhdf/src/test/resources/hdf5/globalheaps_test.hdf5");
        let b = file;
        let r = Reader::new(&b, Context::default());
        let mut found = Vec::new();
        for pos in memchr_all(&b, b"GCOL") {
            let g = GlobalHeapCollection::read(&r, pos as u64).unwrap();
            for i in g.indexes() {
                found.push(g.object(i).unwrap());
            }
        }
        // jhdf's file keeps each of its strings in a small collection of its own; the last
        // is empty.
        assert_eq!(found.len(), 8);
        for (i, s) in found.iter().take(7).enumerate() {
            assert_eq!(s, format!("value{i}").as_bytes());
        }
        assert!(found[7].is_empty());
    }

    fn memchr_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i)
            .collect()
    }
}
