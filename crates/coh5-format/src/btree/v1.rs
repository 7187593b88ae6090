//! Version 1 B-trees (File Format Specification III.A.1, signature "TREE") and the Symbol
//! Table Nodes they index for old-style groups (III.B, signature "SNOD").
//!
//! Node type 0 indexes a group's symbol table nodes, node type 1 a dataset's chunks. Both are
//! walked in key order; only the used part of each node ("Entries Used" children and one more
//! key) is read, so the tree's K value (from the superblock or a B-tree 'K' message) is not
//! needed.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::limits::{MAX_BTREE_DEPTH, MAX_RANK, MAX_TREE_NODES};
use crate::read::{Cursor, Reader};
use crate::symbol_table_entry::SymbolTableEntry;

const TREE: &str = "v1 B-tree node";
const SNOD: &str = "symbol table node";

/// Node type of group trees.
const GROUP_NODES: u8 = 0;
/// Bytes asked for ahead of each symbol-table node: a node of the default 2K = 32 entries with
/// 8-byte addresses is 1,288 bytes.
const SNOD_PREFETCH: u64 = 2048;
/// Node type of chunk trees.
const CHUNK_NODES: u8 = 1;

/// Bytes of a group tree's root node with the default 2K = 32 children and 8-byte addresses
/// and lengths: what to ask for ahead of reading it.
pub const GROUP_NODE_PREFETCH: u64 = 8 + 2 * 8 + 33 * 8 + 32 * 8;

/// Every symbol table entry of an old-style group, in B-tree (name) order.
pub fn group_entries(r: &Reader, btree_address: u64) -> Result<Vec<SymbolTableEntry>> {
    group_entries_with(r, btree_address, &[])
}

/// [`group_entries`], asking for the spans `also` (relative address, length) together with the
/// first level of nodes below the root: the caller's next structure (the group's heap of names)
/// then costs no round trip of its own.
pub fn group_entries_with(
    r: &Reader,
    btree_address: u64,
    also: &[(u64, u64)],
) -> Result<Vec<SymbolTableEntry>> {
    let key_len = usize::from(r.ctx.sizeof_lengths);
    let mut entries = Vec::new();
    let mut walk = Walk::new(r, GROUP_NODES, key_len);
    walk.also = also.to_vec();
    walk.node(btree_address, None, &mut |walk, _key, child| {
        walk.mark(child, SNOD)?;
        read_symbol_node(r, child, &mut entries)
    })?;
    Ok(entries)
}

/// (address, bytes to ask for) of the symbol nodes under a group tree's root when the root is a
/// leaf (the tree of a group of up to 2K × 2K links, nearly every group), else none: for a
/// reader that wants them fetched together with other structures before it walks the tree.
pub fn symbol_node_spans(r: &Reader, btree_address: u64) -> Result<Vec<(u64, u64)>> {
    let key_len = usize::from(r.ctx.sizeof_lengths);
    Ok(
        match node_children(r, btree_address, GROUP_NODES, key_len)? {
            Some((0, _, children)) => children.into_iter().map(|c| (c, SNOD_PREFETCH)).collect(),
            _ => Vec::new(),
        },
    )
}

/// (address, bytes to ask for) of the nodes under a chunk tree's root when the root is an inner
/// node, else none. `rank` counts a key's offsets as [`chunk_records`] does. For a reader that
/// wants the tree's second level fetched in a round trip it makes anyway (a dataset header's
/// distant continuation) instead of in one of its own before the leaves.
pub fn chunk_child_spans(r: &Reader, btree_address: u64, rank: usize) -> Result<Vec<(u64, u64)>> {
    if rank == 0 || rank > MAX_RANK + 1 {
        return Ok(Vec::new());
    }
    Ok(
        match node_children(r, btree_address, CHUNK_NODES, 8 + 8 * rank)? {
            // A child holds at most as many entries as a node of this tree can; the root's size
            // is the bound the walk uses too.
            Some((level, len, children)) if level > 0 => {
                children.into_iter().map(|c| (c, len)).collect()
            }
            _ => Vec::new(),
        },
    )
}

/// (level, encoded length, children) of the node at `addr`, or `None` when it is a node of
/// another type than `node_type`.
fn node_children(
    r: &Reader,
    addr: u64,
    node_type: u8,
    key_len: usize,
) -> Result<Option<(u8, u64, Vec<u64>)>> {
    let head = r.cursor(addr, 8, TREE)?;
    let mut c = head.cursor();
    c.signature(b"TREE")?;
    let (kind, level, used) = (c.u8()?, c.u8()?, usize::from(c.u16()?));
    if kind != node_type {
        return Ok(None);
    }
    let offsets = usize::from(r.ctx.sizeof_offsets);
    let len = 8 + 2 * offsets + (used + 1) * key_len + used * offsets;
    let body = r.cursor(addr, len as u64, TREE)?;
    let mut c = body.cursor();
    c.skip(8 + 2 * offsets)?;
    let mut children = Vec::with_capacity(used);
    for _ in 0..used {
        c.skip(key_len)?;
        children.push(c.offset(&r.ctx)?);
    }
    Ok(Some((level, len as u64, children)))
}

/// One leaf record of a chunk B-tree: where a chunk is stored and which of it is filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRecord {
    /// Size of the stored (possibly filtered) chunk in bytes.
    pub size: u32,
    /// Bit `i` set: filter `i` of the pipeline was skipped for this chunk.
    pub filter_mask: u32,
    /// Offset of the chunk's first element in each dimension, in elements; the last value is
    /// the offset in the datatype dimension and is zero.
    pub offsets: Vec<u64>,
    /// Address of the chunk's data.
    pub address: u64,
}

/// Every leaf record of a chunk B-tree (node type 1), in key order. `rank` is the number of
/// offsets in a key: the dataset's dimensions plus the element-size dimension, as the
/// layout message counts them.
pub fn chunk_records(r: &Reader, btree_address: u64, rank: usize) -> Result<Vec<ChunkRecord>> {
    if rank == 0 || rank > MAX_RANK + 1 {
        return Err(Error::corrupt(
            TREE,
            btree_address,
            format!("chunk key with {rank} dimensions"),
        ));
    }
    let key_len = 8 + 8 * rank;
    let mut records = Vec::new();
    let mut walk = Walk::new(r, CHUNK_NODES, key_len);
    walk.node(btree_address, None, &mut |_walk, key, child| {
        let mut c = key;
        let size = c.u32()?;
        let filter_mask = c.u32()?;
        let offsets = (0..rank).map(|_| c.u64()).collect::<Result<Vec<_>>>()?;
        records.push(ChunkRecord {
            size,
            filter_mask,
            offsets,
            address: child,
        });
        Ok(())
    })?;
    Ok(records)
}

/// Callback for one leaf child: the key to its left and the child address.
type Leaf<'f> = dyn FnMut(&mut Walk, Cursor, u64) -> Result<()> + 'f;

/// State of one tree walk: which addresses were seen and how many nodes were read.
struct Walk<'r, 'a> {
    r: &'r Reader<'a>,
    node_type: u8,
    key_len: usize,
    visited: HashSet<u64>,
    /// Spans asked for with the first prefetch of children (then cleared).
    also: Vec<(u64, u64)>,
}

impl<'r, 'a> Walk<'r, 'a> {
    fn new(r: &'r Reader<'a>, node_type: u8, key_len: usize) -> Self {
        Walk {
            r,
            node_type,
            key_len,
            visited: HashSet::new(),
            also: Vec::new(),
        }
    }

    /// Records a visit to `addr`; a second visit is a cycle, too many is a limit.
    fn mark(&mut self, addr: u64, structure: &'static str) -> Result<()> {
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
        Ok(())
    }

    /// Visits the node at `addr` and its subtree in key order. `level` is what the parent
    /// says this node's level must be (`None` for the root).
    fn node(&mut self, addr: u64, level: Option<u8>, leaf: &mut Leaf) -> Result<()> {
        self.mark(addr, TREE)?;
        let r = self.r;
        let ctx = r.ctx;
        let offsets = usize::from(ctx.sizeof_offsets);
        let head = r.cursor(addr, 8, TREE)?;
        let mut c = head.cursor();
        c.signature(b"TREE")?;
        let node_type = c.u8()?;
        let node_level = c.u8()?;
        let used = usize::from(c.u16()?);
        if node_type != self.node_type {
            return Err(Error::corrupt(
                TREE,
                addr + 4,
                format!("node type {node_type}, expected {}", self.node_type),
            ));
        }
        match level {
            Some(l) if l != node_level => {
                return Err(Error::corrupt(
                    TREE,
                    addr + 5,
                    format!("node level {node_level} under a node of level {}", l + 1),
                ))
            }
            None if u32::from(node_level) > MAX_BTREE_DEPTH => {
                return Err(Error::limit(
                    TREE,
                    addr + 5,
                    format!("tree of depth {node_level}"),
                ))
            }
            _ => {}
        }
        // Header, siblings, `used` children and `used + 1` keys.
        let len = 8 + 2 * offsets + (used + 1) * self.key_len + used * offsets;
        let body = r.cursor(addr, len as u64, TREE)?;
        let mut c = body.cursor();
        c.skip(8 + 2 * offsets)?;
        let mut entries = Vec::with_capacity(used);
        for _ in 0..used {
            let key = c.sub(self.key_len)?;
            entries.push((key, c.offset(&ctx)?));
        }
        // The children are the next level: ask for all of them at once. An inner child holds
        // at most as many entries as a node of this tree can, which this node's size bounds;
        // a group leaf's children are symbol-table nodes (a chunk leaf's are raw chunks,
        // which are not metadata).
        let child_len = if node_level > 0 {
            Some(len as u64)
        } else {
            (self.node_type == GROUP_NODES).then_some(SNOD_PREFETCH)
        };
        let mut spans = std::mem::take(&mut self.also);
        if let Some(child_len) = child_len {
            spans.extend(entries.iter().map(|&(_, child)| (child, child_len)));
        }
        r.prefetch_spans(&spans);
        for (key, child) in entries {
            if node_level == 0 {
                leaf(self, key, child)?;
            } else {
                self.node(child, Some(node_level - 1), leaf)?;
            }
        }
        Ok(())
    }
}

/// Appends the entries of the symbol table node at `addr`.
fn read_symbol_node(r: &Reader, addr: u64, out: &mut Vec<SymbolTableEntry>) -> Result<()> {
    let head = r.cursor(addr, 8, SNOD)?;
    let mut c = head.cursor();
    c.signature(b"SNOD")?;
    let version = c.u8()?;
    if version != 1 {
        return Err(Error::unsupported(
            SNOD,
            addr + 4,
            format!("version {version}"),
        ));
    }
    c.skip(1)?;
    let count = usize::from(c.u16()?);
    let entry_len = SymbolTableEntry::encoded_len(&r.ctx);
    let body = r.cursor(addr, (8 + count * entry_len) as u64, SNOD)?;
    let mut c = body.cursor();
    c.skip(8)?;
    out.reserve(count);
    for _ in 0..count {
        out.push(SymbolTableEntry::parse(&mut c, &r.ctx)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::local::LocalHeap;
    use crate::read::Context;
    use bytes::Bytes;

    use crate::test_corpus::CORPUS;

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

    /// (B-tree, local heap) of the symbol table message (type 0x11) in the first chunk of a
    /// version-1 object header, if the object is an old-style group.
    fn symbol_table(r: &Reader, ohdr: u64) -> Option<(u64, u64)> {
        let head = r.cursor(ohdr, 16, "test").ok()?;
        let mut c = head.cursor();
        let _version = c.u8().ok()?;
        c.skip(3).ok()?;
        c.skip(4).ok()?;
        let size = c.u32().ok()?;
        let chunk = r.cursor(ohdr + 16, u64::from(size), "test").ok()?;
        let mut c = chunk.cursor();
        while c.remaining() >= 8 {
            let kind = c.u16().ok()?;
            let len = c.u16().ok()?;
            c.skip(4).ok()?;
            let mut body = c.sub(usize::from(len)).ok()?;
            if kind == 0x11 {
                return Some((body.offset(&r.ctx).ok()?, body.offset(&r.ctx).ok()?));
            }
        }
        None
    }

    /// Compares every old-style group below `path` with the golden link lists.
    fn check_tree(r: &Reader, golden: &golden::Golden, path: &str, ohdr: u64) -> usize {
        let Some((tree, heap_addr)) = symbol_table(r, ohdr) else {
            return 0;
        };
        let heap = LocalHeap::read(r, heap_addr).unwrap();
        let entries = group_entries(r, tree).unwrap();
        // Under a leaf root the spans are the symbol nodes, which hold every entry.
        let spans = symbol_node_spans(r, tree).unwrap();
        let mut in_spans = 0;
        for &(addr, len) in &spans {
            let node = r.read(addr, 8, "test").unwrap();
            assert_eq!(&node[..4], b"SNOD", "{path}: span at {addr}");
            assert_eq!(len, SNOD_PREFETCH);
            in_spans += usize::from(u16::from_le_bytes([node[6], node[7]]));
        }
        if !spans.is_empty() {
            assert_eq!(in_spans, entries.len(), "{path}");
        }
        let names: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8(heap.string_at(e.name_offset).unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(names, golden.links(path), "links of {path}");
        let mut groups = 1;
        for (e, name) in entries.iter().zip(&names) {
            let child = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            groups += check_tree(r, golden, &child, e.object_header);
        }
        groups
    }

    /// Whole hierarchies of version-0 superblock files: the root object header address is in
    /// the root symbol table entry at byte 64.
    #[test]
    fn corpus_old_style_groups() {
        for (path, groups) in [
            ("hdf5/tools/test/h5dump/testfiles/tgroup.h5", 14),
            (
                "jhdf/jhdf/src/test/resources/hdf5/test_large_group_earliest.hdf5",
                2,
            ),
        ] {
            let b = corpus(path);
            let r = Reader::new(&b, Context::default());
            let mut c = Cursor::new(&b[64..72], 64, "test");
            let root = c.offset(&r.ctx).unwrap();
            let golden = golden::load(path);
            assert_eq!(check_tree(&r, &golden, "/", root), groups, "{path}");
        }
    }

    /// Minimal reader of the golden JSON's link lists (no JSON dependency in this crate).
    mod golden {
        pub struct Golden(String);

        pub fn load(path: &str) -> Golden {
            Golden(
                std::fs::read_to_string(format!("{}/golden/{path}.json", super::CORPUS)).unwrap(),
            )
        }

        impl Golden {
            /// The "links" array of object `path`.
            pub fn links(&self, path: &str) -> Vec<String> {
                let key = format!("\"{path}\": {{");
                let start = self.0.find(&key).expect("object in golden file");
                let rest = &self.0[start..];
                let l = rest.find("\"links\": [").unwrap() + "\"links\": [".len();
                let end = rest[l..].find(']').unwrap();
                rest[l..l + end]
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
        }
    }

    #[test]
    fn corpus_chunk_btree() {
        let b = corpus("pyfive/tests/data/chunked.hdf5");
        let r = Reader::new(&b, Context::default());
        // The (21, 16) int32 dataset in (2, 2) chunks: a root of level 1 above two leaves.
        let root = find_all(&b, b"TREE\x01\x01")[0];
        let recs = chunk_records(&r, root, 3).unwrap();
        assert_eq!(recs.len(), 11 * 8);
        let mut expected = Vec::new();
        for i in 0..11 {
            for j in 0..8 {
                expected.push(vec![2 * i, 2 * j, 0]);
            }
        }
        let got: Vec<_> = recs.iter().map(|c| c.offsets.clone()).collect();
        assert_eq!(got, expected);
        for rec in &recs {
            assert_eq!(rec.size, 16);
            assert_eq!(rec.filter_mask, 0);
            assert!(rec.address + 16 <= b.len() as u64);
        }
        // A key with the wrong rank misreads the node layout and must not panic.
        let _ = chunk_records(&r, root, 2);
        let _ = chunk_records(&r, root, MAX_RANK + 1);
    }

    #[test]
    fn chunk_child_spans_name_the_second_level() {
        let b = corpus("pyfive/tests/data/chunked.hdf5");
        let r = Reader::new(&b, Context::default());
        let root = find_all(&b, b"TREE\x01\x01")[0];
        let spans = chunk_child_spans(&r, root, 3).unwrap();
        assert_eq!(spans.len(), 2);
        let mut leaves = 0;
        for &(addr, len) in &spans {
            let node = r.read(addr, len, "test").unwrap();
            assert_eq!(&node[..6], b"TREE\x01\x00", "leaf at {addr}");
            leaves += usize::from(u16::from_le_bytes([node[6], node[7]]));
        }
        assert_eq!(leaves, chunk_records(&r, root, 3).unwrap().len());
        // A leaf root has no second level; group trees and absurd ranks give none.
        let leaf = spans[0].0;
        assert!(chunk_child_spans(&r, leaf, 3).unwrap().is_empty());
        assert!(chunk_child_spans(&r, root, 0).unwrap().is_empty());
        let g = Bytes::from(tree_node(0, 1, &[0, 0], &[64]));
        let gr = Reader::new(&g, Context::default());
        assert!(chunk_child_spans(&gr, 0, 3).unwrap().is_empty());
    }

    fn tree_node(node_type: u8, level: u8, keys: &[u64], children: &[u64]) -> Vec<u8> {
        let mut v = b"TREE".to_vec();
        v.push(node_type);
        v.push(level);
        v.extend_from_slice(&(children.len() as u16).to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        v.extend_from_slice(&u64::MAX.to_le_bytes());
        for (i, ch) in children.iter().enumerate() {
            v.extend_from_slice(&keys[i].to_le_bytes());
            v.extend_from_slice(&ch.to_le_bytes());
        }
        v.extend_from_slice(&keys[children.len()].to_le_bytes());
        v
    }

    #[test]
    fn cycles_and_bad_nodes_are_errors() {
        // An internal node whose child is itself.
        let b = Bytes::from(tree_node(0, 1, &[0, 0], &[0]));
        let r = Reader::new(&b, Context::default());
        assert!(matches!(group_entries(&r, 0), Err(Error::Cycle { .. })));

        // A child whose level does not descend.
        let mut v = tree_node(0, 1, &[0, 0], &[64]);
        v.resize(64, 0);
        v.extend_from_slice(&tree_node(0, 1, &[0, 0], &[0]));
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(matches!(group_entries(&r, 0), Err(Error::Corrupt { .. })));

        // Wrong node type.
        let mut v = tree_node(1, 0, &[0], &[]);
        v.resize(64, 0);
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(group_entries(&r, 0).is_err());
        assert!(chunk_records(&r, 0, 2).unwrap().is_empty());
        assert!(chunk_records(&r, 0, 0).is_err());

        // Leaf pointing at garbage instead of a symbol node, and truncations.
        let good = tree_node(0, 0, &[0, 8], &[48]);
        let mut v = good.clone();
        v.extend_from_slice(b"SNOX\x01\0\0\0");
        let b = Bytes::from(v);
        let r = Reader::new(&b, Context::default());
        assert!(matches!(group_entries(&r, 0), Err(Error::Signature { .. })));
        for n in 0..good.len() {
            let b = Bytes::from(good[..n].to_vec());
            let r = Reader::new(&b, Context::default());
            assert!(group_entries(&r, 0).is_err());
        }
    }
}
