//! Deliberately broken files (written by tests/fixtures/make_crafted.py): each must give a typed
//! error naming the structure's offset, quickly, through the public `coh5::File` API.

use std::time::{Duration, Instant};

use coh5::format::Error as FormatError;
use coh5::manifest::{manifest, ManifestOptions};
use coh5::{Error, File, Object};

/// Every case fails on its first few reads; anything slower is a walk that should not happen.
const QUICK: Duration = Duration::from_secs(5);

fn open(name: &str) -> File {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    File::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The decoding error inside a library error, with the object path it names.
fn format_error(e: Error) -> (String, FormatError) {
    match e {
        Error::Format { path, source, .. } => (path, source),
        other => panic!("expected a format error, got {other}"),
    }
}

fn child(file: &File, name: &str) -> coh5::Result<Object> {
    let root = file.root()?;
    let link = root
        .links()?
        .into_iter()
        .find(|l| l.name == name.as_bytes())
        .unwrap_or_else(|| panic!("no link {name}"));
    root.open_link(&link)
}

#[test]
fn continuation_loop_is_a_cycle() {
    let start = Instant::now();
    let e = child(&open("continuation_loop.h5"), "g")
        .err()
        .expect("error");
    let (path, e) = format_error(e);
    assert_eq!(path, "/g");
    assert!(
        matches!(e, FormatError::Cycle { offset, .. } if offset > 0),
        "{e}"
    );
    assert!(start.elapsed() < QUICK);
}

#[test]
fn btree_node_that_is_its_own_child_is_a_cycle() {
    let start = Instant::now();
    let file = open("btree_self_child.h5");
    let (path, e) = format_error(file.root().unwrap().links().unwrap_err());
    assert_eq!(path, "/");
    assert!(matches!(e, FormatError::Cycle { offset: 0x88, .. }), "{e}");
    assert!(start.elapsed() < QUICK);
}

#[test]
fn fractal_heap_block_pointing_at_itself_is_refused() {
    let start = Instant::now();
    let file = open("fractal_heap_self_child.h5");
    let Ok(Object::Group(g)) = child(&file, "g") else {
        panic!("/g is a group");
    };
    let (path, e) = format_error(g.links().unwrap_err());
    assert_eq!(path, "/g");
    // The root indirect block's first child is the indirect block itself, read as a direct
    // block: it runs past the end of the file.
    assert!(
        matches!(e, FormatError::Truncated { structure: "fractal heap direct block", offset, .. } if offset > 0),
        "{e}"
    );
    assert!(start.elapsed() < QUICK);
}

#[test]
fn heap_larger_than_the_file_is_refused_before_reading() {
    let start = Instant::now();
    let file = open("heap_larger_than_file.h5");
    let (path, e) = format_error(file.root().unwrap().links().unwrap_err());
    assert_eq!(path, "/");
    assert!(
        matches!(e, FormatError::Truncated { need: 0x100000, offset, .. } if offset > 0),
        "{e}"
    );
    assert!(start.elapsed() < QUICK);
}

#[test]
fn dataspace_of_2_60_elements_is_refused_when_read() {
    let start = Instant::now();
    let file = open("dataspace_2_60.h5");
    let Ok(Object::Dataset(d)) = child(&file, "d") else {
        panic!("/d is a dataset");
    };
    assert_eq!(d.dataspace().unwrap().dims, [1u64 << 60]);
    // No size cap: the manifest must try to read it and get a typed refusal, not an abort.
    let options = ManifestOptions {
        data: true,
        max_data_bytes: u64::MAX,
    };
    let m = manifest(&file, options).unwrap();
    let err = m["objects"]["/d"]["read_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        err.contains("dataset read at offset") && err.contains("exceeds a limit"),
        "{m:#}"
    );
    assert!(start.elapsed() < QUICK);
}

#[test]
fn chunks_of_another_rank_than_the_dataspace_are_refused() {
    // Found by the open_manifest fuzz target: the read indexed the output's shape with the
    // chunk's dimensions and panicked.
    let start = Instant::now();
    let file = open("chunk_rank_mismatch.h5");
    let Ok(Object::Dataset(d)) = child(&file, "c") else {
        panic!("/c is a dataset");
    };
    let all = coh5::Selection::all(&[64]);
    for e in [d.read_raw(&all).unwrap_err(), d.chunks().unwrap_err()] {
        match e {
            Error::Object { path, detail, .. } => {
                assert_eq!(path, "/c");
                assert_eq!(detail, "chunks of rank 2 in a dataspace of rank 1");
            }
            other => panic!("expected an object error, got {other}"),
        }
    }
    assert!(start.elapsed() < QUICK);
}
