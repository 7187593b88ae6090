//! Contiguous data kept in external raw files (External Data Files message): the dataset's bytes
//! are the concatenation of byte ranges of other files, named relative to the HDF5 file.

use std::ops::Range;

use coh5_format::heap::local::LocalHeap;
use coh5_format::message::external_files::{ExternalFiles, UNLIMITED_SIZE};
use coh5_format::message::kind;
use coh5_format::Cursor;

use crate::error::{Error, Result};
use crate::object::Dataset;
use crate::runtime::block_on;

/// Where an external file named `name` lives: absolute paths and URLs as given, relative names
/// beside the HDF5 file (for URLs too, so a granule and its raw files can sit in one bucket).
pub(crate) fn resolve(location: &str, name: &str) -> String {
    if name.starts_with('/') || name.contains("://") {
        return name.to_string();
    }
    match location.rfind('/') {
        Some(i) => format!("{}/{name}", &location[..i]),
        None => name.to_string(),
    }
}

/// Bytes `range` of the dataset's logical storage, gathered from its external files.
pub(crate) fn read(d: &Dataset, range: Range<u64>) -> Result<Vec<u8>> {
    let inner = &d.file().inner;
    let fail = |e| inner.err(d.path(), e);
    let msg = d
        .header()
        .first(kind::EXTERNAL_FILES)
        .ok_or_else(|| object_err(d, "no external files message"))?;
    let body = inner.message_body(msg).map_err(fail)?;
    let files = ExternalFiles::parse(
        &mut Cursor::new(&body, msg.address, "external files"),
        &inner.ctx(),
    )
    .map_err(fail)?;
    let heap = LocalHeap::read(&inner.reader(), files.heap_address).map_err(fail)?;
    let mut out = Vec::with_capacity((range.end - range.start) as usize);
    let mut logical = 0u64;
    for entry in &files.entries {
        if logical >= range.end {
            break;
        }
        let len = if entry.size == UNLIMITED_SIZE {
            range.end - logical
        } else {
            entry.size
        };
        let seg = logical..logical.saturating_add(len);
        logical = seg.end;
        let (lo, hi) = (seg.start.max(range.start), seg.end.min(range.end));
        if lo >= hi {
            continue;
        }
        let name = crate::names::decode(heap.string_at(entry.name_offset).map_err(fail)?);
        let location = resolve(&inner.location, &name);
        let source = inner.open_related(&location)?;
        let start = entry.file_offset + (lo - seg.start);
        let size = block_on(source.size())?;
        // libhdf5 reads past the end of an external file as zeros.
        let avail_end = (start + (hi - lo)).min(size.max(start));
        if avail_end > start {
            let read = coh5_io::trace::with_purpose(
                coh5_io::trace::RAW_DATA,
                source.read_range(start..avail_end),
            );
            out.extend_from_slice(&block_on(read)?);
        }
        out.resize(out.len() + ((start + (hi - lo)) - avail_end) as usize, 0);
    }
    if (out.len() as u64) < range.end - range.start {
        return Err(object_err(
            d,
            "external files hold less data than the dataspace needs",
        ));
    }
    Ok(out)
}

fn object_err(d: &Dataset, detail: &str) -> Error {
    Error::Object {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn names_resolve_beside_the_file() {
        assert_eq!(resolve("/data/g.h5", "raw.bin"), "/data/raw.bin");
        assert_eq!(resolve("s3://b/p/g.h5", "raw.bin"), "s3://b/p/raw.bin");
        assert_eq!(resolve("g.h5", "raw.bin"), "raw.bin");
        assert_eq!(resolve("/data/g.h5", "/abs/raw.bin"), "/abs/raw.bin");
    }
}
