//! Request tracing for `--stats` and `--trace`: what each request was for (its *purpose*), and a
//! process-wide session that records every request of every source once started.
//!
//! Purposes are labels set by the code that knows why it reads, without passing them through
//! the decoders: synchronous callers hold a [`PurposeGuard`] ([`enter`]) on their thread, and
//! whoever turns that thread's work into a future wraps it in [`scoped`], which carries the
//! label as a task-local to the source that issues the request. Async callers use
//! [`with_purpose`] directly.

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::stats::{critical_path, RangeSet};

/// The superblock and the speculative first read of an open.
pub const SUPERBLOCK: &str = "superblock";
/// Metadata no more specific purpose covers (the superblock extension, shared messages).
pub const METADATA: &str = "metadata";
/// Object headers and their continuation chunks.
pub const OBJECT_HEADER: &str = "object-header";
/// A group's links: symbol tables (B-tree, symbol nodes, local heap) or dense link storage.
pub const LINKS: &str = "links";
/// Attributes kept in dense storage (fractal heap and name index).
pub const ATTRIBUTES: &str = "attributes";
/// Global heap collections: variable-length data and region references.
pub const GLOBAL_HEAP: &str = "global-heap";
/// Chunk indexes (B-trees, fixed and extensible arrays) walked to list a dataset's chunks.
pub const CHUNK_INDEX: &str = "chunk-index";
/// Dataset bytes: chunks and contiguous data.
pub const RAW_DATA: &str = "raw-data";
/// A request made outside any tagged scope.
pub const UNTAGGED: &str = "-";

tokio::task_local! {
    static PURPOSE: &'static str;
    static WIDENED: bool;
}

thread_local! {
    static THREAD_PURPOSE: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Restores the previous purpose of the thread when dropped.
#[must_use = "the purpose applies while the guard lives"]
pub struct PurposeGuard {
    previous: Option<&'static str>,
}

impl Drop for PurposeGuard {
    fn drop(&mut self) {
        THREAD_PURPOSE.with(|p| p.set(self.previous));
    }
}

/// Tags the reads this thread makes through [`scoped`] futures until the guard drops.
pub fn enter(purpose: &'static str) -> PurposeGuard {
    PurposeGuard {
        previous: THREAD_PURPOSE.with(|p| p.replace(Some(purpose))),
    }
}

/// The purpose set on this thread by [`enter`], if any.
pub fn thread_purpose() -> Option<&'static str> {
    THREAD_PURPOSE.with(Cell::get)
}

/// Runs `fut` with the calling thread's purpose (from [`enter`]), or `default` when the
/// thread has none. Meant for the place where blocking code hands a future to a runtime.
pub async fn scoped<F: Future>(default: &'static str, fut: F) -> F::Output {
    PURPOSE
        .scope(thread_purpose().unwrap_or(default), fut)
        .await
}

/// Runs `fut` with the reads it makes tagged `purpose`.
pub async fn with_purpose<F: Future>(purpose: &'static str, fut: F) -> F::Output {
    PURPOSE.scope(purpose, fut).await
}

/// The purpose of the read being made now.
pub fn current() -> &'static str {
    PURPOSE
        .try_with(|p| *p)
        .ok()
        .or_else(thread_purpose)
        .unwrap_or(UNTAGGED)
}

/// Runs `fut` as a read made ahead of need (a cache fill wider than the caller's read, a
/// speculative first read): its bytes count as fetched but not as used; the layer that serves
/// callers from them reports what they use.
pub async fn widened<F: Future>(fut: F) -> F::Output {
    WIDENED.scope(true, fut).await
}

/// Whether the read being made now is a widened fill.
pub(crate) fn is_widened() -> bool {
    WIDENED.try_with(|w| *w).unwrap_or(false)
}

/// One request as the session saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The source's location.
    pub location: String,
    /// Start and end, measured from the start of the session.
    pub start: Duration,
    pub end: Duration,
    /// Requested bytes (empty for a HEAD or stat).
    pub range: Range<u64>,
    /// Payload bytes received.
    pub bytes: u64,
    pub purpose: &'static str,
    /// 1 for a first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// `None` when the request succeeded, else why it failed.
    pub error: Option<String>,
}

/// What `--stats` prints: the session's requests summarised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub requests: u64,
    pub bytes_fetched: u64,
    pub bytes_used: u64,
    pub retries: u64,
    pub round_trips: u64,
    /// From the session's start until the summary was taken.
    pub wall: Duration,
}

struct Session {
    origin: Instant,
    records: Mutex<Vec<RequestRecord>>,
    /// Bytes used per location.
    used: Mutex<Vec<(String, RangeSet)>>,
}

static SESSION: OnceLock<Session> = OnceLock::new();

/// Starts recording every request of every source in this process (the clock of the trace
/// starts now). Later calls change nothing.
pub fn start_session() {
    SESSION.get_or_init(|| Session {
        origin: Instant::now(),
        records: Mutex::default(),
        used: Mutex::default(),
    });
}

/// Records a finished request, if a session is running.
pub(crate) fn record_request(make: impl FnOnce(Instant) -> RequestRecord) {
    if let Some(s) = SESSION.get() {
        let record = make(s.origin);
        s.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }
}

/// Records bytes delivered to a caller, if a session is running.
pub(crate) fn record_used(location: &str, range: Range<u64>) {
    if let Some(s) = SESSION.get() {
        let mut used = s.used.lock().unwrap_or_else(|e| e.into_inner());
        match used.iter_mut().find(|(l, _)| l == location) {
            Some((_, set)) => set.insert(range),
            None => {
                let mut set = RangeSet::default();
                set.insert(range);
                used.push((location.to_owned(), set));
            }
        }
    }
}

/// The requests recorded so far, in the order they finished (empty without a session).
pub fn records() -> Vec<RequestRecord> {
    SESSION.get().map_or_else(Vec::new, |s| {
        s.records.lock().unwrap_or_else(|e| e.into_inner()).clone()
    })
}

/// The session's totals so far (`None` without a session).
pub fn summary() -> Option<Summary> {
    let s = SESSION.get()?;
    let records = records();
    let intervals: Vec<(Duration, Duration)> = records.iter().map(|r| (r.start, r.end)).collect();
    let used = s.used.lock().unwrap_or_else(|e| e.into_inner());
    Some(Summary {
        requests: records.len() as u64,
        bytes_fetched: records.iter().map(|r| r.bytes).sum(),
        bytes_used: used.iter().map(|(_, set)| set.total()).sum(),
        retries: records.iter().filter(|r| r.attempt > 1).count() as u64,
        round_trips: critical_path(&intervals),
        wall: s.origin.elapsed(),
    })
}

/// Writes the session's requests as CSV, sorted by start time: `start_ms, end_ms, location,
/// offset, length, bytes, purpose, attempt, status, error`.
pub fn write_csv(out: &mut dyn Write) -> std::io::Result<()> {
    let mut records = records();
    records.sort_by_key(|r| (r.start, r.end));
    writeln!(
        out,
        "start_ms,end_ms,location,offset,length,bytes,purpose,attempt,status,error"
    )?;
    for r in records {
        writeln!(
            out,
            "{:.3},{:.3},{},{},{},{},{},{},{},{}",
            r.start.as_secs_f64() * 1e3,
            r.end.as_secs_f64() * 1e3,
            csv_field(&r.location),
            r.range.start,
            r.range.end - r.range.start,
            r.bytes,
            r.purpose,
            r.attempt,
            if r.error.is_some() { "error" } else { "ok" },
            csv_field(r.error.as_deref().unwrap_or("")),
        )?;
    }
    Ok(())
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_nest_and_restore() {
        assert_eq!(current(), UNTAGGED);
        {
            let _a = enter(RAW_DATA);
            assert_eq!(current(), RAW_DATA);
            {
                let _b = enter(CHUNK_INDEX);
                assert_eq!(current(), CHUNK_INDEX);
            }
            assert_eq!(current(), RAW_DATA);
        }
        assert_eq!(current(), UNTAGGED);
    }

    #[tokio::test]
    async fn task_local_wins_and_defaults_apply() {
        assert_eq!(scoped(METADATA, async { current() }).await, METADATA);
        let _g = enter(SUPERBLOCK);
        assert_eq!(scoped(METADATA, async { current() }).await, SUPERBLOCK);
        let got = with_purpose(RAW_DATA, async { current() }).await;
        assert_eq!(got, RAW_DATA);
        assert!(!is_widened());
        assert!(widened(async { is_widened() }).await);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
