//! `Group::prefetch_subtree` reads what a walk of every object needs: after it, listing every
//! group and opening every child (and, when asked, reading every object's attributes) makes no
//! further read. The files are written here by h5py with 2.4 MB of raw data between groups, so
//! most of their metadata lies past the open's first read. Needs Python 3 with h5py and numpy.

use std::path::{Path, PathBuf};
use std::process::Command;

use coh5::{File, Group, LinkKind, Object};

const MAKE: &str = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="earliest") as f:
    for b in range(4):
        beam = f.create_group(f"beam{b}")
        for s in ("a", "b"):
            g = beam.create_group(s)
            g.create_dataset("x", data=np.arange(300_000, dtype="f8"))
            g.create_group("deeper").create_group("deepest").attrs["n"] = b
"#;

/// The latest format keeps more than eight attributes of an object in dense storage: a
/// fractal heap and a name B-tree of its own, here written after the raw data around them.
const MAKE_DENSE: &str = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="latest") as f:
    for b in range(4):
        beam = f.create_group(f"beam{b}")
        for s in ("a", "b"):
            d = beam.create_dataset(s, data=np.arange(300_000, dtype="f8"))
            for k in range(12):
                d.attrs[f"attribute_{k}"] = f"value {k} of {b}{s}"
"#;

/// Headers that grew after raw data was written continue far from where they start: each
/// dataset gets its attributes after its data and a 2.4 MB neighbour.
const MAKE_CONTINUED: &str = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="earliest") as f:
    made = [f.create_dataset(f"d{k}", data=np.arange(1000, dtype="i4")) for k in range(6)]
    for k, d in enumerate(made):
        f.create_dataset(f"pad{k}", data=np.zeros(300_000))
        for a in range(10):
            d.attrs[f"attribute_{a}"] = np.arange(20) + a
"#;

/// Writes a file with the h5py script `script`; returns its path.
fn make(script: &str, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("coh5-{name}-{}.h5", std::process::id()));
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .status()
        .expect("python3");
    assert!(status.success(), "h5py could not write the test file");
    path
}

fn open(path: &Path) -> File {
    File::open(path.to_str().unwrap()).expect("open")
}

/// Lists every group depth-first and opens every child, reading its attributes when
/// `attributes`; returns the number of objects and of attributes.
fn walk(group: &Group, attributes: bool) -> (usize, usize) {
    let (mut objects, mut attrs) = (1, 0);
    for link in group.links().expect("links") {
        if !matches!(link.kind, LinkKind::Hard(_)) {
            continue;
        }
        let child = group.open_link(&link).expect("child");
        if attributes {
            attrs += child.attributes().expect("attributes").len();
        }
        if let Object::Group(g) = child {
            let (o, a) = walk(&g, attributes);
            (objects, attrs) = (objects + o, attrs + a);
        } else {
            objects += 1;
        }
    }
    (objects, attrs)
}

#[test]
fn a_walk_after_prefetching_the_subtree_reads_nothing() {
    let path = make(MAKE, "subtree");
    let file = open(&path);
    let requests = || file.source().stats().snapshot().requests;
    let root = file.root().expect("root");
    let opened = requests();
    root.prefetch_subtree(false);
    let prefetched = requests();
    assert!(
        prefetched > opened,
        "the metadata lies past the first read: {opened} requests at open, {prefetched} after"
    );
    assert_eq!(walk(&root, false), (1 + 4 * (1 + 2 * 4), 0));
    assert_eq!(requests(), prefetched, "the walk found everything cached");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn attributes_in_dense_storage_are_prefetched_when_asked_for() {
    let path = make(MAKE_DENSE, "subtree-dense");
    let expected = (1 + 4 * 3, 4 * 2 * 12);

    let file = open(&path);
    let requests = || file.source().stats().snapshot().requests;
    let root = file.root().expect("root");
    root.prefetch_subtree(true);
    let prefetched = requests();
    assert_eq!(walk(&root, true), expected);
    assert_eq!(
        requests(),
        prefetched,
        "the walk found every attribute cached"
    );

    // Without them, the walk reads the attributes' heaps and B-trees itself.
    let file = open(&path);
    let requests = || file.source().stats().snapshot().requests;
    let root = file.root().expect("root");
    root.prefetch_subtree(false);
    let prefetched = requests();
    assert_eq!(walk(&root, true), expected);
    assert!(
        requests() > prefetched,
        "dense attributes lie outside the headers' blocks"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn listing_a_group_brings_its_childrens_header_continuations() {
    let path = make(MAKE_CONTINUED, "continued");
    let file = open(&path);
    let requests = || file.source().stats().snapshot().requests;
    let root = file.root().expect("root");
    let links = root.links().expect("links");
    let listed = requests();
    let mut attributes = 0;
    for link in &links {
        attributes += root
            .open_link(link)
            .expect("child")
            .attributes()
            .expect("attributes")
            .len();
    }
    assert_eq!((links.len(), attributes), (12, 60));
    assert_eq!(requests(), listed, "the children's headers were read whole");
    let _ = std::fs::remove_file(&path);
}
