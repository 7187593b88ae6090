//! Attributes kept once in the file's shared-message heap (tests/fixtures/sohm, written by
//! make_sohm.py with libhdf5): in object headers and behind dense attribute indexes, with the
//! file's shared-message index as a list and as a v2 B-tree.

use coh5::File;

fn open(name: &str) -> File {
    let path = format!("{}/tests/fixtures/sohm/{name}", env!("CARGO_MANIFEST_DIR"));
    File::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Attribute `a{i}` as make_sohm.py writes it: float64 `i + 0.5 * k` for k in 0..i+3.
fn expected(i: usize) -> Vec<u8> {
    (0..i + 3)
        .flat_map(|k| (i as f64 + 0.5 * k as f64).to_le_bytes())
        .collect()
}

#[test]
fn shared_attributes_read_compact_and_dense() {
    for name in ["shared_attrs_list.h5", "shared_attrs_btree.h5"] {
        let file = open(name);
        for (path, count) in [("/compact", 4), ("/dense", 12), ("/data", 3)] {
            let object = file
                .object(path)
                .unwrap_or_else(|e| panic!("{name}{path}: {e}"));
            let mut attrs = object
                .attributes()
                .unwrap_or_else(|e| panic!("{name}{path}: {e}"));
            attrs.sort_by_key(|a| a.name_str()[1..].parse::<usize>().expect("a{i}"));
            assert_eq!(attrs.len(), count, "{name}{path}");
            for (i, a) in attrs.iter().enumerate() {
                assert_eq!(a.name_str(), format!("a{i}"), "{name}{path}");
                let value = a.canonical().expect("value").expect("not null");
                assert_eq!(value, expected(i), "{name}{path}@a{i}");
            }
        }
    }
}
