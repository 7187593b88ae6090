//! The error type of the `coh5` library: what failed, in which object, at which file offset.

/// A failure while opening or reading an HDF5 file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A structure of the file could not be decoded; `path` is the HDF5 object being read.
    #[error("{location}: {path}: {source}")]
    Format {
        location: String,
        path: String,
        #[source]
        source: coh5_format::Error,
    },
    /// The byte source failed (file system, network, object store).
    #[error(transparent)]
    Io(#[from] coh5_io::Error),
    /// No link of that name exists.
    #[error("{location}: no object at {path}")]
    NotFound { location: String, path: String },
    /// A selection does not fit the dataset.
    #[error("bad selection {0}")]
    Selection(String),
    /// A chunk could not be decoded (unsupported or corrupt filter data).
    #[error("{location}: {path}: chunk at offset {offset:#x}: {source}")]
    Filter {
        location: String,
        path: String,
        offset: u64,
        #[source]
        source: coh5_filters::FilterError,
    },
    /// The link exists but is not of the kind asked for, or cannot be followed.
    #[error("{location}: {path}: {detail}")]
    Object {
        location: String,
        path: String,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;
