//! Server-wide counters: what tests and benchmarks assert on (requests, bytes, connections,
//! faults). Plain atomics on the hot path; the two small maps (by method, by status) sit behind
//! a mutex because they are touched once per request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use hyper::{Method, StatusCode};

/// Which fault fired, for [`Counters::fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Error,
    Reset,
    Truncate,
    Stall,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    bytes_sent: AtomicU64,
    body_bytes_sent: AtomicU64,
    connections_opened: AtomicU64,
    active_connections: AtomicU64,
    waiting_connections: AtomicU64,
    rejected_connections: AtomicU64,
    errors: AtomicU64,
    resets: AtomicU64,
    truncations: AtomicU64,
    stalls: AtomicU64,
    maps: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    by_method: BTreeMap<String, u64>,
    by_status: BTreeMap<u16, u64>,
}

/// A point-in-time copy of the counters. Control requests (`/_counters`) are not counted as
/// requests, but their connections and bytes are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Requests answered (any status), excluding control requests.
    pub requests: u64,
    /// Bytes written to sockets: status lines, headers and bodies.
    pub bytes_sent: u64,
    /// Response body bytes handed to connections.
    pub body_bytes_sent: u64,
    /// Connections accepted since start (or the last reset).
    pub connections_opened: u64,
    /// Connections being served now.
    pub active_connections: u64,
    /// Connections queued behind the connection limit now.
    pub waiting_connections: u64,
    /// Connections turned away by the connection limit.
    pub rejected_connections: u64,
    /// Requests per HTTP method.
    pub by_method: BTreeMap<String, u64>,
    /// Responses per status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Injected `500`/`503` errors.
    pub faults_errors: u64,
    /// Connections reset mid-body.
    pub faults_resets: u64,
    /// Bodies cut short.
    pub faults_truncations: u64,
    /// Bodies paused.
    pub faults_stalls: u64,
}

impl CounterSnapshot {
    /// All injected faults.
    pub fn faults_injected(&self) -> u64 {
        self.faults_errors + self.faults_resets + self.faults_truncations + self.faults_stalls
    }

    /// The JSON document `GET /_counters` returns.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "body_bytes_sent": self.body_bytes_sent,
            "connections_opened": self.connections_opened,
            "active_connections": self.active_connections,
            "waiting_connections": self.waiting_connections,
            "rejected_connections": self.rejected_connections,
            "by_method": self.by_method,
            "by_status": self.by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "faults_injected": {
                "total": self.faults_injected(),
                "errors": self.faults_errors,
                "resets": self.faults_resets,
                "truncations": self.faults_truncations,
                "stalls": self.faults_stalls,
            },
        })
    }
}

impl Counters {
    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding this lock cannot leave the maps inconsistent (each update is a
        // single insert), so a poisoned lock is still usable.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn request(&self, method: &Method) {
        self.requests.fetch_add(1, Relaxed);
        *self
            .maps()
            .by_method
            .entry(method.as_str().to_owned())
            .or_default() += 1;
    }

    pub(crate) fn status(&self, status: StatusCode) {
        *self.maps().by_status.entry(status.as_u16()).or_default() += 1;
    }

    pub(crate) fn wire_bytes(&self, n: usize) {
        self.bytes_sent.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn body_bytes(&self, n: u64) {
        self.body_bytes_sent.fetch_add(n, Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_opened.fetch_add(1, Relaxed);
    }

    pub(crate) fn connection_rejected(&self) {
        self.rejected_connections.fetch_add(1, Relaxed);
    }

    pub(crate) fn fault(&self, kind: FaultKind) {
        let counter = match kind {
            FaultKind::Error => &self.errors,
            FaultKind::Reset => &self.resets,
            FaultKind::Truncate => &self.truncations,
            FaultKind::Stall => &self.stalls,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Counts a connection as active until the guard drops.
    pub(crate) fn active(&self) -> Gauge<'_> {
        Gauge::new(&self.active_connections)
    }

    /// Counts a connection as waiting for a slot until the guard drops.
    pub(crate) fn waiting(&self) -> Gauge<'_> {
        Gauge::new(&self.waiting_connections)
    }

    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        let maps = self.maps();
        CounterSnapshot {
            requests: self.requests.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            body_bytes_sent: self.body_bytes_sent.load(Relaxed),
            connections_opened: self.connections_opened.load(Relaxed),
            active_connections: self.active_connections.load(Relaxed),
            waiting_connections: self.waiting_connections.load(Relaxed),
            rejected_connections: self.rejected_connections.load(Relaxed),
            by_method: maps.by_method.clone(),
            by_status: maps.by_status.clone(),
            faults_errors: self.errors.load(Relaxed),
            faults_resets: self.resets.load(Relaxed),
            faults_truncations: self.truncations.load(Relaxed),
            faults_stalls: self.stalls.load(Relaxed),
        }
    }

    /// Zeroes the totals; the gauges (active, waiting) describe the present and are kept.
    pub(crate) fn reset(&self) {
        let mut maps = self.maps();
        for counter in [
            &self.requests,
            &self.bytes_sent,
            &self.body_bytes_sent,
            &self.connections_opened,
            &self.rejected_connections,
            &self.errors,
            &self.resets,
            &self.truncations,
            &self.stalls,
        ] {
            counter.store(0, Relaxed);
        }
        maps.by_method.clear();
        maps.by_status.clear();
    }
}

/// Increments a gauge now and decrements it on drop.
#[derive(Debug)]
pub(crate) struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}
