//! Virtual datasets against libhdf5: every corpus file tagged `layout:virtual` scored with data
//! by the shared `compare.py`, and the fixtures of tests/fixtures/vds (made by make_vds.py with
//! h5py: sources in other files, unlimited and printf mappings, missing sources, byte-order
//! conversion, a same-file mapping in a version 1 mapping table, a mapping onto itself).

use std::path::{Path, PathBuf};
use std::process::Command;

use coh5::manifest::{manifest, to_json, ManifestOptions};
use serde_json::Value;

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).to_path_buf()
}

fn dump(path: &Path) -> Value {
    let file = coh5::File::open(path.to_str().expect("utf-8 path")).expect("open");
    manifest(&file, ManifestOptions::default()).expect("manifest")
}

#[test]
fn corpus_virtual_datasets_match_libhdf5_with_data() {
    let corpus = shared().join("corpus");
    let index = std::fs::read_to_string(corpus.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("the shared corpus must be at {}: {e}", corpus.display()));
    let files: Vec<&str> = index
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let tagged = cols.get(7)?.split(',').any(|t| t == "layout:virtual");
            tagged.then_some(cols[0])
        })
        .collect();
    assert!(
        files.len() >= 8,
        "only {} virtual files listed",
        files.len()
    );
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("virtual");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let mut failures = Vec::new();
    for (i, rel) in files.iter().enumerate() {
        let candidate = out_dir.join(format!("{i}.json"));
        std::fs::write(&candidate, to_json(&dump(&corpus.join(rel)))).expect("write");
        let golden = corpus.join("golden").join(format!("{rel}.json"));
        let result = Command::new("python3")
            .arg(shared().join("conformance/compare.py"))
            .arg("--golden")
            .arg(&golden)
            .arg("--candidate")
            .arg(&candidate)
            .output()
            .expect("python3 must be installed");
        if !result.status.success() {
            failures.push(format!(
                "{rel}: {}",
                String::from_utf8_lossy(&result.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixture_virtual_datasets_match_h5py() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vds");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let [file, dataset, shape, sha] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad line {line:?}");
        };
        let m = dump(&dir.join(file));
        let entry = &m["objects"][format!("/{dataset}")];
        let shape: Vec<u64> = shape.split(',').map(|n| n.parse().expect("dim")).collect();
        assert_eq!(entry["shape"], serde_json::json!(shape), "{file} {dataset}");
        assert_eq!(entry["data_sha256"], sha, "{file} {dataset}: {entry}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn mapping_onto_itself_reads_as_missing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vds");
    let m = dump(&dir.join("vds.h5"));
    // The source cannot be resolved, so it holds nothing: the unlimited dimension is 0.
    assert_eq!(m["objects"]["/loop"]["shape"], serde_json::json!([0, 3]));
}
