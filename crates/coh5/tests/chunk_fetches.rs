//! Reading a chunked dataset fetches every chunk its selection touches, once, in requests that
//! start and end on touched chunks.
//!
//! A recording byte source logs every range coh5 asks for. Each dataset is opened over it and
//! read once (which loads its metadata and chunk index into the file's metadata cache), then
//! random selections are read with the log cleared before each: every logged range must start
//! and end on chunks the selection intersects (the range planner merges touching neighbours)
//! and hold no chunk it does not intersect, no byte is requested twice, and every allocated
//! chunk the selection intersects is fetched. Chunk addresses and sizes come from
//! libhdf5 (h5py's `get_chunk_info`), not from coh5's own index decoding. Datasets are written
//! here by h5py, one per chunk index type, and taken from the corpus.

mod common;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use coh5::format::message::layout::Layout;
use coh5::{ByteSource, DimSelection, File, Object, Selection};
use coh5_io::{LocalFile, Stats};
use common::{corpus_files, datasets, indices, random_selection, Rng};

/// A byte source that records the ranges it is asked for.
#[derive(Debug)]
struct Recorder {
    inner: LocalFile,
    log: Mutex<Vec<Range<u64>>>,
}

impl Recorder {
    fn take(&self) -> Vec<Range<u64>> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

#[async_trait::async_trait]
impl ByteSource for Recorder {
    fn location(&self) -> &str {
        self.inner.location()
    }

    async fn size(&self) -> coh5_io::Result<u64> {
        self.inner.size().await
    }

    async fn read_range(&self, range: Range<u64>) -> coh5_io::Result<Bytes> {
        self.log.lock().unwrap().push(range.clone());
        self.inner.read_range(range).await
    }

    fn stats(&self) -> &Stats {
        self.inner.stats()
    }
}

/// One allocated chunk as libhdf5 reports it.
#[derive(Debug, Clone)]
struct StoredChunk {
    /// Element offset of the chunk's first element.
    offset: Vec<u64>,
    extent: Range<u64>,
}

const CHUNK_INFO: &str = r#"
import sys, h5py
for spec in sys.argv[1:]:
    path, name = spec.split("::", 1)
    with h5py.File(path, "r") as f:
        ds = f[name]
        for i in range(ds.id.get_num_chunks()):
            c = ds.id.get_chunk_info(i)
            print(spec, ",".join(map(str, c.chunk_offset)), c.byte_offset, c.size)
"#;

/// Allocated chunks of each `file::dataset`, from libhdf5.
fn chunk_info(specs: &[String]) -> BTreeMap<String, Vec<StoredChunk>> {
    let out = Command::new("python3")
        .args(["-c", CHUNK_INFO])
        .args(specs)
        .output()
        .expect("python3 with h5py is required");
    assert!(
        out.status.success(),
        "chunk info: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, Vec<StoredChunk>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("text").lines() {
        let f: Vec<&str> = line.rsplitn(4, ' ').collect();
        let [size, addr, offset, spec] = f[..] else {
            panic!("bad chunk info line {line:?}");
        };
        let addr: u64 = addr.parse().expect("address");
        map.entry(spec.to_string()).or_default().push(StoredChunk {
            offset: offset
                .split(',')
                .map(|v| v.parse().expect("offset"))
                .collect(),
            extent: addr..addr + size.parse::<u64>().expect("size"),
        });
    }
    map
}

const WRITER: &str = r#"
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
with h5py.File(out + "/v1.h5", "w", libver="earliest") as f:
    f.create_dataset("btree_v1", data=rng.integers(0, 1000, (45, 37), dtype=np.int32),
                     chunks=(8, 10), compression="gzip")
    d = f.create_dataset("sparse_v1", shape=(60, 9), dtype=np.int16, chunks=(7, 4), fillvalue=-3)
    d[10:30, 2:5] = 1
with h5py.File(out + "/latest.h5", "w", libver="latest") as f:
    f.create_dataset("fixed_array", data=rng.normal(size=(13, 9, 11)), chunks=(4, 4, 5),
                     shuffle=True, compression="gzip")
    f.create_dataset("extensible_array", data=rng.integers(0, 9, (50, 30), dtype=np.uint8),
                     chunks=(7, 8), maxshape=(None, 30))
    f.create_dataset("btree_v2", data=rng.normal(size=(40, 33)).astype(np.float32),
                     chunks=(6, 5), maxshape=(None, None), compression="gzip")
    f.create_dataset("four_d", data=rng.integers(0, 99, (5, 6, 7, 8), dtype=np.int64),
                     chunks=(2, 3, 4, 3), compression="gzip")
    d = f.create_dataset("sparse_fixed", shape=(100,), dtype=np.float64, chunks=(9,))
    d[20:50] = 2.5
"#;

/// Datasets written by h5py into the tests' directory, one per chunk index type and more.
fn written() -> Vec<String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coh5-chunk-fetches");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let status = Command::new("python3")
        .args(["-c", WRITER])
        .arg(&dir)
        .status()
        .expect("python3 with h5py is required");
    assert!(status.success(), "writing the test files failed");
    let v1 = dir.join("v1.h5");
    let latest = dir.join("latest.h5");
    let spec = |p: &Path, n: &str| format!("{}::/{n}", p.display());
    vec![
        spec(&v1, "btree_v1"),
        spec(&v1, "sparse_v1"),
        spec(&latest, "fixed_array"),
        spec(&latest, "extensible_array"),
        spec(&latest, "btree_v2"),
        spec(&latest, "four_d"),
        spec(&latest, "sparse_fixed"),
    ]
}

/// Chunked corpus datasets with several chunks, from files whose addresses start at byte 0
/// (libhdf5 reports chunk addresses relative to the superblock).
fn from_corpus(limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    for path in corpus_files() {
        let starts_with_signature = std::fs::read(&path)
            .map(|b| b.starts_with(b"\x89HDF\r\n\x1a\n"))
            .unwrap_or(false);
        let Ok(file) = File::open(path.to_str().expect("UTF-8")) else {
            continue;
        };
        if !starts_with_signature {
            continue;
        }
        for d in datasets(&file) {
            let (Ok(Layout::Chunked { chunk_dims, .. }), Ok(space), Ok(dt)) =
                (d.layout(), d.dataspace(), d.datatype())
            else {
                continue;
            };
            let chunks: u64 = space
                .dims
                .iter()
                .zip(&chunk_dims)
                .map(|(&n, &c)| n.div_ceil(c.max(1)))
                .product();
            let bytes: u64 = space.dims.iter().product::<u64>() * u64::from(dt.size);
            let plain = d.path().chars().all(|c| c.is_ascii_graphic());
            let decodable = d
                .filters()
                .is_ok_and(|f| f.iter().all(|f| coh5_filters::supported(f.id)));
            if chunks >= 6 && bytes <= 4 << 20 && !space.dims.is_empty() && plain && decodable {
                out.push(format!("{}::{}", path.display(), d.path()));
                break; // one per file, for variety
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

fn touches(sel: &Selection, chunk: &StoredChunk, chunk_dims: &[u64]) -> bool {
    sel.dims
        .iter()
        .zip(&chunk.offset)
        .zip(chunk_dims)
        .all(|((d, &o), &c)| indices(d).iter().any(|&i| i / c == o / c))
}

#[test]
fn selections_fetch_only_the_chunks_they_touch() {
    let mut specs = written();
    let corpus = from_corpus(12);
    assert!(corpus.len() >= 8, "only {} corpus datasets", corpus.len());
    specs.extend(corpus);
    let info = chunk_info(&specs);
    let mut checked = 0;
    for spec in &specs {
        let (path, name) = spec.split_once("::").expect("spec");
        let stored = info.get(spec).cloned().unwrap_or_default();
        let recorder = Arc::new(Recorder {
            inner: LocalFile::open(PathBuf::from(path)).expect("open"),
            log: Mutex::new(Vec::new()),
        });
        let file = File::from_source(recorder.clone()).expect("coh5 opens the file");
        let Ok(Object::Dataset(d)) = file.object(name) else {
            panic!("{spec}: not a dataset");
        };
        let shape = d.dataspace().expect("dataspace").dims;
        let Layout::Chunked { chunk_dims, .. } = d.layout().expect("layout") else {
            panic!("{spec}: not chunked");
        };
        // Load metadata and the chunk index into the cache with a one-element read.
        let one = Selection {
            dims: shape
                .iter()
                .map(|_| DimSelection::Strided {
                    start: 0,
                    count: 1,
                    step: 1,
                })
                .collect(),
        };
        d.read_raw(&one).expect("first read");
        let mut rng = Rng::seeded_by(spec);
        for _ in 0..25 {
            let sel = random_selection(&mut rng, &shape);
            recorder.take();
            d.read_raw(&sel)
                .unwrap_or_else(|e| panic!("{spec} [{}]: {e}", common::numpy_text(&sel)));
            let mut fetched = recorder.take();
            fetched.sort_by_key(|r| r.start);
            let mut wanted: Vec<Range<u64>> = stored
                .iter()
                .filter(|c| touches(&sel, c, &chunk_dims))
                .map(|c| c.extent.clone())
                .collect();
            wanted.sort_by_key(|r| r.start);
            // The range planner merges touching chunks into one request (over a local file it
            // bridges no gaps), so a request may span several chunks: each must start and end
            // on a touched chunk and hold no untouched one, requests must not overlap, and every
            // touched chunk must lie inside one.
            let text = common::numpy_text(&sel);
            assert!(
                fetched.windows(2).all(|w| w[0].end <= w[1].start),
                "{spec} [{text}]: overlapping requests {fetched:?}"
            );
            for r in &fetched {
                assert!(
                    wanted.iter().any(|c| c.start == r.start)
                        && wanted.iter().any(|c| c.end == r.end),
                    "{spec} [{text}]: request {r:?} does not start and end on touched chunks"
                );
                let untouched = stored.iter().find(|c| {
                    !touches(&sel, c, &chunk_dims)
                        && r.start < c.extent.end
                        && c.extent.start < r.end
                });
                assert!(
                    untouched.is_none(),
                    "{spec} [{text}]: request {r:?} fetches untouched chunk {untouched:?}"
                );
            }
            for c in &wanted {
                assert!(
                    fetched.iter().any(|r| r.start <= c.start && c.end <= r.end),
                    "{spec} [{text}]: touched chunk {c:?} was not fetched"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 25 * 15, "only {checked} selections checked");
}
