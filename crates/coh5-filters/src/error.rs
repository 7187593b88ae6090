//! The error type of the filter decoders.

use thiserror::Error;

/// Why a chunk could not be decoded; every variant names the filter (id and name).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// coh5 has no decoder for this filter.
    #[error("unsupported filter {id} ({name})")]
    Unsupported { id: u16, name: String },
    /// The stored bytes or the filter parameters are not valid for this filter.
    #[error("corrupt data for filter {id} ({name}): {detail}")]
    Corrupt {
        id: u16,
        name: String,
        detail: String,
    },
    /// Decoding would produce more than the caller's maximum (a decompression bomb or wrong sizes).
    #[error("filter {id} ({name}) output exceeds the limit of {limit} bytes")]
    TooLarge { id: u16, name: String, limit: usize },
    /// A stored checksum does not match the data.
    #[error("checksum mismatch in filter {id} ({name}): stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        id: u16,
        name: String,
        stored: u32,
        computed: u32,
    },
}

/// A decoder's failure before the pipeline attaches the filter id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    Corrupt(String),
    TooLarge(usize),
    Checksum {
        stored: u32,
        computed: u32,
    },
    /// A feature of a supported filter that coh5 does not decode (the filter itself is supported).
    Unsupported(String),
    /// A filter id coh5 has no decoder for.
    UnsupportedFilter,
}

impl Fail {
    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Fail::Corrupt(detail.into())
    }

    pub(crate) fn with_filter(self, id: u16, name: &str) -> FilterError {
        let name = name.to_string();
        match self {
            Fail::Corrupt(detail) => FilterError::Corrupt { id, name, detail },
            Fail::TooLarge(limit) => FilterError::TooLarge { id, name, limit },
            Fail::Checksum { stored, computed } => FilterError::Checksum {
                id,
                name,
                stored,
                computed,
            },
            Fail::UnsupportedFilter => FilterError::Unsupported { id, name },
            Fail::Unsupported(detail) => FilterError::Unsupported {
                id,
                name: format!("{name}: {detail}"),
            },
        }
    }
}

/// Result of a single decoder.
pub(crate) type DResult<T> = Result<T, Fail>;

/// Errors unless `len` fits in `limit`.
pub(crate) fn check_len(len: usize, limit: usize) -> DResult<()> {
    if len > limit {
        Err(Fail::TooLarge(limit))
    } else {
        Ok(())
    }
}
