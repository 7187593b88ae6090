//! The same manifests over HTTP and S3 as from local paths: corpus files served by a real HTTP
//! server with range support and by an S3 implementation (moto), both on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use coh5_io::testing::{HttpServer, S3Server};

/// Files that together exercise every metadata structure: old- and new-style groups, dense
/// links and attributes, shared messages, every chunk index, filters, vlen data, references,
/// external raw data files and userblocks.
const FILES: &[&str] = &[
    "hdf5/tools/test/h5dump/testfiles/tgroup.h5",
    "jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5",
    "hdf5/tools/test/h5stat/testfiles/h5stat_tsohm.h5",
    "hdf5/hl/test/testfiles/test_ld.h5",
    "jhdf/jhdf/src/test/resources/hdf5/fixed_array_paged_datasets.hdf5",
    "hdf5/HDF5Examples/C/H5FLT/tfiles/h5ex_d_blosc.h5",
    "h5wasm/test/compressed.h5",
    "h5wasm/test/vlen.h5",
    "hdf5/hl/test/testfiles/test_ds_le.h5",
    "hdf5/tools/test/h5repack/testfiles/h5repack_ext.h5",
    "hdf5/tools/test/h5repack/testfiles/h5repack_ext.bin",
    "pyfive/tests/data/attr_datatypes.hdf5",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// `coh5 [args] dump --manifest SOURCE`, with the manifest's `objects` returned; the source
/// location inside error texts is replaced so local and remote manifests compare equal.
fn manifest(source: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(args)
        .args(["dump", "--manifest", source])
        .envs(env.iter().copied())
        .output()
        .expect("run coh5");
    assert!(
        out.status.success(),
        "coh5 dump {source} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 manifest");
    let text = text.replace(source, "SOURCE");
    let m: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    m["objects"].clone()
}

fn h5_files() -> impl Iterator<Item = &'static str> {
    FILES.iter().copied().filter(|f| !f.ends_with(".bin"))
}

#[test]
fn http_manifests_equal_local_ones() {
    let root = corpus();
    let server = HttpServer::start(&root).unwrap_or_else(|e| panic!("{e}"));
    for file in h5_files() {
        let local_path = root.join(file);
        let local = manifest(local_path.to_str().unwrap(), &[], &[]);
        let remote = manifest(&server.url(file), &[], &[]);
        assert_eq!(local, remote, "{file} differs over HTTP");
    }
}

#[test]
fn s3_manifests_equal_local_ones() {
    let root = corpus();
    let server = S3Server::start(FILES.iter().map(|f| (f.to_string(), root.join(f))))
        .unwrap_or_else(|e| panic!("{e}"));
    // Credentials the way users give them: the standard environment variables.
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing-session"),
        ("AWS_REGION", "us-east-1"),
    ];
    for file in h5_files() {
        let local_path = root.join(file);
        let local = manifest(local_path.to_str().unwrap(), &[], &[]);
        let remote = manifest(&server.url(file), &["--endpoint", &server.endpoint], &env);
        assert_eq!(local, remote, "{file} differs over S3");
    }
}

#[test]
fn s3_public_bucket_reads_anonymously() {
    let root = corpus();
    let file = "hdf5/tools/test/h5dump/testfiles/tgroup.h5";
    let server = S3Server::start_public([(file.to_string(), root.join(file))])
        .unwrap_or_else(|e| panic!("{e}"));
    let local = manifest(root.join(file).to_str().unwrap(), &[], &[]);
    let args = [
        "--anonymous",
        "--region",
        "us-east-1",
        "--endpoint",
        &server.endpoint,
    ];
    let remote = manifest(&server.url(file), &args, &[]);
    assert_eq!(local, remote);
}
