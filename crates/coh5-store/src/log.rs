//! The optional per-request log (`--log FILE`): one CSV line per response, written when its
//! body finishes or is abandoned, so benchmarks can reconstruct request timelines
//! (`start,end,method,path,range,status,bytes`; times in Unix seconds with microseconds).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::time::unix_seconds_f64;

#[derive(Debug)]
pub(crate) struct RequestLog {
    out: Mutex<BufWriter<File>>,
}

/// One finished request.
#[derive(Debug)]
pub(crate) struct LogLine<'a> {
    pub start: SystemTime,
    pub end: SystemTime,
    pub method: &'a str,
    pub path: &'a str,
    pub range: &'a str,
    pub status: u16,
    pub bytes: u64,
}

/// Quotes a CSV field (RFC 4180): paths and ranges may hold commas or quotes.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl RequestLog {
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "start,end,method,path,range,status,bytes")?;
        out.flush()?;
        Ok(RequestLog {
            out: Mutex::new(out),
        })
    }

    /// Appends a line and flushes it, so the log is complete even if the process is killed.
    /// A failing log must not take the server down, so write errors are dropped.
    pub fn record(&self, line: &LogLine<'_>) {
        let text = format!(
            "{:.6},{:.6},{},{},{},{},{}\n",
            unix_seconds_f64(line.start),
            unix_seconds_f64(line.end),
            line.method,
            quoted(line.path),
            quoted(line.range),
            line.status,
            line.bytes
        );
        // A poisoned lock only means another writer panicked mid-line; keep logging.
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}
