//! Names of the filters users meet, by registered id.

use coh5_format::message::filter_pipeline::Filter;

/// The name of a filter: the registered name for well-known ids, else the name stored in the
/// pipeline message, else `"unknown"`.
pub fn filter_name(f: &Filter) -> String {
    let known = match f.id {
        1 => "deflate",
        2 => "shuffle",
        3 => "fletcher32",
        4 => "szip",
        5 => "nbit",
        6 => "scaleoffset",
        305 => "lzo",
        307 => "bzip2",
        32000 => "lzf",
        32001 => "blosc",
        32004 => "lz4",
        32008 => "bitshuffle",
        32013 => "zfp",
        32015 => "zstd",
        32017 => "sz",
        32019 => "jpeg",
        32026 => "blosc2",
        _ => {
            return f
                .name
                .as_deref()
                .map(crate::names::decode)
                .unwrap_or_else(|| "unknown".into())
        }
    };
    known.to_string()
}

/// The filter specs of a pipeline message, as `coh5-filters` takes them.
pub(crate) fn specs(filters: &[Filter]) -> Vec<coh5_filters::FilterSpec<'_>> {
    filters
        .iter()
        .map(|f| coh5_filters::FilterSpec {
            id: f.id,
            name: f.name.as_deref(),
            flags: f.flags,
            client_data: &f.client_data,
        })
        .collect()
}

/// Undoes the I/O filters of a fractal heap block (deflate in practice), given the heap's stored
/// filter pipeline message.
pub(crate) fn unfilter_heap_block(
    stored: &[u8],
    pipeline: &[u8],
    mask: u32,
    heap: u64,
    ctx: &coh5_format::Context,
) -> coh5_format::Result<Vec<u8>> {
    use coh5_format::message::filter_pipeline::FilterPipeline;
    use coh5_format::{limits::MAX_METADATA_BLOCK, Cursor, Error};
    let p = FilterPipeline::parse(
        &mut Cursor::new(pipeline, heap, "fractal heap filters"),
        ctx,
    )?;
    coh5_filters::decode_pipeline(
        &specs(&p.filters),
        mask,
        stored.to_vec(),
        1,
        MAX_METADATA_BLOCK as usize,
    )
    .map_err(|e| match e {
        coh5_filters::FilterError::Unsupported { .. } => {
            Error::unsupported("fractal heap block", heap, e.to_string())
        }
        _ => Error::corrupt("fractal heap block", heap, e.to_string()),
    })
}
