//! Test support (cargo feature `testing`): real servers on loopback for end-to-end tests of remote
//! reads, with no mocks.
//!
//! - [`HttpServer`] runs `scripts/test-servers/range_http_server.py` (HTTP with byte ranges) over a
//!   directory.
//! - [`S3Server`] runs moto's standalone S3 server (`python3 -m moto.server`) and uploads files
//!   with `scripts/test-servers/s3_seed.py` (boto3).
//!
//! Each server owns its process and kills it on drop. Start-up, readiness and uploads are bounded
//! by timeouts. The Python interpreter is `$COH5_TEST_PYTHON` or `python3`; when it or its
//! packages are missing, `start` returns an error telling to run
//! `pip install -r scripts/requirements-test.txt` — tests should fail on it, never skip.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use coh5_io::testing::{HttpServer, S3Server};
//! let http = HttpServer::start("/data")?;
//! let src = coh5_io::open(&http.url("a.h5"), &Default::default()).await?;
//! let s3 = S3Server::start([("a.h5", "/data/a.h5")])?;
//! let src = coh5_io::open(&s3.url("a.h5"), &s3.options()).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::SourceOptions;

/// How long a server may take to start listening (moto imports a lot on first start).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the dependency check and uploads may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(300);
/// Poll interval while waiting for processes.
const POLL: Duration = Duration::from_millis(50);

/// The directory holding the server scripts.
pub const SCRIPTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-servers");

/// What to tell a developer whose Python environment is incomplete.
pub const INSTALL_HINT: &str = "run `pip install -r scripts/requirements-test.txt` \
     (from the repository root) or point $COH5_TEST_PYTHON at a Python that has those packages";

/// The S3 bucket [`S3Server`] creates.
pub const BUCKET: &str = "coh5-test";

/// Access key accepted by moto (it does not verify signatures, but the client still signs).
const ACCESS_KEY: &str = "testing";

/// A test server failed to start or to take uploads.
#[derive(Debug)]
pub struct ServerError(String);

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServerError {}

fn python() -> String {
    std::env::var("COH5_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A private scratch directory, removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Result<Self, ServerError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "coh5-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| ServerError(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self(dir))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn spawn(cmd: &mut Command, what: &str) -> Result<Child, ServerError> {
    cmd.spawn().map_err(|e| {
        ServerError(format!(
            "cannot run {what} ({:?}): {e}; {INSTALL_HINT}",
            cmd.get_program()
        ))
    })
}

/// Waits for `child` to exit, killing it after `timeout`.
fn wait_bounded(
    child: &mut Child,
    timeout: Duration,
    what: &str,
) -> Result<ExitStatus, ServerError> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ServerError(format!("{what} timed out after {timeout:?}")));
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(ServerError(format!("waiting for {what}: {e}"))),
        }
    }
}

/// Runs a short Python helper to completion, feeding it `stdin`; errors carry its output.
fn run_python(
    args: &[&str],
    stdin: &str,
    scratch: &Scratch,
    what: &str,
) -> Result<(), ServerError> {
    let log_path = scratch.file(&format!("{what}.log"));
    let log = File::create(&log_path).map_err(|e| ServerError(format!("{what} log: {e}")))?;
    let log2 = log
        .try_clone()
        .map_err(|e| ServerError(format!("{what} log: {e}")))?;
    let mut child = spawn(
        Command::new(python())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log2),
        what,
    )?;
    if let Some(mut input) = child.stdin.take() {
        // A helper that dies early closes the pipe; its exit status reports why.
        let _ = input.write_all(stdin.as_bytes());
    }
    let status = wait_bounded(&mut child, HELPER_TIMEOUT, what)?;
    if status.success() {
        Ok(())
    } else {
        Err(ServerError(format!(
            "{what} failed ({status}):\n{}\n{INSTALL_HINT}",
            log_tail(&log_path)
        )))
    }
}

/// Fails with [`INSTALL_HINT`] unless Python can import `modules`.
fn require_modules(modules: &str, scratch: &Scratch) -> Result<(), ServerError> {
    run_python(
        &["-c", &format!("import {modules}")],
        "",
        scratch,
        "python-check",
    )
    .map_err(|e| {
        ServerError(format!(
            "Python modules {modules} are needed by coh5's remote tests but are unavailable.\n{e}"
        ))
    })
}

/// A running server process, killed on drop.
#[derive(Debug)]
struct Process {
    child: Child,
    log: PathBuf,
    // Declared last: removed after the process is gone.
    scratch: Scratch,
}

impl Process {
    /// Starts a long-running Python process with output going to a log file.
    fn start(args: &[&str], scratch: Scratch, what: &str) -> Result<Self, ServerError> {
        let log = scratch.file("server.log");
        let out = File::create(&log).map_err(|e| ServerError(format!("{what} log: {e}")))?;
        let err = out
            .try_clone()
            .map_err(|e| ServerError(format!("{what} log: {e}")))?;
        let child = spawn(
            Command::new(python())
                .args(args)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
            what,
        )?;
        Ok(Self {
            child,
            log,
            scratch,
        })
    }

    /// Polls `ready` until it yields a value, the process exits, or the start timeout passes.
    fn wait_ready<T>(
        &mut self,
        what: &str,
        mut ready: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, ServerError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(v) = ready(self) {
                return Ok(v);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ServerError(format!(
                    "{what} exited during start-up ({status}):\n{}\n{INSTALL_HINT}",
                    log_tail(&self.log)
                )));
            }
            if Instant::now() >= deadline {
                return Err(ServerError(format!(
                    "{what} not ready after {START_TIMEOUT:?}:\n{}",
                    log_tail(&self.log)
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn free_port() -> Result<u16, ServerError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ServerError(format!("no free loopback port: {e}")))
}

/// An HTTP server with byte-range support serving one directory on 127.0.0.1.
#[derive(Debug)]
pub struct HttpServer {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub base_url: String,
    process: Process,
}

impl HttpServer {
    /// Serves `dir` until dropped.
    pub fn start(dir: impl AsRef<Path>) -> Result<Self, ServerError> {
        let dir = dir.as_ref();
        let scratch = Scratch::new("http")?;
        let port_file = scratch.file("port");
        let script = format!("{SCRIPTS_DIR}/range_http_server.py");
        let dir_arg = dir.display().to_string();
        let port_arg = port_file.display().to_string();
        let args = [
            script.as_str(),
            "--dir",
            &dir_arg,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            &port_arg,
        ];
        let mut process = Process::start(&args, scratch, "range_http_server.py")?;
        let port = process.wait_ready("range_http_server.py", |_| {
            std::fs::read_to_string(&port_file)
                .ok()?
                .trim()
                .parse::<u16>()
                .ok()
        })?;
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            process,
        })
    }

    /// The URL of `path` (relative to the served directory).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The server's request log so far (one line per request), for debugging failed tests.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }
}

/// moto's S3-compatible server on 127.0.0.1 with bucket [`BUCKET`] holding uploaded files.
#[derive(Debug)]
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket holding the files.
    pub bucket: String,
    process: Process,
}

impl S3Server {
    /// Starts moto and uploads `files` as `(key, local path)` pairs to a private bucket.
    pub fn start<K, P>(files: impl IntoIterator<Item = (K, P)>) -> Result<Self, ServerError>
    where
        K: Into<String>,
        P: Into<PathBuf>,
    {
        Self::start_with(files, false)
    }

    /// Like [`start`](S3Server::start), but the objects are readable anonymously (`public-read`
    /// ACL), like a public open-data bucket.
    pub fn start_public<K, P>(files: impl IntoIterator<Item = (K, P)>) -> Result<Self, ServerError>
    where
        K: Into<String>,
        P: Into<PathBuf>,
    {
        Self::start_with(files, true)
    }

    fn start_with<K, P>(
        files: impl IntoIterator<Item = (K, P)>,
        public: bool,
    ) -> Result<Self, ServerError>
    where
        K: Into<String>,
        P: Into<PathBuf>,
    {
        let scratch = Scratch::new("s3")?;
        require_modules("moto.server, flask, boto3", &scratch)?;
        let mut last_error = None;
        // A port picked here may be taken before moto binds it; retry a few times.
        for _ in 0..3 {
            let port = free_port()?;
            let port_arg = port.to_string();
            let args = ["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_arg];
            let mut process = Process::start(&args, Scratch::new("s3")?, "moto.server")?;
            match process.wait_ready("moto.server", |_| listening(port).then_some(())) {
                Ok(()) => {
                    let server = Self {
                        endpoint: format!("http://127.0.0.1:{port}"),
                        bucket: BUCKET.into(),
                        process,
                    };
                    server.seed(files, public)?;
                    return Ok(server);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| ServerError("moto.server did not start".into())))
    }

    /// Starts moto and uploads every regular file under `dir`, keyed by its relative path.
    pub fn start_dir(dir: impl AsRef<Path>) -> Result<Self, ServerError> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d)
                .map_err(|e| ServerError(format!("reading {}: {e}", d.display())))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    if let Ok(rel) = path.strip_prefix(dir) {
                        files.push((rel.to_string_lossy().into_owned(), path));
                    }
                }
            }
        }
        Self::start(files)
    }

    /// Creates the bucket and uploads the files.
    fn seed<K, P>(
        &self,
        files: impl IntoIterator<Item = (K, P)>,
        public: bool,
    ) -> Result<(), ServerError>
    where
        K: Into<String>,
        P: Into<PathBuf>,
    {
        let mut list = String::new();
        for (key, path) in files {
            let (key, path): (String, PathBuf) = (key.into(), path.into());
            if key.contains(['\t', '\n']) {
                return Err(ServerError(format!("unsupported object key {key:?}")));
            }
            list.push_str(&format!("{key}\t{}\n", path.display()));
        }
        let script = format!("{SCRIPTS_DIR}/s3_seed.py");
        let mut args = vec![
            script.as_str(),
            "--endpoint",
            &self.endpoint,
            "--bucket",
            &self.bucket,
        ];
        if public {
            args.push("--public");
        }
        run_python(&args, &list, &self.process.scratch, "s3_seed.py")
    }

    /// `s3://<bucket>/<key>`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key.trim_start_matches('/'))
    }

    /// Options reaching this server with (dummy) credentials, ignoring the environment.
    pub fn options(&self) -> SourceOptions {
        SourceOptions::default()
            .endpoint(self.endpoint.clone())
            .allow_http(true)
            .region("us-east-1")
            .option("aws_access_key_id", ACCESS_KEY)
            .option("aws_secret_access_key", ACCESS_KEY)
    }

    /// Options reaching this server without signing requests.
    pub fn anonymous_options(&self) -> SourceOptions {
        SourceOptions::default()
            .endpoint(self.endpoint.clone())
            .allow_http(true)
            .region("us-east-1")
            .anonymous(true)
    }

    /// The server's request log so far, for debugging failed tests.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }
}
