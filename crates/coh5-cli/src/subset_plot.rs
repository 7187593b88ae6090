//! `coh5 subset --plot`: the columns the picture needs are added to the request, taken out of
//! each granule's batches before they are written (the output file is the same with or
//! without `--plot`), and gathered per beam for `coh5_plot::photons`.

use std::collections::BTreeMap;

use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, Int8Array, RecordBatch};
use arrow_schema::DataType;
use coh5_icesat2::{GranuleSubset, Subset, DEFAULT_VARS};
use coh5_plot::photons::{render, ColourBy, PhotonPlot, Track};

/// The photon variables the picture reads.
const NEEDED: [&str; 3] = ["lat_ph", "lon_ph", "h_ph"];

pub struct Plotter {
    path: String,
    bbox: [f64; 4],
    colour_by: ColourBy,
    /// Columns that are in the batches only for the picture.
    plot_only: Vec<String>,
    tracks: BTreeMap<String, Track>,
    granules: usize,
}

impl Plotter {
    /// A plot of `subset`'s photons to `path`; returns the request with what the plot reads
    /// added (`vars` as the user gave them). With a confidence filter, photons are coloured by
    /// confidence.
    pub fn new(
        path: &str,
        subset: Subset,
        vars: Option<&[String]>,
        bbox: [f64; 4],
        by_confidence: bool,
    ) -> Result<(Plotter, Subset), String> {
        if !path.to_ascii_lowercase().ends_with(".png") {
            return Err(format!("{path}: --plot writes a PNG file (name it *.png)"));
        }
        let mut vars: Vec<String> = match vars {
            Some(v) => v.to_vec(),
            None => DEFAULT_VARS.iter().map(|s| s.to_string()).collect(),
        };
        let mut plot_only = Vec::new();
        for n in NEEDED {
            if !vars.iter().any(|v| v == n) {
                vars.push(n.to_string());
                plot_only.push(n.to_string());
            }
        }
        let mut subset = subset.vars(vars);
        if by_confidence {
            subset = subset.conf_column(true);
            plot_only.push("signal_conf".into());
        }
        let plotter = Plotter {
            path: path.to_string(),
            bbox,
            colour_by: if by_confidence {
                ColourBy::Confidence
            } else {
                ColourBy::Beam
            },
            plot_only,
            tracks: BTreeMap::new(),
            granules: 0,
        };
        Ok((plotter, subset))
    }

    /// Takes one granule's photons for the picture and leaves only the requested columns in it.
    pub fn collect(&mut self, g: &mut GranuleSubset) -> Result<(), String> {
        for b in &g.batches {
            if b.num_rows() == 0 {
                continue;
            }
            let beams = b
                .column_by_name("beam")
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<arrow_array::DictionaryArray<arrow_array::types::Int32Type>>()
                })
                .ok_or("the subset has no beam column")?;
            let names = beams
                .values()
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .ok_or("the beam column does not hold names")?;
            let lat = floats(b, "lat_ph")?;
            let lon = floats(b, "lon_ph")?;
            let h = floats(b, "h_ph")?;
            let conf = match self.colour_by {
                ColourBy::Confidence => Some(levels(b)?),
                ColourBy::Beam => None,
            };
            for i in 0..b.num_rows() {
                let beam = names.value(beams.keys().value(i) as usize);
                let t = self
                    .tracks
                    .entry(beam.to_string())
                    .or_insert_with(|| Track {
                        beam: beam.to_string(),
                        conf: conf.as_ref().map(|_| Vec::new()),
                        ..Track::default()
                    });
                t.lat.push(lat[i]);
                t.lon.push(lon[i]);
                t.h.push(h[i]);
                if let (Some(tc), Some(c)) = (t.conf.as_mut(), conf.as_ref()) {
                    tc.push(c[i]);
                }
            }
        }
        self.granules += 1;
        if self.plot_only.is_empty() {
            return Ok(());
        }
        let keep: Vec<usize> = (0..g.schema.fields().len())
            .filter(|&i| !self.plot_only.contains(g.schema.field(i).name()))
            .collect();
        g.schema = std::sync::Arc::new(g.schema.project(&keep).map_err(|e| e.to_string())?);
        for b in &mut g.batches {
            *b = b.project(&keep).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Draws and writes the picture.
    pub fn finish(self) -> Result<(), Box<dyn std::error::Error>> {
        let photons: usize = self.tracks.values().map(|t| t.lat.len()).sum();
        let [w, s, e, n] = self.bbox;
        let plot = PhotonPlot {
            title: format!(
                "{photons} photons from {} granule{} in {w},{s},{e},{n}",
                self.granules,
                if self.granules == 1 { "" } else { "s" }
            ),
            bbox: self.bbox,
            tracks: self.tracks.into_values().collect(),
            colour_by: self.colour_by,
        };
        render(&plot)?.save_png(&self.path)?;
        eprintln!("plot written to {}", self.path);
        Ok(())
    }
}

fn floats(b: &RecordBatch, name: &str) -> Result<Vec<f64>, String> {
    let c: &ArrayRef = b
        .column_by_name(name)
        .ok_or_else(|| format!("the subset has no {name} column"))?;
    match c.data_type() {
        DataType::Float64 => c
            .as_any()
            .downcast_ref::<Float64Array>()
            .map(|a| a.values().to_vec()),
        DataType::Float32 => c
            .as_any()
            .downcast_ref::<Float32Array>()
            .map(|a| a.values().iter().map(|&v| f64::from(v)).collect()),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "{name} is {}, not a float column: cannot plot it",
            c.data_type()
        )
    })
}

fn levels(b: &RecordBatch) -> Result<Vec<i64>, String> {
    let c = b
        .column_by_name("signal_conf")
        .and_then(|c| c.as_any().downcast_ref::<Int8Array>())
        .ok_or("the subset has no signal_conf column")?;
    Ok((0..c.len())
        // A null is a value outside the product's levels; it gets the colour of no level.
        .map(|i| {
            if c.is_null(i) {
                i64::MIN
            } else {
                i64::from(c.value(i))
            }
        })
        .collect())
}
