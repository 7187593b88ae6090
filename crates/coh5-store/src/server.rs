//! Starting and stopping the store: binds the listener, runs the accept loop on the server's
//! own tokio runtime (on its own thread, so a test's runtime or a synchronous benchmark does not
//! share — or distort — the server's scheduling), applies the connection limit, and hands each
//! connection to hyper behind a [`Wire`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

use crate::config::{Config, OverLimit};
use crate::counters::{CounterSnapshot, Counters};
use crate::faults::Planner;
use crate::handler;
use crate::log::RequestLog;
use crate::memory::Memory;
use crate::wire::Wire;

/// Largest request head (request line and headers) accepted; S3 requests are far smaller.
const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);
/// How long shutdown waits for blocking file reads in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The store could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A knob has a value that cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The served directory is missing or unreadable.
    #[error("cannot serve {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The request log could not be created.
    #[error("cannot create request log {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The runtime or its thread could not be created.
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub config: Config,
    /// The canonical served directory; served files must resolve inside it.
    pub root: PathBuf,
    pub counters: Counters,
    pub planner: Planner,
    pub log: Option<RequestLog>,
    /// Files read whole, when the config serves from memory.
    pub memory: Memory,
    next_request_id: AtomicU64,
    limit: Option<(Arc<Semaphore>, OverLimit)>,
}

impl Shared {
    /// A fresh S3-style request id.
    pub fn request_id(&self) -> String {
        format!(
            "{:016X}",
            self.next_request_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// What a body fault asks the connection to do at its next flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    None,
    Truncate,
    Reset,
}

/// State of one connection shared between its [`Wire`] and the bodies sent on it.
#[derive(Debug, Default)]
pub(crate) struct ConnShared {
    abort: AtomicU8,
}

impl ConnShared {
    pub fn request_abort(&self, abort: Abort) {
        let code = match abort {
            Abort::None => 0,
            Abort::Truncate => 1,
            Abort::Reset => 2,
        };
        self.abort.store(code, Ordering::Release);
    }

    pub fn abort(&self) -> Abort {
        match self.abort.load(Ordering::Acquire) {
            1 => Abort::Truncate,
            2 => Abort::Reset,
            _ => Abort::None,
        }
    }
}

/// Entry point: `Server::start(config)`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds, then serves on a background thread until [`RunningServer::shutdown`] or drop.
    pub fn start(config: Config) -> Result<RunningServer, StartError> {
        config.validate().map_err(StartError::Config)?;
        let root = std::fs::canonicalize(&config.root).map_err(|source| StartError::Root {
            path: config.root.clone(),
            source,
        })?;
        if !root.is_dir() {
            return Err(StartError::Root {
                path: config.root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let log = match &config.log {
            Some(path) => Some(RequestLog::create(path).map_err(|source| StartError::Log {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        let listener =
            std::net::TcpListener::bind(config.addr).map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| StartError::Bind { addr, source })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads)
            .thread_name("coh5-store")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let shared = Arc::new(Shared {
            limit: config
                .max_connections
                .map(|(n, over)| (Arc::new(Semaphore::new(n)), over)),
            planner: Planner::new(config.faults.clone()),
            config,
            root,
            counters: Counters::default(),
            log,
            memory: Memory::default(),
            next_request_id: AtomicU64::new(1),
        });
        let (stop, stopped) = oneshot::channel();
        let accept_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("coh5-store-accept".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, accept_shared, stopped));
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })
            .map_err(StartError::Runtime)?;
        Ok(RunningServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("coh5-store: cannot register the listener: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(Arc::clone(&shared), stream));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    // Small responses (headers, XML) must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    shared.counters.connection_opened();
    let mut reject = false;
    let _permit = match &shared.limit {
        None => None,
        Some((slots, over)) => match Arc::clone(slots).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) if *over == OverLimit::Reject => {
                shared.counters.connection_rejected();
                reject = true;
                None
            }
            Err(_) => {
                let _waiting = shared.counters.waiting();
                match Arc::clone(slots).acquire_owned().await {
                    Ok(permit) => Some(permit),
                    // The semaphore is never closed.
                    Err(_) => return,
                }
            }
        },
    };
    // The gauge borrows its counter; the service below takes its own handle.
    let gauge_owner = Arc::clone(&shared);
    let _active = (!reject).then(|| gauge_owner.counters.active());
    let header_timeout = shared.config.header_timeout;
    let conn = Arc::new(ConnShared::default());
    let io = TokioIo::new(Wire::new(stream, Arc::clone(&shared), Arc::clone(&conn)));
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let conn = Arc::clone(&conn);
        async move {
            Ok::<_, Infallible>(if reject {
                handler::reject(shared, req).await
            } else {
                handler::handle(shared, conn, req).await
            })
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout))
        .max_buf_size(MAX_REQUEST_HEAD)
        .keep_alive(!reject);
    // Errors here are client disconnects, timeouts and injected faults: all end the
    // connection, none concern the server.
    let _ = builder.serve_connection(io, service).await;
}

/// A store serving in the background. Dropping it shuts it down.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` — the S3 endpoint, and the prefix of plain object URLs.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The plain HTTP URL of an object: `http://ADDR/<bucket>/<key>` (key percent-encoded per
    /// segment).
    pub fn url(&self, bucket: &str, key: &str) -> String {
        let encoded: Vec<String> = key
            .split('/')
            .map(|segment| {
                percent_encoding::utf8_percent_encode(segment, crate::handler::SEGMENT).to_string()
            })
            .collect();
        format!("{}/{}/{}", self.base_url(), bucket, encoded.join("/"))
    }

    /// The counters now.
    pub fn counters(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    /// Zeroes the counters (gauges excepted), like `POST /_counters/reset`.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// Stops accepting, drops every connection and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// Blocks until the server stops (it only stops when shut down, so this is for a binary
    /// that serves until killed).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
