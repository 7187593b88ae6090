//! Photon and segment variables as typed columns: read as the Rust type matching their stored
//! numeric type (so the output keeps int8 flags as int8 and float32 heights as float32), joined
//! across the photon ranges of a beam, then gathered into Arrow arrays for the kept photons.

use std::sync::Arc;

use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{ArrayRef, PrimitiveArray};
use coh5::format::datatype::{Datatype, TypeClass};
use coh5::RawArray;

use crate::error::Error;

/// One variable's values, in the Rust type of its stored type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Column {
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Applies `$body` to the vector inside any variant, bound as `$v`, with `$t` its Arrow type.
macro_rules! each_arrow {
    ($col:expr, $v:ident, $t:ident => $body:expr) => {
        match $col {
            Column::I8($v) => {
                type $t = Int8Type;
                $body
            }
            Column::I16($v) => {
                type $t = Int16Type;
                $body
            }
            Column::I32($v) => {
                type $t = Int32Type;
                $body
            }
            Column::I64($v) => {
                type $t = Int64Type;
                $body
            }
            Column::U8($v) => {
                type $t = UInt8Type;
                $body
            }
            Column::U16($v) => {
                type $t = UInt16Type;
                $body
            }
            Column::U32($v) => {
                type $t = UInt32Type;
                $body
            }
            Column::U64($v) => {
                type $t = UInt64Type;
                $body
            }
            Column::F32($v) => {
                type $t = Float32Type;
                $body
            }
            Column::F64($v) => {
                type $t = Float64Type;
                $body
            }
        }
    };
}

/// Maps each variant to a same-variant result built by `$f` from its vector.
macro_rules! map_same {
    ($col:expr, $v:ident => $body:expr) => {
        match $col {
            Column::I8($v) => Column::I8($body),
            Column::I16($v) => Column::I16($body),
            Column::I32($v) => Column::I32($body),
            Column::I64($v) => Column::I64($body),
            Column::U8($v) => Column::U8($body),
            Column::U16($v) => Column::U16($body),
            Column::U32($v) => Column::U32($body),
            Column::U64($v) => Column::U64($body),
            Column::F32($v) => Column::F32($body),
            Column::F64($v) => Column::F64($body),
        }
    };
}

impl Column {
    /// An empty column of the Rust type matching a stored numeric type; other classes (strings,
    /// compounds...) are refused.
    pub fn empty(dt: &Datatype) -> Result<Column, String> {
        Ok(match (&dt.class, dt.size) {
            (TypeClass::FixedPoint { signed: true, .. }, 1) => Column::I8(Vec::new()),
            (TypeClass::FixedPoint { signed: true, .. }, 2) => Column::I16(Vec::new()),
            (TypeClass::FixedPoint { signed: true, .. }, 4) => Column::I32(Vec::new()),
            (TypeClass::FixedPoint { signed: true, .. }, 8) => Column::I64(Vec::new()),
            (TypeClass::FixedPoint { signed: false, .. }, 1) => Column::U8(Vec::new()),
            (TypeClass::FixedPoint { signed: false, .. }, 2) => Column::U16(Vec::new()),
            (TypeClass::FixedPoint { signed: false, .. }, 4) => Column::U32(Vec::new()),
            (TypeClass::FixedPoint { signed: false, .. }, 8) => Column::U64(Vec::new()),
            (TypeClass::FloatingPoint { .. }, 4) => Column::F32(Vec::new()),
            (TypeClass::FloatingPoint { .. }, 8) => Column::F64(Vec::new()),
            (_, size) => {
                return Err(format!(
                    "a {size}-byte {} cannot be a column: only integers and floats can",
                    dt.hdf5_class()
                ))
            }
        })
    }

    /// The elements of a numeric dataset read in its own type.
    pub fn from_raw(raw: &RawArray) -> Result<Column, Error> {
        let d = raw.dataset();
        let empty = Column::empty(&raw.datatype).map_err(|detail| Error::Granule {
            location: d.file().location().to_string(),
            path: d.path().to_string(),
            detail,
        })?;
        Ok(match empty {
            Column::I8(_) => Column::I8(raw.to_array()?.data),
            Column::I16(_) => Column::I16(raw.to_array()?.data),
            Column::I32(_) => Column::I32(raw.to_array()?.data),
            Column::I64(_) => Column::I64(raw.to_array()?.data),
            Column::U8(_) => Column::U8(raw.to_array()?.data),
            Column::U16(_) => Column::U16(raw.to_array()?.data),
            Column::U32(_) => Column::U32(raw.to_array()?.data),
            Column::U64(_) => Column::U64(raw.to_array()?.data),
            Column::F32(_) => Column::F32(raw.to_array()?.data),
            Column::F64(_) => Column::F64(raw.to_array()?.data),
        })
    }

    /// Appends `other`, which must be of the same type (it is: both read from one dataset).
    pub fn append(&mut self, other: Column) -> Result<(), String> {
        match (self, other) {
            (Column::I8(a), Column::I8(b)) => a.extend(b),
            (Column::I16(a), Column::I16(b)) => a.extend(b),
            (Column::I32(a), Column::I32(b)) => a.extend(b),
            (Column::I64(a), Column::I64(b)) => a.extend(b),
            (Column::U8(a), Column::U8(b)) => a.extend(b),
            (Column::U16(a), Column::U16(b)) => a.extend(b),
            (Column::U32(a), Column::U32(b)) => a.extend(b),
            (Column::U64(a), Column::U64(b)) => a.extend(b),
            (Column::F32(a), Column::F32(b)) => a.extend(b),
            (Column::F64(a), Column::F64(b)) => a.extend(b),
            _ => return Err("one variable read with two types".into()),
        }
        Ok(())
    }

    /// Every value as f64 (exact for all but 64-bit integers beyond 2^53, which coordinates
    /// and times never are).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Column::F64(v) => v.clone(),
            Column::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Column::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Column::U64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// Every value as i64 (flags and counts); unsigned 64-bit values saturate.
    pub fn to_i64(&self) -> Vec<i64> {
        match self {
            Column::U64(v) => v
                .iter()
                .map(|&x| i64::try_from(x).unwrap_or(i64::MAX))
                .collect(),
            Column::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Column::F64(v) => v.iter().map(|&x| x as i64).collect(),
            Column::I8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Column::I16(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Column::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Column::I64(v) => v.clone(),
            Column::U8(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Column::U16(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Column::U32(v) => v.iter().map(|&x| i64::from(x)).collect(),
        }
    }

    /// The values at `rows` (each < `len()`).
    pub fn take(&self, rows: &[usize]) -> Column {
        map_same!(self, v => rows.iter().filter_map(|&r| v.get(r).copied()).collect())
    }

    /// An Arrow array of the values at `rows`, null where the row is `None`.
    pub fn to_arrow_opt(&self, rows: &[Option<usize>]) -> ArrayRef {
        each_arrow!(self, v, T => {
            let a: PrimitiveArray<T> = rows.iter().map(|r| r.and_then(|r| v.get(r).copied())).collect();
            Arc::new(a) as ArrayRef
        })
    }

    /// The whole column as an Arrow array.
    pub fn into_arrow(self) -> ArrayRef {
        each_arrow!(self, v, T => Arc::new(PrimitiveArray::<T>::from_iter_values(v)) as ArrayRef)
    }
}
