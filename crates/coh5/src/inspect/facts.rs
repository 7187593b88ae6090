//! Format and file-space facts of `coh5 inspect`: versions of the superblock and object headers,
//! the oldest libhdf5 that can read the file as a consequence, the userblock, checksums, and the
//! file space strategy with its page size.

use std::collections::BTreeMap;

use coh5_format::message::file_space_info::Strategy;
use coh5_format::message::layout::LayoutMessage;

use crate::file::File;

#[derive(Debug, Clone)]
pub struct FormatFacts {
    pub file_size: u64,
    pub userblock: u64,
    pub superblock_version: u8,
    /// Object header version → how many headers of the file use it.
    pub object_header_versions: BTreeMap<u8, u64>,
    /// Data layout message version → how many datasets use it.
    pub layout_versions: BTreeMap<u8, u64>,
    /// The oldest libhdf5 release line that reads every structure found ("1.0", "1.8", "1.10",
    /// "2.0"): what `H5Pset_libver_bounds` low bound the writer implied. A file space message
    /// (paged aggregation, persistent free space) needs 1.10.
    pub min_library: &'static str,
    /// Whether metadata carries checksums (superblock v2+ or version 2 object headers).
    pub checksums: bool,
}

#[derive(Debug, Clone)]
pub struct FileSpaceFacts {
    /// "FSM_AGGR", "PAGE", "AGGR" or "NONE"; files without a file-space message use libhdf5's
    /// default, FSM_AGGR without persistence.
    pub strategy: &'static str,
    /// Whether the file stores a File Space Info message (else the values are the defaults).
    pub stored: bool,
    pub persist: bool,
    pub threshold: u64,
    /// Page size of a paged file.
    pub page_size: Option<u64>,
}

pub(crate) fn format_facts(file: &File, file_size: u64, layouts: &[LayoutMessage]) -> FormatFacts {
    let sb = file.superblock();
    let mut object_header_versions = BTreeMap::new();
    for (_, h) in file.inner.decoded_headers() {
        *object_header_versions.entry(h.version).or_insert(0) += 1;
    }
    let mut layout_versions = BTreeMap::new();
    for l in layouts {
        *layout_versions.entry(l.version).or_insert(0) += 1;
    }
    let max_layout = layout_versions.keys().max().copied().unwrap_or(0);
    let v2_headers = object_header_versions.contains_key(&2);
    let min_library = if max_layout >= 5 {
        "2.0"
    } else if sb.version >= 3 || max_layout >= 4 || file.file_space().is_some() {
        "1.10"
    } else if sb.version == 2 || v2_headers {
        "1.8"
    } else {
        "1.0"
    };
    FormatFacts {
        file_size,
        userblock: sb.offset,
        superblock_version: sb.version,
        object_header_versions,
        layout_versions,
        min_library,
        checksums: sb.version >= 2 || v2_headers,
    }
}

pub(crate) fn file_space_facts(file: &File) -> FileSpaceFacts {
    match file.file_space() {
        None => FileSpaceFacts {
            strategy: "FSM_AGGR",
            stored: false,
            persist: false,
            threshold: 1,
            page_size: None,
        },
        Some(fs) => FileSpaceFacts {
            strategy: match fs.strategy {
                Strategy::FsmAggr => "FSM_AGGR",
                Strategy::Page => "PAGE",
                Strategy::Aggr => "AGGR",
                Strategy::None => "NONE",
            },
            stored: true,
            persist: fs.persist,
            threshold: fs.threshold,
            page_size: fs.page_size(),
        },
    }
}
