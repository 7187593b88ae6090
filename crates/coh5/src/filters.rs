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
