//! Errors of the I/O layer. Every variant names the location (path or URL) it concerns and, where
//! one is involved, the byte range, so a failure deep inside a remote read is still actionable.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O failure. `Clone` (sources are held in `Arc`s) so one failed fetch can be reported to
/// every reader that was waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested range ends after the end of the object.
    #[error(
        "{location}: range {} is past the end of the object ({size} bytes)",
        Span(range)
    )]
    OutOfBounds {
        location: String,
        range: Range<u64>,
        size: u64,
    },
    /// The range is malformed (start after end).
    #[error("{location}: invalid range {}", Span(range))]
    InvalidRange { location: String, range: Range<u64> },
    /// The backend returned a different number of bytes than requested.
    #[error("{location}: range {} returned {got} bytes", Span(range))]
    ShortRead {
        location: String,
        range: Range<u64>,
        got: u64,
    },
    /// The object (file, key, URL) does not exist.
    #[error("{location}: not found")]
    NotFound {
        location: String,
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The location cannot be turned into a source (bad URL, unknown scheme, bad option).
    #[error("{location}: {reason}")]
    InvalidLocation { location: String, reason: String },
    /// A local I/O error.
    #[error("{location}{}: {source}", OptSpan(range))]
    Io {
        location: String,
        range: Option<Range<u64>>,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// An error from an object store backend (S3, GCS, Azure, HTTP).
    #[error("{location}{}: {source}", OptSpan(range))]
    ObjectStore {
        location: String,
        range: Option<Range<u64>>,
        #[source]
        source: Arc<object_store::Error>,
    },
    /// The object was replaced while it was being read: a later request no longer matched the
    /// version (ETag or Last-Modified) the first response named. Never retried: the bytes
    /// already read belong to the old version.
    #[error("{location}{}: object changed during read: {detail}", OptSpan(range))]
    ObjectChanged {
        location: String,
        range: Option<Range<u64>>,
        detail: String,
    },
    /// One attempt received nothing (no headers, no body bytes) for `after`.
    #[error(
        "{location} ({}): no data for {:.1} s after {got} bytes",
        Span(range),
        after.as_secs_f64()
    )]
    Stalled {
        location: String,
        range: Range<u64>,
        got: u64,
        after: std::time::Duration,
    },
    /// A read failed on every attempt its retry budget allowed; `last` is the final cause.
    #[error(
        "{location} ({}): giving up after {attempts} attempts in {:.1} s; last error: {last}",
        Span(range),
        elapsed.as_secs_f64()
    )]
    RetriesExhausted {
        location: String,
        range: Range<u64>,
        attempts: u32,
        elapsed: std::time::Duration,
        #[source]
        last: Arc<Error>,
    },
    /// A background task (blocking read) panicked or was cancelled.
    #[error("{location}: background read task failed: {reason}")]
    Task { location: String, reason: String },
}

impl Error {
    /// The location (path or URL) this error concerns.
    pub fn location(&self) -> &str {
        match self {
            Error::OutOfBounds { location, .. }
            | Error::InvalidRange { location, .. }
            | Error::ShortRead { location, .. }
            | Error::NotFound { location, .. }
            | Error::InvalidLocation { location, .. }
            | Error::Io { location, .. }
            | Error::ObjectStore { location, .. }
            | Error::ObjectChanged { location, .. }
            | Error::Stalled { location, .. }
            | Error::RetriesExhausted { location, .. }
            | Error::Task { location, .. } => location,
        }
    }

    /// Wraps a local I/O error; `NotFound` gets its own variant.
    pub(crate) fn io(location: &str, range: Option<Range<u64>>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return Error::NotFound {
                location: location.to_owned(),
                source: Some(Arc::new(source)),
            };
        }
        Error::Io {
            location: location.to_owned(),
            range,
            source: Arc::new(source),
        }
    }

    /// Wraps an object store error; `NotFound` gets its own variant.
    pub(crate) fn object_store(
        location: &str,
        range: Option<Range<u64>>,
        source: object_store::Error,
    ) -> Self {
        if matches!(source, object_store::Error::NotFound { .. }) {
            return Error::NotFound {
                location: location.to_owned(),
                source: Some(Arc::new(source)),
            };
        }
        Error::ObjectStore {
            location: location.to_owned(),
            range,
            source: Arc::new(source),
        }
    }
}

/// Checks `range` against an object of `size` bytes: start must not exceed end, end must not
/// exceed size. Every source calls this before issuing a request.
pub(crate) fn check_range(location: &str, range: &Range<u64>, size: u64) -> Result<()> {
    if range.start > range.end {
        return Err(Error::InvalidRange {
            location: location.to_owned(),
            range: range.clone(),
        });
    }
    if range.end > size {
        return Err(Error::OutOfBounds {
            location: location.to_owned(),
            range: range.clone(),
            size,
        });
    }
    Ok(())
}

/// Displays a range as `bytes a..b` (half-open, like Rust).
struct Span<'a>(&'a Range<u64>);

impl fmt::Display for Span<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}..{}", self.0.start, self.0.end)
    }
}

/// Displays an optional range as ` (bytes a..b)` or nothing.
struct OptSpan<'a>(&'a Option<Range<u64>>);

impl fmt::Display for OptSpan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, " ({})", Span(r)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_location_and_range() {
        let e = check_range("s3://b/k.h5", &(10..20), 15).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/k.h5: range bytes 10..20 is past the end of the object (15 bytes)"
        );
        assert_eq!(e.location(), "s3://b/k.h5");
        let reversed = Range { start: 20, end: 10 };
        let e = check_range("f.h5", &reversed, 100).unwrap_err();
        assert_eq!(e.to_string(), "f.h5: invalid range bytes 20..10");
        assert!(check_range("f.h5", &(0..100), 100).is_ok());
        assert!(check_range("f.h5", &(100..100), 100).is_ok());

        let e = Error::io("/x.h5", Some(1..2), std::io::Error::other("disk on fire"));
        assert_eq!(e.to_string(), "/x.h5 (bytes 1..2): disk on fire");
        let e = Error::io("/x.h5", None, std::io::ErrorKind::NotFound.into());
        assert!(matches!(e, Error::NotFound { .. }));
        assert!(e.to_string().starts_with("/x.h5: not found"));
    }
}
