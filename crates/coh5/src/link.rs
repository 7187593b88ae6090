//! The links of a group, from whichever of the three storage forms the group uses: a symbol
//! table (v1 B-tree + local heap), link messages in the header (compact), or a fractal heap
//! indexed by name hash (dense).

use coh5_format::btree::v1::{group_entries_with, GROUP_NODE_PREFETCH};
use coh5_format::btree::v2::Record;
use coh5_format::heap::local::LocalHeap;
use coh5_format::message::kind;
use coh5_format::message::link::{Link as LinkMessage, LinkTarget};
use coh5_format::message::link_info::LinkInfo;
use coh5_format::message::symbol_table::SymbolTable;
use coh5_format::object_header::ObjectHeader;
use coh5_format::symbol_table_entry::CACHE_SYMBOLIC_LINK;
use coh5_format::{Cursor, Error as FormatError, Result, UNDEF_ADDR};

use crate::file::Inner;

/// Where a link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// An object in this file, by object header address.
    Hard(u64),
    /// A path, stored as written (may be relative or dangling).
    Soft(String),
    /// An object in another file.
    External { file: String, path: String },
    /// A user-defined link class (≥ 64, other than external).
    UserDefined(u8),
}

/// One link of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The name as stored (HDF5 names are byte strings).
    pub name: Vec<u8>,
    pub kind: LinkKind,
    pub creation_order: Option<u64>,
}

impl Link {
    /// The name as text; bytes that are not UTF-8 map to U+DC00+byte (Python's surrogateescape),
    /// which is how SPEC.md §1 writes them.
    pub fn name_str(&self) -> String {
        crate::names::decode(&self.name)
    }
}

/// Every link of the group whose header is `header`, in storage order; each hard link's group
/// and name are remembered for naming reference targets ([`Inner::parents`]).
pub(crate) fn read_links(file: &Inner, header: &ObjectHeader) -> Result<Vec<Link>> {
    let links = decode_links(file, header)?;
    let mut parents = crate::file::lock(&file.parents);
    for l in &links {
        if let LinkKind::Hard(target) = l.kind {
            parents
                .entry(target)
                .or_insert_with(|| (header.address, l.name.clone()));
        }
    }
    Ok(links)
}

fn decode_links(file: &Inner, header: &ObjectHeader) -> Result<Vec<Link>> {
    let _purpose = coh5_io::trace::enter(coh5_io::trace::LINKS);
    let ctx = file.ctx();
    if let Some(m) = header.first(kind::SYMBOL_TABLE) {
        let body = file.message_body(m)?;
        let table = SymbolTable::parse(
            &mut Cursor::new(&body, m.address, "symbol table message"),
            &ctx,
        )?;
        return symbol_table_links(file, &table);
    }
    if let Some(m) = header.first(kind::LINK_INFO) {
        let body = file.message_body(m)?;
        let info = LinkInfo::parse(
            &mut Cursor::new(&body, m.address, "link info message"),
            &ctx,
        )?;
        if info.fractal_heap != UNDEF_ADDR {
            return dense_links(file, &info);
        }
    }
    header
        .all(kind::LINK)
        .map(|m| {
            let body = file.message_body(m)?;
            let msg = LinkMessage::parse(&mut Cursor::new(&body, m.address, "link message"), &ctx)?;
            Ok(from_message(msg))
        })
        .collect()
}

fn symbol_table_links(file: &Inner, table: &SymbolTable) -> Result<Vec<Link>> {
    let r = file.reader();
    // The heap of names and the tree of symbol nodes do not depend on each other: each step
    // of the two goes out together (the heap's header with the tree's root, then the names
    // with the symbol nodes), so an uncached group costs two round trips, not four.
    r.prefetch_spans(&[
        (table.local_heap, LocalHeap::header_len(&r.ctx)),
        (table.btree, GROUP_NODE_PREFETCH),
    ]);
    let names = LocalHeap::data_span(&r, table.local_heap)?;
    let entries = group_entries_with(&r, table.btree, &[names])?;
    let heap = LocalHeap::read(&r, table.local_heap)?;
    entries
        .into_iter()
        .map(|e| {
            let name = heap.string_at(e.name_offset)?.to_vec();
            let kind = if e.cache_type == CACHE_SYMBOLIC_LINK {
                // The scratch pad holds the offset of the link value in the same local heap.
                let offset =
                    u32::from_le_bytes([e.scratch[0], e.scratch[1], e.scratch[2], e.scratch[3]]);
                LinkKind::Soft(crate::names::decode(heap.string_at(u64::from(offset))?))
            } else {
                LinkKind::Hard(e.object_header)
            };
            Ok(Link {
                name,
                kind,
                creation_order: None,
            })
        })
        .collect()
}

fn dense_links(file: &Inner, info: &LinkInfo) -> Result<Vec<Link>> {
    let ctx = file.ctx();
    let mut links = Vec::new();
    for record in crate::dense::name_records(file, info.fractal_heap, info.name_index)? {
        let Record::LinkName { heap_id, .. } = record else {
            return Err(FormatError::corrupt(
                "link name index",
                info.name_index,
                "record is not a link-name record",
            ));
        };
        let body = file.heap_object(info.fractal_heap, &heap_id)?;
        let msg = LinkMessage::parse(
            &mut Cursor::new(&body, info.fractal_heap, "link message"),
            &ctx,
        )?;
        links.push(from_message(msg));
    }
    Ok(links)
}

fn from_message(msg: LinkMessage) -> Link {
    let kind = match msg.target {
        LinkTarget::Hard(addr) => LinkKind::Hard(addr),
        LinkTarget::Soft(path) => LinkKind::Soft(crate::names::decode(&path)),
        LinkTarget::External { file, path } => LinkKind::External {
            file: crate::names::decode(&file),
            path: crate::names::decode(&path),
        },
        LinkTarget::UserDefined { class, .. } => LinkKind::UserDefined(class),
    };
    Link {
        name: msg.name,
        kind,
        creation_order: msg.creation_order,
    }
}
