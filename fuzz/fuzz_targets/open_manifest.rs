//! Fuzz target: arbitrary bytes as an HDF5 file, opened from memory and walked into a full
//! manifest with data (which first prefetches the tree as `coh5 ls -r -l` does: headers,
//! continuations, dense attributes and attribute heaps a level at a time), the path that
//! touches every decoder coh5 has.
#![no_main]

use std::sync::Arc;

use coh5::manifest::{manifest, ManifestOptions};
use coh5_io::MemorySource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Arc::new(MemorySource::new(data.to_vec(), "fuzz"));
    let Ok(file) = coh5::File::from_source(source) else {
        return;
    };
    // Datasets are hashed only up to 1 MiB so each input stays fast; a larger claimed size is
    // still decoded as metadata and marked skipped.
    let options = ManifestOptions {
        data: true,
        max_data_bytes: 1 << 20,
    };
    let _ = manifest(&file, options);
});
