//! `coh5 get`: reads datasets (optionally a slice of each) in one planned read and writes them
//! as `.npy`, `.npz`, CSV or JSON.

use std::io::Write;

use coh5::{Dataset, File, Object, RawArray, Selection, Value};
use serde_json::{json, Map, Value as Json};

use crate::zip::ZipWriter;

/// Output formats of `coh5 get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Npy,
    Npz,
    Csv,
    Json,
}

impl Format {
    /// What `-o` asks for by its extension: `.npy`, `.npz`, otherwise JSON.
    pub fn default_for(out: Option<&str>) -> Format {
        match out {
            Some(p) if p.ends_with(".npy") => Format::Npy,
            Some(p) if p.ends_with(".npz") => Format::Npz,
            _ => Format::Json,
        }
    }
}

/// Reads `paths` of `file` with `slice` applied to each and writes them to `out`.
pub fn get(
    file: &File,
    paths: &[String],
    slice: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    if matches!(format, Format::Npy | Format::Csv) && paths.len() != 1 {
        return Err(format!("{format:?} holds one dataset; use npz or json for several").into());
    }
    let mut datasets: Vec<Dataset> = Vec::with_capacity(paths.len());
    let mut selections = Vec::with_capacity(paths.len());
    for (p, object) in paths.iter().zip(file.objects(paths)) {
        let d = match object? {
            Object::Dataset(d) => d,
            _ => return Err(format!("{p}: not a dataset").into()),
        };
        let shape = d.shape()?;
        selections.push(match slice {
            Some(s) => Selection::parse(s, &shape)?,
            None => Selection::all(&shape),
        });
        datasets.push(d);
    }
    let items: Vec<(&Dataset, &Selection)> = datasets.iter().zip(&selections).collect();
    let arrays = file.read_many(&items)?;
    match format {
        Format::Npy => {
            for a in &arrays {
                let (head, data) = a.npy_parts()?;
                out.write_all(&head)?;
                out.write_all(&data)?;
            }
        }
        Format::Npz => {
            let mut zip = ZipWriter::new(&mut *out);
            for a in &arrays {
                let name = format!("{}.npy", a.dataset().path().trim_start_matches('/'));
                let (head, data) = a.npy_parts()?;
                zip.add(&name, &[&head, &data])?;
            }
            zip.finish()?;
        }
        Format::Json => {
            let mut map = Map::new();
            for a in &arrays {
                map.insert(a.dataset().path().to_string(), nested(a)?);
            }
            serde_json::to_writer(&mut *out, &Json::Object(map))?;
            writeln!(out)?;
        }
        Format::Csv => {
            for a in &arrays {
                csv(a, out)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The elements as nested JSON lists following the shape (the bare value for a scalar).
fn nested(a: &RawArray) -> Result<Json, coh5::Error> {
    let values: Vec<Json> = a.values()?.iter().map(to_json).collect();
    Ok(fold(&a.shape, &mut values.into_iter()))
}

fn fold(shape: &[u64], items: &mut impl Iterator<Item = Json>) -> Json {
    match shape.split_first() {
        None => items.next().unwrap_or(Json::Null),
        Some((&n, rest)) => Json::Array((0..n).map(|_| fold(rest, items)).collect()),
    }
}

/// One value in JSON: SPEC.md §9's forms (non-finite floats as strings, complex as
/// `[re, im]`, byte strings as text when UTF-8 else `{"hex": ...}`, compounds as objects).
fn to_json(v: &Value) -> Json {
    match v {
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => float(*f),
        Value::Bool(b) => json!(b),
        Value::Complex(re, im) => json!([float(*re), float(*im)]),
        Value::Bytes(b) => {
            // NumPy drops the NUL padding of fixed-width strings when it hands them out.
            let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
            match std::str::from_utf8(&b[..end]) {
                Ok(s) => json!(s),
                Err(_) => json!({"hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>()}),
            }
        }
        Value::Str(s) => json!(s),
        Value::Array(items) | Value::Sequence(items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Value::Compound(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), to_json(v)))
                .collect(),
        ),
        Value::Reference(r) => json!(r),
    }
}

fn float(f: f64) -> Json {
    if f.is_nan() {
        json!("NaN")
    } else if f.is_infinite() {
        json!(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(f)
    }
}

/// One dataset as CSV: a row per index of the first axis, the rest of each row flattened in C
/// order; text cells are quoted as RFC 4180 asks, structured cells hold their JSON.
fn csv(a: &RawArray, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let values = a.values()?;
    let per_row = a.shape.iter().skip(1).product::<u64>().max(1) as usize;
    let rows = if a.shape.is_empty() { 1 } else { a.shape[0] };
    let mut it = values.iter();
    for _ in 0..rows {
        let cells: Vec<String> = it.by_ref().take(per_row).map(cell).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn cell(v: &Value) -> String {
    let text = match to_json(v) {
        Json::String(s) => s,
        Json::Null => String::new(),
        other => other.to_string(),
    };
    let plain = matches!(
        v,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_)
    );
    if plain && !text.contains(['"', ',']) {
        text
    } else if text.contains([',', '"', '\n', '\r']) || !plain {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_quote_text_only() {
        assert_eq!(cell(&Value::Int(-3)), "-3");
        assert_eq!(cell(&Value::Float(0.5)), "0.5");
        assert_eq!(cell(&Value::Float(f64::NAN)), "NaN");
        assert_eq!(cell(&Value::Bool(true)), "true");
        assert_eq!(cell(&Value::Str("a,\"b\"".into())), "\"a,\"\"b\"\"\"");
        assert_eq!(cell(&Value::Bytes(b"ab\0\0".to_vec())), "\"ab\"");
        assert_eq!(cell(&Value::Complex(1.0, -2.0)), "\"[1.0,-2.0]\"");
    }

    #[test]
    fn json_nests_by_shape() {
        let items = (0..6).map(|i| json!(i));
        assert_eq!(
            fold(&[2, 3], &mut items.into_iter()),
            json!([[0, 1, 2], [3, 4, 5]])
        );
        assert_eq!(fold(&[], &mut [json!(7)].into_iter()), json!(7));
        assert_eq!(fold(&[0, 4], &mut std::iter::empty()), json!([]));
        assert_eq!(
            to_json(&Value::Bytes(vec![0xff, 0])),
            json!({"hex": "ff00"})
        );
        assert_eq!(
            to_json(&Value::Float(f64::NEG_INFINITY)),
            json!("-Infinity")
        );
    }
}
