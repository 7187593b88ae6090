//! `coh5 inspect` on the synthetic ICESat-2 ATL03 granules of every layout of Lopez et al. 2024
//! (scripts/atl03/generate.py): the verdict tells the layouts apart, and page size, strategy,
//! per-dataset layout, stored size and chunk statistics, and the metadata size agree with what
//! libhdf5 reports through h5py (scripts/inspect-facts.py): metadata + raw data + tracked free
//! space must account for the whole file to within 0.5 %.
//!
//! Needs Python 3 with numpy and h5py and `../shared` beside the repository; a missing piece fails
//! the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(what: &str, out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"))
}

fn generate(variant: &str, dir: &Path) -> PathBuf {
    let spec = repo().join("../shared/icesat2/atl03_spec_vars.json");
    assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
    let file = dir.join(format!("ATL03_{variant}.h5"));
    run(
        "generate.py",
        Command::new("python3")
            .arg(repo().join("scripts/atl03/generate.py"))
            .args([
                "--variant",
                variant,
                "--photons-per-beam",
                "20000",
                "--seed",
                "3",
            ])
            .arg("--spec")
            .arg(&spec)
            .arg("-o")
            .arg(&file),
    );
    file
}

/// Checks one granule and returns coh5's report.
fn check(variant: &str, file: &Path) -> Value {
    let report = json(
        "coh5 inspect --json",
        &run(
            "coh5 inspect",
            Command::new(env!("CARGO_BIN_EXE_coh5"))
                .args(["inspect", "--json"])
                .arg(file),
        ),
    );
    let facts = json(
        "inspect-facts.py",
        &run(
            "inspect-facts.py",
            Command::new("python3")
                .arg(repo().join("scripts/inspect-facts.py"))
                .arg(file),
        ),
    );
    assert_eq!(report["errors"], serde_json::json!([]), "{variant}");
    assert_eq!(
        report["file_space"]["strategy"], facts["strategy"],
        "{variant}: strategy"
    );
    assert_eq!(
        report["file_space"]["page_size"], facts["page_size"],
        "{variant}: page size"
    );
    let file_size = facts["file_size"].as_u64().expect("file size");
    assert_eq!(report["format"]["file_size"].as_u64(), Some(file_size));

    let datasets = report["datasets"].as_array().expect("datasets");
    let expected = facts["datasets"].as_object().expect("datasets");
    assert_eq!(datasets.len(), expected.len(), "{variant}: dataset count");
    let mut raw = 0;
    for d in datasets {
        let path = d["path"].as_str().expect("path");
        let e = &expected[path];
        assert_eq!(d["layout"], e["layout"], "{variant} {path}: layout");
        if e["layout"] != "compact" {
            assert_eq!(d["stored_bytes"], e["storage_size"], "{variant} {path}");
            raw += e["storage_size"].as_u64().expect("storage size");
        }
        if e["layout"] == "chunked" {
            assert_eq!(d["chunks"], e["chunks"], "{variant} {path}: chunk count");
            for k in ["min", "median", "max"] {
                assert_eq!(d["chunk_sizes"][k], e[k], "{variant} {path}: chunk {k}");
            }
        }
    }
    let meta = report["metadata"]["bytes"]
        .as_u64()
        .expect("metadata bytes");
    let free = facts["free_space"].as_u64().expect("free space");
    let accounted = meta + raw + free;
    assert!(
        accounted <= file_size && file_size - accounted < file_size / 200,
        "{variant}: metadata {meta} + raw {raw} + free {free} vs file {file_size}"
    );
    report
}

#[test]
fn atl03_layouts_are_told_apart() {
    let dir = std::env::temp_dir().join(format!("coh5-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let expect = [
        ("original", "not"),
        ("page-only-4mb", "partly"),
        ("page-only-8mb", "partly"),
        ("rechunked-4mb", "cloud-optimized"),
        ("rechunked-8mb", "cloud-optimized"),
        ("v7", "cloud-optimized"),
    ];
    for (variant, verdict) in expect {
        let report = check(variant, &generate(variant, &dir));
        assert_eq!(report["verdict"], verdict, "{variant}: verdict");
        let command = report["command"].as_str().unwrap_or_default();
        match variant {
            // 2.7 MB of metadata with a quarter to spare: 4 MiB pages, and raw data in a second
            // page, exactly the size libhdf5 gave page-only-4mb.
            "original" => {
                assert!(command.contains("-S PAGE -G 4194304 "), "{command}");
                assert!(command.contains("/gt1l/heights/h_ph"), "{command}");
                assert_eq!(report["predicted"]["file_size"], 8 << 20);
                assert!(report["metadata"]["ranges"].as_u64() > Some(100));
                let open = &report["cost"]["open"];
                assert!(open["libhdf5"]["requests"].as_u64() > open["coh5"]["requests"].as_u64());
            }
            v if v.starts_with("page-only") => {
                assert!(!command.contains("-S PAGE"), "{command}");
                assert!(command.contains(":CHUNK=20000 "), "{command}");
            }
            _ => assert_eq!(command, "", "{variant}"),
        }
        // Both clients read h_ph as its chunks: libhdf5 read the B-tree root when h5py opened
        // the dataset during the listing, coh5's walk left that block in its cache (measured
        // through the emulated store in BENCHMARKS.md).
        let h_ph = report["datasets"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["path"] == "/gt1l/heights/h_ph"))
            .expect("h_ph");
        let chunks = &h_ph["chunks"];
        assert_eq!(
            &h_ph["read_cost"]["libhdf5"]["requests"], chunks,
            "{variant}"
        );
        assert_eq!(&h_ph["read_cost"]["coh5"]["requests"], chunks, "{variant}");
        if variant != "original" {
            let first = report["metadata"]["in_first_page"].as_u64().expect("share");
            let bytes = report["metadata"]["bytes"].as_u64().expect("bytes");
            assert!(first * 10 >= bytes * 9, "{variant}: {first} of {bytes}");
            // Only the global heap collections, which libhdf5 allocates as raw data, share a page.
            assert!(report["file_space"]["pages"]["mixed"].as_u64() <= Some(1));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
