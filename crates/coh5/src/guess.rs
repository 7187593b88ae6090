//! Where the datasets at some paths keep their data, worked out from the metadata in hand
//! alone, before an open has read what confirms it.
//!
//! In an ATL03 granule written with paged aggregation, every group's header is a stub whose
//! links (the symbol table message) libhdf5 moved to a continuation written at close, next to
//! the superblock extension, while the groups' name trees and heaps, the datasets' headers and
//! their chunk indexes sit earlier in the metadata. After the first read those are in hand but
//! the continuations are not, and the open itself waits for the extension. Finding each
//! group's names where libhdf5 creates them (right after its first header chunk, see
//! `coh5_format::root_hint`) gives the chunks a path leads to one round trip early, so they
//! are fetched together with the extension instead of after it.
//!
//! The same holds later for one dataset ([`header_ranges`]): when its header's first chunk is
//! in hand but a continuation is not (h5py and libhdf5 write it wherever the file ended when
//! attributes were added after the data), its data goes out with the continuation.
//!
//! The answer only says what to fetch early (`coh5_io::Ahead`): the read that follows resolves
//! the paths from the confirmed headers and decides what it reads. A wrong guess costs bytes.

use std::ops::Range;

use coh5_format::btree::v1::{chunk_records, group_entries};
use coh5_format::heap::local::LocalHeap;
use coh5_format::message::kind;
use coh5_format::message::layout::{ChunkIndex, Layout, LayoutMessage};
use coh5_format::object_header::ObjectHeader;
use coh5_format::root_hint::root_symbol_table;
use coh5_format::symbol_table_entry::CACHE_SYMBOLIC_LINK;
use coh5_format::Reader;
use coh5_format::UNDEF_ADDR;

/// Absolute byte ranges of the stored data of the datasets at `paths` (chunks of a version 1
/// chunk B-tree, or a contiguous extent), as far as `r` (a reader over the bytes in hand)
/// shows them; paths it cannot follow, and ranges that do not lie in the file, are left out.
pub(crate) fn stored_ranges(r: &Reader, root: u64, paths: &[String]) -> Vec<Range<u64>> {
    paths
        .iter()
        .filter_map(|p| dataset_ranges(r, root, p))
        .flatten()
        .collect()
}

fn dataset_ranges(r: &Reader, root: u64, path: &str) -> Option<Vec<Range<u64>>> {
    let mut addr = root;
    for name in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
        let (btree, heap) = root_symbol_table(r, addr)?;
        let heap = LocalHeap::read(r, heap).ok()?;
        addr = group_entries(r, btree)
            .ok()?
            .into_iter()
            .find(|e| {
                e.cache_type != CACHE_SYMBOLIC_LINK
                    && heap
                        .string_at(e.name_offset)
                        .is_ok_and(|n| n == name.as_bytes())
            })?
            .object_header;
    }
    header_ranges(r, &ObjectHeader::read(r, addr).ok()?)
}

/// Absolute byte ranges of the stored data of the dataset whose header (or first header
/// chunk) is `header`: the chunks of a version 1 chunk B-tree, as far as `r` shows the tree,
/// or a contiguous extent; `None` when its layout message is not there or names neither.
/// Ranges that do not lie in the file are left out.
pub(crate) fn header_ranges(r: &Reader, header: &ObjectHeader) -> Option<Vec<Range<u64>>> {
    let layout = LayoutMessage::parse(&mut header.first(kind::LAYOUT)?.cursor(), &r.ctx).ok()?;
    let size = r.src.size();
    let span = |at: u64, len: u64| {
        let start = r.absolute(at);
        start..start.saturating_add(len)
    };
    let ranges: Vec<Range<u64>> = match layout.layout {
        Layout::Chunked {
            chunk_dims,
            index: ChunkIndex::BTreeV1 { address },
            ..
        } if address != UNDEF_ADDR => chunk_records(r, address, chunk_dims.len() + 1)
            .ok()?
            .into_iter()
            .filter(|c| c.address != UNDEF_ADDR && c.size > 0)
            .map(|c| span(c.address, u64::from(c.size)))
            .collect(),
        Layout::Contiguous { address, size } if address != UNDEF_ADDR && size > 0 => {
            vec![span(address, size)]
        }
        _ => return None,
    };
    Some(
        ranges
            .into_iter()
            .filter(|range| range.start < range.end && range.end <= size)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use coh5_io::{MemorySource, SourceOptions};

    use crate::File;

    /// A fuzzer-found file whose chunk index, followed through the guessed groups, names chunks
    /// far past the end of the file (their sizes summed overflowed): they are not fetched early,
    /// and opening the file to read its paths does not panic.
    #[test]
    fn chunks_guessed_past_the_end_of_the_file_are_left_out() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/guessed_range_past_end.h5"
        ))
        .unwrap();
        let size = bytes.len() as u64;
        let source = Arc::new(MemorySource::new(bytes, "fuzz"));
        let file = File::from_source(source.clone()).unwrap();
        let mut paths = Vec::new();
        for link in file.root().and_then(|r| r.links()).unwrap() {
            let path = format!("/{}", link.name_str());
            if let Ok(crate::Object::Group(g)) = file.object(&path) {
                for l in g.links().unwrap_or_default() {
                    paths.push(format!("{path}/{}", l.name_str()));
                }
            }
            paths.push(path);
        }
        let reading = File::from_source_to_read(source, SourceOptions::new(), &paths);
        let inner = &reading.as_ref().expect("the file opens").inner;
        let in_hand = crate::meta::InHand(&inner.meta);
        let r = coh5_format::Reader::new(&in_hand, inner.ctx());
        let ranges = super::stored_ranges(&r, inner.superblock.root_object_header, &paths);
        assert!(ranges.iter().all(|r| r.end <= size), "{ranges:?}");
    }
}
