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

#[test]
fn corpus_manifests_match_libhdf5() {
    let corpus = shared().join("corpus");
    let golden_dir = corpus.join("golden");
    let mut files = Vec::new();
    goldens(&golden_dir, &mut files);
    assert!(
        files.len() > 400,
        "expected the shared corpus at {}",
        corpus.display()
    );

    let candidate_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    let _ = std::fs::remove_dir_all(&candidate_dir);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(golden) = files.get(i) else { break };
                let rel = golden
                    .strip_prefix(&golden_dir)
                    .expect("golden under golden dir");
                let h5 = corpus.join(rel.with_extension(""));
                let h5 = h5.to_str().expect("utf-8 corpus path");
                let (ok, stdout, stderr) = run_bounded(&["dump", "--manifest", "--skip-data", h5]);
                if !ok {
                    failures.lock().unwrap().push(format!("{h5}: {stderr}"));
                }
                let out = candidate_dir.join(rel);
                std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
                std::fs::write(&out, stdout).expect("write candidate");
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    for f in &failures {
        eprintln!("open failure: {f}");
    }

    let result = Command::new("python3")
        .arg(shared().join("conformance/compare.py"))
        .arg("--skip-data")
        .arg(&golden_dir)
        .arg(&candidate_dir)
        .output()
        .expect("python3 must be installed (scripts/test.sh installs numpy)");
    let report = String::from_utf8_lossy(&result.stdout);
    let summary = report.lines().last().unwrap_or("");
    eprintln!(
        "{}",
        report
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{}", String::from_utf8_lossy(&result.stderr));
    assert!(
        result.status.success(),
        "metadata conformance below 100%: {summary}"
    );
}
