//! `Subset` against a brute-force reference (scripts/atl03/subset_reference.py: h5py reads
//! every photon of every chosen beam and masks it), row for row and bit for bit, on synthetic
//! granules (scripts/atl03/generate.py) of the v006 and v007 layouts and of every storage
//! variant: boxes inside one track, across beams, at the granule's edge, empty, across the
//! antimeridian; time ranges; signal
//! confidence per surface and over all surfaces; v7 signal classes; broadcast segment variables.
//! Also measures the bytes a ~10 % box fetches against the compressed bytes that hold the answer.
//!
//! Needs Python 3 with numpy and h5py (scripts/requirements-test.txt) and `../shared` beside
//! the repository; a missing piece fails the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use coh5_icesat2::{BBox, Beams, Error, GranuleSubset, SignalConf, Subset, Surface, TimeRange};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python(args: &[&str]) {
    let out = Command::new("python3")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {args:?}: {e}"));
    assert!(
        out.status.success(),
        "python3 {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coh5-icesat2-tests");
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

/// Generates a granule once per test process.
fn granule(name: &str, args: &[&str]) -> String {
    static MADE: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let mut made = made.lock().unwrap_or_else(|e| e.into_inner());
    let path = dir().join(name).to_string_lossy().into_owned();
    if !made.contains(&path) {
        let spec = repo().join("../shared/icesat2/atl03_spec_vars.json");
        assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
        let script = repo().join("scripts/atl03/generate.py");
        let mut all = vec![script.to_str().unwrap(), "--spec", spec.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", &path]);
        python(&all);
        made.push(path.clone());
    }
    path
}

/// v006 layout over the seed workflow's box (-66.5..-66.0, -68.5..-67.0), forward orientation.
fn v6() -> String {
    granule(
        "ATL03_v6.h5",
        &[
            "--variant",
            "original",
            "--photons-per-beam",
            "20000",
            "--seed",
            "3",
        ],
    )
}

/// v007 layout, backward orientation, descending.
fn v7() -> String {
    granule(
        "ATL03_v7.h5",
        &[
            "--variant",
            "v7",
            "--photons-per-beam",
            "20000",
            "--seed",
            "5",
            "--sc-orient",
            "backward",
            "--direction",
            "descending",
        ],
    )
}

/// v007 layout whose centre beam pair straddles the antimeridian at 10° N.
fn antimeridian() -> String {
    granule(
        "ATL03_antimeridian.h5",
        &[
            "--variant",
            "v7",
            "--photons-per-beam",
            "20000",
            "--seed",
            "4",
            "--bbox",
            "179.7,10,180.3,10.5",
        ],
    )
}

/// Runs the reference with `args` and returns its JSON.
fn reference(file: &str, args: &[&str]) -> Value {
    let out = dir().join(format!("ref-{}.json", rand_name(args)));
    let script = repo().join("scripts/atl03/subset_reference.py");
    // `--flag=value`, so argparse takes negative coordinates as values.
    let pairs: Vec<String> = args.chunks(2).map(|p| p.join("=")).collect();
    let mut all = vec![script.to_str().unwrap(), file];
    all.extend(pairs.iter().map(String::as_str));
    let out_s = out.to_string_lossy().into_owned();
    all.extend_from_slice(&["-o", &out_s]);
    python(&all);
    serde_json::from_slice(&std::fs::read(&out).expect("reference output")).expect("JSON")
}

fn rand_name(args: &[&str]) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in args.join(" ").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    format!("{h:016x}")
}

/// The numpy dtype name of an Arrow type.
fn dtype(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 => "i1",
        DataType::Int16 => "i2",
        DataType::Int32 => "i4",
        DataType::Int64 => "i8",
        DataType::UInt8 => "u1",
        DataType::UInt16 => "u2",
        DataType::UInt32 => "u4",
        DataType::UInt64 => "u8",
        DataType::Float32 => "f4",
        DataType::Float64 => "f8",
        other => panic!("unexpected column type {other}"),
    }
}

/// A column's values as the reference writes them: strings, or integer bit patterns.
fn values(a: &dyn Array) -> Vec<Value> {
    let n = a.len();
    let opt = |i: usize, v: Value| if a.is_null(i) { Value::Null } else { v };
    match a.data_type() {
        DataType::Utf8 => (0..n)
            .map(|i| a.as_string::<i32>().value(i).into())
            .collect(),
        DataType::Dictionary(_, _) => {
            let d = a.as_dictionary::<Int32Type>();
            let names = d.values().as_string::<i32>();
            d.keys()
                .iter()
                .map(|k| names.value(k.expect("no null labels") as usize).into())
                .collect()
        }
        DataType::Int8 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Int8Type>().value(i).into()))
            .collect(),
        DataType::Int16 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Int16Type>().value(i).into()))
            .collect(),
        DataType::Int32 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Int32Type>().value(i).into()))
            .collect(),
        DataType::Int64 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Int64Type>().value(i).into()))
            .collect(),
        DataType::UInt8 => (0..n)
            .map(|i| opt(i, a.as_primitive::<UInt8Type>().value(i).into()))
            .collect(),
        DataType::UInt16 => (0..n)
            .map(|i| opt(i, a.as_primitive::<UInt16Type>().value(i).into()))
            .collect(),
        DataType::UInt32 => (0..n)
            .map(|i| opt(i, a.as_primitive::<UInt32Type>().value(i).into()))
            .collect(),
        DataType::UInt64 => (0..n)
            .map(|i| opt(i, a.as_primitive::<UInt64Type>().value(i).into()))
            .collect(),
        DataType::Float32 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Float32Type>().value(i).to_bits().into()))
            .collect(),
        DataType::Float64 => (0..n)
            .map(|i| opt(i, a.as_primitive::<Float64Type>().value(i).to_bits().into()))
            .collect(),
        other => panic!("unexpected column type {other}"),
    }
}

/// Asserts that the subset equals the reference row for row; returns the row count.
fn same(got: &GranuleSubset, want: &Value, what: &str) -> usize {
    let order: Vec<&str> = want["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let names: Vec<String> = got
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, order, "{what}: columns");
    let batch = joined(&got.batches);
    for (i, name) in order.iter().enumerate() {
        let col = &want["columns"][name];
        let want_values = col["values"].as_array().unwrap();
        let got_values = values(batch[i].as_ref());
        assert_eq!(
            got_values.len(),
            want_values.len(),
            "{what}: rows of {name}"
        );
        if let Some(i) = got_values.iter().zip(want_values).position(|(a, b)| a != b) {
            panic!(
                "{what}: column {name} row {i}: coh5 {} reference {}",
                got_values[i], want_values[i]
            );
        }
        if let Some(t) = col["dtype"].as_str() {
            assert_eq!(dtype(batch[i].data_type()), t, "{what}: type of {name}");
        }
    }
    want["columns"]["beam"]["values"].as_array().unwrap().len()
}

/// Every batch's columns, joined.
fn joined(batches: &[RecordBatch]) -> Vec<arrow_array::ArrayRef> {
    let Some(first) = batches.first() else {
        return Vec::new();
    };
    (0..first.num_columns())
        .map(|c| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::concat::concat(&parts).expect("one type per column")
        })
        .collect()
}

fn bbox(s: &str) -> BBox {
    BBox::parse(s).unwrap()
}

/// One case: the same request through `Subset` and the reference.
fn check(file: &str, subset: Subset, args: &[&str], what: &str) -> usize {
    let got = subset.open(file).unwrap_or_else(|e| panic!("{what}: {e}"));
    let want = reference(file, args);
    let rows = same(&got, &want, what);
    eprintln!("{what}: {rows} rows");
    rows
}

// Geometry of v6(): beam pairs near lon -66.17 (gt1), -66.25 (gt2), -66.33 (gt3); the track runs
// from lat -67.765 to -67.741.

#[test]
fn box_inside_one_track() {
    let f = v6();
    let b = "-66.18,-67.755,-66.16,-67.752";
    let rows = check(&f, Subset::new(bbox(b)), &["--bbox", b], "one track");
    assert!(rows > 1000, "the box holds photons of gt1l/gt1r");
}

#[test]
fn box_across_beams_with_segment_variables() {
    let f = v6();
    let b = "-66.34,-67.75,-66.16,-67.745";
    let s = Subset::new(bbox(b))
        .vars([
            "h_ph",
            "lat_ph",
            "lon_ph",
            "delta_time",
            "quality_ph",
            "weight_ph",
        ])
        .segment_vars([
            "solar_elevation",
            "dem_h",
            "delta_time",
            "geolocation/segment_id",
        ]);
    let rows = check(
        &f,
        s,
        &[
            "--bbox",
            b,
            "--vars",
            "h_ph,lat_ph,lon_ph,delta_time,quality_ph,weight_ph",
            "--segment-vars",
            "solar_elevation,dem_h,delta_time,geolocation/segment_id",
        ],
        "across beams",
    );
    assert!(rows > 5000);
}

#[test]
fn granule_edges_and_empty_box() {
    let f = v6();
    // Overlaps the start of the granule (the track begins at -67.765).
    let b = "-66.4,-67.80,-66.1,-67.76";
    assert!(check(&f, Subset::new(bbox(b)), &["--bbox", b], "start edge") > 0);
    let b = "-66.4,-67.745,-66.1,-67.70";
    assert!(check(&f, Subset::new(bbox(b)), &["--bbox", b], "end edge") > 0);
    let b = "10,10,11,11";
    assert_eq!(check(&f, Subset::new(bbox(b)), &["--bbox", b], "empty"), 0);
    let b = "-66.18,-67.7530,-66.16,-67.7529";
    check(
        &f,
        Subset::new(bbox(b)),
        &["--bbox", b],
        "thinner than a segment",
    );
}

#[test]
fn confidence_on_surfaces_and_time() {
    let f = v6();
    let b = "-66.4,-67.8,-66.1,-67.7";
    for (surface, levels) in [
        ("land", "3,4"),
        ("ocean", "4"),
        ("sea_ice", "0,1"),
        ("land_ice", "2"),
    ] {
        let s = Subset::new(bbox(b))
            .beams(Beams::Strong)
            .signal_conf(SignalConf {
                levels: coh5_icesat2::parse_levels(levels).unwrap(),
                surface: Some(Surface::parse(surface).unwrap()),
            });
        let rows = check(
            &f,
            s,
            &[
                "--bbox",
                b,
                "--beams",
                "strong",
                "--signal-conf",
                levels,
                "--surface",
                surface,
            ],
            &format!("signal_conf {levels} on {surface}"),
        );
        assert!(rows > 0, "{surface}");
    }
    let s = Subset::new(bbox(b)).signal_conf(SignalConf {
        levels: vec![3, 4],
        surface: None,
    });
    check(
        &f,
        s,
        &["--bbox", b, "--signal-conf", "3,4"],
        "signal_conf max over surfaces",
    );
    // The middle of the granule's ~0.37 s (t0 is the generator's default start).
    let file = coh5::File::open(&f).unwrap();
    let t = match file.object("/gt1l/heights/delta_time").unwrap() {
        coh5::Object::Dataset(d) => d.read::<f64>().unwrap().data,
        _ => panic!("not a dataset"),
    };
    let (t0, t1) = (t[t.len() / 3], t[t.len() / 2]);
    let range = format!("{t0},{t1}");
    let s = Subset::new(bbox(b))
        .beams(Beams::Weak)
        .time(TimeRange::parse(&range).unwrap());
    let rows = check(
        &f,
        s,
        &["--bbox", b, "--beams", "weak", "--time", &range],
        "time range",
    );
    assert!(rows > 1000);
}

/// The paged and rechunked variants hold the v006 content in other layouts (pages of 4 or
/// 8 MiB, photon chunks of 100,000): the same boxes and filters give the reference's rows.
#[test]
fn every_storage_variant() {
    let b = "-66.34,-67.8,-66.1,-67.7";
    for variant in [
        "page-only-4mb",
        "page-only-8mb",
        "rechunked-4mb",
        "rechunked-8mb",
    ] {
        let f = granule(
            &format!("ATL03_{variant}.h5"),
            &[
                "--variant",
                variant,
                "--photons-per-beam",
                "20000",
                "--seed",
                "3",
            ],
        );
        let s = Subset::new(bbox(b))
            .beams(Beams::Strong)
            .signal_conf(SignalConf {
                levels: vec![3, 4],
                surface: None,
            });
        let rows = check(
            &f,
            s,
            &["--bbox", b, "--beams", "strong", "--signal-conf", "3,4"],
            &format!("{variant}: strong beams, signal_conf 3,4"),
        );
        assert!(rows > 1000, "{variant}: {rows} rows");
        check(
            &f,
            Subset::new(bbox(b)),
            &["--bbox", b],
            &format!("{variant}: every beam"),
        );
    }
}

#[test]
fn v7_signal_class_and_strong_beams() {
    let f = v7();
    let g = coh5::File::open(&f).unwrap();
    let lat = match g.object("/gt2l/heights/lat_ph").unwrap() {
        coh5::Object::Dataset(d) => d.read::<f64>().unwrap().data,
        _ => panic!("not a dataset"),
    };
    let (lo, hi) = (
        lat[lat.len() / 4].min(lat[lat.len() / 2]),
        lat[lat.len() / 4].max(lat[lat.len() / 2]),
    );
    let b = format!("-66.6,{lo},-65.9,{hi}");
    let s = Subset::new(bbox(&b))
        .beams(Beams::Strong)
        .vars(["lat_ph", "lon_ph", "h_ph", "weight_ph", "signal_class_ph"])
        .signal_class(vec![4, 5])
        .signal_conf(SignalConf {
            levels: vec![4],
            surface: Some(Surface::Land),
        });
    let rows = check(
        &f,
        s,
        &[
            "--bbox",
            &b,
            "--beams",
            "strong",
            "--vars",
            "lat_ph,lon_ph,h_ph,weight_ph,signal_class_ph",
            "--signal-class",
            "4,5",
            "--signal-conf",
            "4",
            "--surface",
            "land",
        ],
        "v7 signal_class",
    );
    assert!(rows > 100);
}

#[test]
fn signal_class_on_v6_is_a_clear_error() {
    let err = Subset::new(bbox("-66.4,-67.8,-66.1,-67.7"))
        .signal_class(vec![3, 4])
        .open(&v6())
        .expect_err("v6 has no signal_class_ph");
    assert!(matches!(err, Error::Request(_)), "{err}");
    assert!(err.to_string().contains("v007"), "{err}");
}

#[test]
fn box_across_the_antimeridian() {
    let f = antimeridian();
    let b = "179.999,10.24,-179.999,10.26";
    let rows = check(&f, Subset::new(bbox(b)), &["--bbox", b], "antimeridian");
    assert!(rows > 1000);
    let b = "179.9,10.0,180.0,10.5";
    assert!(
        check(
            &f,
            Subset::new(bbox(b)).beams(Beams::Weak),
            &["--bbox", b, "--beams", "weak"],
            "east side"
        ) > 0
    );
}

/// A box over ~10 % of every track of a v7 granule (8 MiB pages) large enough that the
/// criterion means something (the metadata of a granule does not shrink with its photons): the
/// bytes fetched, open included, are at most 1.3x the stored bytes of the photon chunks that
/// hold the answer plus the segment arrays. That ideal is computed twice, by coh5 from its chunk
/// indexes and by the h5py reference from libhdf5's chunk info, and the two must agree.
#[test]
fn bytes_fetched_for_a_tenth_of_a_track() {
    let f = granule(
        "ATL03_bytes.h5",
        &[
            "--variant",
            "v7",
            "--photons-per-beam",
            "1000000",
            "--seed",
            "9",
        ],
    );
    let g = coh5::File::open(&f).unwrap();
    let lat = match g.object("/gt2r/geolocation/reference_photon_lat").unwrap() {
        coh5::Object::Dataset(d) => d.read::<f64>().unwrap().data,
        _ => panic!("not a dataset"),
    };
    let (a, z) = (lat[lat.len() * 45 / 100], lat[lat.len() * 55 / 100]);
    let b = format!("-67.5,{},-65.0,{}", a.min(z), a.max(z));
    let got = Subset::new(bbox(&b)).open(&f).unwrap();
    let want = reference(&f, &["--bbox", &b]);
    same(&got, &want, "tenth of a track");
    let answer = want["answer_bytes"]["photon_chunks"].as_u64().unwrap();
    let index = want["answer_bytes"]["segment_index"].as_u64().unwrap();
    assert_eq!(got.answer_bytes.photon_chunks, answer);
    assert_eq!(got.answer_bytes.segment_arrays, index);
    let ratio_photons = got.photon_read.bytes as f64 / answer as f64;
    let ratio_all = got.stats.bytes as f64 / (answer + index) as f64;
    eprintln!(
        "tenth of a track: {} rows; photon read {} B vs {} B of answer chunks \
         ({ratio_photons:.3}x); segment read {} B vs {index} B of segment arrays; total {} B in \
         {} requests vs {} B ({ratio_all:.3}x)",
        got.rows(),
        got.photon_read.bytes,
        answer,
        got.segment_read.bytes,
        got.stats.bytes,
        got.stats.requests,
        answer + index
    );
    assert!(got.rows() > 100_000, "{} rows", got.rows());
    assert!(
        ratio_all <= 1.3,
        "fetched {ratio_all:.3}x the answer's bytes"
    );
}
