//! Property test: random selections read through `Dataset::read_raw` equal numpy-style slicing
//! of the full read, over many corpus datasets (contiguous, chunked and compact; filtered;
//! ranks 1 to 4; partial edge chunks). The full read itself is what the conformance manifest
//! compares with libhdf5, so agreement here extends that proof to every selection path: strided
//! ranges, single indices, empty ranges and index lists. A second test checks a sample of the
//! same selections against numpy through h5py directly.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use coh5::format::datatype::TypeClass;
use coh5::format::message::layout::Layout;
use coh5::{Dataset, File, Selection};
use common::{corpus_files, datasets, numpy_text, random_selection, reference_slice, Rng};

/// Datasets larger than this are left out: the test must stay quick in debug builds.
const MAX_BYTES: u64 = 256 << 10;
/// At most this many datasets per file, so that no single file dominates.
const PER_FILE: usize = 8;
/// Random selections per dataset.
const SELECTIONS: usize = 20;

/// A corpus dataset the test can use.
struct Candidate {
    file: PathBuf,
    path: String,
    shape: Vec<u64>,
    esize: usize,
    layout: &'static str,
    filtered: bool,
    edge_chunks: bool,
    /// Standard-size integers and IEEE floats, which h5py returns exactly as stored.
    plain_numeric: bool,
}

fn describe(file: &std::path::Path, d: &Dataset) -> Option<Candidate> {
    let space = d.dataspace().ok()?;
    let dt = d.datatype().ok()?;
    let rank = space.dims.len();
    if !(1..=4).contains(&rank) || dt.has_vlen() || dt.size == 0 {
        return None;
    }
    if matches!(dt.class, TypeClass::Reference { .. }) {
        return None;
    }
    let bytes = space
        .dims
        .iter()
        .try_fold(u64::from(dt.size), |a, &n| a.checked_mul(n))?;
    if bytes > MAX_BYTES {
        return None;
    }
    let (layout, edge_chunks) = match d.layout().ok()? {
        Layout::Compact { .. } => ("compact", false),
        Layout::Contiguous { .. } => ("contiguous", false),
        Layout::Chunked { chunk_dims, .. } => (
            "chunked",
            space
                .dims
                .iter()
                .zip(&chunk_dims)
                .any(|(&n, &c)| c > 0 && n % c != 0),
        ),
        Layout::Virtual { .. } => return None,
    };
    let plain_numeric = match &dt.class {
        TypeClass::FixedPoint {
            bit_offset: 0,
            precision,
            ..
        } => u32::from(*precision) == dt.size * 8,
        TypeClass::FloatingPoint { precision, .. } => {
            matches!((dt.size, precision), (4, 32) | (8, 64))
        }
        _ => false,
    };
    Some(Candidate {
        file: file.to_path_buf(),
        path: d.path().to_string(),
        shape: space.dims,
        esize: dt.size as usize,
        layout,
        filtered: !d.filters().ok()?.is_empty(),
        edge_chunks,
        plain_numeric,
    })
}

/// The datasets of the whole corpus that qualify, found once per test binary.
fn candidates() -> &'static [Candidate] {
    static ALL: OnceLock<Vec<Candidate>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for path in corpus_files() {
            // Files coh5 cannot open are the conformance suite's business, not this test's.
            let Ok(file) = File::open(path.to_str().expect("corpus paths are UTF-8")) else {
                continue;
            };
            all.extend(
                datasets(&file)
                    .iter()
                    .filter_map(|d| describe(&path, d))
                    .take(PER_FILE),
            );
        }
        all
    })
}

fn open(c: &Candidate) -> Dataset {
    let file = File::open(c.file.to_str().expect("UTF-8 path")).expect("opened before");
    match file.object(&c.path) {
        Ok(coh5::Object::Dataset(d)) => d,
        _ => panic!("{}: {} is no longer a dataset", c.file.display(), c.path),
    }
}

#[test]
fn random_selections_match_slices_of_the_full_read() {
    let mut tested = 0;
    let mut unreadable = 0;
    let mut layouts = BTreeSet::new();
    let mut ranks = BTreeSet::new();
    let (mut filtered, mut edges, mut selections) = (0, 0, 0);
    for c in candidates() {
        let d = open(c);
        // Datasets whose full read fails (unsupported filters, say) have nothing to compare with.
        let Ok(full) = d.read_raw(&Selection::all(&c.shape)) else {
            unreadable += 1;
            continue;
        };
        let mut rng = Rng::seeded_by(&format!("{}:{}", c.file.display(), c.path));
        for _ in 0..SELECTIONS {
            let sel = random_selection(&mut rng, &c.shape);
            let want = reference_slice(&full, &c.shape, c.esize, &sel);
            let got = d.read_raw(&sel).unwrap_or_else(|e| {
                panic!(
                    "{} {} [{}]: {e}",
                    c.file.display(),
                    c.path,
                    numpy_text(&sel)
                )
            });
            assert!(
                got == want,
                "{} {} shape {:?} [{}]: selection read differs from slicing the full read",
                c.file.display(),
                c.path,
                c.shape,
                numpy_text(&sel)
            );
            selections += 1;
        }
        tested += 1;
        layouts.insert(c.layout);
        ranks.insert(c.shape.len());
        filtered += usize::from(c.filtered);
        edges += usize::from(c.edge_chunks);
    }
    println!(
        "{tested} datasets ({unreadable} unreadable skipped), {selections} selections, \
         {filtered} filtered, {edges} with edge chunks, layouts {layouts:?}, ranks {ranks:?}"
    );
    // The sample must stay broad, or the test would pass vacuously as the corpus changes.
    assert!(tested >= 800, "only {tested} datasets tested");
    assert_eq!(layouts.len(), 3, "layouts covered: {layouts:?}");
    assert_eq!(ranks.len(), 4, "ranks covered: {ranks:?}");
    assert!(filtered >= 120, "only {filtered} filtered datasets");
    assert!(
        edges >= 80,
        "only {edges} datasets with partial edge chunks"
    );
}

/// `s` as a JSON string (paths here are plain text; escape what JSON requires).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const NUMPY_SLICER: &str = r#"
import json, sys
import h5py, numpy as np
for case in json.load(sys.stdin):
    with h5py.File(case["file"], "r") as f:
        full = f[case["path"]][()]
    index = []
    # Split on commas outside brackets.
    parts, depth, cur = [], 0, ""
    for ch in case["sel"]:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        if p.startswith("["):
            index.append(np.array(json.loads(p), dtype=np.intp))
        else:
            a, b, c = (int(x) for x in p.split(":"))
            index.append(slice(a, b, c))
    print(np.ascontiguousarray(full[tuple(index)]).tobytes().hex())
"#;

#[test]
fn selections_agree_with_numpy() {
    // One plain numeric dataset per (layout, rank, filtered) combination, three selections each.
    let mut seen = BTreeSet::new();
    let mut cases = Vec::new();
    for c in candidates() {
        let key = (c.layout, c.shape.len(), c.filtered);
        if !c.plain_numeric || c.path.contains(['"', '\\']) || !seen.insert(key) {
            continue;
        }
        let d = open(c);
        if d.read_raw(&Selection::all(&c.shape)).is_err() {
            continue;
        }
        let mut rng = Rng::seeded_by(&c.path);
        for _ in 0..3 {
            let sel = random_selection(&mut rng, &c.shape);
            let got = d.read_raw(&sel).expect("selection read");
            let text = numpy_text(&sel);
            // The text handed to numpy means the same selection to coh5's own parser.
            assert_eq!(Selection::parse(&text, &c.shape).expect("parse"), sel);
            cases.push((c, text, got));
        }
    }
    assert!(cases.len() >= 30, "only {} numpy cases", cases.len());
    let json = format!(
        "[{}]",
        cases
            .iter()
            .map(|(c, sel, _)| format!(
                "{{\"file\":{},\"path\":{},\"sel\":{}}}",
                json_string(&c.file.display().to_string()),
                json_string(&c.path),
                json_string(sel)
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut child = Command::new("python3")
        .args(["-c", NUMPY_SLICER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with h5py and numpy is required");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(json.as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "numpy slicer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .expect("hex")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), cases.len());
    for ((c, sel, got), want) in cases.iter().zip(&lines) {
        let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            &got == want,
            "{} {} [{sel}]: coh5 and numpy differ",
            c.file.display(),
            c.path
        );
    }
}
