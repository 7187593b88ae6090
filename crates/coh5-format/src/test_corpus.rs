//! Test support: the shared corpus of real HDF5 files, beside the repository (`../shared`).
//! Tests that use it fail when it is missing rather than passing without checking anything.

use bytes::Bytes;

pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// The bytes of corpus file `path` (relative to the corpus root).
pub(crate) fn read(path: &str) -> Bytes {
    let full = format!("{CORPUS}/{path}");
    std::fs::read(&full)
        .map(Bytes::from)
        .unwrap_or_else(|e| panic!("corpus file {full} is needed: {e}"))
}
