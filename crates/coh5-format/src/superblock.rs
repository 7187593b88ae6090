//! Format Signature and Superblock (File Format Specification II.A, versions 0–3) and the
//! Driver Information Block of version 0/1 superblocks (II.B). The superblock extension
//! (II.C) is an object header; callers read it with
//! [`ObjectHeader::read`](crate::object_header::ObjectHeader::read) at [`Superblock::extension`].

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::read::{Context, Cursor, ReadAt, Reader, UNDEF_ADDR};
use crate::symbol_table_entry::SymbolTableEntry;

/// The eight bytes every HDF5 file's superblock starts with.
pub const SIGNATURE: [u8; 8] = *b"\x89HDF\r\n\x1a\n";

const STRUCTURE: &str = "superblock";
const DRIVER_STRUCTURE: &str = "driver information block";

/// Bytes read at once for the superblock; enough for every version with 8-byte addresses.
const SPECULATIVE_READ: u64 = 256;
/// First non-zero offset searched for the signature; later ones double.
const FIRST_USERBLOCK: u64 = 512;

/// Version 2/3 file consistency flag bits: written by a process that has not closed the file
/// (bit 0) or opened it for SWMR writing (bit 2). Readers may still read such files.
pub const FLAG_WRITE_ACCESS: u32 = 0x1;
pub const FLAG_SWMR_WRITE: u32 = 0x4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    pub version: u8,
    /// Eight ASCII characters naming the driver, e.g. `NCSAmult` (multi/split) or `NCSAfami`.
    pub driver_id: [u8; 8],
    pub data: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    pub version: u8,
    /// Absolute offset of the signature (0, 512, 1024, 2048, ...).
    pub offset: u64,
    /// Sizes, and the base address every relative address is measured from. Like the HDF5
    /// library, the base is the superblock's own offset whatever the stored value says (a
    /// userblock prepended by a tool such as h5jam leaves a stored base of 0).
    pub ctx: Context,
    /// The base address as stored in the superblock.
    pub stored_base_address: u64,
    pub free_space_version: u8,
    pub root_entry_version: u8,
    pub shared_header_version: u8,
    /// v1 B-tree widths (version 0/1; the library defaults 4, 16 and 32 for version 2/3,
    /// whose files may override them with a B-tree 'K' message in the extension).
    pub group_leaf_k: u16,
    pub group_internal_k: u16,
    pub indexed_storage_k: u16,
    /// File consistency flags (see `FLAG_*`).
    pub flags: u32,
    /// Relative addresses; [`UNDEF_ADDR`] when absent.
    pub free_space_address: u64,
    /// End-of-file address as stored, relative to the stored base address.
    pub eof_address: u64,
    pub driver_info_address: u64,
    /// Relative address of the root group's object header.
    pub root_object_header: u64,
    /// Version 0/1: the root entry's cached (B-tree, local heap) addresses, if cached.
    pub root_symbol_table: Option<(u64, u64)>,
    /// Version 2/3: address of the superblock extension object header, if any.
    pub extension: Option<u64>,
    /// Version 0/1: the driver information block, if any.
    pub driver_info: Option<DriverInfo>,
    /// Version 2/3: whether the stored checksum matched. A mismatch is reported here rather
    /// than as an error so that callers may choose to read damaged files; every field is
    /// still validated. Always true for versions 0/1, which have no checksum.
    pub checksum_ok: bool,
}

impl Superblock {
    /// Searches 0, 512, 1024, ... (powers of two) up to the file size for the signature.
    pub fn read(src: &dyn ReadAt) -> Result<Superblock> {
        let size = src.size();
        let mut offset = 0u64;
        loop {
            if offset.saturating_add(SIGNATURE.len() as u64) > size {
                return Err(Error::Signature {
                    structure: STRUCTURE,
                    offset: 0,
                });
            }
            let head = src.read_upto(offset, SPECULATIVE_READ)?;
            if head.starts_with(&SIGNATURE) {
                return Self::parse_at(src, offset, head);
            }
            offset = match offset {
                0 => FIRST_USERBLOCK,
                o => match o.checked_mul(2) {
                    Some(next) => next,
                    None => {
                        return Err(Error::Signature {
                            structure: STRUCTURE,
                            offset: 0,
                        })
                    }
                },
            };
        }
    }

    /// A [`Reader`] with this superblock's sizes and base address.
    pub fn reader<'a>(&self, src: &'a dyn ReadAt) -> Reader<'a> {
        Reader::new(src, self.ctx)
    }

    fn parse_at(src: &dyn ReadAt, offset: u64, head: Bytes) -> Result<Superblock> {
        let mut c = Cursor::new(&head, offset, STRUCTURE);
        c.skip(SIGNATURE.len())?;
        let version = c.u8()?;
        match version {
            0 | 1 => Self::parse_v0(src, offset, c, version),
            2 | 3 => Self::parse_v2(offset, c, version),
            v => Err(c.unsupported(format!("superblock version {v}"))),
        }
    }

    fn parse_v0(src: &dyn ReadAt, offset: u64, mut c: Cursor, version: u8) -> Result<Self> {
        let free_space_version = c.u8()?;
        let root_entry_version = c.u8()?;
        c.skip(1)?;
        let shared_header_version = c.u8()?;
        let ctx = sizes(&mut c, offset)?;
        c.skip(1)?;
        let group_leaf_k = c.u16()?;
        let group_internal_k = c.u16()?;
        if group_leaf_k == 0 || group_internal_k == 0 {
            return Err(c.corrupt("zero B-tree 'K' value"));
        }
        let flags = c.u32()?;
        let indexed_storage_k = if version == 1 {
            let k = c.u16()?;
            c.skip(2)?;
            if k == 0 {
                return Err(c.corrupt("zero indexed storage 'K' value"));
            }
            k
        } else {
            DEFAULT_INDEXED_STORAGE_K
        };
        let stored_base_address = c.offset(&ctx)?;
        let free_space_address = c.offset(&ctx)?;
        let eof_address = c.offset(&ctx)?;
        let driver_info_address = c.offset(&ctx)?;
        let root = SymbolTableEntry::parse(&mut c, &ctx)?;
        let driver_info = if driver_info_address == UNDEF_ADDR {
            None
        } else {
            Some(read_driver_info(
                &Reader::new(src, ctx),
                driver_info_address,
            )?)
        };
        Ok(Superblock {
            version,
            offset,
            ctx,
            stored_base_address,
            free_space_version,
            root_entry_version,
            shared_header_version,
            group_leaf_k,
            group_internal_k,
            indexed_storage_k,
            flags,
            free_space_address,
            eof_address,
            driver_info_address,
            root_object_header: root.object_header,
            root_symbol_table: root.cached_symbol_table(&ctx),
            extension: None,
            driver_info,
            checksum_ok: true,
        })
    }

    fn parse_v2(offset: u64, mut c: Cursor, version: u8) -> Result<Self> {
        let ctx = sizes(&mut c, offset)?;
        let flags = u32::from(c.u8()?);
        let stored_base_address = c.offset(&ctx)?;
        let extension = c.offset(&ctx)?;
        let eof_address = c.offset(&ctx)?;
        let root_object_header = c.offset(&ctx)?;
        let computed = crate::checksum::metadata_checksum(&c.buffer()[..c.pos()]);
        let checksum_ok = c.u32()? == computed;
        Ok(Superblock {
            version,
            offset,
            ctx,
            stored_base_address,
            free_space_version: 0,
            root_entry_version: 0,
            shared_header_version: 0,
            group_leaf_k: DEFAULT_GROUP_LEAF_K,
            group_internal_k: DEFAULT_GROUP_INTERNAL_K,
            indexed_storage_k: DEFAULT_INDEXED_STORAGE_K,
            flags,
            free_space_address: UNDEF_ADDR,
            eof_address,
            driver_info_address: UNDEF_ADDR,
            root_object_header,
            root_symbol_table: None,
            extension: (extension != UNDEF_ADDR).then_some(extension),
            driver_info: None,
            checksum_ok,
        })
    }
}

/// Library defaults for the v1 B-tree widths.
const DEFAULT_GROUP_LEAF_K: u16 = 4;
const DEFAULT_GROUP_INTERNAL_K: u16 = 16;
const DEFAULT_INDEXED_STORAGE_K: u16 = 32;

/// Size of offsets and lengths; the base address is the superblock's offset (see
/// [`Superblock::ctx`]).
fn sizes(c: &mut Cursor, offset: u64) -> Result<Context> {
    let sizeof_offsets = c.u8()?;
    let sizeof_lengths = c.u8()?;
    for (what, n) in [("offsets", sizeof_offsets), ("lengths", sizeof_lengths)] {
        match n {
            2 | 4 | 8 => {}
            16 | 32 => return Err(c.unsupported(format!("{n}-byte {what}"))),
            _ => return Err(c.corrupt(format!("size of {what} {n}"))),
        }
    }
    Ok(Context {
        sizeof_offsets,
        sizeof_lengths,
        base_address: offset,
    })
}

fn read_driver_info(r: &Reader, address: u64) -> Result<DriverInfo> {
    let head = r.read(address, 16, DRIVER_STRUCTURE)?;
    let mut c = Cursor::new(&head, address, DRIVER_STRUCTURE);
    let version = c.u8()?;
    if version != 0 {
        return Err(c.unsupported(format!("driver information block version {version}")));
    }
    c.skip(3)?;
    let size = u64::from(c.u32()?);
    let mut driver_id = [0u8; 8];
    driver_id.copy_from_slice(c.bytes(8)?);
    let data = r.read(address.saturating_add(16), size, DRIVER_STRUCTURE)?;
    Ok(DriverInfo {
        version,
        driver_id,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::btree_k::BTreeK;
    use crate::message::file_space_info::{FileSpaceInfo, Strategy};
    use crate::message::kind;
    use crate::message::link::Link;
    use crate::message::shared_message_table::SharedMessageTableMessage;
    use crate::object_header::tests::corpus_file;
    use crate::object_header::ObjectHeader;

    fn open(path: &str) -> Option<(Bytes, Superblock)> {
        let file = corpus_file(path)?;
        let sb = Superblock::read(&file).unwrap();
        Some((file, sb))
    }

    fn link_names(h: &ObjectHeader, ctx: &Context) -> Vec<Vec<u8>> {
        h.all(kind::LINK)
            .map(|m| Link::parse(&mut m.cursor(), ctx).unwrap().name)
            .collect()
    }

    #[test]
    fn version0_root_symbol_table() {
        let Some((file, sb)) = open("h5py/h5py/tests/data_files/compound-dtype-complex.h5") else {
            return;
        };
        assert_eq!((sb.version, sb.offset), (0, 0));
        assert_eq!((sb.ctx.sizeof_offsets, sb.ctx.sizeof_lengths), (8, 8));
        assert_eq!((sb.group_leaf_k, sb.group_internal_k), (4, 16));
        assert_eq!(sb.root_object_header, 96);
        assert_eq!(sb.eof_address, file.len() as u64);
        assert_eq!((sb.extension, sb.driver_info.as_ref()), (None, None));
        let (btree, heap) = sb.root_symbol_table.unwrap();
        let root = ObjectHeader::read(&sb.reader(&file), sb.root_object_header).unwrap();
        assert_eq!(root.version, 1);
        let stab = root.first(kind::SYMBOL_TABLE).unwrap();
        let stab =
            crate::message::symbol_table::SymbolTable::parse(&mut stab.cursor(), &sb.ctx).unwrap();
        assert_eq!((stab.btree, stab.local_heap), (btree, heap));
    }

    #[test]
    fn version1_indexed_storage_k() {
        let Some((_, sb)) = open("hdf5/tools/test/h5format_convert/testfiles/old_h5fc_ext1_i.h5")
        else {
            return;
        };
        assert_eq!(sb.version, 1);
        assert_eq!(sb.indexed_storage_k, 64);
        assert_eq!(sb.root_object_header, 100);
    }

    #[test]
    fn version2_extension_with_paged_file_space() {
        let path = "hdf5/tools/test/h5repack/testfiles/h5repack_paged_persist.h5";
        let Some((file, sb)) = open(path) else {
            return;
        };
        assert_eq!(sb.version, 2);
        assert!(sb.checksum_ok);
        assert_eq!(sb.root_object_header, 200);
        let ext = ObjectHeader::read(&sb.reader(&file), sb.extension.unwrap()).unwrap();
        let m = ext.first(kind::FILE_SPACE_INFO).unwrap();
        let fs = FileSpaceInfo::parse(&mut m.cursor(), &sb.ctx).unwrap();
        assert_eq!(
            (fs.strategy, fs.persist, fs.threshold),
            (Strategy::Page, true, 1)
        );
        assert_eq!(fs.page_size(), Some(4096));
    }

    #[test]
    fn version2_extension_btree_k_and_sohm() {
        if let Some((file, sb)) = open("hdf5/tools/test/h5stat/testfiles/h5stat_tsohm.h5") {
            let ext = ObjectHeader::read(&sb.reader(&file), sb.extension.unwrap()).unwrap();
            let m = ext.first(kind::SHARED_MESSAGE_TABLE).unwrap();
            let t = SharedMessageTableMessage::parse(&mut m.cursor(), &sb.ctx).unwrap();
            assert!(t.num_indexes > 0 && t.table_address < file.len() as u64);
        }
        if let Some((file, sb)) = open("hdf5/test/testfiles/h5fc_ext1_i.h5") {
            assert_eq!((sb.version, sb.root_object_header), (3, 97));
            let ext = ObjectHeader::read(&sb.reader(&file), sb.extension.unwrap()).unwrap();
            let m = ext.first(kind::BTREE_K).unwrap();
            let k = BTreeK::parse(&mut m.cursor(), &sb.ctx).unwrap();
            assert!(k.indexed_storage_internal_k > 0 && k.group_internal_k > 0);
        }
    }

    #[test]
    fn version3_root_links() {
        let Some((file, sb)) = open("generated/complex_native.h5") else {
            return;
        };
        assert_eq!((sb.version, sb.root_object_header), (3, 48));
        let root = ObjectHeader::read(&sb.reader(&file), sb.root_object_header).unwrap();
        assert_eq!(root.version, 2);
        assert_eq!(root.times, None);
        let mut names = link_names(&root, &sb.ctx);
        names.sort();
        let expected: Vec<&[u8]> = vec![
            b"c128_be",
            b"c128_chunked_deflate",
            b"c128_le",
            b"c64_be",
            b"c64_le",
        ];
        assert_eq!(names, expected);
        assert_eq!(root.all(kind::ATTRIBUTE).count(), 1);
        // h5py's H5Oget_info: object header of /c64_le at 179 with all four times set.
        let dset = ObjectHeader::read(&sb.reader(&file), 179).unwrap();
        let t = dset.times.unwrap();
        assert_eq!(
            (t.access, t.modification, t.change, t.birth),
            (1795299350, 1795299350, 1795299350, 1795299350)
        );
    }

    #[test]
    fn userblocks() {
        if let Some((file, sb)) = open("hdf5/tools/test/h5jam/testfiles/twithub.h5") {
            assert_eq!((sb.version, sb.offset, sb.ctx.base_address), (0, 512, 512));
            let root = ObjectHeader::read(&sb.reader(&file), sb.root_object_header).unwrap();
            assert_eq!(root.address, 96);
            assert_eq!(root.all(kind::ATTRIBUTE).count(), 2);
        }
        if let Some((file, sb)) =
            open("jhdf/jhdf/src/test/resources/hdf5/test_userblock_latest.hdf5")
        {
            assert_eq!((sb.version, sb.offset), (3, 1024));
            let root = ObjectHeader::read(&sb.reader(&file), sb.root_object_header).unwrap();
            assert!(link_names(&root, &sb.ctx).is_empty());
        }
    }

    #[test]
    fn userblock_prepended_without_base_address_update() {
        // A stored base address of 0 with the superblock at 512: like the library, addresses
        // are taken relative to the superblock.
        let Some(orig) = corpus_file("generated/complex_native.h5") else {
            return;
        };
        let mut data = vec![0u8; 512];
        data.extend_from_slice(&orig);
        let file = Bytes::from(data);
        let sb = Superblock::read(&file).unwrap();
        assert_eq!(
            (sb.offset, sb.stored_base_address, sb.ctx.base_address),
            (512, 0, 512)
        );
        assert!(sb.checksum_ok);
        let root = ObjectHeader::read(&sb.reader(&file), sb.root_object_header).unwrap();
        assert_eq!(link_names(&root, &sb.ctx).len(), 5);
    }

    #[test]
    fn checksum_mismatch_is_reported() {
        let Some(orig) = corpus_file("generated/complex_native.h5") else {
            return;
        };
        let mut data = orig.to_vec();
        data[44] ^= 1; // inside the root object header address
        let sb = Superblock::read(&Bytes::from(data)).unwrap();
        assert!(!sb.checksum_ok);
    }

    #[test]
    fn not_hdf5_and_bad_fields() {
        assert!(matches!(
            Superblock::read(&Bytes::from_static(b"hello world, not hdf5")),
            Err(Error::Signature { .. })
        ));
        assert!(Superblock::read(&Bytes::new()).is_err());
        let mut b = SIGNATURE.to_vec();
        b.extend_from_slice(&[2, 3, 8, 0]);
        b.resize(64, 0);
        assert!(matches!(
            Superblock::read(&Bytes::from(b.clone())),
            Err(Error::Corrupt { .. })
        ));
        b[9] = 16;
        assert!(matches!(
            Superblock::read(&Bytes::from(b.clone())),
            Err(Error::Unsupported { .. })
        ));
        b[8] = 4;
        assert!(matches!(
            Superblock::read(&Bytes::from(b)),
            Err(Error::Unsupported { .. })
        ));
    }

    /// The byte just past the root object header (all of its chunks).
    fn root_end(file: &Bytes, sb: &Superblock) -> u64 {
        let root = ObjectHeader::read(&sb.reader(file), sb.root_object_header).unwrap();
        let end = root
            .messages
            .iter()
            .map(|m| m.address + m.data.len() as u64)
            .max()
            .unwrap();
        end + sb.ctx.base_address
    }

    #[test]
    fn truncation_anywhere_is_an_error() {
        for path in [
            "hdf5/test/testfiles/tmtimeo.h5",
            "jhdf/jhdf/src/test/resources/hdf5/test_userblock_latest.hdf5",
            "generated/complex_native.h5",
        ] {
            let Some(file) = corpus_file(path) else {
                continue;
            };
            let sb = Superblock::read(&file).unwrap();
            let end = root_end(&file, &sb);
            for n in 0..end {
                let cut = file.slice(..n as usize);
                let r = Superblock::read(&cut)
                    .and_then(|sb| ObjectHeader::read(&sb.reader(&cut), sb.root_object_header));
                assert!(r.is_err(), "{path} cut at {n} parsed");
            }
        }
    }

    #[test]
    fn corruption_anywhere_never_panics() {
        let Some(file) = corpus_file("hdf5/test/testfiles/tmtimeo.h5") else {
            return;
        };
        let sb = Superblock::read(&file).unwrap();
        let end = root_end(&file, &sb) as usize;
        for i in 0..end {
            for v in [0x00, 0xff, 0x80] {
                let mut data = file.to_vec();
                data[i] = v;
                let data = Bytes::from(data);
                if let Ok(sb) = Superblock::read(&data) {
                    let _ = ObjectHeader::read(&sb.reader(&data), sb.root_object_header);
                }
            }
        }
    }
}
