//! `coh5 inspect`: parses the cost-model options and prints a [`coh5::inspect::Report`] as text
//! or as its JSON schema.

use std::io::Write;

use coh5::inspect::{ClientCosts, CostParams, Estimate, Report};

/// A duration such as `50ms`, `0.2s` or `120us`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 50ms)"))?;
    let scale = match unit.trim() {
        "s" | "" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        u => return Err(format!("unknown time unit `{u}` (s, ms, us, ns)")),
    };
    Ok(value * scale)
}

/// A bandwidth such as `100MB/s`, `1GiB/s` or `800Mbit/s`, in bytes per second.
pub fn parse_bandwidth(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a bandwidth (e.g. 100MB/s)"))?;
    let unit = unit.trim().trim_end_matches("/s");
    let scale = match unit {
        "" | "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kbit" | "Kbit" => 1e3 / 8.0,
        "Mbit" => 1e6 / 8.0,
        "Gbit" => 1e9 / 8.0,
        u => {
            return Err(format!(
                "unknown bandwidth unit `{u}` (B, kB, MB, GB, KiB, MiB, GiB, Mbit, Gbit)"
            ))
        }
    };
    let bps = value * scale;
    if bps > 0.0 && bps.is_finite() {
        Ok(bps)
    } else {
        Err(format!("bandwidth `{s}` must be positive"))
    }
}

pub fn params(rtt: &str, bandwidth: &str) -> Result<CostParams, String> {
    Ok(CostParams {
        rtt: parse_duration(rtt)?,
        bandwidth: parse_bandwidth(bandwidth)?,
        ..CostParams::default()
    })
}

/// Rows of the dataset table printed (the JSON has them all).
const TABLE_ROWS: usize = 25;

pub fn print_text(r: &Report, mut out: impl Write) -> std::io::Result<()> {
    let f = &r.format;
    writeln!(out, "{}", r.location)?;
    writeln!(out, "\nFormat")?;
    writeln!(out, "  file size            {}", bytes(f.file_size))?;
    writeln!(out, "  userblock            {}", bytes(f.userblock))?;
    writeln!(out, "  superblock version   {}", f.superblock_version)?;
    let versions = |m: &std::collections::BTreeMap<u8, u64>| {
        m.iter()
            .map(|(v, n)| format!("v{v}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        out,
        "  object headers       {}",
        versions(&f.object_header_versions)
    )?;
    writeln!(
        out,
        "  layout messages      {}",
        versions(&f.layout_versions)
    )?;
    writeln!(
        out,
        "  readable by          libhdf5 {} and later",
        f.min_library
    )?;
    writeln!(out, "  metadata checksums   {}", yes(f.checksums))?;

    let fs = &r.file_space;
    writeln!(out, "\nFile space")?;
    let stored = if fs.stored {
        ""
    } else {
        " (default: no file space message)"
    };
    writeln!(out, "  strategy             {}{stored}", fs.strategy)?;
    writeln!(out, "  persist              {}", yes(fs.persist))?;
    writeln!(out, "  threshold            {}", fs.threshold)?;
    match fs.page_size {
        Some(p) => writeln!(out, "  page size            {}", bytes(p))?,
        None => writeln!(out, "  page size            - (not paged)")?,
    }
    if let Some(p) = &r.pages {
        writeln!(
            out,
            "  pages                {} ({} metadata, {} raw data, {} mixed, {} empty), {} unused",
            p.total,
            p.metadata,
            p.raw_data,
            p.mixed,
            p.empty,
            bytes(p.unused_bytes)
        )?;
    }

    let m = &r.metadata;
    let s = &m.spread;
    writeln!(out, "\nMetadata")?;
    writeln!(out, "  bytes                {}", bytes(s.bytes))?;
    writeln!(out, "  byte ranges          {}", s.ranges)?;
    writeln!(out, "  4 KiB blocks         {}", s.blocks_4k)?;
    let first = r.file_space.page_size.unwrap_or(4096);
    writeln!(
        out,
        "  in first {:<11} {}",
        bytes(first),
        percent(s.in_first_page, s.bytes)
    )?;
    writeln!(
        out,
        "  in first 8 MiB       {}",
        percent(s.in_first_8mib, s.bytes)
    )?;
    writeln!(out, "  reaches offset       {}", bytes(s.last_byte))?;
    writeln!(out, "  objects              {}", m.objects)?;
    writeln!(out, "  structure reads      {}", m.reads)?;
    writeln!(out, "  dependent reads      {}", m.dependent_reads)?;
    writeln!(out, "  raw data             {}", bytes(m.raw_data_bytes))?;

    writeln!(out, "\nDatasets ({}, largest first)", r.datasets.len())?;
    writeln!(
        out,
        "  {:<44} {:>10} {:<10} {:>12} {:>7} {:>26} {:>6} {:<14} notes",
        "path",
        "stored",
        "layout",
        "chunk",
        "chunks",
        "stored chunk min/med/max",
        "ratio",
        "filters",
    )?;
    for d in r.datasets.iter().take(TABLE_ROWS) {
        let chunk = d
            .chunk_shape
            .as_ref()
            .map(|c| c.iter().map(u64::to_string).collect::<Vec<_>>().join("x"))
            .unwrap_or_else(|| "-".into());
        let sizes = d
            .chunk_sizes
            .as_ref()
            .map(|c| format!("{}/{}/{}", bytes(c.min), bytes(c.median), bytes(c.max)))
            .unwrap_or_else(|| "-".into());
        let mut notes = Vec::new();
        if d.small_chunks {
            notes.push("small chunks".to_string());
        }
        if !d.unlimited_dims.is_empty() {
            notes.push(format!("unlimited dims {:?}", d.unlimited_dims));
        }
        if let Some(e) = &d.error {
            notes.push(e.clone());
        }
        writeln!(
            out,
            "  {:<44} {:>10} {:<10} {:>12} {:>7} {:>26} {:>6} {:<14} {}",
            d.path,
            bytes(d.stored_bytes),
            d.layout,
            chunk,
            d.chunks,
            sizes,
            d.compression_ratio
                .map_or("-".into(), |x| format!("{x:.2}")),
            if d.filters.is_empty() {
                "-".into()
            } else {
                d.filters.join(",")
            },
            notes.join("; ")
        )?;
    }
    if r.datasets.len() > TABLE_ROWS {
        writeln!(
            out,
            "  … {} more (see --json)",
            r.datasets.len() - TABLE_ROWS
        )?;
    }

    let p = &r.params;
    writeln!(
        out,
        "\nCost model (rtt {:.0} ms, {:.0} MB/s; see README \"coh5 inspect\")",
        p.rtt * 1e3,
        p.bandwidth / 1e6
    )?;
    writeln!(
        out,
        "  {:<44} {:>22} {:>22}",
        "task", "libhdf5-like", "coh5"
    )?;
    costs(&mut out, "open and list everything", &r.open)?;
    for (path, c) in &r.reads {
        costs(&mut out, &format!("read {path}"), c)?;
    }

    let a = &r.advice;
    writeln!(out, "\nVerdict: {}", a.verdict.as_str())?;
    for reason in &a.reasons {
        writeln!(out, "  - {reason}")?;
    }
    if !a.recommendations.is_empty() {
        writeln!(out, "\nRecommendations")?;
        for rec in &a.recommendations {
            writeln!(out, "  - {rec}")?;
        }
    }
    if let Some(cmd) = &a.command {
        writeln!(out, "\n  {cmd}")?;
    }
    if let (Some(size), Some(change)) = (a.predicted_size, a.size_change_percent) {
        writeln!(out, "  predicted size {} ({change:+.1} %)", bytes(size))?;
    }
    if let Some(x) = a.open_speedup {
        writeln!(out, "  predicted coh5 open-and-list speed-up ×{x:.1}")?;
    }
    if !r.errors.is_empty() {
        writeln!(out, "\nErrors ({})", r.errors.len())?;
        for e in &r.errors {
            writeln!(out, "  {e}")?;
        }
    }
    Ok(())
}

fn costs(out: &mut impl Write, task: &str, c: &ClientCosts) -> std::io::Result<()> {
    writeln!(
        out,
        "  {:<44} {:>22} {:>22}",
        task,
        estimate(&c.libhdf5),
        estimate(&c.coh5)
    )
}

fn estimate(e: &Estimate) -> String {
    format!("{} req {:.2} s", e.requests, e.seconds)
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

/// Bytes with a binary unit, exact below 1 KiB.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("50ms"), Ok(0.05));
        assert_eq!(parse_duration("2"), Ok(2.0));
        assert!(parse_duration("fast").is_err());
        assert_eq!(parse_bandwidth("100MB/s"), Ok(100e6));
        assert_eq!(parse_bandwidth("1GiB/s"), Ok(1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_bandwidth("800Mbit/s"), Ok(100e6));
        assert!(parse_bandwidth("0MB/s").is_err());
        assert!(parse_bandwidth("5 parsecs").is_err());
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4 << 20), "4.0 MiB");
    }
}
