//! Shared by the selection tests: the corpus, a walk over its datasets, a seeded generator of
//! random numpy-style selections, and a reference slicer that applies a selection to a full read
//! one element at a time, the plain way numpy's outer indexing defines it.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::HashSet;
use std::path::PathBuf;

use coh5::{DimSelection, File, LinkKind, Object, Selection};

pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "the corpus is missing at {}",
        dir.display()
    );
    dir
}

/// Corpus files that libhdf5 opens, in MANIFEST.tsv order.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (path, opens) = (col("path"), col("h5py_open"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.get(opens) == Some(&"yes"))
        .map(|f| dir.join(f[path]))
        .collect()
}

/// Every dataset reachable through hard links, each object once, in name order.
pub fn datasets(file: &File) -> Vec<coh5::Dataset> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let Ok(root) = file.root() else {
        return out;
    };
    let mut stack = vec![root];
    seen.insert(stack[0].address());
    while let Some(group) = stack.pop() {
        let Ok(links) = group.links_sorted() else {
            continue;
        };
        for link in links {
            let LinkKind::Hard(addr) = link.kind else {
                continue;
            };
            if !seen.insert(addr) {
                continue;
            }
            match group.open_link(&link) {
                Ok(Object::Group(g)) => stack.push(g),
                Ok(Object::Dataset(d)) => out.push(d),
                _ => {}
            }
        }
    }
    out
}

/// splitmix64: small, seedable, and good enough to spread test cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn seeded_by(text: &str) -> Rng {
        // FNV-1a, so that every dataset gets its own reproducible stream.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(h)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One random selection of a dimension of length `n`: everything, a strided range, a single
/// index, an empty range, or an index list (unsorted, with repeats). `lists` says whether index
/// lists are allowed (numpy applies a single list as outer indexing; see `reference_slice`).
pub fn random_dim(rng: &mut Rng, n: u64, lists: bool) -> DimSelection {
    if n == 0 {
        return DimSelection::Strided {
            start: 0,
            count: 0,
            step: 1,
        };
    }
    let kinds = if lists { 6 } else { 5 };
    match rng.below(kinds) {
        0 => DimSelection::Strided {
            start: 0,
            count: n,
            step: 1,
        },
        1 => DimSelection::Strided {
            start: rng.below(n),
            count: 1,
            step: 1,
        },
        2 => DimSelection::Strided {
            start: rng.below(n),
            count: 0,
            step: 1 + rng.below(3),
        },
        5 => {
            let len = rng.below(9);
            DimSelection::Indices((0..len).map(|_| rng.below(n)).collect())
        }
        _ => {
            let start = rng.below(n);
            let step = 1 + rng.below((n / 3).max(1));
            let max_count = (n - 1 - start) / step + 1;
            DimSelection::Strided {
                start,
                count: 1 + rng.below(max_count),
                step,
            }
        }
    }
}

/// A random selection with at most one index list (numpy's outer and advanced indexing agree
/// then, so the same selection can be checked against numpy directly).
pub fn random_selection(rng: &mut Rng, shape: &[u64]) -> Selection {
    let list_dim = rng.below(shape.len() as u64 + 1) as usize;
    Selection {
        dims: shape
            .iter()
            .enumerate()
            .map(|(i, &n)| random_dim(rng, n, i == list_dim))
            .collect(),
    }
}

/// The source indices a dimension selection picks, in output order.
pub fn indices(d: &DimSelection) -> Vec<u64> {
    match d {
        DimSelection::Strided { start, count, step } => {
            (0..*count).map(|k| start + k * step).collect()
        }
        DimSelection::Indices(v) => v.clone(),
    }
}

/// `full[np.ix_(*indices)]` for a C-order array of `esize`-byte elements, element by element.
pub fn reference_slice(full: &[u8], shape: &[u64], esize: usize, sel: &Selection) -> Vec<u8> {
    let picks: Vec<Vec<u64>> = sel.dims.iter().map(indices).collect();
    let total: usize = picks.iter().map(Vec::len).product();
    let mut out = Vec::with_capacity(total * esize);
    if total == 0 {
        return out;
    }
    let strides: Vec<u64> = (0..shape.len())
        .map(|i| shape[i + 1..].iter().product())
        .collect();
    let mut pos = vec![0usize; shape.len()];
    loop {
        let element: u64 = pos
            .iter()
            .zip(&picks)
            .zip(&strides)
            .map(|((&p, pick), &s)| pick[p] * s)
            .sum();
        let at = element as usize * esize;
        out.extend_from_slice(&full[at..at + esize]);
        // Odometer over the output positions, last dimension fastest.
        let mut d = shape.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < picks[d].len() {
                break;
            }
            pos[d] = 0;
        }
    }
}

/// numpy text for one dimension selection, as `Selection::parse` and Python read it.
pub fn numpy_text(sel: &Selection) -> String {
    sel.dims
        .iter()
        .map(|d| match d {
            DimSelection::Strided { start, count, step } => {
                format!("{start}:{}:{step}", start + count * step)
            }
            DimSelection::Indices(v) => format!(
                "[{}]",
                v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn reference_slice_follows_numpy() {
    // np.arange(24).reshape(2,3,4)[1:2, [2,0,2], 1::2] as u8 elements.
    let full: Vec<u8> = (0..24).collect();
    let sel = Selection {
        dims: vec![
            DimSelection::Strided {
                start: 1,
                count: 1,
                step: 1,
            },
            DimSelection::Indices(vec![2, 0, 2]),
            DimSelection::Strided {
                start: 1,
                count: 2,
                step: 2,
            },
        ],
    };
    assert_eq!(
        reference_slice(&full, &[2, 3, 4], 1, &sel),
        vec![21, 23, 13, 15, 21, 23]
    );
    assert_eq!(numpy_text(&sel), "1:2:1,[2,0,2],1:5:2");
}
