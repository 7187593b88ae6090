//! Where an old-style root group keeps its names, told from bytes already at hand.
//!
//! A version 0/1 superblock records the root group's symbol table (B-tree and local heap); a
//! version 2/3 superblock names only the root's object header. libhdf5 moves the part of that
//! header which grows (its attributes, and with them the symbol table message) to a
//! continuation written at close, far from the header, and relocates the heap's data segment
//! when the names outgrow it. Reading any path would then wait for the continuation before the
//! names could even be asked for. libhdf5 creates the root's B-tree node and local heap right
//! after the root's first header chunk, so they are looked for there.
//!
//! The answer is only a prefetch hint: what is fetched early, never what is decoded (the links
//! still come from the header's own symbol table message). A wrong guess costs bytes.

use crate::heap::local::LocalHeap;
use crate::message::kind;
use crate::message::symbol_table::SymbolTable;
use crate::object_header::ObjectHeader;
use crate::read::Reader;

/// How far past the root's B-tree node the heap is looked for: a group node of the default
/// K (16) takes 544 bytes with 8-byte addresses, and K rarely exceeds a few dozen.
const HEAP_WINDOW: u64 = 4096;

/// (B-tree, local heap) of the root group whose object header is at `root`, read from `r`
/// alone (a reader over the bytes already fetched): the first chunk's own symbol table message
/// when it holds one, else, after a version 1 first chunk, the B-tree node of group type that
/// directly follows it and the first valid local heap after that. `None` when neither fits.
pub fn root_symbol_table(r: &Reader, root: u64) -> Option<(u64, u64)> {
    let (header, _) = ObjectHeader::read_first_chunk(r, root).ok()?;
    if let Some(m) = header.first(kind::SYMBOL_TABLE) {
        let table = SymbolTable::parse(&mut m.cursor(), &r.ctx).ok()?;
        return Some((table.btree, table.local_heap));
    }
    if header.version != 1 {
        return None;
    }
    let node = root.checked_add(header.chunk0_len)?;
    let head = r.read(node, 5, "v1 B-tree node").ok()?;
    if &head[..4] != b"TREE" || head[4] != 0 {
        return None;
    }
    (node + 8..node.saturating_add(HEAP_WINDOW))
        .step_by(8)
        .find(|&at| {
            r.read(at, 4, "local heap").is_ok_and(|s| &s[..] == b"HEAP")
                && LocalHeap::data_span(r, at).is_ok_and(|(_, len)| len > 0)
        })
        .map(|heap| (node, heap))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::read::Context;

    /// A v1 header at 0 whose first chunk is `messages`, then `after`.
    fn file(messages: &[u8], after: &[u8]) -> Bytes {
        let mut f = vec![1, 0, 1, 0, 1, 0, 0, 0];
        f.extend_from_slice(&(messages.len() as u32).to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(messages);
        f.extend_from_slice(after);
        Bytes::from(f)
    }

    fn message(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut m = kind.to_le_bytes().to_vec();
        m.extend_from_slice(&(data.len() as u16).to_le_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(data);
        m
    }

    fn heap(data_addr: u64, size: u64) -> Vec<u8> {
        let mut h = b"HEAP\0\0\0\0".to_vec();
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&u64::MAX.to_le_bytes());
        h.extend_from_slice(&data_addr.to_le_bytes());
        h
    }

    fn guess(f: &Bytes) -> Option<(u64, u64)> {
        root_symbol_table(&Reader::new(f, Context::default()), 0)
    }

    #[test]
    fn the_header_own_message_wins() {
        let mut st = 7000u64.to_le_bytes().to_vec();
        st.extend_from_slice(&9000u64.to_le_bytes());
        let f = file(&message(kind::SYMBOL_TABLE, &st), b"TREE\0\0\0\0");
        assert_eq!(guess(&f), Some((7000, 9000)));
    }

    #[test]
    fn tree_then_heap_after_a_continuation_only_chunk() {
        let cont = message(kind::CONTINUATION, &[0; 16]);
        let mut after = b"TREE\0\0\0\0".to_vec();
        after.resize(544, 0);
        after.extend_from_slice(&heap(1 << 20, 176));
        let f = file(&cont, &after);
        let node = 16 + cont.len() as u64;
        assert_eq!(guess(&f), Some((node, node + 544)));
    }

    #[test]
    fn no_guess_without_a_group_node_or_a_valid_heap() {
        let cont = message(kind::CONTINUATION, &[0; 16]);
        // A chunk B-tree node (type 1) is not a group's.
        assert_eq!(guess(&file(&cont, b"TREE\x01\0\0\0")), None);
        // A heap of version 1 or with no data is not taken.
        let mut after = b"TREE\0\0\0\0".to_vec();
        let mut bad = heap(4096, 176);
        bad[4] = 1;
        after.extend_from_slice(&bad);
        after.extend_from_slice(&heap(4096, 0));
        assert_eq!(guess(&file(&cont, &after)), None);
        // Bytes that end early are no guess either.
        assert_eq!(guess(&Bytes::from_static(&[1, 0, 1])), None);
        // Nor is a version 2 header.
        assert_eq!(
            guess(&Bytes::from_static(b"OHDR\x02\0\0\0\0\0\0\0\0\0\0\0")),
            None
        );
    }
}
