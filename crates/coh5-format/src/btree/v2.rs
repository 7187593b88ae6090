//! Version 2 B-trees (File Format Specification III.A.2): the header ("BTHD"), internal
//! nodes ("BTIN") and leaf nodes ("BTLF"), with the record layouts of types 1 to 11.
//!
//! Nodes do not say how many records they hold; the parent's child pointer (or the header,
//! for the root) does. The widths of the record-count fields inside child pointers are
//! derived from the node size exactly as libhdf5 derives them, level by level (see
//! [`NodeGeometry`]); getting them wrong misreads every internal node, which the node
//! checksums catch.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::limits::{MAX_BTREE_DEPTH, MAX_RANK, MAX_TREE_NODES};
use crate::read::{Context, Cursor, Reader};

const HEADER: &str = "v2 B-tree header";
const INTERNAL: &str = "v2 B-tree internal node";
const LEAF: &str = "v2 B-tree leaf node";
const RECORD: &str = "v2 B-tree record";

/// Signature, version, type and checksum: the fixed overhead of every node.
const NODE_PREFIX: u64 = 10;

/// The header of a version 2 B-tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BTreeV2 {
    /// Address of the "BTHD" header.
    pub address: u64,
    /// What the records are (1..=11, see [`Record`]).
    pub record_type: u8,
    /// Size of every node in bytes.
    pub node_size: u32,
    /// Size of one record in bytes.
    pub record_size: u16,
    /// Levels below the root (0: the root is a leaf).
    pub depth: u16,
    pub split_percent: u8,
    pub merge_percent: u8,
    /// Address of the root node; undefined for an empty tree.
    pub root: u64,
    pub root_records: u16,
    pub total_records: u64,
    geometry: NodeGeometry,
}

/// Where a shared object header message lives (record type 7 and the SOHM list index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedMessageLocation {
    /// In the index's fractal heap, under this 8-byte heap ID.
    Heap { ref_count: u32, heap_id: [u8; 8] },
    /// Still in the object header at `address`, as the `index`-th message of its type.
    ObjectHeader {
        message_type: u8,
        index: u16,
        address: u64,
    },
}

/// One record of a version 2 B-tree, decoded according to the tree's record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Type 1: indirectly accessed, non-filtered huge fractal heap object.
    HugeIndirect { address: u64, length: u64, id: u64 },
    /// Type 2: indirectly accessed, filtered huge fractal heap object.
    HugeIndirectFiltered {
        address: u64,
        length: u64,
        filter_mask: u32,
        memory_size: u64,
        id: u64,
    },
    /// Type 3: directly accessed, non-filtered huge fractal heap object.
    HugeDirect { address: u64, length: u64 },
    /// Type 4: directly accessed, filtered huge fractal heap object.
    HugeDirectFiltered {
        address: u64,
        length: u64,
        filter_mask: u32,
        memory_size: u64,
    },
    /// Type 5: a link of an indexed group, by name hash.
    LinkName { hash: u32, heap_id: [u8; 7] },
    /// Type 6: a link of an indexed group, by creation order.
    LinkCreationOrder { order: u64, heap_id: [u8; 7] },
    /// Type 7: a shared object header message.
    SharedMessage {
        hash: u32,
        location: SharedMessageLocation,
    },
    /// Type 8: an attribute of an object with dense attribute storage, by name hash.
    AttrName {
        heap_id: [u8; 8],
        flags: u8,
        creation_order: u32,
        hash: u32,
    },
    /// Type 9: an attribute of an object with dense attribute storage, by creation order.
    AttrCreationOrder {
        heap_id: [u8; 8],
        flags: u8,
        creation_order: u32,
    },
    /// Types 10 (no size, no mask: unfiltered) and 11 (filtered): one dataset chunk, with its
    /// scaled offsets (chunk index in each dataset dimension).
    Chunk {
        address: u64,
        size: Option<u64>,
        filter_mask: u32,
        offsets: Vec<u64>,
    },
}

/// What decoding chunk records (types 10 and 11) needs besides the tree header.
///
/// `rank` is the number of *dataset* dimensions (the layout message's dimensionality minus the
/// element-size dimension). `chunk_size_len` is the width of the type-11 "Chunk Size" field;
/// 0 means "derive it from the record size", which is always possible once `rank` is known.
/// `filtered` says whether the dataset has a filter pipeline; libhdf5 indexes filtered
/// datasets with type 11 and others with type 10, so a mismatch is reported as corruption.
/// Other record types ignore all of this; pass `RecordContext::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordContext {
    pub rank: usize,
    pub chunk_size_len: usize,
    pub filtered: bool,
}

/// Per-level node capacities and field widths, as libhdf5's `H5B2__hdr_init` computes them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeGeometry {
    /// Maximum records in a node at each level (0 = leaves).
    max_records: Vec<u64>,
    /// Width of "Number of Records" in child pointers (from the leaf capacity, the largest).
    records_width: usize,
    /// Width of "Total Number of Records" in pointers to children at each level.
    total_width: Vec<usize>,
}

/// Bytes needed to store `n` (at least one), libhdf5's `H5VM_limit_enc_size`.
pub(crate) fn width_of(n: u64) -> usize {
    let bits = 64 - n.leading_zeros() as usize;
    (bits.saturating_sub(1) / 8) + 1
}

impl NodeGeometry {
    fn new(
        node_size: u32,
        record_size: u16,
        depth: u16,
        sizeof_offsets: u8,
        at: u64,
    ) -> Result<Self> {
        let node_size = u64::from(node_size);
        let record_size = u64::from(record_size);
        let bad = |what: &str| Error::corrupt(HEADER, at, what.to_string());
        if record_size == 0 {
            return Err(bad("zero record size"));
        }
        let leaf = node_size
            .checked_sub(NODE_PREFIX)
            .ok_or_else(|| bad("node size smaller than a node's overhead"))?
            / record_size;
        if leaf == 0 {
            return Err(bad("a leaf node cannot hold one record"));
        }
        let records_width = width_of(leaf);
        let mut max_records = vec![leaf];
        let mut cumulative = vec![leaf];
        let mut total_width = vec![width_of(leaf)];
        for d in 1..=usize::from(depth) {
            let below_total = if d > 1 { total_width[d - 1] } else { 0 };
            let pointer = u64::from(sizeof_offsets) + (records_width + below_total) as u64;
            let max = node_size
                .checked_sub(NODE_PREFIX + pointer)
                .ok_or_else(|| bad("node size too small for an internal node"))?
                / (record_size + pointer);
            if max == 0 {
                return Err(bad("an internal node cannot hold one record"));
            }
            let cum = (max.saturating_add(1))
                .saturating_mul(cumulative[d - 1])
                .saturating_add(max);
            max_records.push(max);
            cumulative.push(cum);
            total_width.push(width_of(cum));
        }
        Ok(NodeGeometry {
            max_records,
            records_width,
            total_width,
        })
    }
}

impl BTreeV2 {
    /// Bytes of a header: signature, version, type, node size, record size, depth, split and
    /// merge percentages, root address, root records, total records and checksum.
    pub fn header_len(ctx: &Context) -> u64 {
        4 + 1
            + 1
            + 4
            + 2
            + 2
            + 1
            + 1
            + u64::from(ctx.sizeof_offsets)
            + 2
            + 4
            + u64::from(ctx.sizeof_lengths)
    }

    /// (address, length) of the root node, to be asked for together with other structures;
    /// `None` for an empty tree.
    pub fn root_span(&self) -> Option<(u64, u64)> {
        (self.root != crate::read::UNDEF_ADDR && self.root_records > 0)
            .then_some((self.root, u64::from(self.node_size)))
    }

    /// Reads and checks the header at `address`.
    pub fn read(r: &Reader, address: u64) -> Result<BTreeV2> {
        let ctx = r.ctx;
        let len = Self::header_len(&ctx);
        let data = r.cursor(address, len, HEADER)?;
        let mut c = data.cursor();
        c.signature(b"BTHD")?;
        let version = c.u8()?;
        if version != 0 {
            return Err(Error::unsupported(
                HEADER,
                address + 4,
                format!("version {version}"),
            ));
        }
        let record_type = c.u8()?;
        if !(1..=11).contains(&record_type) {
            return Err(Error::unsupported(
                HEADER,
                address + 5,
                format!("record type {record_type}"),
            ));
        }
        let node_size = c.u32()?;
        let record_size = c.u16()?;
        let depth = c.u16()?;
        let split_percent = c.u8()?;
        let merge_percent = c.u8()?;
        let root = c.offset(&ctx)?;
        let root_records = c.u16()?;
        let total_records = c.length(&ctx)?;
        c.verify_checksum(0)?;
        if u32::from(depth) > MAX_BTREE_DEPTH {
            return Err(Error::limit(
                HEADER,
                address,
                format!("tree of depth {depth}"),
            ));
        }
        let geometry =
            NodeGeometry::new(node_size, record_size, depth, ctx.sizeof_offsets, address)?;
        Ok(BTreeV2 {
            address,
            record_type,
            node_size,
            record_size,
            depth,
            split_percent,
            merge_percent,
            root,
            root_records,
            total_records,
            geometry,
        })
    }

    /// All records in key order (in-order traversal: for internal nodes, child 0, record 0,
    /// child 1, ...). `rc` matters only for chunk records (types 10 and 11).
    pub fn records(&self, r: &Reader, rc: &RecordContext) -> Result<Vec<Record>> {
        self.records_with(r, rc, &[])
    }

    /// [`BTreeV2::records`], asking for the spans `also` (relative address, length) together
    /// with the level below the root: a reader that will need them next (the heap blocks the
    /// records point into) saves their round trip.
    pub fn records_with(
        &self,
        r: &Reader,
        rc: &RecordContext,
        also: &[(u64, u64)],
    ) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        if self.root == crate::read::UNDEF_ADDR || self.root_records == 0 {
            return Ok(out);
        }
        let layout = RecordLayout::new(self, &r.ctx, rc)?;
        let mut walk = Walk {
            tree: self,
            r,
            layout,
            visited: HashSet::new(),
        };
        walk.all(
            self.root,
            self.depth,
            u64::from(self.root_records),
            also,
            &mut out,
        )?;
        Ok(out)
    }

    /// The record for which `cmp` returns `Equal`, descending from the root by key. `cmp`
    /// says how a record compares with the key sought (`Less`: the record comes before it),
    /// and must agree with the tree's order (for example the ID of huge objects).
    pub fn find(
        &self,
        r: &Reader,
        rc: &RecordContext,
        cmp: &dyn Fn(&Record) -> Ordering,
    ) -> Result<Option<Record>> {
        if self.root == crate::read::UNDEF_ADDR || self.root_records == 0 {
            return Ok(None);
        }
        let layout = RecordLayout::new(self, &r.ctx, rc)?;
        let mut walk = Walk {
            tree: self,
            r,
            layout,
            visited: HashSet::new(),
        };
        let (mut addr, mut depth, mut count) =
            (self.root, self.depth, u64::from(self.root_records));
        loop {
            let node = walk.node(addr, depth, count)?;
            let mut next = None;
            for (i, record) in node.records.into_iter().enumerate() {
                match cmp(&record) {
                    Ordering::Less => continue,
                    Ordering::Equal => return Ok(Some(record)),
                    Ordering::Greater => {
                        next = node.children.get(i).copied();
                        break;
                    }
                }
            }
            let next = match next {
                Some(child) => Some(child),
                None => node.children.last().copied(),
            };
            match next {
                Some((child, n)) if depth > 0 => {
                    addr = child;
                    count = n;
                    depth -= 1;
                }
                _ => return Ok(None),
            }
        }
    }
}

/// Sizes needed to decode records of one tree.
struct RecordLayout {
    ctx: Context,
    record_type: u8,
    rank: usize,
    chunk_size_len: usize,
}

impl RecordLayout {
    fn new(tree: &BTreeV2, ctx: &Context, rc: &RecordContext) -> Result<Self> {
        let mut layout = RecordLayout {
            ctx: *ctx,
            record_type: tree.record_type,
            rank: rc.rank,
            chunk_size_len: rc.chunk_size_len,
        };
        if tree.record_type == 10 || tree.record_type == 11 {
            let at = tree.address;
            if rc.filtered != (tree.record_type == 11) {
                return Err(Error::corrupt(
                    HEADER,
                    at,
                    format!(
                        "chunk tree of record type {} for a dataset that is {}filtered",
                        tree.record_type,
                        if rc.filtered { "" } else { "not " }
                    ),
                ));
            }
            let size = usize::from(tree.record_size);
            let fixed =
                usize::from(ctx.sizeof_offsets) + if tree.record_type == 11 { 4 } else { 0 };
            if layout.rank == 0 && tree.record_type == 10 {
                layout.rank = size.saturating_sub(fixed) / 8;
            }
            if layout.rank == 0 || layout.rank > MAX_RANK {
                return Err(Error::corrupt(
                    HEADER,
                    at,
                    format!("chunk records of rank {}", layout.rank),
                ));
            }
            let rest = size
                .checked_sub(fixed + 8 * layout.rank)
                .ok_or_else(|| Error::corrupt(HEADER, at, "record too small for its chunk rank"))?;
            if tree.record_type == 11 {
                if layout.chunk_size_len == 0 {
                    layout.chunk_size_len = rest;
                }
                if !(1..=8).contains(&layout.chunk_size_len) || layout.chunk_size_len != rest {
                    return Err(Error::corrupt(
                        HEADER,
                        at,
                        format!("chunk size field of {rest} bytes"),
                    ));
                }
            }
        }
        Ok(layout)
    }

    fn decode(&self, c: &mut Cursor) -> Result<Record> {
        let ctx = &self.ctx;
        Ok(match self.record_type {
            1 => Record::HugeIndirect {
                address: c.offset(ctx)?,
                length: c.length(ctx)?,
                id: c.length(ctx)?,
            },
            2 => Record::HugeIndirectFiltered {
                address: c.offset(ctx)?,
                length: c.length(ctx)?,
                filter_mask: c.u32()?,
                memory_size: c.length(ctx)?,
                id: c.length(ctx)?,
            },
            3 => Record::HugeDirect {
                address: c.offset(ctx)?,
                length: c.length(ctx)?,
            },
            4 => Record::HugeDirectFiltered {
                address: c.offset(ctx)?,
                length: c.length(ctx)?,
                filter_mask: c.u32()?,
                memory_size: c.length(ctx)?,
            },
            5 => Record::LinkName {
                hash: c.u32()?,
                heap_id: array(c)?,
            },
            6 => Record::LinkCreationOrder {
                order: c.u64()?,
                heap_id: array(c)?,
            },
            7 => {
                let (hash, location) = shared_message(c, ctx)?;
                Record::SharedMessage { hash, location }
            }
            8 => Record::AttrName {
                heap_id: array(c)?,
                flags: c.u8()?,
                creation_order: c.u32()?,
                hash: c.u32()?,
            },
            9 => Record::AttrCreationOrder {
                heap_id: array(c)?,
                flags: c.u8()?,
                creation_order: c.u32()?,
            },
            10 | 11 => {
                let address = c.offset(ctx)?;
                let (size, filter_mask) = if self.record_type == 11 {
                    (Some(c.uint(self.chunk_size_len)?), c.u32()?)
                } else {
                    (None, 0)
                };
                let offsets = (0..self.rank).map(|_| c.u64()).collect::<Result<_>>()?;
                Record::Chunk {
                    address,
                    size,
                    filter_mask,
                    offsets,
                }
            }
            t => return Err(c.unsupported(format!("record type {t}"))),
        })
    }
}

fn array<const N: usize>(c: &mut Cursor) -> Result<[u8; N]> {
    let mut a = [0u8; N];
    a.copy_from_slice(c.bytes(N)?);
    Ok(a)
}

/// Decodes a shared message record (B-tree type 7, and the entries of a SOHM list):
/// location byte, hash, then the heap or object-header form.
pub(crate) fn shared_message(
    c: &mut Cursor,
    ctx: &Context,
) -> Result<(u32, SharedMessageLocation)> {
    let at = c.addr();
    let location = c.u8()?;
    let hash = c.u32()?;
    let location = match location {
        0 => SharedMessageLocation::Heap {
            ref_count: c.u32()?,
            heap_id: array(c)?,
        },
        1 => {
            c.skip(1)?;
            SharedMessageLocation::ObjectHeader {
                message_type: c.u8()?,
                index: c.u16()?,
                address: c.offset(ctx)?,
            }
        }
        l => {
            return Err(Error::corrupt(
                c.structure(),
                at,
                format!("shared message location {l}"),
            ))
        }
    };
    Ok((hash, location))
}

/// A decoded node: its records and, for internal nodes, (address, record count) of each child.
struct Node {
    records: Vec<Record>,
    children: Vec<(u64, u64)>,
}

struct Walk<'t, 'r, 'a> {
    tree: &'t BTreeV2,
    r: &'r Reader<'a>,
    layout: RecordLayout,
    visited: HashSet<u64>,
}

impl Walk<'_, '_, '_> {
    /// Reads the node at `addr`, `depth` levels above the leaves, holding `count` records.
    fn node(&mut self, addr: u64, depth: u16, count: u64) -> Result<Node> {
        let structure = if depth == 0 { LEAF } else { INTERNAL };
        if !self.visited.insert(addr) {
            return Err(Error::Cycle {
                structure,
                offset: addr,
            });
        }
        if self.visited.len() > MAX_TREE_NODES {
            return Err(Error::limit(
                structure,
                addr,
                format!("more than {MAX_TREE_NODES} nodes"),
            ));
        }
        let geo = &self.tree.geometry;
        let level = usize::from(depth);
        let max = geo.max_records.get(level).copied().unwrap_or(0);
        if count > max {
            return Err(Error::corrupt(
                structure,
                addr,
                format!("{count} records in a node that holds at most {max}"),
            ));
        }
        let ctx = self.r.ctx;
        let record_size = u64::from(self.tree.record_size);
        let pointer = if depth == 0 {
            0
        } else {
            let total = if depth > 1 {
                geo.total_width.get(level - 1).copied().unwrap_or(0)
            } else {
                0
            };
            (usize::from(ctx.sizeof_offsets) + geo.records_width + total) as u64
        };
        // `count` is bounded by the node capacity, so this cannot overflow.
        let used =
            NODE_PREFIX + count * record_size + if depth == 0 { 0 } else { (count + 1) * pointer };
        if used > u64::from(self.tree.node_size) {
            return Err(Error::corrupt(
                structure,
                addr,
                "node contents exceed the node size",
            ));
        }
        let data = self.r.cursor(addr, used, structure)?;
        let mut c = data.cursor();
        c.signature(if depth == 0 { b"BTLF" } else { b"BTIN" })?;
        let version = c.u8()?;
        if version != 0 {
            return Err(c.unsupported(format!("version {version}")));
        }
        let record_type = c.u8()?;
        if record_type != self.tree.record_type {
            return Err(c.corrupt(format!(
                "record type {record_type} in a tree of type {}",
                self.tree.record_type
            )));
        }
        let mut records = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let mut rc = c
                .sub(usize::from(self.tree.record_size))?
                .with_structure(RECORD);
            records.push(self.layout.decode(&mut rc)?);
        }
        let mut children = Vec::new();
        if depth > 0 {
            children.reserve(count as usize + 1);
            for _ in 0..=count {
                let child = c.offset(&ctx)?;
                let n = c.uint(geo.records_width)?;
                if depth > 1 {
                    let width = geo.total_width.get(level - 1).copied().unwrap_or(0);
                    c.skip(width)?;
                }
                children.push((child, n));
            }
        }
        c.verify_checksum(0)?;
        Ok(Node { records, children })
    }

    /// Appends every record of the subtree at `addr` in key order. The nodes are read a level
    /// at a time, every node of a level asked for together (the first level below `addr`
    /// with the spans `also`), so a tree costs one round trip per level rather than one per
    /// node; the records are then put in order from memory.
    fn all(
        &mut self,
        addr: u64,
        depth: u16,
        count: u64,
        also: &[(u64, u64)],
        out: &mut Vec<Record>,
    ) -> Result<()> {
        let node_size = u64::from(self.tree.node_size);
        let mut nodes = HashMap::new();
        let mut level = vec![(addr, count)];
        let mut depth = Some(depth);
        let mut also = also;
        while let Some(d) = depth {
            let mut next = Vec::new();
            for &(at, n) in &level {
                let node = self.node(at, d, n)?;
                next.extend_from_slice(&node.children);
                nodes.insert(at, node);
            }
            let mut spans: Vec<(u64, u64)> = next.iter().map(|&(c, _)| (c, node_size)).collect();
            spans.extend_from_slice(std::mem::take(&mut also));
            self.r.prefetch_spans(&spans);
            level = next;
            depth = d.checked_sub(1);
        }
        in_order(addr, &mut nodes, out);
        Ok(())
    }
}

/// Appends the records of the subtree at `addr` from the nodes read, in key order: for
/// internal nodes child 0, record 0, child 1, ... (each node is taken once).
fn in_order(addr: u64, nodes: &mut HashMap<u64, Node>, out: &mut Vec<Record>) {
    let Some(node) = nodes.remove(&addr) else {
        return;
    };
    let mut children = node.children.into_iter();
    for record in node.records {
        if let Some((child, _)) = children.next() {
            in_order(child, nodes, out);
        }
        out.push(record);
    }
    if let Some((child, _)) = children.next() {
        in_order(child, nodes, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn corpus(path: &str) -> Bytes {
        crate::test_corpus::read(path)
    }

    fn find_all(hay: &[u8], needle: &[u8]) -> Vec<u64> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i as u64)
            .collect()
    }

    #[test]
    fn widths() {
        assert_eq!(width_of(0), 1);
        assert_eq!(width_of(123), 1);
        assert_eq!(width_of(255), 1);
        assert_eq!(width_of(256), 2);
        assert_eq!(width_of(20000), 2);
        assert_eq!(width_of(u64::MAX), 8);
    }

    /// Geometry of a link-name tree with libhdf5's default 512-byte nodes and 11-byte
    /// records: 45 records per leaf, 1-byte counts.
    #[test]
    fn default_geometry() {
        let g = NodeGeometry::new(512, 11, 2, 8, 0).unwrap();
        assert_eq!(g.max_records[0], 45);
        assert_eq!(g.records_width, 1);
        // Level 1: pointers of 8 + 1 bytes; (512 - 10 - 9) / (11 + 9) = 24.
        assert_eq!(g.max_records[1], 24);
        // Cumulative: 25 * 45 + 24 = 1149, two bytes.
        assert_eq!(g.total_width[1], 2);
        // Level 2: pointers of 8 + 1 + 2 bytes; (512 - 10 - 11) / (11 + 11) = 22.
        assert_eq!(g.max_records[2], 22);
        assert!(NodeGeometry::new(9, 11, 0, 8, 0).is_err());
        assert!(NodeGeometry::new(512, 0, 0, 8, 0).is_err());
        assert!(NodeGeometry::new(30, 11, 1, 8, 0).is_err());
    }

    /// Every v2 B-tree of every tagged corpus file reads, its record count matches the header,
    /// and records come out in key order where the key is a plain number.
    #[test]
    fn spans_given_to_records_with_go_out_with_the_level_below_the_root() {
        let src = crate::read::Hinted::new(corpus(
            "jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5",
        ));
        let r = Reader::new(&src, Context::default());
        let tree = find_all(&src.bytes, b"BTHD")
            .into_iter()
            .map(|a| BTreeV2::read(&r, a).unwrap())
            .find(|t| t.depth > 0)
            .expect("a tree with internal nodes");
        let rc = RecordContext::default();
        src.hints.lock().unwrap().clear();
        let records = tree.records_with(&r, &rc, &[(8, 16)]).unwrap();
        let first = src.hints.lock().unwrap()[0].clone();
        assert!(first.contains(&(8..24)), "{first:?}");
        assert!(
            first.len() > 1,
            "the root's children with the span: {first:?}"
        );
        assert_eq!(records, tree.records(&r, &rc).unwrap());
    }

    #[test]
    fn corpus_trees() {
        let files = [
            "pyfive/tests/data/new_style_groups.hdf5",
            "jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5",
            "jhdf/jhdf/src/test/resources/hdf5/test_attribute_latest.hdf5",
            "hdf5/test/testfiles/h5fc_ext1_i.h5",
            "hdf5/tools/test/h5stat/testfiles/h5stat_tsohm.h5",
        ];
        let mut trees = 0;
        let mut deep = 0;
        for path in files {
            let b = corpus(path);
            let r = Reader::new(&b, Context::default());
            for addr in find_all(&b, b"BTHD") {
                let tree = BTreeV2::read(&r, addr).unwrap();
                let rc = RecordContext::default();
                let records = match tree.record_type {
                    10 | 11 => {
                        // Chunk trees: the rank follows from the record size for type 10;
                        // type 11 is tried with each plausible rank.
                        match (1..=4).find_map(|rank| {
                            tree.records(
                                &r,
                                &RecordContext {
                                    rank,
                                    chunk_size_len: 0,
                                    filtered: tree.record_type == 11,
                                },
                            )
                            .ok()
                        }) {
                            Some(recs) => recs,
                            None => panic!("chunk tree at {addr} in {path}"),
                        }
                    }
                    _ => tree.records(&r, &rc).unwrap(),
                };
                assert_eq!(records.len() as u64, tree.total_records, "{path} @ {addr}");
                let keys: Vec<u64> = records
                    .iter()
                    .filter_map(|rec| match rec {
                        Record::LinkName { hash, .. } => Some(u64::from(*hash)),
                        Record::AttrName { hash, .. } => Some(u64::from(*hash)),
                        Record::LinkCreationOrder { order, .. } => Some(*order),
                        Record::AttrCreationOrder { creation_order, .. } => {
                            Some(u64::from(*creation_order))
                        }
                        _ => None,
                    })
                    .collect();
                assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{path} @ {addr}");
                // `find` reaches every record by its key.
                for rec in records.iter().take(50) {
                    if let Record::LinkCreationOrder { order, .. } = rec {
                        let o = *order;
                        let found = tree
                            .find(&r, &rc, &|x| match x {
                                Record::LinkCreationOrder { order, .. } => order.cmp(&o),
                                _ => Ordering::Less,
                            })
                            .unwrap();
                        assert_eq!(found.as_ref(), Some(rec));
                    }
                }
                trees += 1;
                if tree.depth > 0 {
                    deep += 1;
                }
            }
        }
        assert!(trees > 0);
        assert!(deep > 0, "no multi-level tree exercised");
    }

    fn header(
        record_type: u8,
        node_size: u32,
        record_size: u16,
        depth: u16,
        root: u64,
        nrec: u16,
        total: u64,
    ) -> Vec<u8> {
        let mut v = b"BTHD".to_vec();
        v.push(0);
        v.push(record_type);
        v.extend_from_slice(&node_size.to_le_bytes());
        v.extend_from_slice(&record_size.to_le_bytes());
        v.extend_from_slice(&depth.to_le_bytes());
        v.extend_from_slice(&[100, 40]);
        v.extend_from_slice(&root.to_le_bytes());
        v.extend_from_slice(&nrec.to_le_bytes());
        v.extend_from_slice(&total.to_le_bytes());
        let sum = crate::checksum::metadata_checksum(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    fn leaf(record_type: u8, records: &[&[u8]]) -> Vec<u8> {
        let mut v = b"BTLF".to_vec();
        v.push(0);
        v.push(record_type);
        for r in records {
            v.extend_from_slice(r);
        }
        let sum = crate::checksum::metadata_checksum(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }

    #[test]
    fn synthetic_leaf_and_corruptions() {
        let mut file = header(5, 64, 11, 0, 64, 2, 2);
        file.resize(64, 0);
        let rec1 = [1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];
        let rec2 = [2, 0, 0, 0, 7, 6, 5, 4, 3, 2, 1];
        file.extend_from_slice(&leaf(5, &[&rec1, &rec2]));
        let b = Bytes::from(file.clone());
        let r = Reader::new(&b, Context::default());
        let t = BTreeV2::read(&r, 0).unwrap();
        let recs = t.records(&r, &RecordContext::default()).unwrap();
        assert_eq!(
            recs,
            vec![
                Record::LinkName {
                    hash: 1,
                    heap_id: [1, 2, 3, 4, 5, 6, 7]
                },
                Record::LinkName {
                    hash: 2,
                    heap_id: [7, 6, 5, 4, 3, 2, 1]
                },
            ]
        );
        // Every single-bit flip is detected or harmless; none panics.
        for i in 0..file.len() {
            let mut v = file.clone();
            v[i] ^= 0x10;
            let b = Bytes::from(v);
            let r = Reader::new(&b, Context::default());
            if let Ok(t) = BTreeV2::read(&r, 0) {
                let _ = t.records(&r, &RecordContext::default());
            }
        }
        // The leaf's checksum covers its records.
        let mut v = file.clone();
        v[70] ^= 1;
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(matches!(
            t.records(&r, &RecordContext::default()),
            Err(Error::Checksum { .. })
        ));
        // Too many records for the node, and truncation.
        let mut v = header(5, 64, 11, 0, 64, 200, 200);
        v.resize(64, 0);
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        let t = BTreeV2::read(&r, 0).unwrap();
        assert!(t.records(&r, &RecordContext::default()).is_err());
        for n in 0..file.len() {
            let b = Bytes::from(file[..n].to_vec());
            let r = Reader::new(&b, Context::default());
            assert!(BTreeV2::read(&r, 0)
                .and_then(|t| t.records(&r, &RecordContext::default()))
                .is_err());
        }
    }

    #[test]
    fn internal_node_cycle_is_detected() {
        // Depth-1 tree whose root internal node points at itself.
        let mut file = header(5, 128, 11, 1, 64, 1, 3);
        file.resize(64, 0);
        let mut node = b"BTIN\x00\x05".to_vec();
        node.extend_from_slice(&[9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
        for _ in 0..2 {
            node.extend_from_slice(&64u64.to_le_bytes());
            node.push(1);
        }
        let sum = crate::checksum::metadata_checksum(&node);
        node.extend_from_slice(&sum.to_le_bytes());
        file.extend_from_slice(&node);
        let b = Bytes::from(file);
        let r = Reader::new(&b, Context::default());
        let t = BTreeV2::read(&r, 0).unwrap();
        assert!(matches!(
            t.records(&r, &RecordContext::default()),
            Err(Error::Cycle { .. })
        ));
    }
}
