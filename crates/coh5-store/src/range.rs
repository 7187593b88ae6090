//! The `Range` request header, reduced to what S3 and plain HTTP servers do with it: one byte
//! range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) is served as `206`; a range starting past the end
//! is `416`; a malformed header or several ranges are ignored and the whole object is sent
//! (RFC 9110 §14.2 allows ignoring Range; S3 does not serve multi-range requests either).

/// What to send for an object of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// The whole object, `200`.
    Full,
    /// Bytes `start..=end`, `206`.
    Partial { start: u64, end: u64 },
    /// `416`.
    Unsatisfiable,
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Resolves a `Range` header against an object of `size` bytes.
pub(crate) fn resolve(header: Option<&str>, size: u64) -> Span {
    let Some(header) = header else {
        return Span::Full;
    };
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .and_then(|_| header.get(6..))
    else {
        return Span::Full;
    };
    if spec.contains(',') {
        return Span::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Span::Full;
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match digits(suffix) {
            None => Span::Full,
            Some(0) => Span::Unsatisfiable,
            Some(_) if size == 0 => Span::Unsatisfiable,
            Some(n) => Span::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (first, last) => {
            let Some(start) = digits(first) else {
                return Span::Full;
            };
            let end = match last {
                "" => u64::MAX,
                last => match digits(last) {
                    Some(end) if end >= start => end,
                    _ => return Span::Full,
                },
            };
            if start >= size {
                Span::Unsatisfiable
            } else {
                Span::Partial {
                    start,
                    end: end.min(size - 1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = |start, end| Span::Partial { start, end };
        assert_eq!(resolve(None, 10), Span::Full);
        assert_eq!(resolve(Some("bytes=2-5"), 10), p(2, 5));
        assert_eq!(resolve(Some("bytes=2-50"), 10), p(2, 9));
        assert_eq!(resolve(Some("bytes=7-"), 10), p(7, 9));
        assert_eq!(resolve(Some("bytes=-3"), 10), p(7, 9));
        assert_eq!(resolve(Some("bytes=-30"), 10), p(0, 9));
        assert_eq!(resolve(Some("Bytes=0-0"), 10), p(0, 0));
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(resolve(Some("bytes=10-"), 10), Span::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=10-20"), 10), Span::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-0"), 10), Span::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=0-"), 0), Span::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-5"), 0), Span::Unsatisfiable);
    }

    #[test]
    fn ignored() {
        for h in [
            "bytes=5-2",
            "bytes=a-b",
            "bytes=1-2,4-5",
            "items=0-1",
            "bytes=",
            "bytes=-",
            "bytes=99999999999999999999999-",
            "",
        ] {
            assert_eq!(resolve(Some(h), 10), Span::Full, "{h}");
        }
    }
}
