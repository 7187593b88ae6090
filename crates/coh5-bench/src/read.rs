//! `coh5-bench read`: full reads of large gzip and shuffle+gzip chunked datasets from a local
//! file, h5py against coh5 on 1 and 2 decoding threads, in the same run.
//!
//! Every measurement is a fresh child process (h5py: `scripts/bench-h5py-read.py`; coh5:
//! `coh5-bench read-one`) that times the read alone and reports its own peak resident memory.
//! The file is read once beforehand so that both readers find it in the page cache; the
//! configurations then take turns, round after round, so that drift on a shared machine hits
//! all of them alike, and each reports its median time.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::markdown::{self, Row};
use crate::sample::{measure, summarize, Sample};

/// The datasets `scripts/bench-make-file.py` writes.
const DATASETS: [&str; 4] = [
    "f32_gzip",
    "f32_shuffle_gzip",
    "i32_gzip",
    "i32_shuffle_gzip",
];
/// coh5 decoding pool sizes measured.
const THREADS: [usize; 2] = [1, 2];

fn scripts_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts")).to_path_buf()
}

struct Options {
    dir: PathBuf,
    size_mib: u64,
    runs: usize,
    markdown: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        dir: PathBuf::from("target/bench-data"),
        size_mib: 256,
        runs: 5,
        markdown: Some(PathBuf::from("BENCHMARKS.md")),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => o.dir = PathBuf::from(value()?),
            "--size-mib" => o.size_mib = number(flag, value()?)?,
            "--runs" => o.runs = number(flag, value()?)?,
            "--markdown" => o.markdown = Some(PathBuf::from(value()?)),
            "--no-markdown" => o.markdown = None,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.runs == 0 || o.size_mib == 0 {
        return Err("--runs and --size-mib must be positive".into());
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag} takes a number, not {v:?}"))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let file = o.dir.join(format!("read-{}.h5", o.size_mib));
    if !file.exists() {
        std::fs::create_dir_all(&o.dir)
            .map_err(|e| format!("cannot create {}: {e}", o.dir.display()))?;
        eprintln!("generating {} with h5py ...", file.display());
        let status = Command::new("python3")
            .arg(scripts_dir().join("bench-make-file.py"))
            .arg(&file)
            .arg(o.size_mib.to_string())
            .status()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if !status.success() {
            return Err(format!("bench-make-file.py failed ({status})"));
        }
    }
    warm(&file)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let h5py_script = scripts_dir().join("bench-h5py-read.py");
    let mut rows = Vec::new();
    for name in DATASETS {
        let dataset = format!("/{name}");
        let h5py = || {
            let mut c = Command::new("python3");
            c.arg(&h5py_script).arg(&file).arg(&dataset);
            c
        };
        let coh5 = |threads: usize| {
            let mut c = Command::new(&exe);
            c.arg("read-one")
                .arg(&file)
                .arg(&dataset)
                .arg(threads.to_string());
            c
        };
        // One discarded round warms everything a first run pays for (imports, the binary).
        measure(&mut h5py())?;
        for t in THREADS {
            measure(&mut coh5(t))?;
        }
        let mut h5py_runs: Vec<Sample> = Vec::new();
        let mut coh5_runs: Vec<Vec<Sample>> = vec![Vec::new(); THREADS.len()];
        for round in 0..o.runs {
            h5py_runs.push(measure(&mut h5py())?);
            for (runs, t) in coh5_runs.iter_mut().zip(THREADS) {
                runs.push(measure(&mut coh5(t))?);
            }
            eprintln!("{name}: round {} of {} done", round + 1, o.runs);
        }
        let h5py = summarize(&h5py_runs).ok_or("no h5py runs")?;
        let coh5: Vec<_> = coh5_runs
            .iter()
            .zip(THREADS)
            .map(|(runs, t)| summarize(runs).map(|s| (t, s)))
            .collect::<Option<_>>()
            .ok_or("no coh5 runs")?;
        for (_, s) in &coh5 {
            if s.bytes != h5py.bytes {
                return Err(format!(
                    "{name}: coh5 read {} bytes, h5py {}",
                    s.bytes, h5py.bytes
                ));
            }
        }
        rows.push(Row {
            dataset: name.to_string(),
            h5py,
            coh5,
        });
    }
    let command = format!(
        "cargo run --release -p coh5-bench -- read --size-mib {} --runs {}",
        o.size_mib, o.runs
    );
    let stored = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let body = markdown::render(&rows, &command, o.runs, stored);
    println!("{body}");
    if let Some(path) = &o.markdown {
        markdown::write_between_markers(path, &body)?;
        eprintln!("updated {}", path.display());
    }
    Ok(())
}

/// Reads the whole file once so that every measured run finds it in the page cache.
fn warm(file: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let mut buf = vec![0u8; 8 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        }
    }
}
