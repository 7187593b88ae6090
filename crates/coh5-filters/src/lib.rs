//! Bounded, sans-IO decoders for the HDF5 chunk filters users meet.
//!
//! The filter pipeline message (HDF5 File Format Specification IV.A.2.l) lists the filters applied to
//! each chunk of a dataset; [`decode_pipeline`] undoes them in reverse order. Every decoder is bounded:
//! output never exceeds the caller's expected size (plus a small allowance for intermediate stages), so
//! decompression bombs end in [`FilterError::TooLarge`], and no input panics.

mod bitreader;
mod bitshuffle;
mod blosc;
mod blosc2;
mod blosclz;
mod bzip2;
mod deflate;
mod error;
mod fletcher32;
mod lz4;
mod lzf;
mod nbit;
mod scaleoffset;
mod shuffle;
mod szip;
mod zstd;

pub use error::FilterError;

/// Registered filter identifiers (<https://github.com/HDFGroup/hdf5_plugins/blob/master/docs/RegisteredFilterPlugins.md>).
pub mod ids {
    pub const DEFLATE: u16 = 1;
    pub const SHUFFLE: u16 = 2;
    pub const FLETCHER32: u16 = 3;
    pub const SZIP: u16 = 4;
    pub const NBIT: u16 = 5;
    pub const SCALEOFFSET: u16 = 6;
    pub const LZO: u16 = 305;
    pub const BZIP2: u16 = 307;
    pub const LZF: u16 = 32000;
    pub const BLOSC: u16 = 32001;
    pub const MAFISC: u16 = 32002;
    pub const LZ4: u16 = 32004;
    pub const BITSHUFFLE: u16 = 32008;
    pub const ZFP: u16 = 32013;
    pub const ZSTD: u16 = 32015;
    pub const SZ: u16 = 32017;
    pub const JPEG: u16 = 32019;
    pub const BLOSC2: u16 = 32026;
}

/// One filter of a pipeline as stored in the filter pipeline message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterSpec<'a> {
    pub id: u16,
    pub name: Option<&'a [u8]>,
    pub flags: u16,
    pub client_data: &'a [u32],
}

/// Whether coh5 can decode this filter id.
pub fn supported(id: u16) -> bool {
    use ids::*;
    matches!(
        id,
        DEFLATE
            | SHUFFLE
            | FLETCHER32
            | SZIP
            | NBIT
            | SCALEOFFSET
            | BZIP2
            | LZF
            | BLOSC
            | LZ4
            | BITSHUFFLE
            | ZSTD
            | BLOSC2
    )
}

/// Registered name for an id.
pub fn filter_name(id: u16) -> Option<&'static str> {
    use ids::*;
    Some(match id {
        DEFLATE => "deflate",
        SHUFFLE => "shuffle",
        FLETCHER32 => "fletcher32",
        SZIP => "szip",
        NBIT => "nbit",
        SCALEOFFSET => "scaleoffset",
        LZO => "lzo",
        BZIP2 => "bzip2",
        LZF => "lzf",
        BLOSC => "blosc",
        MAFISC => "mafisc",
        LZ4 => "lz4",
        BITSHUFFLE => "bitshuffle",
        ZFP => "zfp",
        ZSTD => "zstd",
        SZ => "sz",
        JPEG => "jpeg",
        BLOSC2 => "blosc2",
        _ => return None,
    })
}

/// Name used in errors: the registered name, else the name stored in the file, else "unknown".
fn display_name(spec: &FilterSpec) -> String {
    if let Some(n) = filter_name(spec.id) {
        return n.to_string();
    }
    match spec.name {
        Some(raw) => {
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            let s = String::from_utf8_lossy(raw.get(..end).unwrap_or(raw));
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.into_owned()
            }
        }
        None => "unknown".to_string(),
    }
}

/// Largest size an intermediate stage may reach: encoders of inner filters (scaleoffset's header,
/// fletcher32's checksum, a compressor that could not shrink its input) may expand the data a little.
fn stage_limit(expected_len: usize) -> usize {
    expected_len
        .saturating_add(expected_len / 8)
        .saturating_add(4096)
}

/// Undoes the pipeline (filters applied in reverse order), skipping filters whose bit is set in
/// `filter_mask` (bit i = filter i was not applied to this chunk). `element_size` is the dataset's
/// datatype size; `expected_len` is the raw chunk size in bytes.
///
/// Output larger than `expected_len` is an error. The output is never padded: it may be shorter than
/// `expected_len` only when the stored streams themselves say so (libhdf5 accepts that too and leaves
/// the rest of the chunk buffer undefined); callers that need a full chunk should treat a short result
/// as corrupt or pad it with the fill value.
pub fn decode_pipeline(
    filters: &[FilterSpec],
    filter_mask: u32,
    data: Vec<u8>,
    element_size: usize,
    expected_len: usize,
) -> Result<Vec<u8>, FilterError> {
    let stages = active_stages(filters, filter_mask);
    let buf = run_stages(filters, &stages, data, element_size, expected_len)?;
    check_unfiltered_len(filters, &buf, expected_len)?;
    Ok(buf)
}

/// [`decode_pipeline`] writing the decoded chunk straight into `out` (whose length is the raw
/// chunk size), so a chunk that maps onto one run of the caller's output costs no copy: deflate
/// inflates and shuffle transposes into `out` directly; other last stages decode and copy.
/// Returns how many bytes were written (less than `out.len()` only when the streams say so).
pub fn decode_pipeline_into(
    filters: &[FilterSpec],
    filter_mask: u32,
    data: Vec<u8>,
    element_size: usize,
    out: &mut [u8],
) -> Result<usize, FilterError> {
    let stages = active_stages(filters, filter_mask);
    let Some((&last, inner)) = stages.split_last() else {
        check_unfiltered_len(filters, &data, out.len())?;
        out[..data.len()].copy_from_slice(&data);
        return Ok(data.len());
    };
    let buf = run_stages(filters, inner, data, element_size, out.len())?;
    let spec = &filters[last];
    let fail = |f: error::Fail| f.with_filter(spec.id, &display_name(spec));
    match spec.id {
        ids::DEFLATE => deflate::decode_into(&buf, out).map_err(fail),
        ids::SHUFFLE => {
            let size = spec
                .client_data
                .first()
                .map_or(element_size, |&s| s as usize);
            let written = buf.len();
            if written > out.len() {
                return Err(fail(error::Fail::TooLarge(out.len())));
            }
            shuffle::unshuffle_into(&buf, size, &mut out[..written]);
            Ok(written)
        }
        _ => {
            let limit = out.len();
            let decoded = decode_one(spec, buf, element_size, limit).map_err(fail)?;
            if decoded.len() > limit {
                return Err(fail(error::Fail::TooLarge(limit)));
            }
            out[..decoded.len()].copy_from_slice(&decoded);
            Ok(decoded.len())
        }
    }
}

/// Indexes of the filters to undo, in decoding order (last applied first), without those the
/// chunk's mask says were skipped.
fn active_stages(filters: &[FilterSpec], filter_mask: u32) -> Vec<usize> {
    (0..filters.len())
        .rev()
        .filter(|&i| i >= 32 || filter_mask & (1u32 << i) == 0)
        .collect()
}

/// Undoes `stages` in order. The first filter of the pipeline must produce at most
/// `expected_len` bytes; inner stages get the small allowance of [`stage_limit`].
fn run_stages(
    filters: &[FilterSpec],
    stages: &[usize],
    data: Vec<u8>,
    element_size: usize,
    expected_len: usize,
) -> Result<Vec<u8>, FilterError> {
    let mut buf = data;
    let intermediate = stage_limit(expected_len);
    for &index in stages {
        let spec = &filters[index];
        let limit = if index == 0 {
            expected_len
        } else {
            intermediate
        };
        buf = decode_one(spec, buf, element_size, limit)
            .map_err(|fail| fail.with_filter(spec.id, &display_name(spec)))?;
        if buf.len() > limit {
            return Err(FilterError::TooLarge {
                id: spec.id,
                name: display_name(spec),
                limit,
            });
        }
    }
    Ok(buf)
}

/// A chunk that no filter shrank back (every filter masked, an empty pipeline, or a masked first
/// filter) must still fit the raw chunk size.
fn check_unfiltered_len(
    filters: &[FilterSpec],
    buf: &[u8],
    expected_len: usize,
) -> Result<(), FilterError> {
    if buf.len() <= expected_len {
        return Ok(());
    }
    Err(FilterError::Corrupt {
        id: filters.first().map_or(0, |f| f.id),
        name: filters
            .first()
            .map_or_else(|| "none".to_string(), display_name),
        detail: format!(
            "chunk has {} bytes, expected at most {expected_len}",
            buf.len()
        ),
    })
}

/// Decodes one filter's output back to its input; `limit` bounds the produced size.
fn decode_one(
    spec: &FilterSpec,
    data: Vec<u8>,
    element_size: usize,
    limit: usize,
) -> error::DResult<Vec<u8>> {
    let cd = spec.client_data;
    match spec.id {
        ids::DEFLATE => deflate::decode(&data, limit),
        ids::SHUFFLE => shuffle::decode(data, cd, element_size),
        ids::FLETCHER32 => fletcher32::decode(data),
        ids::SZIP => szip::decode(&data, cd, limit),
        ids::NBIT => nbit::decode(data, cd, limit),
        ids::SCALEOFFSET => scaleoffset::decode(data, cd, limit),
        ids::BZIP2 => bzip2::decode(&data, limit),
        ids::LZF => lzf::decode(&data, limit),
        ids::BLOSC => blosc::decode(&data, limit),
        ids::LZ4 => lz4::decode(&data, limit),
        ids::BITSHUFFLE => bitshuffle::decode(&data, cd, limit),
        ids::ZSTD => zstd::decode(&data, limit),
        ids::BLOSC2 => blosc2::decode(&data, cd, limit),
        _ => Err(error::Fail::UnsupportedFilter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: u16, cd: &[u32]) -> FilterSpec<'_> {
        FilterSpec {
            id,
            name: None,
            flags: 0,
            client_data: cd,
        }
    }

    #[test]
    fn names_and_support() {
        assert_eq!(filter_name(32013), Some("zfp"));
        assert_eq!(filter_name(32026), Some("blosc2"));
        assert_eq!(filter_name(9999), None);
        for id in [
            1, 2, 3, 4, 5, 6, 307, 32000, 32001, 32004, 32008, 32015, 32026,
        ] {
            assert!(supported(id), "{id}");
        }
        for id in [305, 32002, 32013, 32017, 32019, 257, 0] {
            assert!(!supported(id), "{id}");
        }
    }

    #[test]
    fn unsupported_filters_are_named() {
        let err = decode_pipeline(&[spec(32013, &[])], 0, vec![1, 2, 3], 4, 100).unwrap_err();
        assert_eq!(err.to_string(), "unsupported filter 32013 (zfp)");
        let named = FilterSpec {
            id: 405,
            name: Some(b"myfilter\0"),
            flags: 1,
            client_data: &[],
        };
        let err = decode_pipeline(&[named], 0, vec![1], 4, 100).unwrap_err();
        assert_eq!(err.to_string(), "unsupported filter 405 (myfilter)");
        let err = decode_pipeline(&[spec(700, &[])], 0, vec![1], 4, 100).unwrap_err();
        assert_eq!(err.to_string(), "unsupported filter 700 (unknown)");
    }

    #[test]
    fn mask_skips_filters_and_order_is_reversed() {
        // Stored = shuffle then fletcher32; the mask says shuffle was not applied.
        let raw = vec![1u8, 2, 3, 4, 5, 6, 7, 8];
        let mut stored = raw.clone();
        stored.extend_from_slice(&fletcher32::fletcher32(&raw).to_le_bytes());
        let pipeline = [spec(2, &[4]), spec(3, &[])];
        assert_eq!(
            decode_pipeline(&pipeline, 0b01, stored.clone(), 4, 8).unwrap(),
            raw
        );
        let unshuffled = decode_pipeline(&pipeline, 0, stored, 4, 8).unwrap();
        assert_eq!(unshuffled, vec![1, 3, 5, 7, 2, 4, 6, 8]);
        // Everything skipped: the stored bytes are the raw chunk, and must fit.
        assert_eq!(
            decode_pipeline(&pipeline, 0b11, raw.clone(), 4, 8).unwrap(),
            raw
        );
        assert!(decode_pipeline(&pipeline, 0b11, raw.clone(), 4, 4).is_err());
        assert_eq!(decode_pipeline(&[], 0, raw.clone(), 4, 8).unwrap(), raw);
    }

    /// Every path of `decode_pipeline_into` (deflate, shuffle, another filter, or nothing as the
    /// last stage) writes what `decode_pipeline` returns.
    #[test]
    fn decoding_into_a_slice_agrees_with_decoding_to_a_vec() {
        use flate2::{write::ZlibEncoder, Compression};
        use std::io::Write;
        let raw: Vec<u8> = (0..4099u32).map(|i| (i * 31 % 251) as u8).collect();
        let shuffled = {
            let n = raw.len() / 4;
            let mut s: Vec<u8> = (0..4)
                .flat_map(|j| (0..n).map(move |i| (i, j)))
                .map(|(i, j)| raw[i * 4 + j])
                .collect();
            s.extend_from_slice(&raw[n * 4..]);
            s
        };
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(&shuffled).unwrap();
        let stored = e.finish().unwrap();
        let mut checked = shuffled.clone();
        checked.extend_from_slice(&fletcher32::fletcher32(&shuffled).to_le_bytes());
        let cases: [(&[FilterSpec], u32, &[u8]); 5] = [
            (&[spec(2, &[4]), spec(1, &[6])], 0, &stored),
            (&[spec(2, &[4]), spec(1, &[6])], 0b01, &stored),
            (&[spec(2, &[4])], 0, &shuffled),
            (&[spec(3, &[]), spec(2, &[4])], 0b01, &shuffled),
            (&[spec(2, &[4]), spec(3, &[])], 0, &checked),
        ];
        for (i, (pipeline, mask, input)) in cases.into_iter().enumerate() {
            let want = decode_pipeline(pipeline, mask, input.to_vec(), 4, raw.len()).unwrap();
            let mut out = vec![0xAA; raw.len()];
            let n = decode_pipeline_into(pipeline, mask, input.to_vec(), 4, &mut out).unwrap();
            assert_eq!(&out[..n], &want[..], "case {i}");
            let mut short = vec![0; raw.len() - 1];
            assert!(
                decode_pipeline_into(pipeline, mask, input.to_vec(), 4, &mut short).is_err(),
                "case {i}: overflow must be refused"
            );
        }
        let mut out = vec![0; raw.len()];
        assert_eq!(
            decode_pipeline_into(&[], 0, raw.clone(), 4, &mut out),
            Ok(raw.len())
        );
        assert_eq!(out, raw);
    }

    #[test]
    fn bombs_end_in_too_large() {
        use flate2::{write::ZlibEncoder, Compression};
        use std::io::Write;
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        let err = decode_pipeline(&[spec(1, &[6])], 0, bomb.clone(), 4, 4096).unwrap_err();
        assert!(
            matches!(
                err,
                FilterError::TooLarge {
                    id: 1,
                    limit: 4096,
                    ..
                }
            ),
            "{err}"
        );
        // As an inner stage the allowance is bounded too.
        let err = decode_pipeline(&[spec(2, &[4]), spec(1, &[6])], 0, bomb, 4, 4096).unwrap_err();
        assert!(matches!(err, FilterError::TooLarge { id: 1, .. }), "{err}");
    }
}
