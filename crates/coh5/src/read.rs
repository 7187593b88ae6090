//! Reading dataset values: the raw stored bytes of every element, filled where storage was never
//! written, then converted to canonical form.

use coh5_format::dataspace::Dataspace;
use coh5_format::datatype::Datatype;
use coh5_format::message::layout::Layout;
use coh5_format::{Error as FormatError, UNDEF_ADDR};

use crate::dataset_bytes;
use crate::error::{Error, Result};
use crate::object::Dataset;
use crate::runtime::block_on;
use crate::value::canonical_bytes;

/// The canonical encoding (SPEC.md §8) of every element of `d`.
pub(crate) fn read_canonical(d: &Dataset, dt: &Datatype, space: &Dataspace) -> Result<Vec<u8>> {
    let count = space.num_elements().ok_or_else(|| too_large(d))?;
    let raw = read_raw(d, dt, count)?;
    canonical_bytes(&d.file().inner, dt, &raw, count).map_err(|e| d.file().inner.err(d.path(), e))
}

fn too_large(d: &Dataset) -> Error {
    Error::Object {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: "element count overflows 64 bits".into(),
    }
}

/// Stored bytes of all `count` elements in C order (file byte order).
pub(crate) fn read_raw(d: &Dataset, dt: &Datatype, count: u64) -> Result<Vec<u8>> {
    let nbytes = dataset_bytes(count, dt).ok_or_else(|| too_large(d))?;
    match d.layout()? {
        Layout::Compact { data } => {
            if (data.len() as u64) < nbytes {
                return Err(d.file().inner.err(
                    d.path(),
                    FormatError::corrupt(
                        "compact data",
                        d.address(),
                        format!("{} bytes stored, {nbytes} needed", data.len()),
                    ),
                ));
            }
            Ok(data[..nbytes as usize].to_vec())
        }
        Layout::Contiguous { address, .. } if address == UNDEF_ADDR => fill(d, dt, count),
        Layout::Contiguous { address, .. } => {
            if nbytes == 0 {
                return Ok(Vec::new());
            }
            let inner = &d.file().inner;
            let start = inner.reader().absolute(address);
            let end = start.checked_add(nbytes).ok_or_else(|| too_large(d))?;
            let bytes = block_on(inner.meta.source().read_range(start..end))?;
            Ok(bytes.to_vec())
        }
        Layout::Chunked { .. } | Layout::Virtual { .. } => Err(Error::Object {
            location: d.file().location().to_string(),
            path: d.path().to_string(),
            detail: "chunked and virtual layouts are not readable yet".into(),
        }),
    }
}

/// `count` copies of the dataset's fill value (zero bytes when none is defined).
fn fill(d: &Dataset, dt: &Datatype, count: u64) -> Result<Vec<u8>> {
    let size = u64::from(dt.size);
    let nbytes = dataset_bytes(count, dt).ok_or_else(|| too_large(d))?;
    let value = d.fill_value()?.and_then(|f| f.value);
    match value {
        Some(v) if v.len() as u64 == size && size > 0 => Ok(v.iter().copied().cycle().take(nbytes as usize).collect()),
        _ => Ok(vec![0; nbytes as usize]),
    }
}
