//! The `coh5` command: argument parsing and output formatting over the `coh5` library.

mod get;
mod inspect;
mod ls;
mod subset;
mod subset_plot;
mod zip;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use coh5::manifest::{manifest, to_json, ManifestOptions};
use coh5::{trace, Access, File, RetryPolicy, SourceOptions};

#[derive(Parser)]
#[command(
    name = "coh5",
    version,
    about = "Fast HDF5 from local disks and cloud object storage"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    source: SourceArgs,
}

/// How to reach SOURCE when it is a URL (credentials otherwise come from the environment).
#[derive(Args)]
struct SourceArgs {
    /// Do not sign requests (public buckets).
    #[arg(long, global = true)]
    anonymous: bool,
    /// Object-store region (e.g. us-west-2).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Endpoint of an S3-compatible server (e.g. http://127.0.0.1:9000).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// Print requests, bytes fetched and used, retries, round trips on the critical path and
    /// wall time to stderr when done.
    #[arg(long, global = true)]
    stats: bool,
    /// Write one CSV row per request to FILE (start and end in ms since the command started,
    /// location, offset, length, bytes received, purpose, attempt, status, error).
    #[arg(long, global = true, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
    /// Attempts per remote read (the first included) before it fails.
    #[arg(long, global = true, value_name = "N", default_value_t = RetryPolicy::default().max_attempts)]
    attempts: u32,
    /// A remote request that receives nothing for this long is abandoned and retried.
    #[arg(long, global = true, value_name = "DURATION", default_value = "15s")]
    stall_timeout: String,
}

#[derive(Subcommand)]
enum Command {
    /// List groups, datasets and links (like h5ls).
    Ls {
        /// Recurse into groups.
        #[arg(short, long)]
        recursive: bool,
        /// Long listing: layout, chunks, filters, fill value, attributes.
        #[arg(short, long)]
        long: bool,
        /// Path or URL of the HDF5 file.
        source: String,
        /// Object to list (default: the root group).
        object: Option<String>,
    },
    /// Print the structure of a file.
    Dump {
        /// Print the conformance manifest (JSON, see shared/conformance/SPEC.md).
        #[arg(long, required = true)]
        manifest: bool,
        /// Leave dataset contents out (no data_sha256).
        #[arg(long)]
        skip_data: bool,
        /// Path or URL of the HDF5 file.
        source: String,
    },
    /// Read datasets (all in one planned read) and write them as npy, npz, CSV or JSON.
    Get {
        /// Path or URL of the HDF5 file.
        source: String,
        /// Absolute paths of the datasets to read.
        #[arg(required = true)]
        datasets: Vec<String>,
        /// NumPy-style selection applied to every dataset, e.g. "0:1000,::2" or "[1,5],-1".
        #[arg(long, allow_hyphen_values = true)]
        slice: Option<String>,
        /// Output format [default: npy for -o *.npy, npz for -o *.npz, else json].
        #[arg(long, value_enum)]
        format: Option<get::Format>,
        /// Write here instead of stdout.
        #[arg(short, long)]
        output: Option<String>,
    },
    /// How cloud-ready a file is, what reading it costs, and how to fix it (no data is read).
    Inspect {
        /// Path or URL of the HDF5 file.
        source: String,
        /// Round-trip (first-byte) time of one request for the cost model.
        #[arg(long, default_value = "50ms")]
        rtt: String,
        /// Bandwidth for the cost model.
        #[arg(long, default_value = "100MB/s")]
        bandwidth: String,
        /// Print the report as JSON (schema: docs/inspect-schema.md).
        #[arg(long)]
        json: bool,
        /// Also draw the file's byte layout (metadata, the largest variables' chunks, pages)
        /// to this PNG file.
        #[arg(long)]
        plot: Option<String>,
    },
    /// ICESat-2 ATL03 photons inside a lat/lon box (planned from the segment index) as
    /// Parquet, CSV or Arrow.
    Subset(subset::SubsetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`coh5 ls ... | head`) is the reader's choice, not a failure.
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coh5: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn options(args: &SourceArgs) -> Result<SourceOptions, String> {
    let stall = inspect::parse_duration(&args.stall_timeout)?;
    if !(stall > 0.0 && stall.is_finite()) || args.attempts == 0 {
        return Err("--stall-timeout and --attempts must be positive".into());
    }
    let mut o = SourceOptions::new().retry(RetryPolicy {
        max_attempts: args.attempts,
        stall_timeout: std::time::Duration::from_secs_f64(stall),
        ..RetryPolicy::default()
    });
    if args.anonymous {
        o = o.anonymous(true);
    }
    if let Some(r) = &args.region {
        o = o.region(r.clone());
    }
    if let Some(e) = &args.endpoint {
        o = o.allow_http(e.starts_with("http://")).endpoint(e.clone());
    }
    Ok(o)
}

/// Runs the command; `--trace` and `--stats` report its requests even when it failed, which is
/// when they are most wanted.
fn run(cli: &Cli) -> Result<(), Box<dyn std::error::Error>> {
    let args = &cli.source;
    if args.stats || args.trace.is_some() {
        trace::start_session();
    }
    let result = run_command(cli);
    if let Some(path) = &args.trace {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        trace::write_csv(&mut out).and_then(|()| out.flush())?;
    }
    if let (true, Some(s)) = (args.stats, trace::summary()) {
        eprintln!(
            "stats: {} requests ({} retries), {} bytes fetched, {} bytes used, \
             {} round trips on the critical path, {:.3} s wall time",
            s.requests,
            s.retries,
            s.bytes_fetched,
            s.bytes_used,
            s.round_trips,
            s.wall.as_secs_f64()
        );
    }
    result
}

fn run_command(cli: &Cli) -> Result<(), Box<dyn std::error::Error>> {
    let opts = options(&cli.source)?;
    match &cli.command {
        Command::Subset(args) => subset::run(args, &opts, cli.source.stats)?,
        Command::Ls {
            recursive,
            long,
            source,
            object,
        } => {
            // A recursive listing visits every object; a group's listing opens its children.
            let access = if *recursive {
                Access::Walk
            } else {
                Access::Paths
            };
            let file = File::open_as(source, &opts, access)?;
            // A listing is thousands of lines: one write per line would cost more than the walk.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            ls::list(
                &file,
                object.as_deref().unwrap_or("/"),
                *recursive,
                *long,
                &mut out,
            )?;
            out.flush()?;
        }
        Command::Dump {
            skip_data, source, ..
        } => {
            let file = File::open_with(source, &opts)?;
            let m = manifest(
                &file,
                ManifestOptions {
                    data: !skip_data,
                    ..Default::default()
                },
            )?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", to_json(&m))?;
        }
        Command::Get {
            source,
            datasets,
            slice,
            format,
            output,
        } => {
            // A whole dataset's chunks can be fetched early, before the open has confirmed them.
            let file = match slice {
                None => File::open_to_read(source, &opts, datasets)?,
                Some(_) => File::open_as(source, &opts, Access::Paths)?,
            };
            let format = format.unwrap_or_else(|| get::Format::default_for(output.as_deref()));
            let mut out: Box<dyn Write> = match output {
                Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let result = get::get(&file, datasets, slice.as_deref(), format, &mut out);
            drop(out);
            if let (Err(_), Some(p)) = (&result, output) {
                // Leave no truncated output behind.
                let _ = std::fs::remove_file(p);
            }
            result?;
        }
        Command::Inspect {
            source,
            rtt,
            bandwidth,
            json,
            plot,
        } => {
            let params = inspect::params(rtt, bandwidth)?;
            let report = coh5::inspect::inspect_with(source, &opts, &params)?;
            let mut out = std::io::stdout().lock();
            if *json {
                writeln!(out, "{:#}", report.to_json())?;
            } else {
                inspect::print_text(&report, &mut out)?;
            }
            if let Some(path) = plot {
                let strip = coh5_plot::layout::Strip::from_report(&report);
                coh5_plot::layout::render(&strip)?.save_png(path)?;
            }
        }
    }
    Ok(())
}
