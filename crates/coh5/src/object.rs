//! The objects of a file: groups, datasets and committed datatypes, each an object header at an
//! address, reached by a path.

use std::sync::Arc;

use coh5_format::dataspace::Dataspace;
use coh5_format::datatype::Datatype;
use coh5_format::message::attribute_info::AttributeInfo;
use coh5_format::message::fill_value::FillValue;
use coh5_format::message::filter_pipeline::{Filter, FilterPipeline};
use coh5_format::message::kind;
use coh5_format::message::layout::{Layout, LayoutMessage};
use coh5_format::object_header::ObjectHeader;
use coh5_format::{Cursor, Error as FormatError, Reader};

use crate::attribute::{read_attributes, Attribute};
use crate::error::{Error, Result};
use crate::file::File;
use crate::link::{read_links, Link, LinkKind};
use crate::meta::InHand;

/// Bytes of a child's object header prefetched when its group is listed: the prefix and the
/// first messages (the cache widens this to its block, which usually holds the whole header).
const HEADER_PREFETCH: u64 = 512;

/// What an object header describes, decided the way libhdf5 decides it: a group has a symbol
/// table or link info message; a dataset has a datatype and a dataspace; a committed datatype has
/// a datatype only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Group,
    Dataset,
    Datatype,
}

pub(crate) fn classify(h: &ObjectHeader) -> Option<ObjectKind> {
    if h.first(kind::SYMBOL_TABLE).is_some() || h.first(kind::LINK_INFO).is_some() {
        Some(ObjectKind::Group)
    } else if h.first(kind::DATATYPE).is_some() && h.first(kind::DATASPACE).is_some() {
        Some(ObjectKind::Dataset)
    } else if h.first(kind::DATATYPE).is_some() {
        Some(ObjectKind::Datatype)
    } else {
        None
    }
}

/// Any object: what a path or a hard link leads to.
#[derive(Clone)]
pub enum Object {
    Group(Group),
    Dataset(Dataset),
    Datatype(NamedDatatype),
}

/// State shared by every kind of object.
#[derive(Clone)]
pub(crate) struct Node {
    pub file: File,
    pub path: String,
    pub address: u64,
    pub header: Arc<ObjectHeader>,
}

impl Node {
    /// Decodes the object's header; `to_read` when it was reached by a path and will likely be
    /// read (see [`crate::file::Inner::header_to_read`]).
    fn open(file: File, path: String, address: u64, to_read: bool) -> Result<Node> {
        let header = if to_read {
            file.inner.header_to_read(address)
        } else {
            file.inner.header(address)
        };
        let header = header.map_err(|e| file.inner.err(&path, e))?;
        Ok(Node {
            file,
            path,
            address,
            header,
        })
    }

    pub fn err(&self, e: FormatError) -> Error {
        self.file.inner.err(&self.path, e)
    }

    /// The decoded body of the first message of `kind`, with shared messages resolved.
    fn message<T>(
        &self,
        kind: u16,
        structure: &'static str,
        parse: impl FnOnce(&mut Cursor, &coh5_format::Context) -> coh5_format::Result<T>,
    ) -> Result<Option<T>> {
        let Some(m) = self.header.first(kind) else {
            return Ok(None);
        };
        let body = self.file.inner.message_body(m).map_err(|e| self.err(e))?;
        let ctx = self.file.inner.ctx();
        parse(&mut Cursor::new(&body, m.address, structure), &ctx)
            .map(Some)
            .map_err(|e| self.err(e))
    }

    fn required<T>(
        &self,
        kind: u16,
        structure: &'static str,
        parse: impl FnOnce(&mut Cursor, &coh5_format::Context) -> coh5_format::Result<T>,
    ) -> Result<T> {
        self.message(kind, structure, parse)?.ok_or_else(|| {
            self.err(FormatError::corrupt(
                structure,
                self.address,
                "required message missing from object header",
            ))
        })
    }

    fn attributes(&self) -> Result<Vec<Attribute>> {
        read_attributes(&self.file, &self.path, &self.header)
    }

    /// The (fractal heap, name index) of the object's attributes when it keeps them in dense
    /// storage, outside its header.
    fn dense_attributes(&self) -> Option<(u64, u64)> {
        self.message(
            kind::ATTRIBUTE_INFO,
            "attribute info message",
            AttributeInfo::parse,
        )
        .ok()
        .flatten()
        .filter(|info| info.is_dense())
        .map(|info| (info.fractal_heap, info.name_index))
    }

    fn datatype(&self) -> Result<Datatype> {
        self.required(kind::DATATYPE, "datatype message", |c, _| {
            Datatype::parse(c)
        })
    }
}

impl Object {
    pub(crate) fn open(file: File, path: String, address: u64) -> Result<Object> {
        Object::open_as(file, path, address, false)
    }

    fn open_as(file: File, path: String, address: u64, to_read: bool) -> Result<Object> {
        let node = Node::open(file, path, address, to_read)?;
        match classify(&node.header) {
            Some(ObjectKind::Group) => Ok(Object::Group(Group { node })),
            Some(ObjectKind::Dataset) => Ok(Object::Dataset(Dataset { node })),
            Some(ObjectKind::Datatype) => Ok(Object::Datatype(NamedDatatype { node })),
            None => Err(node.err(FormatError::corrupt(
                "object header",
                address,
                "not a group, dataset or datatype",
            ))),
        }
    }

    fn node(&self) -> &Node {
        match self {
            Object::Group(g) => &g.node,
            Object::Dataset(d) => &d.node,
            Object::Datatype(t) => &t.node,
        }
    }

    pub fn path(&self) -> &str {
        &self.node().path
    }

    /// Object header address: two hard links to one object share it.
    pub fn address(&self) -> u64 {
        self.node().address
    }

    pub fn attributes(&self) -> Result<Vec<Attribute>> {
        self.node().attributes()
    }

    /// The (fractal heap, name index) of the object's attributes kept outside its header.
    pub(crate) fn dense_attributes(&self) -> Option<(u64, u64)> {
        self.node().dense_attributes()
    }
}

/// A group: a set of named links.
#[derive(Clone)]
pub struct Group {
    node: Node,
}

impl Group {
    pub(crate) fn open(file: File, path: String, address: u64) -> Result<Group> {
        match Object::open(file, path, address)? {
            Object::Group(g) => Ok(g),
            other => Err(Error::Object {
                location: other.node().file.location().to_string(),
                path: other.path().to_string(),
                detail: "not a group".into(),
            }),
        }
    }

    pub fn path(&self) -> &str {
        &self.node.path
    }

    pub fn address(&self) -> u64 {
        self.node.address
    }

    pub fn file(&self) -> &File {
        &self.node.file
    }

    /// Every link, in storage order (see [`Group::links_sorted`] for name order).
    ///
    /// Listing a group is nearly always followed by opening its children, so the blocks of all
    /// their object headers are requested together here: a level of the tree costs one round
    /// trip instead of one per child.
    pub fn links(&self) -> Result<Vec<Link>> {
        let inner = &self.node.file.inner;
        let links = self.links_unprefetched()?;
        let reader = inner.reader();
        let headers: Vec<std::ops::Range<u64>> = links
            .iter()
            .filter_map(|l| match l.kind {
                LinkKind::Hard(addr) => {
                    let start = reader.absolute(addr);
                    Some(start..start.saturating_add(HEADER_PREFETCH))
                }
                _ => None,
            })
            .collect();
        let _purpose = coh5_io::trace::enter(coh5_io::trace::OBJECT_HEADER);
        inner.meta.prefetch(&headers);
        // Then the continuation chunks those headers name, which libhdf5 writes wherever the
        // file ended when a header grew (at close, for attributes added last): one more wave
        // for the level rather than one round trip per child as the children are opened.
        let in_hand = InHand(&inner.meta);
        let r = Reader::new(&in_hand, inner.ctx());
        let continuations: Vec<(u64, u64)> = links
            .iter()
            .filter_map(|l| match l.kind {
                LinkKind::Hard(addr) => ObjectHeader::read_first_chunk(&r, addr).ok(),
                _ => None,
            })
            .flat_map(|(_, spans)| spans)
            .collect();
        reader.prefetch_spans(&continuations);
        Ok(links)
    }

    /// Every link, without prefetching the children's headers: for following one of them.
    pub(crate) fn links_unprefetched(&self) -> Result<Vec<Link>> {
        read_links(&self.node.file.inner, &self.node.header).map_err(|e| self.node.err(e))
    }

    /// Every link in increasing byte order of the name, as `h5ls` and the manifest list them.
    pub fn links_sorted(&self) -> Result<Vec<Link>> {
        let mut links = self.links()?;
        links.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(links)
    }

    /// Whether the group records link creation order (its listing order is then creation order).
    pub fn tracks_creation_order(&self) -> bool {
        self.node
            .message(kind::LINK_INFO, "link info message", |c, ctx| {
                coh5_format::message::link_info::LinkInfo::parse(c, ctx)
            })
            .ok()
            .flatten()
            .is_some_and(|i| i.track_creation_order)
    }

    /// The object a hard link of this group leads to.
    pub fn open_link(&self, link: &Link) -> Result<Object> {
        self.open_link_as(link, false)
    }

    /// [`Group::open_link`] for a path being resolved: its last object is usually read next.
    pub(crate) fn open_link_to_read(&self, link: &Link) -> Result<Object> {
        self.open_link_as(link, true)
    }

    fn open_link_as(&self, link: &Link, to_read: bool) -> Result<Object> {
        let path = child_path(&self.node.path, &link.name_str());
        match &link.kind {
            LinkKind::Hard(addr) => Object::open_as(self.node.file.clone(), path, *addr, to_read),
            _ => Err(Error::Object {
                location: self.node.file.location().to_string(),
                path,
                detail: "only hard links are followed".into(),
            }),
        }
    }

    pub fn attributes(&self) -> Result<Vec<Attribute>> {
        self.node.attributes()
    }
}

/// `parent/name` with the root written as `/name`.
pub fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// A dataset: an array of elements of one datatype.
#[derive(Clone)]
pub struct Dataset {
    pub(crate) node: Node,
}

impl Dataset {
    pub fn path(&self) -> &str {
        &self.node.path
    }

    pub fn address(&self) -> u64 {
        self.node.address
    }

    pub fn file(&self) -> &File {
        &self.node.file
    }

    /// The dataspace; for a virtual dataset, with the extent libhdf5 computes at open from
    /// the sources available (what h5py shows), not the one stored.
    pub fn dataspace(&self) -> Result<Dataspace> {
        crate::virtual_ds::current_space(self, self.stored_dataspace()?)
    }

    /// The dataspace message as stored.
    pub(crate) fn stored_dataspace(&self) -> Result<Dataspace> {
        self.node
            .required(kind::DATASPACE, "dataspace message", Dataspace::parse)
    }

    pub fn datatype(&self) -> Result<Datatype> {
        self.node.datatype()
    }

    pub fn layout(&self) -> Result<Layout> {
        self.layout_message().map(|m| m.layout)
    }

    /// The layout message with its version (chunk index encodings depend on it).
    pub fn layout_message(&self) -> Result<LayoutMessage> {
        self.node
            .required(kind::LAYOUT, "data layout message", LayoutMessage::parse)
    }

    /// The filter pipeline in application order (empty when the data is not filtered).
    pub fn filters(&self) -> Result<Vec<Filter>> {
        Ok(self
            .node
            .message(
                kind::FILTER_PIPELINE,
                "filter pipeline message",
                FilterPipeline::parse,
            )?
            .map(|p| p.filters)
            .unwrap_or_default())
    }

    /// The fill value message (new form preferred over the old one, as libhdf5 does).
    pub fn fill_value(&self) -> Result<Option<FillValue>> {
        if let Some(f) =
            self.node
                .message(kind::FILL_VALUE, "fill value message", FillValue::parse)?
        {
            return Ok(Some(f));
        }
        self.node.message(
            kind::FILL_VALUE_OLD,
            "old fill value message",
            FillValue::parse_old,
        )
    }

    pub fn attributes(&self) -> Result<Vec<Attribute>> {
        self.node.attributes()
    }

    pub(crate) fn header(&self) -> &ObjectHeader {
        &self.node.header
    }
}

/// A committed ("named") datatype.
#[derive(Clone)]
pub struct NamedDatatype {
    node: Node,
}

impl NamedDatatype {
    pub fn path(&self) -> &str {
        &self.node.path
    }

    pub fn datatype(&self) -> Result<Datatype> {
        self.node.datatype()
    }

    pub fn attributes(&self) -> Result<Vec<Attribute>> {
        self.node.attributes()
    }
}
