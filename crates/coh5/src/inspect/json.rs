//! The JSON form of a [`Report`]: the stable schema documented in `docs/inspect-schema.md`.
//! Keys are only ever added; `schema` changes when one is renamed or changes meaning.

use serde_json::{json, Value};

use super::{ClientCosts, Estimate, Report};

/// Version of the schema below.
pub const SCHEMA: u32 = 1;

impl Report {
    pub fn to_json(&self) -> Value {
        let f = &self.format;
        let fs = &self.file_space;
        let m = &self.metadata;
        let s = &m.spread;
        let a = &self.advice;
        json!({
            "schema": SCHEMA,
            "location": self.location,
            "format": {
                "file_size": f.file_size,
                "userblock": f.userblock,
                "superblock_version": f.superblock_version,
                "object_header_versions": f.object_header_versions.iter()
                    .map(|(v, n)| (v.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "layout_versions": f.layout_versions.iter()
                    .map(|(v, n)| (v.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "min_library": f.min_library,
                "checksums": f.checksums,
            },
            "file_space": {
                "strategy": fs.strategy,
                "stored": fs.stored,
                "persist": fs.persist,
                "threshold": fs.threshold,
                "page_size": fs.page_size,
                "pages": self.pages.as_ref().map(|p| json!({
                    "total": p.total,
                    "metadata": p.metadata,
                    "raw_data": p.raw_data,
                    "mixed": p.mixed,
                    "empty": p.empty,
                    "unused_bytes": p.unused_bytes,
                })),
            },
            "metadata": {
                "bytes": s.bytes,
                "ranges": s.ranges,
                "blocks_4k": s.blocks_4k,
                "in_first_page": s.in_first_page,
                "in_first_8mib": s.in_first_8mib,
                "last_byte": s.last_byte,
                "raw_data_bytes": m.raw_data_bytes,
                "reads": m.reads,
                "dependent_reads": m.dependent_reads,
                "objects": m.objects,
                "cache_block": m.cache_block,
                "extents": m.ranges.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
            },
            "datasets": self.datasets.iter().map(|d| json!({
                "path": d.path,
                "layout": d.layout,
                "chunk_index": d.chunk_index,
                "shape": d.shape,
                "unlimited_dims": d.unlimited_dims,
                "element_size": d.element_size,
                "chunk_shape": d.chunk_shape,
                "chunk_bytes": d.chunk_bytes,
                "chunks": d.chunks,
                "chunk_sizes": d.chunk_sizes.as_ref().map(|c| json!({
                    "min": c.min, "median": c.median, "max": c.max,
                })),
                "stored_bytes": d.stored_bytes,
                "logical_bytes": d.logical_bytes,
                "filters": d.filters,
                "compression_ratio": d.compression_ratio,
                "small_chunks": d.small_chunks,
                "read_cost": d.read_cost.as_ref().map(costs),
                "error": d.error,
            })).collect::<Vec<_>>(),
            "cost": {
                "rtt_seconds": self.params.rtt,
                "bandwidth_bytes_per_second": self.params.bandwidth,
                "concurrency": self.params.concurrency,
                "open": costs(&self.open),
                "reads": self.reads.iter().map(|(path, c)| {
                    let mut v = costs(c);
                    v["path"] = json!(path);
                    v
                }).collect::<Vec<_>>(),
            },
            "verdict": a.verdict.as_str(),
            "reasons": a.reasons,
            "recommendations": a.recommendations,
            "command": a.command,
            "predicted": {
                "page_size": a.page_size,
                "file_size": a.predicted_size,
                "size_change_percent": a.size_change_percent,
                "open_speedup": a.open_speedup,
            },
            "errors": self.errors,
        })
    }
}

fn costs(c: &ClientCosts) -> Value {
    json!({ "libhdf5": estimate(&c.libhdf5), "coh5": estimate(&c.coh5) })
}

fn estimate(e: &Estimate) -> Value {
    json!({
        "requests": e.requests,
        "round_trips": e.round_trips,
        "bytes": e.bytes,
        "seconds": e.seconds,
    })
}
