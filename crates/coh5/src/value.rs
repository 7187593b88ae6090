//! Element values in canonical form (SPEC.md §8), with variable-length data and references
//! resolved against the file.

use bytes::Bytes;
use coh5_format::dataspace::Dataspace;
use coh5_format::datatype::Datatype;
use coh5_format::message::kind;
use coh5_format::value::canonical::{encode, Resolver};
use coh5_format::value::heap_ids::collections;
use coh5_format::{Cursor, Error as FormatError, Result};

use crate::file::Inner;

impl Resolver for Inner {
    fn global_heap_object(&self, collection: u64, index: u32) -> Result<Bytes> {
        let heap = self.global_heap(collection)?;
        let index = u16::try_from(index).ok();
        index.and_then(|i| heap.object(i)).ok_or_else(|| {
            FormatError::corrupt(
                "global heap collection",
                collection,
                format!("no object {index:?}"),
            )
        })
    }

    /// The path libhdf5 names the object by; an object that exists but has no path from the
    /// root is named by the empty string, as h5py does.
    fn object_path(&self, address: u64) -> Option<String> {
        if self.storage_paths.get().is_none() {
            if let Some(path) = crate::paths::unique_path(self, address) {
                return Some(path);
            }
        }
        match crate::paths::storage_paths(self).get(&address) {
            Some(p) => Some(p.clone()),
            None => self.header(address).ok().map(|_| String::new()),
        }
    }

    fn dataspace(&self, address: u64) -> Option<Dataspace> {
        let header = self.header(address).ok()?;
        let m = header.first(kind::DATASPACE)?;
        let body = self.message_body(m).ok()?;
        Dataspace::parse(
            &mut Cursor::new(&body, m.address, "dataspace message"),
            &self.ctx(),
        )
        .ok()
    }
}

/// The canonical encoding of `count` stored elements of type `dt`.
pub(crate) fn canonical_bytes(
    inner: &Inner,
    dt: &Datatype,
    data: &[u8],
    count: u64,
) -> Result<Vec<u8>> {
    let ctx = inner.ctx();
    // Elements are encoded one by one, each looking up its heap objects; the collections they
    // name are fetched together first.
    inner.prefetch_global_heaps(&collections(dt, data, count, &ctx));
    let mut out = Vec::new();
    encode(dt, data, count, &ctx, inner, &mut out)?;
    Ok(out)
}
