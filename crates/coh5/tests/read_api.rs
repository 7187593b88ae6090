//! The public reading API on corpus files: typed conversions, native bytes, values and
//! multi-dataset planned reads, checked against h5py and against the byte-order twins of
//! `be_data.h5` (every dataset stored both big- and little-endian with the same values).
//!
//! Needs `../shared/corpus` beside the repository and Python 3 with h5py.

use std::path::Path;
use std::process::Command;

use coh5::{Dataset, File, Object, Selection, Value};

fn corpus(rel: &str) -> String {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/").to_string() + rel;
    assert!(
        std::path::Path::new(&p).exists(),
        "corpus file missing: {p}"
    );
    p
}

fn dataset(f: &File, path: &str) -> Dataset {
    match f.object(path).expect("object") {
        Object::Dataset(d) => d,
        _ => panic!("{path} is not a dataset"),
    }
}

const BE_DATA: &str = "hdf5/test/testfiles/be_data.h5";

/// Dataset names of be_data.h5 without their `_be` / `_le` suffix.
const TWINS: &[&str] = &[
    "Array",
    "Deflate_float_data",
    "Fletcher_float_data",
    "Nbit_float_data",
    "Scale_offset_char_data",
    "Scale_offset_double_data",
    "Scale_offset_float_data",
    "Scale_offset_int_data",
    "Scale_offset_long_long_data",
    "Scale_offset_short_data",
    "Shuffle_float_data",
    "Szip_float_data",
];

#[test]
fn byte_order_twins_agree_through_one_planned_read() {
    let f = File::open(&corpus(BE_DATA)).expect("open");
    let mut sets = Vec::new();
    for t in TWINS {
        sets.push(dataset(&f, &format!("/{t}_be")));
        sets.push(dataset(&f, &format!("/{t}_le")));
    }
    let sel = Selection::parse("1:6:2, [5, 0, 3]", &[7, 6]).expect("selection");
    let items: Vec<(&Dataset, &Selection)> = sets.iter().map(|d| (d, &sel)).collect();
    let arrays = f.read_many(&items).expect("planned read");
    for (pair, d) in arrays.chunks(2).zip(sets.chunks(2)) {
        let (be, le) = (&pair[0], &pair[1]);
        assert_eq!(be.shape, vec![3, 3]);
        // The planned read returns what single reads return.
        assert_eq!(
            be.bytes,
            d[0].read_raw(&sel).expect("single read"),
            "{}",
            d[0].path()
        );
        let native_be = be.clone().into_native().expect("native");
        let native_le = le.clone().into_native().expect("native");
        assert_eq!(native_be, native_le, "{}", d[0].path());
        if cfg!(target_endian = "little") {
            assert_eq!(native_le, le.bytes);
        }
        assert_eq!(
            be.to_array::<f64>().expect("f64"),
            le.to_array::<f64>().expect("f64")
        );
        assert_eq!(be.values().expect("values"), le.values().expect("values"));
    }
}

#[test]
fn paths_resolved_together_match_one_by_one_in_order() {
    let f = File::open(&corpus(BE_DATA)).expect("open");
    let mut paths: Vec<String> = TWINS.iter().map(|t| format!("/{t}_be")).collect();
    paths.insert(3, "/no_such_dataset".into());
    paths.push("/Array_le".into());
    let together = f.objects(&paths);
    assert_eq!(together.len(), paths.len());
    for (path, got) in paths.iter().zip(together) {
        match (got, f.object(path)) {
            (Ok(a), Ok(b)) => assert_eq!(a.address(), b.address(), "{path}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{path}"),
            (a, b) => panic!("{path}: together {:?}, alone {:?}", a.is_ok(), b.is_ok()),
        }
    }
    assert!(f.objects::<&str>(&[]).is_empty());
}

/// The standard output of Python running `code`, which must succeed.
fn python(code: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// h5py's values of `path` as f64, via Python.
fn h5py_values(file: &str, path: &str) -> Vec<f64> {
    let code = format!(
        "import h5py, json; print(json.dumps([float(x) for x in h5py.File({file:?})[{path:?}][()].ravel()]))"
    );
    serde_json::from_slice(&python(&code)).expect("json")
}

#[test]
fn typed_reads_match_h5py_and_refuse_lossy_conversions() {
    let path = corpus(BE_DATA);
    let f = File::open(&path).expect("open");
    let floats = dataset(&f, "/Scale_offset_float_data_be");
    let a = floats.read::<f32>().expect("f32");
    assert_eq!(a.shape, vec![7, 6]);
    let want = h5py_values(&path, "/Scale_offset_float_data_be");
    assert_eq!(
        a.data.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
        want
    );
    let err = floats
        .read::<i32>()
        .expect_err("fractions do not convert to integers");
    assert!(
        err.to_string().contains("does not convert exactly to i32"),
        "{err}"
    );

    let shorts = dataset(&f, "/Scale_offset_short_data_be");
    let want = h5py_values(&path, "/Scale_offset_short_data_be");
    let as_i8 = shorts.read::<i8>().expect("values fit in i8");
    assert_eq!(
        as_i8.data.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
        want
    );
    let as_i64 = shorts.read::<i64>().expect("i64");
    assert_eq!(
        as_i64.data.iter().map(|&x| x as f64).collect::<Vec<_>>(),
        want
    );
    // The data holds a negative value, which no unsigned type holds.
    let err = shorts.read::<u64>().expect_err("negative to unsigned");
    assert!(
        err.to_string()
            .contains("(-2) does not convert exactly to u64"),
        "{err}"
    );
    let sel = Selection::parse("6, 4:", &[7, 6]).expect("selection");
    let tail = shorts.read_selection::<f32>(&sel).expect("f32");
    assert_eq!(tail.shape, vec![1, 2]);
    assert_eq!(tail.data, vec![want[40] as f32, want[41] as f32]);
    assert!(shorts.read::<bool>().is_err(), "integers are not bools");
}

#[test]
fn values_of_structured_types() {
    let f = File::open(&corpus("h5wasm/test/array.h5")).expect("open");
    let b = dataset(&f, "/bool");
    assert_eq!(
        b.read::<bool>().expect("bool").data,
        vec![false, true, true, false]
    );
    let compound = dataset(&f, "/compound");
    let sel = Selection::all(&compound.shape().expect("shape"));
    let values = compound.read_values(&sel).expect("values");
    let Value::Compound(fields) = &values[1] else {
        panic!("not a compound: {:?}", values[1]);
    };
    assert_eq!(fields[0].0, "floaty");
    let row = |a: f64, b: f64| Value::Array(vec![Value::Float(a), Value::Float(b)]);
    assert_eq!(
        fields[0].1,
        Value::Array(vec![row(4.0, 5.0), row(6.0, 7.0)])
    );
    assert!(
        compound.read::<f64>().is_err(),
        "compounds have no numeric conversion"
    );
    assert!(compound.read_bytes_native(&sel).is_ok());

    let strings = File::open(&corpus(
        "jhdf/jhdf/src/test/resources/hdf5/test_compact_datasets_latest.hdf5",
    ))
    .expect("open");
    let vlen = dataset(&strings, "/string/variable_length_ascii");
    let sel = Selection::parse(":2", &vlen.shape().expect("shape")).expect("selection");
    let values = vlen.read_values(&sel).expect("values");
    assert!(
        values.iter().all(|v| matches!(v, Value::Str(_))),
        "{values:?}"
    );
    let err = vlen
        .read_bytes_native(&sel)
        .expect_err("vlen has no native form");
    assert!(err.to_string().contains("read_values"), "{err}");
    assert!(vlen
        .read::<f64>()
        .expect_err("strings")
        .to_string()
        .contains("strings"));
}

/// Attribute values as h5py returns them, and as a listing shows them: a fixed string with its
/// NUL padding, and a dimension list whose references name the scale by its path.
#[test]
fn attribute_values_and_their_text() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/ATL03_sample.h5");
    let f = File::open(sample).expect("open the sample granule");
    let attrs = dataset(&f, "/gt1l/heights/h_ph").attributes().unwrap();
    let attr = |name: &str| {
        attrs
            .iter()
            .find(|a| a.name_str() == name)
            .unwrap_or_else(|| panic!("no attribute {name}"))
    };
    let units = attr("units");
    assert_eq!(
        units.values().unwrap(),
        Some(vec![Value::Bytes(b"meters\0".to_vec())])
    );
    assert_eq!(units.value_text(8).unwrap().as_deref(), Some("\"meters\""));
    let dims = attr("DIMENSION_LIST");
    let scale = Value::Reference(Some("/gt1l/heights/delta_time".into()));
    assert_eq!(
        dims.values().unwrap(),
        Some(vec![Value::Sequence(vec![scale])])
    );
    assert_eq!(
        dims.value_text(8).unwrap().as_deref(),
        Some("[[/gt1l/heights/delta_time]]")
    );
}

/// A reference names its target by the path libhdf5 gives it. The links read to reach the
/// referring object name the target at once when it has a single hard link; one with two
/// takes the first path of libhdf5's depth-first search, which here is not the one read.
#[test]
fn reference_targets_are_named_as_libhdf5_names_them() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reference_names.h5");
    let code = format!(
        "import h5py\n\
         with h5py.File({:?}, 'w') as f:\n\
         \x20   one = f.create_dataset('b/one', data=[1])\n\
         \x20   two = f.create_dataset('b/two', data=[2])\n\
         \x20   f['a/alias'] = two\n\
         \x20   f['b/v'] = [3]\n\
         \x20   f['b/v'].attrs['to_one'] = one.ref\n\
         \x20   f['b/v'].attrs['to_two'] = two.ref\n",
        path.to_string_lossy()
    );
    python(&code);
    let f = File::open(&path.to_string_lossy()).unwrap();
    let attrs = dataset(&f, "/b/v").attributes().unwrap();
    let text: Vec<String> = attrs
        .iter()
        .map(|a| a.value_text(8).unwrap().unwrap())
        .collect();
    assert_eq!(text, ["/b/one", "/a/alias"]);
}
