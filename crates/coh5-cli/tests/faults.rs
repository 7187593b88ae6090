//! Fault tests: the bundled ATL03 sample granule read over the emulated object store
//! (coh5-store, S3 and plain HTTP) while it injects errors, resets, truncated bodies and stalls,
//! or while the file is replaced. Every run must end in the local read's exact result or in a
//! clear error — never in other data, never in a hang (each run has a deadline).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use coh5_store::{Config, Faults, RunningServer, Server};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/ATL03_sample.h5");
const BUCKET: &str = "b";
const KEY: &str = "ATL03_sample.h5";
/// Generous for a 16 MiB file on loopback even with a retry per request and a slow CI machine;
/// a hang is a run that would never end.
const DEADLINE: Duration = Duration::from_secs(120);

/// A private directory with the sample in bucket `b`, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Root {
        let dir = std::env::temp_dir().join(format!("coh5-faults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(BUCKET)).unwrap();
        std::fs::copy(SAMPLE, dir.join(BUCKET).join(KEY)).unwrap();
        Root(dir)
    }

    fn object(&self) -> PathBuf {
        self.0.join(BUCKET).join(KEY)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs coh5 with `args`, killing it (and failing the test) past the deadline.
fn coh5(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run coh5");
    let started = Instant::now();
    // Drain the pipes on threads so a large manifest cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).map(|_| v)
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut v).map(|_| v)
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("coh5 {args:?} hung: killed after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

/// The manifest (with data hashes) of `source` read with `args`, or the error text.
fn manifest(source: &str, args: &[&str]) -> Result<String, String> {
    let mut all = args.to_vec();
    all.extend(["dump", "--manifest", source]);
    let out = coh5(&all);
    if out.status.success() {
        let text = String::from_utf8(out.stdout).unwrap();
        Ok(text.replace(source, "SOURCE"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn local_manifest() -> String {
    manifest(SAMPLE, &[]).expect("local manifest")
}

fn start(root: &Root, faults: Faults) -> RunningServer {
    Server::start(Config::new(&root.0).faults(faults)).expect("start coh5-store")
}

/// The S3 and the plain-HTTP location of the sample on `server`, with the arguments each needs.
fn remotes(server: &RunningServer) -> [(String, Vec<String>); 2] {
    let s3_args = vec![
        "--endpoint".to_string(),
        server.base_url(),
        "--anonymous".into(),
    ];
    [
        (format!("s3://{BUCKET}/{KEY}"), s3_args),
        (server.url(BUCKET, KEY), Vec::new()),
    ]
}

/// Reads the manifest over S3 and HTTP with `faults` and checks that every outcome is either
/// the local manifest or an error naming the object; returns (successes, clear errors).
fn survive(tag: &str, faults: Faults, extra: &[&str]) -> (usize, usize) {
    let want = local_manifest();
    let root = Root::new(tag);
    let server = start(&root, faults);
    let (mut ok, mut failed) = (0, 0);
    for (source, args) in remotes(&server) {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(extra);
        match manifest(&source, &all) {
            Ok(got) => {
                assert!(
                    got == want,
                    "{tag}: {source}: manifest differs from the local one"
                );
                ok += 1;
            }
            Err(e) => {
                assert!(
                    e.contains(KEY) && e.contains("giving up after"),
                    "{tag}: {source}: unclear error: {e}"
                );
                failed += 1;
            }
        }
    }
    let c = server.counters();
    eprintln!("{tag}: {ok} correct, {failed} clear errors; store counters {c:?}");
    (ok, failed)
}

fn faults(seed: u64) -> Faults {
    Faults {
        seed,
        ..Faults::default()
    }
}

#[test]
fn server_errors_are_retried() {
    let (ok, _) = survive(
        "errors",
        Faults {
            error_rate: 0.3,
            ..faults(1)
        },
        &[],
    );
    assert_eq!(ok, 2, "a 30 % error rate is well inside the retry budget");
}

#[test]
fn resets_are_retried() {
    let (ok, _) = survive(
        "resets",
        Faults {
            reset_rate: 0.3,
            ..faults(2)
        },
        &[],
    );
    assert_eq!(ok, 2);
}

#[test]
fn truncated_bodies_are_retried() {
    let (ok, _) = survive(
        "truncation",
        Faults {
            truncate_rate: 0.3,
            ..faults(3)
        },
        &[],
    );
    assert_eq!(ok, 2);
}

#[test]
fn stalls_are_detected_and_retried() {
    // Stalls far longer than the deadline: only stall detection can finish the run.
    let (ok, _) = survive(
        "stalls",
        Faults {
            stall_rate: 0.2,
            stall: Duration::from_secs(600),
            ..faults(4)
        },
        &["--stall-timeout", "300ms"],
    );
    assert_eq!(ok, 2);
}

#[test]
fn everything_at_once_over_several_seeds() {
    for seed in 10..13 {
        survive(
            &format!("mixed{seed}"),
            Faults {
                error_rate: 0.15,
                reset_rate: 0.1,
                truncate_rate: 0.1,
                stall_rate: 0.05,
                stall: Duration::from_secs(600),
                ..faults(seed)
            },
            &["--stall-timeout", "300ms"],
        );
    }
}

#[test]
fn a_hopeless_store_is_a_clear_error() {
    let root = Root::new("hopeless");
    let server = start(
        &root,
        Faults {
            error_rate: 1.0,
            ..faults(5)
        },
    );
    for (source, args) in remotes(&server) {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--attempts", "3"]);
        let e = manifest(&source, &all).unwrap_err();
        assert!(e.contains(&source), "{e}");
        assert!(e.contains("giving up after 3 attempts"), "{e}");
        assert!(e.contains("bytes 0..1048576"), "names the range: {e}");
        assert!(
            e.contains("server answered 50"),
            "names the last cause: {e}"
        );
    }
}

/// Waits until the store has started answering the first request (its headers, with the old
/// ETag, are on the wire), then gives the file a new version while that body still streams.
fn replace_during_first_response(server: &RunningServer, object: &Path) {
    let started = Instant::now();
    while server.counters().bytes_sent == 0 {
        assert!(started.elapsed() < DEADLINE, "coh5 never reached the store");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Same bytes, new modification time: a new ETag. The reader must notice even so.
    let bytes = std::fs::read(object).unwrap();
    std::fs::write(object, bytes).unwrap();
}

#[test]
fn an_object_replaced_mid_read_is_a_changed_error() {
    let root = Root::new("replaced");
    // At 2 MB/s the first response (1 MiB) streams for half a second: the replacement lands
    // after its headers and before any later request.
    let server = Server::start(Config::new(&root.0).bandwidth(2_000_000)).expect("start store");
    for (source, args) in remotes(&server) {
        server.reset_counters();
        let mut all: Vec<String> = args.clone();
        all.extend(["get".into(), source.clone(), "/gt1l/heights/h_ph".into()]);
        let out = std::thread::scope(|s| {
            let run = s.spawn(|| coh5(&all.iter().map(String::as_str).collect::<Vec<_>>()));
            replace_during_first_response(&server, &root.object());
            run.join().unwrap()
        });
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{source}: read across a replacement");
        assert!(e.contains("object changed during read"), "{source}: {e}");
    }
}

#[test]
fn stats_and_trace_describe_the_requests() {
    let root = Root::new("trace");
    let server = start(
        &root,
        Faults {
            error_rate: 0.3,
            ..faults(6)
        },
    );
    let trace = root.0.join("trace.csv");
    let url = server.url(BUCKET, KEY);
    let out = coh5(&[
        "--stats",
        "--trace",
        trace.to_str().unwrap(),
        "get",
        &url,
        "/gt1l/heights/h_ph",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let csv = std::fs::read_to_string(&trace).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        csv.lines().next(),
        Some("start_ms,end_ms,location,offset,length,bytes,purpose,attempt,status,error")
    );
    let served = server.counters().requests;
    assert_eq!(
        rows.len() as u64,
        served,
        "one row per request the store saw"
    );
    let purposes: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[6]).collect();
    for p in ["superblock", "raw-data"] {
        assert!(purposes.contains(p), "{p} in {purposes:?}");
    }
    let retries = rows.iter().filter(|r| r[7] != "1").count();
    assert!(retries > 0, "a 30 % error rate causes retries");
    assert!(rows.iter().any(|r| r[8] == "error"));
    let line = stderr.lines().find(|l| l.starts_with("stats:")).unwrap();
    assert!(
        line.contains(&format!("{} requests ({retries} retries)", rows.len())),
        "{line}"
    );
    assert!(line.contains("round trips on the critical path"), "{line}");
}
