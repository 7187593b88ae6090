//! Verdict and recommendations of `coh5 inspect`: is the file cloud-optimized, and which
//! `h5repack` command makes it so, with the predicted file size and speed-up.
//!
//! A file is cloud-optimized when (1) its metadata is gathered in pages at the front — paged
//! aggregation with the metadata in the first page — so a client can fetch all of it in one or
//! a few requests, and (2) no dataset is split into many chunks too small to be worth a request
//! ([`SMALL_CHUNK`]). One of the two makes it partly optimized; neither, not optimized.

use std::collections::HashSet;

use super::cost::{coh5_first_read, CostParams, Estimate};
use super::datasets::{DatasetFacts, SMALL_CHUNK};

/// Share of the metadata that must lie in the first page for the metadata to count as gathered.
pub const FRONT_SHARE: f64 = 0.9;
/// Uncompressed chunk size that rechunking aims for: four times the small-chunk limit, so edge
/// effects of compression and partial chunks still leave every chunk above it.
pub const TARGET_CHUNK: u64 = 4 * SMALL_CHUNK;
/// Page sizes considered: 1 MiB (h5repack's practical minimum for cloud use) to 64 MiB.
const MIN_PAGE: u64 = 1 << 20;
const MAX_PAGE: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    CloudOptimized,
    Partly,
    Not,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::CloudOptimized => "cloud-optimized",
            Verdict::Partly => "partly",
            Verdict::Not => "not",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Advice {
    pub verdict: Verdict,
    /// Why, one finding per entry.
    pub reasons: Vec<String>,
    /// What to change, one entry each, most important first.
    pub recommendations: Vec<String>,
    /// The one command that applies the recommendations h5repack can apply.
    pub command: Option<String>,
    pub page_size: Option<u64>,
    /// Predicted size of the repacked file and its change in percent.
    pub predicted_size: Option<u64>,
    pub size_change_percent: Option<f64>,
    /// Predicted coh5 open-and-list time before / after the repack.
    pub open_speedup: Option<f64>,
}

/// What the advice is computed from.
pub(crate) struct Inputs<'a> {
    pub location: &'a str,
    pub file_size: u64,
    pub page_size: Option<u64>,
    pub metadata_bytes: u64,
    pub metadata_in_first_page: u64,
    pub datasets: &'a [DatasetFacts],
    pub open_coh5: Estimate,
    pub params: &'a CostParams,
}

pub(crate) fn advise(i: &Inputs) -> Advice {
    let mut reasons = Vec::new();
    let mut recommendations = Vec::new();
    let gathered = match i.page_size {
        None => {
            reasons.push(format!(
                "not paged: {} bytes of metadata are spread through the file",
                i.metadata_bytes
            ));
            false
        }
        Some(page) => {
            let share = share(i.metadata_in_first_page, i.metadata_bytes);
            if share >= FRONT_SHARE {
                reasons.push(format!(
                    "paged ({page}-byte pages) with {:.0} % of the metadata in the first page",
                    share * 100.0
                ));
                true
            } else {
                reasons.push(format!(
                    "paged ({page}-byte pages) but only {:.0} % of the metadata is in the first \
                     page: the page is too small for the metadata",
                    share * 100.0
                ));
                false
            }
        }
    };
    let small: Vec<&DatasetFacts> = i.datasets.iter().filter(|d| d.small_chunks).collect();
    if small.is_empty() {
        reasons.push(format!(
            "no dataset is split into chunks smaller than {} KiB",
            SMALL_CHUNK / 1024
        ));
    } else {
        let chunks: u64 = small.iter().map(|d| d.chunks).sum();
        reasons.push(format!(
            "{} datasets are split into {chunks} chunks smaller than {} KiB",
            small.len(),
            SMALL_CHUNK / 1024
        ));
    }
    let verdict = match (gathered, small.is_empty()) {
        (true, true) => Verdict::CloudOptimized,
        (false, false) => Verdict::Not,
        _ => Verdict::Partly,
    };

    let mut args = Vec::new();
    let mut page_size = None;
    if !gathered {
        let page = choose_page(i.metadata_bytes);
        page_size = Some(page);
        args.push(format!("-S PAGE -G {page}"));
        recommendations.push(format!(
            "gather the metadata in {page}-byte pages (the smallest power of two from 1 MiB that \
             holds all {} bytes of metadata with a quarter to spare)",
            i.metadata_bytes
        ));
    }
    let mut rechunk: Vec<(String, String)> = Vec::new();
    for d in &small {
        if let Some(spec) = rechunk_spec(d) {
            rechunk.push((d.path.clone(), spec));
        }
    }
    if !rechunk.is_empty() {
        // One -l per distinct chunk shape keeps the command short.
        let mut by_shape: Vec<(String, Vec<String>)> = Vec::new();
        for (path, spec) in rechunk {
            match by_shape.iter_mut().find(|(s, _)| *s == spec) {
                Some((_, paths)) => paths.push(path),
                None => by_shape.push((spec, vec![path])),
            }
        }
        for (spec, paths) in &by_shape {
            args.push(format!("-l {}:CHUNK={spec}", paths.join(",")));
        }
        recommendations.push(format!(
            "rechunk {} datasets to chunks of at least {} KiB (h5repack -l)",
            small.len(),
            TARGET_CHUNK / 1024
        ));
    }
    let compact: Vec<&str> = i
        .datasets
        .iter()
        .filter(|d| d.layout == "compact")
        .map(|d| d.path.as_str())
        .collect();
    if !compact.is_empty() {
        recommendations.push(format!(
            "optional: {} compact datasets live inside their object headers; `-l <paths>:CONTI` \
             makes them contiguous as ATL03 v007 did (no effect on request counts)",
            compact.len()
        ));
    }
    let unlimited = i
        .datasets
        .iter()
        .filter(|d| !d.unlimited_dims.is_empty())
        .count();
    if unlimited > 0 {
        recommendations.push(format!(
            "{unlimited} datasets have unlimited dimensions; if the file is final, writing them \
             with fixed maximum dimensions gives them a fixed-array chunk index (one read)"
        ));
    }
    let command = (!args.is_empty()).then(|| {
        format!(
            "h5repack {} {} repacked.h5",
            args.join(" "),
            shell_quote(i.location)
        )
    });
    let predicted_size = page_size.map(|page| predicted_size(i, page));
    let size_change_percent = predicted_size
        .filter(|_| i.file_size > 0)
        .map(|s| (s as f64 / i.file_size as f64 - 1.0) * 100.0);
    let open_speedup = page_size.zip(predicted_size).map(|(page, size)| {
        // After the repack the metadata fills the first pages, and coh5's cache blocks are
        // pages: the open reads page 0 (its speculative first read, then the rest of the page)
        // and each further metadata page is one more request.
        let mut after = coh5_first_read(page, size, None, &mut HashSet::new(), i.params);
        for _ in 1..i.metadata_bytes.div_ceil(page) {
            after.add_sequential(i.params, page);
        }
        i.open_coh5.seconds / after.seconds.max(f64::MIN_POSITIVE)
    });
    Advice {
        verdict,
        reasons,
        recommendations,
        command,
        page_size,
        predicted_size,
        size_change_percent,
        open_speedup,
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The page size for `h5repack -G`: a power of two holding all metadata with 25 % to spare (the
/// file-space managers that paging persists live there too), at least 1 MiB, at most 64 MiB.
pub fn choose_page(metadata_bytes: u64) -> u64 {
    let need = metadata_bytes.saturating_add(metadata_bytes / 4);
    need.clamp(MIN_PAGE, MAX_PAGE).next_power_of_two()
}

/// The `CHUNK=` value for a dataset with small chunks: the slowest dimension grown until a chunk
/// holds [`TARGET_CHUNK`] bytes, but not beyond the dataset's extent.
fn rechunk_spec(d: &DatasetFacts) -> Option<String> {
    let shape = d.chunk_shape.as_ref()?;
    let (first, rest) = shape.split_first()?;
    let row_bytes = rest
        .iter()
        .try_fold(d.element_size, |a, &n| a.checked_mul(n))?
        .max(1);
    let extent = d.shape.first().copied().unwrap_or(*first).max(1);
    let grown = TARGET_CHUNK
        .div_ceil(row_bytes)
        .max(*first)
        .min(extent.max(*first));
    let mut dims = vec![grown];
    dims.extend_from_slice(rest);
    Some(
        dims.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("x"),
    )
}

/// File size after `h5repack -S PAGE -G page`: whole pages of metadata, raw data pieces of a page
/// or more page-aligned, smaller pieces packed into whole pages.
fn predicted_size(i: &Inputs, page: u64) -> u64 {
    let meta = i.metadata_bytes.div_ceil(page).max(1) * page;
    let mut small = 0u64;
    let mut large = 0u64;
    for r in i.datasets.iter().flat_map(|d| &d.raw_ranges) {
        let len = r.end - r.start;
        if len >= page {
            large = large.saturating_add(len.div_ceil(page) * page);
        } else {
            small = small.saturating_add(len);
        }
    }
    meta.saturating_add(small.div_ceil(page) * page)
        .saturating_add(large)
}

/// Quotes a path for a POSIX shell when it holds anything but safe characters.
fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:+=@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_holds_metadata_with_headroom() {
        assert_eq!(choose_page(10_000), 1 << 20);
        assert_eq!(choose_page(3 << 20), 4 << 20);
        assert_eq!(choose_page(7 << 20), 16 << 20);
        assert_eq!(choose_page(u64::MAX / 2), 64 << 20);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b.h5"), "/a/b.h5");
        assert_eq!(shell_quote("a b'c"), "'a b'\\''c'");
    }
}
