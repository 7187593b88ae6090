//! The mapping table of a virtual dataset: the "Global Heap Block for Virtual Dataset" (HDF5
//! File Format Specification III.F) that a version 4 Data Layout message points at.
//!
//! Layout: a version byte (0, or 1 since HDF5 2.0), the number of mappings (a length), then per
//! mapping the source file name, the source dataset name, the source selection and the virtual
//! selection (serialized selections, see [`crate::selection`]), and a lookup3 checksum over
//! everything before it. Version 0 stores both names as NUL-terminated strings. Version 1 puts
//! a flags byte before each mapping: bit 0 and bit 1 replace the file or dataset name with the
//! index (a length) of an earlier mapping whose name is reused, and bit 2 stands for the source
//! file "." (the virtual dataset's own file) with no name stored at all.

use crate::error::{Error, Result};
use crate::read::{Context, Cursor};
use crate::selection::Selection;

const STRUCTURE: &str = "virtual dataset mapping table";

const FLAG_FILE_SHARED: u8 = 0x01;
const FLAG_DATASET_SHARED: u8 = 0x02;
const FLAG_SAME_FILE: u8 = 0x04;

/// The smallest encoded mapping: a flags byte or two empty names, and two 16-byte `all`/`none`
/// selections. Bounds the preallocation a hostile mapping count can ask for.
const MIN_MAPPING_BYTES: usize = 33;

/// One source-to-virtual mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Source file name as stored; `.` means the virtual dataset's own file. May contain
    /// printf-style `%b` (block number) and `%%`.
    pub source_file: Vec<u8>,
    /// Source dataset path in the source file, with the same substitutions.
    pub source_dataset: Vec<u8>,
    pub source_selection: Selection,
    pub virtual_selection: Selection,
}

/// The decoded mapping table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMappings {
    pub version: u8,
    pub mappings: Vec<Mapping>,
}

impl VirtualMappings {
    /// Decodes the whole heap object in `c` and verifies its checksum.
    pub fn parse(c: &mut Cursor, ctx: &Context) -> Result<VirtualMappings> {
        let mut c = c.clone().with_structure(STRUCTURE);
        let start = c.pos();
        let version = c.u8()?;
        if version > 1 {
            return Err(c.unsupported(format!("version {version}")));
        }
        let count = c.length(ctx)?;
        let room = c.remaining() / MIN_MAPPING_BYTES;
        if count > room as u64 {
            return Err(Error::Truncated {
                structure: STRUCTURE,
                offset: c.addr(),
                need: count.saturating_mul(MIN_MAPPING_BYTES as u64),
                have: c.remaining() as u64,
            });
        }
        let mut mappings: Vec<Mapping> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let flags = if version >= 1 { c.u8()? } else { 0 };
            if flags & !(FLAG_FILE_SHARED | FLAG_DATASET_SHARED | FLAG_SAME_FILE) != 0 {
                return Err(c.unsupported(format!("mapping flags {flags:#x}")));
            }
            let source_file = if flags & FLAG_SAME_FILE != 0 {
                b".".to_vec()
            } else if flags & FLAG_FILE_SHARED != 0 {
                earlier(&mut c, ctx, &mappings)?.source_file.clone()
            } else {
                c.cstr()?.to_vec()
            };
            let source_dataset = if flags & FLAG_DATASET_SHARED != 0 {
                earlier(&mut c, ctx, &mappings)?.source_dataset.clone()
            } else {
                c.cstr()?.to_vec()
            };
            let source_selection = Selection::parse(&mut c)?;
            let virtual_selection = Selection::parse(&mut c)?;
            mappings.push(Mapping {
                source_file,
                source_dataset,
                source_selection,
                virtual_selection,
            });
        }
        c.verify_checksum(start)?;
        Ok(VirtualMappings { version, mappings })
    }
}

/// The earlier mapping a shared-name index refers to.
fn earlier<'m>(c: &mut Cursor, ctx: &Context, mappings: &'m [Mapping]) -> Result<&'m Mapping> {
    let index = c.length(ctx)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| mappings.get(i))
        .ok_or_else(|| {
            c.corrupt(format!(
                "name shared with mapping {index}, but only {} precede it",
                mappings.len()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::metadata_checksum;
    use crate::selection::{Hyperslab, RegularDim, UNLIMITED};

    const CTX: Context = Context {
        sizeof_offsets: 8,
        sizeof_lengths: 8,
        base_address: 0,
    };

    fn all() -> Vec<u8> {
        [3u32, 1, 0, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect()
    }

    /// A version 3 regular hyperslab of rank 1 with 4-byte coordinates.
    fn regular(start: u32, stride: u32, count: u32, block: u32) -> Vec<u8> {
        let mut v: Vec<u8> = [2u32, 3].iter().flat_map(|w| w.to_le_bytes()).collect();
        v.extend([1u8, 4]);
        for w in [1, start, stride, count, block] {
            v.extend(w.to_le_bytes());
        }
        v
    }

    fn seal(mut body: Vec<u8>) -> Vec<u8> {
        let sum = metadata_checksum(&body);
        body.extend(sum.to_le_bytes());
        body
    }

    fn parse(bytes: &[u8]) -> Result<VirtualMappings> {
        VirtualMappings::parse(&mut Cursor::new(bytes, 0x800, "t"), &CTX)
    }

    fn version_0() -> Vec<u8> {
        let mut v = vec![0u8];
        v.extend(2u64.to_le_bytes());
        for (file, dset, at) in [(&b"a.h5"[..], &b"/x"[..], 0u32), (b"f-%b.h5", b"A", 5)] {
            v.extend(file);
            v.push(0);
            v.extend(dset);
            v.push(0);
            v.extend(all());
            v.extend(regular(at, 5, u32::MAX, 5));
        }
        seal(v)
    }

    #[test]
    fn version_0_names_and_selections() {
        let t = parse(&version_0()).unwrap();
        assert_eq!(t.version, 0);
        assert_eq!(t.mappings.len(), 2);
        let m = &t.mappings[1];
        assert_eq!(m.source_file, b"f-%b.h5");
        assert_eq!(m.source_dataset, b"A");
        assert_eq!(m.source_selection, Selection::All);
        assert_eq!(
            m.virtual_selection,
            Selection::Hyperslab(Hyperslab::Regular(vec![RegularDim {
                start: 5,
                stride: 5,
                count: UNLIMITED,
                block: 5
            }]))
        );
    }

    #[test]
    fn version_1_shared_and_same_file_names() {
        let mut v = vec![1u8];
        v.extend(3u64.to_le_bytes());
        // Mapping 0: inline names.
        v.push(0);
        v.extend(b"src.h5\0data\0");
        v.extend(all());
        v.extend(all());
        // Mapping 1: both names shared with mapping 0.
        v.push(FLAG_FILE_SHARED | FLAG_DATASET_SHARED);
        v.extend(0u64.to_le_bytes());
        v.extend(0u64.to_le_bytes());
        v.extend(all());
        v.extend(all());
        // Mapping 2: the same file, inline dataset name.
        v.push(FLAG_SAME_FILE);
        v.extend(b"x\0");
        v.extend(all());
        v.extend(all());
        let t = parse(&seal(v)).unwrap();
        assert_eq!(t.mappings[1].source_file, b"src.h5");
        assert_eq!(t.mappings[1].source_dataset, b"data");
        assert_eq!(t.mappings[2].source_file, b".");
        assert_eq!(t.mappings[2].source_dataset, b"x");
    }

    #[test]
    fn forward_shared_index_is_corrupt() {
        let mut v = vec![1u8];
        v.extend(1u64.to_le_bytes());
        v.push(FLAG_FILE_SHARED);
        v.extend(0u64.to_le_bytes());
        v.extend(b"d\0");
        v.extend(all());
        v.extend(all());
        assert!(matches!(parse(&seal(v)), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn checksum_is_verified() {
        let mut v = version_0();
        let n = v.len();
        v[n - 1] ^= 1;
        assert!(matches!(parse(&v), Err(Error::Checksum { .. })));
    }

    #[test]
    fn hostile_count_is_refused_before_allocating() {
        let mut v = vec![0u8];
        v.extend(u64::MAX.to_le_bytes());
        v.extend([0u8; 64]);
        assert!(matches!(parse(&v), Err(Error::Truncated { .. })));
        let mut v = vec![7u8];
        v.extend(0u64.to_le_bytes());
        assert!(matches!(parse(&v), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn truncations_never_panic() {
        let v = version_0();
        for n in 0..v.len() {
            assert!(parse(&v[..n]).is_err(), "accepted {n} bytes");
        }
    }
}
