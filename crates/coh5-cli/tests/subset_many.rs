//! `coh5 subset` over many granules named by a pattern on object storage: `coh5-store` serves a
//! bucket of generated granules plus one corrupt file through S3 (ListObjectsV2 for the
//! pattern, ranged GETs for the reads). Every good granule is written, the corrupt one is
//! reported on its own line and the exit code is non-zero; a plain prefix lists the same objects.
//!
//! Needs Python 3 with numpy and h5py (scripts/requirements-test.txt) and `../shared`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coh5_store::{Config, Server};

const BUCKET: &str = "granules";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A bucket directory with three small granules (two layouts, distinct seeds) under `atl03/`,
/// a corrupt `.h5` (a granule cut short) and a file the pattern must not match.
fn bucket(root: &Path) -> Vec<String> {
    let dir = root.join(BUCKET).join("atl03");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = repo().join("../shared/icesat2/atl03_spec_vars.json");
    assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
    let mut names = Vec::new();
    for (i, variant) in ["original", "v7", "original"].iter().enumerate() {
        let name = format!("ATL03_{i}_{variant}.h5");
        let out = Command::new("python3")
            .arg(repo().join("scripts/atl03/generate.py"))
            .arg("--spec")
            .arg(&spec)
            .args(["--variant", variant, "--photons-per-beam", "20000"])
            .args(["--seed", &(11 + i).to_string(), "-o"])
            .arg(dir.join(&name))
            .output()
            .expect("run generate.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        names.push(name);
    }
    let whole = std::fs::read(dir.join(&names[0])).unwrap();
    std::fs::write(dir.join("ATL03_9_corrupt.h5"), &whole[..whole.len() / 3]).unwrap();
    std::fs::write(dir.join("README.txt"), b"not a granule").unwrap();
    names
}

fn subset(endpoint: &str, sources: &[String], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(["--anonymous", "--endpoint", endpoint, "subset"])
        .args(sources)
        .args(["--bbox=-66.5,-68.5,-66.0,-67.0", "--signal-conf", "3,4"])
        .args(["--jobs", "2", "-o"])
        .arg(out)
        .output()
        .expect("run coh5")
}

#[test]
fn a_pattern_on_object_storage_subsets_every_granule_and_reports_the_bad_one() {
    let root = std::env::temp_dir().join(format!("coh5-subset-many-{}", std::process::id()));
    let names = bucket(&root);
    let server = Server::start(Config::new(&root)).expect("start coh5-store");
    let endpoint = server.base_url();
    let out = root.join("photons.csv");

    let o = subset(
        &endpoint,
        &[format!("s3://{BUCKET}/atl03/ATL03_*.h5")],
        &out,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "the corrupt granule fails the run: {stderr}"
    );
    assert!(stderr.contains("ATL03_9_corrupt.h5: FAILED"), "{stderr}");
    assert!(stderr.contains("1 of 4 granules failed"), "{stderr}");
    assert!(!stderr.contains("README"), "{stderr}");
    for name in &names {
        assert!(
            stderr.contains(&format!("{name}: ")) && stderr.contains("photons kept"),
            "{name} summarised: {stderr}"
        );
    }
    // Every good granule's photons are in the output, and only theirs.
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut per_granule = std::collections::BTreeMap::<String, usize>::new();
    for line in csv.lines().skip(1) {
        let granule = line.split(',').next().unwrap().to_string();
        *per_granule.entry(granule).or_default() += 1;
    }
    assert_eq!(
        per_granule.keys().cloned().collect::<Vec<_>>(),
        names,
        "{stderr}"
    );
    assert!(per_granule.values().all(|&n| n > 100), "{per_granule:?}");

    // The same objects by prefix, and one granule by name: the same rows for that granule.
    let by_prefix = root.join("prefix.csv");
    let o = subset(&endpoint, &[format!("s3://{BUCKET}/atl03/")], &by_prefix);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // A prefix names every object under it: README.txt is tried too, and fails beside the
    // corrupt granule.
    assert!(
        stderr.contains("2 of 5 granules failed") && stderr.contains("README.txt: FAILED"),
        "{stderr}"
    );
    let one = root.join("one.csv");
    let o = subset(
        &endpoint,
        &[format!("s3://{BUCKET}/atl03/{}", names[1])],
        &one,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = std::fs::read_to_string(&one).unwrap().lines().count() - 1;
    assert_eq!(rows, per_granule[&names[1]]);

    let o = subset(&endpoint, &[format!("s3://{BUCKET}/atl03/*.nc")], &one);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("*.nc"));
    std::fs::remove_dir_all(&root).ok();
}
