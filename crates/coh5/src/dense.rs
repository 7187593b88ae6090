//! Dense storage, shared by a group's links and an object's attributes: a version 2 B-tree
//! indexing the names, over a fractal heap holding the messages.
//!
//! The pieces depend on each other in three steps: the two headers (both named by the link or
//! attribute info message), then the tree's root node and the heap's root block, then the heap
//! blocks the records point into. Each step's reads go out together, so an uncached dense
//! group costs three round trips however its pieces are spread, where reading them as each is
//! needed cost one per piece.

use coh5_format::btree::v2::{BTreeV2, Record, RecordContext};
use coh5_format::heap::fractal::FractalHeap;
use coh5_format::object_header::MSG_FLAG_SHARED;
use coh5_format::Result;

use crate::file::Inner;

/// The records of the name index at `index` (in key order), with the heap blocks of the
/// messages they point to at `heap` already in the cache.
pub(crate) fn name_records(inner: &Inner, heap: u64, index: u64) -> Result<Vec<Record>> {
    let r = inner.reader();
    let ctx = inner.ctx();
    r.prefetch_spans(&[
        (index, BTreeV2::header_len(&ctx)),
        (heap, FractalHeap::header_len(&ctx)),
    ]);
    let tree = BTreeV2::read(&r, index)?;
    // The heap is only asked about for hints here: its errors surface when a record's message
    // is looked up, and a tree without records never needs it.
    let fractal = inner.fractal_heap(heap).ok();
    let roots: Vec<(u64, u64)> = [
        tree.root_span(),
        fractal.as_ref().and_then(|h| h.root_span()),
    ]
    .into_iter()
    .flatten()
    .collect();
    r.prefetch_spans(&roots);
    let records = tree.records(&r, &RecordContext::default())?;
    if let Some(fractal) = fractal {
        let ids = records.iter().filter_map(|record| match record {
            Record::LinkName { heap_id, .. } => Some(&heap_id[..]),
            Record::AttrName { heap_id, flags, .. } if flags & MSG_FLAG_SHARED == 0 => {
                Some(&heap_id[..])
            }
            _ => None,
        });
        r.prefetch_spans(&fractal.object_spans(&r, ids));
    }
    Ok(records)
}
