//! coh5-store: an emulated object store on loopback for coh5's tests and benchmarks.
//!
//! It serves a directory whose top-level directories are buckets, path-style: `GET /<bucket>/<key>`
//! is both an S3 GetObject and a plain HTTP URL. It speaks enough S3 for the `object_store`
//! crate and other S3 clients — GetObject and HeadObject with single byte ranges and
//! conditional headers, HeadBucket, ListObjectsV2 with prefix, delimiter and pagination, S3 XML
//! errors — and accepts any signature, like moto in anonymous mode. It is read-only.
//!
//! What it adds over a plain server are knobs that make it behave like a real, remote store:
//! first-byte latency per request, a per-connection bandwidth cap, a connection limit, and
//! seeded fault injection (error responses, connection resets, truncated bodies, stalls), with
//! counters (`GET /_counters`, [`RunningServer::counters`]) and an optional per-request CSV log.
//!
//! ```no_run
//! use std::time::Duration;
//! use coh5_store::{Config, Server};
//! let server = Server::start(
//!     Config::new("/data").latency(Duration::from_millis(20)).bandwidth(50_000_000),
//! )?;
//! let url = server.url("bucket", "file.h5"); // http://127.0.0.1:PORT/bucket/file.h5
//! // ... read through `url`, or an S3 client with endpoint `server.base_url()` ...
//! println!("{} requests", server.counters().requests);
//! # Ok::<(), coh5_store::StartError>(())
//! ```

mod body;
mod conditional;
mod config;
mod counters;
mod faults;
mod handler;
mod list;
mod log;
mod memory;
mod object;
mod range;
mod server;
mod time;
pub mod units;
mod wire;
mod xml;

pub use config::{Config, Faults, OverLimit};
pub use counters::CounterSnapshot;
pub use server::{RunningServer, Server, StartError};
