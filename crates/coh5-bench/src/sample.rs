//! One measurement as a child process reports it, and the summary of repeated measurements.

use std::collections::HashMap;
use std::process::Command;

/// What one child run reported.
#[derive(Debug, Clone)]
pub struct Sample {
    pub seconds: f64,
    pub peak_kib: u64,
    pub baseline_kib: u64,
    pub bytes: u64,
    /// Stored size of one chunk (coh5 children only; 0 when unknown).
    pub chunk_bytes: u64,
    pub version: String,
}

/// Runs a child to completion and parses the `key=value` line it prints last.
pub fn measure(cmd: &mut Command) -> Result<Sample, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let fields: HashMap<&str, &str> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let num = |k: &str| -> Result<f64, String> {
        fields
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{cmd:?} printed no number {k}: {line:?}"))
    };
    Ok(Sample {
        seconds: num("seconds")?,
        peak_kib: num("peak_kib")? as u64,
        baseline_kib: num("baseline_kib")? as u64,
        bytes: num("bytes")? as u64,
        chunk_bytes: num("chunk_bytes").unwrap_or(0.0) as u64,
        version: fields.get("version").unwrap_or(&"?").to_string(),
    })
}

/// Repeated runs of one configuration: the median time and the largest peak memory.
#[derive(Debug, Clone)]
pub struct Summary {
    pub median_seconds: f64,
    pub max_peak_kib: u64,
    pub max_baseline_kib: u64,
    pub bytes: u64,
    pub chunk_bytes: u64,
    pub version: String,
}

pub fn summarize(samples: &[Sample]) -> Option<Summary> {
    let first = samples.first()?;
    let mut times: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_seconds = if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2.0
    };
    Some(Summary {
        median_seconds,
        max_peak_kib: samples.iter().map(|s| s.peak_kib).max()?,
        max_baseline_kib: samples.iter().map(|s| s.baseline_kib).max()?,
        bytes: first.bytes,
        chunk_bytes: first.chunk_bytes,
        version: first.version.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seconds: f64, peak_kib: u64) -> Sample {
        Sample {
            seconds,
            peak_kib,
            baseline_kib: 1,
            bytes: 8,
            chunk_bytes: 4,
            version: "v".into(),
        }
    }

    #[test]
    fn median_and_peak() {
        let odd = summarize(&[s(3.0, 10), s(1.0, 30), s(2.0, 20)]).unwrap();
        assert_eq!(odd.median_seconds, 2.0);
        assert_eq!(odd.max_peak_kib, 30);
        let even = summarize(&[s(4.0, 1), s(1.0, 1), s(2.0, 1), s(3.0, 1)]).unwrap();
        assert_eq!(even.median_seconds, 2.5);
        assert!(summarize(&[]).is_none());
    }
}
