//! `coh5 subset`: ICESat-2 ATL03 photons in a box from many granules, written as Parquet, CSV
//! or Arrow IPC, with a summary line per granule on stderr. The work is the `coh5-icesat2`
//! library's; this module parses arguments and writes the record batches.

use std::fs::File as FsFile;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use clap::Args;
use coh5::SourceOptions;
use coh5_icesat2::{
    parse_levels, BBox, Beams, GranuleSubset, SignalConf, Subset, Surface, TimeRange,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

#[derive(Args)]
pub struct SubsetArgs {
    /// ATL03 granules: paths or URLs.
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
    /// Output file: .parquet, .csv or .arrow.
    #[arg(short, long)]
    output: String,
}

/// The output file formats, chosen by extension (boxed: one writer lives per run, and the
/// writers differ a lot in size).
enum Sink {
    Parquet(Box<ArrowWriter<FsFile>>),
    Csv(Box<arrow_csv::Writer<BufWriter<FsFile>>>),
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
            "csv" => Sink::Csv(Box::new(arrow_csv::Writer::new(BufWriter::new(file)))),
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
            Sink::Csv(w) => w.into_inner().flush()?,
            Sink::Arrow(mut w) => {
                w.finish()?;
                w.into_inner()?.flush()?;
            }
        }
        Ok(())
    }
}

fn request(a: &SubsetArgs, options: &SourceOptions) -> coh5_icesat2::Result<Subset> {
    let mut s = Subset::new(BBox::parse(&a.bbox)?)
        .beams(Beams::parse(&a.beams)?)
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
pub fn run(a: &SubsetArgs, options: &SourceOptions) -> Result<(), Box<dyn std::error::Error>> {
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
    let total = a.sources.len();
    let progress = std::io::stderr().is_terminal();
    let mut sink: Option<(Sink, Arc<Schema>)> = None;
    let mut failed = 0usize;
    let mut done = 0usize;
    let mut rows = 0usize;
    subset.run_many(&a.sources, a.jobs, |location, result| {
        done += 1;
        let prefix = if progress {
            format!("[{done}/{total}] ")
        } else {
            String::new()
        };
        let outcome = result.map_err(|e| e.to_string()).and_then(|g| {
            write_granule(&mut sink, &a.output, &g)
                .map_err(|e| e.to_string())
                .map(|()| g)
        });
        match outcome {
            Ok(g) => {
                rows += g.rows();
                eprintln!("{prefix}{}", summary(&g));
            }
            Err(e) => {
                failed += 1;
                eprintln!("{prefix}{location}: FAILED: {e}");
            }
        }
    });
    let wrote = sink.is_some();
    if let Some((s, _)) = sink {
        s.finish()?;
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

/// Writes a granule's batches, creating the output with the first granule's schema.
fn write_granule(
    sink: &mut Option<(Sink, Arc<Schema>)>,
    output: &str,
    g: &GranuleSubset,
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
    for b in g.batches.iter().filter(|b| b.num_rows() > 0) {
        s.write(b)?;
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
         photons {}); {:.3} s",
        g.location,
        g.rows(),
        beams.join(", "),
        g.stats.requests,
        g.stats.bytes,
        g.segment_read.bytes,
        g.photon_read.bytes,
        g.elapsed.as_secs_f64()
    )
}
