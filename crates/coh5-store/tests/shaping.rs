//! Latency, bandwidth and connection-limit knobs, measured by a raw client on real sockets.

mod common;

use std::time::{Duration, Instant};

use coh5_store::{Config, OverLimit, Server};
use common::{connect, exchange, get, Tree};

#[test]
fn first_byte_latency_is_at_least_the_configured_delay() {
    let tree = Tree::new(&[("x.bin", 1000)]);
    let latency = Duration::from_millis(120);
    let server = Server::start(Config::new(tree.root()).latency(latency)).unwrap();
    let mut conn = connect(server.addr());
    for path in ["/bk/x.bin", "/bk/missing", "/bk?list-type=2"] {
        let raw = exchange(&mut conn, "GET", path, &[]);
        assert!(raw.first_byte >= latency, "{path}: {:?}", raw.first_byte);
        assert!(raw.first_byte < latency * 5, "{path}: {:?}", raw.first_byte);
    }
    // Control requests are not delayed.
    let raw = get(server.addr(), "/_counters", &[]);
    assert!(raw.first_byte < latency, "{:?}", raw.first_byte);
}

#[test]
fn bandwidth_is_paced_per_connection() {
    const SIZE: usize = 6_000_000;
    const RATE: u64 = 20_000_000;
    let tree = Tree::new(&[("big.bin", SIZE)]);
    let server = Server::start(Config::new(tree.root()).bandwidth(RATE)).unwrap();
    let expected = SIZE as f64 / RATE as f64; // 0.3 s

    let raw = get(server.addr(), "/bk/big.bin", &[]);
    assert_eq!(raw.body, tree.bytes("big.bin"));
    let took = raw.total.as_secs_f64();
    assert!(
        (expected * 0.8..expected * 1.2).contains(&took),
        "{SIZE} bytes at {RATE} B/s took {took:.3} s, expected {expected:.3} s ± 20%"
    );

    // Two connections each get the full rate: together they take about as long as one.
    let started = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let addr = server.addr();
            std::thread::spawn(move || get(addr, "/bk/big.bin", &[]).body.len())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), SIZE);
    }
    let both = started.elapsed().as_secs_f64();
    assert!(both < expected * 1.5, "two connections took {both:.3} s");
}

#[test]
fn connections_over_the_limit_get_slow_down() {
    let tree = Tree::new(&[("x.bin", 10)]);
    let server =
        Server::start(Config::new(tree.root()).max_connections(2, OverLimit::Reject)).unwrap();
    let mut a = connect(server.addr());
    let mut b = connect(server.addr());
    assert_eq!(exchange(&mut a, "GET", "/bk/x.bin", &[]).status, 200);
    assert_eq!(exchange(&mut b, "GET", "/bk/x.bin", &[]).status, 200);
    let third = get(server.addr(), "/bk/x.bin", &[]);
    assert_eq!(third.status, 503);
    assert!(String::from_utf8_lossy(&third.body).contains("<Code>SlowDown</Code>"));
    assert_eq!(third.header("connection"), Some("close"));
    // Once a slot frees, new connections are served again.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.counters().active_connections > 1 {
        assert!(Instant::now() < deadline, "slot never freed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(get(server.addr(), "/bk/x.bin", &[]).status, 200);
    let c = server.counters();
    assert_eq!(c.rejected_connections, 1);
    assert_eq!(c.by_status.get(&503), Some(&1));
    drop(b);
}

#[test]
fn connections_over_the_limit_can_queue() {
    let tree = Tree::new(&[("x.bin", 10)]);
    let server =
        Server::start(Config::new(tree.root()).max_connections(1, OverLimit::Queue)).unwrap();
    let mut holder = connect(server.addr());
    assert_eq!(exchange(&mut holder, "GET", "/bk/x.bin", &[]).status, 200);
    let addr = server.addr();
    let queued = std::thread::spawn(move || get(addr, "/bk/x.bin", &[]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.counters().waiting_connections < 1 {
        assert!(Instant::now() < deadline, "second connection never queued");
        std::thread::sleep(Duration::from_millis(5));
    }
    let hold = Duration::from_millis(200);
    std::thread::sleep(hold);
    drop(holder);
    let raw = queued.join().unwrap();
    assert_eq!(raw.status, 200);
    assert!(raw.first_byte >= hold, "{:?}", raw.first_byte);
    assert_eq!(server.counters().rejected_connections, 0);
}

#[test]
fn idle_and_slow_clients_are_dropped() {
    use std::io::{Read, Write};
    let tree = Tree::new(&[("x.bin", 10)]);
    let timeout = Duration::from_millis(200);
    let server = Server::start(Config::new(tree.root()).header_timeout(timeout)).unwrap();
    // Idle after a request (keep-alive), and a head that never finishes.
    let mut idle = connect(server.addr());
    assert_eq!(exchange(&mut idle, "GET", "/bk/x.bin", &[]).status, 200);
    let mut slow = connect(server.addr());
    slow.write_all(b"GET /bk/x.bin HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    for mut conn in [idle, slow] {
        let started = Instant::now();
        let mut rest = Vec::new();
        // The server closes (EOF, possibly after a 408) instead of waiting forever.
        let _ = conn.read_to_end(&mut rest);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.counters().active_connections > 0 {
        assert!(Instant::now() < deadline, "connections still open");
        std::thread::sleep(Duration::from_millis(5));
    }
}
