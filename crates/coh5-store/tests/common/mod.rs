//! Shared test support: a scratch bucket tree with deterministic contents, and a minimal raw
//! HTTP/1.1 client over std sockets that reports exactly what arrived on the wire (status,
//! headers, body bytes, and how the body ended), which real clients hide behind retries.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BUCKET: &str = "bk";

/// Deterministic object contents: byte `i` is a function of `i` and `salt`.
pub fn content(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ salt)
        .collect()
}

/// A directory tree removed on drop: `<root>/bk/...`.
pub struct Tree(pub PathBuf);

impl Tree {
    /// `files` are (key, length) pairs.
    pub fn new(files: &[(&str, usize)]) -> Tree {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = std::env::temp_dir().join(format!(
            "coh5-store-test-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        for (i, (key, len)) in files.iter().enumerate() {
            let path = root.join(BUCKET).join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content(*len, i as u8)).unwrap();
        }
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        Tree(root)
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    pub fn bytes(&self, key: &str) -> Vec<u8> {
        std::fs::read(self.0.join(BUCKET).join(key)).unwrap()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// All `Content-Length` bytes arrived.
    Complete,
    /// The peer closed cleanly (FIN) before `Content-Length` bytes.
    Eof,
    /// A read failed (e.g. `ConnectionReset`).
    Error(io::ErrorKind),
}

#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub end: End,
    /// Time from sending the request to the first response byte.
    pub first_byte: Duration,
    /// Time from sending the request to the end of the body.
    pub total: Duration,
    /// Longest pause between two reads of the body.
    pub longest_gap: Duration,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Connects with generous timeouts (a hung server fails the test instead of hanging it).
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Sends one request on `stream` and reads its response.
pub fn exchange(stream: &mut TcpStream, method: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let sent = Instant::now();
    stream.write_all(req.as_bytes()).unwrap();

    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let mut first_byte = None;
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert!(n == 1, "connection closed inside the response head");
        first_byte.get_or_insert_with(|| sent.elapsed());
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut raw = Raw {
        status,
        headers,
        body: Vec::new(),
        end: End::Complete,
        first_byte: first_byte.unwrap(),
        total: Duration::ZERO,
        longest_gap: Duration::ZERO,
    };
    let len: usize = if method == "HEAD" || status == 304 {
        0
    } else {
        raw.header("content-length").unwrap().parse().unwrap()
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = Instant::now();
    while raw.body.len() < len {
        let want = (len - raw.body.len()).min(buf.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => {
                raw.end = End::Eof;
                break;
            }
            Ok(n) => {
                raw.body.extend_from_slice(&buf[..n]);
                raw.longest_gap = raw.longest_gap.max(last.elapsed());
                last = Instant::now();
            }
            Err(e) => {
                raw.end = End::Error(e.kind());
                break;
            }
        }
    }
    raw.total = sent.elapsed();
    raw
}

/// One request on a fresh connection.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Raw {
    exchange(&mut connect(addr), "GET", path, headers)
}
