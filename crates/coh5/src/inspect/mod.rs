//! `coh5 inspect`: how cloud-ready a file is, what reading it will cost, and how to fix it —
//! from the file's own structure, without reading its raw data.
//!
//! The file is opened with a read log on its metadata source, then walked completely (every
//! object header, link, attribute, heap and chunk index). The log gives the exact metadata
//! extents ([`extents`]) and the read sequences the cost model ([`cost`]) prices; the chunk
//! indexes give the raw data layout ([`datasets`]); [`advice`] turns both into a verdict and an
//! `h5repack` command. The JSON form ([`Report::to_json`]) is the stable schema of
//! `docs/inspect-schema.md`.

pub mod advice;
mod alloc;
pub mod cost;
pub mod datasets;
pub mod extents;
pub mod facts;
mod json;
mod walk;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use coh5_io::{ByteSource, SourceOptions};

use crate::error::Result;
use crate::file::File;
use crate::runtime::block_on;

pub use advice::{Advice, Verdict};
pub use cost::{CostParams, Estimate};
pub use datasets::{ChunkSizes, DatasetFacts};
pub use extents::{Pages, Spread};
pub use facts::{FileSpaceFacts, FormatFacts};

/// How many of the largest datasets get a read-cost estimate.
pub const LARGEST: usize = 10;

/// Everything `coh5 inspect` reports about one file.
#[derive(Debug, Clone)]
pub struct Report {
    pub location: String,
    pub format: FormatFacts,
    pub file_space: FileSpaceFacts,
    pub metadata: MetadataFacts,
    /// Pages by content, for a paged file.
    pub pages: Option<Pages>,
    /// Every dataset, largest stored size first.
    pub datasets: Vec<DatasetFacts>,
    pub params: CostParams,
    pub open: ClientCosts,
    /// Whole-dataset read costs of the [`LARGEST`] datasets (by stored bytes), largest first.
    pub reads: Vec<(String, ClientCosts)>,
    pub advice: Advice,
    /// Objects that could not be decoded; they are left out of everything above.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MetadataFacts {
    pub spread: Spread,
    /// The merged byte ranges (absolute offsets).
    pub ranges: Vec<Range<u64>>,
    /// Raw data bytes of all datasets (chunks, contiguous blocks and compact data).
    pub raw_data_bytes: u64,
    /// Distinct metadata reads of the walk (what a client with a metadata cache requests).
    pub reads: u64,
    /// The longest chain of reads that each need the previous one.
    pub dependent_reads: u64,
    pub objects: u64,
    /// The block size coh5's metadata cache reads in.
    pub cache_block: u64,
}

/// Predicted cost of one task for both clients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientCosts {
    pub libhdf5: Estimate,
    pub coh5: Estimate,
}

/// Inspects a local path or URL (options from the environment, as [`File::open`]).
pub fn inspect(location: &str, params: &CostParams) -> Result<Report> {
    inspect_with(location, &SourceOptions::new(), params)
}

/// Inspects a path or URL reached with explicit source options.
pub fn inspect_with(
    location: &str,
    options: &SourceOptions,
    params: &CostParams,
) -> Result<Report> {
    let source = block_on(coh5_io::open(location, options))?;
    let file = File::open_source(source, options.clone(), true)?;
    report(&file, params)
}

/// Inspects a file held by any byte source.
pub fn inspect_source(source: Arc<dyn ByteSource>, params: &CostParams) -> Result<Report> {
    let file = File::open_source(source, SourceOptions::new(), true)?;
    report(&file, params)
}

fn report(file: &File, params: &CostParams) -> Result<Report> {
    let meta = &file.inner.meta;
    let file_size = coh5_format::ReadAt::size(meta);
    let walked = walk::walk(file)?;
    let mut errors = walked.errors;
    let mut datasets: Vec<DatasetFacts> = Vec::with_capacity(walked.datasets.len());
    let mut layouts = Vec::new();
    for d in &walked.datasets {
        if let Ok(l) = d.layout_message() {
            layouts.push(l);
        }
        let facts = datasets::examine(d);
        if let Some(e) = &facts.error {
            errors.push(e.clone());
        }
        datasets.push(facts);
    }
    let log = meta.log_from(0);
    let sb = file.superblock();
    let base = sb.ctx.base_address;

    // Speculatively read structures, cut to their real size.
    let mut exact: HashMap<u64, u64> = file
        .inner
        .decoded_headers()
        .into_iter()
        .map(|(addr, h)| (addr.saturating_add(base), h.chunk0_len))
        .collect();
    exact.insert(sb.offset, extents::superblock_len(sb));
    let mut sizer = alloc::Sizer::new(sb);
    let mut nodes: HashMap<u64, u64> = HashMap::new();
    for r in &log {
        // A cache hit: the walk has just read these bytes.
        let head = meta
            .fetch(r.start..r.end.min(r.start + 10))
            .unwrap_or_default();
        if let Some(len) = sizer.allocated(r, &head) {
            let e = nodes.entry(r.start).or_insert(0);
            *e = (*e).max(len);
        }
    }
    for (&start, &len) in &nodes {
        exact.entry(start).or_insert(len);
    }
    let ranges = extents::metadata_ranges(&log, sb.offset, &exact);

    let format = facts::format_facts(file, file_size, &layouts);
    let file_space = facts::file_space_facts(file);
    let first_page = file_space.page_size.unwrap_or(extents::BLOCK_4K);
    let spread = extents::spread(&ranges, first_page);
    let mut raw: Vec<Range<u64>> = datasets
        .iter()
        .flat_map(|d| d.raw_ranges.iter().cloned())
        .collect();
    raw.sort_by_key(|r| (r.start, r.end));
    let raw = extents::merge(raw);
    let pages = file_space
        .page_size
        .map(|p| extents::pages(&ranges, &raw, p, file_size));

    // Open and list: the reads up to the end of the object walk.
    let block = meta.block_size();
    let extension = {
        let sb = file.superblock();
        sb.extension.map(|a| sb.ctx.base_address.saturating_add(a))
    };
    let open_log = log.get(..walked.open_end).unwrap_or(&log);
    let prefetches: Vec<_> = meta
        .prefetches()
        .into_iter()
        .filter(|(at, _)| *at < open_log.len())
        .collect();
    let mut seen = HashSet::new();
    let mut cached = HashSet::new();
    // A listing through h5py opens every dataset, and libhdf5 reads the first structure of a
    // chunk index (B-tree root, array header) when it opens a chunked dataset; coh5 lists
    // without touching chunk indexes.
    let index_roots: Vec<Range<u64>> = datasets
        .iter()
        .filter_map(|d| log.get(d.index_reads.clone())?.first().cloned())
        .collect();
    let open = ClientCosts {
        libhdf5: cost::libhdf5_metadata(open_log, &mut seen, &nodes, params).plus(
            cost::libhdf5_metadata(&index_roots, &mut seen, &nodes, params),
        ),
        coh5: cost::coh5_first_read(block, file_size, extension, &mut cached, params).plus(
            cost::coh5_metadata(open_log, &prefetches, block, file_size, &mut cached, params),
        ),
    };
    let distinct: HashSet<(u64, u64)> = log.iter().map(|r| (r.start, r.end)).collect();

    for d in datasets.iter_mut().filter(|d| d.error.is_none()) {
        let index = log.get(d.index_reads.clone()).unwrap_or_default();
        let mut seen = seen.clone();
        let mut cached = cached.clone();
        d.read_cost = Some(ClientCosts {
            libhdf5: cost::libhdf5_metadata(index, &mut seen, &nodes, params)
                .plus(cost::libhdf5_data(&d.raw_ranges, params)),
            coh5: cost::coh5_metadata(index, &[], block, file_size, &mut cached, params)
                .plus(cost::coh5_data(&d.raw_ranges, params)),
        });
    }
    datasets.sort_by(|a, b| {
        b.stored_bytes
            .cmp(&a.stored_bytes)
            .then(a.path.cmp(&b.path))
    });
    let reads = datasets
        .iter()
        .filter(|d| d.stored_bytes > 0)
        .filter_map(|d| Some((d.path.clone(), d.read_cost?)))
        .take(LARGEST)
        .collect();

    let advice = advice::advise(&advice::Inputs {
        location: file.location(),
        file_size,
        page_size: file_space.page_size,
        metadata_bytes: spread.bytes,
        metadata_in_first_page: spread.in_first_page,
        datasets: &datasets,
        open_coh5: open.coh5,
        params,
    });
    Ok(Report {
        location: file.location().to_string(),
        format,
        file_space,
        metadata: MetadataFacts {
            spread,
            ranges,
            raw_data_bytes: datasets.iter().map(|d| d.stored_bytes).sum(),
            reads: distinct.len() as u64,
            dependent_reads: walked.dependent_reads as u64,
            objects: walked.objects as u64,
            cache_block: block,
        },
        pages,
        datasets,
        params: *params,
        open,
        reads,
        advice,
        errors,
    })
}
