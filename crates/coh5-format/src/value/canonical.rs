//! Canonical, byte-order independent encoding of stored element values (SPEC.md section 8),
//! the input of the `data_sha256` / `sha256` hashes of a manifest.
//!
//! Each element is encoded as the value libhdf5 hands h5py after converting the file type to
//! h5py's memory type: numbers little-endian at their NumPy size, fixed strings after padding
//! conversion, compound members in member order without padding, variable-length data and
//! references resolved through a [`Resolver`] (global heap objects, object paths).

use bytes::Bytes;

use crate::dataspace::{Dataspace, SpaceKind};
use crate::datatype::float::FloatLayout;
use crate::datatype::numpy::py_tuple;
use crate::datatype::{ByteOrder, Datatype, RefKind, StrPad, TypeClass};
use crate::error::{Error, Result};
use crate::limits::{MAX_TYPE_DEPTH, MAX_VALUE_BYTES};
use crate::read::{Context, Cursor, UNDEF_ADDR};
use crate::selection::Selection;

/// The text for a reference whose target is not an object: what h5py's failed dereference
/// (a `KeyError`) makes the golden producer write, so such references compare equal.
pub const UNRESOLVED: &str = "<unresolved KeyError>";
const STRUCTURE: &str = "element data";

/// What the encoder needs from the rest of the file.
pub trait Resolver {
    /// Bytes of object `index` in the global heap collection at `collection` (relative address).
    fn global_heap_object(&self, collection: u64, index: u32) -> Result<Bytes>;
    /// Absolute HDF5 path of the object whose header is at `address` (per SPEC 8 "object
    /// reference paths"), or None if unresolvable.
    fn object_path(&self, address: u64) -> Option<String>;
    /// The dataspace of the dataset at `address` (for region references with an "all" selection).
    fn dataspace(&self, address: u64) -> Option<Dataspace>;
}

/// Appends the canonical encoding of `count` consecutive stored elements of type `dt` (in `data`,
/// file layout, `dt.size` bytes each) to `out`. vlen elements are (u32 length, global heap ID).
pub fn encode(
    dt: &Datatype,
    data: &[u8],
    count: u64,
    ctx: &Context,
    res: &dyn Resolver,
    out: &mut Vec<u8>,
) -> Result<()> {
    let size = u64::from(dt.size);
    if size == 0 {
        return Err(Error::corrupt(STRUCTURE, 0, "datatype of size 0"));
    }
    let need = count.saturating_mul(size);
    if need > data.len() as u64 {
        return Err(Error::Truncated {
            structure: STRUCTURE,
            offset: 0,
            need,
            have: data.len() as u64,
        });
    }
    let enc = Encoder {
        ctx,
        res,
        limit: (out.len() as u64).saturating_add(MAX_VALUE_BYTES),
    };
    for element in data[..need as usize].chunks_exact(size as usize) {
        enc.element(dt, element, out, 0)?;
    }
    Ok(())
}

struct Encoder<'a> {
    ctx: &'a Context,
    res: &'a dyn Resolver,
    /// Length of `out` beyond which encoding stops with `Error::Limit`.
    limit: u64,
}

fn corrupt(detail: impl Into<String>) -> Error {
    Error::corrupt(STRUCTURE, 0, detail)
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

/// `u64le(len) ‖ bytes`, the form of strings and references.
fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    push_u64(out, text.len() as u64);
    out.extend_from_slice(text);
}

fn is_null(addr: u64) -> bool {
    addr == 0 || addr == UNDEF_ADDR
}

impl Encoder<'_> {
    /// Encodes one element; `b` holds exactly its `dt.size` stored bytes.
    fn element(&self, dt: &Datatype, b: &[u8], out: &mut Vec<u8>, depth: u32) -> Result<()> {
        if out.len() as u64 > self.limit {
            return Err(Error::limit(
                STRUCTURE,
                0,
                format!("canonical encoding larger than {MAX_VALUE_BYTES} bytes"),
            ));
        }
        if depth > MAX_TYPE_DEPTH {
            return Err(Error::limit(STRUCTURE, 0, "datatype nested too deeply"));
        }
        match &dt.class {
            TypeClass::FixedPoint {
                order,
                bit_offset,
                precision,
                ..
            } => {
                if *bit_offset == 0 && usize::from(*precision) == 8 * b.len() {
                    push_ordered(out, b, *order);
                } else {
                    // Reduced precision: libhdf5 extracts the bits and sign-extends them.
                    let v = dt.integer_value(b).ok_or_else(|| {
                        Error::unsupported(STRUCTURE, 0, format!("{}-byte integer", b.len()))
                    })?;
                    out.extend_from_slice(&v.to_le_bytes()[..b.len()]);
                }
            }
            TypeClass::FloatingPoint { .. } => {
                let layout = FloatLayout::of(dt).ok_or_else(|| corrupt("float layout"))?;
                let f = layout
                    .numpy_float()
                    .map_err(|why| Error::unsupported(STRUCTURE, 0, why))?;
                layout.convert(b, f, out);
            }
            TypeClass::Time { .. } => {
                return Err(Error::unsupported(STRUCTURE, 0, "time datatype"));
            }
            TypeClass::String { pad, .. } => fixed_string(b, *pad, out),
            // h5py reads bitfields with the file type itself: the stored bits, made little-endian.
            TypeClass::Bitfield { order, .. } => push_ordered(out, b, *order),
            TypeClass::Opaque { .. } => out.extend_from_slice(b),
            TypeClass::Compound { members } => {
                for m in members {
                    let start = m.offset as usize;
                    let part = start
                        .checked_add(m.datatype.size as usize)
                        .and_then(|end| b.get(start..end))
                        .ok_or_else(|| {
                            corrupt(format!(
                                "compound member at offset {} does not fit in {} bytes",
                                m.offset,
                                b.len()
                            ))
                        })?;
                    self.element(&m.datatype, part, out, depth + 1)?;
                }
            }
            TypeClass::Reference { kind } => match kind {
                RefKind::Object => self.object_reference(b, out)?,
                RefKind::Region => self.region_reference(b, out)?,
                RefKind::Other(n) => {
                    return Err(Error::unsupported(
                        STRUCTURE,
                        0,
                        format!("reference type {n}"),
                    ))
                }
            },
            TypeClass::Enum { base, .. } => {
                if dt.is_bool_enum() {
                    out.push(bool_byte(base, b));
                } else {
                    self.element(base, b, out, depth + 1)?;
                }
            }
            TypeClass::VarLen { string, base } => {
                self.vlen(string.is_some(), base, b, out, depth)?
            }
            TypeClass::Array { dims, base } => {
                let n = Datatype::array_len(dims).unwrap_or(u64::MAX);
                let items = self.items(b, n, base)?;
                for item in items {
                    self.element(base, item, out, depth + 1)?;
                }
            }
            TypeClass::Complex { base } => {
                for part in self.items(b, 2, base)? {
                    self.element(base, part, out, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// The first `n` consecutive `base` elements of `b`, checked to fit.
    fn items<'b>(
        &self,
        b: &'b [u8],
        n: u64,
        base: &Datatype,
    ) -> Result<std::slice::ChunksExact<'b, u8>> {
        let size = u64::from(base.size);
        match n.checked_mul(size) {
            Some(len) if size > 0 && len <= b.len() as u64 => {
                Ok(b[..len as usize].chunks_exact(size as usize))
            }
            _ => Err(corrupt(format!(
                "{n} elements of {size} bytes do not fit in {} bytes",
                b.len()
            ))),
        }
    }

    /// A variable-length element: u32 length, then the global heap ID of its data.
    fn vlen(
        &self,
        string: bool,
        base: &Datatype,
        b: &[u8],
        out: &mut Vec<u8>,
        depth: u32,
    ) -> Result<()> {
        let mut c = Cursor::new(b, 0, STRUCTURE);
        let len = c.u32()?;
        let collection = c.offset(self.ctx)?;
        let index = c.u32()?;
        if len == 0 || is_null(collection) {
            push_u64(out, 0);
            return Ok(());
        }
        let obj = self.res.global_heap_object(collection, index)?;
        if string {
            let bytes = obj.get(..len as usize).ok_or_else(|| {
                Error::corrupt(
                    "global heap object",
                    collection,
                    format!("string of {len} bytes in a {}-byte object", obj.len()),
                )
            })?;
            // h5py sees a C string: it ends at the first NUL.
            let end = bytes.iter().position(|&x| x == 0).unwrap_or(bytes.len());
            push_text(out, &bytes[..end]);
        } else {
            let items = self.items(&obj[..], u64::from(len), base).map_err(|_| {
                Error::corrupt(
                    "global heap object",
                    collection,
                    format!(
                        "sequence of {len} elements of {} bytes in a {}-byte object",
                        base.size,
                        obj.len()
                    ),
                )
            })?;
            // h5py hands the golden producer a NumPy array per sequence and it counts the
            // array flattened, so a sequence of arrays counts their scalar elements.
            push_u64(out, u64::from(len).saturating_mul(flat_len(base)));
            for item in items {
                self.element(base, item, out, depth + 1)?;
            }
        }
        Ok(())
    }

    fn path_text(&self, address: u64) -> String {
        self.res
            .object_path(address)
            .unwrap_or_else(|| UNRESOLVED.to_string())
    }

    /// An object reference: the address of the referenced object header.
    fn object_reference(&self, b: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let address = Cursor::new(b, 0, STRUCTURE).offset(self.ctx)?;
        if is_null(address) {
            push_u64(out, 0);
        } else {
            push_text(out, self.path_text(address).as_bytes());
        }
        Ok(())
    }

    /// A dataset region reference: a global heap ID of (object address, selection).
    fn region_reference(&self, b: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut c = Cursor::new(b, 0, STRUCTURE);
        let collection = c.offset(self.ctx)?;
        let index = c.u32()?;
        if is_null(collection) {
            push_u64(out, 0);
            return Ok(());
        }
        let obj = self.res.global_heap_object(collection, index)?;
        let mut c = Cursor::new(&obj, collection, "region reference");
        let target = c.offset(self.ctx)?;
        let Some(path) = self.res.object_path(target) else {
            push_text(out, UNRESOLVED.as_bytes());
            return Ok(());
        };
        let text = match Selection::parse(&mut c) {
            Ok(sel) => format!("{path}|{}", self.bounds_text(&sel, target)),
            // What the golden producer writes when libhdf5 cannot decode the region.
            Err(_) => format!("{path}|none"),
        };
        push_text(out, text.as_bytes());
        Ok(())
    }

    /// Python's repr of the selection's bounding box, `None` for an empty selection.
    fn bounds_text(&self, sel: &Selection, target: u64) -> String {
        let dims = match sel {
            Selection::All => match self.res.dataspace(target) {
                Some(ds) if ds.kind == SpaceKind::Null => vec![0],
                Some(ds) => ds.dims,
                None => return "none".to_string(),
            },
            _ => Vec::new(),
        };
        match sel.bounds(&dims) {
            Some((start, end)) => format!("({}, {})", py_tuple(&start), py_tuple(&end)),
            None => "None".to_string(),
        }
    }
}

/// The stored bytes made little-endian.
fn push_ordered(out: &mut Vec<u8>, b: &[u8], order: ByteOrder) {
    if order == ByteOrder::Big {
        out.extend(b.iter().rev());
    } else {
        out.extend_from_slice(b);
    }
}

/// One bool-enum element as NumPy `bool` holds it after libhdf5's enum conversion.
fn bool_byte(base: &Datatype, b: &[u8]) -> u8 {
    match base.integer_value(b) {
        Some(0) => 0,
        Some(1) => 1,
        // A value outside the enum: when the file type is h5py's own (signed 8-bit) there
        // is no conversion and the byte passes through; otherwise libhdf5 writes all ones.
        _ => match base.class {
            TypeClass::FixedPoint {
                signed: true,
                bit_offset: 0,
                precision: 8,
                ..
            } if b.len() == 1 => b[0],
            _ => 0xff,
        },
    }
}

/// A fixed-length string after libhdf5's conversion to a NULLPAD string of the same size.
fn fixed_string(b: &[u8], pad: StrPad, out: &mut Vec<u8>) {
    let keep = match pad {
        StrPad::NullPad => b.len(),
        StrPad::NullTerm => b.iter().position(|&x| x == 0).unwrap_or(b.len()),
        StrPad::SpacePad => b.iter().rposition(|&x| x != b' ').map_or(0, |i| i + 1),
    };
    out.extend_from_slice(&b[..keep]);
    out.resize(out.len() + (b.len() - keep), 0);
}

/// Scalar elements in one element of `dt`: the product of nested array dimensions.
fn flat_len(dt: &Datatype) -> u64 {
    match &dt.class {
        TypeClass::Array { dims, base } => Datatype::array_len(dims)
            .unwrap_or(1)
            .saturating_mul(flat_len(base)),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::datatype::{Charset, EnumMember, Member};

    /// Global heap objects, object paths and dataspaces of an imaginary file.
    #[derive(Default)]
    struct Mock {
        heap: HashMap<(u64, u32), Vec<u8>>,
        paths: HashMap<u64, String>,
        spaces: HashMap<u64, Dataspace>,
    }

    impl Resolver for Mock {
        fn global_heap_object(&self, collection: u64, index: u32) -> Result<Bytes> {
            self.heap
                .get(&(collection, index))
                .map(|v| Bytes::from(v.clone()))
                .ok_or_else(|| Error::corrupt("global heap collection", collection, "no object"))
        }
        fn object_path(&self, address: u64) -> Option<String> {
            self.paths.get(&address).cloned()
        }
        fn dataspace(&self, address: u64) -> Option<Dataspace> {
            self.spaces.get(&address).cloned()
        }
    }

    fn ctx() -> Context {
        Context::default()
    }

    fn enc_with(dt: &Datatype, data: &[u8], count: u64, res: &Mock) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode(dt, data, count, &ctx(), res, &mut out)?;
        Ok(out)
    }

    fn enc(dt: &Datatype, data: &[u8], count: u64) -> Vec<u8> {
        enc_with(dt, data, count, &Mock::default()).unwrap()
    }

    fn sha(b: &[u8]) -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    fn int(size: u32, order: ByteOrder, signed: bool) -> Datatype {
        Datatype::integer(size, signed, order)
    }

    fn ieee(size: u32, order: ByteOrder) -> Datatype {
        Datatype::ieee_float(size, order).expect("an IEEE size")
    }

    fn fixed_str(size: u32, pad: StrPad) -> Datatype {
        Datatype {
            size,
            class: TypeClass::String {
                pad,
                charset: Charset::Ascii,
            },
        }
    }

    fn member(name: &str, offset: u32, datatype: Datatype) -> Member {
        Member {
            name: name.as_bytes().to_vec(),
            offset,
            datatype,
        }
    }

    /// A stored vlen element or region reference: (length,) collection address, index.
    fn heap_id(len: Option<u32>, collection: u64, index: u32) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(len) = len {
            v.extend_from_slice(&len.to_le_bytes());
        }
        v.extend_from_slice(&collection.to_le_bytes());
        v.extend_from_slice(&index.to_le_bytes());
        v
    }

    fn vlen(string: bool, base: Datatype) -> Datatype {
        Datatype {
            size: 16,
            class: TypeClass::VarLen {
                string: string.then_some((StrPad::NullTerm, Charset::Utf8)),
                base: Box::new(base),
            },
        }
    }

    #[test]
    fn spec_1_big_endian_int16() {
        let out = enc(
            &int(2, ByteOrder::Big, true),
            &[0x00, 0x01, 0xff, 0xfe, 0x00, 0x03, 0x01, 0x00],
            4,
        );
        assert_eq!(out, [0x01, 0x00, 0xfe, 0xff, 0x03, 0x00, 0x00, 0x01]);
        assert_eq!(
            sha(&out),
            "c59459d4862d832d23253606bd7449f07d796f82287b81fa14eb0a1b90e8ee42"
        );
    }

    #[test]
    fn spec_2_vlen_strings() {
        let mut res = Mock::default();
        res.heap.insert((0x800, 1), b"hi".to_vec());
        res.heap.insert((0x800, 2), "é".as_bytes().to_vec());
        let dt = vlen(true, int(1, ByteOrder::Little, false));
        let mut data = heap_id(Some(2), 0x800, 1);
        data.extend(heap_id(Some(2), 0x800, 2));
        data.extend(heap_id(Some(0), 0, 0));
        let out = enc_with(&dt, &data, 3, &res).unwrap();
        assert_eq!(
            sha(&out),
            "d5675379c03610391b243bee4f78f47b630b09b65e2e009844d410aa1707f0ab"
        );
        let scalar = enc_with(&dt, &data[..16], 1, &res).unwrap();
        assert_eq!(
            sha(&scalar),
            "ea3157669b71381037d848d081f57ddf3de78a3266a0c54321ef9df27413c7c7"
        );
    }

    #[test]
    fn vlen_string_stops_at_nul_and_checks_length() {
        let mut res = Mock::default();
        res.heap.insert((0x800, 1), b"ab\0cd".to_vec());
        let dt = vlen(true, int(1, ByteOrder::Little, false));
        let out = enc_with(&dt, &heap_id(Some(5), 0x800, 1), 1, &res).unwrap();
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']);
        assert!(enc_with(&dt, &heap_id(Some(6), 0x800, 1), 1, &res).is_err());
        assert!(enc_with(&dt, &heap_id(Some(1), 0x800, 9), 1, &res).is_err());
    }

    #[test]
    fn spec_3_compound_in_member_order() {
        let packed = Datatype {
            size: 7,
            class: TypeClass::Compound {
                members: vec![
                    member("a", 0, ieee(4, ByteOrder::Little)),
                    member("b", 4, fixed_str(3, StrPad::NullPad)),
                ],
            },
        };
        let mut data = Vec::new();
        data.extend(1.5f32.to_le_bytes());
        data.extend(b"ab\0");
        data.extend((-2.0f32).to_le_bytes());
        data.extend(b"xyz");
        let out = enc(&packed, &data, 2);
        let want = "d37b843831454a4b18d217f6f2892136e457b740403bfb57ea01ac52c4681fa7";
        assert_eq!(sha(&out), want);
        // Padding and reversed storage order change nothing: member 0 still comes first.
        let padded = Datatype {
            size: 12,
            class: TypeClass::Compound {
                members: vec![
                    member("a", 8, ieee(4, ByteOrder::Little)),
                    member("b", 0, fixed_str(3, StrPad::NullPad)),
                ],
            },
        };
        let mut data = Vec::new();
        data.extend(b"ab\0?????");
        data.extend(1.5f32.to_le_bytes());
        data.extend(b"xyz?????");
        data.extend((-2.0f32).to_le_bytes());
        assert_eq!(sha(&enc(&padded, &data, 2)), want);
    }

    #[test]
    fn spec_4_object_references() {
        let mut res = Mock::default();
        res.paths.insert(0x2a0, "/be_i16".into());
        let dt = Datatype {
            size: 8,
            class: TypeClass::Reference {
                kind: RefKind::Object,
            },
        };
        let mut data = 0x2a0u64.to_le_bytes().to_vec();
        data.extend(0u64.to_le_bytes());
        let out = enc_with(&dt, &data, 2, &res).unwrap();
        assert_eq!(
            sha(&out),
            "e7b1c5b8534a27be33c219bb61c48c38521e7dff4ae883bf48220ba613ab0a83"
        );
        let unresolved = enc_with(&dt, &0x999u64.to_le_bytes(), 1, &res).unwrap();
        assert_eq!(&unresolved[8..], UNRESOLVED.as_bytes());
    }

    fn region_dt() -> Datatype {
        Datatype {
            size: 12,
            class: TypeClass::Reference {
                kind: RefKind::Region,
            },
        }
    }

    /// A heap object of an old-style region reference: address, then a version 1 selection.
    fn region_object(address: u64, selection: &[u32]) -> Vec<u8> {
        let mut v = address.to_le_bytes().to_vec();
        for w in selection {
            v.extend(w.to_le_bytes());
        }
        v
    }

    #[test]
    fn spec_5_region_reference() {
        let mut res = Mock::default();
        res.paths.insert(0x2a0, "/be_i16".into());
        // Hyperslab v1, rank 2, one block (0, 0)-(0, 1).
        let block = [2, 1, 0, 24, 2, 1, 0, 0, 0, 1];
        res.heap.insert((0x900, 1), region_object(0x2a0, &block));
        let out = enc_with(&region_dt(), &heap_id(None, 0x900, 1), 1, &res).unwrap();
        assert_eq!(&out[..8], &[24, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&out[8..], b"/be_i16|((0, 0), (0, 1))");
        assert_eq!(
            sha(&out),
            "8cfc42edf85b726eaa3efa8c8bd34bc40a11c97671babe46cadc5f6c65c226b5"
        );
    }

    #[test]
    fn region_reference_forms() {
        let mut res = Mock::default();
        res.paths.insert(0x2a0, "/pts".into());
        res.spaces.insert(
            0x2a0,
            Dataspace {
                kind: SpaceKind::Simple,
                dims: vec![10],
                max_dims: None,
            },
        );
        let points = [1, 1, 0, 20, 1, 2, 7, 1];
        res.heap.insert((0x900, 1), region_object(0x2a0, &points));
        res.heap
            .insert((0x900, 2), region_object(0x2a0, &[0, 1, 0, 0]));
        res.heap
            .insert((0x900, 3), region_object(0x2a0, &[3, 1, 0, 0]));
        res.heap.insert((0x900, 4), region_object(0x2a0, &[9, 9]));
        let text = |i: u32| {
            let out = enc_with(&region_dt(), &heap_id(None, 0x900, i), 1, &res).unwrap();
            String::from_utf8(out[8..].to_vec()).unwrap()
        };
        assert_eq!(text(1), "/pts|((1,), (7,))");
        assert_eq!(text(2), "/pts|None");
        assert_eq!(text(3), "/pts|((0,), (9,))");
        assert_eq!(text(4), "/pts|none");
        let null = enc_with(&region_dt(), &heap_id(None, 0, 0), 1, &res).unwrap();
        assert_eq!(null, [0; 8]);
    }

    #[test]
    fn spec_6_fixed_strings() {
        let out = enc(&fixed_str(5, StrPad::NullTerm), b"ab\0xyabcde", 2);
        assert_eq!(out, b"ab\0\0\0abcde");
        assert_eq!(
            sha(&out),
            "00bd013a2fbf1e727382200d7a12e17cbb03308b1db04551b23015ff8c0d14db"
        );
        let out = enc(&fixed_str(4, StrPad::SpacePad), b"a b ", 1);
        assert_eq!(out, b"a b\0");
        assert_eq!(
            sha(&out),
            "dfa5830757fffdb100436d8dad645f6adfa4622e9703c00ce302dff6d471ac85"
        );
        assert_eq!(enc(&fixed_str(3, StrPad::SpacePad), b"   ", 1), [0, 0, 0]);
        assert_eq!(enc(&fixed_str(3, StrPad::NullPad), b"a\0b", 1), b"a\0b");
    }

    #[test]
    fn spec_7_vlen_sequences() {
        let mut res = Mock::default();
        res.heap.insert((0x800, 3), vec![1, 0, 2, 0, 3, 0]);
        let dt = vlen(false, int(2, ByteOrder::Little, true));
        let mut data = heap_id(Some(3), 0x800, 3);
        data.extend(heap_id(Some(0), 0, 0));
        let out = enc_with(&dt, &data, 2, &res).unwrap();
        assert_eq!(
            sha(&out),
            "f78fb01345492e8e4b5657f6266aed5b8f4d37f12c8fbfcae147c1b64eaab953"
        );
        // More elements than the heap object holds.
        let data = heap_id(Some(4), 0x800, 3);
        assert!(enc_with(&dt, &data, 1, &res).is_err());
    }

    fn enumeration(base: Datatype, members: &[(&str, Vec<u8>)]) -> Datatype {
        Datatype {
            size: base.size,
            class: TypeClass::Enum {
                base: Box::new(base),
                members: members
                    .iter()
                    .map(|(n, v)| EnumMember {
                        name: n.as_bytes().to_vec(),
                        value: v.clone(),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn spec_8_enums() {
        let dt = enumeration(
            int(2, ByteOrder::Big, true),
            &[("A", vec![0, 2]), ("B", vec![0xff, 0xff])],
        );
        let out = enc(&dt, &[0, 2, 0xff, 0xff], 2);
        assert_eq!(out, [2, 0, 0xff, 0xff]);
        assert_eq!(
            sha(&out),
            "d66bd032afb7e13e88d099f0e906872d0627fd53f51e4ada1990af0607fc238a"
        );
        let b = enumeration(
            int(1, ByteOrder::Little, true),
            &[("FALSE", vec![0]), ("TRUE", vec![1])],
        );
        assert!(b.is_bool_enum());
        let out = enc(&b, &[1, 0], 2);
        assert_eq!(
            sha(&out),
            "47dc540c94ceb704a23875c11273e16bb0b8a87aed84de911f2133568115f254"
        );
        // A wider base is converted by value.
        let wide = enumeration(
            int(4, ByteOrder::Big, false),
            &[("TRUE", vec![0, 0, 0, 1]), ("FALSE", vec![0, 0, 0, 0])],
        );
        assert_eq!(
            enc(&wide, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7], 3),
            [1, 0, 0xff]
        );
    }

    #[test]
    fn spec_9_array() {
        let dt = Datatype {
            size: 4,
            class: TypeClass::Array {
                dims: vec![2],
                base: Box::new(int(2, ByteOrder::Little, false)),
            },
        };
        let out = enc(&dt, &[1, 0, 2, 0, 3, 0, 4, 0], 2);
        assert_eq!(
            sha(&out),
            "ea99f710d9d0b8ba192295c969a63ed7ce8fc5743da20d2057fa2b6d2c404bfb"
        );
        let too_small = Datatype { size: 3, ..dt };
        assert!(enc_with(&too_small, &[0; 3], 1, &Mock::default()).is_err());
    }

    #[test]
    fn spec_10_complex_compound_and_native_complex() {
        let f4 = ieee(4, ByteOrder::Little);
        let ri = Datatype {
            size: 8,
            class: TypeClass::Compound {
                members: vec![member("r", 0, f4.clone()), member("i", 4, f4.clone())],
            },
        };
        let mut data = 1.0f32.to_le_bytes().to_vec();
        data.extend(2.0f32.to_le_bytes());
        let want = "b9c80b5adeca450753a16950c3cc655d271f7bef7a485bc83f112b72fef21d37";
        assert_eq!(sha(&enc(&ri, &data, 1)), want);
        let native = Datatype {
            size: 8,
            class: TypeClass::Complex {
                base: Box::new(ieee(4, ByteOrder::Big)),
            },
        };
        let mut be = 1.0f32.to_be_bytes().to_vec();
        be.extend(2.0f32.to_be_bytes());
        assert_eq!(sha(&enc(&native, &be, 1)), want);
    }

    #[test]
    fn spec_11_12_scalar_double_and_empty() {
        let out = enc(&ieee(8, ByteOrder::Big), &1.0f64.to_be_bytes(), 1);
        assert_eq!(
            sha(&out),
            "6c3c396ed6b5c36dcae172271f462051b1266b851e92df3deea8ac65478fd712"
        );
        let out = enc(&int(4, ByteOrder::Little, true), &[], 0);
        assert_eq!(
            sha(&out),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn reduced_precision_integers_are_sign_extended() {
        // 12 bits at offset 4 of a big-endian 16-bit word: 0xABC0 >> 4 = 0xABC (negative).
        let dt = Datatype {
            size: 2,
            class: TypeClass::FixedPoint {
                order: ByteOrder::Big,
                signed: true,
                bit_offset: 4,
                precision: 12,
            },
        };
        assert_eq!(enc(&dt, &[0xab, 0xcf], 1), (-0x544i16).to_le_bytes());
        let unsigned = Datatype {
            class: TypeClass::FixedPoint {
                order: ByteOrder::Big,
                signed: false,
                bit_offset: 4,
                precision: 12,
            },
            ..dt
        };
        assert_eq!(enc(&unsigned, &[0xab, 0xcf], 1), [0xbc, 0x0a]);
    }

    #[test]
    fn bitfields_and_opaque_keep_their_bits() {
        let bits = Datatype {
            size: 2,
            class: TypeClass::Bitfield {
                order: ByteOrder::Big,
                bit_offset: 0,
                precision: 3,
            },
        };
        assert_eq!(enc(&bits, &[0x12, 0x34], 1), [0x34, 0x12]);
        let opaque = Datatype {
            size: 3,
            class: TypeClass::Opaque { tag: b"x".to_vec() },
        };
        assert_eq!(enc(&opaque, &[1, 2, 3], 1), [1, 2, 3]);
    }

    #[test]
    fn non_ieee_floats_convert_exactly() {
        // x87 extended precision in 16 big-endian bytes (H5T_NATIVE_LDOUBLE-like, norm none).
        let ld = Datatype {
            size: 16,
            class: TypeClass::FloatingPoint {
                order: ByteOrder::Big,
                sign_pos: 79,
                bit_offset: 0,
                precision: 80,
                exp_pos: 64,
                exp_size: 15,
                mant_pos: 0,
                mant_size: 64,
                exp_bias: 16383,
                mant_norm: 0,
            },
        };
        // -1.5: sign, exponent 16383, mantissa 0xC000000000000000.
        let mut le = [0u8; 16];
        le[..8].copy_from_slice(&0xC000_0000_0000_0000u64.to_le_bytes());
        le[8..10].copy_from_slice(&(0x8000u16 | 16383).to_le_bytes());
        let mut be = le;
        be.reverse();
        assert_eq!(enc(&ld, &be, 1), le);
        // VAX F-float (bias 129, 16-bit words in big-endian order): its exponent range
        // needs f8; 1.5 is stored with exponent 129.
        let vax = Datatype {
            size: 4,
            class: TypeClass::FloatingPoint {
                order: ByteOrder::Vax,
                sign_pos: 31,
                bit_offset: 0,
                precision: 32,
                exp_pos: 23,
                exp_size: 8,
                mant_pos: 0,
                mant_size: 23,
                exp_bias: 129,
                mant_norm: 2,
            },
        };
        let bits: u32 = 129 << 23 | 1 << 22;
        let le = bits.to_le_bytes();
        let stored: Vec<u8> = le.chunks(2).rev().flatten().copied().collect();
        assert_eq!(enc(&vax, &stored, 1), 1.5f64.to_le_bytes());
        // A 4-byte float with an 11-bit exponent maps to f8 (h5py widens, never narrows).
        let wide_exp = Datatype {
            size: 4,
            class: TypeClass::FloatingPoint {
                order: ByteOrder::Little,
                sign_pos: 31,
                bit_offset: 0,
                precision: 32,
                exp_pos: 20,
                exp_size: 11,
                mant_pos: 0,
                mant_size: 20,
                exp_bias: 1023,
                mant_norm: 2,
            },
        };
        let bits: u32 = 1 << 31 | 1000 << 20 | 0x8_0000; // -(1.5 * 2^-23)
        assert_eq!(
            enc(&wide_exp, &bits.to_le_bytes(), 1),
            (-1.5f64 * 2f64.powi(-23)).to_le_bytes()
        );
        // A 2-byte float with IEEE half fields but bias 14 needs f4's exponent range:
        // its subnormals, infinities and NaNs map onto f4's.
        let odd_half = Datatype {
            size: 2,
            class: TypeClass::FloatingPoint {
                order: ByteOrder::Little,
                sign_pos: 15,
                bit_offset: 0,
                precision: 16,
                exp_pos: 10,
                exp_size: 5,
                mant_pos: 0,
                mant_size: 10,
                exp_bias: 14,
                mant_norm: 2,
            },
        };
        let stored = [0x0001u16, 0x7c00, 0xfc00, 0x7c01, 0x3c00, 0x8000];
        let stored: Vec<u8> = stored.iter().flat_map(|w| w.to_le_bytes()).collect();
        let want = [
            2f32.powi(-23),
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0x7fc0_0000),
            2.0,
            -0.0,
        ];
        let want: Vec<u8> = want
            .iter()
            .flat_map(|f| f.to_bits().to_le_bytes())
            .collect();
        assert_eq!(enc(&odd_half, &stored, 6), want);
    }

    #[test]
    fn ieee_nan_payloads_are_bit_exact() {
        let nan = 0x7ff0_0000_dead_beefu64;
        let out = enc(&ieee(8, ByteOrder::Big), &nan.to_be_bytes(), 1);
        assert_eq!(out, nan.to_le_bytes());
    }

    #[test]
    fn unsupported_and_short_inputs_are_errors() {
        let time = Datatype {
            size: 4,
            class: TypeClass::Time {
                order: ByteOrder::Little,
                precision: 32,
            },
        };
        assert!(enc_with(&time, &[0; 4], 1, &Mock::default()).is_err());
        let new_ref = Datatype {
            size: 64,
            class: TypeClass::Reference {
                kind: RefKind::Other(2),
            },
        };
        assert!(enc_with(&new_ref, &[0; 64], 1, &Mock::default()).is_err());
        let i4 = int(4, ByteOrder::Little, true);
        assert!(matches!(
            enc_with(&i4, &[0; 7], 2, &Mock::default()),
            Err(Error::Truncated { .. })
        ));
        assert!(enc_with(&i4, &[0; 8], u64::MAX, &Mock::default()).is_err());
        let bad_member = Datatype {
            size: 4,
            class: TypeClass::Compound {
                members: vec![member("x", 2, i4.clone())],
            },
        };
        assert!(enc_with(&bad_member, &[0; 4], 1, &Mock::default()).is_err());
    }

    #[test]
    fn nested_vlen_of_compound_with_strings() {
        let mut res = Mock::default();
        let item = Datatype {
            size: 4,
            class: TypeClass::Compound {
                members: vec![
                    member("s", 0, fixed_str(2, StrPad::SpacePad)),
                    member("n", 2, int(2, ByteOrder::Big, false)),
                ],
            },
        };
        res.heap
            .insert((0x800, 1), vec![b'a', b' ', 0, 5, b' ', b' ', 1, 0]);
        let dt = vlen(false, item);
        let out = enc_with(&dt, &heap_id(Some(2), 0x800, 1), 1, &res).unwrap();
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 0, b'a', 0, 5, 0, 0, 0, 0, 1]);
    }
}
