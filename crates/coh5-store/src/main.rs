//! The `coh5-store` binary: serves a directory as an emulated object store until killed. Its
//! first line of output is `listening on http://ADDR`, for scripts to parse.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use coh5_store::units::{parse_bandwidth, parse_duration};
use coh5_store::{Config, Faults, OverLimit, Server};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OverLimitArg {
    /// Answer 503 SlowDown and close (what S3 clients see from an overloaded S3).
    Reject,
    /// Hold the connection until a slot frees.
    Queue,
}

/// Serve a directory (its subdirectories are buckets) over plain HTTP and the S3 API, with
/// latency, bandwidth, connection-limit and fault knobs.
#[derive(Debug, Parser)]
#[command(name = "coh5-store", version)]
struct Args {
    /// Directory to serve; each top-level directory is a bucket.
    root: PathBuf,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to bind (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before the first byte of each response, e.g. 20ms.
    #[arg(long, value_parser = parse_duration)]
    latency: Option<Duration>,
    /// Per-connection bandwidth cap, e.g. 50MB/s or 8MiB/s.
    #[arg(long, value_parser = parse_bandwidth)]
    bandwidth: Option<u64>,
    /// Serve at most N connections at once.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// What connections beyond --max-connections get.
    #[arg(long, value_enum, default_value = "reject")]
    over_limit: OverLimitArg,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Probability of a 503 SlowDown / 500 InternalError answer.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Probability of resetting the connection mid-body.
    #[arg(long, default_value_t = 0.0)]
    reset_rate: f64,
    /// Probability of sending fewer bytes than Content-Length, then closing.
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Probability of pausing mid-body for --stall.
    #[arg(long, default_value_t = 0.0)]
    stall_rate: f64,
    /// How long a stall lasts.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    stall: Duration,
    /// Write one CSV line per request here (start,end,method,path,range,status,bytes).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Serve objects from memory: each file is read whole by its first GET (again when it is
    /// replaced), so that the disk adds nothing to --latency and --bandwidth.
    #[arg(long)]
    in_memory: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = Config::new(&args.root)
        .addr(SocketAddr::new(args.host, args.port))
        .faults(Faults {
            seed: args.seed,
            error_rate: args.error_rate,
            reset_rate: args.reset_rate,
            truncate_rate: args.truncate_rate,
            stall_rate: args.stall_rate,
            stall: args.stall,
        })
        .in_memory(args.in_memory);
    if let Some(latency) = args.latency {
        config = config.latency(latency);
    }
    if let Some(bandwidth) = args.bandwidth {
        config = config.bandwidth(bandwidth);
    }
    if let Some(n) = args.max_connections {
        let over = match args.over_limit {
            OverLimitArg::Reject => OverLimit::Reject,
            OverLimitArg::Queue => OverLimit::Queue,
        };
        config = config.max_connections(n, over);
    }
    if let Some(log) = args.log {
        config = config.log(log);
    }
    let server = match Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("coh5-store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    // Scripts wait for this line; if stdout is gone nobody is waiting.
    let _ = writeln!(out, "listening on {}", server.base_url()).and_then(|()| out.flush());
    server.wait();
    ExitCode::SUCCESS
}
