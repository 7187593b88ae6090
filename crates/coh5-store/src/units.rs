//! Parsing of the human-friendly quantities the CLI takes: durations (`20ms`, `5s`) and
//! bandwidths (`50MB/s`, `8MiB/s`). Kept in the library so the parsing is unit-tested and the
//! binary stays a thin shell.

use std::time::Duration;

/// A quantity could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {what} {input:?}: {reason}")]
pub struct UnitError {
    what: &'static str,
    input: String,
    reason: &'static str,
}

fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let value: f64 = s.get(..end)?.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value, s.get(end..)?.trim()))
}

/// Parses `1.5s`, `20ms`, `250us`, `2m`, or a bare number of seconds.
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    let err = |reason| UnitError {
        what: "duration",
        input: input.to_owned(),
        reason,
    };
    let (value, unit) = split_number(input.trim()).ok_or_else(|| err("expected a number"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" | "min" => value * 60.0,
        _ => return Err(err("unit must be ns, us, ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| err("out of range"))
}

/// Parses a bandwidth into bytes per second: `50MB/s` (decimal), `8MiB/s` (binary), `100KB`,
/// `1GB/s`, or a bare number of bytes per second. The `/s` suffix is optional.
pub fn parse_bandwidth(input: &str) -> Result<u64, UnitError> {
    let err = |reason| UnitError {
        what: "bandwidth",
        input: input.to_owned(),
        reason,
    };
    let (value, unit) = split_number(input.trim()).ok_or_else(|| err("expected a number"))?;
    let unit = unit.strip_suffix("/s").unwrap_or(unit);
    let scale: f64 = match unit {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(err(
                "unit must be B, KB, MB, GB, KiB, MiB or GiB (optionally /s)",
            ))
        }
    };
    let bytes = value * scale;
    if !(1.0..=1e15).contains(&bytes) {
        return Err(err("must be between 1 B/s and 1 PB/s"));
    }
    // In range 1..=1e15, so the conversion is exact enough and cannot overflow.
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("1e400s").is_err());
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("50MB/s"), Ok(50_000_000));
        assert_eq!(parse_bandwidth("8MiB/s"), Ok(8 * 1024 * 1024));
        assert_eq!(parse_bandwidth("100KB"), Ok(100_000));
        assert_eq!(parse_bandwidth("1000"), Ok(1000));
        assert!(parse_bandwidth("0MB/s").is_err());
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("5 furlongs").is_err());
    }
}
