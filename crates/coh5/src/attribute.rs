//! Attributes: small named values on an object, stored in the object header (compact) or in a
//! fractal heap indexed by a v2 B-tree (dense), possibly as shared messages.

use bytes::Bytes;
use coh5_format::btree::v2::Record;
use coh5_format::dataspace::{Dataspace, SpaceKind};
use coh5_format::datatype::Datatype;
use coh5_format::message::attribute::AttributeMessage;
use coh5_format::message::attribute_info::AttributeInfo;
use coh5_format::message::kind;
use coh5_format::object_header::{ObjectHeader, MSG_FLAG_SHARED};
use coh5_format::{Cursor, Error as FormatError, Result as FormatResult, UNDEF_ADDR};

use crate::element::{decode_values, Value};
use crate::error::{Error, Result};
use crate::file::{File, Inner};
use crate::form::Form;
use crate::show::show;
use crate::value::canonical_bytes;

/// An attribute value's form, its elements, and its dataspace dimensions.
type Elements = (Form, Vec<Value>, Vec<u64>);

/// One attribute, decoded as far as its type and shape; the value is converted on request.
#[derive(Clone)]
pub struct Attribute {
    pub name: Vec<u8>,
    /// The decoded type and shape, or the reason they could not be decoded.
    pub decoded: std::result::Result<(Datatype, Dataspace), String>,
    /// The stored value bytes (file layout).
    pub data: Bytes,
    file: File,
    owner: String,
}

impl Attribute {
    pub fn name_str(&self) -> String {
        crate::names::decode(&self.name)
    }

    /// The canonical encoding of the value (SPEC.md §8): little-endian numbers, resolved
    /// variable-length data and references. `None` for a null dataspace.
    pub fn canonical(&self) -> Result<Option<Vec<u8>>> {
        let (dt, space) = self.decoded.as_ref().map_err(|e| self.error(e.clone()))?;
        if space.kind == SpaceKind::Null {
            return Ok(None);
        }
        let count = space.num_elements().unwrap_or(0);
        canonical_bytes(&self.file.inner, dt, &self.data, count)
            .map(Some)
            .map_err(|e| self.file.inner.err(&self.label(), e))
    }

    /// Every element of the value, in C order, as h5py would return it; `None` for a null
    /// dataspace.
    pub fn values(&self) -> Result<Option<Vec<Value>>> {
        Ok(self.decoded_values()?.map(|(_, values, _)| values))
    }

    /// The value as a listing shows it: a NumPy-like literal nested by shape, strings quoted,
    /// floats at their stored width, references as paths; more than `limit` elements show as
    /// the first `limit` and `...`. `None` for a null dataspace.
    pub fn value_text(&self, limit: usize) -> Result<Option<String>> {
        Ok(self
            .decoded_values()?
            .map(|(form, values, dims)| show(&form, &values, &dims, limit)))
    }

    /// The value's form, elements and dimensions; `None` for a null dataspace.
    fn decoded_values(&self) -> Result<Option<Elements>> {
        let Some(canon) = self.canonical()? else {
            return Ok(None);
        };
        let (dt, space) = self.decoded.as_ref().map_err(|e| self.error(e.clone()))?;
        let form = Form::of(dt).map_err(|e| self.error(e))?;
        let count = space.num_elements().unwrap_or(0);
        let values = decode_values(&form, &canon, count).map_err(|e| self.error(e))?;
        Ok(Some((form, values, space.dims.clone())))
    }

    fn error(&self, detail: String) -> Error {
        Error::Object {
            location: self.file.location().to_string(),
            path: self.label(),
            detail,
        }
    }

    /// `owner@name`, how errors name an attribute.
    fn label(&self) -> String {
        format!("{}@{}", self.owner, self.name_str())
    }
}

/// Every attribute of the object whose header is `header`, compact then dense.
pub(crate) fn read_attributes(
    file: &File,
    path: &str,
    header: &ObjectHeader,
) -> Result<Vec<Attribute>> {
    let inner = &file.inner;
    let mut messages: Vec<(Bytes, u64)> = Vec::new();
    for m in header.all(kind::ATTRIBUTE) {
        let body = inner.message_body(m).map_err(|e| inner.err(path, e))?;
        messages.push((body, m.address));
    }
    if let Some(m) = header.first(kind::ATTRIBUTE_INFO) {
        let dense = dense_messages(inner, &m.data, m.address).map_err(|e| inner.err(path, e))?;
        messages.extend(dense);
    }
    messages
        .into_iter()
        .map(|(body, addr)| {
            let msg = AttributeMessage::parse(
                &mut Cursor::new(&body, addr, "attribute message"),
                &inner.ctx(),
            )
            .map_err(|e| inner.err(path, e))?;
            Ok(Attribute {
                decoded: decode_type_and_space(inner, &msg).map_err(|e| e.to_string()),
                name: msg.name,
                data: msg.data,
                file: file.clone(),
                owner: path.to_string(),
            })
        })
        .collect()
}

fn dense_messages(inner: &Inner, info: &[u8], addr: u64) -> FormatResult<Vec<(Bytes, u64)>> {
    let _purpose = coh5_io::trace::enter(coh5_io::trace::ATTRIBUTES);
    let info = AttributeInfo::parse(
        &mut Cursor::new(info, addr, "attribute info message"),
        &inner.ctx(),
    )?;
    if info.fractal_heap == UNDEF_ADDR {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for record in crate::dense::name_records(inner, info.fractal_heap, info.name_index)? {
        let Record::AttrName { heap_id, flags, .. } = record else {
            return Err(FormatError::corrupt(
                "attribute name index",
                info.name_index,
                "record is not an attribute-name record",
            ));
        };
        // The record keeps the attribute message's header flags; when the shared bit is set
        // the ID points into the file's shared-message heap, not this object's attribute heap.
        let body = if flags & MSG_FLAG_SHARED != 0 {
            inner.sohm_object(kind::ATTRIBUTE, &heap_id, info.fractal_heap)?
        } else {
            inner.heap_object(info.fractal_heap, &heap_id)?
        };
        out.push((body, info.fractal_heap));
    }
    Ok(out)
}

fn decode_type_and_space(
    inner: &Inner,
    msg: &AttributeMessage,
) -> FormatResult<(Datatype, Dataspace)> {
    let dt_bytes = if msg.datatype_shared {
        inner.shared_body(kind::DATATYPE, &msg.datatype, msg.datatype_address)?
    } else {
        msg.datatype.clone()
    };
    let space_bytes = if msg.dataspace_shared {
        inner.shared_body(kind::DATASPACE, &msg.dataspace, msg.dataspace_address)?
    } else {
        msg.dataspace.clone()
    };
    let dt = Datatype::parse(&mut Cursor::new(
        &dt_bytes,
        msg.datatype_address,
        "datatype message",
    ))?;
    let space = Dataspace::parse(
        &mut Cursor::new(&space_bytes, msg.dataspace_address, "dataspace message"),
        &inner.ctx(),
    )?;
    Ok((dt, space))
}
