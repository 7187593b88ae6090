//! Conditional requests (RFC 9110 §13): `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since` and `If-Range`, evaluated in the RFC's order. They let a client pin a
//! series of range reads to one version of an object (object_store sends `If-Match` with the
//! ETag it saw first), so a changed file is detected instead of silently mixed.

use std::time::SystemTime;

use hyper::header::{
    HeaderMap, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
};

use crate::time::{parse_http_date, unix_seconds};

/// The verdict on a conditional request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Serve the object; `honour_range` is false when `If-Range` names another version.
    Proceed { honour_range: bool },
    /// `412 Precondition Failed`.
    PreconditionFailed,
    /// `304 Not Modified`.
    NotModified,
}

/// Whether an entity-tag list (`"a", W/"b"` or `*`) matches `etag`; `weak` allows `W/` tags to
/// match (If-None-Match), strong comparison does not (If-Match, If-Range).
fn list_matches(list: &str, etag: &str, weak: bool) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        match tag.strip_prefix("W/") {
            Some(weak_tag) => weak && weak_tag == etag,
            None => tag == etag,
        }
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &hyper::header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Evaluates the conditional headers against the object's quoted `etag` and modification time.
pub(crate) fn evaluate(headers: &HeaderMap, etag: &str, modified: SystemTime) -> Verdict {
    let modified = unix_seconds(modified);
    if let Some(list) = header(headers, &IF_MATCH) {
        if !list_matches(list, etag, false) {
            return Verdict::PreconditionFailed;
        }
    } else if let Some(date) = header(headers, &IF_UNMODIFIED_SINCE).and_then(parse_http_date) {
        if modified > unix_seconds(date) {
            return Verdict::PreconditionFailed;
        }
    }
    if let Some(list) = header(headers, &IF_NONE_MATCH) {
        if list_matches(list, etag, true) {
            return Verdict::NotModified;
        }
    } else if let Some(date) = header(headers, &IF_MODIFIED_SINCE).and_then(parse_http_date) {
        if modified <= unix_seconds(date) {
            return Verdict::NotModified;
        }
    }
    let honour_range = match header(headers, &IF_RANGE) {
        None => true,
        Some(v) if v.starts_with('"') || v.starts_with("W/") => list_matches(v, etag, false),
        Some(v) => parse_http_date(v).is_some_and(|date| unix_seconds(date) == modified),
    };
    Verdict::Proceed { honour_range }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::http_date;
    use hyper::header::HeaderValue;
    use std::time::{Duration, UNIX_EPOCH};

    const ETAG: &str = "\"abc\"";

    fn eval(pairs: &[(hyper::header::HeaderName, &str)]) -> Verdict {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        evaluate(&h, ETAG, UNIX_EPOCH + Duration::from_secs(1_000_000))
    }

    const GO: Verdict = Verdict::Proceed { honour_range: true };

    #[test]
    fn if_match() {
        assert_eq!(eval(&[(IF_MATCH, "\"abc\"")]), GO);
        assert_eq!(eval(&[(IF_MATCH, "\"x\", \"abc\"")]), GO);
        assert_eq!(eval(&[(IF_MATCH, "*")]), GO);
        assert_eq!(eval(&[(IF_MATCH, "\"x\"")]), Verdict::PreconditionFailed);
        assert_eq!(
            eval(&[(IF_MATCH, "W/\"abc\"")]),
            Verdict::PreconditionFailed
        );
    }

    #[test]
    fn if_none_match() {
        assert_eq!(eval(&[(IF_NONE_MATCH, "W/\"abc\"")]), Verdict::NotModified);
        assert_eq!(eval(&[(IF_NONE_MATCH, "\"x\"")]), GO);
    }

    #[test]
    fn dates() {
        let before = http_date(UNIX_EPOCH + Duration::from_secs(999_999));
        let at = http_date(UNIX_EPOCH + Duration::from_secs(1_000_000));
        assert_eq!(
            eval(&[(IF_UNMODIFIED_SINCE, &before)]),
            Verdict::PreconditionFailed
        );
        assert_eq!(eval(&[(IF_UNMODIFIED_SINCE, &at)]), GO);
        assert_eq!(eval(&[(IF_MODIFIED_SINCE, &at)]), Verdict::NotModified);
        assert_eq!(eval(&[(IF_MODIFIED_SINCE, &before)]), GO);
        // If-Match takes precedence over If-Unmodified-Since.
        assert_eq!(
            eval(&[(IF_MATCH, ETAG), (IF_UNMODIFIED_SINCE, &before)]),
            GO
        );
        assert_eq!(eval(&[(IF_UNMODIFIED_SINCE, "garbage")]), GO);
    }

    #[test]
    fn if_range() {
        assert_eq!(eval(&[(IF_RANGE, ETAG)]), GO);
        let stale = Verdict::Proceed {
            honour_range: false,
        };
        assert_eq!(eval(&[(IF_RANGE, "\"old\"")]), stale);
        assert_eq!(eval(&[(IF_RANGE, "Thu, 01 Jan 1970 00:00:00 GMT")]), stale);
    }
}
