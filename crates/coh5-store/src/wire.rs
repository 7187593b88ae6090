//! The server side of one TCP connection, between the socket and hyper. It is where the
//! connection-level behaviours live because only here are bytes really sent: the bandwidth cap
//! (writes paced against a per-connection clock, headers included), the write timeout (a
//! client that stops reading cannot pin the connection forever), the wire byte counter, and
//! the body faults that need the socket itself (a clean early close for truncation, an RST for
//! a reset), carried out once everything written before the fault has left.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::server::{Abort, ConnShared, Shared};

/// A transfer that fell behind its schedule by less than this (timer granularity, a busy CPU)
/// may catch up, so the average rate holds; a connection idle for longer earns no credit, so
/// a burst is bounded by this much transfer time.
const CONTINUITY: Duration = Duration::from_millis(50);

/// Per-connection pacing clock.
#[derive(Debug)]
struct Pacer {
    bytes_per_second: f64,
    /// When the link is free again after what was already sent.
    next_free: Instant,
    /// Largest single write: about 2 ms of transfer, so pacing is smooth at any rate.
    quantum: usize,
}

impl Pacer {
    fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second as f64;
        Pacer {
            bytes_per_second: rate,
            next_free: Instant::now(),
            // Clamped to [1 KiB, 256 KiB], so the cast cannot truncate.
            quantum: (rate * 0.002).clamp(1024.0, 256.0 * 1024.0) as usize,
        }
    }

    fn sent(&mut self, n: usize, now: Instant) {
        let base = if self.next_free + CONTINUITY < now {
            now
        } else {
            self.next_free
        };
        self.next_free = base + Duration::from_secs_f64(n as f64 / self.bytes_per_second);
    }
}

pub(crate) struct Wire {
    inner: TcpStream,
    shared: Arc<Shared>,
    conn: Arc<ConnShared>,
    pacer: Option<Pacer>,
    pace: Pin<Box<Sleep>>,
    write_timeout: Duration,
    stuck: Option<Pin<Box<Sleep>>>,
}

impl Wire {
    pub fn new(inner: TcpStream, shared: Arc<Shared>, conn: Arc<ConnShared>) -> Self {
        let pacer = shared.config.bandwidth.map(Pacer::new);
        let write_timeout = shared.config.write_timeout;
        Wire {
            inner,
            shared,
            conn,
            pacer,
            pace: Box::pin(tokio::time::sleep(Duration::ZERO)),
            write_timeout,
            stuck: None,
        }
    }

    /// Tracks how long the socket has refused writes; an error once that exceeds the timeout.
    fn poll_stuck(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let timeout = self.write_timeout;
        let stuck = self
            .stuck
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stuck.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut len = buf.len();
        if let Some(pacer) = &this.pacer {
            if Instant::now() < pacer.next_free {
                this.pace.as_mut().reset(pacer.next_free);
                if this.pace.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            len = len.min(pacer.quantum);
        }
        let chunk = buf.get(..len).unwrap_or(buf);
        match Pin::new(&mut this.inner).poll_write(cx, chunk) {
            Poll::Ready(Ok(n)) => {
                this.stuck = None;
                this.shared.counters.wire_bytes(n);
                if let Some(pacer) = &mut this.pacer {
                    pacer.sent(n, Instant::now());
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_stuck(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes the socket only after handing it every buffered byte, so the bytes
        // before an injected fault are on their way when it is carried out here.
        match self.conn.abort() {
            Abort::None => Pin::new(&mut self.inner).poll_flush(cx),
            Abort::Truncate => {
                // FIN after the partial body: the client sees a clean, early end of stream.
                std::task::ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "injected truncation",
                )))
            }
            Abort::Reset => {
                // Zero linger turns the close hyper does on this error into an RST.
                self.inner.set_zero_linger()?;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "injected reset",
                )))
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
