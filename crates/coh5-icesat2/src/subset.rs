//! The [`Subset`] builder: which granules, box, beams, variables and filters; and its run over
//! one granule, planned in two reads.
//!
//! 1. The segment index (reference photon lat/lon, `ph_index_beg`, `segment_ph_cnt`,
//!    `delta_time`) of every chosen beam is read in one planned read.
//! 2. Each beam's plan ([`crate::plan`]) turns the box and time range into photon index ranges.
//! 3. Every photon variable (and the filters' variables) of every range of every beam, and the
//!    segment variables to broadcast, are read in a second planned read, so only the photon
//!    chunks that can hold an answer are fetched, all in the same batches of requests.
//! 4. Each photon read is tested exactly (lat/lon in the box, time, confidence, class) and the
//!    kept ones become one Arrow record batch per beam.
//!
//! Many granules run on a bounded number of worker threads ([`Subset::run_many`]); each granule's
//! result reaches the caller as soon as it is done. Memory is bounded twice: a worker waits for
//! the caller to take its result before starting another granule, and all workers share one
//! byte budget ([`Subset::memory_limit`]) that a granule takes from, once planned, for the
//! photon data it will hold, and gives back when its result is dropped.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, Int8Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{Field, Schema};
use coh5::format::message::layout::Layout;
use coh5::{DimSelection, File, Object, Selection, SourceOptions, StatsSnapshot};

use crate::answer::{self, AnswerBytes};
use crate::bbox::BBox;
use crate::beams::{Beams, BEAMS};
use crate::budget::{Budget, Permit};
use crate::column::Column;
use crate::error::{Error, Result};
use crate::filters::{SignalConf, TimeRange};
use crate::plan::{plan, BeamPlan, SegmentIndex, PAD_METRES};

/// The photon variables of the seed workflow, read when none are named.
pub const DEFAULT_VARS: [&str; 4] = ["lat_ph", "lon_ph", "h_ph", "delta_time"];

/// The segment index variables, under `geolocation/`.
const INDEX_VARS: [&str; 5] = [
    "reference_photon_lat",
    "reference_photon_lon",
    "ph_index_beg",
    "segment_ph_cnt",
    "delta_time",
];

/// A subset request. Build with [`Subset::new`] and the setters, run with [`Subset::open`],
/// [`Subset::run`] or [`Subset::run_many`].
#[derive(Debug, Clone)]
pub struct Subset {
    bbox: BBox,
    beams: Beams,
    vars: Vec<String>,
    segment_vars: Vec<String>,
    signal_conf: Option<SignalConf>,
    conf_column: bool,
    signal_class: Option<Vec<i64>>,
    time: Option<TimeRange>,
    options: SourceOptions,
    memory_limit: u64,
}

/// The default of [`Subset::memory_limit`]: room for a few granules' photons (a 10 % box of a
/// full granule holds a few hundred MB of photon columns) on a laptop.
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;

/// Bytes held per byte of photon data read: the raw read, its decoded columns and the record
/// batch built from them are alive together.
const MEMORY_PER_BYTE_READ: u64 = 3;

/// One granule's result.
#[derive(Debug)]
pub struct GranuleSubset {
    pub location: String,
    /// One batch per beam present (possibly with no rows), all with `schema`.
    pub batches: Vec<RecordBatch>,
    pub schema: Arc<Schema>,
    pub beams: Vec<BeamSummary>,
    /// Everything fetched for this granule, metadata included (and the open, when the
    /// granule was opened by [`Subset::open`]).
    pub stats: StatsSnapshot,
    /// What an ideal reader fetches for the same answer, to judge `stats.bytes` against.
    pub answer_bytes: AnswerBytes,
    /// Fetched by the segment-index read.
    pub segment_read: StatsSnapshot,
    /// Fetched by the photon read.
    pub photon_read: StatsSnapshot,
    pub elapsed: Duration,
    /// This granule's share of the run's memory budget, returned when the result is dropped.
    _permit: Option<Permit>,
}

impl GranuleSubset {
    /// Photons kept over all beams.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What happened on one beam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeamSummary {
    pub beam: String,
    /// False when the granule has no such beam group (real granules omit empty beams).
    pub present: bool,
    pub segments: u64,
    /// Segments whose reference track meets the box (before the one-segment margin).
    pub candidate_segments: u64,
    pub photons: u64,
    pub photons_read: u64,
    pub photons_kept: u64,
}

/// The datasets of one present beam.
struct BeamSets {
    name: String,
    n_photons: u64,
    /// Photon chunk length (0 for unchunked data): ranges closer than this are read as one.
    merge_gap: u64,
    index: Vec<coh5::Dataset>,
    /// Aligned with `Request::photon_vars`.
    photon: Vec<coh5::Dataset>,
    conf: Option<coh5::Dataset>,
    /// Aligned with `Subset::segment_vars`.
    segment: Vec<coh5::Dataset>,
}

impl BeamSets {
    /// Bytes read per photon: one element of every photon variable and the confidence row.
    fn photon_bytes(&self) -> Result<u64> {
        let mut n = 0u64;
        for d in self.photon.iter().chain(&self.conf) {
            let width: u64 = d.shape()?.iter().skip(1).product();
            n = n.saturating_add(u64::from(d.datatype()?.size).saturating_mul(width.max(1)));
        }
        Ok(n)
    }

    /// What an ideal reader fetches for this beam's answer: the chunks holding the kept photons
    /// (`keep` indexes `photon_index`, the photons read) and the segment arrays.
    fn answer_bytes(
        &self,
        p: &BeamPlan,
        keep: &[usize],
        photon_index: &[u64],
    ) -> Result<AnswerBytes> {
        let kept: Vec<u64> = keep
            .iter()
            .filter_map(|&i| photon_index.get(i).copied())
            .collect();
        let mut a = AnswerBytes::default();
        for d in self.photon.iter().chain(&self.conf) {
            a.photon_chunks += answer::holding(d, &kept)?;
        }
        for d in &self.index {
            a.segment_arrays += answer::spanning(d, 0..one_dim(d, None)?)?;
        }
        for d in &self.segment {
            a.segment_arrays += answer::spanning(d, p.segment_rows.clone())?;
        }
        Ok(a)
    }
}

/// What is read per photon range: the output variables, then what only the filters need.
struct Request {
    photon_vars: Vec<String>,
    /// How many of `photon_vars` are output columns (the rest feed filters).
    outputs: usize,
    lat: usize,
    lon: usize,
    time: Option<usize>,
    class: Option<usize>,
}

impl Subset {
    /// A subset of all beams in `bbox`, with the photon variables of [`DEFAULT_VARS`].
    pub fn new(bbox: BBox) -> Subset {
        Subset {
            bbox,
            beams: Beams::All,
            vars: DEFAULT_VARS.iter().map(|s| s.to_string()).collect(),
            segment_vars: Vec::new(),
            signal_conf: None,
            conf_column: false,
            signal_class: None,
            time: None,
            options: SourceOptions::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }

    /// Bytes of photon data that the granules of [`Subset::run_many`] hold at once, together
    /// (estimated from each granule's plan before its photons are read).
    pub fn memory_limit(mut self, bytes: u64) -> Subset {
        self.memory_limit = bytes;
        self
    }

    pub fn beams(mut self, beams: Beams) -> Subset {
        self.beams = beams;
        self
    }

    /// Photon-rate variables to output: names under `heights/` (`h_ph`) or paths relative to
    /// the beam group. Each must be 1-D with one element per photon.
    pub fn vars<S: Into<String>>(mut self, vars: impl IntoIterator<Item = S>) -> Subset {
        self.vars = vars.into_iter().map(Into::into).collect();
        self
    }

    /// Segment-rate variables broadcast to every photon of their segment: names looked up in
    /// `geolocation/` then `geophys_corr/`, or paths relative to the beam group.
    pub fn segment_vars<S: Into<String>>(mut self, vars: impl IntoIterator<Item = S>) -> Subset {
        self.segment_vars = vars.into_iter().map(Into::into).collect();
        self
    }

    pub fn signal_conf(mut self, conf: SignalConf) -> Subset {
        self.signal_conf = Some(conf);
        self
    }

    /// Keep photons whose v7 `signal_class_ph` is one of `levels` (an error on v6 granules).
    /// Adds a `signal_conf` column (Int8) holding the level the confidence filter tested: the
    /// chosen surface's, or the highest over all surfaces. Needs [`Subset::signal_conf`].
    pub fn conf_column(mut self, on: bool) -> Subset {
        self.conf_column = on;
        self
    }

    pub fn signal_class(mut self, levels: Vec<i64>) -> Subset {
        self.signal_class = Some(levels);
        self
    }

    pub fn time(mut self, range: TimeRange) -> Subset {
        self.time = Some(range);
        self
    }

    /// How URLs are opened (credentials, endpoint, anonymous access).
    pub fn source_options(mut self, options: SourceOptions) -> Subset {
        self.options = options;
        self
    }

    /// Opens a path or URL and subsets it.
    pub fn open(&self, location: &str) -> Result<GranuleSubset> {
        self.open_within(location, None)
    }

    fn open_within(&self, location: &str, budget: Option<&Arc<Budget>>) -> Result<GranuleSubset> {
        // A subset needs the metadata of a few beams' datasets, not all of a granule's.
        let file = File::open_sparse(location, &self.options)?;
        let mut g = self.run_within(&file, budget)?;
        g.stats = file.source().stats().snapshot();
        Ok(g)
    }

    /// Subsets every location with up to `jobs` granules in flight, handing each result to
    /// `sink` on the calling thread as it completes (in completion order). A failing granule
    /// is handed over as its error; the others go on.
    pub fn run_many(
        &self,
        locations: &[String],
        jobs: usize,
        mut sink: impl FnMut(&str, Result<GranuleSubset>),
    ) {
        let jobs = jobs.clamp(1, locations.len().max(1));
        let next = AtomicUsize::new(0);
        let budget = Budget::new(self.memory_limit);
        let budget = &budget;
        // A rendezvous channel: a finished worker waits for the sink before starting again,
        // which bounds memory to one granule per worker.
        let (tx, rx) = std::sync::mpsc::sync_channel(0);
        std::thread::scope(|s| {
            for _ in 0..jobs {
                let tx = tx.clone();
                let next = &next;
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(location) = locations.get(i) else {
                        break;
                    };
                    if tx
                        .send((i, self.open_within(location, Some(budget))))
                        .is_err()
                    {
                        break;
                    }
                });
            }
            drop(tx);
            for (i, result) in rx {
                if let Some(location) = locations.get(i) {
                    sink(location, result);
                }
            }
        });
    }

    /// Subsets one open granule.
    pub fn run(&self, file: &File) -> Result<GranuleSubset> {
        self.run_within(file, None)
    }

    fn run_within(&self, file: &File, budget: Option<&Arc<Budget>>) -> Result<GranuleSubset> {
        let started = Instant::now();
        let stats = || file.source().stats().snapshot();
        let at_start = stats();
        let request = self.request()?;
        let names = self.choose_beams(file)?;
        // Beams are opened side by side: in a file without pages each opening is a chain of
        // dependent metadata reads, and the chains then cost one beam's round trips, not
        // their sum.
        let opened = side_by_side(&names, |name| self.open_beam(file, name, &request));
        let mut summaries = Vec::new();
        let mut sets = Vec::new();
        for (name, opened) in names.iter().zip(opened) {
            match opened? {
                Some(s) => sets.push(s),
                None => summaries.push(BeamSummary {
                    beam: name.clone(),
                    present: false,
                    segments: 0,
                    candidate_segments: 0,
                    photons: 0,
                    photons_read: 0,
                    photons_kept: 0,
                }),
            }
        }
        if sets.is_empty() {
            return Err(Error::Granule {
                location: file.location().to_string(),
                path: "/".into(),
                detail: format!("none of the beams {} is present", names.join(", ")),
            });
        }

        // Read 1: the segment index of every beam.
        let before_segments = stats();
        let sels: Vec<Selection> = sets
            .iter()
            .flat_map(|s| s.index.iter())
            .map(|d| d.shape().map(|shape| Selection::all(&shape)))
            .collect::<coh5::Result<_>>()?;
        let items: Vec<(&coh5::Dataset, &Selection)> = sets
            .iter()
            .flat_map(|s| s.index.iter())
            .zip(&sels)
            .collect();
        let mut index_cols = file
            .read_many(&items)?
            .iter()
            .map(Column::from_raw)
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        let segment_read = stats().since(&before_segments);
        let padded = self.bbox.padded(PAD_METRES);
        let mut plans = Vec::new();
        for s in &sets {
            let mut next = || index_cols.next().unwrap_or(Column::F64(Vec::new()));
            let ix = SegmentIndex {
                lat: next().to_f64(),
                lon: next().to_f64(),
                ph_index_beg: next().to_i64(),
                segment_ph_cnt: next().to_i64(),
                delta_time: next().to_f64(),
            };
            let time = self.time.map(|t| (t.start, t.end));
            let p = plan(&ix, s.n_photons, &padded, time, s.merge_gap).map_err(|detail| {
                Error::Granule {
                    location: file.location().to_string(),
                    path: format!("/{}/geolocation", s.name),
                    detail,
                }
            })?;
            plans.push((p, ix.lat.len() as u64));
        }

        // Read 2: every range of every photon variable of every beam, and the segment rows.
        let mut planned = 0u64;
        for (s, (p, _)) in sets.iter().zip(&plans) {
            planned = planned.saturating_add(p.photons().saturating_mul(s.photon_bytes()?));
        }
        let permit = budget.map(|b| b.acquire(planned.saturating_mul(MEMORY_PER_BYTE_READ)));
        let before_photons = stats();
        let mut wanted: Vec<(&coh5::Dataset, Selection)> = Vec::new();
        for (s, (p, _)) in sets.iter().zip(&plans) {
            for r in &p.ranges {
                for d in &s.photon {
                    wanted.push((
                        d,
                        Selection {
                            dims: vec![strided(r)],
                        },
                    ));
                }
                if let Some(d) = &s.conf {
                    let cols = match self.signal_conf.as_ref().and_then(|c| c.surface) {
                        Some(surface) => surface.column()..surface.column() + 1,
                        None => 0..d.shape()?.get(1).copied().unwrap_or(0),
                    };
                    wanted.push((
                        d,
                        Selection {
                            dims: vec![strided(r), strided(&cols)],
                        },
                    ));
                }
            }
            if !p.segment_rows.is_empty() {
                for d in &s.segment {
                    wanted.push((
                        d,
                        Selection {
                            dims: vec![strided(&p.segment_rows)],
                        },
                    ));
                }
            }
        }
        let items: Vec<(&coh5::Dataset, &Selection)> =
            wanted.iter().map(|(d, sel)| (*d, sel)).collect();
        let mut raws = file.read_many(&items)?.into_iter();
        let photon_read = stats().since(&before_photons);

        let mut batches = Vec::new();
        let mut answer_bytes = AnswerBytes::default();
        for (s, (p, n_segments)) in sets.iter().zip(&plans) {
            let mut cols = s
                .photon
                .iter()
                .map(|d| Column::empty(&d.datatype()?).map_err(|e| granule_err(d, e)))
                .collect::<Result<Vec<_>>>()?;
            let mut conf: Vec<i64> = Vec::new();
            for _ in &p.ranges {
                for c in cols.iter_mut() {
                    let raw = raws
                        .next()
                        .ok_or_else(|| granule_err(&s.photon[0], "read lost"))?;
                    c.append(Column::from_raw(&raw)?)
                        .map_err(|e| granule_err(raw.dataset(), e))?;
                }
                if s.conf.is_some() {
                    let raw = raws
                        .next()
                        .ok_or_else(|| granule_err(&s.photon[0], "read lost"))?;
                    let width = raw.shape.get(1).copied().unwrap_or(1).max(1) as usize;
                    let v = Column::from_raw(&raw)?.to_i64();
                    conf.extend(
                        v.chunks(width)
                            .map(|row| row.iter().copied().max().unwrap_or(-1)),
                    );
                }
            }
            let mut segs = Vec::new();
            if !p.segment_rows.is_empty() {
                for _ in &s.segment {
                    let raw = raws
                        .next()
                        .ok_or_else(|| granule_err(&s.photon[0], "read lost"))?;
                    segs.push(Column::from_raw(&raw)?);
                }
            } else {
                for d in &s.segment {
                    segs.push(Column::empty(&d.datatype()?).map_err(|e| granule_err(d, e))?);
                }
            }
            let keep = self.keep(&request, &cols, &conf);
            let photon_index: Vec<u64> = p.ranges.iter().flat_map(Range::clone).collect();
            answer_bytes.add(s.answer_bytes(p, &keep, &photon_index)?);
            summaries.push(BeamSummary {
                beam: s.name.clone(),
                present: true,
                segments: *n_segments,
                candidate_segments: p.candidates as u64,
                photons: s.n_photons,
                photons_read: p.photons(),
                photons_kept: keep.len() as u64,
            });
            batches.push(self.batch(
                file.location(),
                s,
                &request,
                p,
                &keep,
                &photon_index,
                cols,
                &conf,
                segs,
            )?);
        }
        summaries.sort_by_key(|b| names.iter().position(|n| *n == b.beam));
        let schema = batches
            .first()
            .map(RecordBatch::schema)
            .unwrap_or_else(|| Arc::new(Schema::empty()));
        Ok(GranuleSubset {
            location: file.location().to_string(),
            batches,
            schema,
            beams: summaries,
            stats: stats().since(&at_start),
            answer_bytes,
            segment_read,
            photon_read,
            elapsed: started.elapsed(),
            _permit: permit,
        })
    }

    /// The chosen beam names. Strong and weak beams are told by each beam group's
    /// `atlas_beam_type` attribute ("strong"/"weak"), metadata the open has at hand; a granule
    /// without it on every beam falls back to `/orbit_info/sc_orient`, one more dependent read.
    fn choose_beams(&self, file: &File) -> Result<Vec<String>> {
        let want = match self.beams {
            Beams::Strong => "strong",
            Beams::Weak => "weak",
            _ => return self.beams.resolve(None).map_err(Error::Request),
        };
        // The six group headers are read side by side (a round trip each in a file without
        // pages).
        let types = side_by_side(&BEAMS, |b| beam_type(file, b));
        if types.iter().all(Option::is_some) {
            return Ok(BEAMS
                .iter()
                .zip(&types)
                .filter(|(_, t)| t.as_deref() == Some(want))
                .map(|(b, _)| b.to_string())
                .collect());
        }
        let d = dataset(file, "/orbit_info/sc_orient")?;
        let v = Column::from_raw(&d.read_array(&Selection::all(&d.shape()?))?)?.to_i64();
        let sc_orient = v
            .first()
            .copied()
            .ok_or_else(|| granule_err(&d, "sc_orient is empty"))?;
        self.beams
            .resolve(Some(sc_orient))
            .map_err(|detail| Error::Granule {
                location: file.location().to_string(),
                path: "/orbit_info/sc_orient".into(),
                detail,
            })
    }

    /// The photon variables to read and where the filters find theirs.
    fn request(&self) -> Result<Request> {
        let mut photon_vars: Vec<String> = Vec::new();
        for v in &self.vars {
            if photon_vars.contains(v) {
                return Err(Error::Request(format!("variable {v} named twice")));
            }
            photon_vars.push(v.clone());
        }
        let outputs = photon_vars.len();
        let mut need = |name: &str| match photon_vars.iter().position(|v| v == name) {
            Some(i) => i,
            None => {
                photon_vars.push(name.to_string());
                photon_vars.len() - 1
            }
        };
        let lat = need("lat_ph");
        let lon = need("lon_ph");
        let time = self.time.map(|_| need("delta_time"));
        let class = self.signal_class.as_ref().map(|_| need("signal_class_ph"));
        Ok(Request {
            photon_vars,
            outputs,
            lat,
            lon,
            time,
            class,
        })
    }

    /// The datasets of one beam, checked for shape; `None` when the beam group is absent.
    fn open_beam(&self, file: &File, beam: &str, request: &Request) -> Result<Option<BeamSets>> {
        match file.object(&format!("/{beam}")) {
            Ok(_) => {}
            Err(coh5::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let index = INDEX_VARS
            .iter()
            .map(|v| dataset(file, &format!("/{beam}/geolocation/{v}")))
            .collect::<Result<Vec<_>>>()?;
        let n_segments = one_dim(&index[0], None)?;
        for d in &index[1..] {
            one_dim(d, Some(n_segments))?;
        }
        let lat_path = format!("/{beam}/heights/lat_ph");
        let lat = dataset(file, &lat_path)?;
        let n_photons = one_dim(&lat, None)?;
        let merge_gap = match lat.layout()? {
            Layout::Chunked { chunk_dims, .. } => chunk_dims.first().copied().unwrap_or(0),
            _ => 0,
        };
        let mut photon = Vec::new();
        for v in &request.photon_vars {
            let path = beam_path(beam, v, "heights");
            let d = match dataset(file, &path) {
                Err(Error::Read(coh5::Error::NotFound { .. })) if v == "signal_class_ph" => {
                    return Err(Error::Request(format!(
                        "{}: {path} does not exist: signal_class_ph is a v007 variable; on \
                         v006 granules filter with signal_conf_ph (--signal-conf) instead",
                        file.location()
                    )))
                }
                other => other?,
            };
            one_dim(&d, Some(n_photons))?;
            Column::empty(&d.datatype()?).map_err(|e| granule_err(&d, e))?;
            photon.push(d);
        }
        let conf = match &self.signal_conf {
            Some(_) => {
                let d = dataset(file, &format!("/{beam}/heights/signal_conf_ph"))?;
                let shape = d.shape()?;
                if shape.len() != 2 || shape[0] != n_photons || shape[1] != 5 {
                    return Err(granule_err(
                        &d,
                        format!("shape {shape:?}, expected [{n_photons}, 5]"),
                    ));
                }
                Some(d)
            }
            None => None,
        };
        let mut segment = Vec::new();
        for v in &self.segment_vars {
            let d = if v.contains('/') {
                dataset(file, &format!("/{beam}/{v}"))?
            } else {
                match dataset(file, &format!("/{beam}/geolocation/{v}")) {
                    Err(Error::Read(coh5::Error::NotFound { .. })) => {
                        dataset(file, &format!("/{beam}/geophys_corr/{v}"))?
                    }
                    other => other?,
                }
            };
            one_dim(&d, Some(n_segments))?;
            Column::empty(&d.datatype()?).map_err(|e| granule_err(&d, e))?;
            segment.push(d);
        }
        Ok(Some(BeamSets {
            name: beam.to_string(),
            n_photons,
            merge_gap,
            index,
            photon,
            conf,
            segment,
        }))
    }

    /// Rows (of the photons read) that pass every test.
    fn keep(&self, request: &Request, cols: &[Column], conf: &[i64]) -> Vec<usize> {
        let lat = cols[request.lat].to_f64();
        let lon = cols[request.lon].to_f64();
        let time = request.time.map(|i| cols[i].to_f64());
        let class = request.class.map(|i| cols[i].to_i64());
        (0..lat.len())
            .filter(|&i| {
                self.bbox.contains(lat[i], lon[i])
                    && match (&self.time, &time) {
                        (Some(t), Some(v)) => v[i] >= t.start && v[i] <= t.end,
                        _ => true,
                    }
                    && match &self.signal_conf {
                        Some(c) => conf.get(i).is_some_and(|v| c.levels.contains(v)),
                        None => true,
                    }
                    && match (&self.signal_class, &class) {
                        (Some(levels), Some(v)) => levels.contains(&v[i]),
                        _ => true,
                    }
            })
            .collect()
    }

    /// The record batch of one beam's kept photons.
    #[allow(clippy::too_many_arguments)]
    fn batch(
        &self,
        location: &str,
        s: &BeamSets,
        request: &Request,
        p: &BeamPlan,
        keep: &[usize],
        photon_index: &[u64],
        cols: Vec<Column>,
        conf: &[i64],
        segs: Vec<Column>,
    ) -> Result<RecordBatch> {
        let n = keep.len();
        let mut fields = vec![
            Field::new("granule", label_type(), false),
            Field::new("beam", label_type(), false),
            Field::new("photon_index", arrow_schema::DataType::UInt64, false),
        ];
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(label(&[granule_name(location)], 0, n)),
            // Beam names come from BEAMS; another name would get a dictionary of its own.
            Arc::new(match BEAMS.iter().position(|b| *b == s.name) {
                Some(k) => label(&BEAMS, k as i32, n),
                None => label(&[&s.name], 0, n),
            }),
            Arc::new(UInt64Array::from_iter_values(
                keep.iter().filter_map(|&i| photon_index.get(i).copied()),
            )),
        ];
        for (name, col) in request.photon_vars[..request.outputs].iter().zip(cols) {
            let a = col.take(keep).into_arrow();
            fields.push(Field::new(column_name(name), a.data_type().clone(), false));
            arrays.push(a);
        }
        if self.conf_column && self.signal_conf.is_some() {
            // Levels are −2…4 in the product; anything outside i8 was not a level.
            let levels = keep
                .iter()
                .map(|&i| conf.get(i).and_then(|&v| i8::try_from(v).ok()));
            fields.push(Field::new(
                "signal_conf",
                arrow_schema::DataType::Int8,
                true,
            ));
            arrays.push(Arc::new(Int8Array::from_iter(levels)));
        }
        if !self.segment_vars.is_empty() {
            let of_photon = p.photon_segments();
            let rows: Vec<Option<usize>> = keep
                .iter()
                .map(|&i| of_photon.get(i).copied().flatten().map(|r| r as usize))
                .collect();
            for (name, col) in self.segment_vars.iter().zip(segs) {
                let a = col.to_arrow_opt(&rows);
                let mut column = column_name(name).to_string();
                if fields.iter().any(|f| f.name() == &column) {
                    column = format!("segment_{column}");
                }
                fields.push(Field::new(column, a.data_type().clone(), true));
                arrays.push(a);
            }
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| Error::Request(format!("{location}: {e}")))
    }
}

/// The file name of a path or URL, which is how granules are named (ATL03_<time>_<rgt>...).
pub fn granule_name(location: &str) -> &str {
    location.rsplit(['/', '\\']).next().unwrap_or(location)
}

/// The column of a variable: its last path component.
fn column_name(var: &str) -> &str {
    var.rsplit('/').next().unwrap_or(var)
}

/// `/beam/<default group>/name`, or `/beam/name` when `name` is already a relative path.
fn beam_path(beam: &str, name: &str, group: &str) -> String {
    if name.contains('/') {
        format!("/{beam}/{}", name.trim_start_matches('/'))
    } else {
        format!("/{beam}/{group}/{name}")
    }
}

fn strided(r: &Range<u64>) -> DimSelection {
    DimSelection::Strided {
        start: r.start,
        count: r.end.saturating_sub(r.start),
        step: 1,
    }
}

/// The Arrow type of the granule and beam columns: dictionary-encoded text, four bytes a row
/// instead of the text and its offset (pandas reads them as categoricals).
pub fn label_type() -> arrow_schema::DataType {
    arrow_schema::DataType::Dictionary(
        Box::new(arrow_schema::DataType::Int32),
        Box::new(arrow_schema::DataType::Utf8),
    )
}

/// A label column of `rows` rows all holding `names[key]`. The beam column's dictionary is all
/// six beams, the same in every batch, as Arrow IPC files require.
pub fn label(names: &[&str], key: i32, rows: usize) -> DictionaryArray<Int32Type> {
    DictionaryArray::new(
        Int32Array::from(vec![key; rows]),
        Arc::new(StringArray::from(names.to_vec())),
    )
}

/// `f` of every item, each on its own thread: the items' metadata reads (dependent chains in
/// a file without pages) then wait on the store together. Results are in item order.
fn side_by_side<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items.iter().map(|x| scope.spawn(move || f(x))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A beam group's `atlas_beam_type` ("strong" or "weak"), if the group exists and holds it as
/// a fixed-length string.
fn beam_type(file: &File, beam: &str) -> Option<String> {
    let attrs = file.object(&format!("/{beam}")).ok()?.attributes().ok()?;
    let a = attrs.iter().find(|a| a.name == b"atlas_beam_type")?;
    let text = std::str::from_utf8(&a.data).ok()?;
    let t = text.trim_end_matches(['\0', ' ']);
    matches!(t, "strong" | "weak").then(|| t.to_string())
}

fn dataset(file: &File, path: &str) -> Result<coh5::Dataset> {
    match file.object(path)? {
        Object::Dataset(d) => Ok(d),
        _ => Err(Error::Granule {
            location: file.location().to_string(),
            path: path.to_string(),
            detail: "not a dataset".into(),
        }),
    }
}

/// The length of a 1-D dataset, checked against `expected`.
fn one_dim(d: &coh5::Dataset, expected: Option<u64>) -> Result<u64> {
    let shape = d.shape()?;
    match (shape.as_slice(), expected) {
        (&[n], None) => Ok(n),
        (&[n], Some(e)) if n == e => Ok(n),
        (_, e) => Err(granule_err(
            d,
            format!(
                "shape {shape:?}, expected one dimension{}",
                e.map(|e| format!(" of {e}")).unwrap_or_default()
            ),
        )),
    }
}

fn granule_err(d: &coh5::Dataset, detail: impl Into<String>) -> Error {
    Error::Granule {
        location: d.file().location().to_string(),
        path: d.path().to_string(),
        detail: detail.into(),
    }
}
