//! Shared Object Header Message Table (File Format Specification III.I, signature "SMTB")
//! and its indexes: shared message record lists ("SMLI") or version 2 B-trees of type 7.
//!
//! The table is found through the Shared Message Table message of the superblock extension,
//! which also gives the number of indexes. Shared messages themselves live in each index's
//! fractal heap, under the 8-byte heap IDs that sharing object headers carry.

use crate::btree::v2::{shared_message, BTreeV2, Record, RecordContext, SharedMessageLocation};
use crate::error::{Error, Result};
use crate::read::Reader;

const TABLE: &str = "shared message table";
const LIST: &str = "shared message list";

/// Index type 0: a list ("SMLI"); 1: a v2 B-tree.
pub const INDEX_LIST: u8 = 0;
pub const INDEX_BTREE: u8 = 1;

/// The master table: one entry per index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMessageTable {
    pub indexes: Vec<SohmIndex>,
}

/// One index of shared messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SohmIndex {
    /// [`INDEX_LIST`] or [`INDEX_BTREE`].
    pub index_type: u8,
    /// Bit flags of the message kinds tracked: bit 0 dataspace, 1 datatype, 2 fill value,
    /// 3 filter pipeline, 4 attribute.
    pub message_types: u16,
    /// Messages smaller than this are not shared.
    pub min_size: u32,
    /// Above this many messages the list becomes a B-tree.
    pub list_cutoff: u16,
    /// Below this many messages the B-tree becomes a list.
    pub btree_cutoff: u16,
    pub num_messages: u32,
    /// Address of the list or the B-tree header.
    pub index_address: u64,
    /// Address of the fractal heap holding the shared messages.
    pub heap_address: u64,
}

/// One record of an index: the message's hash and where the message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMessage {
    pub hash: u32,
    pub location: SharedMessageLocation,
}

/// The flag bit of a header message type in an index's type mask: bit N stands for message
/// type N (libhdf5's `H5O_SHMESG_*_FLAG`), so dataspace is 0x2, datatype 0x8, fill value 0x20,
/// filter pipeline 0x800 and attribute 0x1000. `None` for kinds that are never shared.
fn type_flag(message_kind: u16) -> Option<u16> {
    matches!(message_kind, 0x01 | 0x03 | 0x05 | 0x0b | 0x0c).then(|| 1 << message_kind)
}

impl SharedMessageTable {
    /// Reads the table at `address` with `num_indexes` entries (from the Shared Message Table
    /// message) and checks its checksum.
    pub fn read(r: &Reader, address: u64, num_indexes: u8) -> Result<SharedMessageTable> {
        let ctx = r.ctx;
        let entry = 14 + 2 * u64::from(ctx.sizeof_offsets);
        let len = 4 + u64::from(num_indexes) * entry + 4;
        let data = r.cursor(address, len, TABLE)?;
        let mut c = data.cursor();
        c.signature(b"SMTB")?;
        let mut indexes = Vec::with_capacity(usize::from(num_indexes));
        for _ in 0..num_indexes {
            let version = c.u8()?;
            if version != 0 {
                return Err(c.unsupported(format!("index version {version}")));
            }
            let index_type = c.u8()?;
            if index_type > INDEX_BTREE {
                return Err(c.corrupt(format!("index type {index_type}")));
            }
            indexes.push(SohmIndex {
                index_type,
                message_types: c.u16()?,
                min_size: c.u32()?,
                list_cutoff: c.u16()?,
                btree_cutoff: c.u16()?,
                num_messages: u32::from(c.u16()?),
                index_address: c.offset(&ctx)?,
                heap_address: c.offset(&ctx)?,
            });
        }
        c.verify_checksum(0)?;
        Ok(SharedMessageTable { indexes })
    }

    /// Fractal heap holding shared messages of this header-message type (1 dataspace,
    /// 3 datatype, 5 fill value, 0xB filter pipeline, 0xC attribute), from the index whose
    /// flags include it.
    pub fn heap_for(&self, message_kind: u16) -> Option<u64> {
        let flag = type_flag(message_kind)?;
        self.indexes
            .iter()
            .find(|i| i.message_types & flag != 0)
            .map(|i| i.heap_address)
    }
}

impl SohmIndex {
    /// Every record of this index, from its list or its B-tree.
    pub fn messages(&self, r: &Reader) -> Result<Vec<SharedMessage>> {
        if self.num_messages == 0 {
            return Ok(Vec::new());
        }
        if self.index_type == INDEX_BTREE {
            let tree = BTreeV2::read(r, self.index_address)?;
            if tree.record_type != 7 {
                return Err(Error::corrupt(
                    TABLE,
                    self.index_address,
                    format!("index B-tree of record type {}", tree.record_type),
                ));
            }
            return tree
                .records(r, &RecordContext::default())?
                .into_iter()
                .map(|rec| match rec {
                    Record::SharedMessage { hash, location } => {
                        Ok(SharedMessage { hash, location })
                    }
                    _ => Err(Error::corrupt(
                        TABLE,
                        self.index_address,
                        "not a shared message",
                    )),
                })
                .collect();
        }
        // List records have a fixed size: location, hash, and the larger of the two forms.
        let ctx = r.ctx;
        let record = 1 + 4 + 12u64.max(4 + u64::from(ctx.sizeof_offsets));
        let len = 4 + u64::from(self.num_messages) * record + 4;
        let data = r.cursor(self.index_address, len, LIST)?;
        let mut c = data.cursor();
        c.signature(b"SMLI")?;
        let mut out = Vec::with_capacity(self.num_messages as usize);
        for _ in 0..self.num_messages {
            let mut rc = c.sub(record as usize)?;
            let (hash, location) = shared_message(&mut rc, &ctx)?;
            out.push(SharedMessage { hash, location });
        }
        c.verify_checksum(0)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::fractal::FractalHeap;
    use crate::read::Context;
    use bytes::Bytes;

    fn find_all(hay: &[u8], needle: &[u8]) -> Vec<u64> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i as u64)
            .collect()
    }

    /// Reads every SOHM table in files tagged `sb_ext:sohm_table`. The number of indexes is
    /// in the superblock extension; here it is the one count whose checksum verifies.
    #[test]
    fn corpus_tables() {
        let files = [
            "hdf5/tools/test/h5stat/testfiles/h5stat_tsohm.h5",
            "hdf5/tools/test/h5format_convert/testfiles/h5fc_ext1_s.h5",
            "hdf5/test/testfiles/h5fc_ext2_sf.h5",
        ];
        let mut heap_messages = 0;
        let mut tables = 0;
        for path in files {
            let b = crate::test_corpus::read(path);
            let r = Reader::new(&b, Context::default());
            for addr in find_all(&b, b"SMTB") {
                let table = (1..=6u8)
                    .find_map(|n| SharedMessageTable::read(&r, addr, n).ok())
                    .expect("a table whose checksum verifies");
                tables += 1;
                for kind in [1u16, 3, 5, 0xb, 0xc] {
                    let owner = table
                        .indexes
                        .iter()
                        .find(|i| i.message_types & (1 << kind) != 0);
                    assert_eq!(table.heap_for(kind), owner.map(|i| i.heap_address));
                }
                assert_eq!(table.heap_for(0x10), None);
                for index in &table.indexes {
                    let messages = index.messages(&r).unwrap();
                    assert_eq!(messages.len() as u32, index.num_messages, "{path}");
                    for m in &messages {
                        if let SharedMessageLocation::Heap { heap_id, .. } = &m.location {
                            let heap = FractalHeap::read(&r, index.heap_address).unwrap();
                            let body = heap.object(&r, heap_id).unwrap();
                            // The record's hash is lookup3 of the encoded message, seeded
                            // with the message type.
                            assert!(
                                [1, 3, 5, 0xb, 0xc]
                                    .iter()
                                    .any(|&t| crate::checksum::lookup3(&body, t) == m.hash),
                                "{path}"
                            );
                            heap_messages += 1;
                        }
                    }
                }
            }
        }
        assert!(tables > 0);
        assert!(heap_messages > 0);
    }

    /// A one-index table with 8-byte addresses, checksummed.
    fn table(index_type: u8, types: u16, n: u16, index: u64, heap: u64) -> Vec<u8> {
        let mut v = b"SMTB".to_vec();
        v.extend_from_slice(&[0, index_type]);
        v.extend_from_slice(&types.to_le_bytes());
        v.extend_from_slice(&50u32.to_le_bytes());
        v.extend_from_slice(&50u16.to_le_bytes());
        v.extend_from_slice(&40u16.to_le_bytes());
        v.extend_from_slice(&n.to_le_bytes());
        v.extend_from_slice(&index.to_le_bytes());
        v.extend_from_slice(&heap.to_le_bytes());
        let s = crate::checksum::metadata_checksum(&v);
        v.extend_from_slice(&s.to_le_bytes());
        v
    }

    #[test]
    fn synthetic_list_and_errors() {
        let mut file = table(INDEX_LIST, 1 << 3, 1, 100, 500); // datatypes only
        file.resize(100, 0);
        let mut list = b"SMLI".to_vec();
        list.push(1); // in an object header
        list.extend_from_slice(&7u32.to_le_bytes());
        list.extend_from_slice(&[0, 3, 2, 0]);
        list.extend_from_slice(&4096u64.to_le_bytes());
        let s = crate::checksum::metadata_checksum(&list);
        list.extend_from_slice(&s.to_le_bytes());
        file.extend_from_slice(&list);
        let b = Bytes::from(file.clone());
        let r = Reader::new(&b, Context::default());
        let t = SharedMessageTable::read(&r, 0, 1).unwrap();
        assert_eq!(t.heap_for(3), Some(500));
        assert_eq!(t.heap_for(1), None);
        let m = t.indexes[0].messages(&r).unwrap();
        assert_eq!(
            m,
            vec![SharedMessage {
                hash: 7,
                location: SharedMessageLocation::ObjectHeader {
                    message_type: 3,
                    index: 2,
                    address: 4096
                }
            }]
        );
        // Wrong index count fails the checksum; flips never panic; truncation errors.
        assert!(SharedMessageTable::read(&r, 0, 2).is_err());
        for i in 0..file.len() {
            let mut v = file.clone();
            v[i] ^= 0x5a;
            let b = Bytes::from(v);
            let r = Reader::new(&b, Context::default());
            if let Ok(t) = SharedMessageTable::read(&r, 0, 1) {
                let _ = t.indexes[0].messages(&r);
            }
        }
        for n in 0..file.len() {
            let b = Bytes::from(file[..n].to_vec());
            let r = Reader::new(&b, Context::default());
            assert!(SharedMessageTable::read(&r, 0, 1)
                .and_then(|t| t.indexes[0].messages(&r))
                .is_err());
        }
    }
}
