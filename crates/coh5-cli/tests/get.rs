//! `coh5 get` against h5py: corpus datasets of many types (both byte orders, chunked and
//! filtered, compound, strings, bool enum, complex, vlen strings, HDF5 arrays), whole and
//! sliced, written as npy / npz / json / csv by the binary and loaded back with numpy.
//!
//! Needs `../shared/corpus` beside the repository and Python 3 with numpy and h5py.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus(rel: &str) -> String {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .join(rel);
    assert!(p.exists(), "corpus file missing: {}", p.display());
    p.to_string_lossy().into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coh5-get");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir.join(name)
}

/// Runs `coh5 args...`; returns (success, stdout, stderr).
fn coh5(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(args)
        .output()
        .expect("run coh5");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Case {
    file: &'static str,
    datasets: &'static [&'static str],
    slice: Option<&'static str>,
    format: &'static str,
}

const fn case(
    file: &'static str,
    datasets: &'static [&'static str],
    slice: Option<&'static str>,
    format: &'static str,
) -> Case {
    Case {
        file,
        datasets,
        slice,
        format,
    }
}

const BE: &str = "hdf5/test/testfiles/be_data.h5";

const CASES: &[Case] = &[
    // Both byte orders, chunked with deflate, scale-offset and no filters; several datasets
    // in one planned read.
    case(
        BE,
        &[
            "/Deflate_float_data_be",
            "/Scale_offset_short_data_be",
            "/Scale_offset_double_data_be",
            "/Scale_offset_long_long_data_le",
        ],
        None,
        "npz",
    ),
    case(
        BE,
        &["/Deflate_float_data_be", "/Scale_offset_long_long_data_le"],
        Some("1:6:2, -4:"),
        "npz",
    ),
    case(BE, &["/Scale_offset_short_data_be"], Some("2:, 1:4"), "npy"),
    case(
        "pyfive/tests/data/dataset_datatypes.hdf5",
        &["/int16_big", "/uint16_big"],
        None,
        "npz",
    ),
    case(
        "hdf5/tools/test/h5dump/testfiles/tintsnodata.h5",
        &["/DS64BITS", "/DU16BITS"],
        Some("::3, 5:40:7"),
        "npz",
    ),
    case(
        "pyfive/tests/data/filter_pipeline_v2.hdf5",
        &["/data"],
        Some("[1, 7], 2:9:3, -1:"),
        "npy",
    ),
    case(
        "pyfive/tests/data/compressed.hdf5",
        &["/dataset1"],
        Some("3:19, [0, 15, 4]"),
        "npy",
    ),
    // Floats of other sizes: half, long double.
    case(
        "hdf5/tools/test/h5dump/testfiles/tfloat16_be.h5",
        &["/DS16BITS"],
        None,
        "npy",
    ),
    case(
        "hdf5/tools/test/h5dump/testfiles/tldouble.h5",
        &["/dset"],
        None,
        "npy",
    ),
    // Complex: native class both orders and chunked+deflate, and r/i compounds.
    case(
        "generated/complex_native.h5",
        &["/c128_be", "/c64_be", "/c128_chunked_deflate", "/c64_le"],
        None,
        "npz",
    ),
    case(
        "generated/complex_native.h5",
        &["/c128_chunked_deflate"],
        Some("3:9, 1::2"),
        "npy",
    ),
    case(
        "h5py/h5py/tests/data_files/compound-dtype-complex.h5",
        &["/>c16", "/<c8"],
        Some("10:90:9"),
        "npz",
    ),
    // Compounds: big-endian members, nested, arrays inside, fixed and vlen strings, chunked.
    case(
        "hdf5/tools/test/h5dump/testfiles/tcompound.h5",
        &["/dset1", "/group1/dset3"],
        None,
        "npz",
    ),
    case(
        "hdf5/tools/test/h5dump/testfiles/tnestedcmpddt.h5",
        &["/dset2", "/dset4"],
        None,
        "npz",
    ),
    case(
        "hdf5/hl/test/testfiles/test_table_be.h5",
        &["/table1"],
        Some("2:7"),
        "npy",
    ),
    case(
        "h5wasm/test/array.h5",
        &["/bool", "/compound", "/string_arr", "/float_arr"],
        None,
        "npz",
    ),
    // Fixed strings of every pad type, bool enum, enum, bitfield.
    case(
        "hdf5/tools/test/h5dump/testfiles/tstr2.h5",
        &["/g1/dset1"],
        Some("::2"),
        "npy",
    ),
    case(
        "jhdf/jhdf/src/test/resources/hdf5/test_string_datasets_latest.hdf5",
        &["/fixed_length_ascii", "/fixed_length_ascii_1_char"],
        None,
        "npz",
    ),
    case(
        "jhdf/jhdf/src/test/resources/hdf5/test_enum_datasets_latest.hdf5",
        &["/2d_enum_uint16_data"],
        None,
        "npy",
    ),
    case(
        "jhdf/jhdf/src/test/resources/hdf5/bitfield_datasets.hdf5",
        &["/compressed_chunked_2d_bitfield"],
        None,
        "npy",
    ),
    // Variable-length strings (plain, chunked+filtered with a B-tree v2 index, compact).
    case(
        "jhdf/jhdf/src/test/resources/hdf5/chunked_v4_datasets.hdf5",
        &["/btree_v2/string", "/filtered_btree_v2/string"],
        Some("1:4"),
        "npz",
    ),
    case(
        "jhdf/jhdf/src/test/resources/hdf5/test_compact_datasets_latest.hdf5",
        &["/string/variable_length_ascii", "/float/float16"],
        None,
        "npz",
    ),
    case(
        "h5py/h5py/tests/data_files/vlen_string_s390x.h5",
        &["/DSBEint"],
        None,
        "npy",
    ),
    // Text outputs.
    case(
        BE,
        &["/Deflate_float_data_be", "/Scale_offset_short_data_be"],
        Some("1:3"),
        "json",
    ),
    case(
        "h5wasm/test/array.h5",
        &["/bool", "/string_arr"],
        None,
        "json",
    ),
    case(
        "pyfive/tests/data/compressed.hdf5",
        &["/dataset1"],
        Some("::5, ::3"),
        "csv",
    ),
];

#[test]
fn get_matches_h5py() {
    let mut checks = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let file = corpus(c.file);
        let out = scratch(&format!("case{i}.{}", c.format));
        let out_s = out.to_string_lossy().into_owned();
        let mut args = vec!["get", &file];
        args.extend_from_slice(c.datasets);
        if let Some(s) = c.slice {
            args.extend(["--slice", s]);
        }
        args.extend(["--format", c.format, "-o", &out_s]);
        let (ok, _, err) = coh5(&args);
        assert!(ok, "coh5 {args:?} failed: {err}");
        checks.push(serde_json::json!({
            "file": file, "datasets": c.datasets, "slice": c.slice, "out": out_s,
            "format": c.format,
        }));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/get_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(serde_json::Value::from(checks).to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "mismatches with h5py:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn default_format_follows_the_output_name() {
    let file = corpus(BE);
    let npz = scratch("default.npz").to_string_lossy().into_owned();
    let (ok, _, err) = coh5(&["get", &file, "/Deflate_float_data_be", "-o", &npz]);
    assert!(ok, "{err}");
    assert_eq!(
        &std::fs::read(&npz).expect("npz written")[..4],
        b"PK\x03\x04"
    );
    let npy = scratch("default.npy").to_string_lossy().into_owned();
    let (ok, _, err) = coh5(&["get", &file, "/Deflate_float_data_be", "-o", &npy]);
    assert!(ok, "{err}");
    assert_eq!(
        &std::fs::read(&npy).expect("npy written")[..6],
        b"\x93NUMPY"
    );
    let (ok, stdout, err) = coh5(&[
        "get",
        &file,
        "/Scale_offset_short_data_be",
        "--slice",
        "0,0:2",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_slice(&stdout).expect("json on stdout");
    assert!(
        v["/Scale_offset_short_data_be"][0]
            .as_array()
            .is_some_and(|r| r.len() == 2),
        "{v}"
    );
}

#[test]
fn errors_are_reported_and_leave_no_output() {
    let vlen = corpus("jhdf/jhdf/src/test/resources/hdf5/test_vlen_datasets_latest.hdf5");
    let out = scratch("vlen.npy");
    let out_s = out.to_string_lossy().into_owned();
    let (ok, _, err) = coh5(&["get", &vlen, "/vlen_float32_data_chunked", "-o", &out_s]);
    assert!(!ok && err.contains("pickle"), "{err}");
    assert!(!out.exists(), "a failed get left {out_s} behind");
    // JSON has no such limit.
    let (ok, _, err) = coh5(&["get", &vlen, "/vlen_float32_data_chunked"]);
    assert!(ok, "{err}");
    let file = corpus(BE);
    let (ok, _, err) = coh5(&["get", &file, "/nope"]);
    assert!(!ok && err.contains("/nope"), "{err}");
    let (ok, _, err) = coh5(&["get", &file, "/Deflate_float_data_be", "--slice", "0:2,:,:"]);
    assert!(!ok && err.contains("dimensions"), "{err}");
    let (ok, _, err) = coh5(&[
        "get",
        &file,
        "/Deflate_float_data_be",
        "/Scale_offset_short_data_be",
        "--format",
        "npy",
    ]);
    assert!(!ok && err.contains("one dataset"), "{err}");
}
