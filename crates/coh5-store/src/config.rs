//! The server's configuration: what to serve, where, and the behaviour knobs (latency,
//! bandwidth, connection limit, faults, request log). A builder so tests state only what they
//! vary; [`Config::validate`] runs at start so a bad knob fails loudly instead of misbehaving.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// What happens to a connection that arrives while `max_connections` are being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverLimit {
    /// Answer its requests with `503 SlowDown` and close it. Real S3 has no visible connection
    /// cap; what a client sees when S3 is over capacity is `503 SlowDown`, which it must retry,
    /// so this is the default.
    #[default]
    Reject,
    /// Accept it but serve nothing until a slot frees, like a saturated server whose accept
    /// queue is full: the client sees extra latency instead of errors.
    Queue,
}

/// Seeded fault injection. Every rate is a probability in `[0, 1]` drawn independently per
/// request; the draws depend only on the seed, the request (method, path, query, range) and how
/// many times that same request was seen before, so a run is reproducible even when requests
/// interleave across connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of the deterministic draws.
    pub seed: u64,
    /// Probability of answering `503 SlowDown` or `500 InternalError` (half each).
    pub error_rate: f64,
    /// Probability of resetting the connection (TCP RST) partway through a response body.
    pub reset_rate: f64,
    /// Probability of sending fewer body bytes than `Content-Length`, then closing cleanly.
    pub truncate_rate: f64,
    /// Probability of pausing partway through a body for [`Faults::stall`].
    pub stall_rate: f64,
    /// How long a stall lasts.
    pub stall: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            error_rate: 0.0,
            reset_rate: 0.0,
            truncate_rate: 0.0,
            stall_rate: 0.0,
            stall: Duration::from_secs(5),
        }
    }
}

impl Faults {
    /// Whether any fault can fire (the per-request bookkeeping is skipped otherwise).
    pub fn any(&self) -> bool {
        self.error_rate > 0.0
            || self.reset_rate > 0.0
            || self.truncate_rate > 0.0
            || self.stall_rate > 0.0
    }
}

/// Everything [`crate::Server::start`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) root: PathBuf,
    pub(crate) addr: SocketAddr,
    pub(crate) latency: Duration,
    pub(crate) bandwidth: Option<u64>,
    pub(crate) max_connections: Option<(usize, OverLimit)>,
    pub(crate) faults: Faults,
    pub(crate) log: Option<PathBuf>,
    pub(crate) header_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) worker_threads: usize,
    pub(crate) in_memory: bool,
}

impl Config {
    /// Serves `root`, whose top-level directories are the buckets, on `127.0.0.1` with a free
    /// port and no added latency, bandwidth cap, connection limit or faults.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Config {
            root: root.into(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            latency: Duration::ZERO,
            bandwidth: None,
            max_connections: None,
            faults: Faults::default(),
            log: None,
            header_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            worker_threads: 2,
            in_memory: false,
        }
    }

    /// Address to listen on (port 0 picks a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Delay between receiving a request and sending the first byte of its response.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Per-connection bandwidth cap in bytes per second (headers and bodies are paced alike).
    pub fn bandwidth(mut self, bytes_per_second: u64) -> Self {
        self.bandwidth = Some(bytes_per_second);
        self
    }

    /// Serve at most `limit` connections at once; `over` says what happens to the others.
    pub fn max_connections(mut self, limit: usize, over: OverLimit) -> Self {
        self.max_connections = Some((limit, over));
        self
    }

    /// Serve objects from memory: each file is read whole by its first GET (and again once it
    /// is replaced), so that reads from disk add nothing to the emulated latency and bandwidth.
    pub fn in_memory(mut self, yes: bool) -> Self {
        self.in_memory = yes;
        self
    }

    /// Fault injection (see [`Faults`]).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Append one CSV line per request to this file (created or truncated at start).
    pub fn log(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }

    /// How long a client may take to send a request's headers (also bounds idle keep-alive).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a write may stay blocked on a client that does not read before the connection
    /// is dropped.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Threads of the server's own runtime.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads;
        self
    }

    /// Checks the knobs for values that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error rate", self.faults.error_rate),
            ("reset rate", self.faults.reset_rate),
            ("truncate rate", self.faults.truncate_rate),
            ("stall rate", self.faults.stall_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} {rate} is not a probability in [0, 1]"));
            }
        }
        if self.bandwidth == Some(0) {
            return Err("bandwidth must be at least 1 byte per second".into());
        }
        if matches!(self.max_connections, Some((0, _))) {
            return Err("max connections must be at least 1".into());
        }
        if self.header_timeout.is_zero() || self.write_timeout.is_zero() {
            return Err("timeouts must be positive".into());
        }
        if !(1..=64).contains(&self.worker_threads) {
            return Err("worker threads must be between 1 and 64".into());
        }
        Ok(())
    }
}
