//! `coh5::inspect` over every file of the shared corpus (MANIFEST.tsv): no panic; every file
//! whose root group coh5 opens is inspected without error and with metadata extents that fit
//! the file (objects that fail to decode are listed in the report); the rest fail with an error
//! that names the file.

use coh5::inspect::{inspect, CostParams};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

#[test]
fn inspects_every_corpus_file() {
    let manifest = std::fs::read_to_string(format!("{CORPUS}/MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("corpus manifest missing under {CORPUS}: {e}"));
    let mut header = None;
    let mut inspected = 0;
    for line in manifest.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(h) = &header else {
            header = Some(cols);
            continue;
        };
        let col = |name: &str| {
            h.iter()
                .position(|c| *c == name)
                .and_then(|i| cols.get(i).copied())
                .unwrap_or_else(|| panic!("MANIFEST.tsv has no {name} column"))
        };
        let path = format!("{CORPUS}/{}", col("path"));
        match inspect(&path, &CostParams::default()) {
            Ok(r) => {
                let m = &r.metadata.spread;
                assert!(
                    m.last_byte <= r.format.file_size,
                    "{path}: metadata past EOF"
                );
                assert!(m.bytes > 0, "{path}: no metadata found");
                inspected += 1;
            }
            Err(e) => {
                let root = coh5::File::open(&path).and_then(|f| f.root());
                assert!(root.is_err(), "{path}: the root group opens: {e}");
                assert!(e.to_string().contains(col("path")), "{path}: {e}");
            }
        }
    }
    assert!(inspected > 400, "only {inspected} files inspected");
}
