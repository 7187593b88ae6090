//! Fuzz target: arbitrary bytes as an HDF5 file whose objects are reached the way `coh5 get`
//! reaches them: the file opened to read the paths found in it (their data located from the
//! bytes in hand and fetched early), the paths resolved together (with the prefetch hints
//! worked out from the bytes in hand), then the small datasets among them read in one planned
//! read.
#![no_main]

use std::sync::Arc;

use coh5::{Dataset, Object, Selection};
use coh5_io::{MemorySource, SourceOptions};
use libfuzzer_sys::fuzz_target;

/// Paths resolved per input: the root's links and those of its first child groups.
const MAX_PATHS: usize = 48;
/// Datasets whose stored elements exceed this are resolved but not read, so each input stays
/// fast (the manifest target bounds its reads the same way).
const MAX_BYTES: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let source = Arc::new(MemorySource::new(data.to_vec(), "fuzz"));
    let Ok(file) = coh5::File::from_source(source.clone()) else {
        return;
    };
    let Ok(links) = file.root().and_then(|r| r.links()) else {
        return;
    };
    let mut paths: Vec<String> = links
        .iter()
        .map(|l| format!("/{}", l.name_str()))
        .take(MAX_PATHS)
        .collect();
    let mut deeper = Vec::new();
    for (path, object) in paths.iter().zip(file.objects(&paths)) {
        if let Ok(Object::Group(g)) = object {
            for l in g.links().unwrap_or_default() {
                deeper.push(format!("{path}/{}", l.name_str()));
            }
        }
    }
    paths.extend(deeper);
    paths.truncate(MAX_PATHS);
    let Ok(file) = coh5::File::from_source_to_read(source, SourceOptions::new(), &paths) else {
        return;
    };
    let datasets: Vec<Dataset> = file
        .objects(&paths)
        .into_iter()
        .filter_map(|o| match o {
            Ok(Object::Dataset(d)) => Some(d),
            _ => None,
        })
        .collect();
    let mut items = Vec::new();
    for d in &datasets {
        let (Ok(shape), Ok(dt)) = (d.shape(), d.datatype()) else {
            continue;
        };
        let bytes = shape
            .iter()
            .try_fold(u64::from(dt.size), |a, &n| a.checked_mul(n));
        if bytes.is_some_and(|b| b <= MAX_BYTES) {
            items.push((d, Selection::all(&shape)));
        }
    }
    let items: Vec<(&Dataset, &Selection)> = items.iter().map(|(d, s)| (*d, s)).collect();
    let _ = file.read_many(&items);
});
