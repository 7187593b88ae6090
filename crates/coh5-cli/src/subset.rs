//! `coh5 subset`: ICESat-2 ATL03 photons in a box from many granules, written as Parquet, CSV
//! or Arrow IPC, with a summary line per granule on stderr (and a progress bar when stderr is a
//! terminal). The work is the `coh5-icesat2` library's; this module parses arguments and writes
//! the record batches.
//!
//! A granule that fails is reported on its summary line and left out; the others are written
//! and the command then exits non-zero, so a script notices the gap while a long run over
//! hundreds of granules is not lost to one bad file.

use std::fs::File as FsFile;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use clap::Args;
use coh5::SourceOptions;
use coh5_icesat2::{
    granule_name, label, parse_levels, AnswerBytes, BBox, Beams, GranuleSubset, SignalConf, Subset,
    Surface, TimeRange,
};
use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::subset_plot::Plotter;

#[derive(Args)]
pub struct SubsetArgs {
    /// ATL03 granules: paths or URLs, or patterns naming many (s3://bucket/ATL03_*.h5, a
    /// prefix s3://bucket/dir/, local data/*.h5).
    #[arg(required = true)]
    sources: Vec<String>,
    /// The box W,S,E,N in degrees (W > E crosses the antimeridian).
    #[arg(long, allow_hyphen_values = true)]
    bbox: String,
    /// gt1l,gt2r,... | strong | weak | all (strong/weak follow /orbit_info/sc_orient).
    #[arg(long, default_value = "all")]
    beams: String,
    /// Photon variables (under heights/ unless a path) [default: lat_ph,lon_ph,h_ph,delta_time].
    #[arg(long, value_delimiter = ',')]
    vars: Option<Vec<String>>,
    /// Segment variables broadcast to photons (geolocation/ then geophys_corr/, or a path).
    #[arg(long, value_delimiter = ',')]
    segment_vars: Vec<String>,
    /// Keep photons whose signal_conf_ph is one of these levels, e.g. 3,4 (medium, high).
    #[arg(long)]
    signal_conf: Option<String>,
    /// Surface type for --signal-conf [default: the highest confidence over all surfaces].
    #[arg(long, requires = "signal_conf")]
    surface: Option<String>,
    /// Keep photons whose signal_class_ph (v7 granules only) is one of these, e.g. 3,4.
    #[arg(long)]
    signal_class: Option<String>,
    /// START,END as delta_time seconds or UTC dates (2019-01-01T00:00:00Z).
    #[arg(long, allow_hyphen_values = true)]
    time: Option<String>,
    /// Granules read at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Photon data held at once by all granules in flight, in MiB.
    #[arg(long, default_value_t = coh5_icesat2::DEFAULT_MEMORY_LIMIT >> 20)]
    memory_mib: u64,
    /// Output file: .parquet, .csv or .arrow.
    #[arg(short, long)]
    output: String,
    /// Also draw the photons (height along track by beam, or by confidence with
    /// --signal-conf, and a map of the box) to this PNG file.
    #[arg(long)]
    plot: Option<String>,
}

/// The output file formats, chosen by extension (boxed: one writer lives per run, and the
/// writers differ a lot in size).
enum Sink {
    Parquet(Box<ArrowWriter<FsFile>>),
    Csv(Box<CsvSink>),
    Arrow(Box<arrow_ipc::writer::FileWriter<BufWriter<FsFile>>>),
}

impl Sink {
    fn create(path: &str, schema: &Arc<Schema>) -> Result<Sink, Box<dyn std::error::Error>> {
        let ext = path.rsplit('.').next().unwrap_or("");
        let file = FsFile::create(path)?;
        Ok(match ext {
            "parquet" => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(Box::new(ArrowWriter::try_new(
                    file,
                    schema.clone(),
                    Some(props),
                )?))
            }
            "csv" => Sink::Csv(Box::new(CsvSink {
                out: BufWriter::new(file),
                header: true,
            })),
            "arrow" => Sink::Arrow(Box::new(arrow_ipc::writer::FileWriter::try_new(
                BufWriter::new(file),
                schema,
            )?)),
            _ => {
                return Err(
                    format!("{path}: the output must end in .parquet, .csv or .arrow").into(),
                )
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Sink::Parquet(w) => w.write(batch)?,
            Sink::Csv(w) => w.write(batch)?,
            Sink::Arrow(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Sink::Parquet(w) => {
                w.close()?;
            }
            Sink::Csv(mut w) => w.out.flush()?,
            Sink::Arrow(mut w) => {
                w.finish()?;
                w.into_inner()?.flush()?;
            }
        }
        Ok(())
    }
}

/// CSV output formatted in parallel: formatting numbers as text costs more than the whole
/// subset, so slices of rows are formatted on every core and written in order.
struct CsvSink {
    out: BufWriter<FsFile>,
    /// Whether the header line is still to be written.
    header: bool,
}

impl CsvSink {
    /// Rows per slice formatted by one task (a few MB of text).
    const SLICE_ROWS: usize = 32 * 1024;

    fn write(&mut self, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
        let slices: Vec<RecordBatch> = (0..batch.num_rows())
            .step_by(Self::SLICE_ROWS)
            .map(|start| batch.slice(start, Self::SLICE_ROWS.min(batch.num_rows() - start)))
            .collect();
        // A window of a few slices per thread bounds the text held at once.
        let window = 4 * rayon::current_num_threads().max(1);
        for group in slices.chunks(window) {
            let header = std::mem::take(&mut self.header);
            let texts: Vec<Result<Vec<u8>, arrow_schema::ArrowError>> = group
                .par_iter()
                .enumerate()
                .map(|(i, slice)| {
                    let mut w = arrow_csv::WriterBuilder::new()
                        .with_header(header && i == 0)
                        .build(Vec::new());
                    w.write(slice)?;
                    Ok(w.into_inner())
                })
                .collect();
            for text in texts {
                self.out.write_all(&text?)?;
            }
        }
        Ok(())
    }
}

fn request(a: &SubsetArgs, options: &SourceOptions) -> coh5_icesat2::Result<Subset> {
    let mut s = Subset::new(BBox::parse(&a.bbox)?)
        .beams(Beams::parse(&a.beams)?)
        .memory_limit(a.memory_mib.saturating_mul(1 << 20))
        .segment_vars(a.segment_vars.clone())
        .source_options(options.clone());
    if let Some(v) = &a.vars {
        s = s.vars(v.clone());
    }
    if let Some(levels) = &a.signal_conf {
        let surface = a.surface.as_deref().map(Surface::parse).transpose()?;
        s = s.signal_conf(SignalConf {
            levels: parse_levels(levels)?,
            surface,
        });
    }
    if let Some(levels) = &a.signal_class {
        s = s.signal_class(parse_levels(levels)?);
    }
    if let Some(t) = &a.time {
        s = s.time(TimeRange::parse(t)?);
    }
    Ok(s)
}

/// Runs the subset; fails when any granule failed (after all the others completed).
pub fn run(
    a: &SubsetArgs,
    options: &SourceOptions,
    stats: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    if !matches!(
        a.output.rsplit('.').next(),
        Some("parquet" | "csv" | "arrow")
    ) {
        return Err(format!(
            "{}: the output must end in .parquet, .csv or .arrow",
            a.output
        )
        .into());
    }
    let subset = request(a, options)?;
    let (mut plot, subset) = match &a.plot {
        Some(path) => {
            let b = BBox::parse(&a.bbox)?;
            let bbox = [b.west, b.south, b.east, b.north];
            let (p, s) = Plotter::new(
                path,
                subset,
                a.vars.as_deref(),
                bbox,
                a.signal_conf.is_some(),
            )?;
            (Some(p), s)
        }
        None => (None, subset),
    };
    let mut sources = Vec::new();
    for pattern in &a.sources {
        sources.extend(coh5::expand(pattern, options)?);
    }
    let total = sources.len();
    let granules: Vec<&str> = sources.iter().map(|s| granule_name(s)).collect();
    let bar = progress_bar(total);
    let mut sink: Option<(Sink, Arc<Schema>)> = None;
    let mut failed = 0usize;
    let mut rows = 0usize;
    let (mut bytes, mut requests, mut answer) = (0u64, 0u64, AnswerBytes::default());
    subset.run_many(&sources, a.jobs, |location, result| {
        let outcome = result.map_err(|e| e.to_string()).and_then(|mut g| {
            if let Some(p) = plot.as_mut() {
                p.collect(&mut g)?;
            }
            write_granule(&mut sink, &a.output, &g, &granules)
                .map_err(|e| e.to_string())
                .map(|()| g)
        });
        match outcome {
            Ok(g) => {
                rows += g.rows();
                bytes += g.stats.bytes;
                requests += g.stats.requests;
                answer.add(g.answer_bytes);
                report(&bar, summary(&g));
            }
            Err(e) => {
                failed += 1;
                report(&bar, format!("{location}: FAILED: {e}"));
            }
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let wrote = sink.is_some();
    if let Some((s, _)) = sink {
        s.finish()?;
    }
    if let Some(p) = plot.filter(|_| wrote) {
        p.finish()?;
    }
    if stats {
        eprintln!(
            "subset: {requests} requests, {bytes} bytes fetched; the answer's photon chunks and \
             segment arrays hold {} bytes ({} + {}): {:.3}x",
            answer.total(),
            answer.photon_chunks,
            answer.segment_arrays,
            ratio(bytes, answer.total())
        );
    }
    eprintln!(
        "{rows} photons from {} of {total} granules written to {}",
        total - failed,
        a.output
    );
    if !wrote {
        return Err("no granule could be subset; nothing written".into());
    }
    if failed > 0 {
        return Err(format!("{failed} of {total} granules failed").into());
    }
    Ok(())
}

/// A bar over the granules on a terminal, hidden otherwise.
fn progress_bar(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} granules, {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

/// A line on stderr, above the bar when it is drawn (a hidden bar prints nothing itself).
fn report(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Writes a granule's batches, creating the output with the first granule's schema. The
/// granule column is re-keyed against the names of all granules of the run, so every batch
/// carries one dictionary, as Arrow IPC files require.
fn write_granule(
    sink: &mut Option<(Sink, Arc<Schema>)>,
    output: &str,
    g: &GranuleSubset,
    granules: &[&str],
) -> Result<(), Box<dyn std::error::Error>> {
    if sink.is_none() {
        *sink = Some((Sink::create(output, &g.schema)?, g.schema.clone()));
    }
    let Some((s, schema)) = sink.as_mut() else {
        return Ok(());
    };
    if g.schema.fields() != schema.fields() {
        return Err(format!(
            "its columns ({}) differ from the first granule's ({}): subset v006 and v007 \
             granules separately",
            describe(&g.schema),
            describe(schema)
        )
        .into());
    }
    let name = granule_name(&g.location);
    let key = granules
        .iter()
        .position(|n| *n == name)
        .ok_or("the granule is not among the run's sources")?;
    for b in g.batches.iter().filter(|b| b.num_rows() > 0) {
        let mut columns = b.columns().to_vec();
        if let Some(c) = columns.first_mut() {
            *c = Arc::new(label(granules, key as i32, b.num_rows()));
        }
        s.write(&RecordBatch::try_new(b.schema(), columns)?)?;
    }
    Ok(())
}

fn describe(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per granule: photons kept per beam, bytes fetched, time.
fn summary(g: &GranuleSubset) -> String {
    let beams: Vec<String> = g
        .beams
        .iter()
        .map(|b| {
            if b.present {
                format!("{} {}/{}", b.beam, b.photons_kept, b.photons_read)
            } else {
                format!("{} absent", b.beam)
            }
        })
        .collect();
    format!(
        "{}: {} photons kept (kept/read: {}); {} requests, {} bytes fetched (segment index {}, \
         photons {}), {:.3}x the answer's {} bytes; {:.3} s",
        g.location,
        g.rows(),
        beams.join(", "),
        g.stats.requests,
        g.stats.bytes,
        g.segment_read.bytes,
        g.photon_read.bytes,
        ratio(g.stats.bytes, g.answer_bytes.total()),
        g.answer_bytes.total(),
        g.elapsed.as_secs_f64()
    )
}

/// Bytes fetched per byte an ideal reader needs (0 when nothing was needed).
fn ratio(fetched: u64, needed: u64) -> f64 {
    if needed == 0 {
        0.0
    } else {
        fetched as f64 / needed as f64
    }
}
