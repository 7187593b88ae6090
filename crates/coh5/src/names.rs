//! HDF5 names are byte strings; this is how coh5 shows them as text.

/// UTF-8 where valid; each invalid byte maps to U+DC00+byte (Python's "surrogateescape"), the
/// convention of SPEC.md §1. Rust strings cannot hold lone surrogates, so those bytes become
/// the escape text `\udcXX`, which the JSON writer emits verbatim.
pub fn decode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("{ESCAPE}{:02x}", b));
                }
                rest = &bad[n..];
            }
        }
    }
}

/// Marker the JSON writer turns back into a `\udcXX` escape (it is not valid in HDF5 names from
/// libhdf5, which never writes U+FFFF).
pub(crate) const ESCAPE: &str = "\u{ffff}udc";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_are_escaped() {
        assert_eq!(decode(b"caf\xc3\xa9"), "café");
        assert_eq!(decode(b"a\xe9b"), format!("a{ESCAPE}e9b"));
    }
}
