//! Differential conformance against libhdf5: `coh5 dump --manifest` on every corpus file with a
//! golden dump, scored by the shared `compare.py` (shared/conformance/SPEC.md §10).
//!
//! Needs `../shared` beside the repository and Python 3 with numpy (scripts/test.sh installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A manifest of a corpus file takes well under a second; anything near this is a hang.
const PER_FILE_LIMIT: Duration = Duration::from_secs(60);

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn goldens(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            goldens(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// Runs `coh5 args...` with a time limit; returns (exit success, stdout, stderr).
fn run_bounded(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out_file = tempfile_path("stdout");
    let err_file = tempfile_path("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).expect("create stdout file"))
        .stderr(std::fs::File::create(&err_file).expect("create stderr file"))
        .spawn()
        .expect("spawn coh5");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for coh5") {
            break Some(status);
        }
        if start.elapsed() > PER_FILE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = std::fs::read(&out_file).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_file).unwrap_or_default();
    let _ = std::fs::remove_file(out_file);
    let _ = std::fs::remove_file(err_file);
    if status.is_none() {
        stderr.push_str(&format!("killed after {PER_FILE_LIMIT:?}"));
    }
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

fn tempfile_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "coh5-conf-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Mismatches where the golden manifest, not coh5, is wrong (SPEC.md §11): (golden file,
/// mismatch text as compare.py prints it, why).
const KNOWN_GOLDEN_DEFECTS: &[(&str, &str, &str)] = &[(
    "pyfive/tests/data/attr_datatypes.hdf5.json",
    "/: attribute 'vlen_uint64' sha256 differs",
    "h5py returns the elements of a big-endian vlen sequence without byte swapping \
     (SPEC.md §11.1): golden hashed 1 as 2^56; coh5 hashes the stored values",
)];

/// Filters with no open implementation: a dataset using one may differ only if coh5 reports
/// it as an unsupported filter by id and name.
const UNSUPPORTED_FILTERS: &[&str] = &[
    "32013 (zfp)",
    "32017 (sz)",
    "32019 (jpeg)",
    "32002 (mafisc)",
    "305 (lzo)",
];

/// Dumps every corpus file that has a golden manifest, with data, into `candidate_dir`.
fn dump_corpus(corpus: &Path, golden_dir: &Path, candidate_dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    goldens(golden_dir, &mut files);
    assert!(
        files.len() > 400,
        "expected the shared corpus at {}",
        corpus.display()
    );
    let _ = std::fs::remove_dir_all(candidate_dir);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(golden) = files.get(i) else { break };
                let rel = golden
                    .strip_prefix(golden_dir)
                    .expect("golden under golden dir");
                let h5 = corpus.join(rel.with_extension(""));
                let h5 = h5.to_str().expect("utf-8 corpus path");
                let (ok, stdout, stderr) = run_bounded(&["dump", "--manifest", h5]);
                if !ok {
                    failures.lock().unwrap().push(format!("{h5}: {stderr}"));
                }
                let out = candidate_dir.join(rel);
                std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
                std::fs::write(&out, stdout).expect("write candidate");
            });
        }
    });
    for f in failures.into_inner().unwrap() {
        eprintln!("coh5 dump failed: {f}");
    }
    files
}

/// Runs compare.py and returns (summary line, per-file report).
fn score(golden_dir: &Path, candidate_dir: &Path, skip_data: bool) -> (String, serde_json::Value) {
    let report = candidate_dir.with_extension(if skip_data { "meta.json" } else { "data.json" });
    let mut cmd = Command::new("python3");
    cmd.arg(shared().join("conformance/compare.py"))
        .arg("--json")
        .arg(&report);
    if skip_data {
        cmd.arg("--skip-data");
    }
    let out = cmd
        .arg(golden_dir)
        .arg(candidate_dir)
        .output()
        .expect("python3 with numpy must be installed (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or("").to_string();
    assert!(
        summary.starts_with("conformance:"),
        "compare.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&report).expect("compare.py report");
    (summary, serde_json::from_str(&json).expect("report JSON"))
}

/// Mismatches that are not explained by a known golden defect or an allowed unsupported filter.
fn unexplained(report: &serde_json::Value, candidate_dir: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let files = report["files"].as_object().expect("files");
    for (file, result) in files {
        if result["status"] == "pass" {
            continue;
        }
        let candidate: Option<serde_json::Value> =
            std::fs::read_to_string(candidate_dir.join(file))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        for m in result["mismatches"].as_array().into_iter().flatten() {
            let m = m.as_str().unwrap_or_default();
            let known = KNOWN_GOLDEN_DEFECTS
                .iter()
                .any(|(f, text, _)| f == file && *text == m);
            let object = m.split(": ").next().unwrap_or_default();
            let unsupported = m.contains("data_sha256 differs")
                && candidate
                    .as_ref()
                    .and_then(|c| c["objects"][object]["read_error"].as_str())
                    .is_some_and(|e| {
                        UNSUPPORTED_FILTERS
                            .iter()
                            .any(|f| e.contains(&format!("unsupported filter {f}")))
                    });
            if !known && !unsupported {
                bad.push(format!("{file}: {m}"));
            }
        }
    }
    bad
}

#[test]
fn corpus_manifests_match_libhdf5() {
    let corpus = shared().join("corpus");
    let golden_dir = corpus.join("golden");
    let candidate_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    dump_corpus(&corpus, &golden_dir, &candidate_dir);

    let (meta_summary, meta) = score(&golden_dir, &candidate_dir, true);
    let (data_summary, data) = score(&golden_dir, &candidate_dir, false);
    eprintln!("metadata (--skip-data): {meta_summary}");
    eprintln!("with data:              {data_summary}");
    for (file, mismatch, why) in KNOWN_GOLDEN_DEFECTS {
        eprintln!("known golden defect: {file}: {mismatch}: {why}");
    }
    let mut bad = unexplained(&meta, &candidate_dir);
    bad.extend(
        unexplained(&data, &candidate_dir)
            .into_iter()
            .map(|m| format!("data: {m}")),
    );
    assert!(
        bad.is_empty(),
        "{} unexplained mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
