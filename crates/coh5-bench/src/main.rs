//! `coh5-bench`: measured comparisons of coh5 with h5py, documented in BENCHMARKS.md.
//!
//! `coh5-bench read` runs the whole read benchmark; `coh5-bench read-one` is the child process it
//! starts for each coh5 measurement, so that every measurement begins in a fresh process whose
//! peak resident memory belongs to that one read alone.

mod child;
mod markdown;
mod read;
mod sample;

use std::process::ExitCode;

const USAGE: &str = "usage:
  coh5-bench read [--dir DIR] [--size-mib N] [--runs N] [--markdown PATH | --no-markdown]
      generate (once) and read large gzip / shuffle+gzip datasets with h5py and with coh5 on
      1 and 2 threads; print the tables and write them into BENCHMARKS.md between its markers
  coh5-bench read-one FILE DATASET THREADS
      one timed full read with coh5 (used by `read`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("read") => read::run(&args[1..]),
        Some("read-one") => child::run(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coh5-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
