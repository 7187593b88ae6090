//! Robustness: every corpus file, truncated and bit-flipped at many offsets, must give either an
//! error or a manifest — never a panic, a hang or an absurd allocation.
//!
//! Mutations are deterministic (a seeded xorshift per file), so a failure names a case that can be
//! replayed. Each case runs on its own thread with a deadline; panics (including those rayon
//! carries back from its pool) are caught and reported with the file and mutation. A counting
//! global allocator refuses any single allocation above [`MAX_ALLOCATION`] and fails the case:
//! sizes read from a file must be checked before they are allocated.
//!
//! `COH5_ROBUST_CASES` sets the number of mutants per file (default [`DEFAULT_CASES`]);
//! `COH5_ROBUST_DIR` mutates the files of another directory instead of the corpus.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use coh5::manifest::{manifest, ManifestOptions};
use coh5_io::MemorySource;

/// No legitimate corpus file needs a single buffer this large; a request above it means a size
/// from the file was trusted.
const MAX_ALLOCATION: usize = 1 << 30;
/// Mutants per file in the default run: sized so the whole corpus takes a few minutes in a debug
/// build on two cores.
const DEFAULT_CASES: usize = 24;
/// Files whose unmutated manifest takes longer than this get proportionally fewer mutants, so a
/// handful of slow files (large compressed datasets in a debug build) do not dominate the run.
const PER_FILE_BUDGET: Duration = Duration::from_secs(3);
/// A case may take this much longer than the unmutated file before it counts as a hang.
const DEADLINE_SLACK: Duration = Duration::from_secs(30);

/// Largest allocation refused so far (0 = none); read and reset around each case.
static OVERSIZED: AtomicU64 = AtomicU64::new(0);
/// The case being run, printed if an oversized allocation aborts the process.
static CURRENT_CASE: Mutex<String> = Mutex::new(String::new());

struct Guard;

// SAFETY: forwards to the system allocator; only refuses (returns null for) oversized requests,
// which the GlobalAlloc contract allows.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            refuse(new_size);
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Records an oversized request. An infallible allocation then aborts the process, so the case
/// is named on stderr first (without allocating: `try_lock` and an unbuffered write).
fn refuse(size: usize) {
    OVERSIZED.fetch_max(size as u64, Ordering::Relaxed);
    if let Ok(case) = CURRENT_CASE.try_lock() {
        let mut err = std::io::stderr();
        let _ = err.write_all(b"robustness: refused an allocation above 1 GiB in case ");
        let _ = err.write_all(case.as_bytes());
        let _ = err.write_all(b"\n");
    }
}

#[global_allocator]
static GLOBAL: Guard = Guard;

fn corpus() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .to_path_buf()
}

/// Every file under the corpus except the golden manifests.
fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "golden") {
                continue;
            }
            corpus_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// xorshift64*: deterministic, good enough to spread offsets.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// An offset in `0..len`, dense near the start where superblocks and root headers live:
    /// half in the first 4 KiB, a quarter in the first 64 KiB, the rest anywhere.
    fn offset(&mut self, len: u64) -> u64 {
        let window = match self.below(4) {
            0 | 1 => 4096,
            2 => 65536,
            _ => len,
        };
        self.below(window.min(len))
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Original,
    Truncate(u64),
    /// (byte offset, xor mask) pairs.
    Flip(Vec<(u64, u8)>),
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mutation::Original => write!(f, "unmodified"),
            Mutation::Truncate(n) => write!(f, "truncated to {n} bytes"),
            Mutation::Flip(flips) => {
                write!(f, "xor")?;
                for (at, mask) in flips {
                    write!(f, " {at:#x}^{mask:#04x}")?;
                }
                Ok(())
            }
        }
    }
}

impl Mutation {
    fn apply(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Mutation::Original => data.to_vec(),
            Mutation::Truncate(n) => data[..*n as usize].to_vec(),
            Mutation::Flip(flips) => {
                let mut out = data.to_vec();
                for &(at, mask) in flips {
                    out[at as usize] ^= mask;
                }
                out
            }
        }
    }
}

/// The mutants of a file of `len` bytes: alternating truncations and flips of one to three
/// bytes (single bits, or whole bytes, which turn small sizes into huge ones).
fn mutations(path: &Path, len: u64, cases: usize) -> Vec<Mutation> {
    let seed = path
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(cases);
    if len == 0 {
        return out;
    }
    for i in 0..cases {
        if i % 2 == 0 {
            out.push(Mutation::Truncate(rng.offset(len)));
        } else {
            let count = 1 + rng.below(3) as usize;
            let flips = (0..count)
                .map(|_| {
                    let at = rng.offset(len);
                    let mask = if rng.below(3) == 0 {
                        0xff
                    } else {
                        1 << rng.below(8)
                    };
                    (at, mask)
                })
                .collect();
            out.push(Mutation::Flip(flips));
        }
    }
    out
}

/// Opens `data` from memory and builds its manifest with data; returns whether it succeeded.
fn open_and_walk(data: Vec<u8>, name: String) -> bool {
    let source = Arc::new(MemorySource::new(data, name));
    match coh5::File::from_source(source) {
        Ok(file) => manifest(&file, ManifestOptions::default()).is_ok(),
        Err(_) => false,
    }
}

enum Outcome {
    Done { ok: bool, elapsed: Duration },
    Panicked(String),
    Hung,
    Oversized(u64),
}

/// Runs one case on its own thread with a deadline.
fn run_case(data: Vec<u8>, label: &str, deadline: Duration) -> Outcome {
    *CURRENT_CASE.lock().unwrap_or_else(|e| e.into_inner()) = label.to_string();
    OVERSIZED.store(0, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel();
    let name = label.to_string();
    let start = Instant::now();
    std::thread::Builder::new()
        .name("robustness-case".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| open_and_walk(data, name)));
            let _ = tx.send(result);
        })
        .expect("spawn case thread");
    let outcome = match rx.recv_timeout(deadline) {
        Ok(Ok(ok)) => Outcome::Done {
            ok,
            elapsed: start.elapsed(),
        },
        Ok(Err(payload)) => Outcome::Panicked(
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic payload".into()),
        ),
        Err(_) => Outcome::Hung,
    };
    match OVERSIZED.swap(0, Ordering::Relaxed) {
        0 => outcome,
        size => Outcome::Oversized(size),
    }
}

#[test]
fn mutated_corpus_files_error_or_succeed_quickly() {
    // Another directory of files to mutate (e.g. scripts/randomized output), for hunting.
    let other = std::env::var_os("COH5_ROBUST_DIR").map(PathBuf::from);
    let root = other.clone().unwrap_or_else(corpus);
    assert!(
        root.is_dir(),
        "expected the shared corpus at {}",
        root.display()
    );
    let cases: usize = std::env::var("COH5_ROBUST_CASES")
        .ok()
        .map(|v| v.parse().expect("COH5_ROBUST_CASES must be a number"))
        .unwrap_or(DEFAULT_CASES);
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    if other.is_some() {
        files.retain(|p| !p.extension().is_some_and(|e| e == "json" || e == "raw"));
    }
    assert!(
        other.is_some() || files.len() > 400,
        "corpus has only {} files",
        files.len()
    );

    let started = Instant::now();
    let mut failures = Vec::new();
    let (mut run, mut errors) = (0usize, 0usize);
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        let mut budget = cases;
        let mut deadline = DEADLINE_SLACK;
        for (i, mutation) in std::iter::once(Mutation::Original)
            .chain(mutations(path, data.len() as u64, cases))
            .enumerate()
        {
            if i > budget {
                break;
            }
            let label = format!("{rel} ({mutation})");
            let outcome = run_case(mutation.apply(&data), &label, deadline);
            run += 1;
            match outcome {
                Outcome::Done { ok, elapsed } => {
                    errors += usize::from(!ok);
                    if i == 0 {
                        let slow = elapsed.as_secs_f64() / PER_FILE_BUDGET.as_secs_f64();
                        budget = ((cases as f64 / slow.max(1.0)) as usize).max(2);
                        deadline = DEADLINE_SLACK + elapsed * 10;
                    }
                }
                Outcome::Panicked(msg) => failures.push(format!("{label}: panic: {msg}")),
                Outcome::Hung => {
                    failures.push(format!("{label}: no result within {deadline:?}"));
                    // The hung thread keeps a core busy; stop rather than slow every later case.
                    break;
                }
                Outcome::Oversized(size) => {
                    failures.push(format!("{label}: allocation of {size} bytes requested"))
                }
            }
        }
    }
    eprintln!(
        "robustness: {run} cases over {} files ({errors} ended in an error) in {:.1?}",
        files.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The corpus's deliberately broken files (CVE reproducers, the h5dump infinite-loop file):
/// each is refused, or has its broken object reported, with an error naming the file offset.
#[test]
fn broken_corpus_files_give_clear_errors() {
    let root = corpus();
    let unopenable = [
        "hdf5/test/testfiles/cve_2020_10810.h5",
        "hdf5/test/testfiles/cve_2020_10812.h5",
        "hdf5/tools/test/h5dump/testfiles/3790_infinite_loop.h5",
    ];
    for rel in unopenable {
        let start = Instant::now();
        let path = root.join(rel);
        // Opening reads only the superblock (and its extension); the root group comes next.
        let walked = coh5::File::open(path.to_str().expect("utf-8 path"))
            .and_then(|f| manifest(&f, ManifestOptions::default()));
        match walked {
            Ok(_) => panic!("{rel} opened"),
            Err(e) => {
                let text = e.to_string();
                assert!(matches!(e, coh5::Error::Format { .. }), "{rel}: {text}");
                assert!(text.contains("at offset 0x"), "{rel}: {text}");
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{rel} took too long"
        );
    }
    let broken_objects = [
        "hdf5/tools/test/h5repack/testfiles/h5repack_CVE-2018-14460.h5",
        "hdf5/tools/test/h5repack/testfiles/h5repack_CVE-2018-17432.h5",
        "hdf5/tools/test/h5dump/testfiles/tCVE-2021-37501_attr_decode.h5",
    ];
    for rel in broken_objects {
        let start = Instant::now();
        let path = root.join(rel);
        let file = coh5::File::open(path.to_str().expect("utf-8 path")).expect(rel);
        let m = manifest(&file, ManifestOptions::default()).expect(rel);
        let errors = m["errors"].as_array().expect("errors list");
        assert!(!errors.is_empty(), "{rel}: no errors reported");
        for e in errors {
            let e = e.as_str().unwrap_or_default();
            assert!(e.contains("at offset 0x"), "{rel}: {e}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{rel} took too long"
        );
    }
}
