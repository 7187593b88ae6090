//! Fault injection as a client sees it on the wire — error statuses, connection resets, short
//! bodies, stalls — and the determinism of the seeded draws.

mod common;

use std::io;
use std::time::Duration;

use coh5_store::{Config, Faults, Server};
use common::{get, End, Tree};

const SIZE: usize = 1_000_000;

fn with_faults(tree: &Tree, faults: Faults) -> coh5_store::RunningServer {
    Server::start(Config::new(tree.root()).faults(faults)).unwrap()
}

#[test]
fn error_responses_are_s3_errors() {
    let tree = Tree::new(&[("x.bin", 100)]);
    let server = with_faults(
        &tree,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let mut codes = Vec::new();
    for i in 0..16 {
        let raw = get(server.addr(), &format!("/bk/x.bin?i={i}"), &[]);
        let body = String::from_utf8_lossy(&raw.body).into_owned();
        match raw.status {
            503 => assert!(body.contains("<Code>SlowDown</Code>"), "{body}"),
            500 => assert!(body.contains("<Code>InternalError</Code>"), "{body}"),
            other => panic!("status {other}"),
        }
        codes.push(raw.status);
    }
    assert!(codes.contains(&503) && codes.contains(&500), "{codes:?}");
    assert_eq!(server.counters().faults_errors, 16);
}

#[test]
fn resets_cut_the_connection() {
    let tree = Tree::new(&[("x.bin", SIZE)]);
    let server = with_faults(
        &tree,
        Faults {
            reset_rate: 1.0,
            ..Faults::default()
        },
    );
    let raw = get(server.addr(), "/bk/x.bin", &[]);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.end, End::Error(io::ErrorKind::ConnectionReset));
    assert!(raw.body.len() < SIZE);
    assert_eq!(raw.body[..], tree.bytes("x.bin")[..raw.body.len()]);
    assert_eq!(server.counters().faults_resets, 1);
}

#[test]
fn truncation_closes_early_and_cleanly() {
    let tree = Tree::new(&[("x.bin", SIZE)]);
    let server = with_faults(
        &tree,
        Faults {
            seed: 3,
            truncate_rate: 1.0,
            ..Faults::default()
        },
    );
    let raw = get(server.addr(), "/bk/x.bin", &[("Range", "bytes=100-")]);
    assert_eq!(raw.status, 206);
    assert_eq!(raw.header("content-length"), Some("999900"));
    assert_eq!(raw.end, End::Eof);
    assert!(raw.body.len() < SIZE - 100);
    assert_eq!(raw.body[..], tree.bytes("x.bin")[100..100 + raw.body.len()]);
    assert_eq!(server.counters().faults_truncations, 1);
}

#[test]
fn stalls_pause_then_complete() {
    let tree = Tree::new(&[("x.bin", SIZE)]);
    let stall = Duration::from_millis(300);
    let server = with_faults(
        &tree,
        Faults {
            stall_rate: 1.0,
            stall,
            ..Faults::default()
        },
    );
    let raw = get(server.addr(), "/bk/x.bin", &[]);
    assert_eq!(raw.end, End::Complete);
    assert_eq!(raw.body, tree.bytes("x.bin"));
    // The pause may fall before the first body byte, which then merges into first_byte.
    let observed = raw.longest_gap.max(raw.first_byte);
    assert!(
        observed >= stall - Duration::from_millis(20),
        "{observed:?}"
    );
    assert_eq!(server.counters().faults_stalls, 1);
}

/// What a sequence of requests experienced, in a comparable form.
fn run(seed: u64) -> Vec<(u16, End, usize)> {
    let tree = Tree::new(&[("x.bin", 50_000)]);
    let server = with_faults(
        &tree,
        Faults {
            seed,
            error_rate: 0.2,
            truncate_rate: 0.2,
            stall_rate: 0.2,
            stall: Duration::from_millis(1),
            ..Faults::default()
        },
    );
    (0..40)
        .map(|i| {
            let range = format!("bytes={}-", i * 1000);
            let raw = get(server.addr(), "/bk/x.bin", &[("Range", &range)]);
            (raw.status, raw.end, raw.body.len())
        })
        .collect()
}

#[test]
fn seeded_faults_repeat_exactly() {
    let first = run(42);
    assert_eq!(first, run(42));
    assert_ne!(first, run(43));
    let kinds = |s: &[(u16, End, usize)]| {
        (
            s.iter().any(|r| r.0 >= 500),
            s.iter().any(|r| r.1 == End::Eof),
            s.iter().any(|r| r.0 == 206 && r.1 == End::Complete),
        )
    };
    assert_eq!(kinds(&first), (true, true, true), "{first:?}");
}
