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

/// Generates a small granule of `variant` in `dir` and checks it against the spec.
fn generate(variant: &str, dir: &Path) -> PathBuf {
    let spec = shared().join("icesat2/atl03_spec_vars.json");
    assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
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
    file
}

/// `coh5 dump --manifest FILE`, written beside the file.
fn coh5_manifest(file: &Path) -> PathBuf {
    let candidate = run(
        "coh5 dump --manifest",
        Command::new(env!("CARGO_BIN_EXE_coh5"))
            .args(["dump", "--manifest"])
            .arg(file),
    );
    let path = file.with_extension("coh5.json");
    std::fs::write(&path, &candidate.stdout).expect("write candidate manifest");
    path
}

/// libhdf5's manifest of `file` (the golden producer), written beside the file.
fn golden_manifest(file: &Path) -> PathBuf {
    let golden = run(
        "golden.py --one",
        python(&shared().join("corpus/golden.py"))
            .arg("--one")
            .arg(file),
    );
    let path = file.with_extension("golden.json");
    std::fs::write(&path, &golden.stdout).expect("write golden manifest");
    path
}

fn assert_same(what: &str, golden: &Path, candidate: &Path) {
    let scored = run(
        "compare.py",
        python(&shared().join("conformance/compare.py"))
            .arg("--golden")
            .arg(golden)
            .arg("--candidate")
            .arg(candidate),
    );
    let report = String::from_utf8_lossy(&scored.stdout);
    assert!(
        report.contains("1/1 files pass, 0 objects mismatched, 0 objects not scored"),
        "{what}:\n{report}"
    );
}

/// Root attributes that name the variant itself, so they differ between layouts by design.
const VARIANT_ATTRS: &[&str] = &["history"];

/// A copy of a manifest without the variant-naming attributes.
fn without_variant_attrs(manifest: &Path) -> PathBuf {
    let text = std::fs::read_to_string(manifest).expect("read manifest");
    let mut m: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    if let Some(attrs) = m["objects"]["/"]["attrs"].as_object_mut() {
        for a in VARIANT_ATTRS {
            attrs.remove(*a);
        }
    }
    let path = manifest.with_extension("layout.json");
    std::fs::write(&path, m.to_string()).expect("write manifest");
    path
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coh5-atl03-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The v6 layout and its paged and rechunked variants: coh5 agrees with libhdf5 on `original`,
/// and every other variant holds the same objects, types, attributes and values (only layout,
/// chunking and page settings differ), so each is scored against the verified `original`.
#[test]
fn atl03_v6_variants() {
    let dir = temp_dir("v6");
    let original = generate("original", &dir);
    let manifest = coh5_manifest(&original);
    assert_same(
        "original: coh5 differs from libhdf5",
        &golden_manifest(&original),
        &manifest,
    );
    let reference = without_variant_attrs(&manifest);
    for variant in [
        "page-only-4mb",
        "page-only-8mb",
        "rechunked-4mb",
        "rechunked-8mb",
    ] {
        let file = generate(variant, &dir);
        let what = format!("{variant}: coh5 reads other values than from the original layout");
        assert_same(
            &what,
            &reference,
            &without_variant_attrs(&coh5_manifest(&file)),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The v7 layout (8 MiB pages, 100,000-element photon chunks, new variables) against libhdf5.
#[test]
fn atl03_v7() {
    let dir = temp_dir("v7");
    let file = generate("v7", &dir);
    assert_same(
        "v7: coh5 differs from libhdf5",
        &golden_manifest(&file),
        &coh5_manifest(&file),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
