//! Errors of a subset: the reader's own (which name the file, object path and offset), bad
//! requests, and granules that break the ATL03 conventions the planner relies on.

/// What went wrong while subsetting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the file failed (the message names the file, object path and file offset).
    #[error(transparent)]
    Read(#[from] coh5::Error),
    /// The request itself is invalid (bad box, unknown beam, unsupported variable...).
    #[error("{0}")]
    Request(String),
    /// The granule does not follow ATL03 conventions (ATL03_SPEC.md §4) where it must.
    #[error("{location}: {path}: {detail}")]
    Granule {
        location: String,
        path: String,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;
