//! Dense storage, shared by a group's links and an object's attributes: a version 2 B-tree
//! indexing the names, over a fractal heap holding the messages.
//!
//! The pieces depend on each other in three steps: the two headers (both named by the link or
//! attribute info message), then the tree's root node and the heap's root block, then the heap
//! blocks the records point into. Each step's reads go out together, so an uncached dense
//! group costs three round trips however its pieces are spread, where reading them as each is
//! needed cost one per piece. Since every record's message is read, the direct blocks the
//! heap's root names go out with the tree's second level, so a tree of depth one costs no
//! more.

use std::sync::Arc;

use coh5_format::btree::v2::{BTreeV2, Record, RecordContext};
use coh5_format::heap::fractal::FractalHeap;
use coh5_format::object_header::MSG_FLAG_SHARED;
use coh5_format::Result;

use crate::file::Inner;

/// The records of the name index at `index` (in key order), with the heap blocks of the
/// messages they point to at `heap` already in the cache.
pub(crate) fn name_records(inner: &Inner, heap: u64, index: u64) -> Result<Vec<Record>> {
    let r = inner.reader();
    r.prefetch_spans(&header_spans(inner, &[(heap, index)]));
    let tree = BTreeV2::read(&r, index)?;
    // The heap is only asked about for hints here: its errors surface when a record's message
    // is looked up, and a tree without records never needs it.
    let fractal = inner.fractal_heap(heap).ok();
    r.prefetch_spans(&root_spans(&tree, fractal.as_deref()));
    let blocks = fractal
        .as_ref()
        .map(|h| h.direct_block_spans(&r))
        .unwrap_or_default();
    let records = tree.records_with(&r, &RecordContext::default(), &blocks)?;
    if let Some(fractal) = fractal {
        r.prefetch_spans(&fractal.object_spans(&r, heap_ids(&records)));
    }
    Ok(records)
}

/// Brings the blocks of many dense stores, given as (heap, name index), into the cache in the
/// same three steps as [`name_records`], each step's reads for all of them together: a level
/// of a walk that shows every object's attributes costs three round trips, not three per
/// object. Errors are left for the reads that follow.
pub(crate) fn prefetch(inner: &Inner, stores: &[(u64, u64)]) {
    if stores.is_empty() {
        return;
    }
    let r = inner.reader();
    r.prefetch_spans(&header_spans(inner, stores));
    let opened: Vec<(BTreeV2, Option<Arc<FractalHeap>>)> = stores
        .iter()
        .filter_map(|&(heap, index)| {
            Some((
                BTreeV2::read(&r, index).ok()?,
                inner.fractal_heap(heap).ok(),
            ))
        })
        .collect();
    let roots: Vec<(u64, u64)> = opened
        .iter()
        .flat_map(|(tree, heap)| root_spans(tree, heap.as_deref()))
        .collect();
    r.prefetch_spans(&roots);
    // Every object of each heap is wanted: its direct blocks go out with the trees' next
    // level. Trees are still walked one after another below that level.
    let blocks: Vec<(u64, u64)> = opened
        .iter()
        .filter_map(|(_, heap)| Some(heap.as_ref()?.direct_block_spans(&r)))
        .flatten()
        .collect();
    r.prefetch_spans(&blocks);
    let objects: Vec<(u64, u64)> = opened
        .iter()
        .filter_map(|(tree, heap)| {
            let records = tree.records(&r, &RecordContext::default()).ok()?;
            Some(heap.as_ref()?.object_spans(&r, heap_ids(&records)))
        })
        .flatten()
        .collect();
    r.prefetch_spans(&objects);
}

/// The headers of the name indexes and heaps of `stores` (heap, name index).
fn header_spans(inner: &Inner, stores: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let ctx = inner.ctx();
    stores
        .iter()
        .flat_map(|&(heap, index)| {
            [
                (index, BTreeV2::header_len(&ctx)),
                (heap, FractalHeap::header_len(&ctx)),
            ]
        })
        .collect()
}

/// The root node of a name index and the root block of its heap, where they have one.
fn root_spans(tree: &BTreeV2, heap: Option<&FractalHeap>) -> Vec<(u64, u64)> {
    [tree.root_span(), heap.and_then(|h| h.root_span())]
        .into_iter()
        .flatten()
        .collect()
}

/// The heap IDs of the messages records point to in their own heap (a shared attribute's
/// points into the shared-message heap).
fn heap_ids(records: &[Record]) -> impl Iterator<Item = &[u8]> {
    records.iter().filter_map(|record| match record {
        Record::LinkName { heap_id, .. } => Some(&heap_id[..]),
        Record::AttrName { heap_id, flags, .. } if flags & MSG_FLAG_SHARED == 0 => {
            Some(&heap_id[..])
        }
        _ => None,
    })
}
