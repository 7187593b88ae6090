//! Synthetic ICESat-2 ATL03 granules in all six layouts (scripts/atl03/generate.py): each one is
//! checked against the ATL03 spec (scripts/atl03/check.py), then `coh5 dump --manifest` of it is
//! scored against libhdf5's golden manifest of the same file (shared/corpus/golden.py --one) by
//! shared/conformance/compare.py, data included.
//!
//! These granules are what benchmarks and `coh5 subset` run on, so coh5 must read every layout
//! exactly as libhdf5 does: v0 superblock with v1 B-tree chunk indexes and compact datasets
//! (original), paged aggregation with 4 and 8 MiB pages, 100,000-element chunks, dimension scales.
//!
//! Needs Python 3 with numpy and h5py (scripts/requirements-test.txt) and `../shared` beside the
//! repository; a missing piece fails the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    repo().join("../shared")
}

/// Runs a command to completion; panics with its output when it cannot start or fails.
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

fn python(script: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(script);
    cmd
}

fn granule_round_trip(variant: &str) {
    let spec = shared().join("icesat2/atl03_spec_vars.json");
    assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
    let dir = std::env::temp_dir().join(format!("coh5-atl03-{}-{variant}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let file = dir.join(format!("ATL03_{variant}.h5"));
    let scripts = repo().join("scripts/atl03");

    run(
        "generate.py",
        python(&scripts.join("generate.py"))
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
    let checked = run(
        "check.py",
        python(&scripts.join("check.py"))
            .args(["--variant", variant, "--spec"])
            .arg(&spec)
            .arg(&file),
    );
    eprintln!("{}", String::from_utf8_lossy(&checked.stdout).trim());

    let golden = run(
        "golden.py --one",
        python(&shared().join("corpus/golden.py"))
            .arg("--one")
            .arg(&file),
    );
    let golden_path = dir.join("golden.json");
    std::fs::write(&golden_path, &golden.stdout).expect("write golden manifest");
    let candidate = run(
        "coh5 dump --manifest",
        Command::new(env!("CARGO_BIN_EXE_coh5"))
            .args(["dump", "--manifest"])
            .arg(&file),
    );
    let candidate_path = dir.join("candidate.json");
    std::fs::write(&candidate_path, &candidate.stdout).expect("write candidate manifest");
    let scored = run(
        "compare.py",
        python(&shared().join("conformance/compare.py"))
            .arg("--golden")
            .arg(&golden_path)
            .arg("--candidate")
            .arg(&candidate_path),
    );
    let report = String::from_utf8_lossy(&scored.stdout);
    assert!(
        report.contains("1/1 files pass, 0 objects mismatched, 0 objects not scored"),
        "{variant}: coh5 differs from libhdf5:\n{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn atl03_original() {
    granule_round_trip("original");
}

#[test]
fn atl03_page_only_4mb() {
    granule_round_trip("page-only-4mb");
}

#[test]
fn atl03_page_only_8mb() {
    granule_round_trip("page-only-8mb");
}

#[test]
fn atl03_rechunked_4mb() {
    granule_round_trip("rechunked-4mb");
}

#[test]
fn atl03_rechunked_8mb() {
    granule_round_trip("rechunked-8mb");
}

#[test]
fn atl03_v7() {
    granule_round_trip("v7");
}
