//! The user-facing reading API: [`File::read_many`] reads selections of several datasets in one
//! planned read and returns each as a [`RawArray`] (stored bytes plus datatype and shape), which
//! converts to native bytes, typed arrays, [`Value`]s or a `.npy` file. The `Dataset::read_*`
//! methods are the one-dataset case.

use std::borrow::Cow;

use coh5_format::datatype::Datatype;

use crate::convert::{to_typed, Array, Element};
use crate::element::{decode_values, Value};
use crate::error::Result;
use crate::file::File;
use crate::form::Form;
use crate::object::Dataset;
use crate::read::{object_err, read_many};
use crate::selection::Selection;
use crate::value::canonical_bytes;

/// The selected elements of one dataset exactly as stored (file byte order, file layout), in C
/// order of the selection.
#[derive(Clone)]
pub struct RawArray {
    dataset: Dataset,
    /// The stored datatype of every element.
    pub datatype: Datatype,
    /// Shape of the selection.
    pub shape: Vec<u64>,
    /// `datatype.size` bytes per element.
    pub bytes: Vec<u8>,
}

impl RawArray {
    /// The dataset the elements were read from.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The canonical encoding of SPEC.md §8 (variable-length data and references resolved).
    pub fn canonical(&self) -> Result<Vec<u8>> {
        let inner = &self.dataset.file().inner;
        canonical_bytes(inner, &self.datatype, &self.bytes, self.len())
            .map_err(|e| inner.err(self.dataset.path(), e))
    }

    /// The stored bytes with every number in this machine's byte order (same layout).
    pub fn into_native(mut self) -> Result<Vec<u8>> {
        crate::native::to_native(&self.datatype, &mut self.bytes)
            .map_err(|e| object_err(&self.dataset, e))?;
        Ok(self.bytes)
    }

    /// The elements converted to `T` (see [`Element`] for the conversion rules).
    pub fn to_array<T: Element>(&self) -> Result<Array<T>> {
        let data = match crate::plain::plain_typed(&self.datatype, &self.bytes, self.len()) {
            Some(direct) => direct,
            None => to_typed(&self.form()?, &self.canonical()?, self.len()),
        }
        .map_err(|e| object_err(&self.dataset, e))?;
        Ok(Array {
            data,
            shape: self.shape.clone(),
        })
    }

    /// Every element as a [`Value`], in C order.
    pub fn values(&self) -> Result<Vec<Value>> {
        let form = self.form()?;
        decode_values(&form, &self.canonical()?, self.len())
            .map_err(|e| object_err(&self.dataset, e))
    }

    /// A NumPy `.npy` file of the elements (see the `npy` module notes for the dtype mapping).
    pub fn to_npy(&self) -> Result<Vec<u8>> {
        let (mut file, data) = self.npy_parts()?;
        file.extend_from_slice(&data);
        Ok(file)
    }

    /// The `.npy` file as its header and its data. For whole-byte integers and IEEE floats the
    /// data is the stored bytes, borrowed, so a writer can stream a large array without a copy.
    pub fn npy_parts(&self) -> Result<(Vec<u8>, Cow<'_, [u8]>)> {
        let form = self.form()?;
        let parts = if crate::plain::is_plain(&self.datatype) {
            crate::npy::npy_stored_header(&form, &self.shape)
                .map(|head| (head, Cow::Borrowed(&self.bytes[..])))
        } else {
            crate::npy::npy(&form, &self.canonical()?, self.len(), &self.shape)
                .map(|(head, data)| (head, Cow::Owned(data)))
        };
        parts.map_err(|e| object_err(&self.dataset, e))
    }

    fn form(&self) -> Result<Form> {
        Form::of(&self.datatype).map_err(|e| object_err(&self.dataset, e))
    }
}

impl File {
    /// Reads a selection of each dataset (all of this file) in one plan: every chunk and span
    /// of every dataset is fetched in shared batches of concurrent requests, then decoded in
    /// parallel. Results are in the order of `items`.
    pub fn read_many(&self, items: &[(&Dataset, &Selection)]) -> Result<Vec<RawArray>> {
        if let Some((d, _)) = items
            .iter()
            .find(|(d, _)| !std::sync::Arc::ptr_eq(&d.file().inner, &self.inner))
        {
            return Err(object_err(d, "dataset belongs to another file"));
        }
        let mut types = Vec::with_capacity(items.len());
        for (d, _) in items {
            types.push(d.datatype()?);
        }
        let bytes = read_many(items)?;
        Ok(items
            .iter()
            .zip(types)
            .zip(bytes)
            .map(|(((d, sel), datatype), bytes)| RawArray {
                dataset: (*d).clone(),
                datatype,
                shape: sel.shape(),
                bytes,
            })
            .collect())
    }
}

impl Dataset {
    /// The current dimensions (`[]` for a scalar or null dataspace).
    pub fn shape(&self) -> Result<Vec<u64>> {
        Ok(self.dataspace()?.dims)
    }

    /// The selected elements as a [`RawArray`].
    pub fn read_array(&self, sel: &Selection) -> Result<RawArray> {
        let mut v = self.file().read_many(&[(self, sel)])?;
        v.pop()
            .ok_or_else(|| object_err(self, "a planned read returned no result"))
    }

    /// Stored bytes of the selected elements (file byte order and layout), in C order.
    pub fn read_raw(&self, sel: &Selection) -> Result<Vec<u8>> {
        Ok(self.read_array(sel)?.bytes)
    }

    /// Like [`Dataset::read_raw`] with every number in this machine's byte order.
    pub fn read_bytes_native(&self, sel: &Selection) -> Result<Vec<u8>> {
        self.read_array(sel)?.into_native()
    }

    /// Every element converted to `T`.
    pub fn read<T: Element>(&self) -> Result<Array<T>> {
        self.read_selection(&Selection::all(&self.shape()?))
    }

    /// The selected elements converted to `T`.
    pub fn read_selection<T: Element>(&self, sel: &Selection) -> Result<Array<T>> {
        self.read_array(sel)?.to_array()
    }

    /// The selected elements as [`Value`]s, for any datatype.
    pub fn read_values(&self, sel: &Selection) -> Result<Vec<Value>> {
        self.read_array(sel)?.values()
    }
}
