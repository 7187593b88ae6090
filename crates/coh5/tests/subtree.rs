//! `Group::prefetch_subtree` reads what a walk of every object needs: after it, listing every
//! group and opening every child makes no further read. The file is written here by h5py with
//! old-style groups and 2.4 MB of raw data between them, so most of its metadata lies past the
//! open's first read. Needs Python 3 with h5py and numpy.

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

/// Lists every group depth-first and opens every child; returns the number of objects.
fn walk(group: &Group) -> usize {
    let mut objects = 1;
    for link in group.links().expect("links") {
        if !matches!(link.kind, LinkKind::Hard(_)) {
            continue;
        }
        match group.open_link(&link).expect("child") {
            Object::Group(child) => objects += walk(&child),
            _ => objects += 1,
        }
    }
    objects
}

#[test]
fn a_walk_after_prefetching_the_subtree_reads_nothing() {
    let path = std::env::temp_dir().join(format!("coh5-subtree-{}.h5", std::process::id()));
    let status = Command::new("python3")
        .arg("-c")
        .arg(MAKE)
        .arg(&path)
        .status()
        .expect("python3");
    assert!(status.success(), "h5py could not write the test file");

    let file = File::open(path.to_str().unwrap()).expect("open");
    let requests = || file.source().stats().snapshot().requests;
    let root = file.root().expect("root");
    let opened = requests();
    root.prefetch_subtree();
    let prefetched = requests();
    assert!(
        prefetched > opened,
        "the metadata lies past the first read: {opened} requests at open, {prefetched} after"
    );
    assert_eq!(walk(&root), 1 + 4 * (1 + 2 * 4));
    assert_eq!(requests(), prefetched, "the walk found everything cached");
    let _ = std::fs::remove_file(&path);
}
