//! Response bodies: a byte stream with an exact length (so hyper sends `Content-Length`), that
//! counts what it hands over and, when it finishes or is dropped mid-way, records the request
//! in the counters and the request log. Also the object stream, which reads a file range in
//! chunks and carries out the body faults (stall, truncation, reset) at their planned offsets.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use http_body::{Body, Frame, SizeHint};

use crate::counters::FaultKind;
use crate::faults::BodyFault;
use crate::log::LogLine;
use crate::server::{Abort, ConnShared, Shared};

/// Largest chunk read from a file at once.
const CHUNK: u64 = 64 * 1024;
/// How long a body that asked the connection to abort waits for it before failing by itself
/// (the connection acts at its next flush, which normally comes at once).
const ABORT_FALLBACK: Duration = Duration::from_secs(2);

/// What the finished request is logged as.
pub(crate) struct Completion {
    pub shared: Arc<Shared>,
    pub start: SystemTime,
    pub method: String,
    pub path: String,
    pub range: String,
    pub status: u16,
}

pub(crate) struct ResponseBody {
    stream: Option<BoxStream<'static, io::Result<Bytes>>>,
    remaining: u64,
    sent: u64,
    completion: Option<Completion>,
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody {
            stream: None,
            remaining: 0,
            sent: 0,
            completion: None,
        }
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes: Bytes = bytes.into();
        let len = bytes.len() as u64;
        Self::stream(len, stream::once(async move { Ok(bytes) }).boxed())
    }

    /// A body of exactly `len` bytes from `stream` (a shorter stream is a broken response).
    pub fn stream(len: u64, stream: BoxStream<'static, io::Result<Bytes>>) -> Self {
        ResponseBody {
            stream: (len > 0).then_some(stream),
            remaining: len,
            sent: 0,
            completion: None,
        }
    }

    pub fn set_completion(&mut self, completion: Completion) {
        self.completion = Some(completion);
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        match stream.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                if n > self.remaining {
                    self.stream = None;
                    return Poll::Ready(Some(Err(io::Error::other("body longer than declared"))));
                }
                self.remaining -= n;
                self.sent += n;
                if self.remaining == 0 {
                    self.stream = None;
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(e))) => {
                self.stream = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.stream = None;
                if self.remaining > 0 {
                    Poll::Ready(Some(Err(io::Error::other("body shorter than declared"))))
                } else {
                    Poll::Ready(None)
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let Some(c) = self.completion.take() else {
            return;
        };
        c.shared.counters.body_bytes(self.sent);
        if let Some(log) = &c.shared.log {
            log.record(&LogLine {
                start: c.start,
                end: SystemTime::now(),
                method: &c.method,
                path: &c.path,
                range: &c.range,
                status: c.status,
                bytes: self.sent,
            });
        }
    }
}

/// Reads `path[start..end)` and applies `fault` at body offset `fault.1`.
pub(crate) struct ObjectReader {
    pub path: PathBuf,
    pub start: u64,
    pub end: u64,
    pub fault: Option<(BodyFault, u64)>,
    pub shared: Arc<Shared>,
    pub conn: Arc<ConnShared>,
    /// The whole object when it is served from memory; the ranges are then slices of it.
    pub held: Option<Bytes>,
}

struct ReadState {
    file: Option<std::fs::File>,
    pos: u64,
    r: ObjectReader,
}

impl ObjectReader {
    pub fn into_stream(self) -> BoxStream<'static, io::Result<Bytes>> {
        let state = ReadState {
            file: None,
            pos: self.start,
            r: self,
        };
        stream::unfold(state, |mut s| async move {
            if s.pos >= s.r.end {
                return None;
            }
            let item = s.step().await;
            if item.is_err() {
                // Nothing more after an error.
                s.pos = s.r.end;
            }
            Some((item, s))
        })
        .boxed()
    }
}

impl ReadState {
    async fn step(&mut self) -> io::Result<Bytes> {
        let fault_at = self
            .r
            .fault
            .map(|(f, at)| (f, self.r.start.saturating_add(at)));
        if let Some((fault, at)) = fault_at.filter(|&(_, at)| at == self.pos) {
            self.r.fault = None;
            match fault {
                BodyFault::Stall(pause) => {
                    self.r.shared.counters.fault(FaultKind::Stall);
                    tokio::time::sleep(pause).await;
                }
                BodyFault::Truncate | BodyFault::Reset => {
                    let (kind, abort) = if fault == BodyFault::Reset {
                        (FaultKind::Reset, Abort::Reset)
                    } else {
                        (FaultKind::Truncate, Abort::Truncate)
                    };
                    self.r.shared.counters.fault(kind);
                    self.r.conn.request_abort(abort);
                    tokio::time::sleep(ABORT_FALLBACK).await;
                    return Err(io::Error::other(format!("injected fault at {at}")));
                }
            }
        }
        let mut limit = self.r.end.min(self.pos.saturating_add(CHUNK));
        if let Some((_, at)) = fault_at.filter(|&(_, at)| at > self.pos) {
            limit = limit.min(at);
        }
        if let Some(held) = &self.r.held {
            let (lo, hi) = (self.pos as usize, limit as usize);
            let piece = held.get(lo..hi).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while being served", self.r.path.display()),
                )
            })?;
            self.pos = limit;
            return Ok(held.slice_ref(piece));
        }
        // Read on the runtime's own thread: an emulator's objects sit in the page cache, where
        // a 64 KiB read takes microseconds, while tokio::fs hops to the blocking pool and back
        // for every call, two thread switches that took CPU from the reader under test on the
        // 2-core benchmark machine.
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(std::fs::File::open(&self.r.path)?),
        };
        // limit - pos <= CHUNK, so the buffer is small.
        let mut buf = vec![0u8; (limit - self.pos) as usize];
        let n = file.read_at(&mut buf, self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank while being served", self.r.path.display()),
            ));
        }
        buf.truncate(n);
        self.pos += n as u64;
        Ok(Bytes::from(buf))
    }
}
