//! Retries of remote reads: the policy (attempts, exponential backoff with jitter, a time budget,
//! stall detection) and the classification of failures into "try again" and "give up".
//!
//! object_store's own retry loop is switched off for the stores coh5 builds (see
//! [`crate::open`]): it cannot resume a body that ends early without an error, it hides its
//! attempts from `--stats` and `--trace`, and two nested budgets would make the worst case
//! hard to state. Instead every attempt of a ranged GET is one visible request, and this policy
//! alone decides when to stop.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use object_store::client::{HttpError, HttpErrorKind};

use crate::Error;

/// How hard a remote read tries before it reports an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per read, the first included (at least 1).
    pub max_attempts: u32,
    /// Upper bound of the first backoff; it doubles per retry up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Cap of one backoff.
    pub max_backoff: Duration,
    /// No new attempt starts once this much time has passed since the read began.
    pub budget: Duration,
    /// An attempt that receives nothing (no response headers, no body bytes) for this long is
    /// abandoned and counts as a failed attempt, so a stalled server never hangs a read.
    pub stall_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Ten attempts within two minutes, backoff from up to 100 ms doubling to 5 s (S3's
    /// guidance for 503 SlowDown is exponential backoff; a few seconds clears most throttling),
    /// and 15 s without progress counts as a stall: long past any healthy first-byte latency,
    /// short enough that a dead connection costs less than a retry budget.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            budget: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (attempts count from 1): "full jitter", a uniform
    /// draw below the exponential bound, so clients throttled together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let bound = self
            .initial_backoff
            .saturating_mul(1 << exp)
            .min(self.max_backoff);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random() % nanos.saturating_add(1))
    }
}

/// A random number from the standard library's per-process hash keys (no extra dependency for
/// a jitter that needs no quality beyond "not the same for everyone").
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

/// A response status that calls for a retry (5xx, 429 Too Many Requests, 408 Request Timeout).
/// coh5's HTTP connector turns such responses into transport errors carrying this, so they can
/// be recognised below whatever object_store wraps them in.
#[derive(Debug, thiserror::Error)]
#[error("server answered {status}")]
pub(crate) struct RetryableStatus {
    pub status: u16,
}

impl RetryableStatus {
    pub fn applies(status: u16) -> bool {
        status >= 500 || status == 429 || status == 408
    }
}

/// Whether `error` (one failed attempt) is worth another attempt: throttling and server errors,
/// connection failures, resets, timeouts, stalls and bodies that ended early. Missing objects,
/// refused credentials, a changed object and malformed requests are final.
pub(crate) fn is_transient(error: &Error) -> bool {
    match error {
        Error::ShortRead { .. } | Error::Stalled { .. } => true,
        Error::ObjectStore { source, .. } => match source.as_ref() {
            object_store::Error::Generic { .. } => transient_cause(source.as_ref()),
            _ => false,
        },
        _ => false,
    }
}

/// Walks the source chain for a retryable status or a transport error.
fn transient_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    let chain = || std::iter::successors(Some(error), |e| e.source());
    if chain().any(|e| e.is::<RetryableStatus>()) {
        return true;
    }
    // Everything a broken connection produces: refused or reset connections, timeouts, and
    // bodies cut short (hyper reports a body shorter than its Content-Length as an incomplete
    // message).
    chain()
        .filter_map(|e| e.downcast_ref::<HttpError>())
        .any(|http| {
            matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
                    | HttpErrorKind::Decode
                    | HttpErrorKind::Unknown
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            let bound = p
                .initial_backoff
                .saturating_mul(1 << (attempt - 1).min(30))
                .min(p.max_backoff);
            assert!(p.backoff(attempt) <= bound, "attempt {attempt}");
        }
        let draws: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(8)).collect();
        assert!(draws.len() > 1, "jitter varies");
    }

    #[test]
    fn classification() {
        let loc = "s3://b/k";
        let wrap = |source: Box<dyn std::error::Error + Send + Sync>| Error::ObjectStore {
            location: loc.into(),
            range: Some(0..1),
            source: Arc::new(object_store::Error::Generic {
                store: "S3",
                source,
            }),
        };
        let status = |s| {
            wrap(Box::new(HttpError::new(
                HttpErrorKind::Unknown,
                RetryableStatus { status: s },
            )))
        };
        assert!(is_transient(&status(503)));
        assert!(is_transient(&wrap(Box::new(HttpError::new(
            HttpErrorKind::Interrupted,
            std::io::Error::other("reset")
        )))));
        assert!(!is_transient(&wrap("416 Range Not Satisfiable".into())));
        let precondition = Error::ObjectStore {
            location: loc.into(),
            range: None,
            source: Arc::new(object_store::Error::Precondition {
                path: "k".into(),
                source: "etag".into(),
            }),
        };
        assert!(!is_transient(&precondition));
        assert!(is_transient(&Error::ShortRead {
            location: loc.into(),
            range: 0..10,
            got: 3
        }));
        assert!(RetryableStatus::applies(429) && RetryableStatus::applies(500));
        assert!(!RetryableStatus::applies(404) && !RetryableStatus::applies(416));
    }
}
