//! The result tables of `coh5-bench read` as Markdown, and their place in BENCHMARKS.md
//! (between two marker comments, so that reruns replace them and leave the prose alone).

use std::fmt::Write as _;
use std::path::Path;

use crate::sample::Summary;

pub const START: &str = "<!-- coh5-bench read: start -->";
pub const END: &str = "<!-- coh5-bench read: end -->";

/// Targets from the acceptance criteria.
const SPEEDUP_ONE_THREAD: f64 = 1.0;
const SPEEDUP_TWO_THREADS: f64 = 1.8;
const MEMORY_FACTOR: f64 = 1.2;

pub struct Row {
    pub dataset: String,
    pub h5py: Summary,
    /// (decoding threads, summary), in increasing thread count.
    pub coh5: Vec<(usize, Summary)>,
}

fn mib(bytes: f64) -> f64 {
    bytes / f64::from(1u32 << 20)
}

/// Peak memory allowed for a coh5 run: 1.2 × the output plus one chunk per thread.
fn memory_limit(s: &Summary, threads: usize) -> f64 {
    MEMORY_FACTOR * s.bytes as f64 + threads as f64 * s.chunk_bytes as f64
}

fn speedup_target(threads: usize) -> f64 {
    if threads <= 1 {
        SPEEDUP_ONE_THREAD
    } else {
        SPEEDUP_TWO_THREADS
    }
}

pub fn render(rows: &[Row], command: &str, runs: usize, stored_bytes: u64) -> String {
    let mut md = String::new();
    let versions: Vec<String> = rows
        .first()
        .map(|r| {
            std::iter::once(r.h5py.version.clone())
                .chain(r.coh5.first().map(|(_, s)| s.version.clone()))
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Reproduce with `{command}` (from the workspace root).\n"
    );
    let _ = writeln!(
        md,
        "Readers: {}. Median of {runs} runs per cell, each in a fresh process, file in the page \
         cache ({:.0} MiB stored). Machine: {}.\n",
        versions.join(", "),
        mib(stored_bytes as f64),
        machine()
    );
    let threads: Vec<usize> = rows
        .first()
        .map(|r| r.coh5.iter().map(|(t, _)| *t).collect())
        .unwrap_or_default();
    let mut head = "| dataset | output MiB | h5py s |".to_string();
    let mut rule = "|---|---:|---:|".to_string();
    for t in &threads {
        let _ = write!(
            head,
            " coh5 {t}T s | {t}T vs h5py (≥ {:.1}×) |",
            speedup_target(*t)
        );
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(
        md,
        "**Time** (full read; speed-up = h5py time / coh5 time)\n"
    );
    let _ = writeln!(md, "{head}\n{rule}");
    for r in rows {
        let base = r.h5py.median_seconds;
        let _ = write!(
            md,
            "| {} | {:.0} | {:.3} |",
            r.dataset,
            mib(r.h5py.bytes as f64),
            base
        );
        for (t, s) in &r.coh5 {
            let x = base / s.median_seconds;
            let verdict = if x >= speedup_target(*t) { "" } else { " ✗" };
            let _ = write!(md, " {:.3} | {x:.2}×{verdict} |", s.median_seconds);
        }
        md.push('\n');
    }
    let mut head = "| dataset | h5py peak (before read) |".to_string();
    let mut rule = "|---|---:|".to_string();
    for t in &threads {
        let _ = write!(head, " coh5 {t}T peak | {t}T limit |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(
        md,
        "\n**Peak resident memory** (MiB, whole process, largest of the runs; limit = {MEMORY_FACTOR} × \
         output + one chunk per thread)\n"
    );
    let _ = writeln!(md, "{head}\n{rule}");
    for r in rows {
        let _ = write!(
            md,
            "| {} | {:.1} ({:.1}) |",
            r.dataset,
            r.h5py.max_peak_kib as f64 / 1024.0,
            r.h5py.max_baseline_kib as f64 / 1024.0
        );
        for (t, s) in &r.coh5 {
            let peak = s.max_peak_kib as f64 * 1024.0;
            let limit = memory_limit(s, *t);
            let verdict = if peak <= limit { "" } else { " ✗" };
            let _ = write!(md, " {:.1}{verdict} | {:.1} |", mib(peak), mib(limit));
        }
        md.push('\n');
    }
    md
}

/// CPU model and core count, from /proc/cpuinfo where there is one.
fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // Other work on the machine skews wall times; the load average says how much there was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!("{model}, {cores} cores available, load average {load} when the tables were written")
}

/// Replaces what lies between the markers of `path` with `body`.
pub fn write_between_markers(path: &Path, body: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let updated = replace_between(&text, body)
        .ok_or_else(|| format!("{} has no {START} ... {END} markers", path.display()))?;
    std::fs::write(path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn replace_between(text: &str, body: &str) -> Option<String> {
    let start = text.find(START)? + START.len();
    let end = start + text.get(start..)?.find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..start],
        body.trim_end(),
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_between_markers() {
        let text = format!("intro\n{START}\nold table\n{END}\noutro\n");
        let got = replace_between(&text, "new\n").unwrap();
        assert_eq!(got, format!("intro\n{START}\nnew\n{END}\noutro\n"));
        assert_eq!(replace_between(&got, "new\n").unwrap(), got);
        assert!(replace_between("no markers", "x").is_none());
        assert!(replace_between(&format!("{END} {START}"), "x").is_none());
    }

    #[test]
    fn flags_missed_targets() {
        let s = |seconds: f64, peak_kib: u64| Summary {
            median_seconds: seconds,
            max_peak_kib: peak_kib,
            max_baseline_kib: 0,
            bytes: 100 << 20,
            chunk_bytes: 1 << 20,
            version: "v".into(),
        };
        let row = Row {
            dataset: "d".into(),
            h5py: s(1.0, 0),
            // 1 thread: 2× faster, memory within 121 MiB; 2 threads: only 1.25×, over 122 MiB.
            coh5: vec![(1, s(0.5, 120 << 10)), (2, s(0.8, 130 << 10))],
        };
        let md = render(&[row], "cmd", 3, 0);
        assert!(md.contains("| 2.00× |"), "{md}");
        assert!(md.contains("| 1.25× ✗ |"), "{md}");
        assert!(md.contains("| 120.0 | 121.0 |"), "{md}");
        assert!(md.contains("| 130.0 ✗ | 122.0 |"), "{md}");
    }
}
