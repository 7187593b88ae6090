//! What the store reports about itself: counters (in-process and over `/_counters`), the
//! per-request CSV log, and the binary's startup line.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use coh5_store::{Config, Server};
use common::{connect, exchange, get, Tree};

#[test]
fn counters_are_exact() {
    let tree = Tree::new(&[("x.bin", 5000), ("y.bin", 10)]);
    let server = Server::start(Config::new(tree.root())).unwrap();
    let mut conn = connect(server.addr());
    let r1 = exchange(&mut conn, "GET", "/bk/x.bin", &[]);
    let r2 = exchange(&mut conn, "GET", "/bk/x.bin", &[("Range", "bytes=0-99")]);
    let r3 = exchange(&mut conn, "HEAD", "/bk/y.bin", &[]);
    let r4 = exchange(&mut conn, "GET", "/bk/none", &[]);
    drop(conn);
    let c = server.counters();
    assert_eq!(c.requests, 4);
    assert_eq!(c.by_method.get("GET"), Some(&3));
    assert_eq!(c.by_method.get("HEAD"), Some(&1));
    assert_eq!(c.by_status.get(&200), Some(&2));
    assert_eq!(c.by_status.get(&206), Some(&1));
    assert_eq!(c.by_status.get(&404), Some(&1));
    let body_total = r1.body.len() + r2.body.len() + r3.body.len() + r4.body.len();
    assert_eq!(c.body_bytes_sent, body_total as u64);
    assert!(c.bytes_sent > body_total as u64);
    assert_eq!(c.connections_opened, 1);
    assert_eq!(c.faults_injected(), 0);

    // The HTTP view matches, and does not count itself.
    let raw = get(server.addr(), "/_counters", &[]);
    let json: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(json["requests"], 4);
    assert_eq!(json["by_method"]["GET"], 3);
    assert_eq!(json["by_status"]["206"], 1);
    assert_eq!(json["faults_injected"]["total"], 0);
    let mut conn = connect(server.addr());
    let reset = exchange(&mut conn, "POST", "/_counters/reset", &[]);
    assert_eq!(reset.status, 200);
    let c = server.counters();
    assert_eq!(
        (c.requests, c.body_bytes_sent, c.by_method.len()),
        (0, 0, 0)
    );
    // Connections closed by the client above are counted down when the server notices the
    // close, which may be a moment later; only this one stays open.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.counters().active_connections > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(server.counters().active_connections, 1);
}

#[test]
fn request_log_has_one_line_per_request() {
    let tree = Tree::new(&[("x.bin", 2000)]);
    let log = tree.root().join("requests.csv");
    let server = Server::start(Config::new(tree.root()).log(&log)).unwrap();
    get(server.addr(), "/bk/x.bin", &[("Range", "bytes=10-19")]);
    get(server.addr(), "/bk/none", &[]);
    server.shutdown();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "start,end,method,path,range,status,bytes");
    assert_eq!(lines.len(), 3, "{text}");
    let f: Vec<_> = lines[1].split(',').collect();
    assert_eq!(
        &f[2..],
        ["GET", "\"/bk/x.bin\"", "\"bytes=10-19\"", "206", "10"]
    );
    let (start, end): (f64, f64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
    assert!(start > 1.6e9 && end >= start);
    assert!(lines[2].contains(",404,"));
}

#[test]
fn binary_prints_its_address_first() {
    let tree = Tree::new(&[("x.bin", 64)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_coh5-store"))
        .arg(tree.root())
        .args(["--port", "0", "--latency", "5ms", "--bandwidth", "10MB/s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().strip_prefix("listening on http://").unwrap();
    let raw = get(url.parse().unwrap(), "/bk/x.bin", &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, tree.bytes("x.bin"));

    let bad = Command::new(env!("CARGO_BIN_EXE_coh5-store"))
        .arg(tree.root())
        .args(["--error-rate", "2"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a probability"));
}
