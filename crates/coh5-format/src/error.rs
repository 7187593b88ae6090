//! The one error type of `coh5-format`.
//!
//! Every variant names the structure being decoded and the file offset where the problem was
//! found, so a user can locate it with a hex dump; the `coh5` crate adds the object path.

/// A decoding failure. Nothing read from a file is trusted, so every malformed input ends here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The structure runs past the end of the bytes available (file or buffer).
    #[error("truncated {structure} at offset {offset:#x}: needs {need} bytes, {have} available")]
    Truncated {
        structure: &'static str,
        offset: u64,
        need: u64,
        have: u64,
    },
    /// A signature ("HEAP", "TREE", "OHDR", ...) did not match.
    #[error("bad signature for {structure} at offset {offset:#x}")]
    Signature {
        structure: &'static str,
        offset: u64,
    },
    /// A well-formed structure uses a version or feature coh5 does not read.
    #[error("unsupported {structure} at offset {offset:#x}: {detail}")]
    Unsupported {
        structure: &'static str,
        offset: u64,
        detail: String,
    },
    /// A field holds a value that the specification rules out.
    #[error("corrupt {structure} at offset {offset:#x}: {detail}")]
    Corrupt {
        structure: &'static str,
        offset: u64,
        detail: String,
    },
    /// A stored Jenkins lookup3 (or Fletcher) checksum does not match the bytes.
    #[error("checksum mismatch in {structure} at offset {offset:#x}")]
    Checksum {
        structure: &'static str,
        offset: u64,
    },
    /// A count, size or depth is beyond what any sane file needs; refused before allocating.
    #[error("{structure} at offset {offset:#x} exceeds a limit: {detail}")]
    Limit {
        structure: &'static str,
        offset: u64,
        detail: String,
    },
    /// A structure refers back to itself (continuation, B-tree or heap loop).
    #[error("cycle in {structure} at offset {offset:#x}")]
    Cycle {
        structure: &'static str,
        offset: u64,
    },
    /// The byte source failed; `detail` carries its message (URL, I/O error).
    #[error("read of {len} bytes at offset {offset:#x} failed: {detail}")]
    Io {
        offset: u64,
        len: u64,
        detail: String,
    },
}

impl Error {
    pub fn corrupt(structure: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            structure,
            offset,
            detail: detail.into(),
        }
    }

    pub fn unsupported(structure: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Unsupported {
            structure,
            offset,
            detail: detail.into(),
        }
    }

    pub fn limit(structure: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Limit {
            structure,
            offset,
            detail: detail.into(),
        }
    }

    /// The file offset the error points at.
    pub fn offset(&self) -> u64 {
        match self {
            Error::Truncated { offset, .. }
            | Error::Signature { offset, .. }
            | Error::Unsupported { offset, .. }
            | Error::Corrupt { offset, .. }
            | Error::Checksum { offset, .. }
            | Error::Limit { offset, .. }
            | Error::Cycle { offset, .. }
            | Error::Io { offset, .. } => *offset,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
